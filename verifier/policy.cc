#include "verifier/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <tuple>

namespace verifier {

namespace pb = provenance::v1;
using Severity = Finding::Severity;

// --- OwnershipGraph ---

OwnershipGraph::OwnershipGraph(const VerifiedEvidence& ev) {
  // Records in log order: a later record for the same stake corrects it.
  std::map<std::tuple<std::string, std::string, int64_t>, Edge> latest;
  for (const auto& [index, rec] : ev.records) {
    if (!rec->record.has_ownership()) continue;
    const auto& o = rec->record.ownership();
    latest[{o.owner_org(), o.owned_org(), o.valid_from()}] =
        Edge{o.owner_org(), o.owned_org(), o.stake_bp(),  o.control(),
             o.valid_from(), o.valid_until(), index};
  }
  for (auto& [key, e] : latest) {
    changes_.insert(e.valid_from);
    if (e.valid_until != 0) changes_.insert(e.valid_until);
    owners_of_[e.owned].push_back(std::move(e));
  }
}

const std::vector<OwnershipGraph::Edge>& OwnershipGraph::DirectOwners(
    const std::string& org) const {
  static const std::vector<Edge> kNone;
  auto it = owners_of_.find(org);
  return it == owners_of_.end() ? kNone : it->second;
}

const std::map<std::string, OwnershipGraph::Holding>& OwnershipGraph::OwnersAt(
    const std::string& org, int64_t t) {
  // Which edges are valid changes only at a valid_from or valid_until.
  const size_t interval = static_cast<size_t>(
      std::distance(changes_.begin(), changes_.upper_bound(t)));
  auto key = std::make_pair(org, interval);
  if (auto it = memo_.find(key); it != memo_.end()) return it->second;
  std::map<std::string, Holding> owners;
  Path path{{}, 1.0, true};
  std::set<std::string> on_path{org};
  Walk(org, t, &path, &on_path, &owners);
  return memo_.emplace(std::move(key), std::move(owners)).first->second;
}

void OwnershipGraph::Walk(const std::string& org, int64_t t, Path* path,
                          std::set<std::string>* on_path,
                          std::map<std::string, Holding>* out) const {
  auto it = owners_of_.find(org);
  if (it == owners_of_.end()) return;
  for (const Edge& e : it->second) {
    if (!e.ValidAt(t) || (e.stake_bp == 0 && !e.control)) continue;
    if (!on_path->insert(e.owner).second) continue;  // a cycle: not a simple path
    const Path saved = *path;
    path->edges.push_back(&e);
    path->stake *= e.stake_bp / 10000.0;
    path->control = path->control && (e.control || e.stake_bp > 5000);
    Holding& h = (*out)[e.owner];
    h.stake += path->stake;
    h.control = h.control || path->control;
    h.paths.push_back(*path);
    Walk(e.owner, t, path, on_path, out);
    *path = saved;
    on_path->erase(e.owner);
  }
}

// --- EvaluatePolicy ---

namespace {

// An org in one of the device's roles, and the records that put it there.
struct Subject {
  Role role;
  std::string org;
  std::string what;  // e.g. "image signal processor PX-3 made by"
  std::vector<uint64_t> indices;
};

std::string Percent(double stake) {
  char buf[32];
  const double pct = std::min(stake, 1.0) * 100;
  if (std::abs(pct - std::round(pct)) < 0.005) {
    std::snprintf(buf, sizeof buf, "%.0f %%", pct);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %%", pct);
  }
  return buf;
}

std::string KindName(pb::ComponentKind k) {
  switch (k) {
    case pb::COMPONENT_KIND_SOC: return "SoC";
    case pb::COMPONENT_KIND_IMAGE_SENSOR: return "image sensor";
    case pb::COMPONENT_KIND_NETWORK_MODULE: return "network module";
    case pb::COMPONENT_KIND_STORAGE: return "storage";
    case pb::COMPONENT_KIND_MEMORY: return "memory";
    case pb::COMPONENT_KIND_LENS: return "lens";
    case pb::COMPONENT_KIND_POWER: return "power supply";
    case pb::COMPONENT_KIND_SECURE_ELEMENT: return "secure element";
    case pb::COMPONENT_KIND_RADIO: return "radio";
    default: return "component";
  }
}

void AddUnique(std::vector<uint64_t>* v, uint64_t i) {
  if (std::find(v->begin(), v->end(), i) == v->end()) v->push_back(i);
}

class Evaluator {
 public:
  Evaluator(const Policy& p, const VerifiedEvidence& ev, const Judgement& j, int64_t now,
            OwnershipGraph* graph)
      : p_(p), ev_(ev), j_(j), now_(now), graph_(graph) {}

  std::vector<Finding> Run() {
    if (!j_.registered) return {};
    // An org in several roles (a maker of its own SoC) is judged once, in
    // its first role: its facts and owners are the same in each.
    std::set<std::string> judged;
    for (const Subject& s : Subjects()) {
      if (judged.insert(s.org).second) Judge(s);
    }
    return std::move(out_);
  }

 private:
  bool Applies(Role r) const { return p_.applies_to.count(r) > 0; }

  std::vector<Subject> Subjects() const {
    std::vector<Subject> subjects;
    const pb::Device& d = j_.record;
    if (Applies(Role::kManufacturer)) {
      subjects.push_back({Role::kManufacturer, d.manufacturer_org(), "made by",
                          {j_.device.index()}});
      for (const RevealedMaker& m : j_.revealed_makers) {
        subjects.push_back({Role::kManufacturer, m.org, m.why, m.indices});
      }
    }
    pb::ModelState ms;
    auto have = GetMessage(ev_.state, state_key::Model(d.manufacturer_org(), d.model_id()), &ms);
    if (have.ok() && *have) {
      const pb::DeviceModel& m = ms.model();
      if (Applies(Role::kBrand) && !m.brand_org().empty() &&
          (m.brand_org() != d.manufacturer_org() || !Applies(Role::kManufacturer))) {
        subjects.push_back({Role::kBrand, m.brand_org(),
                            "model " + m.model_id() + " sold under the brand of", {ms.index()}});
      }
      if (Applies(Role::kComponentMaker)) {
        for (const pb::BomLine& line : m.bom()) {
          const auto& ref = line.component();
          pb::ComponentState cs;
          auto c = GetMessage(ev_.state, state_key::Component(ref.maker_org(), ref.part_number()),
                              &cs);
          std::string function = line.function();
          std::vector<uint64_t> indices;
          if (c.ok() && *c) {
            indices.push_back(cs.index());
            auto rec = ev_.records.find(cs.index());
            if (function.empty() && rec != ev_.records.end()) {
              function = KindName(rec->second->record.component().kind());
            }
          }
          indices.push_back(ms.index());
          subjects.push_back({Role::kComponentMaker, ref.maker_org(),
                              (function.empty() ? "component" : function) + " " +
                                  ref.part_number() + " made by",
                              std::move(indices)});
        }
      }
    }
    if (Applies(Role::kCustodian)) {
      for (uint64_t i : j_.device.record_indices()) {
        auto rec = ev_.records.find(i);
        if (rec == ev_.records.end() || !rec->second->record.has_transfer()) continue;
        const auto& t = rec->second->record.transfer();
        subjects.push_back({Role::kCustodian, t.to_org(), "held by", {i}});
      }
    }
    return subjects;
  }

  const pb::OrgState* Org(const std::string& id) {
    auto it = orgs_.find(id);
    if (it == orgs_.end()) {
      pb::OrgState os;
      auto found = GetMessage(ev_.state, state_key::Org(id), &os);
      std::optional<pb::OrgState> v;
      if (found.ok() && *found) v = std::move(os);
      it = orgs_.emplace(id, std::move(v)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  // "Orion Group Co., Ltd. (CN, state-owned, subject to CN-NIL-2017)"
  std::string Describe(const std::string& id) {
    const pb::OrgState* os = Org(id);
    if (!os) return id + " (not in the ledger)";
    const pb::Organization& o = os->current();
    std::string facts = o.country();
    if (o.state_owned()) facts += ", state-owned";
    for (int i = 0; i < o.laws_size(); ++i) {
      facts += (i == 0 ? ", subject to " : " and ") + o.laws(i);
    }
    return o.legal_name() + " (" + facts + ")";
  }

  // What the policy denies about one org: {code, reason}.
  std::vector<std::pair<std::string, std::string>> Denials(const std::string& id, bool owner) {
    std::vector<std::pair<std::string, std::string>> out;
    if (p_.denied_orgs.count(id)) {
      out.emplace_back("DENIED_ORG", id + " is a denied organisation");
    }
    const pb::OrgState* os = Org(id);
    if (!os) return out;
    const pb::Organization& o = os->current();
    if (p_.denied_countries.count(o.country())) {
      out.emplace_back("DENIED_COUNTRY", o.country() + " is a denied country");
    }
    for (const auto& law : o.laws()) {
      if (p_.denied_laws.count(law)) out.emplace_back("DENIED_LAW", law + " is a denied law");
    }
    if (p_.state_owned_counts && o.state_owned()) {
      out.emplace_back("STATE_OWNED_OWNER", std::string(owner ? "a state-owned owner"
                                                              : "a state-owned org") +
                                                " counts under this policy");
    }
    return out;
  }

  Severity Missing() const {
    return p_.missing_facts == Policy::MissingFacts::kReject ? Severity::kReject
                                                             : Severity::kUnverified;
  }

  void Add(Severity sev, std::string code, std::string message, std::vector<uint64_t> indices) {
    for (const Finding& f : out_) {
      if (f.code == code && f.message == message) return;
    }
    out_.push_back({sev, std::move(code), std::move(message), std::move(indices)});
  }

  std::vector<std::pair<std::string, int64_t>> Times() const {
    int64_t made = j_.record.manufactured_at();
    if (made == 0) {
      auto rec = ev_.records.find(j_.device.index());
      if (rec != ev_.records.end()) made = rec->second->record.issued_at();
    }
    std::vector<std::pair<std::string, int64_t>> times;
    if (p_.when != Policy::When::kNow) times.emplace_back("at manufacture (" + UtcDate(made) + ")", made);
    if (p_.when != Policy::When::kManufacture) times.emplace_back("now", now_);
    return times;
  }

  // Judges one subject; when nothing was found against it, says what was
  // examined and passed (a pass is explained as fully as a rejection).
  void Judge(const Subject& s) {
    const size_t before = out_.size();
    JudgeOrg(s);
    if (out_.size() != before) return;
    std::vector<uint64_t> indices = s.indices;
    if (const pb::OrgState* os = Org(s.org)) AddUnique(&indices, os->latest_index());
    std::string text = s.what + " " + Describe(s.org) + ": not denied by " + p_.name;
    if (p_.include_owners) {
      std::map<std::string, double> owners;  // counting owner -> largest stake judged
      std::string when;
      for (const auto& [label, t] : Times()) {
        when += (when.empty() ? "" : " and ") + label;
        for (const auto& [owner, h] : graph_->OwnersAt(s.org, t)) {
          if (!Counts(h)) continue;
          double& stake = owners[owner];
          stake = std::max(stake, h.stake);
          for (const auto& path : h.paths) {
            for (const auto* e : path.edges) AddUnique(&indices, e->index);
          }
        }
      }
      if (owners.empty()) {
        text += "; no owner reaches " + Percent(p_.control_threshold_bp / 10000.0) +
                (p_.control_flag_counts ? " or has control" : "");
      } else {
        text += "; owners judged (" + Percent(p_.control_threshold_bp / 10000.0) +
                (p_.control_flag_counts ? " or control" : "") + "):";
        for (const auto& [owner, stake] : owners) {
          text += " " + Describe(owner) + " " + Percent(stake) + ";";
        }
        text.pop_back();
      }
      text += " (" + when + ")";
    }
    out_.push_back({Severity::kInfo, "POLICY_PASSED", std::move(text), std::move(indices)});
  }

  void JudgeOrg(const Subject& s) {
    const std::string head = s.what + " " + Describe(s.org);
    const pb::OrgState* os = Org(s.org);
    if (!os) {
      Add(Missing(), "MISSING_ORG_FACTS",
          head + ": " + s.org + " is not in the ledger, so the policy cannot judge it", s.indices);
      return;
    }
    for (auto& [code, why] : Denials(s.org, false)) {
      std::vector<uint64_t> indices = s.indices;
      AddUnique(&indices, os->latest_index());
      Add(Severity::kReject, code, head + ": " + why, std::move(indices));
    }
    if (!p_.include_owners) return;
    if (!graph_->HasOwnershipFacts(s.org)) {
      Add(Missing(), "MISSING_OWNERSHIP_FACTS",
          head + ": no owner of " + s.org +
              " is recorded in the ledger, so its beneficial owners cannot be judged",
          s.indices);
      return;
    }
    // Owner findings, merged across the times judged.
    struct Hit {
      std::string code, text;
      std::vector<uint64_t> indices;
      std::vector<std::string> when;
    };
    std::vector<Hit> hits;
    auto hit = [&](const std::string& code, const std::string& text,
                   const std::vector<uint64_t>& indices, const std::string& when) {
      auto same = std::find_if(hits.begin(), hits.end(), [&](const Hit& x) {
        return x.code == code && x.text == text;
      });
      if (same != hits.end()) {
        same->when.push_back(when);
      } else {
        hits.push_back({code, text, indices, {when}});
      }
    };
    for (const auto& [when, t] : Times()) {
      for (const auto& [owner, h] : graph_->OwnersAt(s.org, t)) {
        if (!Counts(h)) continue;
        auto denials = Denials(owner, true);
        if (denials.empty()) continue;
        const pb::OrgState* owner_state = Org(owner);
        auto [text, path_indices] = PathText(head, h);
        std::vector<uint64_t> indices = s.indices;
        for (uint64_t i : path_indices) AddUnique(&indices, i);
        if (owner_state) AddUnique(&indices, owner_state->latest_index());
        for (const auto& [code, why] : denials) hit(code, text + ": " + why, indices, when);
      }
      if (p_.affiliates) {
        for (auto& [text, indices] : Affiliations(s, head, t)) hit("DENIED_AFFILIATE", text, indices, when);
      }
    }
    for (Hit& hit : hits) {
      std::string when;
      for (size_t i = 0; i < hit.when.size(); ++i) {
        when += (i == 0 ? "" : " and ") + hit.when[i];
      }
      Add(Severity::kReject, hit.code, hit.text + " (" + when + ")", std::move(hit.indices));
    }
  }

  bool Counts(const OwnershipGraph::Holding& h) const {
    return h.stake * 10000 + 1e-6 >= p_.control_threshold_bp ||
           (p_.control_flag_counts && h.control);
  }

  // How s.org is an affiliate of a denied org D at time t: it holds a
  // counting stake in D, or one of its counting owners does (common
  // control). Each is {message, indices}.
  std::vector<std::pair<std::string, std::vector<uint64_t>>> Affiliations(
      const Subject& s, const std::string& head, int64_t t) {
    std::vector<std::pair<std::string, std::vector<uint64_t>>> out;
    for (const std::string& denied : p_.denied_orgs) {
      if (denied == s.org || !graph_->HasOwnershipFacts(denied)) continue;
      const auto& owners_of_denied = graph_->OwnersAt(denied, t);
      const auto& owners_of_org = graph_->OwnersAt(s.org, t);
      if (auto it = owners_of_org.find(denied); it != owners_of_org.end() && Counts(it->second)) {
        continue;  // a subsidiary: reported as a denied owner
      }
      auto holds = [&](const std::string& holder, std::vector<uint64_t>* indices) {
        auto it = owners_of_denied.find(holder);
        if (it == owners_of_denied.end() || !Counts(it->second)) return std::string();
        auto [text, path] = PathText(denied, it->second);
        for (uint64_t i : path) AddUnique(indices, i);
        if (const pb::OrgState* os = Org(denied)) AddUnique(indices, os->latest_index());
        return Percent(it->second.stake) + " of " + Describe(denied);
      };
      std::vector<uint64_t> indices = s.indices;
      if (std::string held = holds(s.org, &indices); !held.empty()) {
        out.emplace_back(head + ", which holds " + held + ": an affiliate of " + denied +
                             ", a denied organisation",
                         std::move(indices));
        continue;
      }
      for (const auto& [owner, h] : owners_of_org) {
        if (owner == denied || !Counts(h)) continue;
        if (auto d = owners_of_denied.find(owner); d == owners_of_denied.end() || !Counts(d->second)) {
          continue;
        }
        std::vector<uint64_t> owner_indices = s.indices;
        auto [text, path] = PathText(head, h);
        for (uint64_t i : path) AddUnique(&owner_indices, i);
        const std::string held = holds(owner, &owner_indices);
        out.emplace_back(text + "; " + Describe(owner) + " also holds " + held +
                             ": under common control with " + denied +
                             ", so an affiliate of " + denied + ", a denied organisation",
                         std::move(owner_indices));
        break;  // one common owner is enough to name
      }
    }
    return out;
  }

  // The strongest path to an owner, in words, and the records on it.
  std::pair<std::string, std::vector<uint64_t>> PathText(const std::string& head,
                                                         const OwnershipGraph::Holding& h) {
    const OwnershipGraph::Path* best = &h.paths.front();
    for (const auto& p : h.paths) {
      if (p.stake > best->stake || (p.stake == best->stake && p.edges.size() < best->edges.size())) {
        best = &p;
      }
    }
    std::string text = head;
    std::vector<uint64_t> indices;
    for (const OwnershipGraph::Edge* e : best->edges) {
      text += (e == best->edges.front() ? ", " : ", which is ") + Percent(e->stake_bp / 10000.0) +
              (e->control ? " (with control)" : "") + " owned by " + Describe(e->owner) +
              (e->valid_from ? " since " + UtcDate(e->valid_from) : "") +
              (e->valid_until ? " until " + UtcDate(e->valid_until) : "");
      indices.push_back(e->index);
    }
    if (h.paths.size() > 1 || best->edges.size() > 1) {
      text += "; effective stake " + Percent(h.stake);
      if (h.paths.size() > 1) text += " over " + std::to_string(h.paths.size()) + " paths";
      if (h.control) text += ", with control";
    }
    return {text, std::move(indices)};
  }

  const Policy& p_;
  const VerifiedEvidence& ev_;
  const Judgement& j_;
  const int64_t now_;
  OwnershipGraph* graph_;
  std::map<std::string, std::optional<pb::OrgState>> orgs_;
  std::vector<Finding> out_;
};

}  // namespace

std::vector<Finding> EvaluatePolicy(const Policy& policy, const VerifiedEvidence& ev,
                                    const Judgement& j, int64_t now, OwnershipGraph* graph) {
  return Evaluator(policy, ev, j, now, graph).Run();
}

void ApplyRequired(const Policy& policy, bool attested, Judgement* j) {
  const auto& r = policy.required;
  const std::map<std::string, bool> required = {
      {"WRONG_CUSTODIAN", r.custody_to_buyer},     {"NOT_FROM_SUPPLIER", r.custody_to_buyer},
      {"DEVICE_STOLEN", r.not_revoked},            {"DEVICE_RECALLED", r.not_revoked},
      {"DEVICE_COMPROMISED", r.not_revoked},       {"DEVICE_DECOMMISSIONED", r.not_revoked},
      {"SIGNED_BY_REVOKED_KEY", r.not_revoked},    {"FIRMWARE_UNKNOWN", r.released_firmware},
      {"FIRMWARE_REVOKED", r.released_firmware},   {"IDENTITY_UNPROVEN", r.camera_identity},
  };
  for (Finding& f : j->findings) {
    auto it = f.code == "CUSTODY_NOT_CHECKED"
                  ? required.find("WRONG_CUSTODIAN")
                  : required.find(f.code);
    if (it == required.end() || it->second) continue;
    if (f.severity != Severity::kReject && f.severity != Severity::kUnverified) continue;
    if (f.code == "CUSTODY_NOT_CHECKED") {
      f.severity = Severity::kSkipped;
      f.message += " (not required by " + policy.name + ")";
    } else {
      f.severity = Severity::kWaived;
      f.message += " (failed, but not required by " + policy.name + ")";
    }
  }
  if (!attested && j->registered) {
    if (r.attestation) {
      j->findings.push_back({Severity::kUnverified, "ATTESTATION_REQUIRED",
                             policy.name +
                                 " requires a live attestation from the camera; run `prov scan` "
                                 "on it",
                             {}});
    } else {
      j->findings.push_back(NotAttested(" (not required by " + policy.name + ")"));
    }
  }
  Decide(j);
}

Finding NotAttested(const std::string& why) {
  return {Severity::kSkipped, "ATTESTATION_NOT_CHECKED",
          "the camera was not asked to prove its identity (only `prov scan` does): its device "
          "key and firmware were not checked" + why,
          {}};
}

void ApplyNoPolicy(bool attested, Judgement* j) {
  j->findings.push_back({Severity::kSkipped, "NO_POLICY",
                         "no trust policy given (--policy FILE): jurisdiction and ownership "
                         "were not judged; custody to the buyer is required by default",
                         {}});
  if (!attested && j->registered) j->findings.push_back(NotAttested(""));
  Decide(j);
}

PolicyFn MakePolicyFn(std::shared_ptr<const Policy> policy, int64_t now) {
  // One ownership graph per evidence, kept while the same evidence is judged.
  struct Cache {
    const VerifiedEvidence* ev = nullptr;
    Hash root{};
    size_t records = 0;
    std::unique_ptr<OwnershipGraph> graph;
  };
  auto cache = std::make_shared<Cache>();
  return [policy, now, cache](const VerifiedEvidence& ev, const Judgement& j) {
    if (cache->ev != &ev || cache->root != ev.checkpoint.root ||
        cache->records != ev.records.size()) {
      cache->graph = std::make_unique<OwnershipGraph>(ev);
      cache->ev = &ev;
      cache->root = ev.checkpoint.root;
      cache->records = ev.records.size();
    }
    return EvaluatePolicy(*policy, ev, j, now, cache->graph.get());
  };
}

}  // namespace verifier
