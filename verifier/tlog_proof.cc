#include "verifier/tlog_proof.h"

#include <charconv>

#include "verifier/merkle.h"

namespace verifier {

namespace {

Status Bad(size_t line, const std::string& why) {
  return InvalidArgument("MALFORMED_TLOG_PROOF", "line " + std::to_string(line) + ": " + why);
}

}  // namespace

std::string FormatTlogProof(const TlogProof& p) {
  std::string out(kTlogProofHeader);
  out += '\n';
  if (p.extra) out += "extra " + Base64Encode(AsBytes(*p.extra)) + "\n";
  out += "index " + std::to_string(p.index) + "\n";
  for (const Hash& h : p.proof) out += Base64Encode(h) + "\n";
  out += "\n";
  out += p.checkpoint_note;
  return out;
}

Result<TlogProof> ParseTlogProof(std::string_view text) {
  if (text.size() > kMaxTlogProofBytes) {
    return InvalidArgument("MALFORMED_TLOG_PROOF", "a tlog-proof is at most 1 MiB");
  }
  TlogProof p;
  size_t pos = 0, line_no = 0;
  auto next_line = [&](std::string_view* line) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    *line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    return true;
  };
  std::string_view line;
  if (!next_line(&line) || line != kTlogProofHeader) {
    return Bad(1, "the first line must be \"c2sp.org/tlog-proof@v1\"");
  }
  if (!next_line(&line)) return Bad(line_no + 1, "missing index line");
  if (line.starts_with("extra ")) {
    auto extra = Base64Decode(line.substr(6));
    if (!extra.ok() || Base64Encode(*extra) != line.substr(6)) {
      return Bad(line_no, "extra is not canonical base64");
    }
    p.extra = std::string(extra->begin(), extra->end());
    if (!next_line(&line)) return Bad(line_no + 1, "missing index line");
  }
  if (!line.starts_with("index ")) return Bad(line_no, "expected \"index <N>\"");
  std::string_view digits = line.substr(6);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.index);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
      (digits.size() > 1 && digits[0] == '0')) {
    return Bad(line_no, "index is not a decimal without leading zeros");
  }
  for (;;) {
    if (!next_line(&line)) return Bad(line_no + 1, "missing the empty line before the checkpoint");
    if (line.empty()) break;
    if (p.proof.size() == 64) return Bad(line_no, "more than 64 proof hashes");
    auto h = Base64Decode(line);
    if (!h.ok() || h->size() != 32 || Base64Encode(*h) != line) {
      return Bad(line_no, "a proof line is not one base64 SHA-256 hash");
    }
    Hash hash;
    std::copy(h->begin(), h->end(), hash.begin());
    p.proof.push_back(hash);
  }
  p.checkpoint_note = std::string(text.substr(pos));
  if (p.checkpoint_note.empty()) return Bad(line_no + 1, "missing the checkpoint");
  return p;
}

Result<Checkpoint> VerifyTlogProof(const TlogProof& p, std::string_view entry,
                                   const NoteVerifier& log, std::string_view origin) {
  PROV_ASSIGN_OR_RETURN(Checkpoint c, VerifyCheckpoint(p.checkpoint_note, log, origin));
  if (p.index >= c.size) {
    return InvalidArgument("INDEX_OUT_OF_RANGE", "index " + std::to_string(p.index) +
                                                     " is not in a tree of size " +
                                                     std::to_string(c.size));
  }
  PROV_RETURN_IF_ERROR(VerifyInclusion(p.index, c.size, LeafHash(AsBytes(entry)), p.proof, c.root));
  return c;
}

}  // namespace verifier
