#include "ledger/kv_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

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
  return verifier::Internal("STORAGE_ERROR", what + ": " + s.ToString());
}

class RocksKvStore final : public KvStore {
 public:
  RocksKvStore(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)) {
    write_options_.sync = sync;
  }

  Result<bool> Get(std::string_view key, std::string* value) const override {
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), value);
    if (s.IsNotFound()) return false;
    PROV_RETURN_IF_ERROR(FromRocks(s, "read"));
    return true;
  }

  Status Write(const KvBatch& batch) override {
    rocksdb::WriteBatch wb;
    for (const auto& [k, v] : batch.puts()) wb.Put(k, v);
    return FromRocks(db_->Write(write_options_, &wb), "write");
  }

  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
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
    uint64_t sst = 0, wal = 0;
    db_->GetIntProperty("rocksdb.total-sst-files-size", &sst);
    db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &wal);
    return sst + wal;
  }
  std::optional<uint64_t> IntProperty(const std::string& name) const override {
    uint64_t v = 0;
    if (!db_->GetIntProperty(name, &v)) return std::nullopt;
    return v;
  }

  Status CreateCheckpoint(const std::string& dir) const override {
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
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
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
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, path, &raw);
  if (!s.ok()) {
    if (!create && s.IsInvalidArgument()) {
      return verifier::NotFound("NO_LEDGER",
                                "no ledger database at " + path + " (run `provd init` first)");
    }
    return FromRocks(s, "open " + path);
  }
  return std::unique_ptr<KvStore>(
      std::make_unique<RocksKvStore>(std::unique_ptr<rocksdb::DB>(raw), options.sync));
}

Result<bool> KvStateView::Get(std::string_view key, std::string* value) const {
  return kv_->Get(coding::StateKey(key), value);
}

}  // namespace ledger
