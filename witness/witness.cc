#include "witness/witness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "verifier/merkle.h"

namespace witness {
namespace {

namespace fs = std::filesystem;
using verifier::Checkpoint;
using verifier::Hash;

Status Malformed(std::string msg) {
  return verifier::InvalidArgument("MALFORMED_REQUEST", std::move(msg));
}

Response Answer(int status, const Status& st) {
  return Response{status, "text/plain; charset=utf-8", st.ToString() + "\n"};
}

Response Answer(int status, std::string reason, std::string message) {
  return Answer(status, Status(verifier::Code::kUnknown, std::move(reason), std::move(message)));
}

Status Errno(const std::string& what) {
  return verifier::Internal("STATE_WRITE_FAILED", what + ": " + std::strerror(errno));
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync " + dir);
  return Status::Ok();
}

// The stored note's checkpoint, verified with any of `keys`.
Result<Checkpoint> VerifyWithAny(std::string_view note,
                                 const std::vector<verifier::NoteVerifier>& keys,
                                 const std::string& origin) {
  Status last = verifier::InvalidArgument("UNVERIFIED_NOTE", "no key for " + origin);
  for (const auto& k : keys) {
    auto c = verifier::VerifyCheckpoint(note, k, origin);
    if (c.ok()) return c;
    last = c.status();
  }
  return last;
}

}  // namespace

Status WriteFileDurably(const std::string& path, std::string_view data, int mode) {
  fs::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  std::random_device rd;
  std::string tmp = dir + "/.tmp-" + p.filename().string() + "-" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Errno("create " + tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status st = Errno("write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = Errno("fsync " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Errno("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(dir);
}

Result<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return verifier::Status(
        verifier::Code::kResourceExhausted, "TOO_LARGE",
        "request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
  }
  AddCheckpointRequest req;
  size_t nl = body.find('\n');
  if (nl == std::string_view::npos) return Malformed("no old size line");
  std::string_view old = body.substr(0, nl);
  if (old.substr(0, 4) != "old ") return Malformed("first line is not \"old <size>\"");
  old.remove_prefix(4);
  if (old.empty() || (old.size() > 1 && old[0] == '0')) {
    return Malformed("old size is not a decimal without leading zeros");
  }
  auto [p, ec] = std::from_chars(old.data(), old.data() + old.size(), req.old_size);
  if (ec != std::errc() || p != old.data() + old.size()) {
    return Malformed("old size is not a 64-bit decimal");
  }
  size_t pos = nl + 1;
  while (true) {
    nl = body.find('\n', pos);
    if (nl == std::string_view::npos) return Malformed("no empty line before the checkpoint");
    std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;
    if (req.proof.size() == kMaxProofLines) {
      return Malformed("more than " + std::to_string(kMaxProofLines) + " consistency proof lines");
    }
    auto h = verifier::Base64Decode(line);
    if (!h.ok() || h->size() != 32) {
      return Malformed("consistency proof line " + std::to_string(req.proof.size() + 1) +
                       " is not a base64 SHA-256 hash");
    }
    req.proof.push_back(*verifier::ToHash(*h));
  }
  req.note = std::string(body.substr(pos));
  if (req.note.empty()) return Malformed("no checkpoint after the empty line");
  return req;
}

std::string FormatAddCheckpointRequest(uint64_t old_size, std::span<const Hash> proof,
                                       std::string_view note) {
  std::string out = "old " + std::to_string(old_size) + "\n";
  for (const auto& h : proof) out += verifier::Base64Encode(h) + "\n";
  out += "\n";
  out += note;
  return out;
}

Result<std::unique_ptr<Witness>> Witness::Open(WitnessOptions options) {
  if (!options.key) return verifier::InvalidArgument("NO_KEY", "witness has no signing key");
  if (!verifier::IsValidKeyName(options.name)) {
    return verifier::InvalidArgument("BAD_NAME", "invalid witness name " + options.name);
  }
  if (options.logs.empty()) {
    return verifier::InvalidArgument("NO_LOGS", "witness knows no log (give --log VKEY)");
  }
  if (!options.clock) {
    options.clock = [] {
      return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    };
  }
  std::unique_ptr<Witness> w(new Witness(std::move(options)));
  std::error_code ec;
  fs::create_directories(fs::path(w->options_.state_dir) / "logs", ec);
  if (ec) {
    return verifier::Internal("STATE_DIR",
                              "cannot create " + w->options_.state_dir + "/logs: " + ec.message());
  }
  // The new directories' entries must survive a crash too.
  PROV_RETURN_IF_ERROR(FsyncDir(w->options_.state_dir));
  for (const auto& k : w->options_.logs) {
    auto& st = w->logs_[k.name];
    if (!st) st = std::make_unique<LogState>();
    st->keys.push_back(k);
  }
  for (auto& [origin, st] : w->logs_) {
    std::string path = w->StatePath(origin);
    if (!fs::exists(path, ec)) continue;
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return verifier::DataLoss("STATE_CORRUPT", "cannot read " + path);
    }
    auto c = VerifyWithAny(ss.str(), st->keys, origin);
    if (!c.ok()) {
      return verifier::DataLoss(
          "STATE_CORRUPT", path + " (state of " + origin +
                               ") is not a checkpoint signed by the log: " + c.status().ToString() +
                               "; refusing to start rather than forget what was cosigned");
    }
    st->latest = *c;
  }
  return w;
}

std::string Witness::StatePath(const std::string& origin) const {
  return options_.state_dir + "/logs/" + verifier::HexEncode(verifier::Sha256(origin));
}

std::string Witness::vkey() const {
  return verifier::FormatWitnessKey(options_.name, options_.key->public_key());
}

uint64_t Witness::LatestSize(const std::string& origin) {
  auto it = logs_.find(origin);
  if (it == logs_.end()) return 0;
  std::lock_guard<std::mutex> lock(it->second->mu);
  return it->second->latest ? it->second->latest->size : 0;
}

Response Witness::AddCheckpoint(std::string_view body) {
  auto req = ParseAddCheckpointRequest(body);
  if (!req.ok()) {
    return Answer(req.status().code() == verifier::Code::kResourceExhausted ? 413 : 400,
                  req.status());
  }
  return Decide(*req);
}

Response Witness::Decide(const AddCheckpointRequest& req) {
  auto parsed = verifier::ParseNote(req.note);
  if (!parsed.ok()) return Answer(400, parsed.status());
  auto cp = verifier::ParseCheckpoint(parsed->text);
  if (!cp.ok()) return Answer(400, cp.status());
  auto it = logs_.find(cp->origin);
  if (it == logs_.end()) {
    return Answer(404, "UNKNOWN_LOG", "this witness does not know the log " + cp->origin);
  }
  LogState& log = *it->second;
  // The spec: verify against the keys trusted for the origin, ignore others;
  // 403 unless one verifies. A bad signature by a trusted key is also 403.
  bool verified = false;
  for (const auto& k : log.keys) {
    bool present = false;
    for (const auto& s : parsed->signatures)
      present |= s.name == k.name && s.key_hash == k.key_hash;
    if (!present) continue;
    auto text = verifier::OpenNote(req.note, k);
    if (!text.ok()) return Answer(403, text.status());
    verified = true;
  }
  if (!verified) {
    return Answer(403, "UNVERIFIED_NOTE",
                  "the checkpoint carries no signature by a key trusted for " + cp->origin);
  }
  if (req.old_size > cp->size) {
    return Answer(400, "OLD_SIZE_TOO_LARGE",
                  "old size " + std::to_string(req.old_size) + " is larger than the checkpoint's " +
                      std::to_string(cp->size));
  }
  if (req.old_size == 0 && !req.proof.empty()) {
    return Answer(400, "MALFORMED_REQUEST", "a proof from old size 0 must be empty");
  }

  std::lock_guard<std::mutex> lock(log.mu);
  uint64_t stored = log.latest ? log.latest->size : 0;
  if (req.old_size != stored) {
    return Response{409, std::string(kSizeContentType), std::to_string(stored) + "\n"};
  }
  Hash old_root = log.latest ? log.latest->root : verifier::EmptyRoot();
  if (req.old_size == cp->size) {
    if (!verifier::ConstantTimeEqual(old_root, cp->root)) {
      return Answer(409, "ROOT_MISMATCH",
                    "size " + std::to_string(cp->size) +
                        " was cosigned with another root hash: the log has forked");
    }
    if (!req.proof.empty()) {
      return Answer(422, "BAD_CONSISTENCY_PROOF", "a proof between equal sizes must be empty");
    }
  } else if (req.old_size > 0) {
    Status st = verifier::VerifyConsistency(req.old_size, cp->size, req.proof, old_root, cp->root);
    if (!st.ok()) {
      return Answer(422, "BAD_CONSISTENCY_PROOF",
                    "the consistency proof from " + std::to_string(req.old_size) + " to " +
                        std::to_string(cp->size) + " does not verify: " + st.ToString());
    }
  }
  if (options_.auditor != nullptr) {
    Status st = options_.auditor->Audit(log.latest ? &*log.latest : nullptr, *cp, req.note);
    if (!st.ok()) return Answer(st.code() == verifier::Code::kUnavailable ? 503 : 422, st);
  }
  auto line =
      verifier::CosignCheckpoint(parsed->text, options_.name, *options_.key, options_.clock());
  if (!line.ok()) return Answer(500, line.status());
  Status st = Store(cp->origin, req.note);
  if (!st.ok()) return Answer(500, st);
  log.latest = *cp;
  return Response{200, "text/plain; charset=utf-8", *line};
}

Status Witness::Store(const std::string& origin, std::string_view note) {
  return WriteFileDurably(StatePath(origin), note);
}

}  // namespace witness
