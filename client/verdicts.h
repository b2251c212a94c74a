// What the prov commands that judge devices share (check, delivery check,
// bundle, scan): verdicts printed and as JSON, the --policy and
// --max-bundle-age options, and evidence verified from the ledger (against
// the pinned key and the trust store) or from an offline bundle.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/cli.h"
#include "client/policy_file.h"
#include "client/resolve.h"
#include "verifier/judge.h"
#include "verifier/policy.h"

namespace prov {

// Evidence requests carry at most this many devices.
inline constexpr size_t kEvidenceChunk = 500;

// "[#3 #17]" for a finding's ledger indices; "" for none.
std::string Indices(const std::vector<uint64_t>& v);
// "2026-11-29 15:04 UTC"
std::string UtcTime(int64_t unix_seconds);
// "42 s", "5 min", "3 h", "9 days"
std::string Ago(int64_t seconds);

// A bundle older than this (by its checkpoint's signed time) is UNVERIFIED.
inline constexpr int64_t kDefaultMaxBundleAge = 7 * 24 * 3600;

// 0 TRUSTED, 1 REJECTED, 2 UNVERIFIED.
int VerdictExit(verifier::Verdict v);
json FindingsJson(const std::vector<verifier::Finding>& findings);
json JudgementJson(const std::string& device, const verifier::Judgement& j);
void PrintJudgement(const std::string& device, const verifier::Judgement& j);
// "verified against the signed checkpoint of size N [(offline, from the bundle)]"
void PrintSource(const verifier::VerifiedEvidence& ev);

// Offline: how fresh the bundle is, by its checkpoint's signed time. A
// bundle older than `max_age` seconds (0: no limit) could hide a later
// stolen status or revocation, so it leaves the device UNVERIFIED.
void JudgeBundleAge(const verifier::VerifiedEvidence& ev, int64_t max_age, verifier::Judgement* j);
void AddMaxBundleAge(CLI::App* cmd, int64_t* seconds);

// The --policy option of check, scan and delivery check.
struct PolicyChoice {
  std::string path;
  std::string purpose;                             // --purpose: the use judged, or ""
  std::shared_ptr<const verifier::Policy> policy;  // null without --policy

  // Reads the policy; an unknown --purpose, or one without --policy, is
  // INVALID_ARGUMENT BAD_PURPOSE.
  Status Load();
  // A fresh evaluator (it memoises the ownership graph of the evidence).
  verifier::PolicyFn Fn() const {
    return policy ? verifier::MakePolicyFn(policy, std::time(nullptr), purpose)
                  : verifier::PolicyFn{};
  }
  void Finish(bool attested, verifier::Judgement* j) const {
    if (policy) {
      verifier::ApplyRequired(*policy, attested, j);
    } else {
      verifier::ApplyNoPolicy(attested, j);
    }
  }
  void Want(client::Wanted* w) const {
    if (policy) w->AddPolicy(*policy);
  }
  json Json() const {
    if (!policy) return json(nullptr);
    json j{{"name", policy->name}, {"source", policy->source}, {"file", path}};
    if (!purpose.empty()) j["purpose"] = purpose;
    return j;
  }
  void Print() const {
    if (policy) std::printf("policy %s: %s\n", policy->name.c_str(), policy->source.c_str());
    if (policy && !purpose.empty()) std::printf("purpose: %s\n", purpose.c_str());
  }
};

void AddPolicyOption(CLI::App* cmd, PolicyChoice* p);

pb::DeviceRef Ref(const std::string& mfr, const std::string& serial);

// A scanned camera's chain issuers and MACs: the server adds the makers they
// point at (GetEvidenceRequest.certificate_issuers, mac_addresses).
struct CameraIds {
  std::vector<std::string> issuers, macs;
};

// Fetches evidence for `devices` (in chunks) and verifies each response; the
// checkpoint of each must be consistent with the trust store. Every response
// also carries the orgs and laws in `wanted` (so each chunk resolves them on
// its own), and the makers `camera` points at.
Result<std::vector<verifier::VerifiedEvidence>> FetchEvidence(
    client::LedgerClient& c, const std::vector<pb::DeviceRef>& devices,
    const client::Wanted& wanted, verifier::RecordCache* cache, std::vector<pb::Evidence>* raw,
    const std::function<void(size_t)>& progress = {}, const CameraIds* camera = nullptr);

// An offline bundle, verified against the pinned log key and, under
// --witness-policy, its checkpoint's witness quorum (QUORUM_NOT_MET).
Result<verifier::VerifiedEvidence> LoadBundle(const std::string& path,
                                              verifier::RecordCache* cache);

// Evidence for one device: from a bundle file (offline) or from the ledger;
// every wanted id must resolve in it. An empty `mfr` asks for no device.
Result<verifier::VerifiedEvidence> EvidenceFor(const std::string& bundle, const std::string& mfr,
                                               const std::string& serial,
                                               const client::Wanted& wanted,
                                               verifier::RecordCache* cache,
                                               const CameraIds* camera = nullptr);

// Trims an identifier given on the command line; empty is a usage error.
Result<std::string> FlagId(const std::string& flag, const std::string& value, bool required);

}  // namespace prov
