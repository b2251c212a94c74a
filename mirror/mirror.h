// A verifying mirror of a log served as C2SP tlog-tiles (docs/mirror.md).
// Each round fetches the source's checkpoint, verifies its signature with
// the pinned key and proves it consistent with the last good head
// (client::LedgerClient over client::TilesSource, which also checks every
// tile and bundle it reads), replays the new entries through the rulebook
// (verifier::ApplyPrepared, as the ledger does), recomputes the tiles with
// ledger::TreeWriter and, when the recomputed root is the checkpoint's,
// writes leaves, tiles, rulebook state and the note in one durable batch,
// then republishes them with ledger::TilePublisher: the same tile bytes as
// the source and its checkpoint note verbatim (cosignatures included).
//
// A head that does not verify, is not consistent (a fork or rollback),
// comes with tiles or bundles that do not verify, or an entry the rulebook
// rejects halts the mirror: it never advances again in this process, and
// keeps serving the last good state. Nothing is written on a rejection.
//
// Store (<data_dir>/db, RocksDB) uses the ledger's keys (ledger/coding.h):
// L, H, T, S, C<size> and Mcheckpoint (the last good note). Leaves 0-based.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "client/ledger_client.h"
#include "client/tiles_source.h"
#include "ledger/kv_store.h"
#include "ledger/subject_index.h"
#include "ledger/tile_publisher.h"
#include "ledger/tree.h"
#include "verifier/index.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace mirror {

using verifier::Result;
using verifier::Status;

struct MirrorOptions {
  client::TilesOptions source;  // the source's URL, CA file, timeouts
  std::string vkey;             // the log's C2SP verifier key (its name is the origin)
  std::string data_dir;         // <data_dir>/db and <data_dir>/status.json
  std::string tiles_dir;        // where the mirror publishes its tiles
  uint64_t entries_per_fetch = 1024;
};

// How the last round ended.
enum class Health {
  kFollowing,          // in step with the source (or advanced)
  kSourceUnreachable,  // the source did not answer usefully; retried
  kHalted,             // a security failure; never advances again
  kLocalError,         // our own storage or tiles dir failed; retried
};
const char* HealthName(Health h);  // "following", "source_unreachable", ...

// Exit codes of `provmirror sync --once`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitLocal = 1;
inline constexpr int kExitSecurity = 3;
inline constexpr int kExitUnreachable = 4;
int ExitCode(Health h);

struct MirrorState {
  Health health = Health::kFollowing;
  Status last_error;       // why not kFollowing
  uint64_t good_size = 0;  // the last good head (0: none yet)
  verifier::Hash good_root{};
  std::optional<uint64_t> bad_index;  // the rejected entry (ENTRY_REJECTED)
  std::string offending_checkpoint;   // the source's note that was refused
  int64_t since = 0;                  // Unix seconds of the last change
};

class Mirror {
 public:
  // Opens (creating) the store and the tiles dir. Resumes from a stored
  // head after checking its signature and that the stored tree has its root
  // (DATA_LOSS MIRROR_STORE_CORRUPT otherwise; FAILED_PRECONDITION
  // MIRROR_OTHER_LOG for a store of another log), and republishes it.
  static Result<std::unique_ptr<Mirror>> Open(MirrorOptions options);
  ~Mirror();
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // One round (see above). OK when in step or advanced; otherwise the
  // failure, also in state(). Once halted, returns the halting status
  // without contacting the source. Halting reasons: the client's (FORK,
  // ROLLBACK, BAD_SIGNATURE..., TILE_MISMATCH, BUNDLE_MISMATCH...) as
  // DATA_LOSS; ENTRY_REJECTED (bad_index set), GENESIS_ORIGIN,
  // ROOT_MISMATCH.
  Status SyncOnce();

  const MirrorState& state() const { return state_; }
  const std::string& good_note() const { return good_note_; }
  // Writes state() as JSON to <data_dir>/status.json, durably (rename).
  Status WriteStatusFile() const;
  std::string StatusJson() const;
  const std::string& status_path() const { return status_path_; }

 private:
  explicit Mirror(MirrorOptions options) : options_(std::move(options)) {}
  Status Resume();
  // Fetches, replays and stores [good_size, c.size); publishes.
  Status Advance(const client::VerifiedCheckpoint& c);
  // Publishes the stored good head if the tiles dir lags it.
  Status PublishGood();
  Status Halt(Status why, std::optional<uint64_t> index, std::string note);
  void SetHealth(Health h, Status why);

  MirrorOptions options_;
  std::string status_path_;
  verifier::NoteVerifier verifier_;
  std::unique_ptr<ledger::KvStore> kv_;
  std::unique_ptr<ledger::TileReader> reader_;
  std::unique_ptr<ledger::TreeWriter> writer_;
  verifier::IndexReplay index_;  // the index as of good_size, recomputed
  std::unique_ptr<ledger::TilePublisher> publisher_;
  std::unique_ptr<client::LedgerClient> client_;
  std::string good_note_;
  MirrorState state_;
};

}  // namespace mirror
