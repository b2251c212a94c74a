// What check, delivery check, bundle and scan share (client/verdicts.h).
#include "client/verdicts.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <future>

#include "client/static_evidence.h"
#include "client/witness_policy.h"
#include "verifier/suggest.h"

namespace prov {

using verifier::Finding;
using verifier::Judgement;
using verifier::SeverityName;
using verifier::Verdict;

// Evidence requests carry at most this many devices.

std::string Indices(const std::vector<uint64_t>& v) {
  std::string out;
  for (uint64_t i : v) out += (out.empty() ? "#" : " #") + std::to_string(i);
  return out.empty() ? "" : "[" + out + "]";
}

// "2026-11-29 15:04 UTC"
std::string UtcTime(int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string Ago(int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min";
  if (seconds < 3 * 86400) return std::to_string(seconds / 3600) + " h";
  return std::to_string(seconds / 86400) + " days";
}

int VerdictExit(Verdict v) {
  switch (v) {
    case Verdict::kTrusted:
      return kOk;
    case Verdict::kRejected:
      return kRejected;
    case Verdict::kUnverified:
      return kUnverified;
  }
  return kUnverified;
}

json FindingsJson(const std::vector<Finding>& findings) {
  json out = json::array();
  for (const auto& f : findings) {
    out.push_back({{"code", f.code},
                   {"severity", SeverityName(f.severity)},
                   {"message", f.message},
                   {"indices", f.indices}});
  }
  return out;
}

json JudgementJson(const std::string& device, const Judgement& j) {
  return {{"device", device},
          {"verdict", verifier::VerdictName(j.verdict)},
          {"findings", FindingsJson(j.findings)}};
}

void PrintJudgement(const std::string& device, const Judgement& j) {
  std::printf("%s: %s\n", device.c_str(), verifier::VerdictName(j.verdict));
  for (const auto& f : j.findings) {
    std::printf("  %-10s %-24s %s %s\n", SeverityName(f.severity), f.code.c_str(),
                f.message.c_str(), Indices(f.indices).c_str());
  }
}

// Offline: how fresh the bundle is, by its checkpoint's signed time. A
// bundle older than `max_age` seconds (0: no limit) could hide a later
// stolen status or revocation, so it leaves the device UNVERIFIED.
void JudgeBundleAge(const verifier::VerifiedEvidence& ev, int64_t max_age, Judgement* j) {
  if (!ev.from_bundle) return;
  auto signed_at = verifier::CheckpointTime(ev.checkpoint);
  const int64_t now = std::time(nullptr);
  if (!signed_at.ok() || *signed_at == 0) {
    j->findings.push_back(
        {max_age ? Finding::Severity::kUnverified : Finding::Severity::kSkipped,
         "BUNDLE_UNDATED",
         "the bundle's checkpoint carries no signed time, so its age cannot be told" +
             std::string(max_age ? "" : " (--max-bundle-age 0: not required)"),
         {}});
  } else {
    const int64_t age = std::max<int64_t>(0, now - *signed_at);
    const std::string when = UtcTime(*signed_at);
    if (max_age && age > max_age) {
      j->findings.push_back(
          {Finding::Severity::kUnverified,
           "BUNDLE_TOO_OLD",
           "the bundle's checkpoint was signed " + Ago(age) + " ago (" + when +
               "), more than --max-bundle-age " + Ago(max_age) +
               ": a later stolen status or revocation would not be in it; export a fresh one",
           {}});
    } else {
      j->findings.push_back({Finding::Severity::kInfo,
                             "BUNDLE_FRESH",
                             "the bundle's checkpoint was signed " + Ago(age) + " ago (" + when +
                                 ")" +
                                 (max_age ? ", within --max-bundle-age " + Ago(max_age)
                                          : std::string(", no age limit (--max-bundle-age 0)")),
                             {}});
    }
  }
  verifier::Decide(j);
}

void AddPolicyOption(CLI::App* cmd, PolicyChoice* p) {
  cmd->add_option("--policy", p->path,
                  "judge against a trust policy file (YAML; e.g. policies/uk-sensitive-site.yaml)")
      ->envname("PROV_POLICY");
  cmd->add_option("--purpose", p->purpose,
                  "the use the cameras are for, when the policy covers some uses only: " +
                      verifier::PurposeList());
}

Status PolicyChoice::Load() {
  if (!purpose.empty() && !verifier::IsPurpose(purpose)) {
    return verifier::InvalidArgument(
        "BAD_PURPOSE",
        "--purpose '" + purpose + "' is not a purpose (" + verifier::PurposeList() + ")" +
            verifier::DidYouMean(verifier::Nearest(purpose, verifier::Purposes(), 3)));
  }
  if (!purpose.empty() && path.empty()) {
    return verifier::InvalidArgument("BAD_PURPOSE",
                                     "--purpose needs --policy: the use matters "
                                     "only to a policy whose scope names uses");
  }
  if (path.empty()) return Status::Ok();
  PROV_ASSIGN_OR_RETURN(verifier::Policy p, client::LoadPolicy(path));
  policy = std::make_shared<const verifier::Policy>(std::move(p));
  return Status::Ok();
}

pb::DeviceRef Ref(const std::string& mfr, const std::string& serial) {
  pb::DeviceRef r;
  r.set_manufacturer_org(mfr);
  r.set_serial(serial);
  return r;
}

// Fetches evidence for `devices` (in chunks) and verifies each response; the
// checkpoint of each must be consistent with the trust store.
// Every response also carries the orgs and laws in `wanted` (so each chunk
// resolves them on its own).

Result<std::vector<verifier::VerifiedEvidence>> FetchEvidence(
    client::LedgerClient& c, const std::vector<pb::DeviceRef>& devices,
    const client::Wanted& wanted, verifier::RecordCache* cache, std::vector<pb::Evidence>* raw,
    const std::function<void(size_t)>& progress, const CameraIds* camera) {
  auto request = [&](size_t start) {
    pb::GetEvidenceRequest req;
    // Heads with their witnesses' cosignatures under a policy, and always for
    // a bundle (`raw`), which a policy may judge offline later.
    req.set_witnessed(c.witness_policy() != nullptr || raw != nullptr);
    for (const auto& id : wanted.OrgIds()) req.add_orgs(id);
    for (const auto& id : wanted.LawIds()) req.add_laws(id);
    if (camera) {
      for (const auto& h : camera->issuers) req.add_certificate_issuers(h);
      for (const auto& m : camera->macs) req.add_mac_addresses(m);
    }
    for (size_t i = start; i < std::min(devices.size(), start + kEvidenceChunk); ++i) {
      *req.add_devices() = devices[i];
    }
    return req;
  };
  // One chunk in flight while the previous one is verified: the server
  // builds evidence on one core while this process checks signatures on
  // another.
  // From a static copy (--tiles-url) the client assembles the same evidence
  // itself, one chunk at a time (the tiles source is not thread-safe).
  auto fetch = [&c](pb::GetEvidenceRequest req) {
    auto answer = std::make_pair(Status::Ok(), pb::Evidence());
    if (!c.has_server()) {
      auto ev = client::StaticEvidence(c, req);
      answer.first = ev.status();
      if (ev.ok()) answer.second = std::move(ev).value();
      return answer;
    }
    grpc::ClientContext ctx;
    answer.first = client::FromGrpc(c.stub().GetEvidence(&ctx, req, &answer.second));
    return answer;
  };
  const auto launch = c.has_server() ? std::launch::async : std::launch::deferred;
  std::vector<verifier::VerifiedEvidence> out;
  auto next = std::async(launch, fetch, request(0));
  for (size_t start = 0; start == 0 || start < devices.size(); start += kEvidenceChunk) {
    auto [status, ev] = next.get();
    if (start + kEvidenceChunk < devices.size()) {
      next = std::async(launch, fetch, request(start + kEvidenceChunk));
    }
    PROV_RETURN_IF_ERROR(status);
    PROV_RETURN_IF_ERROR(c.Observe(ev.checkpoint().note()).status());
    PROV_ASSIGN_OR_RETURN(auto key, c.KeyForNote(ev.checkpoint().note()));
    PROV_ASSIGN_OR_RETURN(auto verified, verifier::VerifyEvidence(ev, key, cache));
    out.push_back(std::move(verified));
    if (raw) raw->push_back(std::move(ev));
    if (progress) progress(std::min(devices.size(), start + kEvidenceChunk));
  }
  return out;
}

Result<verifier::VerifiedEvidence> LoadBundle(const std::string& path,
                                              verifier::RecordCache* cache) {
  PROV_ASSIGN_OR_RETURN(std::string vkey_text, PinnedVkey());
  PROV_ASSIGN_OR_RETURN(auto vkey, verifier::ParseVerifierKey(vkey_text));
  PROV_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  PROV_ASSIGN_OR_RETURN(pb::Evidence ev, verifier::ParseBundle(bytes));
  PROV_ASSIGN_OR_RETURN(auto policy, WitnessPolicy());
  PROV_ASSIGN_OR_RETURN(auto verified, verifier::VerifyEvidence(ev, vkey, cache));
  // Offline, the witnesses' cosignatures are all that stand for the log's
  // honesty: under a policy the bundle's checkpoint must meet the quorum.
  if (policy) {
    Status s =
        client::RequireWitnessQuorum(*policy, vkey, ev.checkpoint().note(), std::time(nullptr));
    if (!s.ok()) return Status(s.code(), s.reason(), path + ": " + s.message());
  }
  verified.from_bundle = true;
  return verified;
}

// Evidence for one device: from a bundle file (offline) or from the ledger;
// every wanted id must resolve in it.
// An empty `mfr` asks for no device (only the wanted ids and the camera's).
Result<verifier::VerifiedEvidence> EvidenceFor(const std::string& bundle, const std::string& mfr,
                                               const std::string& serial,
                                               const client::Wanted& wanted,
                                               verifier::RecordCache* cache,
                                               const CameraIds* camera) {
  if (!bundle.empty()) {
    PROV_ASSIGN_OR_RETURN(auto ev, LoadBundle(bundle, cache));
    PROV_RETURN_IF_ERROR(client::Resolve(wanted, ev));
    return ev;
  }
  PROV_ASSIGN_OR_RETURN(auto c, ConnectReader());
  PROV_RETURN_IF_ERROR(c->GetCheckpoint().status());
  std::vector<pb::DeviceRef> devices;
  if (!mfr.empty()) devices.push_back(Ref(mfr, serial));
  PROV_ASSIGN_OR_RETURN(auto evs, FetchEvidence(*c, devices, wanted, cache, nullptr, {}, camera));
  PROV_RETURN_IF_ERROR(SaveTrust(*c));
  PROV_RETURN_IF_ERROR(client::Resolve(wanted, evs.front()));
  return std::move(evs.front());
}

// Trims an identifier given on the command line; empty is a usage error.
Result<std::string> FlagId(const std::string& flag, const std::string& value, bool required) {
  std::string v = value;
  const char* ws = " \t\r\n";
  const size_t b = v.find_first_not_of(ws);
  v = b == std::string::npos ? "" : v.substr(b, v.find_last_not_of(ws) - b + 1);
  if (v.empty() && (required || !value.empty())) {
    return verifier::InvalidArgument("USAGE", flag + " is empty");
  }
  return v;
}

// The evidence line after a verdict, and its JSON.
void PrintSource(const verifier::VerifiedEvidence& ev) {
  std::printf("verified against the signed checkpoint of size %llu%s\n",
              static_cast<unsigned long long>(ev.checkpoint.size),
              ev.from_bundle ? " (offline, from the bundle)" : "");
}

void AddMaxBundleAge(CLI::App* cmd, int64_t* seconds) {
  cmd->add_option("--max-bundle-age", *seconds,
                  "with --bundle: seconds since its checkpoint was signed after which devices "
                  "are UNVERIFIED (default 604800 = 7 days; 0 = no limit)")
      ->default_val(kDefaultMaxBundleAge)
      ->check(CLI::NonNegativeNumber);
}

}  // namespace prov
