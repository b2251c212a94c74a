#include "verifier/log_keys.h"

#include <algorithm>
#include <charconv>

#include "proto/records.pb.h"
#include "verifier/rules.h"

namespace verifier {

namespace pb = provenance::v1;

namespace {

bool SameKey(const NoteVerifier& a, const NoteVerifier& b) {
  return a.name == b.name && a.key_hash == b.key_hash && a.public_key == b.public_key;
}

Status BadChain(const std::string& reason, const std::string& msg) { return DataLoss(reason, msg); }

}  // namespace

Result<std::vector<LogKeyEra>> FollowLogKeyRotations(const NoteVerifier& pinned,
                                                     const std::string& origin,
                                                     const std::vector<RotationLeaf>& rotations) {
  std::vector<LogKeyEra> eras{{pinned, 0, std::nullopt, {}}};
  bool reached_pin = false;  // a rotation names the pinned key as old or new
  // A client that pinned a key some rotation announced starts after it.
  for (const RotationLeaf& r : rotations) {
    pb::Record rec;
    if (!ParseLeafRecord(r.leaf, &rec) || !rec.has_log_key_rotation()) continue;
    auto next = ParseVerifierKey(rec.log_key_rotation().new_key());
    if (next.ok() && SameKey(*next, pinned)) reached_pin = true;
  }
  bool following = !reached_pin;
  uint64_t last_index = 0;
  for (const RotationLeaf& r : rotations) {
    const std::string at = "log key rotation at #" + std::to_string(r.index);
    if (r.index <= last_index && last_index != 0) {
      return BadChain("BAD_ROTATION_CHAIN", at + " is not after the one before it");
    }
    last_index = r.index;
    auto prepared = PrepareRecord(r.leaf);  // checks every signature
    if (!prepared.ok()) {
      return BadChain("BAD_ROTATION", at + " does not verify: " + prepared.status().ToString());
    }
    if (!prepared->record.has_log_key_rotation()) {
      return BadChain("BAD_ROTATION", at + " is a " + RecordKindName(prepared->record) + " record");
    }
    const auto& k = prepared->record.log_key_rotation();
    auto old_key = ParseVerifierKey(k.old_key());
    auto new_key = ParseVerifierKey(k.new_key());
    if (!old_key.ok() || !new_key.ok()) {
      return BadChain("BAD_ROTATION", at + " names a key that is not a note verifier key");
    }
    if (!following) {  // before the pinned key: not ours to check
      if (SameKey(*new_key, pinned)) {
        following = true;
        eras[0].from_size = k.from_size();
      }
      continue;
    }
    if (k.origin() != origin || old_key->name != origin || new_key->name != origin) {
      return BadChain("BAD_ROTATION", at + " is for " + k.origin() + ", not " + origin);
    }
    const NoteVerifier& current = eras.back().key;
    if (!SameKey(*old_key, current)) {
      return BadChain("BAD_ROTATION_CHAIN",
                      at + " replaces key " + k.old_key() + ", but the log key it follows is " +
                          FormatVerifierKey(current.name, current.public_key));
    }
    auto signed_by = [&](const PublicKey& pk) {
      return std::find(prepared->signers.begin(), prepared->signers.end(), pk) !=
             prepared->signers.end();
    };
    if (!signed_by(current.public_key)) {
      return BadChain("ROTATION_NOT_SIGNED", at + " is not signed by the key it replaces: refused");
    }
    if (!signed_by(new_key->public_key)) {
      return BadChain("BAD_ROTATION", at + " is not signed by the key it announces");
    }
    if (k.from_size() != r.index + 1 || k.from_size() <= eras.back().from_size) {
      return BadChain("BAD_ROTATION", at + " takes effect at tree size " +
                                          std::to_string(k.from_size()) + ", not " +
                                          std::to_string(r.index + 1));
    }
    eras.push_back({*new_key, k.from_size(), r.index, r.leaf});
  }
  return eras;
}

const LogKeyEra& EraForSize(const std::vector<LogKeyEra>& eras, uint64_t size) {
  const LogKeyEra* out = &eras.front();
  for (const auto& e : eras) {
    if (e.from_size <= size) out = &e;
  }
  return *out;
}

std::string FormatLogKeyRotations(const std::vector<RotationLeaf>& rotations) {
  std::string out;
  for (const auto& r : rotations) {
    out += std::to_string(r.index) + " " + Base64Encode(AsBytes(r.leaf)) + "\n";
  }
  return out;
}

Result<std::vector<RotationLeaf>> ParseLogKeyRotations(std::string_view text) {
  std::vector<RotationLeaf> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      return DataLoss("MALFORMED_ROTATIONS", "line " + std::to_string(line_no) + " has no newline");
    }
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const size_t sp = line.find(' ');
    uint64_t index = 0;
    auto [end, ec] =
        std::from_chars(line.data(), line.data() + (sp == std::string_view::npos ? 0 : sp), index);
    auto leaf = sp == std::string_view::npos ? Result<Bytes>(DataLoss("x", "x"))
                                             : Base64Decode(line.substr(sp + 1));
    if (sp == std::string_view::npos || sp == 0 || ec != std::errc() || end != line.data() + sp ||
        !leaf.ok()) {
      return DataLoss("MALFORMED_ROTATIONS",
                      "line " + std::to_string(line_no) + " is not \"<index> <base64 leaf>\"");
    }
    out.push_back({index, std::string(AsStringView(*leaf))});
  }
  return out;
}

Result<uint64_t> NoteSize(std::string_view note) {
  PROV_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  PROV_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpoint(parsed.text));
  return c.size;
}

}  // namespace verifier
