#include "ledger/kv_store.h"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "ledger/coding.h"

namespace ledger {

using verifier::Status;

Result<bool> MemoryKvStore::Get(std::string_view key, std::string* value) const {
  std::shared_lock lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  *value = it->second;
  return true;
}

Status MemoryKvStore::Write(const KvBatch& batch) {
  std::unique_lock lock(mu_);
  for (const auto& [k, v] : batch.puts()) map_[k] = v;
  return Status::Ok();
}

Status MemoryKvStore::Scan(
    std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::shared_lock lock(mu_);
  for (auto it = map_.lower_bound(prefix);
       it != map_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix; ++it) {
    if (!fn(it->first, it->second)) break;
  }
  return Status::Ok();
}

verifier::Status KvStore::CreateCheckpoint(const std::string& dir) const {
  return verifier::Status(verifier::Code::kUnimplemented, "NO_CHECKPOINT",
                          "this store cannot make a checkpoint at " + dir);
}

void MemoryKvStore::Poke(const std::string& key, std::string value) {
  std::unique_lock lock(mu_);
  map_[key] = std::move(value);
}

namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return verifier::DataLoss("STORAGE_CORRUPT", what + ": " + s.ToString());
  if (s.IsIOError()) {
    // A full disk or a failing one: retryable once the disk is fixed.
    std::string kind = s.IsNoSpace() ? "No space left on device (ENOSPC): "
                       : s.ToString().find("Input/output error") != std::string::npos
                           ? "I/O error (EIO): "
                           : "";
    return Status(verifier::Code::kUnavailable, "STORAGE_ERROR", kind + what + ": " + s.ToString());
  }
  return verifier::Internal("STORAGE_ERROR", what + ": " + s.ToString());
}

Status Closed() {
  return Status(verifier::Code::kUnavailable, "STORAGE_ERROR",
                "the database is closed after a storage error; it reopens once the disk takes "
                "writes again");
}

// RocksDB's info log, into provd's log (warnings and errors only). Not the
// LOG file in the database directory: on a full or failing disk its writes
// fail too, and Debian's librocksdb (built with assertions) aborts the
// process on the next line after a failed one (found with libfiu).
class SpdlogRocksLogger final : public rocksdb::Logger {
 public:
  explicit SpdlogRocksLogger(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      spdlog::error("rocksdb: {}", line);
    } else {
      spdlog::warn("rocksdb: {}", line);
    }
  }
};

std::string ErrnoName(int err) {
  switch (err) {
    case ENOSPC:
      return "ENOSPC";
    case EIO:
      return "EIO";
    case EDQUOT:
      return "EDQUOT";
    case EROFS:
      return "EROFS";
    default:
      return "errno " + std::to_string(err);
  }
}

// Whether the file system under `path` takes a small synced write now: a
// file next to the database, written, fdatasync'ed and removed.
Status ProbeWrite(const std::string& path) {
  const std::string probe = path + ".write-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return Status(verifier::Code::kUnavailable, "STORAGE_ERROR",
                  "the disk still fails (" + ErrnoName(err) + "): create " + probe + ": " +
                      std::strerror(err));
  }
  char block[4096] = {};
  int err = 0;
  const char* step = "write";
  errno = 0;
  if (::write(fd, block, sizeof block) != static_cast<ssize_t>(sizeof block)) {
    err = errno ? errno : ENOSPC;  // a short write: the disk is full
  } else if (step = "fdatasync"; ::fdatasync(fd) != 0) {
    err = errno;
  }
  ::close(fd);
  ::unlink(probe.c_str());
  if (err == 0) return Status::Ok();
  return Status(verifier::Code::kUnavailable, "STORAGE_ERROR",
                "the disk still fails (" + ErrnoName(err) + "): " + step + " " + probe + ": " +
                    std::strerror(err));
}

// Every access holds mu_ shared; Recover() holds it exclusively while it
// closes and reopens the database.
class RocksKvStore final : public KvStore {
 public:
  RocksKvStore(std::unique_ptr<rocksdb::DB> db, std::string path, rocksdb::Options options,
               bool sync)
      : path_(std::move(path)), options_(std::move(options)), db_(std::move(db)) {
    write_options_.sync = sync;
  }

  Result<bool> Get(std::string_view key, std::string* value) const override {
    std::shared_lock lock(mu_);
    if (!db_) return Closed();
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), value);
    if (s.IsNotFound()) return false;
    PROV_RETURN_IF_ERROR(FromRocks(s, "read"));
    return true;
  }

  Status Write(const KvBatch& batch) override {
    rocksdb::WriteBatch wb;
    for (const auto& [k, v] : batch.puts()) wb.Put(k, v);
    std::shared_lock lock(mu_);
    if (!db_) return Closed();
    return FromRocks(db_->Write(write_options_, &wb), "write");
  }

  // RocksDB stops writes after a failed write. Resume() restarts it after a
  // full disk; a failed WAL sync is fatal to the open database (the kernel
  // may have dropped the unsynced pages), so it is closed and reopened,
  // which recovers exactly what the WAL durably holds. RocksDB's own
  // recovery from a full disk (it polls for free space) is overtaken the
  // same way. Nothing is tried while the disk still fails a probe write, so
  // reads go on meanwhile.
  Status Recover() override {
    PROV_RETURN_IF_ERROR(ProbeWrite(path_));
    std::unique_lock lock(mu_);
    if (db_) {
      rocksdb::Status resumed = db_->Resume();
      if (resumed.ok()) return Status::Ok();
      spdlog::warn("rocksdb cannot resume ({}); reopening {}", resumed.ToString(), path_);
      (void)db_->Close();
      db_.reset();
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options_, path_, &raw);
    if (!s.ok()) return FromRocks(s, "reopen " + path_);
    db_.reset(raw);
    return Status::Ok();
  }

  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    std::shared_lock lock(mu_);
    if (!db_) return Closed();
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Next()) {
      if (!fn(std::string_view(it->key().data(), it->key().size()),
              std::string_view(it->value().data(), it->value().size()))) {
        break;
      }
    }
    return FromRocks(it->status(), "scan");
  }

  uint64_t ApproximateDiskBytes() const override {
    std::shared_lock lock(mu_);
    if (!db_) return 0;
    uint64_t sst = 0, wal = 0;
    db_->GetIntProperty("rocksdb.total-sst-files-size", &sst);
    db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &wal);
    return sst + wal;
  }
  std::optional<uint64_t> IntProperty(const std::string& name) const override {
    std::shared_lock lock(mu_);
    uint64_t v = 0;
    if (!db_ || !db_->GetIntProperty(name, &v)) return std::nullopt;
    return v;
  }

  Status CreateCheckpoint(const std::string& dir) const override {
    std::shared_lock lock(mu_);
    if (!db_) return Closed();
    rocksdb::Checkpoint* raw = nullptr;
    if (Status s = FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"); !s.ok()) {
      return s;
    }
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush 0: flush the memtable first, so the copy is mostly
    // hard links; the WAL written since is copied up to a batch boundary.
    return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                     "checkpoint into " + dir);
  }

 private:
  const std::string path_;
  const rocksdb::Options options_;  // to reopen with
  rocksdb::WriteOptions write_options_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<rocksdb::DB> db_;  // GUARDED_BY(mu_); null after a failed reopen
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenRocksKvStore(const std::string& path, bool create,
                                                  const RocksOptions& options) {
  rocksdb::Options opts;
  opts.create_if_missing = create;
  opts.error_if_exists = create;
  opts.paranoid_checks = true;
  opts.compression = rocksdb::kNoCompression;  // hashes and signatures do not compress
  opts.max_background_jobs = 2;
  opts.IncreaseParallelism(2);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.cache_index_and_filter_blocks = true;
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  opts.write_buffer_size = 64 << 20;
  // Creating a database, RocksDB logs an error that its directory is
  // missing: nothing but fatal errors then.
  opts.info_log = std::make_shared<SpdlogRocksLogger>(create ? rocksdb::InfoLogLevel::FATAL_LEVEL
                                                             : rocksdb::InfoLogLevel::WARN_LEVEL);
  rocksdb::Options reopen = opts;  // after a storage error: the same database
  reopen.info_log = std::make_shared<SpdlogRocksLogger>(rocksdb::InfoLogLevel::WARN_LEVEL);
  reopen.create_if_missing = false;
  reopen.error_if_exists = false;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, path, &raw);
  if (!s.ok()) {
    if (!create && s.IsInvalidArgument()) {
      return verifier::NotFound("NO_LEDGER",
                                "no ledger database at " + path + " (run `provd init` first)");
    }
    return FromRocks(s, "open " + path);
  }
  return std::unique_ptr<KvStore>(std::make_unique<RocksKvStore>(std::unique_ptr<rocksdb::DB>(raw),
                                                                 path, reopen, options.sync));
}

Result<bool> KvStateView::Get(std::string_view key, std::string* value) const {
  return kv_->Get(coding::StateKey(key), value);
}

}  // namespace ledger
