#include "client/resolve.h"

#include <algorithm>

#include "verifier/suggest.h"

namespace client {
namespace {

std::vector<std::string> Known(const verifier::VerifiedEvidence& ev, std::string_view prefix) {
  std::vector<std::string> ids;
  ev.state.ForEach(prefix, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size()));
  });
  return ids;
}

std::vector<std::string> Hints(const verifier::VerifiedEvidence& ev, const std::string& kind,
                               const std::string& id, std::string_view prefix) {
  for (const auto& u : ev.unknown_ids) {
    if (u.kind() == kind && u.id() == id) return {u.suggestions().begin(), u.suggestions().end()};
  }
  return verifier::Nearest(id, Known(ev, prefix));
}

}  // namespace

void Wanted::AddFlag(const std::string& flag, const std::string& org_id) {
  if (!org_id.empty()) orgs.push_back({org_id, flag, false});
}

void Wanted::AddPolicy(const verifier::Policy& p) {
  auto where = [&](const std::string& list, const std::string& id) {
    auto it = p.where.find(list + "/" + id);
    return (it == p.where.end() ? p.name : it->second) + ": " + list;
  };
  for (const auto& id : p.denied_orgs) orgs.push_back({id, where("deny.orgs", id), true});
  for (const auto& code : p.denied_laws) laws.push_back({code, where("deny.laws", code), true});
}

std::vector<std::string> Wanted::OrgIds() const {
  std::vector<std::string> out;
  for (const auto& o : orgs) {
    if (std::find(out.begin(), out.end(), o.id) == out.end()) out.push_back(o.id);
  }
  return out;
}

std::vector<std::string> Wanted::LawIds() const {
  std::vector<std::string> out;
  for (const auto& l : laws) {
    if (std::find(out.begin(), out.end(), l.id) == out.end()) out.push_back(l.id);
  }
  return out;
}

verifier::Status Resolve(const Wanted& wanted, const verifier::VerifiedEvidence& ev) {
  const std::string where = ev.from_bundle ? "in this bundle" : "in the ledger";
  // Every unknown id at once (a policy with three typos is fixed in one go);
  // flags first, since a mistyped --buyer is the likelier mistake.
  std::vector<std::string> flags, policy;
  bool org_missing = false, law_missing = false;
  auto check = [&](const Wanted::Id& w, const std::string& kind, const std::string& key,
                   std::string_view prefix) {
    std::string unused;
    auto found = ev.state.Get(key, &unused);
    if (found.ok() && *found) return;
    (kind == "org" ? org_missing : law_missing) = true;
    const std::string noun = kind == "org" ? "an organisation" : "a law";
    (w.policy ? policy : flags)
        .push_back(w.what + ": '" + w.id + "' is not " + noun + " registered " + where +
                   verifier::DidYouMean(Hints(ev, kind, w.id, prefix)));
  };
  for (const auto& o : wanted.orgs) {
    check(o, "org", verifier::state_key::Org(o.id), verifier::state_key::kOrgPrefix);
  }
  for (const auto& l : wanted.laws) {
    check(l, "law", verifier::state_key::Law(l.id), verifier::state_key::kLawPrefix);
  }
  if (flags.empty() && policy.empty()) return verifier::Status::Ok();
  std::string msg;
  for (const auto& m : flags.empty() ? policy : flags) msg += (msg.empty() ? "" : "; ") + m;
  msg += " (tree size " + std::to_string(ev.checkpoint.size) + ")";
  if (ev.from_bundle) {
    msg += "; a bundle holds only what it was exported with (`prov bundle export --policy FILE "
           "--org ID`)";
  } else {
    if (org_missing) msg += "; `prov org list --search TEXT` finds organisation ids";
    if (law_missing) msg += "; `prov law list` lists the registered laws";
  }
  return verifier::InvalidArgument(flags.empty() ? "BAD_POLICY" : "UNKNOWN_ORG", msg);
}

}  // namespace client
