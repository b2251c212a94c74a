// The ledger: storage, tree and the sequencer — the single authority that
// assigns leaf indices. Submissions are verified in the caller's thread
// (signatures, in parallel) and then group-committed by one sequencer thread:
// one atomic, WAL-synced write per batch holding the leaves, tiles, rulebook
// state and the new signed checkpoint. Nobody is answered before that write;
// when it fails, writes stop until the store recovers and the durable head
// is reloaded (StorageStatus, docs/storage.md).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/kv_store.h"
#include "ledger/subject_index.h"
#include "ledger/tree.h"
#include "proto/ledger.pb.h"
#include "verifier/note.h"
#include "verifier/rules.h"

namespace ledger {

namespace pb = provenance::v1;

class Metrics;

struct LedgerOptions {
  size_t max_batch = 4096;   // records per commit
  size_t max_queue = 65536;  // queued records before Submit blocks
  uint64_t max_entries_per_read = 1000;
  size_t max_read_bytes = 3 << 20;  // per GetEntries/evidence response
  // While idle, the head is re-signed (same size and root, a new
  // `Timestamp:` line) once it is this old, so that a checkpoint's signed
  // time says how fresh it is (offline bundles are judged by it).
  std::chrono::seconds checkpoint_refresh{60};
  // Optional (nullptr: none); told of every committed batch by the
  // sequencer (atomic adds only). Must outlive the Ledger.
  Metrics* metrics = nullptr;
  // After a failed write the ledger takes no writes (StorageStatus) and
  // tries to recover this often.
  std::chrono::milliseconds storage_retry{500};
  // Optional: called on the sequencer thread at each change of
  // StorageStatus() (once per failure, once per recovery) with the new one.
  std::function<void(const verifier::Status&)> on_storage_change;
};

// A sequenced record's answer.
struct Ack {
  verifier::Status status;
  uint64_t index = 0;
  bool already_logged = false;
  std::shared_ptr<const pb::SignedCheckpoint> checkpoint;  // includes index
};

inline constexpr size_t kMaxEvidenceDevices = 1000;  // per evidence request
inline constexpr size_t kMaxEvidenceIssuers = 8;     // a camera's chain
inline constexpr size_t kMaxEvidenceMacs = 16;       // a camera's interfaces

class Ledger {
 public:
  // Creates a new ledger in `kv`: leaf 0 is `genesis` (a Genesis record), and
  // the first checkpoint is signed by `log_key` as `origin`.
  static verifier::Status Init(KvStore* kv, const verifier::SigningKey& log_key,
                               const pb::Record& genesis);

  // Opens an existing ledger. Verifies the latest checkpoint's signature with
  // the log key and that the stored tree has exactly its size and root;
  // refuses (DATA_LOSS) otherwise. Starts the sequencer.
  static Result<std::unique_ptr<Ledger>> Open(std::unique_ptr<KvStore> kv,
                                              const verifier::SigningKey& log_key,
                                              LedgerOptions options = {});
  ~Ledger();  // drains queued submissions, then stops the sequencer
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Queues a record verified by verifier::PrepareRecord. Blocks while the
  // queue is full. The future is fulfilled after the durable commit, or
  // with UNAVAILABLE STORAGE_ERROR when the write failed (nothing appended)
  // and, until storage recovers, for every record not already logged.
  std::future<Ack> Submit(verifier::PreparedRecord record);

  // OK while writes are taken; after a failed write (a full disk, an I/O
  // error) UNAVAILABLE STORAGE_ERROR saying why, until the store takes
  // writes again and the ledger has reloaded its head from what is durable
  // (as Open does). A DATA_LOSS found on reloading stays. Reads go on.
  verifier::Status StorageStatus() const;
  // PrepareRecord + Submit + wait.
  Ack SubmitAndWait(std::string leaf);

  // The latest signed head (what acks carry).
  std::shared_ptr<const pb::SignedCheckpoint> Checkpoint() const;
  // The head a reader gets: the latest signed one, or with `published` the
  // latest one published with its witnesses' cosignatures (SetPublished) —
  // the latest signed one until a head is published.
  std::shared_ptr<const pb::SignedCheckpoint> Head(bool published) const;
  // Blocks until Head(published) is larger than `after_size` or `deadline`
  // (a ledger that has published no head waits for a signed one).
  std::shared_ptr<const pb::SignedCheckpoint> WaitForHead(
      bool published, uint64_t after_size, std::chrono::steady_clock::time_point deadline) const;
  // A checkpoint note as published (the log's signature, maybe cosignatures):
  // it must verify with the log key and match the stored tree; an older one
  // than the current published head is ignored.
  verifier::Status SetPublished(const std::string& note);
  // Blocks until a checkpoint larger than `after_size` exists or `deadline`.
  std::shared_ptr<const pb::SignedCheckpoint> WaitForCheckpoint(
      uint64_t after_size, std::chrono::steady_clock::time_point deadline) const;

  Result<std::vector<pb::LogEntry>> GetEntries(uint64_t start, uint64_t end) const;
  Result<std::string> GetLeaf(uint64_t index) const;
  Result<uint64_t> FindLeaf(const Hash& leaf_hash) const;
  // tree_size 0 means the latest checkpoint's size.
  Result<pb::InclusionProof> InclusionProof(uint64_t index, uint64_t tree_size) const;
  // The proof's hashes; `*second` 0 means the latest checkpoint's size (and
  // is set to it).
  Result<std::vector<Hash>> ConsistencyHashes(uint64_t first, uint64_t* second) const;
  Result<pb::GetConsistencyProofResponse> ConsistencyProof(uint64_t first, uint64_t second) const;
  // Evidence for a set of devices, proven against one checkpoint: every
  // record a verifier needs to judge them (see docs/formats.md). Devices that
  // are not registered are listed in `unknown_devices`. `orgs` (with their
  // owners) and `laws` are added too, for a verdict that depends on them (a
  // policy, the buyer); those not registered are listed in `unknown_ids`
  // with the nearest registered ids. For a scanned camera, the makers that
  // registered a device-identity CA with one of `certificate_issuers` (SHA-256
  // of RFC 2253 names, at most 8) as a subject, and the holders of the vetted
  // MAC blocks of `mac_addresses` (at most 16), are added as orgs too.
  Result<pb::Evidence> DevicesEvidence(const std::vector<pb::DeviceRef>& devices,
                                       const std::vector<std::string>& orgs = {},
                                       const std::vector<std::string>& laws = {},
                                       const std::vector<std::string>& certificate_issuers = {},
                                       const std::vector<std::string>& mac_addresses = {},
                                       bool witnessed = false) const;
  Result<pb::Evidence> DeviceEvidence(const std::string& manufacturer,
                                      const std::string& serial) const;
  Result<pb::Evidence> OrganizationEvidence(const std::string& org_id) const;

  // Rotates the log key: appends a LogKeyRotation naming `next`, signed by
  // the current key and `next`, as its own commit batch (with its index
  // root), whose checkpoint `next` signs; from then on `next` signs every
  // checkpoint. Returns the rotation's leaf index. For a ledger that serves
  // no one (`provd rotate-log-key` runs with provd stopped).
  Result<uint64_t> RotateLogKey(const verifier::SigningKey& next);
  // Appends `records` as exactly one commit batch (followed, as every batch,
  // by its index root) and waits for it: how lost leaves are appended again
  // from a published copy of the log (tools/provrecover.cc), where each
  // source batch must land as one batch for the index roots to match. For a
  // ledger that serves no one; at most LedgerOptions::max_batch records.
  // `index_root_time` is the issued_at of the index root written after it
  // (the source's), so that it is the same leaf.
  std::vector<Ack> AppendBatch(std::vector<verifier::PreparedRecord> records,
                               int64_t index_root_time);
  // Every LogKeyRotation leaf, oldest first.
  Result<std::vector<pb::LogEntry>> LogKeyRotations() const;

  // Cheap admission check before any signature is verified: every signer
  // must be a genesis authority or a key enrolled by a committed record.
  // PERMISSION_DENIED / UNKNOWN_SIGNER otherwise.
  verifier::Status CheckSignersKnown(const pb::SignedRecord& record) const;

  const std::string& origin() const { return origin_; }
  const std::string& verifier_key() const { return vkey_; }
  const KvStore& kv() const { return *kv_; }
  const LedgerOptions& options() const { return options_; }

 private:
  struct Pending {
    verifier::PreparedRecord record;
    std::promise<Ack> promise;
    // A LogKeyRotation to this key (RotateLogKey): the batch's checkpoint is
    // signed by it, and it becomes the log key once the batch is durable.
    std::shared_ptr<const verifier::SigningKey> rotate_to;
    // AppendBatch: the issued_at of the index root after the batch (0: now).
    int64_t index_root_time = 0;
  };

  // A batch slot's outcome.
  struct Done {
    size_t slot;
    uint64_t index;
    bool already_logged;
  };

  Ledger(std::unique_ptr<KvStore> kv, const verifier::SigningKey& key, LedgerOptions options);
  // Loads the durable head: verifies the latest checkpoint and that the
  // stored tree and subject index are exactly the ones it commits to;
  // restores the tree writer and the index. Open, and after a storage error.
  verifier::Status Load();
  void SequencerLoop();
  // Sequencer thread: writes stop (`why`: the failed write's error).
  void StorageFailed(const verifier::Status& why);
  // Sequencer thread, while storage is failed: answers the queued records
  // (already logged, or refused) without writing.
  void RefuseQueued(std::vector<Pending>& batch);
  // Sequencer thread: Recover the store, reload the head, prove a write.
  void TryRecoverStorage();
  void CommitBatch(std::vector<Pending>& batch);
  void AppendLeaf(KvBatch* kv, const verifier::PreparedRecord& rec, uint64_t index);
  // Answers every slot in `done` with `why` and rolls the tree and the index
  // back to `old_size`.
  void FailBatch(std::vector<Pending>& batch, const std::vector<Done>& done, uint64_t old_size,
                 const verifier::Status& why);
  std::shared_ptr<const pb::SignedCheckpoint> SignCheckpoint(uint64_t size, const Hash& root) const;
  std::shared_ptr<const pb::SignedCheckpoint> SignCheckpoint(uint64_t size, const Hash& root,
                                                             const verifier::SigningKey& key) const;
  // Makes `key` the log key (after a durable rotation).
  void AdoptLogKey(const verifier::SigningKey& key);
  void Publish(std::shared_ptr<const pb::SignedCheckpoint> c);
  // Sequencer thread, while idle: re-signs the head if it is older than
  // options_.checkpoint_refresh.
  void RefreshCheckpoint();
  // Evidence of `indices`, and of every subject `roots` rely on with its
  // history complete and proven against the head's index root.
  Result<pb::Evidence> BuildEvidence(std::vector<uint64_t> indices,
                                     std::vector<verifier::Subject> roots,
                                     bool witnessed = false) const;
  // Adds to `ev` the proofs of every subject `roots` rely on, against the
  // index of the head of `size`, and to `indices` their histories and the
  // index root; `bytes` counts the response.
  verifier::Status ProveComplete(uint64_t size, const std::vector<verifier::Subject>& roots,
                                 std::vector<uint64_t>* indices, pb::Evidence* ev,
                                 size_t* bytes) const;
  // Adds an org, the orgs owning it (transitively) and their records, and the
  // current record of every org they hold (so affiliates can be named).
  verifier::Status AddOrgClosure(const std::string& org_id, std::vector<uint64_t>* out,
                                 std::vector<std::string>* visited) const;
  // Every version of each law (so an organization naming it replays).
  verifier::Status AddLaws(const pb::Organization& org, std::vector<uint64_t>* out) const;
  // An id of `kind` ("org", "law") that is not registered, with the nearest
  // registered ids under the state-key `prefix` as hints.
  pb::UnknownId Unknown(const std::string& kind, std::string_view prefix,
                        const std::string& id) const;
  verifier::Status AddSignerKeys(const std::string& leaf, std::vector<uint64_t>* out,
                                 std::vector<std::string>* orgs) const;

  std::unique_ptr<KvStore> kv_;
  verifier::SigningKey log_key_;
  std::string origin_;
  std::string vkey_;
  verifier::NoteVerifier note_verifier_;  // parsed vkey_
  LedgerOptions options_;
  TileReader reader_;
  KvStateView state_;

  // Sequencer-thread only.
  std::unique_ptr<TreeWriter> writer_;  // null while storage is failed
  SubjectIndex index_;                  // versions readable from any thread

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;        // sequencer waits for work
  std::condition_variable queue_space_cv_;  // submitters wait for room
  std::deque<Pending> queue_;               // GUARDED_BY(queue_mu_)
  bool stopping_ = false;                   // GUARDED_BY(queue_mu_)

  mutable std::mutex ckpt_mu_;
  mutable std::condition_variable ckpt_cv_;
  std::shared_ptr<const pb::SignedCheckpoint> checkpoint_;  // GUARDED_BY(ckpt_mu_)
  std::shared_ptr<const pb::SignedCheckpoint> published_;   // GUARDED_BY(ckpt_mu_)

  mutable std::mutex storage_mu_;
  verifier::Status storage_;                 // GUARDED_BY(storage_mu_); written by the sequencer
  std::atomic<bool> storage_failed_{false};  // !storage_.ok(), for the sequencer

  std::thread sequencer_;
};

}  // namespace ledger
