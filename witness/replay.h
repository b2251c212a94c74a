// The replaying auditor behind `provwitness serve --replay`: before the
// witness cosigns a checkpoint, read the log's new entries from its C2SP
// tlog-tiles (client::TilesSource, verified against that very checkpoint),
// run each through the rulebook (verifier::PrepareRecord + ApplyPrepared,
// kFullLog) over the replayed state, and check that the replayed tree's root
// is the checkpoint's root. docs/witness-replay.md.
//
// Library `witness_replay` (it pulls client/, hence gRPC); only provwitness
// links it, so the `witness` library stays light.
//
// Per log, under <state_dir>/replay/<hex SHA-256(origin)>:
//   <hex>          snapshot: replayed size, compact range, whole state
//   <hex>.refused  the first entry that broke a rule (index, reason, note)
// Both are written durably (witness::WriteFileDurably) before Audit returns.
//
// Answers (Audit's Status; the witness maps kUnavailable to 503, the rest
// to 422):
//   UNAVAILABLE         REPLAY_FETCH_FAILED   tiles unreachable, missing, or
//                                             not matching the checkpoint
//   UNAVAILABLE         REPLAY_STATE_WRITE_FAILED
//   FAILED_PRECONDITION REPLAY_REJECTED       entry #i breaks a rule
//   FAILED_PRECONDITION REPLAY_REFUSED        entry #i broke a rule earlier
//   DATA_LOSS           REPLAY_ROOT_MISMATCH  replayed root != checkpoint root
//   DATA_LOSS           REPLAY_FORK           not a prefix of the replayed tree
//   NOT_FOUND           REPLAY_UNKNOWN_LOG    no tiles URL for the origin
// On any refusal nothing in memory or on disk changes, except that a
// REPLAY_REJECTED writes the .refused file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/index.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/state.h"
#include "verifier/status.h"
#include "witness/witness.h"

namespace client {
class TilesSource;
}

namespace witness {

struct ReplayLog {
  std::string origin;
  std::string tiles_url;  // the log's tlog-tiles prefix (http:// or https://)
};

struct ReplayOptions {
  std::string state_dir;  // the witness's state directory
  std::vector<ReplayLog> logs;
  std::string ca_file;  // https: PEM CA certificates; empty: the system store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{10000};
  // Told of each accepted replay: origin, first and end index replayed.
  std::function<void(const std::string&, uint64_t, uint64_t)> on_replayed;
};

// What a snapshot file holds (exposed for tests).
struct ReplaySnapshot {
  std::string origin;
  verifier::CompactRange range;  // size() is the replayed size
  verifier::MemoryState state;
};
std::string EncodeReplaySnapshot(const ReplaySnapshot& snapshot);
// DATA_LOSS REPLAY_STATE_CORRUPT unless `bytes` is a whole, intact snapshot.
Result<ReplaySnapshot> DecodeReplaySnapshot(std::string_view bytes);

// Thread-safety: Audit for one origin must be serialised (the Witness calls
// it under that origin's lock); different origins may run in parallel.
class ReplayAuditor final : public CheckpointAuditor {
 public:
  // Loads each log's snapshot and refusal. DATA_LOSS REPLAY_STATE_CORRUPT
  // (refuse to start) if a file is unreadable or damaged; INVALID_ARGUMENT
  // BAD_TILES_URL / REPLAY_DUPLICATE_LOG for bad options.
  static Result<std::unique_ptr<ReplayAuditor>> Open(ReplayOptions options);
  ~ReplayAuditor() override;
  ReplayAuditor(const ReplayAuditor&) = delete;
  ReplayAuditor& operator=(const ReplayAuditor&) = delete;

  Status Audit(const verifier::Checkpoint* previous, const verifier::Checkpoint& next,
               std::string_view note) override;

  // The replayed size of `origin` (0 if unknown). Not synchronised with Audit.
  uint64_t ReplayedSize(const std::string& origin) const;

 private:
  struct Refusal {
    uint64_t index = 0;
    Status status;
  };
  struct LogReplay {
    LogReplay();
    ~LogReplay();  // out of line: TilesSource is incomplete here
    std::string origin, url;
    std::unique_ptr<client::TilesSource> source;
    ReplaySnapshot snap;
    verifier::IndexReplay index;  // of snap.state (its histories)
    std::optional<Refusal> refused;
  };
  explicit ReplayAuditor(ReplayOptions options) : options_(std::move(options)) {}
  std::string SnapshotPath(const std::string& origin) const;
  Status Replay(LogReplay& log, const verifier::Checkpoint& next, std::string_view note);

  ReplayOptions options_;
  // Built by Open, never changed afterwards.
  std::map<std::string, std::unique_ptr<LogReplay>, std::less<>> logs_;
};

}  // namespace witness
