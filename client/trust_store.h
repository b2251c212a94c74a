// The client's trust store: the newest verified checkpoint of each log it
// has talked to, so that every later checkpoint must be proven consistent
// with it (rollback and fork protection). Layout (docs/formats.md, "Trust
// store"):
//
//   ROOT/                         --state-dir, else $XDG_STATE_HOME/prov,
//                                 else $HOME/.local/state/prov
//   ROOT/<origin>-<keyhash8>/     one per log (origin made filesystem-safe)
//     checkpoint                  the newest verified signed note, with
//                                 its witness cosignatures as received
//     lock                        flock(2): exclusive while updating
//
// Several processes may share one store: updates are serialised by the lock,
// re-check what another process stored, and never move backwards.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "client/ledger_client.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace client {

class TrustStore {
 public:
  // The root directory: `state_dir` if non-empty, else $XDG_STATE_HOME/prov
  // (an absolute path only, as the XDG spec requires), else
  // $HOME/.local/state/prov. Fails with TRUST_STORE when none is known.
  static Result<std::string> Root(const std::string& state_dir);
  // The name of the subdirectory of the log `v`: its origin with every byte
  // outside [A-Za-z0-9._-] (and a leading '.') replaced by '_', cut to 200
  // bytes, then '-' and the key hash as 8 lower-case hex digits.
  static std::string LogDirName(const verifier::NoteVerifier& v);

  // Creates ROOT and the log's directory (mode 0700 where created) and
  // opens or creates its lock file. Fails with
  // FailedPrecondition("TRUST_STORE", "cannot use the trust store DIR: <strerror>").
  static Result<std::unique_ptr<TrustStore>> Open(const std::string& root,
                                                  const verifier::NoteVerifier& v);
  ~TrustStore();
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  const std::string& dir() const { return dir_; }  // ROOT/<origin>-<keyhash8>
  std::string checkpoint_file() const { return dir_ + "/checkpoint"; }

  // The stored note as it is on disk (not verified), or nullopt if there is
  // none yet. Takes no lock: the file is only ever replaced by rename(2), so
  // a reader sees a whole old or a whole new note.
  Result<std::optional<std::string>> Load() const;

  // Stores `c.latest()` (if any) under the exclusive lock. If the stored
  // note differs from `loaded` (what this process read with Load and proved
  // its heads consistent with), it is verified with the pinned key and
  // proven consistent with `c.latest()` in whichever direction is needed; a
  // failure is DataLoss("FORK") naming both heads. The note is written, as
  // received (cosignatures included), only if its tree is larger than the
  // stored one, or is the same tree with more cosignatures that verify under
  // the client's witness policy (LedgerClient::Cosignatures) (mkstemp in the
  // same directory, fsync, rename, fsync of the directory).
  Status Save(const LedgerClient& c, const std::optional<std::string>& loaded);

 private:
  TrustStore(std::string dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  Status Write(const std::string& note);

  std::string dir_;
  int lock_fd_;  // owned; flock(2) target
};

}  // namespace client
