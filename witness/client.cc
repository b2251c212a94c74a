#include "witness/client.h"

#include <httplib.h>

#include <charconv>

#include "verifier/note.h"
#include "witness/witness.h"

namespace witness {
namespace {

using verifier::Code;

// The witness's error text, first line, bounded.
std::string Detail(const std::string& body) {
  std::string d = body.substr(0, std::min(body.find('\n'), size_t{300}));
  return d.empty() ? "(no detail)" : d;
}

}  // namespace

verifier::Result<std::vector<std::string>> AddCheckpoint(const std::string& url, uint64_t old_size,
                                                         std::span<const verifier::Hash> proof,
                                                         std::string_view note,
                                                         const AddCheckpointOptions& options) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return verifier::InvalidArgument("WITNESS_URL_UNSUPPORTED",
                                     "witness URL " + url + " is not http://host:port[/prefix]");
  }
  size_t slash = url.find('/', kScheme.size());
  std::string origin = url.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (origin.size() == kScheme.size()) {
    return verifier::InvalidArgument("WITNESS_URL_UNSUPPORTED", "witness URL has no host");
  }
  httplib::Client cli(origin);
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - secs);
  cli.set_connection_timeout(secs.count(), usecs.count());
  cli.set_read_timeout(secs.count(), usecs.count());
  cli.set_write_timeout(secs.count(), usecs.count());
  std::string body = FormatAddCheckpointRequest(old_size, proof, note);
  auto res = cli.Post(prefix + "/add-checkpoint", body, "text/plain");
  if (!res) {
    return verifier::Status(Code::kUnavailable, "WITNESS_UNREACHABLE",
                            url + ": " + httplib::to_string(res.error()));
  }
  const std::string& rb = res->body;
  std::string ctype = res->get_header_value("Content-Type");
  switch (res->status) {
    case 200:
      break;
    case 400:
      return verifier::InvalidArgument("WITNESS_BAD_REQUEST", url + ": " + Detail(rb));
    case 403:
      return verifier::PermissionDenied("WITNESS_FORBIDDEN", url + ": " + Detail(rb));
    case 404:
      return verifier::NotFound("WITNESS_UNKNOWN_LOG", url + ": " + Detail(rb));
    case 409: {
      if (ctype.rfind(kSizeContentType, 0) == 0) {
        uint64_t size = 0;
        std::string_view s(rb);
        if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), size);
        if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
          return verifier::DataLoss("WITNESS_BAD_RESPONSE",
                                    url + ": 409 with a malformed size body");
        }
        if (options.witness_size != nullptr) *options.witness_size = size;
        return verifier::FailedPrecondition(
            "WITNESS_OLD_SIZE_MISMATCH", url + ": the witness holds size " + std::to_string(size) +
                                             ", not " + std::to_string(old_size));
      }
      return verifier::Status(Code::kAborted, "WITNESS_CONFLICT", url + ": " + Detail(rb));
    }
    case 413:
      return verifier::Status(Code::kResourceExhausted, "WITNESS_TOO_LARGE",
                              url + ": request too large");
    case 422:
      return verifier::FailedPrecondition("WITNESS_BAD_PROOF", url + ": " + Detail(rb));
    default:
      return verifier::Status(Code::kUnavailable, "WITNESS_HTTP_" + std::to_string(res->status),
                              url + ": " + Detail(rb));
  }
  // 200: one or more signature lines, nothing else.
  if (rb.empty() || rb.size() > kMaxBodyBytes) {
    return verifier::DataLoss("WITNESS_BAD_RESPONSE", url + ": empty or oversized 200 body");
  }
  auto parsed = verifier::ParseNote("x\n\n" + rb);
  if (!parsed.ok()) {
    return verifier::DataLoss("WITNESS_BAD_RESPONSE", url + ": 200 body is not signature lines: " +
                                                          parsed.status().message());
  }
  std::vector<std::string> lines;
  for (const auto& s : parsed->signatures) {
    if (options.expect &&
        (s.name != options.expect->name || s.key_hash != options.expect->key_hash)) {
      continue;
    }
    lines.push_back(verifier::FormatSignatureLine(s));
  }
  if (options.expect) {
    if (lines.empty()) {
      return verifier::DataLoss("WITNESS_BAD_RESPONSE",
                                url + ": no cosignature by " + options.expect->name);
    }
    std::string all;
    for (const auto& l : lines) all += l;
    PROV_ASSIGN_OR_RETURN(std::string cosigned, verifier::AddSignatureLines(note, all));
    auto t = verifier::VerifyCosignature(cosigned, *options.expect);
    if (!t.ok()) return t.status();
  }
  return lines;
}

}  // namespace witness
