// C2SP tlog-policy (https://c2sp.org/tlog-policy): which logs sign
// checkpoints, which witnesses cosign them, and the quorum of witnesses a
// checkpoint needs. Parsing is strict: every mistake is an error naming its
// line. Evaluation verifies the log signature and every witness's
// cosignature on a checkpoint note and decides the quorum. Pure: no I/O.
//
//   log <vkey> [<url>]                    vkey type 0x01, name = origin
//   witness <name> <vkey> [<url>]         vkey type 0x04 (tlog-cosignature)
//   group <name> all|any|<k> <name>...    k of the n members, 1 <= k <= n
//   quorum <name>|none                    exactly once
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/cosignature.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace verifier {

inline constexpr size_t kMaxPolicyBytes = 64 * 1024;
// Per kind (logs, witnesses, groups); the spec asks for at least 32.
inline constexpr size_t kMaxPolicyEntries = 256;

struct PolicyLog {
  NoteVerifier key;
  std::string vkey;  // as written
  std::string url;   // empty if none
};
struct PolicyWitness {
  std::string name;  // the policy's name, not the key's
  WitnessVerifier key;
  std::string vkey;
  std::string url;
};
struct PolicyGroup {
  std::string name;
  size_t threshold = 0;              // k
  std::vector<std::string> members;  // witnesses or earlier groups
};

struct TlogPolicy {
  std::vector<PolicyLog> logs;
  std::vector<PolicyWitness> witnesses;
  std::vector<PolicyGroup> groups;
  std::string quorum;  // "none", a witness or a group; empty if not required
};

struct PolicyParseOptions {
  // A witness's config lists only `log` lines: no quorum then.
  bool require_quorum = true;
};

// Errors are InvalidArgument with the message "line N: ..." and reason one of
// POLICY_TOO_LARGE, POLICY_BAD_CHARACTER, POLICY_UNKNOWN_KEYWORD,
// POLICY_SYNTAX (wrong number of fields), POLICY_BAD_KEY, POLICY_DUPLICATE_KEY,
// POLICY_DUPLICATE_NAME, POLICY_RESERVED_NAME (`none`), POLICY_UNDEFINED_NAME
// (not defined on an earlier line), POLICY_CYCLE (a group naming itself),
// POLICY_DUPLICATE_MEMBER (a name listed as a member twice, in one group or
// across groups), POLICY_BAD_THRESHOLD (not 1 <= k <= n), POLICY_TOO_MANY,
// POLICY_DUPLICATE_QUORUM, POLICY_NO_QUORUM.
Result<TlogPolicy> ParseTlogPolicy(std::string_view text, PolicyParseOptions options = {});

// One witness's part in a verdict.
struct WitnessCosignature {
  std::string witness;     // policy name
  uint64_t timestamp = 0;  // POSIX seconds; 0 unless verified
  // Empty if the cosignature verified; else NO_COSIGNATURE, BAD_COSIGNATURE,
  // MALFORMED_COSIGNATURE or FUTURE_COSIGNATURE.
  std::string problem;
};

struct PolicyVerdict {
  Checkpoint checkpoint;
  std::string log_vkey;                      // the log key that verified
  std::vector<WitnessCosignature> cosigned;  // verified, policy order
  std::vector<WitnessCosignature> missing;   // absent or bad, policy order
  bool quorum_met = false;
};

struct PolicyEvalOptions {
  int64_t now = 0;  // POSIX seconds
  // Cosignatures later than now + max_skew are FUTURE_COSIGNATURE.
  int64_t max_skew_seconds = 60;
  // Log keys known from elsewhere, used when the policy lists no logs.
  std::vector<NoteVerifier> extra_logs;
};

// Verifies the log signature (any listed log whose name is the checkpoint's
// origin; errors: MALFORMED_NOTE, MALFORMED_CHECKPOINT, UNKNOWN_LOG,
// UNVERIFIED_NOTE, BAD_NOTE_SIGNATURE), then every witness's cosignature, and
// evaluates the quorum. A missing or bad cosignature is not an error: it is
// listed in `missing` and does not count.
Result<PolicyVerdict> EvaluatePolicy(const TlogPolicy& policy, std::string_view note,
                                     const PolicyEvalOptions& options);

// OK if the quorum is met, else FailedPrecondition QUORUM_NOT_MET naming the
// witnesses whose cosignatures are missing or bad.
Status RequireQuorum(const PolicyVerdict& verdict);

}  // namespace verifier
