#include "ledger/backup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "verifier/crypto.h"
#include "verifier/note.h"

namespace ledger {

namespace fs = std::filesystem;
using verifier::Status;

std::string DataDirDb(const std::string& dir) { return dir + "/db"; }
std::string DataDirKey(const std::string& dir) { return dir + "/log.key"; }
std::string DataDirVkey(const std::string& dir) { return dir + "/log.vkey"; }
std::string DataDirAdminSocket(const std::string& dir) { return dir + "/admin.sock"; }

namespace {

Status IoError(const std::string& what, const std::error_code& ec) {
  return verifier::Internal("IO_ERROR", what + ": " + ec.message());
}

// Whether `inner` is `outer` or lies below it (both made absolute, symlinks
// resolved as far as they exist).
bool Inside(const std::string& inner, const std::string& outer) {
  std::error_code ec;
  fs::path in = fs::weakly_canonical(fs::absolute(inner), ec);
  fs::path out = fs::weakly_canonical(fs::absolute(outer), ec);
  auto o = out.begin(), i = in.begin();
  for (; o != out.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == in.end() || *i != *o) return false;
  }
  return true;
}

bool EmptyOrMissing(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return verifier::NotFound("NO_FILE", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status WriteFileDurably(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return verifier::Internal("IO_ERROR", "cannot create " + tmp);
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return verifier::Internal("IO_ERROR", "cannot write " + path);
  }
  return Status::Ok();
}

namespace {

// Copies log.key (refusing a group- or world-readable one, writing 0600) and
// log.vkey from `from` to `to`; checks that the vkey is the key's.
Status CopyKeys(const std::string& from, const std::string& to) {
  PROV_ASSIGN_OR_RETURN(verifier::SigningKey key, verifier::ReadKeyFile(DataDirKey(from)));
  PROV_ASSIGN_OR_RETURN(std::string vkey, ReadFile(DataDirVkey(from)));
  while (!vkey.empty() && (vkey.back() == '\n' || vkey.back() == '\r')) vkey.pop_back();
  auto parsed = verifier::ParseVerifierKey(vkey);
  if (!parsed.ok() || verifier::FormatVerifierKey(parsed->name, key.public_key()) != vkey) {
    return verifier::DataLoss(
        "KEY_MISMATCH", DataDirVkey(from) + " is not the verifier key of " + DataDirKey(from));
  }
  PROV_RETURN_IF_ERROR(verifier::WriteKeyFile(DataDirKey(to), key));
  return WriteFileDurably(DataDirVkey(to), vkey + "\n");
}

// The latest checkpoint of the database at `db`, verified with the log key in `dir`.
Result<BackupInfo> VerifiedHead(const std::string& db, const std::string& dir) {
  PROV_ASSIGN_OR_RETURN(verifier::SigningKey key, verifier::ReadKeyFile(DataDirKey(dir)));
  PROV_ASSIGN_OR_RETURN(auto kv, OpenRocksKvStore(db, /*create=*/false));
  std::string note;
  PROV_ASSIGN_OR_RETURN(bool found, kv->Get(coding::kLatestCheckpointKey, &note));
  if (!found) return verifier::NotFound("NO_LEDGER", "no checkpoint in " + db);
  std::string origin = note.substr(0, note.find('\n'));
  PROV_ASSIGN_OR_RETURN(auto verifier_key, verifier::ParseVerifierKey(verifier::FormatVerifierKey(
                                               origin, key.public_key())));
  auto head = verifier::VerifyCheckpoint(note, verifier_key, origin);
  if (!head.ok()) {
    return verifier::DataLoss("STORE_CORRUPT",
                              "latest checkpoint in " + db + ": " + head.status().ToString());
  }
  return BackupInfo{head->origin, head->size, head->root};
}

std::string FormatManifest(const BackupInfo& info) {
  return "provd-backup 1\norigin " + info.origin + "\nsize " + std::to_string(info.size) +
         "\nroot " + verifier::HexEncode(info.root) + "\n";
}

Status NotABackup(const std::string& dir, const std::string& what) {
  return verifier::FailedPrecondition("NOT_A_BACKUP", dir + " is not a provd backup: " + what);
}

// Removes `dir` when it did not exist before, else only what is in it now.
void Undo(const std::string& dir, bool existed) {
  std::error_code ec;
  if (!existed) {
    fs::remove_all(dir, ec);
    return;
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
}

}  // namespace

Result<bool> DatabaseInUse(const std::string& db) {
  std::string lock = db + "/LOCK";
  int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return verifier::Internal("IO_ERROR", "cannot open " + lock + ": " + strerror(errno));
  }
  struct flock f {};
  f.l_type = F_WRLCK;
  f.l_whence = SEEK_SET;
  // F_GETLK only asks: it never takes the lock, so it cannot disturb a
  // provd starting at the same moment.
  int rc = ::fcntl(fd, F_GETLK, &f);
  int err = errno;
  ::close(fd);
  if (rc != 0) return verifier::Internal("IO_ERROR", "cannot test " + lock + ": " + strerror(err));
  return f.l_type != F_UNLCK;
}

Result<BackupInfo> MakeBackup(const std::string& data_dir, const std::string& target,
                              const std::function<Status(const std::string&)>& checkpoint) {
  if (Inside(target, data_dir)) {
    return verifier::InvalidArgument("BAD_BACKUP_TARGET",
                                     target + " is inside the data directory " + data_dir);
  }
  if (!EmptyOrMissing(target)) {
    return verifier::AlreadyExists("BAD_BACKUP_TARGET",
                                   target + " exists and is not an empty directory");
  }
  for (const std::string& need : {DataDirDb(data_dir), DataDirKey(data_dir)}) {
    std::error_code ec;
    if (!fs::exists(need, ec)) {
      return verifier::NotFound(
          "NO_LEDGER", data_dir + " holds no ledger: " + need + " is missing (run `provd init`)");
    }
  }
  std::error_code ec;
  const bool existed = fs::exists(target, ec);
  fs::create_directories(target, ec);
  if (ec) return IoError("create " + target, ec);
  ::chmod(target.c_str(), 0700);  // it holds the signing key
  auto made = [&]() -> Result<BackupInfo> {
    PROV_RETURN_IF_ERROR(checkpoint(DataDirDb(target)));
    PROV_RETURN_IF_ERROR(CopyKeys(data_dir, target));
    PROV_ASSIGN_OR_RETURN(BackupInfo info, VerifiedHead(DataDirDb(target), target));
    PROV_RETURN_IF_ERROR(WriteFileDurably(target + "/" + kBackupManifest, FormatManifest(info)));
    return info;
  }();
  if (!made.ok()) Undo(target, existed);
  return made;
}

Result<BackupInfo> ReadBackup(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotABackup(dir, "no such directory");
  std::vector<std::string> missing;
  for (const std::string& name : {std::string(kBackupManifest), std::string("db/CURRENT"),
                                  std::string("log.key"), std::string("log.vkey")}) {
    if (!fs::exists(dir + "/" + name, ec)) missing.push_back(name);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return NotABackup(dir, "missing " + list);
  }
  PROV_ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/" + kBackupManifest));
  std::istringstream in(text);
  std::string magic, version, k1, origin, k2, k3, root_hex;
  uint64_t size = 0;
  in >> magic >> version >> k1 >> origin >> k2 >> size >> k3 >> root_hex;
  auto root = verifier::HexDecode(root_hex);
  if (!in || magic != "provd-backup" || version != "1" || k1 != "origin" || k2 != "size" ||
      k3 != "root" || !root.ok() || root->size() != 32) {
    return NotABackup(dir, std::string(kBackupManifest) + " is not a provd-backup 1 manifest");
  }
  BackupInfo info{origin, size, {}};
  std::copy(root->begin(), root->end(), info.root.begin());
  return info;
}

Result<StoreReport> Restore(const std::string& backup, const std::string& data_dir, bool force,
                            const std::function<void(uint64_t)>& progress) {
  PROV_ASSIGN_OR_RETURN(BackupInfo info, ReadBackup(backup));
  if (Inside(backup, data_dir)) {
    return verifier::InvalidArgument("BAD_RESTORE",
                                     "the backup " + backup + " is inside " + data_dir);
  }
  PROV_ASSIGN_OR_RETURN(bool live, DatabaseInUse(DataDirDb(data_dir)));
  if (live) {
    return verifier::FailedPrecondition(
        "LEDGER_LIVE", "a provd holds " + DataDirDb(data_dir) + " open; stop it first");
  }
  std::error_code exists_ec;
  const bool exists = fs::exists(data_dir, exists_ec);
  if (!EmptyOrMissing(data_dir) && !force) {
    return verifier::AlreadyExists(
        "DATA_DIR_NOT_EMPTY",
        data_dir + " is not empty; --force replaces it (only once the restored copy verifies)");
  }
  std::error_code ec;
  fs::path dest = fs::absolute(data_dir).lexically_normal();
  if (!dest.has_filename()) dest = dest.parent_path();
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return IoError("create " + dest.parent_path().string(), ec);
  std::string staging =
      (dest.parent_path() / ("." + dest.filename().string() + ".restore-XXXXXX")).string();
  if (::mkdtemp(staging.data()) == nullptr) {
    return verifier::Internal("IO_ERROR", "cannot create " + staging + ": " + strerror(errno));
  }
  auto restored = [&]() -> Result<StoreReport> {
    // Copies, not links: the backup may share its files with a live database.
    fs::copy(DataDirDb(backup), DataDirDb(staging), fs::copy_options::recursive, ec);
    if (ec) return IoError("copy " + DataDirDb(backup), ec);
    PROV_RETURN_IF_ERROR(CopyKeys(backup, staging));
    PROV_ASSIGN_OR_RETURN(verifier::SigningKey key, verifier::ReadKeyFile(DataDirKey(staging)));
    StoreReport report;
    {
      PROV_ASSIGN_OR_RETURN(auto kv, OpenRocksKvStore(DataDirDb(staging), /*create=*/false));
      PROV_ASSIGN_OR_RETURN(report, VerifyStore(*kv, key.public_key(), progress));
    }  // closed before it moves
    if (report.size != info.size || report.root != info.root) {
      return verifier::DataLoss("BACKUP_MISMATCH",
                                "the database in " + backup + " has size " +
                                    std::to_string(report.size) + ", its manifest says " +
                                    std::to_string(info.size) + " (or the roots differ)");
    }
    // Once more, just before the swap: nobody may have started on data_dir.
    PROV_ASSIGN_OR_RETURN(bool now_live, DatabaseInUse(DataDirDb(data_dir)));
    if (now_live) {
      return verifier::FailedPrecondition("LEDGER_LIVE",
                                          "a provd opened " + DataDirDb(data_dir) + " meanwhile");
    }
    std::string aside;
    if (exists && !EmptyOrMissing(data_dir)) {
      aside = (dest.parent_path() / ("." + dest.filename().string() + ".replaced-XXXXXX")).string();
      if (::mkdtemp(aside.data()) == nullptr || ::rename(dest.c_str(), aside.c_str()) != 0) {
        return verifier::Internal("IO_ERROR",
                                  "cannot move " + data_dir + " aside: " + strerror(errno));
      }
    }
    // rename(2) replaces an empty directory.
    if (::rename(staging.c_str(), dest.c_str()) != 0) {
      int err = errno;
      if (!aside.empty()) ::rename(aside.c_str(), dest.c_str());
      return verifier::Internal(
          "IO_ERROR", "cannot move the restored copy to " + data_dir + ": " + strerror(err));
    }
    if (!aside.empty()) fs::remove_all(aside, ec);
    return report;
  }();
  if (!restored.ok()) fs::remove_all(staging, ec);
  return restored;
}

}  // namespace ledger
