#include "witness/replay.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/tiles_source.h"
#include "verifier/rules.h"

namespace witness {
namespace {

namespace fs = std::filesystem;
using verifier::Checkpoint;
using verifier::Hash;

constexpr std::string_view kMagic = "prov-witness-replay v1\n";
constexpr uint64_t kChunk = verifier::kTileWidth;  // entries fetched per request

Status Corrupt(std::string msg) {
  return verifier::DataLoss("REPLAY_STATE_CORRUPT", std::move(msg));
}

void PutU32(std::string* out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>((v >> s) & 0xff));
}

// Reads a '\n'-terminated decimal at *pos.
bool ReadDecimal(std::string_view in, size_t* pos, uint64_t* v) {
  size_t nl = in.find('\n', *pos);
  if (nl == std::string_view::npos || nl == *pos) return false;
  auto [p, ec] = std::from_chars(in.data() + *pos, in.data() + nl, *v);
  if (ec != std::errc() || p != in.data() + nl) return false;
  *pos = nl + 1;
  return true;
}

bool ReadBlob(std::string_view in, size_t* pos, std::string* out) {
  if (in.size() - *pos < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in[*pos + i]);
  *pos += 4;
  if (in.size() - *pos < n) return false;
  out->assign(in.substr(*pos, n));
  *pos += n;
  return true;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return Corrupt("cannot read " + path);
  return ss.str();
}

std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

// <hex>.refused: "index <i>\n" "status <REASON: message>\n" "\n" <note>.
std::string EncodeRefusal(uint64_t index, const Status& st, std::string_view note) {
  return "index " + std::to_string(index) + "\nstatus " + OneLine(st.ToString()) + "\n\n" +
         std::string(note);
}

Result<std::pair<uint64_t, Status>> DecodeRefusal(std::string_view text, const std::string& path) {
  size_t pos = 0;
  uint64_t index = 0;
  if (text.substr(0, 6) != "index " || (pos = 6, !ReadDecimal(text, &pos, &index)) ||
      text.substr(pos, 7) != "status ") {
    return Corrupt(path + " is not a replay refusal");
  }
  size_t nl = text.find('\n', pos);
  if (nl == std::string_view::npos) return Corrupt(path + " is not a replay refusal");
  std::string line(text.substr(pos + 7, nl - pos - 7));
  size_t colon = line.find(": ");
  std::string reason = colon == std::string::npos ? line : line.substr(0, colon);
  std::string message = colon == std::string::npos ? "" : line.substr(colon + 2);
  return std::pair{index, Status(verifier::Code::kFailedPrecondition, reason, message)};
}

Status FetchFailed(const ReplayLog& log, const std::string& what, const Status& st) {
  return verifier::Status(verifier::Code::kUnavailable, "REPLAY_FETCH_FAILED",
                          "cannot read " + what + " of " + log.origin + " from " + log.tiles_url +
                              ": " + st.ToString());
}

}  // namespace

std::string EncodeReplaySnapshot(const ReplaySnapshot& snap) {
  std::string out(kMagic);
  out += snap.origin + "\n";
  out += std::to_string(snap.range.size()) + "\n";
  out += std::to_string(snap.range.hashes().size()) + "\n";
  for (const Hash& h : snap.range.hashes()) out.append(reinterpret_cast<const char*>(h.data()), 32);
  out += std::to_string(snap.state.size()) + "\n";
  snap.state.ForEach("", [&](std::string_view k, std::string_view v) {
    PutU32(&out, static_cast<uint32_t>(k.size()));
    out += k;
    PutU32(&out, static_cast<uint32_t>(v.size()));
    out += v;
  });
  Hash sum = verifier::Sha256(out);
  out.append(reinterpret_cast<const char*>(sum.data()), 32);
  return out;
}

Result<ReplaySnapshot> DecodeReplaySnapshot(std::string_view in) {
  if (in.size() < kMagic.size() + 32 || in.substr(0, kMagic.size()) != kMagic) {
    return Corrupt("not a replay snapshot (bad magic or too short)");
  }
  std::string_view body = in.substr(0, in.size() - 32);
  Hash sum = verifier::Sha256(body);
  if (!verifier::ConstantTimeEqual(
          sum, *verifier::ToHash(verifier::AsBytes(in.substr(in.size() - 32))))) {
    return Corrupt("replay snapshot checksum mismatch (torn or altered)");
  }
  ReplaySnapshot snap;
  size_t pos = kMagic.size();
  size_t nl = body.find('\n', pos);
  if (nl == std::string_view::npos) return Corrupt("replay snapshot: no origin");
  snap.origin = std::string(body.substr(pos, nl - pos));
  pos = nl + 1;
  uint64_t size = 0, k = 0, count = 0;
  if (!ReadDecimal(body, &pos, &size) || !ReadDecimal(body, &pos, &k) || k > 64 ||
      body.size() - pos < 32 * k) {
    return Corrupt("replay snapshot: bad size or range");
  }
  std::vector<Hash> hashes;
  for (uint64_t i = 0; i < k; ++i, pos += 32) {
    hashes.push_back(*verifier::ToHash(verifier::AsBytes(body.substr(pos, 32))));
  }
  auto range = verifier::CompactRange::FromHashes(size, std::move(hashes));
  if (!range.ok()) return Corrupt("replay snapshot: " + range.status().ToString());
  snap.range = std::move(*range);
  if (!ReadDecimal(body, &pos, &count)) return Corrupt("replay snapshot: bad state count");
  verifier::MemoryState empty;
  verifier::StateOverlay overlay(&empty);
  for (uint64_t i = 0; i < count; ++i) {
    std::string key, value;
    if (!ReadBlob(body, &pos, &key) || !ReadBlob(body, &pos, &value)) {
      return Corrupt("replay snapshot: truncated state");
    }
    overlay.Put(std::move(key), std::move(value));
  }
  if (pos != body.size()) return Corrupt("replay snapshot: trailing bytes");
  snap.state.Apply(overlay);
  return snap;
}

ReplayAuditor::~ReplayAuditor() = default;
ReplayAuditor::LogReplay::LogReplay() = default;
ReplayAuditor::LogReplay::~LogReplay() = default;

Result<std::unique_ptr<ReplayAuditor>> ReplayAuditor::Open(ReplayOptions options) {
  std::unique_ptr<ReplayAuditor> a(new ReplayAuditor(std::move(options)));
  std::error_code ec;
  fs::create_directories(fs::path(a->options_.state_dir) / "replay", ec);
  if (ec) {
    return verifier::Internal(
        "STATE_DIR", "cannot create " + a->options_.state_dir + "/replay: " + ec.message());
  }
  for (const ReplayLog& l : a->options_.logs) {
    if (a->logs_.count(l.origin) != 0) {
      return verifier::InvalidArgument("REPLAY_DUPLICATE_LOG",
                                       "two tiles URLs for the log " + l.origin);
    }
    auto log = std::make_unique<LogReplay>();
    log->origin = l.origin;
    log->url = l.tiles_url;
    client::TilesOptions topts;
    topts.url = l.tiles_url;
    topts.ca_file = a->options_.ca_file;
    topts.connect_timeout = a->options_.connect_timeout;
    topts.read_timeout = a->options_.read_timeout;
    PROV_ASSIGN_OR_RETURN(log->source, client::TilesSource::Open(std::move(topts)));
    log->snap.origin = l.origin;
    std::string path = a->SnapshotPath(l.origin);
    if (fs::exists(path, ec)) {
      PROV_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
      auto snap = DecodeReplaySnapshot(bytes);
      if (!snap.ok()) return Corrupt(path + ": " + snap.status().message());
      if (snap->origin != l.origin) {
        return Corrupt(path + " is the replay of " + snap->origin + ", not of " + l.origin);
      }
      log->snap = std::move(*snap);
    }
    if (Status s = log->index.Load(log->snap.state); !s.ok()) return Corrupt(path + ": " + s.message());
    if (fs::exists(path + ".refused", ec)) {
      PROV_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path + ".refused"));
      PROV_ASSIGN_OR_RETURN(auto r, DecodeRefusal(text, path + ".refused"));
      log->refused = Refusal{r.first, r.second};
    }
    a->logs_[l.origin] = std::move(log);
  }
  return a;
}

std::string ReplayAuditor::SnapshotPath(const std::string& origin) const {
  return options_.state_dir + "/replay/" + verifier::HexEncode(verifier::Sha256(origin));
}

uint64_t ReplayAuditor::ReplayedSize(const std::string& origin) const {
  auto it = logs_.find(origin);
  return it == logs_.end() ? 0 : it->second->snap.range.size();
}

Status ReplayAuditor::Audit(const Checkpoint* /*previous*/, const Checkpoint& next,
                            std::string_view note) {
  // `previous` is not trusted to say where the replay stands: the snapshot
  // is never behind the witness state, and may be ahead after a crash.
  auto it = logs_.find(next.origin);
  if (it == logs_.end()) {
    return verifier::NotFound("REPLAY_UNKNOWN_LOG", "no tiles URL configured for " + next.origin);
  }
  return Replay(*it->second, next, note);
}

Status ReplayAuditor::Replay(LogReplay& log, const Checkpoint& next, std::string_view note) {
  const ReplayLog where{log.origin, log.url};
  if (log.refused && next.size > log.refused->index) {
    return verifier::FailedPrecondition(
        "REPLAY_REFUSED", "entry #" + std::to_string(log.refused->index) + " of " + log.origin +
                              " broke the rules (" + log.refused->status.ToString() +
                              "); this witness cosigns no checkpoint of this log that holds it");
  }
  const uint64_t replayed = log.snap.range.size();
  const Hash replayed_root = log.snap.range.Root();
  if (next.size <= replayed) {
    // Already replayed (the snapshot is ahead of the witness after a crash
    // between the two writes): `next` must be a prefix of the replayed tree.
    if (next.size == replayed) {
      if (verifier::ConstantTimeEqual(next.root, replayed_root)) return Status::Ok();
      return verifier::DataLoss("REPLAY_FORK", "the checkpoint's root at size " +
                                                   std::to_string(next.size) +
                                                   " is not the root of the replayed tree");
    }
    if (next.size == 0) {
      if (verifier::ConstantTimeEqual(next.root, verifier::EmptyRoot())) return Status::Ok();
      return verifier::DataLoss("REPLAY_FORK", "a checkpoint of size 0 without the empty root");
    }
    Checkpoint at{log.origin, replayed, replayed_root, {}};
    auto proof = log.source->ConsistencyProof(next.size, replayed, at);
    if (!proof.ok()) {
      return FetchFailed(
          where,
          "a consistency proof " + std::to_string(next.size) + " -> " + std::to_string(replayed),
          proof.status());
    }
    Status st = verifier::VerifyConsistency(next.size, replayed, *proof, next.root, replayed_root);
    if (!st.ok()) {
      return verifier::DataLoss("REPLAY_FORK", "the checkpoint of size " +
                                                   std::to_string(next.size) +
                                                   " is not a prefix of the replayed tree of " +
                                                   std::to_string(replayed) + ": " + st.ToString());
    }
    return Status::Ok();
  }

  // Replay [replayed, next.size) into an overlay and a copy of the range;
  // nothing is kept unless every entry passes and the root matches.
  verifier::StateOverlay batch(&log.snap.state);
  verifier::CompactRange range = log.snap.range;
  // The index goes back to the snapshot's unless this replay is kept.
  struct IndexGuard {
    verifier::IndexReplay& index;
    verifier::IndexTree before;
    bool keep = false;
    ~IndexGuard() {
      if (!keep) index.Reset(before);
    }
  } index_guard{log.index, log.index.tree()};
  for (uint64_t start = replayed; start < next.size;) {
    uint64_t end = std::min(next.size, (start / kChunk + 1) * kChunk);
    auto leaves = log.source->Entries(start, end, next);
    if (!leaves.ok()) {
      return FetchFailed(where,
                         "entries [" + std::to_string(start) + ", " + std::to_string(end) + ")",
                         leaves.status());
    }
    if (leaves->size() != end - start) {
      return FetchFailed(where, "entries", verifier::DataLoss("SHORT_READ", "too few entries"));
    }
    for (size_t i = 0; i < leaves->size(); ++i) {
      const uint64_t index = start + i;
      auto prepared = verifier::PrepareRecord(std::move((*leaves)[i]));
      Status st = prepared.status();
      verifier::StateOverlay entry(&batch);
      if (st.ok()) st = verifier::ApplyPrepared(entry, *prepared, index);
      if (st.ok()) st = log.index.Apply(entry, *prepared, index);  // recomputes each index root
      if (!st.ok()) {
        Status refusal = verifier::FailedPrecondition(
            "REPLAY_REJECTED", "entry #" + std::to_string(index) + " of " + log.origin +
                                   " breaks the rules: " + OneLine(st.ToString()));
        // Remembered durably, so no later checkpoint holding it is cosigned;
        // if this write fails, the next attempt finds the entry again.
        (void)WriteFileDurably(SnapshotPath(log.origin) + ".refused",
                               EncodeRefusal(index, st, note));
        log.refused = Refusal{index, st};
        return refusal;
      }
      batch.Absorb(entry);
      range.Append(prepared->leaf_hash);
    }
    start = end;
  }
  if (!verifier::ConstantTimeEqual(range.Root(), next.root)) {
    return verifier::DataLoss("REPLAY_ROOT_MISMATCH", "replayed root " +
                                                          verifier::HexEncode(range.Root()) +
                                                          " at size " + std::to_string(next.size) +
                                                          " differs from the checkpoint's root " +
                                                          verifier::HexEncode(next.root));
  }
  ReplaySnapshot updated{log.origin, range, log.snap.state};
  updated.state.Apply(batch);
  Status st = WriteFileDurably(SnapshotPath(log.origin), EncodeReplaySnapshot(updated));
  if (!st.ok()) {
    return Status(verifier::Code::kUnavailable, "REPLAY_STATE_WRITE_FAILED", st.ToString());
  }
  log.snap = std::move(updated);
  index_guard.keep = true;
  if (options_.on_replayed) options_.on_replayed(log.origin, replayed, next.size);
  return Status::Ok();
}

}  // namespace witness
