// Publishes the log as C2SP tlog-tiles static files (docs/tiles.md):
//
//   <dir>/checkpoint                  the latest signed checkpoint
//   <dir>/tile/<L>/<N>[.p/<W>]        hash tiles, read from the ledger's "T" keys
//   <dir>/tile/entries/<N>[.p/<W>]    entry bundles of the "L" leaves
//   <dir>/index/<hh>/<hash>           index tiles (docs/index.md "Static files")
//   <dir>/.staging/, <dir>/.lock      never served
//
// Every file appears by rename of a complete, fsynced file from .staging/
// (same filesystem), and its directory is fsynced before anything depending
// on it is written: a crash never leaves a torn file at a served path, and
// the checkpoint is written only after every tile and bundle it needs is
// durable. Tile and bundle files are immutable: one that exists is compared,
// never overwritten (DATA_LOSS TILE_MISMATCH if it differs).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/kv_store.h"
#include "ledger/tree.h"
#include "verifier/index.h"
#include "verifier/note.h"
#include "verifier/status.h"
#include "verifier/tlog_tiles.h"

namespace ledger {

class Ledger;

// Runs after the tiles of a checkpoint are durable and before the checkpoint
// file is written; returns the note to publish (e.g. with witness
// cosignatures added). The returned note must still verify with the log key
// and carry the same body (origin, size, root); an error skips this
// checkpoint (it is retried with the next one).
using CheckpointHook =
    std::function<verifier::Result<std::string>(const std::string& note, uint64_t size)>;

// One writer per directory (an exclusive flock on <dir>/.lock). Not
// thread-safe: call from one thread.
class TilePublisher {
 public:
  // Opens (creating) `dir` for the log whose leaves and tiles are in `kv`,
  // signed with `vkey` (its name is the origin), currently `head_size`
  // leaves. Removes staging leftovers; resumes from an existing checkpoint
  // file after checking it is this log's and matches the stored tree.
  // Refuses a directory that is not this log's:
  //   FAILED_PRECONDITION TILES_DIR_NOT_OURS  foreign files or checkpoint
  //   FAILED_PRECONDITION TILES_DIR_LOCKED    another publisher holds it
  //   DATA_LOSS TILES_FORK                    our key, a different root
  //   DATA_LOSS TILES_AHEAD_OF_LEDGER         a checkpoint beyond head_size
  static verifier::Result<std::unique_ptr<TilePublisher>> Open(std::string dir, const KvStore* kv,
                                                               const std::string& vkey,
                                                               uint64_t head_size);
  // The same for a running ledger (its store, key and current head).
  static verifier::Result<std::unique_ptr<TilePublisher>> Open(std::string dir,
                                                               const Ledger& ledger);
  ~TilePublisher();
  TilePublisher(const TilePublisher&) = delete;
  TilePublisher& operator=(const TilePublisher&) = delete;

  // Writes every tile and bundle a tree of `size` leaves needs beyond those
  // already written (verifier::TilesToPublish), durably.
  // REQUIRES: the store holds at least `size` leaves.
  verifier::Status PublishTiles(uint64_t size);
  // Replaces the checkpoint file with `note`, after checking it verifies
  // with the log key, its root is the stored tree's and its size is neither
  // below the published one (CHECKPOINT_OLDER) nor beyond the tiles written
  // (TILES_NOT_WRITTEN). Then removes the partial files of tiles it made
  // full.
  verifier::Status PublishCheckpoint(const std::string& note);
  // PublishTiles(note's size), `hook` (if set), PublishCheckpoint.
  verifier::Status Publish(const std::string& note, const CheckpointHook& hook = {});

  uint64_t published_size() const { return published_size_; }  // of the checkpoint file
  // The checkpoint file's note (cosignatures included); empty if none yet.
  const std::string& published_note() const { return published_note_; }
  uint64_t tiles_size() const { return tiles_size_; }
  const std::string& dir() const { return dir_; }

 private:
  TilePublisher(std::string dir, const KvStore* kv, verifier::NoteVerifier verifier, int lock_fd);
  verifier::Status Resume(uint64_t head_size);
  verifier::Result<std::string> TileBytes(const verifier::TileRef& t) const;
  // Stages `bytes` for `rel` (compared instead if the file exists); with
  // `sync` false the data is made durable by one syncfs at commit.
  verifier::Status Stage(const std::string& rel, const std::string& bytes, bool sync = true);
  // The index of the head of `size`, from `from` (the head of `from_size`)
  // and the stored histories; DATA_LOSS INDEX_CORRUPT unless it is `logged`,
  // the root the head's last leaf holds.
  verifier::Result<verifier::IndexTree> IndexAt(uint64_t size, const verifier::IndexTree& from,
                                                uint64_t from_size,
                                                const provenance::v1::IndexRoot& logged) const;
  // `from` (the index of leaves [0, from_covered)) with the subjects of the
  // leaves up to `covered` updated.
  verifier::Result<verifier::IndexTree> Advance(const verifier::IndexTree& from,
                                                uint64_t from_covered, uint64_t covered) const;
  // The index root the head of `size` ends with; nullopt if it ends with
  // another record (a log without an index).
  verifier::Result<std::optional<provenance::v1::IndexRoot>> IndexRootOf(uint64_t size) const;
  // Stages the index tiles of the head of `size` not yet published; nullopt
  // for a head without an index root (nothing staged).
  verifier::Result<std::optional<verifier::IndexTree>> StageIndex(uint64_t size);
  // Renames everything staged into place and fsyncs their directories.
  verifier::Status CommitStaged();
  verifier::Status MakeDirs(const std::string& rel_dir);
  // Best effort: removes the .p/ files of tiles full at new_size, not old_size.
  void RemoveSupersededPartials(uint64_t old_size, uint64_t new_size);
  // Writes log-key-rotations with the log's key rotations before `size`
  // when there are more than published (docs/tiles.md).
  verifier::Status PublishRotations(uint64_t size);

  std::string dir_;
  const KvStore* kv_;
  verifier::NoteVerifier verifier_;
  TileReader reader_;
  int lock_fd_;
  uint64_t published_size_ = 0;
  std::string published_note_;
  uint64_t tiles_size_ = 0;
  uint64_t staged_counter_ = 0;
  size_t published_rotations_ = 0;
  std::vector<std::pair<std::string, std::string>> staged_;  // staging path, rel path
  bool unsynced_ = false;                                    // staged without fsync
  verifier::IndexTree index_;                                // of the head of index_size_
  uint64_t index_size_ = 0;                                  // 0: no index published
  std::set<std::string> synced_dirs_;                        // made or fsynced by this publisher
};

// provd's publisher thread: follows the ledger's checkpoints (new sizes and
// the periodic re-signed heads) and publishes each; never blocks appends.
// A failed round is reported to `on_error` and retried with backoff; each
// published note (as written, cosignatures included) goes to `on_published`,
// first the one already in the directory, from the follower's thread. After
// a head is published the next waits at least `min_interval` (0: none).
class TileFollower {
 public:
  TileFollower(const Ledger* ledger, std::unique_ptr<TilePublisher> publisher,
               CheckpointHook hook = {},
               std::function<void(const verifier::Status&)> on_error = {},
               std::function<void(const std::string& note)> on_published = {},
               std::chrono::milliseconds min_interval = std::chrono::milliseconds(0));
  ~TileFollower();  // stops the thread (after the round in progress)
  TileFollower(const TileFollower&) = delete;
  TileFollower& operator=(const TileFollower&) = delete;

  // Blocks until a checkpoint of at least `size` is published or `deadline`.
  bool WaitForPublished(uint64_t size, std::chrono::steady_clock::time_point deadline) const;

 private:
  void Loop();

  const Ledger* ledger_;
  std::unique_ptr<TilePublisher> publisher_;
  CheckpointHook hook_;
  std::function<void(const verifier::Status&)> on_error_;
  std::function<void(const std::string&)> on_published_;
  std::chrono::milliseconds min_interval_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  uint64_t published_ = 0;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace ledger
