// The rulebook: decides whether a signed record may enter the log, and how
// it changes the derived state. The server runs it over RocksDB before
// appending; audits replay the log through it over a MemoryState.
//
// Rejection reasons (Status::reason) are stable; docs/rules.md lists them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/records.pb.h"
#include "proto/state.pb.h"
#include "verifier/crypto.h"
#include "verifier/state.h"
#include "verifier/status.h"

namespace verifier {

// A SignedRecord leaf is at most this many bytes, so that the log can be
// served as C2SP tlog-tiles entry bundles.
inline constexpr size_t kMaxSignedRecordBytes = 65535;  // an entry-bundle entry (tlog-tiles)
inline constexpr size_t kMaxSignatures = 16;

// A record whose envelope, encoding, fields and signatures have been checked
// without looking at any state. Cheap to apply; expensive to make (Ed25519).
struct PreparedRecord {
  std::string leaf;  // the exact SignedRecord bytes
  Hash leaf_hash{};
  provenance::v1::SignedRecord signed_record;
  provenance::v1::Record record;
  std::vector<PublicKey> signers;  // distinct, each with a valid signature
};

// Parses and checks `leaf` statelessly: size, strict encoding (no unknown
// fields), field syntax, and every signature over
// PAE(kRecordPayloadType, record bytes).
Result<PreparedRecord> PrepareRecord(std::string leaf);

// Parses a leaf the log already vetted (its own store, or entries proven
// against a checkpoint before use) without checking it: the record, and the
// keys that signed it when `signers` is given. False if the bytes are not a
// SignedRecord holding a Record.
bool ParseLeafRecord(std::string_view leaf, provenance::v1::Record* record,
                     std::vector<PublicKey>* signers = nullptr);

// How a record is applied.
enum class ApplyMode {
  // The whole log, in order: every rule applies (the server, audits).
  kFullLog,
  // A proven subset of the log (device evidence, offline bundles), in index
  // order: every rule applies to what the subset holds, but a reference to
  // an organisation or device outside it is not an error. An ownership stake
  // in an org outside the subset is skipped, and so is a transferred serial
  // that is not in the subset; such facts do not bear on the subject.
  kEvidenceSubset,
};

// Applies a prepared record as leaf `index` against `state`, writing its
// effects into `state` only on success. REQUIRES: records are applied in
// index order starting at 0.
Status ApplyPrepared(StateOverlay& state, const PreparedRecord& record,
                     uint64_t index, ApplyMode mode = ApplyMode::kFullLog);

// PrepareRecord + ApplyPrepared.
Status ApplyRecord(StateOverlay& state, std::string leaf, uint64_t index,
                   ApplyMode mode = ApplyMode::kFullLog);

// The current authority set: the genesis's keys and threshold until an
// AuthoritySet record replaces them, with the leaf it came from (0: the
// genesis). Authority records need the threshold of this set.
Result<provenance::v1::AuthorityState> CurrentAuthorities(const StateView& state);

// Signs `record` for inclusion: returns a SignedRecord with one signature
// per key (the exact bytes of `record` are kept).
provenance::v1::SignedRecord SignRecord(const std::string& record_bytes,
                                        std::span<const SigningKey* const> keys);
// Adds one more signature (co-signing for an authority threshold).
void AddSignature(provenance::v1::SignedRecord& signed_record,
                  const SigningKey& key);

// True if `m` or any message inside it carries fields this build does not
// know (strict parsing of untrusted input).
bool HasUnknownFields(const google::protobuf::Message& m);

// Typed reads of rulebook state (evidence building, verdicts).
Result<bool> GetMessage(const StateView& state, std::string_view key,
                        google::protobuf::Message* out);

// MAC addresses. NormalizeMac drops ':', '-', '.' and spaces and upper-cases
// ("ac:cc:8e:99:c9:15" -> "ACCC8E99C915"); "" if another character is in it.
std::string NormalizeMac(std::string_view text);
// 6, 7 or 9 upper-case hex digits: an IEEE MA-L, MA-M or MA-S prefix.
bool IsMacPrefix(std::string_view prefix);
// The prefix lengths to try for a MAC, the most specific (MA-S) first.
inline constexpr size_t kMacPrefixLengths[] = {9, 7, 6};
// NormalizeMac of `mac` when it is 12 hex digits; INVALID_ARGUMENT BAD_MAC
// otherwise.
Result<std::string> MacHex(std::string_view mac);
// The vetted MAC block (MacBlock record) a MAC address lies in, the most
// specific first; nullopt when none is; INVALID_ARGUMENT BAD_MAC for text
// that is not 12 hex digits.
struct MacOwner {
  provenance::v1::MacBlock block;
  uint64_t index = 0;  // the record that vetted it
};
Result<std::optional<MacOwner>> MacBlockOf(const StateView& state, std::string_view mac);

// A human name for the record's kind, e.g. "device".
std::string RecordKindName(const provenance::v1::Record& record);

// "YYYY-MM-DD" (UTC) of unix seconds.
std::string UtcDate(int64_t unix_seconds);
// A window [from, until) in words: "from 2019-01-01 until 2022-11-01", or
// "from 2019-01-01 on" when until is 0 (open).
std::string Window(int64_t from, int64_t until);
// Whether windows [a_from, a_until) and [b_from, b_until) share an instant
// (an until of 0 is open).
bool Overlaps(int64_t a_from, int64_t a_until, int64_t b_from, int64_t b_until);

}  // namespace verifier
