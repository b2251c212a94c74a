#include "ledger/tile_publisher.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "ledger/coding.h"
#include "ledger/ledger.h"
#include "ledger/log_key_rotation.h"
#include "ledger/subject_index.h"
#include "verifier/index.h"

namespace ledger {

namespace {

namespace fs = std::filesystem;
using verifier::Result;
using verifier::Status;
using verifier::TileRef;

constexpr char kStaging[] = ".staging";
constexpr char kLock[] = ".lock";
constexpr char kCheckpoint[] = "checkpoint";

Status IoError(const std::string& what, const std::string& path, int err) {
  return {verifier::Code::kUnavailable, "TILES_IO", what + " " + path + ": " + std::strerror(err)};
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

Status SyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : IoError("fsync", path, err);
}

// Creates `path` (which must not exist) with `bytes`, fsynced unless `sync`
// is false (the caller then syncs the filesystem once for many files).
Status WriteSynced(const std::string& path, std::string_view bytes, bool sync = true) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("create", path, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return IoError("write", path, err);
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return IoError("fsync", path, err);
  }
  if (::close(fd) != 0) return IoError("close", path, errno);
  return Status::Ok();
}

// syncfs(2) of the filesystem holding `dir`: every file written there is durable.
Status SyncFilesystem(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open", dir, errno);
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : IoError("syncfs", dir, err);
}

// False if `path` does not exist.
Result<bool> ReadIfExists(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return IoError("open", path, errno);
  }
  out->clear();
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return IoError("read", path, err);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

Status NotOurs(const std::string& dir, const std::string& why) {
  return verifier::FailedPrecondition(
      "TILES_DIR_NOT_OURS",
      dir + " " + why + "; refusing to write this log's tiles there (choose an empty directory)");
}

}  // namespace

TilePublisher::TilePublisher(std::string dir, const KvStore* kv, verifier::NoteVerifier verifier,
                             int lock_fd)
    : dir_(std::move(dir)),
      kv_(kv),
      verifier_(std::move(verifier)),
      reader_(kv, 64),
      lock_fd_(lock_fd) {}

TilePublisher::~TilePublisher() {
  for (const auto& [staging, rel] : staged_) ::unlink(staging.c_str());
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<TilePublisher>> TilePublisher::Open(std::string dir, const Ledger& ledger) {
  return Open(std::move(dir), &ledger.kv(), ledger.verifier_key(), ledger.Checkpoint()->size());
}

Result<std::unique_ptr<TilePublisher>> TilePublisher::Open(std::string dir, const KvStore* kv,
                                                           const std::string& vkey,
                                                           uint64_t head_size) {
  PROV_ASSIGN_OR_RETURN(verifier::NoteVerifier verifier, verifier::ParseVerifierKey(vkey));
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return verifier::InvalidArgument("BAD_FLAGS", "empty tiles directory");
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return IoError("mkdir", dir, ec.value());
    PROV_RETURN_IF_ERROR(SyncDir(Parent(fs::absolute(dir).string())));
  }
  if (!fs::is_directory(dir, ec)) return NotOurs(dir, "is not a directory");
  // Only what a publisher writes may be there.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name != kCheckpoint && name != "tile" && name != "index" && name != kStaging &&
        name != kLock && name != verifier::kLogKeyRotationsPath) {
      return NotOurs(dir, "holds \"" + name + "\", which is not a tiles file");
    }
  }
  if (ec) return IoError("list", dir, ec.value());

  const std::string lock_path = dir + "/" + kLock;
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return IoError("open", lock_path, errno);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return verifier::FailedPrecondition("TILES_DIR_LOCKED",
                                        dir + " is being published by another process");
  }
  std::unique_ptr<TilePublisher> p(new TilePublisher(dir, kv, verifier, lock_fd));

  // Staging leftovers of a crash were never visible; drop them.
  const std::string staging = dir + "/" + kStaging;
  fs::remove_all(staging, ec);
  if (ec) return IoError("remove", staging, ec.value());
  if (::mkdir(staging.c_str(), 0700) != 0) return IoError("mkdir", staging, errno);
  PROV_RETURN_IF_ERROR(SyncDir(dir));
  PROV_RETURN_IF_ERROR(p->Resume(head_size));
  return p;
}

Status TilePublisher::Resume(uint64_t head_size) {
  std::string note;
  const std::string path = dir_ + "/" + kCheckpoint;
  PROV_ASSIGN_OR_RETURN(bool found, ReadIfExists(path, &note));
  if (!found) return Status::Ok();
  auto c = verifier::VerifyCheckpoint(note, verifier_, verifier_.name);
  if (!c.ok()) {
    // Published before the log rotated its key: signed by an older key.
    PROV_ASSIGN_OR_RETURN(auto past, PastLogKeys(*kv_));
    for (const auto& key : past) {
      if (auto old = verifier::VerifyCheckpoint(note, key, verifier_.name); old.ok()) c = old;
    }
  }
  if (!c.ok()) {
    return NotOurs(dir_, "has a checkpoint that is not " + verifier_.name + "'s (" +
                             c.status().ToString() + ")");
  }
  if (c->size > head_size) {
    return verifier::DataLoss("TILES_AHEAD_OF_LEDGER",
                              path + " is at size " + std::to_string(c->size) +
                                  " but the ledger has " + std::to_string(head_size) + " leaves");
  }
  auto root = reader_.RootAt(c->size);
  if (!root.ok()) return root.status();
  if (*root != c->root) {
    return verifier::DataLoss("TILES_FORK", path + " is signed by this log but its root at size " +
                                                std::to_string(c->size) +
                                                " is not the stored tree's");
  }
  published_size_ = tiles_size_ = c->size;
  published_note_ = std::move(note);
  // The published index, rebuilt from the histories (its tiles are there).
  PROV_ASSIGN_OR_RETURN(auto logged, IndexRootOf(c->size));
  if (logged) {
    PROV_ASSIGN_OR_RETURN(index_, IndexAt(c->size, verifier::IndexTree(), 0, *logged));
    index_size_ = c->size;
  }
  return Status::Ok();
}

Result<std::string> TilePublisher::TileBytes(const TileRef& t) const {
  std::string out;
  if (t.level == verifier::kEntriesLevel) {
    std::string leaf;
    for (uint64_t i = t.index * verifier::kTileWidth; i < t.index * verifier::kTileWidth + t.width;
         ++i) {
      PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::LeafKey(i), &leaf));
      if (!found) return verifier::DataLoss("LEAF_MISSING", "leaf " + std::to_string(i));
      PROV_RETURN_IF_ERROR(verifier::AppendBundleEntry(&out, leaf));
    }
    return out;
  }
  PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::TileKey(t.level, t.index), &out));
  if (!found || out.size() % 32 != 0 || out.size() < t.width * 32) {
    return verifier::DataLoss("TREE_CORRUPT", "stored tile " + std::to_string(t.level) + "/" +
                                                  std::to_string(t.index) +
                                                  " is missing or too short");
  }
  out.resize(t.width * 32);
  return out;
}

Status TilePublisher::MakeDirs(const std::string& rel_dir) {
  std::string path = dir_;
  for (size_t start = 0; start < rel_dir.size();) {
    size_t slash = rel_dir.find('/', start);
    if (slash == std::string::npos) slash = rel_dir.size();
    std::string parent = path;
    path += "/" + rel_dir.substr(start, slash - start);
    start = slash + 1;
    if (::mkdir(path.c_str(), 0755) == 0) {
      PROV_RETURN_IF_ERROR(SyncDir(parent));
    } else if (errno != EEXIST) {
      return IoError("mkdir", path, errno);
    } else if (!synced_dirs_.count(path)) {
      // It may have been made by a run that crashed before syncing `parent`.
      PROV_RETURN_IF_ERROR(SyncDir(parent));
    }
    synced_dirs_.insert(path);
  }
  return Status::Ok();
}

Status TilePublisher::Stage(const std::string& rel, const std::string& bytes, bool sync) {
  std::string existing;
  PROV_ASSIGN_OR_RETURN(bool found, ReadIfExists(dir_ + "/" + rel, &existing));
  if (found) {
    if (existing == bytes) return Status::Ok();
    return verifier::DataLoss("TILE_MISMATCH",
                              dir_ + "/" + rel + " exists with other bytes than this log's (" +
                                  std::to_string(existing.size()) + " bytes, expected " +
                                  std::to_string(bytes.size()) +
                                  "): the directory belongs to another log or is corrupt");
  }
  PROV_RETURN_IF_ERROR(MakeDirs(Parent(rel)));
  std::string staging = dir_ + "/" + kStaging + "/" + std::to_string(++staged_counter_) + ".tmp";
  PROV_RETURN_IF_ERROR(WriteSynced(staging, bytes, sync));
  if (!sync) unsynced_ = true;
  staged_.emplace_back(std::move(staging), rel);
  return Status::Ok();
}

Status TilePublisher::CommitStaged() {
  std::set<std::string> dirs;
  Status status;
  if (unsynced_) {
    // Many small files (index tiles): one syncfs instead of an fsync each.
    status = SyncFilesystem(dir_);
    unsynced_ = false;
  }
  size_t i = status.ok() ? 0 : staged_.size();
  for (; i < staged_.size() && status.ok(); ++i) {
    const auto& [staging, rel] = staged_[i];
    const std::string final_path = dir_ + "/" + rel;
    if (::rename(staging.c_str(), final_path.c_str()) != 0) {
      status = IoError("rename to", final_path, errno);
      break;
    }
    dirs.insert(Parent(final_path));
  }
  for (size_t j = i; j < staged_.size(); ++j) ::unlink(staged_[j].first.c_str());
  staged_.clear();
  if (dirs.size() > 16) {
    Status s = SyncFilesystem(dir_);  // the renames of many directories at once
    if (status.ok()) status = s;
    return status;
  }
  for (const auto& d : dirs) {
    Status s = SyncDir(d);
    if (status.ok()) status = s;
  }
  return status;
}

Status TilePublisher::PublishTiles(uint64_t size) {
  if (size <= tiles_size_) return Status::Ok();
  Status s;
  for (const TileRef& t : verifier::TilesToPublish(tiles_size_, size)) {
    auto bytes = TileBytes(t);
    s = bytes.ok() ? Stage(verifier::TilePath(t), *bytes) : bytes.status();
    if (!s.ok()) break;
  }
  auto index = s.ok() ? StageIndex(size) : Result<std::optional<verifier::IndexTree>>(s);
  if (!index.ok()) {
    for (const auto& [staging, rel] : staged_) ::unlink(staging.c_str());
    staged_.clear();
    unsynced_ = false;
    return index.status();
  }
  PROV_RETURN_IF_ERROR(CommitStaged());
  tiles_size_ = size;
  if (*index) {
    index_ = std::move(**index);
    index_size_ = size;
  }
  return Status::Ok();
}

Result<verifier::IndexTree> TilePublisher::Advance(const verifier::IndexTree& from,
                                                   uint64_t from_covered, uint64_t covered) const {
  // The leaves between the two index roots changed these subjects.
  std::vector<Hash> dirty;
  std::string leaf;
  for (uint64_t i = from_covered; i < covered; ++i) {
    PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::LeafKey(i), &leaf));
    if (!found) return verifier::DataLoss("LEAF_MISSING", "leaf " + std::to_string(i));
    // The rulebook vetted every leaf before it was stored: one that is not a
    // record concerns no subject.
    provenance::v1::Record r;
    if (!verifier::ParseLeafRecord(leaf, &r)) continue;
    for (const auto& subject : verifier::SubjectsOf(r))
      dirty.push_back(verifier::SubjectKey(subject));
  }
  std::sort(dirty.begin(), dirty.end());
  dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
  std::vector<std::pair<Hash, Hash>> leaves;
  KvStateView state(kv_);
  for (const Hash& k : dirty) {
    PROV_ASSIGN_OR_RETURN(auto history, HistoryBefore(state, k, covered));
    leaves.emplace_back(k, verifier::IndexHistoryHash(history));
  }
  return from.With(std::move(leaves));
}

Result<verifier::IndexTree> TilePublisher::IndexAt(uint64_t size, const verifier::IndexTree& from,
                                                   uint64_t from_size,
                                                   const provenance::v1::IndexRoot& logged) const {
  const uint64_t covered = size - 1;
  verifier::IndexTree tree;
  if (from_size == 0) {
    SubjectIndex all;  // every stored history, cut at the head
    PROV_RETURN_IF_ERROR(all.Load(*kv_, covered));
    tree = all.current();
  } else {
    PROV_ASSIGN_OR_RETURN(tree, Advance(from, from_size - 1, covered));
  }
  // It must be what the head's last leaf logged: never publish another index.
  const Hash root = tree.Root();
  if (logged.root() != verifier::AsStringView(root)) {
    return verifier::DataLoss("INDEX_CORRUPT",
                              "the stored histories do not give the index root "
                              "logged at #" +
                                  std::to_string(covered));
  }
  return tree;
}

Result<std::optional<provenance::v1::IndexRoot>> TilePublisher::IndexRootOf(uint64_t size) const {
  std::string leaf;
  PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::LeafKey(size - 1), &leaf));
  provenance::v1::Record r;
  if (!found || !verifier::ParseLeafRecord(leaf, &r) || !r.has_index_root()) {
    return std::optional<provenance::v1::IndexRoot>();
  }
  return std::optional<provenance::v1::IndexRoot>(r.index_root());
}

Result<std::optional<verifier::IndexTree>> TilePublisher::StageIndex(uint64_t size) {
  PROV_ASSIGN_OR_RETURN(auto logged, IndexRootOf(size));
  if (!logged) return std::optional<verifier::IndexTree>();  // a log without an index
  PROV_ASSIGN_OR_RETURN(verifier::IndexTree tree, IndexAt(size, index_, index_size_, *logged));
  KvStateView state(kv_);
  const uint64_t covered = size - 1;
  Status st = verifier::IndexTilesToPublish(
      tree, index_, [&](const Hash& k) { return HistoryBefore(state, k, covered); },
      [&](const Hash& h, std::string bytes) {
        return Stage(verifier::IndexTilePath(h), bytes, /*sync=*/false);
      });
  PROV_RETURN_IF_ERROR(st);
  return std::optional<verifier::IndexTree>(std::move(tree));
}

Status TilePublisher::PublishCheckpoint(const std::string& note) {
  PROV_ASSIGN_OR_RETURN(verifier::Checkpoint c,
                        verifier::VerifyCheckpoint(note, verifier_, verifier_.name));
  if (c.size < published_size_) {
    return verifier::FailedPrecondition("CHECKPOINT_OLDER",
                                        "checkpoint of size " + std::to_string(c.size) +
                                            " is older than the published one (" +
                                            std::to_string(published_size_) + ")");
  }
  if (c.size > tiles_size_) {
    return verifier::FailedPrecondition("TILES_NOT_WRITTEN",
                                        "checkpoint of size " + std::to_string(c.size) +
                                            " needs tiles beyond those written (" +
                                            std::to_string(tiles_size_) + ")");
  }
  PROV_ASSIGN_OR_RETURN(Hash root, reader_.RootAt(c.size));
  if (root != c.root) {
    return verifier::InvalidArgument(
        "CHECKPOINT_ROOT_MISMATCH",
        "checkpoint root at size " + std::to_string(c.size) + " is not the stored tree's");
  }
  PROV_RETURN_IF_ERROR(PublishRotations(c.size));
  const std::string staging =
      dir_ + "/" + kStaging + "/" + std::to_string(++staged_counter_) + ".tmp";
  const std::string final_path = dir_ + "/" + kCheckpoint;
  PROV_RETURN_IF_ERROR(WriteSynced(staging, note));
  if (::rename(staging.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(staging.c_str());
    return IoError("rename to", final_path, err);
  }
  PROV_RETURN_IF_ERROR(SyncDir(dir_));
  uint64_t old_size = published_size_;
  published_size_ = c.size;
  published_note_ = note;
  RemoveSupersededPartials(old_size, c.size);
  return Status::Ok();
}

Status TilePublisher::PublishRotations(uint64_t size) {
  PROV_ASSIGN_OR_RETURN(auto leaves, LogKeyRotationLeaves(*kv_));
  std::erase_if(leaves, [&](const verifier::RotationLeaf& l) { return l.index >= size; });
  if (leaves.size() == published_rotations_) return Status::Ok();
  // Before the checkpoint that needs them, so a reader never lacks them.
  const std::string staging =
      dir_ + "/" + kStaging + "/" + std::to_string(++staged_counter_) + ".tmp";
  const std::string final_path = dir_ + "/" + verifier::kLogKeyRotationsPath;
  PROV_RETURN_IF_ERROR(WriteSynced(staging, verifier::FormatLogKeyRotations(leaves)));
  if (::rename(staging.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(staging.c_str());
    return IoError("rename to", final_path, err);
  }
  PROV_RETURN_IF_ERROR(SyncDir(dir_));
  published_rotations_ = leaves.size();
  return Status::Ok();
}

void TilePublisher::RemoveSupersededPartials(uint64_t old_size, uint64_t new_size) {
  // Best effort: a partial left behind is still correct, just unneeded.
  for (const TileRef& t : verifier::TilesToPublish(old_size, new_size)) {
    if (!t.full()) continue;
    std::error_code ec;
    fs::remove_all(dir_ + "/" + verifier::TilePath(t) + ".p", ec);
  }
}

Status TilePublisher::Publish(const std::string& note, const CheckpointHook& hook) {
  PROV_ASSIGN_OR_RETURN(verifier::Checkpoint c,
                        verifier::VerifyCheckpoint(note, verifier_, verifier_.name));
  PROV_RETURN_IF_ERROR(PublishTiles(c.size));
  if (!hook) return PublishCheckpoint(note);
  PROV_ASSIGN_OR_RETURN(std::string hooked, hook(note, c.size));
  PROV_ASSIGN_OR_RETURN(verifier::Checkpoint h,
                        verifier::VerifyCheckpoint(hooked, verifier_, verifier_.name));
  if (verifier::FormatCheckpoint(h) != verifier::FormatCheckpoint(c)) {
    return verifier::InvalidArgument("HOOK_CHANGED_CHECKPOINT",
                                     "the checkpoint hook changed the checkpoint's body");
  }
  return PublishCheckpoint(hooked);
}

TileFollower::TileFollower(const Ledger* ledger, std::unique_ptr<TilePublisher> publisher,
                           CheckpointHook hook, std::function<void(const Status&)> on_error,
                           std::function<void(const std::string&)> on_published,
                           std::chrono::milliseconds min_interval)
    : ledger_(ledger),
      publisher_(std::move(publisher)),
      hook_(std::move(hook)),
      on_error_(std::move(on_error)),
      on_published_(std::move(on_published)),
      min_interval_(min_interval) {
  published_ = publisher_->published_size();
  if (on_published_ && !publisher_->published_note().empty()) {
    on_published_(publisher_->published_note());
  }
  thread_ = std::thread([this] { Loop(); });
}

TileFollower::~TileFollower() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool TileFollower::WaitForPublished(uint64_t size,
                                    std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return published_ >= size; });
}

void TileFollower::Loop() {
  using std::chrono::milliseconds;
  std::string last_note;
  milliseconds backoff(500);
  while (!stop_) {
    auto c = ledger_->Checkpoint();
    if (c->note() == last_note) {
      // New sizes wake us at once; a re-signed head within 250 ms.
      ledger_->WaitForCheckpoint(c->size(), std::chrono::steady_clock::now() + milliseconds(250));
      continue;
    }
    Status s = publisher_->Publish(c->note(), hook_);
    std::unique_lock lock(mu_);
    if (!s.ok()) {
      if (on_error_) on_error_(s);
      cv_.wait_for(lock, backoff, [&] { return stop_.load(); });
      backoff = std::min(backoff * 2, milliseconds(30000));
      continue;
    }
    backoff = milliseconds(500);
    last_note = c->note();
    published_ = publisher_->published_size();
    lock.unlock();
    if (on_published_) on_published_(publisher_->published_note());
    lock.lock();
    cv_.notify_all();
    // At most one published head per interval: under load each round then
    // carries many batches (fewer partial tiles, fsyncs and witness calls).
    if (min_interval_.count() > 0) {
      cv_.wait_for(lock, min_interval_, [&] { return stop_.load(); });
    }
  }
}

}  // namespace ledger
