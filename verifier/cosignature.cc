#include "verifier/cosignature.h"

#include <algorithm>
#include <cstdio>

namespace verifier {
namespace {

Status BadKey(std::string msg) { return InvalidArgument("MALFORMED_WITNESS_KEY", std::move(msg)); }

std::string Hash8(uint32_t h) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

uint32_t CosignatureKeyHash(std::string_view name, const PublicKey& key) {
  std::string buf(name);
  buf.push_back('\n');
  buf.push_back(static_cast<char>(kCosignatureV1Type));
  buf.append(reinterpret_cast<const char*>(key.data()), key.size());
  Hash h = Sha256(buf);
  return BigEndian32(h.data());
}

std::string FormatWitnessKey(std::string_view name, const PublicKey& key) {
  Bytes data{kCosignatureV1Type};
  data.insert(data.end(), key.begin(), key.end());
  return std::string(name) + "+" + Hash8(CosignatureKeyHash(name, key)) + "+" + Base64Encode(data);
}

Result<WitnessVerifier> ParseWitnessKey(std::string_view vkey) {
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return BadKey("witness key is not <name>+<hash>+<key>");
  std::string_view name = vkey.substr(0, p1);
  std::string_view hash8 = vkey.substr(p1 + 1, p2 - p1 - 1);
  if (!IsValidKeyName(name)) return BadKey("witness key has an invalid name");
  auto hash = HexDecode(hash8);
  if (hash8.size() != 8 || !hash.ok()) return BadKey("witness key hash is not 8 hex digits");
  auto data = Base64Decode(vkey.substr(p2 + 1));
  if (!data.ok() || data->empty()) return BadKey("witness key material is not base64");
  if ((*data)[0] != kCosignatureV1Type) {
    char t[5];
    std::snprintf(t, sizeof t, "0x%02x", (*data)[0]);
    return InvalidArgument("WRONG_KEY_TYPE", std::string("witness key has signature type ") + t +
                                                 ", not 0x04 (tlog-cosignature v1)");
  }
  if (data->size() != 1 + kPublicKeySize) return BadKey("witness key is not an Ed25519 key");
  WitnessVerifier w;
  w.name = std::string(name);
  std::copy(data->begin() + 1, data->end(), w.public_key.begin());
  w.key_hash = BigEndian32(hash->data());
  if (CosignatureKeyHash(w.name, w.public_key) != w.key_hash) {
    return BadKey("witness key hash does not match its name and key");
  }
  return w;
}

std::string CosignatureMessage(std::string_view text, uint64_t timestamp) {
  std::string msg = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  msg += text;
  return msg;
}

Result<std::string> CosignCheckpoint(std::string_view text, std::string_view name,
                                     const SigningKey& key, uint64_t timestamp) {
  if (!IsValidKeyName(name)) return BadKey("invalid witness name");
  if (timestamp > kMaxCosignatureTime) {
    return InvalidArgument("BAD_TIMESTAMP", "cosignature time exceeds 2^63-1");
  }
  PROV_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpoint(text));
  (void)c;
  NoteSignature sig;
  sig.name = std::string(name);
  sig.key_hash = CosignatureKeyHash(name, key.public_key());
  for (int i = 7; i >= 0; --i) sig.signature.push_back(static_cast<uint8_t>(timestamp >> (8 * i)));
  auto ed = key.Sign(AsBytes(CosignatureMessage(text, timestamp)));
  sig.signature.insert(sig.signature.end(), ed.begin(), ed.end());
  return FormatSignatureLine(sig);
}

Result<uint64_t> VerifyCosignature(const ParsedNote& note, const WitnessVerifier& witness) {
  bool found = false;
  uint64_t latest = 0;
  for (const auto& sig : note.signatures) {
    if (sig.name != witness.name || sig.key_hash != witness.key_hash) continue;  // not ours
    if (sig.signature.size() != kCosignatureSize - 4) {
      return InvalidArgument("MALFORMED_COSIGNATURE", "cosignature by " + witness.name + " is " +
                                                          std::to_string(sig.signature.size() + 4) +
                                                          " bytes, not 76");
    }
    uint64_t t = 0;
    for (int i = 0; i < 8; ++i) t = (t << 8) | sig.signature[i];
    if (t > kMaxCosignatureTime) {
      return InvalidArgument("MALFORMED_COSIGNATURE",
                             "cosignature by " + witness.name + " has a time beyond 2^63-1");
    }
    if (!VerifySignature(witness.public_key, AsBytes(CosignatureMessage(note.text, t)),
                         ByteView(sig.signature).subspan(8))) {
      return InvalidArgument("BAD_COSIGNATURE", "cosignature by " + witness.name + "+" +
                                                    Hash8(witness.key_hash) + " does not verify");
    }
    found = true;
    latest = std::max(latest, t);
  }
  if (!found) {
    return NotFound("NO_COSIGNATURE",
                    "note has no cosignature by " + witness.name + "+" + Hash8(witness.key_hash));
  }
  return latest;
}

Result<uint64_t> VerifyCosignature(std::string_view note, const WitnessVerifier& witness) {
  PROV_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  return VerifyCosignature(parsed, witness);
}

Result<std::string> AddSignatureLines(std::string_view note, std::string_view lines) {
  PROV_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  if (lines.empty() || lines.back() != '\n') {
    return InvalidArgument("MALFORMED_NOTE", "signature lines must end with a newline");
  }
  // Parse the lines as the signature block of a note with a dummy text.
  PROV_ASSIGN_OR_RETURN(ParsedNote added, ParseNote("x\n\n" + std::string(lines)));
  std::string out(note);
  std::vector<std::string> have;
  for (const auto& s : parsed.signatures) have.push_back(FormatSignatureLine(s));
  for (const auto& s : added.signatures) {
    std::string line = FormatSignatureLine(s);
    if (std::find(have.begin(), have.end(), line) != have.end()) continue;
    have.push_back(line);
    out += line;
  }
  PROV_RETURN_IF_ERROR(ParseNote(out).status());  // e.g. more than 100 signatures
  return out;
}

std::vector<NoteSignature> SignaturesByKeyHash(const ParsedNote& note, uint32_t key_hash) {
  std::vector<NoteSignature> out;
  for (const auto& s : note.signatures) {
    if (s.key_hash == key_hash) out.push_back(s);
  }
  return out;
}

}  // namespace verifier
