// Storage behind a small interface: an ordered byte key-value store with
// atomic, durable batches. RocksKvStore is the real one; MemoryKvStore is its
// in-memory twin for tests. Both are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "verifier/state.h"
#include "verifier/status.h"

namespace ledger {

using verifier::Result;

// Puts applied all-or-nothing by KvStore::Write.
class KvBatch {
 public:
  void Put(std::string key, std::string value) {
    bytes_ += key.size() + value.size();
    puts_.emplace_back(std::move(key), std::move(value));
  }
  const std::vector<std::pair<std::string, std::string>>& puts() const { return puts_; }
  size_t bytes() const { return bytes_; }
  bool empty() const { return puts_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> puts_;
  size_t bytes_ = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual Result<bool> Get(std::string_view key, std::string* value) const = 0;
  // Atomic; when it returns OK the batch survives a crash (WAL synced).
  // A failed write (a full disk, an I/O error) is UNAVAILABLE STORAGE_ERROR
  // and may leave the store refusing writes until Recover().
  virtual verifier::Status Write(const KvBatch& batch) = 0;
  // After a failed Write: makes the store take writes again if the disk
  // does. OK means writes may be tried again (prove it with one), and what
  // the store holds is what is durable; UNAVAILABLE while the fault lasts.
  // Thread-safe; reads may wait while it runs.
  virtual verifier::Status Recover() { return verifier::Status::Ok(); }
  // Calls fn for every key with `prefix`, in key order, until fn returns false.
  virtual verifier::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
  // Bytes on disk (0 for memory).
  virtual uint64_t ApproximateDiskBytes() const { return 0; }
  // A consistent copy of the whole store at `dir` (which must not exist),
  // taken between two Writes while others go on: RocksDB hard-links its
  // immutable files there (copies across file systems) and copies the rest.
  // UNIMPLEMENTED for stores that are not on disk.
  virtual verifier::Status CreateCheckpoint(const std::string& dir) const;
  // A RocksDB integer property (e.g. "rocksdb.estimate-live-data-size");
  // nullopt if unknown or not RocksDB. Thread-safe.
  virtual std::optional<uint64_t> IntProperty(const std::string& name) const {
    (void)name;
    return std::nullopt;
  }
};

class MemoryKvStore final : public KvStore {
 public:
  Result<bool> Get(std::string_view key, std::string* value) const override;
  verifier::Status Write(const KvBatch& batch) override;
  verifier::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override;
  // Test hook: overwrite a value without any checks (corruption tests).
  void Poke(const std::string& key, std::string value);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string, std::less<>> map_;  // GUARDED_BY(mu_)
};

struct RocksOptions {
  bool sync = true;  // fsync the WAL on every Write
  size_t block_cache_bytes = 128 << 20;
};

// Opens (creating if `create`) a RocksDB database at `path`.
Result<std::unique_ptr<KvStore>> OpenRocksKvStore(const std::string& path, bool create,
                                                  const RocksOptions& options = {});

// The rulebook's state, read from a store's "S" keys.
class KvStateView final : public verifier::StateView {
 public:
  explicit KvStateView(const KvStore* kv) : kv_(kv) {}
  Result<bool> Get(std::string_view key, std::string* value) const override;

 private:
  const KvStore* kv_;
};

}  // namespace ledger
