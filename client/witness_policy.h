// The client's witness policy (`prov --witness-policy FILE`): a C2SP
// tlog-policy file (verifier/tlog_policy.h) naming the witnesses whose
// cosignatures a checkpoint needs before this client trusts it as a head.
// Loaded once against the pinned log key; checked on every head the client
// adopts, on bundles and on tlog-proofs (docs/witness-policy.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "verifier/note.h"
#include "verifier/status.h"
#include "verifier/tlog_policy.h"

namespace client {

// Parses the policy file at `path` (its text from `text`). Errors keep the
// parser's reason (POLICY_*, InvalidArgument) with the message
// "<path>: line N: ...". If the policy lists `log` lines, the pinned key
// `log` must be one of them, else InvalidArgument WITNESS_POLICY_OTHER_LOG.
verifier::Result<verifier::TlogPolicy> ParseWitnessPolicy(const std::string& path,
                                                          std::string_view text,
                                                          const verifier::NoteVerifier& log);

// OK if `note` (already verified with `log`) meets the policy's quorum at
// POSIX time `now`. Else FailedPrecondition QUORUM_NOT_MET naming the
// witnesses whose cosignatures are missing or bad, or DataLoss with
// EvaluatePolicy's reason if the note does not verify under the policy.
verifier::Status RequireWitnessQuorum(const verifier::TlogPolicy& policy,
                                      const verifier::NoteVerifier& log, std::string_view note,
                                      int64_t now);

// The number of the policy's witnesses whose cosignature on `note` verifies
// at `now` (0 if the note does not verify): how well a head is cosigned.
size_t CountCosignatures(const verifier::TlogPolicy& policy, const verifier::NoteVerifier& log,
                         std::string_view note, int64_t now);

}  // namespace client
