// The log's side of tlog-witness: submit a checkpoint to a witness and get
// its cosignature lines. provd calls this for each witness in its policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/cosignature.h"
#include "verifier/crypto.h"
#include "verifier/status.h"

namespace witness {

struct AddCheckpointOptions {
  std::chrono::milliseconds timeout{5000};
  // If set, every returned line by this witness must verify on the note
  // (BAD_COSIGNATURE otherwise); lines by other keys are dropped.
  std::optional<verifier::WitnessVerifier> expect;
  // Set on WITNESS_OLD_SIZE_MISMATCH to the size the witness holds: resend
  // with that old size and a proof from it.
  uint64_t* witness_size = nullptr;
};

// POSTs "old <old_size>\n" + proof + "\n" + note to <url>/add-checkpoint,
// where url is "http://host:port[/prefix]" (plaintext only for now), and
// returns the cosignature lines ("— name base64\n" each). Errors, one per
// answer:
//   400 InvalidArgument    WITNESS_BAD_REQUEST
//   403 PermissionDenied   WITNESS_FORBIDDEN (no trusted log signature)
//   404 NotFound           WITNESS_UNKNOWN_LOG
//   409 FailedPrecondition WITNESS_OLD_SIZE_MISMATCH (text/x.tlog.size)
//   409 Aborted            WITNESS_CONFLICT (same size, other root: a fork)
//   413 ResourceExhausted  WITNESS_TOO_LARGE
//   422 FailedPrecondition WITNESS_BAD_PROOF
//   other                  Unavailable WITNESS_HTTP_<status>
//   no answer              Unavailable WITNESS_UNREACHABLE
//   bad 200 body           DataLoss WITNESS_BAD_RESPONSE, or BAD_COSIGNATURE
//   https:// or junk url   InvalidArgument WITNESS_URL_UNSUPPORTED
verifier::Result<std::vector<std::string>> AddCheckpoint(const std::string& url, uint64_t old_size,
                                                         std::span<const verifier::Hash> proof,
                                                         std::string_view note,
                                                         const AddCheckpointOptions& options = {});

}  // namespace witness
