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

bool OwnershipGraph::HasOwnershipFactsAt(const std::string& org, int64_t t) const {
  const auto& edges = DirectOwners(org);
  return std::any_of(edges.begin(), edges.end(), [t](const Edge& e) { return e.ValidAt(t); });
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

const std::vector<std::string>& Purposes() {
  static const std::vector<std::string> kPurposes = {
      "public-safety", "government-facility-security", "critical-infrastructure-security",
      "national-security", "commercial", "residential", "other"};
  return kPurposes;
}

const std::string& PurposeList() {
  static const std::string kList = [] {
    std::string out;
    for (const auto& x : Purposes()) out += (out.empty() ? "" : ", ") + x;
    return out;
  }();
  return kList;
}

bool IsPurpose(const std::string& purpose) {
  const auto& all = Purposes();
  return std::find(all.begin(), all.end(), purpose) != all.end();
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

std::string Join(const std::set<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// An org's facts at one instant: its record's, unless a dated fact covers
// the instant, plus laws bound by dated facts and rulings. Each fact keeps
// the record that states it and, when dated, its window in words.
struct FactsAt {
  struct Fact {
    std::string value;
    std::string dated;  // "" for the record's own; else e.g. "from 2019-01-01 until 2021-06-01"
    uint64_t index = 0;
  };
  Fact country;
  std::vector<Fact> laws;  // value: the law code; dated: a window or "by ruling #i"
  bool state_owned = false;
  Fact state;  // value "state-owned" or "" (not)
};

FactsAt FactsOf(const pb::OrgState& os, int64_t t) {
  const pb::Organization& o = os.current();
  FactsAt f;
  f.country = {o.country(), "", os.latest_index()};
  f.state_owned = o.state_owned();
  f.state = {o.state_owned() ? "state-owned" : "", "", os.latest_index()};
  for (const auto& law : o.laws()) f.laws.push_back({law, "", os.latest_index()});
  for (const pb::OrgFactEntry& e : os.facts()) {
    const pb::OrgFact& x = e.fact();
    if (x.valid_from() > t || (x.valid_until() != 0 && t >= x.valid_until())) continue;
    const std::string dated = Window(x.valid_from(), x.valid_until());
    if (x.has_country()) {
      f.country = {x.country(), dated, e.index()};
    } else if (x.has_law()) {
      f.laws.push_back({x.law(), dated, e.index()});
    } else if (x.has_state_owned()) {
      f.state_owned = x.state_owned();
      f.state = {x.state_owned() ? "state-owned" : "", dated, e.index()};
    }
  }
  for (const pb::RulingEntry& e : os.rulings()) {
    const pb::Ruling& r = e.ruling();
    const bool listed = std::any_of(f.laws.begin(), f.laws.end(),
                                    [&](const FactsAt::Fact& l) { return l.value == r.law(); });
    if (r.subject() && !listed) f.laws.push_back({r.law(), "by ruling #" + std::to_string(e.index()), e.index()});
  }
  return f;
}

// "CN" or "SG from 2021-06-01 on (#12)".
std::string FactText(const FactsAt::Fact& f) {
  if (f.dated.empty()) return f.value;
  if (f.dated.rfind("by ruling", 0) == 0) return f.value + " " + f.dated;
  return f.value + " " + f.dated + " (#" + std::to_string(f.index) + ")";
}

// What the policy has to say about one org at one time.
struct Denial {
  Severity severity = Severity::kReject;
  std::string code, why;
  std::vector<uint64_t> indices;  // the facts and rulings behind it
};

// Org states parsed from one evidence's state, kept while it is judged.
using OrgCache = std::map<std::string, std::optional<pb::OrgState>, std::less<>>;

class Evaluator {
 public:
  Evaluator(const Policy& p, const VerifiedEvidence& ev, const Judgement& j, int64_t now,
            OwnershipGraph* graph, const std::string& purpose, OrgCache* orgs)
      : p_(p), ev_(ev), j_(j), now_(now), graph_(graph), purpose_(purpose), orgs_(*orgs) {}

  std::vector<Finding> Run() {
    if (!j_.registered) return {};
    if (!InScope()) return std::move(out_);
    // An org in several roles (a maker of its own SoC) is judged once, in
    // its first role: its facts and owners are the same in each.
    std::set<std::string> judged;
    for (const Subject& s : Subjects()) {
      if (judged.insert(s.org).second) Judge(s);
    }
    if (!p_.purposes.empty() && purpose_.empty()) {
      // Without the use, what the policy would reject cannot be decided.
      for (Finding& f : out_) {
        if (f.severity != Severity::kReject) continue;
        f.severity = Severity::kUnverified;
        f.message = f.code + ": " + f.message + "; but " + p_.name + " covers only use for " +
                    Join(p_.purposes, ", ") + ": give --purpose";
        f.code = "PURPOSE_NEEDED";
      }
    }
    return std::move(out_);
  }

 private:
  bool Applies(Role r) const { return p_.applies_to.count(r) > 0; }

  int64_t Made() const {
    int64_t made = j_.record.manufactured_at();
    if (made == 0) {
      auto rec = ev_.records.find(j_.device.index());
      if (rec != ev_.records.end()) made = rec->second->record.issued_at();
    }
    return made;
  }

  const pb::ModelState* Model() {
    if (!model_loaded_) {
      model_loaded_ = true;
      pb::ModelState ms;
      const pb::Device& d = j_.record;
      auto have = GetMessage(ev_.state, state_key::Model(d.manufacturer_org(), d.model_id()), &ms);
      if (have.ok() && *have) model_ = std::move(ms);
    }
    return model_ ? &*model_ : nullptr;
  }

  // The policy's scope: the device's date, its model's equipment kinds and
  // the use it is judged for. Out of scope is one pass finding saying why.
  bool InScope() {
    auto out = [&](const std::string& code, const std::string& why,
                   std::vector<uint64_t> indices) {
      out_.push_back({Severity::kInfo, code, p_.name + " does not cover this device: " + why,
                      std::move(indices)});
      return false;
    };
    const int64_t made = Made();
    if (p_.in_force_from != 0 && made < p_.in_force_from) {
      return out("NOT_IN_FORCE", "made " + UtcDate(made) + ", before the rule is in force (" +
                                     UtcDate(p_.in_force_from) + ")",
                 {j_.device.index()});
    }
    if (!p_.equipment.empty()) {
      // A model not in the evidence cannot narrow the scope: judged as covered.
      if (const pb::ModelState* ms = Model()) {
        std::set<int> kinds(ms->model().equipment().begin(), ms->model().equipment().end());
        if (kinds.empty()) kinds.insert(pb::EQUIPMENT_KIND_VIDEO_SURVEILLANCE);
        const bool covered = std::any_of(kinds.begin(), kinds.end(),
                                         [&](int k) { return p_.equipment.count(k) > 0; });
        if (!covered) {
          std::set<std::string> names;
          for (int k : kinds) names.insert(EquipmentName(k));
          return out("OUT_OF_SCOPE", "model " + ms->model().model_id() + " is " +
                                         Join(names, " and ") + " equipment",
                     {ms->index()});
        }
      }
    }
    if (!p_.purposes.empty() && !purpose_.empty() && !p_.purposes.count(purpose_)) {
      return out("OUT_OF_SCOPE", "it covers only use for " + Join(p_.purposes, ", ") +
                                     ", and the use judged is " + purpose_,
                 {});
    }
    return true;
  }

  static std::string EquipmentName(int k) {
    return k == pb::EQUIPMENT_KIND_TELECOMMUNICATIONS ? "telecommunications"
                                                      : "video surveillance";
  }

  std::vector<Subject> Subjects() {
    std::vector<Subject> subjects;
    const pb::Device& d = j_.record;
    if (Applies(Role::kManufacturer)) {
      subjects.push_back({Role::kManufacturer, d.manufacturer_org(), "made by",
                          {j_.device.index()}});
      for (const RevealedMaker& m : j_.revealed_makers) {
        subjects.push_back({Role::kManufacturer, m.org, m.why, m.indices});
      }
    }
    if (const pb::ModelState* msp = Model()) {
      const pb::ModelState& ms = *msp;
      const pb::DeviceModel& m = ms.model();
      if (Applies(Role::kBrand) && !m.brand_org().empty() &&
          (m.brand_org() != d.manufacturer_org() || !Applies(Role::kManufacturer))) {
        subjects.push_back({Role::kBrand, m.brand_org(),
                            "model " + m.model_id() + " sold under the brand of", {ms.index()}});
      }
      const auto& reach = p_.component_reach;
      if (Applies(Role::kComponentMaker) && reach.from != 0 && Made() < reach.from &&
          !m.bom().empty()) {
        out_.push_back({Severity::kInfo, "COMPONENTS_NOT_COVERED",
                        "the makers of model " + m.model_id() + "'s components were not judged: " +
                            p_.name + " reaches components only of devices made from " +
                            UtcDate(reach.from) + " on, and this one was made " +
                            UtcDate(Made()),
                        {j_.device.index(), ms.index()}});
      } else if (Applies(Role::kComponentMaker)) {
        for (const pb::BomLine& line : m.bom()) {
          const auto& ref = line.component();
          pb::ComponentState cs;
          auto c = GetMessage(ev_.state, state_key::Component(ref.maker_org(), ref.part_number()),
                              &cs);
          std::string function = line.function();
          std::vector<uint64_t> indices;
          std::optional<pb::ComponentKind> kind;
          if (c.ok() && *c) {
            indices.push_back(cs.index());
            auto rec = ev_.records.find(cs.index());
            if (rec != ev_.records.end()) {
              kind = rec->second->record.component().kind();
              if (function.empty()) function = KindName(*kind);
            }
          }
          // A component of a kind the rule does not reach is not judged; one
          // whose kind the evidence does not show is (fail closed).
          if (!reach.kinds.empty() && kind && !reach.kinds.count(*kind)) continue;
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

  // "Orion Group Co., Ltd. (CN, state-owned, subject to CN-NIL-2017)"; a
  // dated fact says its window: "(SG from 2021-06-01 on (#12), ...)".
  std::string Describe(const std::string& id, int64_t t) {
    const pb::OrgState* os = Org(id);
    if (!os) return id + " (not in the ledger)";
    const FactsAt f = FactsOf(*os, t);
    std::string facts = FactText(f.country);
    if (!f.state.value.empty()) facts += ", " + FactText(f.state);
    for (size_t i = 0; i < f.laws.size(); ++i) {
      facts += (i == 0 ? ", subject to " : " and ") + FactText(f.laws[i]);
    }
    for (const pb::RulingEntry& e : os->rulings()) {
      if (!e.ruling().subject()) {
        facts += ", not subject to " + e.ruling().law() + " by ruling #" + std::to_string(e.index());
      }
    }
    return os->current().legal_name() + " (" + facts + ")";
  }

  // How a denied org's purpose limit bears on this check: a reject, an
  // UNVERIFIED PURPOSE_NEEDED, or an OUT_OF_SCOPE pass.
  Denial Gate(const std::string& denied, std::string code, std::string why) {
    auto it = p_.org_purposes.find(denied);
    if (it == p_.org_purposes.end()) return {Severity::kReject, std::move(code), std::move(why), {}};
    const std::string uses = Join(it->second, ", ");
    if (purpose_.empty()) {
      return {Severity::kUnverified, "PURPOSE_NEEDED",
              why + "; but " + p_.name + " denies " + denied + " only for use for " + uses +
                  ": give --purpose",
              {}};
    }
    if (it->second.count(purpose_)) {
      return {Severity::kReject, std::move(code), why + " (for use for " + purpose_ + ")", {}};
    }
    return {Severity::kInfo, "OUT_OF_SCOPE",
            why + "; but " + p_.name + " denies " + denied + " only for use for " + uses +
                ", and the use judged is " + purpose_,
            {}};
  }

  // What the policy denies about one org at time t.
  std::vector<Denial> Denials(const std::string& id, int64_t t, bool owner) {
    std::vector<Denial> out;
    if (p_.denied_orgs.count(id)) out.push_back(Gate(id, "DENIED_ORG", id + " is a denied organisation"));
    const pb::OrgState* os = Org(id);
    if (!os) return out;
    const FactsAt f = FactsOf(*os, t);
    if (p_.denied_countries.count(f.country.value)) {
      out.push_back({Severity::kReject, "DENIED_COUNTRY",
                     f.country.value + " is a denied country", {f.country.index}});
    }
    for (const auto& law : f.laws) {
      if (p_.denied_laws.count(law.value)) {
        out.push_back({Severity::kReject, "DENIED_LAW", law.value + " is a denied law", {law.index}});
      }
    }
    if (p_.state_owned_counts && f.state_owned) {
      out.push_back({Severity::kReject, "STATE_OWNED_OWNER",
                     std::string(owner ? "a state-owned owner" : "a state-owned org") +
                         " counts under this policy",
                     {f.state.index}});
    }
    for (const Policy::NeedsRuling& nr : p_.needs_ruling) {
      if (!nr.jurisdictions.count(f.country.value)) continue;
      const bool bound = std::any_of(f.laws.begin(), f.laws.end(),
                                     [&](const FactsAt::Fact& l) { return l.value == nr.law; });
      const bool ruled = std::any_of(os->rulings().begin(), os->rulings().end(),
                                     [&](const pb::RulingEntry& e) { return e.ruling().law() == nr.law; });
      if (bound || ruled) continue;
      out.push_back({Severity::kUnverified, "NEEDS_RULING",
                     "whether " + id + " (" + f.country.value + ") is subject to " + nr.law +
                         " is unsettled: " + nr.question + " A ruling is needed: the authority logs "
                         "one for " + id + " (prov authority ruling --org " + id + " --law " +
                         nr.law + " --subject yes|no --source ...)",
                     {f.country.index}});
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
    const int64_t made = Made();
    std::vector<std::pair<std::string, int64_t>> times;
    if (p_.when != Policy::When::kNow) times.emplace_back("at manufacture (" + UtcDate(made) + ")", made);
    if (p_.when != Policy::When::kManufacture) times.emplace_back("now", now_);
    return times;
  }

  // The no-registrable-owner statement covering `t` that clears org's owners
  // under this policy's threshold, if any.
  const pb::NoOwnerEntry* Statement(const std::string& id, int64_t t, bool* too_high = nullptr) {
    const pb::OrgState* os = Org(id);
    if (!os) return nullptr;
    for (const pb::NoOwnerEntry& e : os->no_owner()) {
      const auto& n = e.statement();
      if (n.valid_from() > t || (n.valid_until() != 0 && t >= n.valid_until())) continue;
      if (n.threshold_bp() <= p_.control_threshold_bp) return &e;
      if (too_high) *too_high = true;
    }
    return nullptr;
  }

  // Judges one subject; when nothing was found against it, says what was
  // examined and passed (a pass is explained as fully as a rejection).
  void Judge(const Subject& s) {
    const size_t before = out_.size();
    JudgeOrg(s);
    if (out_.size() != before) return;
    std::vector<uint64_t> indices = s.indices;
    const auto times = Times();
    const int64_t first = times.empty() ? now_ : times.front().second;
    if (const pb::OrgState* os = Org(s.org)) {
      AddUnique(&indices, os->latest_index());
      for (const auto& [label, t] : times) {
        const FactsAt f = FactsOf(*os, t);
        AddUnique(&indices, f.country.index);
        for (const auto& l : f.laws) AddUnique(&indices, l.index);
      }
      for (const auto& e : os->rulings()) AddUnique(&indices, e.index());
    }
    std::string text = s.what + " " + Describe(s.org, first) + ": not denied by " + p_.name;
    if (p_.include_owners) {
      std::map<std::string, double> owners;  // counting owner -> largest stake judged
      std::string when, statements;
      for (const auto& [label, t] : times) {
        when += (when.empty() ? "" : " and ") + label;
        if (const pb::NoOwnerEntry* e = Statement(s.org, t)) {
          AddUnique(&indices, e->index());
          const std::string st = "no registrable owner at or above " +
                                 Percent(e->statement().threshold_bp() / 10000.0) + " " +
                                 Window(e->statement().valid_from(), e->statement().valid_until()) +
                                 " (#" + std::to_string(e->index()) + ")";
          if (statements.find(st) == std::string::npos) statements += "; " + st;
        }
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
          text += " " + Describe(owner, first) + " " + Percent(stake) + ";";
        }
        text.pop_back();
      }
      text += statements + " (" + when + ")";
    }
    out_.push_back({Severity::kInfo, "POLICY_PASSED", std::move(text), std::move(indices)});
  }

  void JudgeOrg(const Subject& s) {
    const pb::OrgState* os = Org(s.org);
    if (!os) {
      Add(Missing(), "MISSING_ORG_FACTS",
          s.what + " " + s.org + " (not in the ledger): " + s.org +
              " is not in the ledger, so the policy cannot judge it",
          s.indices);
      return;
    }
    // Findings, merged across the times judged.
    struct Hit {
      Severity severity;
      std::string code, text;
      std::vector<uint64_t> indices;
      std::vector<std::string> when;
    };
    std::vector<Hit> hits;
    auto hit = [&](Severity sev, const std::string& code, const std::string& text,
                   const std::vector<uint64_t>& indices, const std::string& when) {
      auto same = std::find_if(hits.begin(), hits.end(), [&](const Hit& x) {
        return x.code == code && x.text == text;
      });
      if (same != hits.end()) {
        same->when.push_back(when);
      } else {
        hits.push_back({sev, code, text, indices, {when}});
      }
    };
    std::vector<std::string> missing_at;
    bool statement_too_high = false;
    for (const auto& [when, t] : Times()) {
      const std::string head = s.what + " " + Describe(s.org, t);
      for (Denial& d : Denials(s.org, t, false)) {
        std::vector<uint64_t> indices = s.indices;
        AddUnique(&indices, os->latest_index());
        for (uint64_t i : d.indices) AddUnique(&indices, i);
        hit(d.severity, d.code, head + ": " + d.why, indices, when);
      }
      if (!p_.include_owners) continue;
      if (!graph_->HasOwnershipFactsAt(s.org, t) && !Statement(s.org, t, &statement_too_high)) {
        missing_at.push_back(when);
      }
      for (const auto& [owner, h] : graph_->OwnersAt(s.org, t)) {
        if (!Counts(h)) continue;
        auto denials = Denials(owner, t, true);
        if (denials.empty()) continue;
        const pb::OrgState* owner_state = Org(owner);
        auto [text, path_indices] = PathText(head, h, t);
        std::vector<uint64_t> indices = s.indices;
        for (uint64_t i : path_indices) AddUnique(&indices, i);
        if (owner_state) AddUnique(&indices, owner_state->latest_index());
        for (Denial& d : denials) {
          std::vector<uint64_t> with = indices;
          for (uint64_t i : d.indices) AddUnique(&with, i);
          hit(d.severity, d.code, text + ": " + d.why, with, when);
        }
      }
      if (p_.affiliates) {
        for (Denial& d : Affiliations(s, head, t)) {
          hit(d.severity, d.code, d.why, d.indices, when);
        }
      }
    }
    if (!missing_at.empty()) {
      std::string when;
      for (size_t i = 0; i < missing_at.size(); ++i) when += (i == 0 ? "" : " and ") + missing_at[i];
      Add(Missing(), "MISSING_OWNERSHIP_FACTS",
          s.what + " " + Describe(s.org, now_) + ": no owner of " + s.org +
              " is recorded in the ledger " + when +
              (statement_too_high
                   ? ", and its no-registrable-owner statement's threshold is above this "
                     "policy's " + Percent(p_.control_threshold_bp / 10000.0)
                   : ", nor a statement that it has no registrable owner") +
              ", so its beneficial owners cannot be judged",
          s.indices);
    }
    for (Hit& hit : hits) {
      std::string when;
      for (size_t i = 0; i < hit.when.size(); ++i) {
        when += (i == 0 ? "" : " and ") + hit.when[i];
      }
      Add(hit.severity, hit.code, hit.text + " (" + when + ")", std::move(hit.indices));
    }
  }

  bool Counts(const OwnershipGraph::Holding& h) const {
    return h.stake * 10000 + 1e-6 >= p_.control_threshold_bp ||
           (p_.control_flag_counts && h.control);
  }

  // How s.org is an affiliate of a denied org D at time t: it holds a
  // counting stake in D, or one of its counting owners does (common
  // control).
  std::vector<Denial> Affiliations(const Subject& s, const std::string& head, int64_t t) {
    std::vector<Denial> out;
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
        auto [text, path] = PathText(denied, it->second, t);
        for (uint64_t i : path) AddUnique(indices, i);
        if (const pb::OrgState* os = Org(denied)) AddUnique(indices, os->latest_index());
        return Percent(it->second.stake) + " of " + Describe(denied, t);
      };
      auto gated = [&](std::string why, std::vector<uint64_t> indices) {
        Denial d = Gate(denied, "DENIED_AFFILIATE", std::move(why));
        d.indices = std::move(indices);
        out.push_back(std::move(d));
      };
      std::vector<uint64_t> indices = s.indices;
      if (std::string held = holds(s.org, &indices); !held.empty()) {
        gated(head + ", which holds " + held + ": an affiliate of " + denied +
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
        auto [text, path] = PathText(head, h, t);
        for (uint64_t i : path) AddUnique(&owner_indices, i);
        const std::string held = holds(owner, &owner_indices);
        gated(text + "; " + Describe(owner, t) + " also holds " + held +
                  ": under common control with " + denied + ", so an affiliate of " + denied +
                  ", a denied organisation",
              std::move(owner_indices));
        break;  // one common owner is enough to name
      }
    }
    return out;
  }

  // The strongest path to an owner, in words, and the records on it.
  std::pair<std::string, std::vector<uint64_t>> PathText(const std::string& head,
                                                         const OwnershipGraph::Holding& h,
                                                         int64_t t) {
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
              (e->control ? " (with control)" : "") + " owned by " + Describe(e->owner, t) +
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
  const std::string& purpose_;
  OrgCache& orgs_;
  bool model_loaded_ = false;
  std::optional<pb::ModelState> model_;
  std::vector<Finding> out_;
};

}  // namespace

std::vector<Finding> EvaluatePolicy(const Policy& policy, const VerifiedEvidence& ev,
                                    const Judgement& j, int64_t now, OwnershipGraph* graph,
                                    const std::string& purpose) {
  OrgCache orgs;
  return Evaluator(policy, ev, j, now, graph, purpose, &orgs).Run();
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

PolicyFn MakePolicyFn(std::shared_ptr<const Policy> policy, int64_t now, std::string purpose) {
  // One ownership graph and one cache of parsed org states per evidence, kept
  // while the same evidence is judged.
  struct Cache {
    const VerifiedEvidence* ev = nullptr;
    Hash root{};
    size_t records = 0;
    std::unique_ptr<OwnershipGraph> graph;
    OrgCache orgs;
  };
  auto cache = std::make_shared<Cache>();
  return [policy, now, cache, purpose](const VerifiedEvidence& ev, const Judgement& j) {
    if (cache->ev != &ev || cache->root != ev.checkpoint.root ||
        cache->records != ev.records.size()) {
      cache->graph = std::make_unique<OwnershipGraph>(ev);
      cache->orgs.clear();
      cache->ev = &ev;
      cache->root = ev.checkpoint.root;
      cache->records = ev.records.size();
    }
    return Evaluator(*policy, ev, j, now, cache->graph.get(), purpose, &cache->orgs).Run();
  };
}

}  // namespace verifier
