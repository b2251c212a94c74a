// Backups of a provd data directory (`provd backup`, `provd restore`;
// docs/storage.md, "Backups").
//
// A data directory holds db/ (RocksDB), log.key (the log's signing key, mode
// 0600) and log.vkey. A backup directory holds the same three, db/ being a
// RocksDB checkpoint (consistent: taken between two committed batches), and
// a manifest BACKUP, written last:
//
//   provd-backup 1
//   origin <origin>
//   size <tree size of the latest checkpoint in db/>
//   root <its root, hex>
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ledger/verify_store.h"
#include "verifier/status.h"

namespace ledger {

inline constexpr char kBackupManifest[] = "BACKUP";

std::string DataDirDb(const std::string& dir);    // DIR/db
std::string DataDirKey(const std::string& dir);   // DIR/log.key
std::string DataDirVkey(const std::string& dir);  // DIR/log.vkey
// DIR/admin.sock: the running provd's control socket (ledger/admin_socket.h).
std::string DataDirAdminSocket(const std::string& dir);

// Writes `data` to `path` through a temporary file, fsynced, renamed into place.
verifier::Status WriteFileDurably(const std::string& path, const std::string& data);

struct BackupInfo {
  std::string origin;
  uint64_t size = 0;
  verifier::Hash root{};
};

// Whether a process holds the RocksDB database at `db` open (its LOCK file is
// locked; RocksDB takes an fcntl write lock on it). False when there is none.
Result<bool> DatabaseInUse(const std::string& db);

// Makes a backup of `data_dir` in `target`, which must not exist or be an
// empty directory, and must not lie inside `data_dir` (BAD_BACKUP_TARGET).
// `checkpoint(db_dir)` makes the consistent copy of the database at db_dir
// (which does not exist yet): KvStore::CreateCheckpoint, in this process or
// in the provd that holds the database. Then the key files are copied
// (log.key stays 0600), the copy's latest checkpoint is verified with the
// log key, and the manifest is written last. On failure, what was made is
// removed.
Result<BackupInfo> MakeBackup(
    const std::string& data_dir, const std::string& target,
    const std::function<verifier::Status(const std::string&)>& checkpoint);

// Reads a backup directory's manifest and checks that db/, log.key and
// log.vkey are there; NOT_A_BACKUP names what is missing.
Result<BackupInfo> ReadBackup(const std::string& dir);

// Restores `backup` into `data_dir`: refused while a provd holds data_dir's
// database (LEDGER_LIVE, even with `force`), when data_dir is not empty and
// not `force` (DATA_DIR_NOT_EMPTY), or when the backup lies inside
// data_dir. The copy is made in a sibling staging directory and checked as
// `provd verify` does (every leaf replayed, tree, state, index roots) and
// against the manifest; only then does it replace data_dir (renames). On any
// failure the staging directory is removed and data_dir is unchanged.
Result<StoreReport> Restore(const std::string& backup, const std::string& data_dir, bool force,
                            const std::function<void(uint64_t done)>& progress = {});

}  // namespace ledger
