#include "ledger/ledger.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "ledger/coding.h"
#include "ledger/log_key_rotation.h"
#include "ledger/metrics.h"
#include "proto/state.pb.h"
#include "verifier/suggest.h"

namespace ledger {

using verifier::Status;

namespace {

Result<std::string> ReadLatestNote(const KvStore& kv) {
  std::string note;
  PROV_ASSIGN_OR_RETURN(bool found, kv.Get(coding::kLatestCheckpointKey, &note));
  if (!found) {
    return verifier::NotFound("NO_LEDGER", "the database holds no ledger (run `provd init`)");
  }
  return note;
}

// The origin is the first line of a checkpoint note.
std::string NoteOrigin(const std::string& note) { return note.substr(0, note.find('\n')); }

// A signed checkpoint note with the signing time as its Timestamp line.
std::string CheckpointNote(const std::string& origin, uint64_t size, const Hash& root,
                           const verifier::SigningKey& key) {
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  verifier::Checkpoint c{origin, size, root, {verifier::TimestampExtension(now_ns)}};
  return verifier::SignNote(verifier::FormatCheckpoint(c), origin, key);
}

// What submitters are told while storage fails (`why`: the store's error).
Status StorageUnavailable(const Status& why) {
  return Status(verifier::Code::kUnavailable, "STORAGE_ERROR",
                "storage unavailable: " + why.message() +
                    "; nothing more is appended until the disk takes writes again (retry)");
}

void Sort(std::vector<uint64_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace

Status Ledger::Init(KvStore* kv, const verifier::SigningKey& log_key, const pb::Record& genesis) {
  std::string existing;
  PROV_ASSIGN_OR_RETURN(bool exists, kv->Get(coding::kLatestCheckpointKey, &existing));
  if (exists) return verifier::AlreadyExists("LEDGER_EXISTS", "a ledger already exists here");
  if (genesis.kind_case() != pb::Record::kGenesis) {
    return verifier::InvalidArgument("NO_GENESIS", "leaf 0 must be a genesis record");
  }
  pb::SignedRecord sr;
  genesis.SerializeToString(sr.mutable_record());
  PROV_ASSIGN_OR_RETURN(auto prepared, verifier::PrepareRecord(sr.SerializeAsString()));
  KvStateView view(kv);
  verifier::StateOverlay state(&view);
  PROV_RETURN_IF_ERROR(verifier::ApplyPrepared(state, prepared, 0));

  // Leaf 1: the index of leaf 0 (which concerns no subject).
  const std::string& origin = genesis.genesis().origin();
  PROV_ASSIGN_OR_RETURN(auto root_leaf, IndexRootLeaf(origin, 1, verifier::IndexTree()));
  PROV_RETURN_IF_ERROR(verifier::ApplyPrepared(state, root_leaf, 1));

  TileReader reader(kv);
  PROV_ASSIGN_OR_RETURN(TreeWriter writer, TreeWriter::Open(reader, kv, 0));
  KvBatch batch;
  uint64_t index = 0;
  for (const verifier::PreparedRecord* rec : {&prepared, &root_leaf}) {
    writer.Append(rec->leaf_hash);
    batch.Put(coding::LeafKey(index), rec->leaf);
    std::string idx;
    coding::PutBigEndian64(&idx, index);
    batch.Put(coding::LeafHashKey(rec->leaf_hash), idx);
    ++index;
  }
  for (const auto& [k, v] : state.writes()) batch.Put(coding::StateKey(k), v);
  writer.FlushTiles(&batch);
  std::string note = CheckpointNote(origin, index, writer.Root(), log_key);
  batch.Put(coding::CheckpointKey(index), note);
  batch.Put(std::string(coding::kLatestCheckpointKey), note);
  return kv->Write(batch);
}

Ledger::Ledger(std::unique_ptr<KvStore> kv, const verifier::SigningKey& key, LedgerOptions options)
    : kv_(std::move(kv)), log_key_(key), options_(options), reader_(kv_.get()), state_(kv_.get()) {}

Result<std::unique_ptr<Ledger>> Ledger::Open(std::unique_ptr<KvStore> kv,
                                             const verifier::SigningKey& log_key,
                                             LedgerOptions options) {
  PROV_ASSIGN_OR_RETURN(std::string note, ReadLatestNote(*kv));
  std::string origin = NoteOrigin(note);
  std::string vkey = verifier::FormatVerifierKey(origin, log_key.public_key());
  PROV_ASSIGN_OR_RETURN(auto verifier_key, verifier::ParseVerifierKey(vkey));
  std::unique_ptr<Ledger> l(new Ledger(std::move(kv), log_key, options));
  l->origin_ = origin;
  l->vkey_ = vkey;
  l->note_verifier_ = verifier_key;
  PROV_RETURN_IF_ERROR(l->Load());
  l->sequencer_ = std::thread([p = l.get()] { p->SequencerLoop(); });
  return l;
}

Status Ledger::Load() {
  PROV_ASSIGN_OR_RETURN(std::string note, ReadLatestNote(*kv_));
  auto checkpoint = verifier::VerifyCheckpoint(note, note_verifier_, origin_);
  if (!checkpoint.ok()) {
    return verifier::DataLoss(
        "BAD_CHECKPOINT",
        "latest checkpoint does not verify with the log key (after an interrupted "
        "`provd rotate-log-key`, run it again to finish): " +
            checkpoint.status().ToString());
  }
  const uint64_t size = checkpoint->size;
  if (auto before = Checkpoint(); before && size < before->size()) {
    return verifier::DataLoss("HEAD_LOST", "the durable head has size " + std::to_string(size) +
                                               ", below the " + std::to_string(before->size()) +
                                               " acknowledged before the storage error");
  }

  // The stored tree must be exactly the checkpointed one.
  auto root = reader_.RootAt(size);
  if (!root.ok()) return root.status();
  if (!verifier::ConstantTimeEqual(*root, checkpoint->root)) {
    return verifier::DataLoss("TREE_CORRUPT", "stored tree root at size " + std::to_string(size) +
                                                  " differs from the signed checkpoint");
  }
  PROV_ASSIGN_OR_RETURN(std::string last, GetLeaf(size - 1));
  PROV_ASSIGN_OR_RETURN(Hash last_hash, reader_.SubtreeHash(size - 1, size));
  if (verifier::LeafHash(verifier::AsBytes(last)) != last_hash) {
    return verifier::DataLoss("TREE_CORRUPT",
                              "leaf " + std::to_string(size - 1) + " does not match its tree hash");
  }
  std::string extra;
  PROV_ASSIGN_OR_RETURN(bool beyond, kv_->Get(coding::LeafKey(size), &extra));
  if (beyond) {
    return verifier::DataLoss("TREE_CORRUPT",
                              "a leaf exists beyond the checkpointed size " + std::to_string(size));
  }
  PROV_ASSIGN_OR_RETURN(TreeWriter writer, TreeWriter::Open(reader_, kv_.get(), size));

  // The index, rebuilt from the stored histories, must be the one the
  // head's last leaf logged.
  pb::Record last_record;
  if (!verifier::ParseLeafRecord(last, &last_record) || !last_record.has_index_root()) {
    return verifier::FailedPrecondition(
        "LEDGER_WITHOUT_INDEX",
        "the head's last leaf is not an index root: this ledger predates "
        "the verifiable index (docs/index.md); create a new one");
  }
  if (Status loaded = index_.Load(*kv_); !loaded.ok()) {
    if (loaded.code() != verifier::Code::kDataLoss) return loaded;  // storage error
    return verifier::DataLoss("INDEX_CORRUPT",
                              "the stored subject histories do not load: " + loaded.ToString());
  }
  const Hash index_root = index_.current().Root();
  if (last_record.index_root().root() != verifier::AsStringView(index_root) ||
      last_record.index_root().subjects() != index_.current().size()) {
    return verifier::DataLoss(
        "INDEX_CORRUPT", "the stored subject histories do not give the index root logged at #" +
                             std::to_string(size - 1));
  }
  index_.Adopt(size, index_.current(), Head(true) ? Head(true)->size() : size);
  writer_ = std::make_unique<TreeWriter>(std::move(writer));
  pb::LogKeyState rotated;
  PROV_ASSIGN_OR_RETURN(bool has_rotated,
                        verifier::GetMessage(state_, verifier::state_key::LogKey(), &rotated));
  if (has_rotated && rotated.rotation().new_key() != vkey_) {
    return verifier::FailedPrecondition(
        "WRONG_LOG_KEY", "the log rotated its key at #" + std::to_string(rotated.index()) + " to " +
                             rotated.rotation().new_key() + ", not the given key");
  }

  if (auto current = Checkpoint(); current && current->note() == note) return Status::Ok();
  auto c = std::make_shared<pb::SignedCheckpoint>();
  c->set_note(note);
  c->set_size(size);
  c->set_root_hash(std::string(verifier::AsStringView(checkpoint->root)));
  Publish(std::move(c));
  return Status::Ok();
}

Ledger::~Ledger() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  queue_space_cv_.notify_all();
  if (sequencer_.joinable()) sequencer_.join();
}

std::future<Ack> Ledger::Submit(verifier::PreparedRecord record) {
  Pending p{std::move(record), {}};
  std::future<Ack> f = p.promise.get_future();
  if (p.record.record.has_index_root() || p.record.record.has_log_key_rotation()) {
    p.promise.set_value(
        Ack{verifier::PermissionDenied("LOG_RECORD", verifier::RecordKindName(p.record.record) +
                                                         " records are written by the log itself"),
            0, false, nullptr});
    return f;
  }
  {
    std::unique_lock lock(queue_mu_);
    queue_space_cv_.wait(lock, [&] { return stopping_ || queue_.size() < options_.max_queue; });
    if (stopping_) {
      p.promise.set_value(
          Ack{Status(verifier::Code::kUnavailable, "SHUTTING_DOWN", "the ledger is stopping"), 0,
              false, nullptr});
      return f;
    }
    queue_.push_back(std::move(p));
  }
  queue_cv_.notify_one();
  return f;
}

Ack Ledger::SubmitAndWait(std::string leaf) {
  auto prepared = verifier::PrepareRecord(std::move(leaf));
  if (!prepared.ok()) return Ack{prepared.status(), 0, false, nullptr};
  return Submit(std::move(prepared).value()).get();
}

void Ledger::SequencerLoop() {
  RefreshCheckpoint();  // a head loaded from disk may be old
  std::vector<Pending> batch;
  auto next_retry = std::chrono::steady_clock::now();
  for (;;) {
    const bool failed = storage_failed_.load();
    {
      std::unique_lock lock(queue_mu_);
      const auto wait = failed ? std::max(std::chrono::steady_clock::duration::zero(),
                                          next_retry - std::chrono::steady_clock::now())
                               : std::chrono::steady_clock::duration(options_.checkpoint_refresh);
      const bool work =
          queue_cv_.wait_for(lock, wait, [&] { return stopping_ || !queue_.empty(); });
      if (!work) {
        lock.unlock();
        if (failed) {
          TryRecoverStorage();
          next_retry = std::chrono::steady_clock::now() + options_.storage_retry;
        } else {
          RefreshCheckpoint();
        }
        continue;
      }
      if (queue_.empty()) return;  // stopping, and drained
      size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    queue_space_cv_.notify_all();
    if (failed) {
      RefuseQueued(batch);
      if (std::chrono::steady_clock::now() >= next_retry) {  // also under a steady stream
        TryRecoverStorage();
        next_retry = std::chrono::steady_clock::now() + options_.storage_retry;
      }
    } else {
      CommitBatch(batch);
      if (storage_failed_) next_retry = std::chrono::steady_clock::now() + options_.storage_retry;
    }
    batch.clear();
  }
}

Status Ledger::StorageStatus() const {
  std::lock_guard lock(storage_mu_);
  return storage_;
}

void Ledger::StorageFailed(const Status& why) {
  // Whatever the sequencer holds may be ahead of the disk: forget it. The
  // head is reloaded from the store once it recovers.
  index_.Discard();
  writer_.reset();
  Status failure = why.code() == verifier::Code::kDataLoss ? why : StorageUnavailable(why);
  {
    std::lock_guard lock(storage_mu_);
    const bool changed = storage_.ok() || storage_.code() != failure.code();
    storage_ = failure;
    storage_failed_ = true;
    if (!changed) return;
  }
  if (Metrics* m = options_.metrics) m->RecordStorageFailure();
  if (options_.on_storage_change) options_.on_storage_change(failure);
}

void Ledger::RefuseQueued(std::vector<Pending>& batch) {
  const Status why = StorageStatus();
  auto ckpt = Checkpoint();
  for (Pending& p : batch) {
    // A record the durable tree holds is answered as usual (a client
    // retrying after an error learns its index); nothing else is.
    auto logged = FindLeaf(p.record.leaf_hash);
    if (logged.ok() && *logged < ckpt->size()) {
      if (Metrics* m = options_.metrics) m->RecordDuplicate();
      p.promise.set_value({Status::Ok(), *logged, true, ckpt});
    } else {
      p.promise.set_value(Ack{why, 0, false, nullptr});
    }
  }
}

void Ledger::TryRecoverStorage() {
  if (StorageStatus().code() == verifier::Code::kDataLoss) return;  // for an operator
  Status s = kv_->Recover();
  if (s.ok()) s = Load();
  if (s.ok()) {
    // Prove that a synced write goes through: the head, re-signed.
    auto ckpt = SignCheckpoint(writer_->size(), writer_->Root());
    KvBatch kv;
    kv.Put(std::string(coding::kLatestCheckpointKey), ckpt->note());
    s = kv_->Write(kv);
    if (s.ok()) Publish(ckpt);
  }
  if (!s.ok()) {
    // Still failing: the latest reason is kept (and reported again only if
    // it is now a DATA_LOSS, which stays).
    const bool lost = s.code() == verifier::Code::kDataLoss;
    index_.Discard();
    writer_.reset();
    std::lock_guard lock(storage_mu_);
    storage_ = lost ? s : StorageUnavailable(s);
    if (!lost) return;
  } else {
    std::lock_guard lock(storage_mu_);
    storage_ = Status::Ok();
    storage_failed_ = false;
  }
  if (options_.on_storage_change) options_.on_storage_change(StorageStatus());
}

void Ledger::CommitBatch(std::vector<Pending>& batch) {
  const auto started = std::chrono::steady_clock::now();
  const uint64_t old_size = writer_->size();
  uint64_t next = old_size;
  verifier::StateOverlay state(&state_);
  KvBatch kv;
  std::map<Hash, uint64_t> batch_hashes;
  std::vector<Done> done;
  done.reserve(batch.size());
  std::shared_ptr<const verifier::SigningKey> rotate_to;  // a log key rotation appended
  int64_t index_root_time = 0;                            // AppendBatch's; 0: now

  for (size_t i = 0; i < batch.size(); ++i) {
    const verifier::PreparedRecord& rec = batch[i].record;
    auto in_batch = batch_hashes.find(rec.leaf_hash);
    if (in_batch != batch_hashes.end()) {
      done.push_back({i, in_batch->second, true});
      continue;
    }
    auto logged = FindLeaf(rec.leaf_hash);
    if (logged.ok()) {
      done.push_back({i, *logged, true});
      continue;
    }
    if (logged.status().code() != verifier::Code::kNotFound) {
      batch[i].promise.set_value(Ack{logged.status(), 0, false, nullptr});
      continue;
    }
    verifier::StateOverlay rec_state(&state);
    Status s = verifier::ApplyPrepared(rec_state, rec, next);
    if (s.ok()) s = index_.Stage(rec_state, rec.record, next);
    if (!s.ok()) {
      batch[i].promise.set_value(Ack{s, 0, false, nullptr});  // nothing appended
      continue;
    }
    state.Absorb(rec_state);
    AppendLeaf(&kv, rec, next);
    if (batch[i].rotate_to) rotate_to = batch[i].rotate_to;
    if (batch[i].index_root_time) index_root_time = batch[i].index_root_time;
    batch_hashes.emplace(rec.leaf_hash, next);
    done.push_back({i, next, false});
    ++next;
  }

  std::shared_ptr<const pb::SignedCheckpoint> ckpt;
  std::optional<verifier::IndexTree> tree;
  if (next > old_size) {
    // The batch's last leaf: the index of every leaf before it.
    Status s;
    auto staged = index_.Staged();
    if (staged.ok()) {
      tree = std::move(staged).value();
      auto root_leaf = IndexRootLeaf(origin_, next, *tree, index_root_time);
      s = root_leaf.status();
      if (s.ok()) s = verifier::ApplyPrepared(state, *root_leaf, next);
      if (s.ok()) AppendLeaf(&kv, *root_leaf, next++);
    } else {
      s = staged.status();
    }
    if (!s.ok()) {
      FailBatch(batch, done, old_size, s);
      return;
    }
    for (const auto& [k, v] : state.writes()) kv.Put(coding::StateKey(k), v);
    writer_->FlushTiles(&kv);
    ckpt = SignCheckpoint(next, writer_->Root(), rotate_to ? *rotate_to : log_key_);
    kv.Put(coding::CheckpointKey(next), ckpt->note());
    kv.Put(std::string(coding::kLatestCheckpointKey), ckpt->note());
    s = kv_->Write(kv);
    if (!s.ok()) {
      StorageFailed(s);
      const Status why = StorageStatus();
      for (const Done& d : done) batch[d.slot].promise.set_value(Ack{why, 0, false, nullptr});
      return;
    }
    index_.Adopt(next, std::move(*tree), Head(true)->size());
    if (rotate_to) AdoptLogKey(*rotate_to);
    Publish(ckpt);
  } else {
    ckpt = Checkpoint();
  }
  if (Metrics* m = options_.metrics) {
    uint64_t appended = 0;
    for (const Done& d : done) {
      if (d.already_logged) {
        m->RecordDuplicate();
      } else {
        ++appended;
      }
    }
    m->RecordBatch(
        batch.size(), appended,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  for (const Done& d : done) {
    batch[d.slot].promise.set_value({Status::Ok(), d.index, d.already_logged, ckpt});
  }
}

void Ledger::AppendLeaf(KvBatch* kv, const verifier::PreparedRecord& rec, uint64_t index) {
  kv->Put(coding::LeafKey(index), rec.leaf);
  std::string idx;
  coding::PutBigEndian64(&idx, index);
  kv->Put(coding::LeafHashKey(rec.leaf_hash), std::move(idx));
  writer_->Append(rec.leaf_hash);
}

void Ledger::FailBatch(std::vector<Pending>& batch, const std::vector<Done>& done,
                       uint64_t old_size, const Status& why) {
  // Nothing was acknowledged; roll the in-memory tree and index back.
  index_.Discard();
  auto reopened = TreeWriter::Open(reader_, kv_.get(), old_size);
  if (reopened.ok()) {
    writer_ = std::make_unique<TreeWriter>(std::move(reopened).value());
  } else {
    StorageFailed(reopened.status());  // cannot read the tree back: reload it later
  }
  for (const Done& d : done) batch[d.slot].promise.set_value(Ack{why, 0, false, nullptr});
}

void Ledger::RefreshCheckpoint() {
  auto latest = Checkpoint();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const std::string& note = latest->note();
  auto parsed = verifier::ParseCheckpoint(note.substr(0, note.find("\n\n") + 1));
  if (parsed.ok()) {
    auto t = verifier::CheckpointTime(*parsed);
    if (t.ok() && *t && now - *t < options_.checkpoint_refresh.count()) return;
  }
  auto ckpt = SignCheckpoint(writer_->size(), writer_->Root());
  KvBatch kv;
  kv.Put(std::string(coding::kLatestCheckpointKey), ckpt->note());
  if (Status s = kv_->Write(kv); !s.ok()) {
    StorageFailed(s);  // the old head stays
    return;
  }
  Publish(ckpt);
}

std::shared_ptr<const pb::SignedCheckpoint> Ledger::SignCheckpoint(uint64_t size,
                                                                   const Hash& root) const {
  return SignCheckpoint(size, root, log_key_);
}

std::shared_ptr<const pb::SignedCheckpoint> Ledger::SignCheckpoint(
    uint64_t size, const Hash& root, const verifier::SigningKey& key) const {
  auto out = std::make_shared<pb::SignedCheckpoint>();
  out->set_note(CheckpointNote(origin_, size, root, key));
  out->set_size(size);
  out->set_root_hash(std::string(verifier::AsStringView(root)));
  return out;
}

void Ledger::Publish(std::shared_ptr<const pb::SignedCheckpoint> c) {
  {
    std::lock_guard lock(ckpt_mu_);
    checkpoint_ = std::move(c);
  }
  ckpt_cv_.notify_all();
}

std::shared_ptr<const pb::SignedCheckpoint> Ledger::Checkpoint() const {
  std::lock_guard lock(ckpt_mu_);
  return checkpoint_;
}

std::shared_ptr<const pb::SignedCheckpoint> Ledger::Head(bool published) const {
  std::lock_guard lock(ckpt_mu_);
  return published && published_ ? published_ : checkpoint_;
}

std::shared_ptr<const pb::SignedCheckpoint> Ledger::WaitForHead(
    bool published, uint64_t after_size, std::chrono::steady_clock::time_point deadline) const {
  {
    // A ledger that has published nothing (no tiles, or not yet) has only
    // signed heads to give.
    std::lock_guard lock(ckpt_mu_);
    if (!published_) published = false;
  }
  if (!published) return WaitForCheckpoint(after_size, deadline);
  std::unique_lock lock(ckpt_mu_);
  ckpt_cv_.wait_until(lock, deadline, [&] { return published_->size() > after_size; });
  return published_;
}

verifier::Status Ledger::SetPublished(const std::string& note) {
  PROV_ASSIGN_OR_RETURN(verifier::Checkpoint c,
                        verifier::VerifyCheckpoint(note, note_verifier_, origin_));
  PROV_ASSIGN_OR_RETURN(Hash root, reader_.RootAt(c.size));
  if (root != c.root) {
    return verifier::InvalidArgument("CHECKPOINT_ROOT_MISMATCH",
                                     "a published checkpoint's root is not the stored tree's");
  }
  auto p = std::make_shared<pb::SignedCheckpoint>();
  p->set_note(note);
  p->set_size(c.size);
  p->set_root_hash(std::string(verifier::AsStringView(c.root)));
  {
    std::lock_guard lock(ckpt_mu_);
    if (published_ && published_->size() > c.size) return verifier::Status::Ok();
    published_ = std::move(p);
  }
  ckpt_cv_.notify_all();
  return verifier::Status::Ok();
}

std::shared_ptr<const pb::SignedCheckpoint> Ledger::WaitForCheckpoint(
    uint64_t after_size, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(ckpt_mu_);
  ckpt_cv_.wait_until(lock, deadline, [&] { return checkpoint_->size() > after_size; });
  return checkpoint_;
}

Result<std::string> Ledger::GetLeaf(uint64_t index) const {
  std::string leaf;
  PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::LeafKey(index), &leaf));
  if (!found) {
    return verifier::DataLoss("LEAF_MISSING", "leaf " + std::to_string(index) + " is missing");
  }
  return leaf;
}

Result<uint64_t> Ledger::FindLeaf(const Hash& leaf_hash) const {
  std::string v;
  PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::LeafHashKey(leaf_hash), &v));
  if (!found || v.size() != 8) {
    return verifier::NotFound("UNKNOWN_LEAF", "no leaf has that hash");
  }
  return coding::DecodeBigEndian64(v);
}

Result<std::vector<pb::LogEntry>> Ledger::GetEntries(uint64_t start, uint64_t end) const {
  uint64_t size = Checkpoint()->size();
  if (start >= end || end > size) {
    return verifier::OutOfRange("BAD_RANGE",
                                "entries [" + std::to_string(start) + ", " + std::to_string(end) +
                                    ") are not within the tree of size " + std::to_string(size));
  }
  if (end - start > options_.max_entries_per_read) {
    return verifier::OutOfRange(
        "RANGE_TOO_LARGE",
        "at most " + std::to_string(options_.max_entries_per_read) + " entries per request");
  }
  std::vector<pb::LogEntry> out;
  size_t bytes = 0;
  for (uint64_t i = start; i < end; ++i) {
    PROV_ASSIGN_OR_RETURN(std::string leaf, GetLeaf(i));
    bytes += leaf.size();
    if (!out.empty() && bytes > options_.max_read_bytes) break;  // caller asks again
    pb::LogEntry e;
    e.set_index(i);
    e.set_signed_record(std::move(leaf));
    out.push_back(std::move(e));
  }
  return out;
}

Result<pb::InclusionProof> Ledger::InclusionProof(uint64_t index, uint64_t tree_size) const {
  uint64_t size = Checkpoint()->size();
  if (tree_size == 0) tree_size = size;
  if (tree_size > size) {
    return verifier::OutOfRange("TREE_SIZE_TOO_LARGE", "tree size " + std::to_string(tree_size) +
                                                           " exceeds the latest checkpoint " +
                                                           std::to_string(size));
  }
  PROV_ASSIGN_OR_RETURN(auto hashes, reader_.InclusionProof(index, tree_size));
  pb::InclusionProof p;
  p.set_index(index);
  p.set_tree_size(tree_size);
  for (const Hash& h : hashes) p.add_hashes(std::string(verifier::AsStringView(h)));
  return p;
}

Result<std::vector<Hash>> Ledger::ConsistencyHashes(uint64_t first, uint64_t* second) const {
  uint64_t size = Checkpoint()->size();
  if (*second == 0) *second = size;
  if (*second > size) {
    return verifier::OutOfRange("TREE_SIZE_TOO_LARGE", "tree size " + std::to_string(*second) +
                                                           " exceeds the latest checkpoint " +
                                                           std::to_string(size));
  }
  return reader_.ConsistencyProof(first, *second);
}

Result<pb::GetConsistencyProofResponse> Ledger::ConsistencyProof(uint64_t first,
                                                                 uint64_t second) const {
  PROV_ASSIGN_OR_RETURN(auto hashes, ConsistencyHashes(first, &second));
  pb::GetConsistencyProofResponse r;
  r.set_first(first);
  r.set_second(second);
  for (const Hash& h : hashes) r.add_hashes(std::string(verifier::AsStringView(h)));
  return r;
}

Status Ledger::AddSignerKeys(const std::string& leaf, std::vector<uint64_t>* out,
                             std::vector<std::string>* orgs) const {
  pb::SignedRecord sr;
  if (!sr.ParseFromString(leaf)) return verifier::DataLoss("LEAF_CORRUPT", "leaf does not parse");
  for (const auto& sig : sr.signatures()) {
    pb::KeyState ks;
    PROV_ASSIGN_OR_RETURN(
        bool found,
        verifier::GetMessage(
            state_, verifier::state_key::Key(verifier::KeyId(verifier::AsBytes(sig.public_key()))),
            &ks));
    if (!found) continue;  // an authority key: in genesis
    out->push_back(ks.enrolled_index());
    if (ks.revoked()) out->push_back(ks.revoked_index());
    orgs->push_back(ks.enrollment().org_id());
  }
  return Status::Ok();
}

Status Ledger::AddOrgClosure(const std::string& org_id, std::vector<uint64_t>* out,
                             std::vector<std::string>* visited) const {
  std::vector<std::string> todo{org_id};
  while (!todo.empty()) {
    std::string id = std::move(todo.back());
    todo.pop_back();
    if (std::find(visited->begin(), visited->end(), id) != visited->end()) continue;
    visited->push_back(id);
    pb::OrgState os;
    PROV_ASSIGN_OR_RETURN(bool found,
                          verifier::GetMessage(state_, verifier::state_key::Org(id), &os));
    if (!found) continue;
    for (uint64_t i : os.record_indices()) {
      out->push_back(i);
      PROV_ASSIGN_OR_RETURN(std::string leaf, GetLeaf(i));
      pb::SignedRecord sr;
      pb::Record r;
      if (!sr.ParseFromString(leaf) || !r.ParseFromString(sr.record())) {
        return verifier::DataLoss("LEAF_CORRUPT", "leaf " + std::to_string(i) + " does not parse");
      }
      if (r.has_organization()) PROV_RETURN_IF_ERROR(AddLaws(r.organization(), out));
      if (r.has_ownership() && r.ownership().owned_org() == id) {
        todo.push_back(r.ownership().owner_org());
      } else if (r.has_ownership()) {
        // A holding of this org: the held org's current record names it
        // (a policy judging affiliates describes it).
        pb::OrgState held;
        PROV_ASSIGN_OR_RETURN(
            bool have, verifier::GetMessage(
                           state_, verifier::state_key::Org(r.ownership().owned_org()), &held));
        if (have) out->push_back(held.latest_index());
      }
    }
  }
  return Status::Ok();
}

Result<pb::Evidence> Ledger::DeviceEvidence(const std::string& manufacturer,
                                            const std::string& serial) const {
  pb::DeviceRef ref;
  ref.set_manufacturer_org(manufacturer);
  ref.set_serial(serial);
  PROV_ASSIGN_OR_RETURN(pb::Evidence ev, DevicesEvidence({ref}));
  if (ev.unknown_devices_size() > 0) {
    return verifier::NotFound("UNKNOWN_DEVICE",
                              "device " + manufacturer + "/" + serial + " is not registered");
  }
  return ev;
}

Status Ledger::AddLaws(const pb::Organization& org, std::vector<uint64_t>* out) const {
  for (const auto& code : org.laws()) {
    pb::LawState ls;
    PROV_ASSIGN_OR_RETURN(bool found,
                          verifier::GetMessage(state_, verifier::state_key::Law(code), &ls));
    if (found) out->insert(out->end(), ls.record_indices().begin(), ls.record_indices().end());
  }
  return Status::Ok();
}

pb::UnknownId Ledger::Unknown(const std::string& kind, std::string_view prefix,
                              const std::string& id) const {
  std::vector<std::string> ids;
  const std::string kv_prefix = coding::StateKey(prefix);
  (void)kv_->Scan(kv_prefix, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(kv_prefix.size()));
    return ids.size() < 100'000;
  });
  pb::UnknownId u;
  u.set_kind(kind);
  u.set_id(id);
  for (auto& s : verifier::Nearest(id, ids)) u.add_suggestions(std::move(s));
  return u;
}

Result<pb::Evidence> Ledger::DevicesEvidence(const std::vector<pb::DeviceRef>& devices,
                                             const std::vector<std::string>& want_orgs,
                                             const std::vector<std::string>& want_laws,
                                             const std::vector<std::string>& certificate_issuers,
                                             const std::vector<std::string>& mac_addresses,
                                             bool witnessed) const {
  if (certificate_issuers.size() > kMaxEvidenceIssuers || mac_addresses.size() > kMaxEvidenceMacs) {
    return verifier::OutOfRange("TOO_MANY_IDENTIFIERS",
                                "at most " + std::to_string(kMaxEvidenceIssuers) +
                                    " certificate issuers and " + std::to_string(kMaxEvidenceMacs) +
                                    " MAC addresses per evidence request");
  }
  if (devices.size() > kMaxEvidenceDevices || want_orgs.size() > kMaxEvidenceDevices ||
      want_laws.size() > kMaxEvidenceDevices) {
    return verifier::OutOfRange("TOO_MANY_DEVICES",
                                "at most " + std::to_string(kMaxEvidenceDevices) +
                                    " devices (and as many orgs and laws) per evidence request, "
                                    "got " +
                                    std::to_string(devices.size()));
  }
  std::vector<uint64_t> indices{0};
  std::vector<std::string> orgs;
  std::vector<pb::DeviceRef> unknown;
  std::vector<pb::UnknownId> unknown_ids;
  // What the evidence proves complete, and what that relies on.
  std::vector<verifier::Subject> roots;
  for (const auto& d : devices)
    roots.push_back(verifier::subject::Device(d.manufacturer_org(), d.serial()));
  for (const auto& id : want_orgs) roots.push_back(verifier::subject::Org(id));
  for (const auto& code : want_laws) roots.push_back(verifier::subject::Law(code));
  // Every vetted MAC block: a scan (online, or later from a bundle of this
  // evidence) judges a camera's MACs against all of them.
  roots.push_back(verifier::subject::MacRegistry());
  // Who the authorities are (every authority set since the genesis), so
  // that any evidence tells the current set.
  roots.push_back(verifier::subject::Authorities());
  for (const auto& id : want_orgs) {
    std::string unused;
    PROV_ASSIGN_OR_RETURN(bool found, state_.Get(verifier::state_key::Org(id), &unused));
    if (found) {
      orgs.push_back(id);
      continue;
    }
    unknown_ids.push_back(Unknown("org", verifier::state_key::kOrgPrefix, id));
  }
  for (const auto& code : want_laws) {
    pb::LawState ls;
    PROV_ASSIGN_OR_RETURN(bool found,
                          verifier::GetMessage(state_, verifier::state_key::Law(code), &ls));
    if (found) {
      indices.insert(indices.end(), ls.record_indices().begin(), ls.record_indices().end());
      continue;
    }
    unknown_ids.push_back(Unknown("law", verifier::state_key::kLawPrefix, code));
  }
  for (const auto& issuer : certificate_issuers) {
    PROV_ASSIGN_OR_RETURN(verifier::Hash h, verifier::ToHash(verifier::AsBytes(issuer)));
    pb::IdentityCaSubjects subjects;
    PROV_ASSIGN_OR_RETURN(
        bool found,
        verifier::GetMessage(state_, verifier::state_key::IdentityCaSubject(h), &subjects));
    if (!found) continue;
    for (const auto& ref : subjects.cas()) {
      orgs.push_back(ref.manufacturer_org());
      roots.push_back(verifier::subject::Ca(ref.manufacturer_org(), ref.ca_id()));
    }
  }
  for (const auto& mac : mac_addresses) {
    PROV_ASSIGN_OR_RETURN(auto owner, verifier::MacBlockOf(state_, mac));
    if (owner) orgs.push_back(owner->block.org_id());
  }
  std::set<std::string> models;
  for (const auto& d : devices) {
    pb::DeviceState ds;
    PROV_ASSIGN_OR_RETURN(
        bool found,
        verifier::GetMessage(state_, verifier::state_key::Device(d.manufacturer_org(), d.serial()),
                             &ds));
    if (!found) {
      unknown.push_back(d);
      continue;
    }
    orgs.push_back(d.manufacturer_org());
    indices.insert(indices.end(), ds.record_indices().begin(), ds.record_indices().end());
    for (uint64_t i : ds.record_indices()) {
      PROV_ASSIGN_OR_RETURN(std::string leaf, GetLeaf(i));
      pb::SignedRecord sr;
      pb::Record r;
      if (sr.ParseFromString(leaf) && r.ParseFromString(sr.record()) && r.has_transfer()) {
        orgs.push_back(r.transfer().from_org());
        orgs.push_back(r.transfer().to_org());
      }
    }
    const std::string model_key = verifier::state_key::Model(d.manufacturer_org(), ds.model_id());
    if (!models.insert(model_key).second) continue;
    pb::ModelState ms;
    PROV_ASSIGN_OR_RETURN(bool have_model, verifier::GetMessage(state_, model_key, &ms));
    if (!have_model) continue;
    indices.push_back(ms.index());
    indices.insert(indices.end(), ms.firmware_indices().begin(), ms.firmware_indices().end());
    orgs.push_back(ms.model().brand_org());
    for (const auto& line : ms.model().bom()) {
      pb::ComponentState cs;
      const auto& ref = line.component();
      PROV_ASSIGN_OR_RETURN(
          bool have,
          verifier::GetMessage(
              state_, verifier::state_key::Component(ref.maker_org(), ref.part_number()), &cs));
      if (have) indices.push_back(cs.index());
      orgs.push_back(ref.maker_org());
    }
  }
  // Keys that signed any of these records, then every org and its owners.
  Sort(&indices);
  std::vector<uint64_t> records = indices;
  for (uint64_t i : records) {
    if (i == 0) continue;
    PROV_ASSIGN_OR_RETURN(std::string leaf, GetLeaf(i));
    PROV_RETURN_IF_ERROR(AddSignerKeys(leaf, &indices, &orgs));
  }
  std::vector<std::string> visited;
  for (const auto& org : orgs) PROV_RETURN_IF_ERROR(AddOrgClosure(org, &indices, &visited));
  PROV_ASSIGN_OR_RETURN(pb::Evidence ev,
                        BuildEvidence(std::move(indices), std::move(roots), witnessed));
  for (auto& d : unknown) *ev.add_unknown_devices() = std::move(d);
  for (auto& u : unknown_ids) *ev.add_unknown_ids() = std::move(u);
  return ev;
}

Result<uint64_t> Ledger::RotateLogKey(const verifier::SigningKey& next) {
  const uint64_t at = Checkpoint()->size();
  pb::Record r;
  r.set_issued_at(static_cast<int64_t>(std::time(nullptr)));
  auto* k = r.mutable_log_key_rotation();
  k->set_origin(origin_);
  k->set_old_key(vkey_);
  k->set_new_key(verifier::FormatVerifierKey(origin_, next.public_key()));
  k->set_from_size(at + 1);
  const verifier::SigningKey* keys[] = {&log_key_, &next};
  PROV_ASSIGN_OR_RETURN(verifier::PreparedRecord prepared,
                        verifier::PrepareRecord(
                            verifier::SignRecord(r.SerializeAsString(), keys).SerializeAsString()));
  Pending p{std::move(prepared), {}, std::make_shared<verifier::SigningKey>(next)};
  std::future<Ack> f = p.promise.get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) {
      return Status(verifier::Code::kUnavailable, "SHUTTING_DOWN", "the ledger is stopping");
    }
    queue_.push_back(std::move(p));
  }
  queue_cv_.notify_one();
  Ack ack = f.get();
  if (!ack.status.ok()) return ack.status;
  return ack.index;
}

std::vector<Ack> Ledger::AppendBatch(std::vector<verifier::PreparedRecord> records,
                                     int64_t index_root_time) {
  std::vector<std::future<Ack>> futures;
  {
    std::lock_guard lock(queue_mu_);
    for (auto& r : records) {
      Pending p{std::move(r), {}, nullptr, index_root_time};
      futures.push_back(p.promise.get_future());
      if (stopping_) {
        p.promise.set_value(Ack{Status(verifier::Code::kUnavailable, "SHUTTING_DOWN",
                                       "the ledger is stopping"),
                                0, false, nullptr});
        continue;
      }
      queue_.push_back(std::move(p));
    }
  }
  queue_cv_.notify_one();
  std::vector<Ack> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

void Ledger::AdoptLogKey(const verifier::SigningKey& key) {
  log_key_ = key;
  vkey_ = verifier::FormatVerifierKey(origin_, key.public_key());
  note_verifier_ = *verifier::ParseVerifierKey(vkey_);
}

Result<std::vector<pb::LogEntry>> Ledger::LogKeyRotations() const {
  PROV_ASSIGN_OR_RETURN(auto leaves, LogKeyRotationLeaves(*kv_));
  std::vector<pb::LogEntry> out;
  for (auto& l : leaves) {
    pb::LogEntry e;
    e.set_index(l.index);
    e.set_signed_record(std::move(l.leaf));
    out.push_back(std::move(e));
  }
  return out;
}

verifier::Status Ledger::CheckSignersKnown(const pb::SignedRecord& record) const {
  auto authorities = verifier::CurrentAuthorities(state_);
  // The keys an authority set adds sign it too (proof of possession).
  pb::Record r;
  const bool adds_keys = r.ParseFromString(record.record()) && r.has_authority_set();
  auto in = [&](const pb::AuthoritySet& set, const std::string& pk) {
    return std::any_of(set.authority_keys().begin(), set.authority_keys().end(),
                       [&](const auto& a) { return a.public_key() == pk; });
  };
  for (const auto& sig : record.signatures()) {
    if (sig.public_key().size() != 32) continue;  // malformed: PrepareRecord says so precisely
    if (authorities.ok() && in(authorities->set(), sig.public_key())) continue;
    if (adds_keys && in(r.authority_set(), sig.public_key())) continue;
    std::string unused;
    PROV_ASSIGN_OR_RETURN(
        bool enrolled,
        state_.Get(verifier::state_key::Key(verifier::KeyId(verifier::AsBytes(sig.public_key()))),
                   &unused));
    if (!enrolled) {
      return verifier::PermissionDenied(
          "UNKNOWN_SIGNER",
          "key " +
              verifier::HexEncode(verifier::KeyId(verifier::AsBytes(sig.public_key())))
                  .substr(0, 16) +
              " is not enrolled in this ledger (refused before any signature "
              "check)");
    }
  }
  return verifier::Status::Ok();
}

Result<pb::Evidence> Ledger::OrganizationEvidence(const std::string& org_id) const {
  pb::OrgState os;
  PROV_ASSIGN_OR_RETURN(bool found,
                        verifier::GetMessage(state_, verifier::state_key::Org(org_id), &os));
  if (!found) {
    return verifier::NotFound("UNKNOWN_ORG", org_id + " is not a registered organization");
  }
  std::vector<uint64_t> indices{0};
  std::vector<std::string> visited;
  PROV_RETURN_IF_ERROR(AddOrgClosure(org_id, &indices, &visited));
  return BuildEvidence(std::move(indices), {verifier::subject::Org(org_id)});
}

Result<pb::Evidence> Ledger::BuildEvidence(std::vector<uint64_t> indices,
                                           std::vector<verifier::Subject> roots,
                                           bool witnessed) const {
  Sort(&indices);
  // State may run ahead of the published checkpoint by one batch.
  auto ckpt = WaitForHead(witnessed, indices.back(),
                          std::chrono::steady_clock::now() + std::chrono::seconds(5));
  if (indices.back() >= ckpt->size()) {
    return Status(verifier::Code::kUnavailable, "CHECKPOINT_PENDING",
                  "evidence is not yet covered by a checkpoint; retry");
  }
  pb::Evidence ev;
  size_t bytes = 0;
  PROV_RETURN_IF_ERROR(ProveComplete(ckpt->size(), roots, &indices, &ev, &bytes));
  Sort(&indices);
  *ev.mutable_checkpoint() = *ckpt;
  for (uint64_t i : indices) {
    auto* e = ev.add_entries();
    e->set_index(i);
    PROV_ASSIGN_OR_RETURN(*e->mutable_signed_record(), GetLeaf(i));
    bytes += e->signed_record().size();
    if (bytes > options_.max_read_bytes) {
      return verifier::OutOfRange("EVIDENCE_TOO_LARGE", "evidence exceeds the response limit");
    }
    PROV_ASSIGN_OR_RETURN(auto proof, reader_.InclusionProof(i, ckpt->size()));
    for (const Hash& h : proof) e->add_proof(std::string(verifier::AsStringView(h)));
  }
  return ev;
}

Status Ledger::ProveComplete(uint64_t size, const std::vector<verifier::Subject>& roots,
                             std::vector<uint64_t>* indices, pb::Evidence* ev,
                             size_t* bytes) const {
  auto tree = index_.At(size);
  if (!tree) {
    return Status(
        verifier::Code::kUnavailable, "CHECKPOINT_PENDING",
        "the index of the head of size " + std::to_string(size) + " is no longer kept; retry");
  }
  const uint64_t covered = size - 1;  // the head's last leaf: its index root
  indices->push_back(covered);
  pb::Genesis genesis;
  PROV_ASSIGN_OR_RETURN(bool have_genesis,
                        verifier::GetMessage(state_, verifier::state_key::Genesis(), &genesis));
  if (!have_genesis) return verifier::DataLoss("NO_GENESIS", "the ledger has no genesis state");
  struct Parsed {
    pb::Record record;
    std::vector<verifier::PublicKey> signers;
  };
  std::map<uint64_t, Parsed> parsed;  // node-stable: steps point into it
  return verifier::WalkReliance(
      roots, genesis,
      [&](const verifier::Subject& s, std::vector<verifier::RelianceStep>* steps) -> Status {
        const Hash key = verifier::SubjectKey(s);
        PROV_ASSIGN_OR_RETURN(auto history, HistoryBefore(state_, key, covered));
        pb::SubjectProof* p = ev->add_subjects();
        *p->mutable_subject() = verifier::ToProto(s);
        for (uint64_t i : history) p->add_history(i);
        verifier::ToProto(tree->Prove(key), p);
        *bytes += p->ByteSizeLong();
        if (*bytes > options_.max_read_bytes) {
          return verifier::OutOfRange("EVIDENCE_TOO_LARGE", "evidence exceeds the response limit");
        }
        for (uint64_t i : history) {
          indices->push_back(i);
          auto it = parsed.find(i);
          if (it == parsed.end()) {
            PROV_ASSIGN_OR_RETURN(std::string leaf, GetLeaf(i));
            Parsed x;
            if (!verifier::ParseLeafRecord(leaf, &x.record, &x.signers)) {
              return verifier::DataLoss("CORRUPT_LEAF",
                                        "leaf " + std::to_string(i) + " does not parse");
            }
            it = parsed.emplace(i, std::move(x)).first;
          }
          steps->push_back({&it->second.record, it->second.signers});
        }
        return Status::Ok();
      });
}

}  // namespace ledger
