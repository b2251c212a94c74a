#include "client/witness_policy.h"

#include "verifier/crypto.h"

namespace client {

using verifier::Result;
using verifier::Status;

namespace {

verifier::PolicyEvalOptions Options(const verifier::NoteVerifier& log, int64_t now) {
  verifier::PolicyEvalOptions o;
  o.now = now;
  o.extra_logs = {log};
  return o;
}

bool SameKey(const verifier::NoteVerifier& a, const verifier::NoteVerifier& b) {
  return a.name == b.name && a.key_hash == b.key_hash &&
         verifier::ConstantTimeEqual(a.public_key, b.public_key);
}

}  // namespace

Result<verifier::TlogPolicy> ParseWitnessPolicy(const std::string& path, std::string_view text,
                                                const verifier::NoteVerifier& log) {
  auto policy = verifier::ParseTlogPolicy(text);
  if (!policy.ok()) {
    const Status& s = policy.status();
    return Status(s.code(), s.reason(), path + ": " + s.message());
  }
  if (!policy->logs.empty()) {
    bool listed = false;
    std::string names;
    for (const auto& l : policy->logs) {
      listed |= SameKey(l.key, log);
      names += (names.empty() ? "" : ", ") + l.key.name;
    }
    if (!listed) {
      return verifier::InvalidArgument("WITNESS_POLICY_OTHER_LOG",
                                       path + " lists the logs " + names +
                                           " but not the pinned log key (--vkey) of " + log.name +
                                           ": it is a policy for another log");
    }
  }
  return policy;
}

Status RequireWitnessQuorum(const verifier::TlogPolicy& policy, const verifier::NoteVerifier& log,
                            std::string_view note, int64_t now) {
  auto verdict = verifier::EvaluatePolicy(policy, note, Options(log, now));
  if (!verdict.ok()) {
    const Status& s = verdict.status();
    return Status(verifier::Code::kDataLoss, s.reason(),
                  "the checkpoint does not verify under the witness policy: " + s.message());
  }
  return verifier::RequireQuorum(*verdict);
}

size_t CountCosignatures(const verifier::TlogPolicy& policy, const verifier::NoteVerifier& log,
                         std::string_view note, int64_t now) {
  auto verdict = verifier::EvaluatePolicy(policy, note, Options(log, now));
  return verdict.ok() ? verdict->cosigned.size() : 0;
}

}  // namespace client
