#include "verifier/note.h"

#include <charconv>
#include <cstdio>

namespace verifier {
namespace {

constexpr uint8_t kAlgEd25519 = 0x01;
constexpr std::string_view kSigPrefix = "\xe2\x80\x94 ";  // em dash, space

Status BadNote(std::string msg) {
  return InvalidArgument("MALFORMED_NOTE", std::move(msg));
}

// Decodes the UTF-8 sequence at s[i], advancing i; returns -1 if it is not
// valid UTF-8 (bad byte, truncated, overlong, surrogate, beyond U+10FFFF).
int32_t NextRune(std::string_view s, size_t& i) {
  auto c0 = static_cast<unsigned char>(s[i]);
  if (c0 < 0x80) {
    ++i;
    return c0;
  }
  int n;
  int32_t r, min;
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    n = 1, r = c0 & 0x1f, min = 0x80;
  } else if (c0 >= 0xe0 && c0 <= 0xef) {
    n = 2, r = c0 & 0x0f, min = 0x800;
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    n = 3, r = c0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (s.size() - i <= static_cast<size_t>(n)) return -1;
  for (int k = 1; k <= n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xc0) != 0x80) return -1;
    r = (r << 6) | (c & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return -1;
  i += n + 1;
  return r;
}

// Go's unicode.IsSpace.
bool IsUnicodeSpace(int32_t r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202f: case 0x205f: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200a;
  }
}

// As Go's note package: non-empty UTF-8 without spaces or '+'; also no
// control characters.
bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size();) {
    int32_t r = NextRune(name, i);
    if (r < 0 || r < ' ' || r == '+' || r == 0x7f || IsUnicodeSpace(r)) return false;
  }
  return true;
}

// Splits at `sep`, into at most `max_parts` (the last keeps any further seps).
std::vector<std::string_view> Split(std::string_view s, char sep,
                                    size_t max_parts = SIZE_MAX) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || (s[i] == sep && out.size() + 1 < max_parts)) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

Result<uint32_t> ParseHash8(std::string_view hex) {
  if (hex.size() != 8) return BadNote("key hash is not 8 hex digits");
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) return BadNote("key hash is not 8 hex digits");
  return (uint32_t{(*bytes)[0]} << 24) | (uint32_t{(*bytes)[1]} << 16) |
         (uint32_t{(*bytes)[2]} << 8) | uint32_t{(*bytes)[3]};
}

std::string Hash8(uint32_t h) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

}  // namespace

uint32_t NoteKeyHash(std::string_view name, const PublicKey& key) {
  std::string buf(name);
  buf.push_back('\n');
  buf.push_back(static_cast<char>(kAlgEd25519));
  buf.append(reinterpret_cast<const char*>(key.data()), key.size());
  Hash h = Sha256(buf);
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) |
         uint32_t{h[3]};
}

std::string FormatVerifierKey(std::string_view name, const PublicKey& key) {
  Bytes data{kAlgEd25519};
  data.insert(data.end(), key.begin(), key.end());
  return std::string(name) + "+" + Hash8(NoteKeyHash(name, key)) + "+" +
         Base64Encode(data);
}

Result<NoteVerifier> ParseVerifierKey(std::string_view vkey) {
  auto parts = Split(vkey, '+', 3);
  if (parts.size() != 3 || !ValidKeyName(parts[0])) {
    return BadNote("verifier key is not <name>+<hash>+<key>");
  }
  PROV_ASSIGN_OR_RETURN(uint32_t hash, ParseHash8(parts[1]));
  auto data = Base64Decode(parts[2]);
  if (!data.ok() || data->size() != 33 || (*data)[0] != kAlgEd25519) {
    return BadNote("verifier key is not an Ed25519 key");
  }
  NoteVerifier v;
  v.name = std::string(parts[0]);
  std::copy(data->begin() + 1, data->end(), v.public_key.begin());
  v.key_hash = hash;
  if (NoteKeyHash(v.name, v.public_key) != hash) {
    return BadNote("verifier key hash does not match its name and key");
  }
  return v;
}

std::string FormatSignerKey(std::string_view name, const SigningKey& key) {
  auto seed = key.seed();
  Bytes data{kAlgEd25519};
  data.insert(data.end(), seed.begin(), seed.end());
  return "PRIVATE+KEY+" + std::string(name) + "+" +
         Hash8(NoteKeyHash(name, key.public_key())) + "+" + Base64Encode(data);
}

Result<std::pair<std::string, SigningKey>> ParseSignerKey(std::string_view skey) {
  auto parts = Split(skey, '+', 5);
  if (parts.size() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" ||
      !ValidKeyName(parts[2])) {
    return BadNote("signer key is not PRIVATE+KEY+<name>+<hash>+<key>");
  }
  PROV_ASSIGN_OR_RETURN(uint32_t hash, ParseHash8(parts[3]));
  auto data = Base64Decode(parts[4]);
  if (!data.ok() || data->size() != 33 || (*data)[0] != kAlgEd25519) {
    return BadNote("signer key is not an Ed25519 key");
  }
  PROV_ASSIGN_OR_RETURN(SigningKey key,
                        SigningKey::FromSeed(ByteView(*data).subspan(1)));
  std::string name(parts[2]);
  if (NoteKeyHash(name, key.public_key()) != hash) {
    return BadNote("signer key hash does not match its name and key");
  }
  return std::make_pair(std::move(name), std::move(key));
}

std::string SignNote(std::string_view text, std::string_view name,
                     const SigningKey& key) {
  auto sig = key.Sign(AsBytes(text));
  uint32_t h = NoteKeyHash(name, key.public_key());
  Bytes blob{static_cast<uint8_t>(h >> 24), static_cast<uint8_t>(h >> 16),
             static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h)};
  blob.insert(blob.end(), sig.begin(), sig.end());
  std::string out(text);
  out += "\n";
  out += kSigPrefix;
  out += name;
  out += " ";
  out += Base64Encode(blob);
  out += "\n";
  return out;
}

Result<std::string> OpenNote(std::string_view note, const NoteVerifier& verifier) {
  PROV_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  bool verified = false;
  std::vector<std::string> seen;  // name+hash of each signature, for the message
  for (const NoteSignature& sig : parsed.signatures) {
    seen.push_back(sig.name + "+" + Hash8(sig.key_hash));
    if (sig.name != verifier.name || sig.key_hash != verifier.key_hash) continue;  // not ours
    if (!VerifySignature(verifier.public_key, AsBytes(parsed.text), sig.signature)) {
      return InvalidArgument("BAD_NOTE_SIGNATURE",
                             "note signature by " + verifier.name + " is invalid");
    }
    verified = true;
  }
  if (!verified) {
    std::string by;
    for (const auto& k : seen) by += (by.empty() ? "" : ", ") + k;
    return InvalidArgument(
        "UNVERIFIED_NOTE",
        "note has no signature by " + verifier.name + "+" + Hash8(verifier.key_hash) +
            (by.empty() ? "" : " (the pinned key); it is signed by " + by) +
            (seen.empty() || seen.front().rfind(verifier.name + "+", 0) != 0
                 ? ""
                 : ": same origin, another key, so the pinned key is probably another "
                   "ledger's (every `provd init` makes a new one: pin DATA_DIR/log.vkey of "
                   "this server)"));
  }
  return std::move(parsed.text);
}

std::string FormatCheckpoint(const Checkpoint& c) {
  std::string out = c.origin + "\n" + std::to_string(c.size) + "\n" +
                    Base64Encode(c.root) + "\n";
  for (const auto& e : c.extensions) out += e + "\n";
  return out;
}

std::string TimestampExtension(int64_t unix_nanos) {
  return "Timestamp: " + std::to_string(unix_nanos);
}

Result<int64_t> CheckpointTime(const Checkpoint& c) {
  constexpr std::string_view kPrefix = "Timestamp: ";
  int64_t seconds = 0;
  bool seen = false;
  for (const auto& e : c.extensions) {
    if (e.rfind(kPrefix, 0) != 0) continue;
    std::string_view v(e);
    v.remove_prefix(kPrefix.size());
    int64_t ns = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ns);
    if (seen || v.empty() || ec != std::errc() || p != v.data() + v.size() || ns <= 0) {
      return InvalidArgument("MALFORMED_CHECKPOINT", "bad or repeated Timestamp line");
    }
    seen = true;
    seconds = ns / 1'000'000'000;
  }
  return seconds;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  auto bad = [](std::string m) {
    return InvalidArgument("MALFORMED_CHECKPOINT", std::move(m));
  };
  if (text.empty() || text.back() != '\n') return bad("checkpoint must end with a newline");
  auto lines = Split(text.substr(0, text.size() - 1), '\n');
  if (lines.size() < 3) return bad("checkpoint needs origin, size and root lines");
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return bad("empty origin");
  std::string_view sz = lines[1];
  if (sz.empty() || (sz.size() > 1 && sz[0] == '0')) {
    return bad("tree size is not a decimal without leading zeros");
  }
  auto [p, ec] = std::from_chars(sz.data(), sz.data() + sz.size(), c.size);
  if (ec != std::errc() || p != sz.data() + sz.size()) {
    return bad("tree size is not a 64-bit decimal");
  }
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != 32) return bad("root is not a base64 SHA-256 hash");
  std::copy(root->begin(), root->end(), c.root.begin());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return bad("empty extension line");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

Result<Checkpoint> VerifyCheckpoint(std::string_view note,
                                    const NoteVerifier& verifier,
                                    std::string_view expected_origin) {
  PROV_ASSIGN_OR_RETURN(std::string text, OpenNote(note, verifier));
  PROV_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpoint(text));
  if (c.origin != expected_origin) {
    return InvalidArgument("WRONG_ORIGIN", "checkpoint origin \"" + c.origin +
                                               "\" is not \"" +
                                               std::string(expected_origin) + "\"");
  }
  return c;
}

bool IsValidKeyName(std::string_view name) { return ValidKeyName(name); }

std::string FormatSignatureLine(const NoteSignature& sig) {
  Bytes blob{static_cast<uint8_t>(sig.key_hash >> 24),
             static_cast<uint8_t>(sig.key_hash >> 16),
             static_cast<uint8_t>(sig.key_hash >> 8), static_cast<uint8_t>(sig.key_hash)};
  blob.insert(blob.end(), sig.signature.begin(), sig.signature.end());
  return std::string(kSigPrefix) + sig.name + " " + Base64Encode(blob) + "\n";
}

Result<ParsedNote> ParseNote(std::string_view note) {
  if (note.size() > 1 << 20) return BadNote("note is larger than 1 MiB");
  for (size_t i = 0; i < note.size();) {
    int32_t r = NextRune(note, i);
    if (r < 0) return BadNote("note is not valid UTF-8");
    if ((r < 0x20 && r != '\n') || r == 0x7f) {
      return BadNote("note has a control character");
    }
  }
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return BadNote("note has no signature block");
  ParsedNote out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (out.text.find("\n\n") != std::string::npos) {
    return BadNote("note text has a blank line");
  }
  if (sigs.empty() || sigs.back() != '\n') {
    return BadNote("note does not end with a newline");
  }
  sigs.remove_suffix(1);
  auto lines = Split(sigs, '\n');
  if (lines.size() > 100) return BadNote("note has more than 100 signatures");
  for (std::string_view line : lines) {
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return BadNote("malformed signature line");
    }
    line.remove_prefix(kSigPrefix.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || !ValidKeyName(line.substr(0, sp))) {
      return BadNote("malformed signature line");
    }
    auto blob = Base64Decode(line.substr(sp + 1));
    if (!blob.ok() || blob->size() < 5) return BadNote("malformed signature");
    NoteSignature sig;
    sig.name = std::string(line.substr(0, sp));
    sig.key_hash = (uint32_t{(*blob)[0]} << 24) | (uint32_t{(*blob)[1]} << 16) |
                   (uint32_t{(*blob)[2]} << 8) | uint32_t{(*blob)[3]};
    sig.signature.assign(blob->begin() + 4, blob->end());
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

}  // namespace verifier
