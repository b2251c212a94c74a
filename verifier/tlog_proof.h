// C2SP tlog-proof (https://c2sp.org/tlog-proof): an offline-verifiable proof
// that an entry is in a log, as one text file (".tlog-proof"):
//
//   c2sp.org/tlog-proof@v1
//   extra <base64 of the entry itself>      (optional; ours always carry it)
//   index <decimal>
//   <base64 hash>                           (the inclusion proof, leaf side first)
//   ...
//   <empty line>
//   <the checkpoint note, verbatim, with its log signature and cosignatures>
//
// The extra data is not authenticated by the format; we put the SignedRecord
// there so the file is self-contained, and it is trusted only because its
// leaf hash is proven included. docs/tlog-proof.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/crypto.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace verifier {

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";
inline constexpr size_t kMaxTlogProofBytes = 1 << 20;

struct TlogProof {
  std::optional<std::string> extra;  // raw bytes (base64 on the wire)
  uint64_t index = 0;
  std::vector<Hash> proof;
  std::string checkpoint_note;  // verbatim
};

std::string FormatTlogProof(const TlogProof& p);
// Strict: MALFORMED_TLOG_PROOF (with the line number) for anything else.
Result<TlogProof> ParseTlogProof(std::string_view text);

// Verifies the checkpoint's log signature (and origin) and that `entry` is
// the leaf at p.index of that tree. Witness cosignatures are the policy's
// business (verifier/tlog_policy.h). Returns the verified checkpoint.
Result<Checkpoint> VerifyTlogProof(const TlogProof& p, std::string_view entry,
                                   const NoteVerifier& log, std::string_view origin);

}  // namespace verifier
