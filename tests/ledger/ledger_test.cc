// The ledger (sequencer, reads, proofs, evidence, open checks) over a
// MemoryKvStore, plus RocksDB for persistence across a real reopen. Every
// acknowledged checkpoint is verified with the ledger's published verifier
// key, and every proof is verified against it. Every commit batch ends with
// the log's own index root (docs/index.md), so a record submitted alone
// lands at the head's size and the head grows by two; where records land is
// read back (acks, LogLayout), never assumed contiguous.
#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <map>
#include <thread>
#include <vector>

#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "proto/records.pb.h"
#include "tests/ledger/fixture.h"
#include "verifier/index.h"
#include "verifier/judge.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/rules.h"

namespace ledger {
namespace {

using ledger_test::kAcme;
using ledger_test::kDist;
using ledger_test::kHolding;
using ledger_test::kOrigin;
using ledger_test::kOrion;
using ledger_test::kT;
using ledger_test::LeafHashOf;
using ledger_test::LogLayout;
using ledger_test::SharedKvStore;
using ledger_test::TempDir;
using ledger_test::ToHashes;
using ledger_test::World;
using verifier::Code;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    store_ = std::make_shared<MemoryKvStore>();
    ASSERT_TRUE(Ledger::Init(store_.get(), w_.log_key, w_.Genesis()).ok());
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  // Closes the ledger (if open) and opens it again on the same store.
  void Reopen(LedgerOptions options = {}) {
    ledger_.reset();
    auto l = Ledger::Open(std::make_unique<SharedKvStore>(store_), w_.log_key, options);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger_ = std::move(l).value();
  }
  verifier::Result<std::unique_ptr<Ledger>> TryOpen() {
    ledger_.reset();
    return Ledger::Open(std::make_unique<SharedKvStore>(store_), w_.log_key);
  }

  uint64_t Size() const { return ledger_->Checkpoint()->size(); }

  // The checkpoint note verified with the ledger's published key.
  verifier::Checkpoint Verified(const pb::SignedCheckpoint& c) {
    auto vkey = verifier::ParseVerifierKey(ledger_->verifier_key());
    EXPECT_TRUE(vkey.ok()) << vkey.status().ToString();
    if (!vkey.ok()) return {};
    auto cp = verifier::VerifyCheckpoint(c.note(), *vkey, kOrigin);
    EXPECT_TRUE(cp.ok()) << cp.status().ToString();
    if (!cp.ok()) return {};
    EXPECT_EQ(cp->size, c.size());
    EXPECT_EQ(std::string(verifier::AsStringView(cp->root)), c.root_hash());
    return *cp;
  }

  // `leaf` is at `index` in the tree of the checkpoint `c`.
  ::testing::AssertionResult Included(const std::string& leaf, uint64_t index,
                                      const pb::SignedCheckpoint& c) {
    verifier::Checkpoint cp = Verified(c);
    if (index >= cp.size) return ::testing::AssertionFailure() << "index beyond checkpoint";
    auto proof = ledger_->InclusionProof(index, cp.size);
    if (!proof.ok()) return ::testing::AssertionFailure() << proof.status().ToString();
    if (proof->index() != index || proof->tree_size() != cp.size) {
      return ::testing::AssertionFailure() << "proof is for another leaf or size";
    }
    verifier::Status s = verifier::VerifyInclusion(index, cp.size, LeafHashOf(leaf),
                                                   ToHashes(proof->hashes()), cp.root);
    if (!s.ok()) return ::testing::AssertionFailure() << s.ToString();
    return ::testing::AssertionSuccess();
  }

  // Submits `leaf`; it must land at `want_index` with a checkpoint including it.
  ::testing::AssertionResult Appended(const std::string& leaf, uint64_t want_index) {
    Ack a = ledger_->SubmitAndWait(leaf);
    if (!a.status.ok()) return ::testing::AssertionFailure() << "rejected: " << a.status.ToString();
    if (a.already_logged) return ::testing::AssertionFailure() << "already logged";
    if (a.index != want_index) {
      return ::testing::AssertionFailure() << "index " << a.index << ", wanted " << want_index;
    }
    if (!a.checkpoint) return ::testing::AssertionFailure() << "no checkpoint";
    return Included(leaf, a.index, *a.checkpoint);
  }

  // Rejected with `code` and `reason`; the tree and checkpoint are unchanged.
  ::testing::AssertionResult Rejected(const std::string& leaf, Code code, std::string_view reason) {
    auto before = ledger_->Checkpoint();
    Ack a = ledger_->SubmitAndWait(leaf);
    if (a.status.ok()) return ::testing::AssertionFailure() << "accepted at " << a.index;
    if (a.status.code() != code || a.status.reason() != reason) {
      return ::testing::AssertionFailure() << "got " << a.status.ToString() << " (code "
                                           << static_cast<int>(a.status.code()) << ")";
    }
    if (a.checkpoint) return ::testing::AssertionFailure() << "a rejection carried a checkpoint";
    if (ledger_->Checkpoint() != before) return ::testing::AssertionFailure() << "tree changed";
    std::string v;
    if (*store_->Get(coding::LeafKey(before->size()), &v)) {
      return ::testing::AssertionFailure() << "a leaf was stored beyond the tree";
    }
    return ::testing::AssertionSuccess();
  }

  // Submits `leaf` alone: it lands at the head's size, and its batch's index
  // root right after it. Returns its index.
  uint64_t Append(const std::string& leaf) {
    const uint64_t want = Size();
    EXPECT_TRUE(Appended(leaf, want));
    EXPECT_EQ(Size(), want + 2) << "a batch of one is the record and the index root";
    return want;
  }

  // Appends the fixture, one record at a time; setup_ says where each landed.
  void AppendSetup() {
    setup_.clear();
    for (const std::string& leaf : w_.Setup()) setup_.push_back(Append(leaf));
    ASSERT_FALSE(HasFailure());
    ASSERT_EQ(setup_.size(), World::kSetupLeaves);
  }
  uint64_t At(World::SetupLeaf k) const { return setup_.at(k); }
  // The head's last leaf: the index root evidence is proven against.
  uint64_t HeadRoot() const { return Size() - 1; }

  // The stored log replayed from scratch (ledger_test::CheckLayout).
  LogLayout Layout() { return ledger_test::CheckLayout(*store_, Size()); }

  // Verifies `ev` as a client does.
  verifier::Result<verifier::VerifiedEvidence> VerifyAsClient(const pb::Evidence& ev) {
    auto vkey = verifier::ParseVerifierKey(ledger_->verifier_key());
    EXPECT_TRUE(vkey.ok());
    verifier::RecordCache cache;
    return verifier::VerifyEvidence(ev, *vkey, &cache);
  }
  // `ev` verifies, its subject proofs against the head's index root, and
  // proves complete everything a verdict on `roots` relies on.
  ::testing::AssertionResult ProvenComplete(const pb::Evidence& ev,
                                            const std::vector<verifier::Subject>& roots) {
    auto v = VerifyAsClient(ev);
    if (!v.ok()) return ::testing::AssertionFailure() << v.status().ToString();
    if (!v->problems.empty()) return ::testing::AssertionFailure() << v->problems[0].message;
    if (v->index_root != ev.checkpoint().size() - 1) {
      return ::testing::AssertionFailure() << "no index proofs against the checkpoint's last leaf";
    }
    const auto incomplete = verifier::CheckComplete(*v, roots);
    if (!incomplete.empty()) {
      return ::testing::AssertionFailure() << incomplete[0].code << ": " << incomplete[0].message;
    }
    return ::testing::AssertionSuccess();
  }

  // `v` ascending, each once.
  static std::vector<uint64_t> Sorted(std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }

  static pb::Record RecordOf(const std::string& leaf) {
    pb::SignedRecord sr;
    pb::Record r;
    EXPECT_TRUE(sr.ParseFromString(leaf));
    EXPECT_TRUE(r.ParseFromString(sr.record()));
    return r;
  }

  // Checks an evidence bundle: ascending unique indices, each entry the stored
  // leaf and proven against the (verified) evidence checkpoint. Returns the
  // indices.
  std::vector<uint64_t> CheckEvidence(const pb::Evidence& ev) {
    verifier::Checkpoint cp = Verified(ev.checkpoint());
    std::vector<uint64_t> idx;
    for (const auto& e : ev.entries()) {
      if (!idx.empty()) {
        EXPECT_LT(idx.back(), e.index()) << "not ascending/unique";
      }
      idx.push_back(e.index());
      auto stored = ledger_->GetLeaf(e.index());
      EXPECT_TRUE(stored.ok());
      if (stored.ok()) {
        EXPECT_EQ(*stored, e.signed_record()) << e.index();
      }
      EXPECT_TRUE(verifier::VerifyInclusion(e.index(), cp.size, LeafHashOf(e.signed_record()),
                                            ToHashes(e.proof()), cp.root)
                      .ok())
          << "entry " << e.index();
    }
    return idx;
  }

  World w_;
  std::shared_ptr<MemoryKvStore> store_;
  std::unique_ptr<Ledger> ledger_;
  std::vector<uint64_t> setup_;  // where each of w_.Setup() landed
};

// ---------------------------------------------------------------------------
// Init and Open

TEST_F(LedgerTest, InitWritesTheGenesisAsLeafZeroAndItsIndexRootAsLeafOne) {
  EXPECT_EQ(ledger_->origin(), kOrigin);
  EXPECT_EQ(ledger_->verifier_key(), verifier::FormatVerifierKey(kOrigin, w_.log_key.public_key()));
  auto c = ledger_->Checkpoint();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->size(), 2u);
  verifier::Checkpoint cp = Verified(*c);
  EXPECT_EQ(cp.origin, kOrigin);
  auto leaf = ledger_->GetLeaf(0);
  auto root_leaf = ledger_->GetLeaf(1);
  ASSERT_TRUE(leaf.ok());
  ASSERT_TRUE(root_leaf.ok());
  const std::vector<verifier::Hash> hashes{LeafHashOf(*leaf), LeafHashOf(*root_leaf)};
  EXPECT_EQ(cp.root, verifier::RootOf(hashes));
  pb::Record r = RecordOf(*leaf);
  ASSERT_TRUE(r.has_genesis());
  EXPECT_EQ(r.genesis().origin(), kOrigin);
  EXPECT_TRUE(verifier::PrepareRecord(*leaf).ok());
  EXPECT_EQ(*ledger_->FindLeaf(LeafHashOf(*leaf)), 0u);
  // Leaf 1: the (empty) index of the genesis, unsigned, written by the log.
  pb::Record x = RecordOf(*root_leaf);
  ASSERT_TRUE(x.has_index_root());
  EXPECT_EQ(x.index_root().origin(), kOrigin);
  EXPECT_EQ(x.index_root().covered_size(), 1u);
  EXPECT_EQ(x.index_root().root(), std::string(verifier::AsStringView(verifier::kEmptyIndexHash)));
  EXPECT_EQ(x.index_root().subjects(), 0u);
  auto prepared = verifier::PrepareRecord(*root_leaf);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_TRUE(prepared->signers.empty());
  EXPECT_EQ(*ledger_->FindLeaf(LeafHashOf(*root_leaf)), 1u);
  // The first checkpoint is kept under its size too, and is the only one.
  std::string note;
  ASSERT_TRUE(*store_->Get(coding::CheckpointKey(2), &note));
  EXPECT_EQ(note, c->note());
  EXPECT_EQ(Layout().index_roots, std::vector<uint64_t>{1});
}

TEST_F(LedgerTest, InitRefusesAnExistingLedgerAndANonGenesisLeafZero) {
  verifier::Status again = Ledger::Init(store_.get(), w_.log_key, w_.Genesis());
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_EQ(again.reason(), "LEDGER_EXISTS");

  MemoryKvStore fresh;
  verifier::Status s = Ledger::Init(&fresh, w_.log_key,
                                    records::OrganizationRecord(kT, kAcme, "Acme Camera Co.", "CN"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.reason(), "NO_GENESIS");
  EXPECT_TRUE(fresh.Scan("", [](auto, auto) { return false; }).ok());
  std::string v;
  EXPECT_FALSE(*fresh.Get(coding::kLatestCheckpointKey, &v));
}

TEST_F(LedgerTest, OpenOfAnEmptyStoreIsNoLedger) {
  auto l = Ledger::Open(std::make_unique<MemoryKvStore>(), w_.log_key);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kNotFound);
  EXPECT_EQ(l.status().reason(), "NO_LEDGER");
}

TEST_F(LedgerTest, OpenWithAnotherLogKeyIsDataLoss) {
  ledger_.reset();
  auto l = Ledger::Open(std::make_unique<SharedKvStore>(store_), ledger_test::KeyFromByte(201));
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kDataLoss);
  EXPECT_EQ(l.status().reason(), "BAD_CHECKPOINT");
}

// ---------------------------------------------------------------------------
// Submitting

TEST_F(LedgerTest, AValidChainGetsIndicesInOrderAndProvenCheckpoints) {
  auto first = ledger_->Checkpoint();
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t device = Append(w_.Device(1));
  const uint64_t transfer = Append(w_.Transfer(1, kAcme, kDist, w_.acme_cust));
  EXPECT_EQ(transfer, device + 2);  // after the device's index root
  EXPECT_EQ(Size(), transfer + 2);
  // Every record is provably in the latest tree, which extends the first.
  auto latest = ledger_->Checkpoint();
  std::vector<std::pair<uint64_t, std::string>> leaves{{0, *ledger_->GetLeaf(0)}};
  for (size_t k = 0; k < World::kSetupLeaves; ++k) leaves.emplace_back(setup_[k], w_.Setup()[k]);
  leaves.emplace_back(device, w_.Device(1));
  leaves.emplace_back(transfer, w_.Transfer(1, kAcme, kDist, w_.acme_cust));
  std::vector<uint64_t> records;
  for (const auto& [i, leaf] : leaves) {
    EXPECT_EQ(*ledger_->GetLeaf(i), leaf);
    EXPECT_TRUE(Included(leaf, i, *latest));
    EXPECT_EQ(*ledger_->FindLeaf(LeafHashOf(leaf)), i);
    records.push_back(i);
  }
  // Nothing else but the index roots closing each batch; a checkpoint is
  // stored for every size committed (CheckLayout).
  LogLayout layout = Layout();
  EXPECT_EQ(layout.records, records);
  EXPECT_EQ(layout.index_roots.size(), records.size());
  auto cons = ledger_->ConsistencyProof(first->size(), 0);
  ASSERT_TRUE(cons.ok()) << cons.status().ToString();
  EXPECT_EQ(cons->second(), Size());
  EXPECT_TRUE(verifier::VerifyConsistency(first->size(), Size(), ToHashes(cons->hashes()),
                                          Verified(*first).root, Verified(*latest).root)
                  .ok());
}

TEST_F(LedgerTest, EveryCheckpointEndsWithTheIndexOfTheLeavesBeforeIt) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  // Batches of any size: a burst of submissions.
  std::vector<std::future<Ack>> fs;
  for (uint32_t i = 0; i < 40; ++i) fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  for (auto& f : fs) ASSERT_TRUE(f.get().status.ok());
  // Each index root is the from-scratch index of the leaves before it
  // (IndexReplay compares) and closes a checkpoint (CheckLayout).
  LogLayout layout = Layout();
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(layout.records.size(), 1 + World::kSetupLeaves + 40);
  EXPECT_EQ(layout.index_roots.back(), HeadRoot());
  pb::Record head_root = RecordOf(*ledger_->GetLeaf(HeadRoot()));
  ASSERT_TRUE(head_root.has_index_root());
  EXPECT_EQ(head_root.index_root().covered_size(), HeadRoot());
  // Every subject the records concern: 40 devices, and the fixture's four
  // orgs, four keys, component and model (the genesis concerns none).
  EXPECT_EQ(head_root.index_root().subjects(), 40u + 4 + 4 + 1 + 1);
}

TEST_F(LedgerTest, ResubmittingIdenticalBytesIsAlreadyLogged) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t device = Append(w_.Device(1));
  auto before = ledger_->Checkpoint();

  for (int k = 0; k < 2; ++k) {
    Ack a = ledger_->SubmitAndWait(w_.Device(1));
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    EXPECT_TRUE(a.already_logged);
    EXPECT_EQ(a.index, device);
    ASSERT_NE(a.checkpoint, nullptr);
    EXPECT_EQ(a.checkpoint->size(), device + 2);
    EXPECT_TRUE(Included(w_.Device(1), a.index, *a.checkpoint));
  }
  // An older record, and the genesis itself.
  Ack org = ledger_->SubmitAndWait(w_.Orgs()[World::kDistOrg]);
  EXPECT_TRUE(org.status.ok() && org.already_logged && org.index == At(World::kDistOrg));
  Ack gen = ledger_->SubmitAndWait(*ledger_->GetLeaf(0));
  EXPECT_TRUE(gen.status.ok() && gen.already_logged && gen.index == 0) << gen.status.ToString();
  EXPECT_EQ(ledger_->Checkpoint(), before);
  EXPECT_EQ(Size(), device + 2);
}

TEST_F(LedgerTest, IndexRootsFromOutsideAreRefusedAndAppendNothing) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  // The log's own head index root, submitted again: not "already logged".
  EXPECT_TRUE(Rejected(*ledger_->GetLeaf(HeadRoot()), Code::kPermissionDenied, "LOG_RECORD"));
  // A correct index root for the next leaf, as if a client closed a batch.
  pb::Record r = RecordOf(*ledger_->GetLeaf(HeadRoot()));
  r.mutable_index_root()->set_covered_size(Size());
  pb::SignedRecord sr;
  r.SerializeToString(sr.mutable_record());
  EXPECT_TRUE(Rejected(sr.SerializeAsString(), Code::kPermissionDenied, "LOG_RECORD"));
  // Through Submit itself, without waiting for a batch.
  auto prepared = verifier::PrepareRecord(sr.SerializeAsString());
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  Ack a = ledger_->Submit(std::move(prepared).value()).get();
  EXPECT_EQ(a.status.code(), Code::kPermissionDenied);
  EXPECT_EQ(a.status.reason(), "LOG_RECORD");
  EXPECT_EQ(a.checkpoint, nullptr);
  // Nothing was consumed.
  EXPECT_TRUE(Appended(w_.Device(1), Size()));
  Layout();  // and no index root but the log's own
}

TEST_F(LedgerTest, IdenticalBytesQueuedTogetherLandOnce) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t start = Size();
  std::vector<std::future<Ack>> fs;
  for (int k = 0; k < 5; ++k) {
    auto p = verifier::PrepareRecord(w_.Device(7));
    ASSERT_TRUE(p.ok());
    fs.push_back(ledger_->Submit(std::move(p).value()));
  }
  int fresh = 0;
  for (auto& f : fs) {
    Ack a = f.get();
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    EXPECT_EQ(a.index, start);
    if (!a.already_logged) ++fresh;
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(Size(), start + 2);  // batches of only logged records append nothing
  EXPECT_EQ(Layout().RecordsFrom(start), std::vector<uint64_t>{start});
}

TEST_F(LedgerTest, RejectedRecordsChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t device = Append(w_.Device(1));

  // Same serial, another device key.
  EXPECT_TRUE(Rejected(World::By(records::DeviceRecord(kT, kAcme, "SN-1", "C100",
                                                      ledger_test::DeviceKey(999).public_key(), kT),
                                 w_.acme_mfr),
                       Code::kAlreadyExists, "DUPLICATE_SERIAL"));
  // A flipped signature bit.
  pb::SignedRecord sr;
  ASSERT_TRUE(sr.ParseFromString(w_.Device(2)));
  (*sr.mutable_signatures(0)->mutable_signature())[10] ^= 1;
  EXPECT_TRUE(Rejected(sr.SerializeAsString(), Code::kInvalidArgument, "BAD_SIGNATURE"));
  // Not a record at all.
  EXPECT_TRUE(Rejected(std::string("\xff\xff\xff garbage", 12), Code::kInvalidArgument,
                       "MALFORMED_RECORD"));
  // Signed by a key that is not enrolled for the manufacturer.
  EXPECT_TRUE(Rejected(World::By(records::DeviceRecord(kT, kAcme, "SN-X", "C100",
                                                      ledger_test::DeviceKey(998).public_key(), kT),
                                 w_.orion_mfr),
                       Code::kPermissionDenied, "WRONG_ROLE"));
  // Custody moved by someone who does not hold it.
  EXPECT_TRUE(Rejected(w_.Transfer(1, kDist, kAcme, w_.dist_cust), Code::kPermissionDenied,
                       "NOT_CUSTODIAN"));

  // The next valid record takes the next index: nothing was consumed.
  EXPECT_EQ(Append(w_.Device(2)), device + 2);
  // And a rejected record's hash was never indexed.
  auto f = ledger_->FindLeaf(LeafHashOf(sr.SerializeAsString()));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().reason(), "UNKNOWN_LEAF");
}

TEST_F(LedgerTest, RejectionsInsideABatchDoNotDisturbTheOthers) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  // Queue a burst: valid, duplicate serial of the first, valid, valid.
  std::vector<std::string> leaves{
      w_.Device(1),
      World::By(records::DeviceRecord(kT, kAcme, "SN-1", "C100",
                                     ledger_test::DeviceKey(500).public_key(), kT),
                w_.acme_mfr),
      w_.Device(2), w_.Transfer(1, kAcme, kDist, w_.acme_cust)};
  const uint64_t start = Size();
  std::vector<std::future<Ack>> fs;
  for (const auto& l : leaves) fs.push_back(ledger_->Submit(*verifier::PrepareRecord(l)));
  std::vector<Ack> acks;
  for (auto& f : fs) acks.push_back(f.get());
  ASSERT_TRUE(acks[0].status.ok());
  EXPECT_EQ(acks[0].index, start);
  EXPECT_EQ(acks[1].status.reason(), "DUPLICATE_SERIAL");
  ASSERT_TRUE(acks[2].status.ok());
  ASSERT_TRUE(acks[3].status.ok()) << acks[3].status.ToString();
  // The accepted ones, in order, and nothing else but index roots.
  EXPECT_EQ(Layout().RecordsFrom(start),
            (std::vector<uint64_t>{acks[0].index, acks[2].index, acks[3].index}));
  EXPECT_EQ(Size(), acks[3].index + 2);
  for (size_t k : {0u, 2u, 3u})
    EXPECT_TRUE(Included(leaves[k], acks[k].index, *acks[k].checkpoint));
}

TEST_F(LedgerTest, ConcurrentSubmittersEachLandExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t start = Size();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::vector<Ack>> acks(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        acks[t].push_back(ledger_->SubmitAndWait(w_.Device(1000 + t * kPerThread + k)));
      }
    });
  }
  for (auto& th : threads) th.join();

  std::set<uint64_t> indices;
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kPerThread; ++k) {
      const Ack& a = acks[t][k];
      ASSERT_TRUE(a.status.ok()) << a.status.ToString();
      EXPECT_FALSE(a.already_logged);
      ASSERT_NE(a.checkpoint, nullptr);
      EXPECT_GT(a.checkpoint->size(), a.index);
      indices.insert(a.index);
      EXPECT_EQ(*ledger_->GetLeaf(a.index), w_.Device(1000 + t * kPerThread + k));
    }
  }
  const uint64_t n = kThreads * kPerThread;
  EXPECT_EQ(indices.size(), n);
  EXPECT_EQ(*indices.begin(), start);
  // Every leaf after `start` is one of them or a batch's index root.
  EXPECT_EQ(Layout().RecordsFrom(start), std::vector<uint64_t>(indices.begin(), indices.end()));
  EXPECT_EQ(Size(), *indices.rbegin() + 2);
  // The final tree equals the reference root over the stored leaves.
  std::vector<verifier::Hash> hashes;
  for (uint64_t i = 0; i < Size(); ++i) hashes.push_back(LeafHashOf(*ledger_->GetLeaf(i)));
  EXPECT_EQ(Verified(*ledger_->Checkpoint()).root, verifier::RootOf(hashes));
}

TEST_F(LedgerTest, ATinyQueueBlocksSubmittersButLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t start = Size();
  LedgerOptions o;
  o.max_queue = 2;
  o.max_batch = 3;
  ASSERT_NO_FATAL_FAILURE(Reopen(o));
  std::vector<std::future<Ack>> fs;
  for (uint32_t i = 0; i < 30; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  std::set<uint64_t> idx;
  for (auto& f : fs) {
    Ack a = f.get();
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    idx.insert(a.index);
  }
  EXPECT_EQ(idx.size(), 30u);
  LogLayout layout = Layout();
  EXPECT_EQ(layout.RecordsFrom(start), std::vector<uint64_t>(idx.begin(), idx.end()));
  EXPECT_EQ(Size(), *idx.rbegin() + 2);
  // At most max_batch records between two index roots.
  for (size_t k = 1; k < layout.index_roots.size(); ++k) {
    EXPECT_LE(layout.index_roots[k] - layout.index_roots[k - 1] - 1, 3u);
  }
}

TEST_F(LedgerTest, DestroyingTheLedgerDrainsQueuedSubmissions) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t start = Size();
  std::vector<std::future<Ack>> fs;
  for (uint32_t i = 0; i < 50; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  ledger_.reset();
  for (auto& f : fs) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    Ack a = f.get();
    EXPECT_TRUE(a.status.ok()) << a.status.ToString();
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Layout().RecordsFrom(start).size(), 50u);
}

TEST_F(LedgerTest, WaitForCheckpoint) {
  const uint64_t first = Size();
  auto now = std::chrono::steady_clock::now();
  auto c = ledger_->WaitForCheckpoint(first, now + std::chrono::milliseconds(20));
  EXPECT_EQ(c->size(), first);  // timed out: the current one
  EXPECT_GE(std::chrono::steady_clock::now() - now, std::chrono::milliseconds(20));

  std::thread t([&] { EXPECT_TRUE(Appended(w_.Orgs()[0], first)); });
  auto later = ledger_->WaitForCheckpoint(
      first, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  t.join();
  EXPECT_EQ(later->size(), first + 2);  // the record and its index root
  EXPECT_EQ(ledger_->WaitForCheckpoint(0, std::chrono::steady_clock::now())->size(), first + 2);
}

// A store whose writes fail while `fail` is set (a full disk, an I/O error).
class FlakyKvStore final : public KvStore {
 public:
  explicit FlakyKvStore(std::shared_ptr<KvStore> base) : base_(std::move(base)) {}
  verifier::Result<bool> Get(std::string_view key, std::string* value) const override {
    return base_->Get(key, value);
  }
  verifier::Status Write(const KvBatch& batch) override {
    if (fail) return verifier::Internal("STORAGE_ERROR", "disk full");
    if (write_then_fail) {  // a failed fsync of a write that reached the disk anyway
      (void)base_->Write(batch);
      return verifier::Internal("STORAGE_ERROR", "fsync: Input/output error");
    }
    return base_->Write(batch);
  }
  verifier::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return base_->Scan(prefix, fn);
  }
  std::atomic<bool> fail{false};
  std::atomic<bool> write_then_fail{false};

 private:
  std::shared_ptr<KvStore> base_;
};

TEST_F(LedgerTest, AFailedWriteAppendsNothingAndTheTreeRollsBack) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  ledger_.reset();
  auto flaky_owned = std::make_unique<FlakyKvStore>(store_);
  FlakyKvStore* flaky = flaky_owned.get();
  LedgerOptions options;
  options.storage_retry = std::chrono::milliseconds(10);
  std::mutex mu;
  std::vector<verifier::Status> changes;  // GUARDED_BY(mu)
  options.on_storage_change = [&](const verifier::Status& s) {
    std::lock_guard lock(mu);
    changes.push_back(s);
  };
  auto l = Ledger::Open(std::move(flaky_owned), w_.log_key, options);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ledger_ = std::move(l).value();
  EXPECT_TRUE(ledger_->StorageStatus().ok());

  // Grow to just below the first tile boundary.
  std::vector<uint64_t> device_at;
  for (uint32_t i = 0; Size() < 250; ++i) device_at.push_back(Append(w_.Device(i)));
  ASSERT_FALSE(HasFailure());
  const uint64_t before = Size();
  ASSERT_EQ(before, 250u);
  auto ckpt = ledger_->Checkpoint();

  // Batches that would cross 256 fail: nobody is told they were appended,
  // and no write is taken until storage recovers (the retries fail too).
  flaky->fail = true;
  std::vector<std::future<Ack>> fs;
  for (uint32_t i = 500; i < 520; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  for (auto& f : fs) {
    Ack a = f.get();
    EXPECT_EQ(a.status.code(), Code::kUnavailable);
    EXPECT_EQ(a.status.reason(), "STORAGE_ERROR");
    EXPECT_NE(a.status.message().find("storage unavailable: disk full"), std::string::npos)
        << a.status.ToString();
    EXPECT_EQ(a.checkpoint, nullptr);
  }
  EXPECT_EQ(ledger_->StorageStatus().reason(), "STORAGE_ERROR");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // failed recoveries
  Ack refused = ledger_->SubmitAndWait(w_.Device(600));
  EXPECT_EQ(refused.status.reason(), "STORAGE_ERROR") << refused.status.ToString();
  Ack again = ledger_->SubmitAndWait(w_.Device(3));  // already logged: no write needed
  EXPECT_TRUE(again.status.ok() && again.already_logged && again.index == device_at[3])
      << again.status.ToString();
  EXPECT_EQ(ledger_->Checkpoint(), ckpt);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(changes.size(), 1u);  // once per change, not per refusal or retry
    EXPECT_EQ(changes[0].reason(), "STORAGE_ERROR");
  }

  // Storage is back: the ledger reloads its head and takes writes again;
  // other records take the same indices, and the failed ones can be
  // submitted again.
  flaky->fail = false;
  for (int i = 0; i < 500 && !ledger_->StorageStatus().ok(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(ledger_->StorageStatus().ok()) << ledger_->StorageStatus().ToString();
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_TRUE(changes[1].ok());
  }
  EXPECT_EQ(ledger_->Checkpoint()->size(), before);  // re-signed by the recovery's probe write
  EXPECT_TRUE(Appended(w_.Device(600), before));
  fs.clear();
  for (uint32_t i = 500; i < 520; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  std::vector<uint64_t> retried{before};
  for (size_t k = 0; k < fs.size(); ++k) {
    Ack a = fs[k].get();
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    retried.push_back(a.index);
  }
  EXPECT_EQ(retried[1], before + 2);  // after Device(600)'s index root
  // The tree, and the index the roots log, are as if the failed batches had
  // never been tried.
  EXPECT_EQ(Layout().RecordsFrom(before), retried);
  std::vector<verifier::Hash> hashes;
  for (uint64_t i = 0; i < Size(); ++i) hashes.push_back(LeafHashOf(*ledger_->GetLeaf(i)));
  EXPECT_EQ(Verified(*ledger_->Checkpoint()).root, verifier::RootOf(hashes));
  EXPECT_TRUE(Included(w_.Device(510), retried[11], *ledger_->Checkpoint()));
  const uint64_t after = Size();
  EXPECT_EQ(after, retried.back() + 2);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Size(), after);
}

TEST_F(LedgerTest, ABatchRefusedButDurableIsReloadedAndAnsweredAsLogged) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  ledger_.reset();
  auto flaky_owned = std::make_unique<FlakyKvStore>(store_);
  FlakyKvStore* flaky = flaky_owned.get();
  LedgerOptions options;
  options.storage_retry = std::chrono::milliseconds(10);
  auto l = Ledger::Open(std::move(flaky_owned), w_.log_key, options);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ledger_ = std::move(l).value();
  const uint64_t before = Size();

  // The write reaches the disk but reports failure: nobody is told it did,
  // and the head in memory stays where it was.
  flaky->write_then_fail = true;
  std::vector<std::future<Ack>> fs;
  for (uint32_t i = 700; i < 706; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  for (auto& f : fs) {
    Ack a = f.get();
    EXPECT_EQ(a.status.reason(), "STORAGE_ERROR") << a.status.ToString();
    EXPECT_EQ(a.checkpoint, nullptr);
  }
  EXPECT_EQ(Size(), before);

  // Recovery reloads the durable head, which holds the batch; resubmitting
  // its records tells their submitters where they are.
  flaky->write_then_fail = false;
  for (int i = 0; i < 500 && !ledger_->StorageStatus().ok(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(ledger_->StorageStatus().ok()) << ledger_->StorageStatus().ToString();
  // The first batch failed (it holds at least Device(700)); the records
  // queued behind it were refused without a write.
  const uint64_t after = Size();
  ASSERT_GE(after, before + 2);
  const uint64_t durable = after - before - 1;  // records, then their index root
  for (uint32_t i = 700; i < 706; ++i) {
    Ack a = ledger_->SubmitAndWait(w_.Device(i));
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    EXPECT_EQ(a.already_logged, i - 700 < durable) << i;
    if (a.already_logged) EXPECT_EQ(a.index, before + (i - 700));
    EXPECT_TRUE(Included(w_.Device(i), a.index, *a.checkpoint));
  }
  EXPECT_TRUE(Appended(w_.Device(706), Size()));
  const uint64_t final_size = Size();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Size(), final_size);
}

// ---------------------------------------------------------------------------
// Reads

TEST_F(LedgerTest, GetEntriesBounds) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  auto all = ledger_->GetEntries(0, Size());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), Size());
  for (uint64_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].index(), i);
    EXPECT_EQ((*all)[i].signed_record(), *ledger_->GetLeaf(i));
  }
  auto one = ledger_->GetEntries(Size() - 1, Size());
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].index(), Size() - 1);

  for (auto [s, e] : std::vector<std::pair<uint64_t, uint64_t>>{
           {5, 5}, {6, 5}, {0, Size() + 1}, {Size(), Size() + 1}, {0, ~uint64_t{0}}}) {
    auto r = ledger_->GetEntries(s, e);
    ASSERT_FALSE(r.ok()) << s << ".." << e;
    EXPECT_EQ(r.status().code(), Code::kOutOfRange);
    EXPECT_EQ(r.status().reason(), "BAD_RANGE");
  }

  LedgerOptions o;
  o.max_entries_per_read = 5;
  ASSERT_NO_FATAL_FAILURE(Reopen(o));
  EXPECT_TRUE(ledger_->GetEntries(0, 5).ok());
  auto big = ledger_->GetEntries(0, 6);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kOutOfRange);
  EXPECT_EQ(big.status().reason(), "RANGE_TOO_LARGE");
}

TEST_F(LedgerTest, GetEntriesStopsAtTheByteLimitButReturnsAtLeastOne) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  LedgerOptions o;
  o.max_read_bytes = 1;
  ASSERT_NO_FATAL_FAILURE(Reopen(o));
  auto r = ledger_->GetEntries(3, 10);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].index(), 3u);

  size_t two = ledger_->GetLeaf(3)->size() + ledger_->GetLeaf(4)->size();
  o.max_read_bytes = two;
  ASSERT_NO_FATAL_FAILURE(Reopen(o));
  r = ledger_->GetEntries(3, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 2u);
}

TEST_F(LedgerTest, ProofSizeLimits) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t size = Size();
  auto p = ledger_->InclusionProof(3, size + 1);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kOutOfRange);
  EXPECT_EQ(p.status().reason(), "TREE_SIZE_TOO_LARGE");
  // 0 means the latest size.
  auto latest = ledger_->InclusionProof(3, 0);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->tree_size(), size);
  EXPECT_TRUE(Included(*ledger_->GetLeaf(3), 3, *ledger_->Checkpoint()));
  // An older size verifies against that size's stored checkpoint: the head
  // the batch of the third record made.
  const uint64_t old_size = At(World::kDistOrg) + 2;
  ASSERT_GT(old_size, 3u);
  std::string note;
  ASSERT_TRUE(*store_->Get(coding::CheckpointKey(old_size), &note));
  auto vkey = verifier::ParseVerifierKey(ledger_->verifier_key());
  auto old_cp = verifier::VerifyCheckpoint(note, *vkey, kOrigin);
  ASSERT_TRUE(old_cp.ok());
  EXPECT_EQ(old_cp->size, old_size);
  auto p_old = ledger_->InclusionProof(3, old_size);
  ASSERT_TRUE(p_old.ok());
  EXPECT_TRUE(verifier::VerifyInclusion(3, old_size, LeafHashOf(*ledger_->GetLeaf(3)),
                                        ToHashes(p_old->hashes()), old_cp->root)
                  .ok());
  // Index outside the requested tree.
  EXPECT_FALSE(ledger_->InclusionProof(old_size, old_size).ok());
  EXPECT_FALSE(ledger_->InclusionProof(size, 0).ok());

  auto c = ledger_->ConsistencyProof(2, size + 1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "TREE_SIZE_TOO_LARGE");
  auto c_old = ledger_->ConsistencyProof(old_size, 0);
  ASSERT_TRUE(c_old.ok()) << c_old.status().ToString();
  EXPECT_EQ(c_old->first(), old_size);
  EXPECT_EQ(c_old->second(), size);
  EXPECT_TRUE(verifier::VerifyConsistency(old_size, size, ToHashes(c_old->hashes()), old_cp->root,
                                          Verified(*ledger_->Checkpoint()).root)
                  .ok());
  EXPECT_FALSE(ledger_->ConsistencyProof(size, old_size).ok());
}

TEST_F(LedgerTest, FindLeafByLeafHash) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  auto leaves = w_.Setup();
  for (size_t k = 0; k < leaves.size(); ++k) {
    auto f = ledger_->FindLeaf(LeafHashOf(leaves[k]));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f, setup_[k]);
  }
  auto none = ledger_->FindLeaf(LeafHashOf("never submitted"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_EQ(none.status().reason(), "UNKNOWN_LEAF");
  // The record hash (not the leaf hash) is not a key.
  EXPECT_FALSE(ledger_->FindLeaf(verifier::Sha256(std::string_view(leaves[0]))).ok());
  auto missing = ledger_->GetLeaf(Size());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kDataLoss);
}

// ---------------------------------------------------------------------------
// Evidence

class EvidenceTest : public LedgerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LedgerTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AppendSetup());
    sn1_ = Append(w_.Device(1));
    sn2_ = Append(w_.Device(2));
    transfer_ = Append(w_.Transfer(1, kAcme, kDist, w_.acme_cust));
    ASSERT_FALSE(HasFailure());
  }

  // Where the fixture's records landed, but `except`.
  std::vector<uint64_t> SetupBut(std::set<World::SetupLeaf> except) const {
    std::vector<uint64_t> out;
    for (size_t k = 0; k < World::kSetupLeaves; ++k) {
      if (!except.count(static_cast<World::SetupLeaf>(k))) out.push_back(setup_[k]);
    }
    return out;
  }
  static std::vector<uint64_t> Plus(std::vector<uint64_t> v, std::vector<uint64_t> more) {
    v.insert(v.end(), more.begin(), more.end());
    return Sorted(std::move(v));
  }
  static verifier::Subject Sn(const std::string& serial) {
    return verifier::subject::Device(kAcme, serial);
  }

  std::multiset<std::string> Kinds(const pb::Evidence& ev) {
    std::multiset<std::string> out;
    for (const auto& e : ev.entries())
      out.insert(pb::Record::descriptor()
                     ->FindFieldByNumber(RecordOf(e.signed_record()).kind_case())
                     ->name());
    return out;
  }

  uint64_t sn1_ = 0, sn2_ = 0, transfer_ = 0;
};

TEST_F(EvidenceTest, DeviceEvidenceHoldsEverythingNeededToJudgeTheDevice) {
  auto ev = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->checkpoint().size(), Size());
  std::vector<uint64_t> idx = CheckEvidence(*ev);
  // Every record but the other device's, and the head's index root.
  EXPECT_EQ(idx, Plus(SetupBut({}), {0, sn1_, transfer_, HeadRoot()}));
  EXPECT_TRUE(ProvenComplete(*ev, {Sn("SN-1")}));
  auto kinds = Kinds(*ev);
  EXPECT_EQ(kinds.count("index_root"), 1u);
  EXPECT_EQ(kinds.count("genesis"), 1u);
  EXPECT_EQ(kinds.count("device"), 1u);
  EXPECT_EQ(kinds.count("device_model"), 1u);
  EXPECT_EQ(kinds.count("component"), 1u);
  EXPECT_EQ(kinds.count("firmware_release"), 1u);
  EXPECT_EQ(kinds.count("transfer"), 1u);
  EXPECT_EQ(kinds.count("key_enrollment"), 4u);
  EXPECT_EQ(kinds.count("organization"), 4u);  // acme, orion, dist and acme's owner
  EXPECT_EQ(kinds.count("ownership"), 1u);
  for (const auto& e : ev->entries()) {
    pb::Record r = RecordOf(e.signed_record());
    if (r.has_device()) {
      EXPECT_EQ(r.device().serial(), "SN-1");
    }
  }

  // The untransferred device: no transfer and no distributor (but all of the
  // manufacturer's records, its custodian key too).
  auto ev2 = ledger_->DeviceEvidence(kAcme, "SN-2");
  ASSERT_TRUE(ev2.ok()) << ev2.status().ToString();
  EXPECT_EQ(CheckEvidence(*ev2),
            Plus(SetupBut({World::kDistOrg, World::kDistCustKey}), {0, sn2_, HeadRoot()}));
  EXPECT_TRUE(ProvenComplete(*ev2, {Sn("SN-2")}));
  // And a verdict on it needs nothing else.
  auto v = VerifyAsClient(*ev);
  ASSERT_TRUE(v.ok());
  verifier::Judgement j = verifier::JudgeDevice(*v, {kAcme, "SN-1", kDist, "C100", kAcme});
  EXPECT_EQ(j.verdict, verifier::Verdict::kTrusted);
  for (const auto& f : j.findings) {
    EXPECT_TRUE(f.severity == verifier::Finding::Severity::kInfo ||
                f.severity == verifier::Finding::Severity::kSkipped)
        << f.code << ": " << f.message;
  }
}

TEST_F(EvidenceTest, UnknownDeviceAndOrg) {
  auto d = ledger_->DeviceEvidence(kAcme, "SN-404");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kNotFound);
  EXPECT_EQ(d.status().reason(), "UNKNOWN_DEVICE");
  EXPECT_FALSE(ledger_->DeviceEvidence(kOrion, "SN-1").ok());
  auto o = ledger_->OrganizationEvidence("nobody");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), Code::kNotFound);
  EXPECT_EQ(o.status().reason(), "UNKNOWN_ORG");
}

TEST_F(EvidenceTest, AnUnregisteredDeviceComesWithAProofOfItsEmptyHistory) {
  pb::DeviceRef ref;
  ref.set_manufacturer_org(kAcme);
  ref.set_serial("SN-404");
  auto ev = ledger_->DevicesEvidence({ref});
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  ASSERT_EQ(ev->unknown_devices_size(), 1);
  const pb::SubjectProof* proof = nullptr;
  for (const auto& p : ev->subjects()) {
    if (verifier::FromProto(p.subject()) == Sn("SN-404")) proof = &p;
  }
  ASSERT_NE(proof, nullptr) << "no proof for the unknown device";
  EXPECT_EQ(proof->history_size(), 0);
  EXPECT_EQ(CheckEvidence(*ev), (std::vector<uint64_t>{0, HeadRoot()}));
  EXPECT_TRUE(ProvenComplete(*ev, {Sn("SN-404")}));
  // So a client rejects it on the proof, not on the server's word.
  auto v = VerifyAsClient(*ev);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->complete.at(Sn("SN-404")), std::vector<uint64_t>{});
  verifier::Judgement j = verifier::JudgeDevice(*v, {kAcme, "SN-404", kDist, "", ""});
  EXPECT_EQ(j.verdict, verifier::Verdict::kRejected);
  ASSERT_EQ(j.findings.size(), 1u);
  EXPECT_EQ(j.findings[0].code, "NOT_REGISTERED");
  EXPECT_EQ(j.findings[0].indices, std::vector<uint64_t>{HeadRoot()});
}

TEST_F(EvidenceTest, NamedOrgsAndLawsAreAddedAndUnknownOnesComeWithHints) {
  // A law, and an org subject to it that no device here depends on.
  const uint64_t law = Append(w_.Auth(records::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", "")));
  const uint64_t hik = Append(w_.Auth(
      records::OrganizationRecord(kT, "hikvision", "Hikvision", "CN", {"CN-NIL-2017"})));
  pb::DeviceRef sn1;
  sn1.set_manufacturer_org(kAcme);
  sn1.set_serial("SN-1");
  auto ev = ledger_->DevicesEvidence({sn1}, {"hikvision", "hikvison", "Acme-Cam"},
                                     {"CN-NIL-2017", "CN-NIL2017"});
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  std::vector<uint64_t> idx = CheckEvidence(*ev);
  // The named org and the law its record names (so it replays), and the law.
  EXPECT_NE(std::find(idx.begin(), idx.end(), law), idx.end());
  EXPECT_NE(std::find(idx.begin(), idx.end(), hik), idx.end());
  EXPECT_TRUE(ProvenComplete(*ev, {Sn("SN-1"), verifier::subject::Org("hikvision"),
                                   verifier::subject::Law("CN-NIL-2017")}));
  ASSERT_EQ(ev->unknown_ids_size(), 3);
  std::map<std::string, std::vector<std::string>> hints;
  for (const auto& u : ev->unknown_ids()) {
    hints[u.kind() + ":" + u.id()] = {u.suggestions().begin(), u.suggestions().end()};
  }
  EXPECT_EQ(hints["org:hikvison"], std::vector<std::string>{"hikvision"});
  EXPECT_EQ(hints["org:Acme-Cam"].at(0), kAcme);  // case-insensitive first
  EXPECT_EQ(hints["law:CN-NIL2017"], std::vector<std::string>{"CN-NIL-2017"});
  // No devices at all: just the named subjects.
  auto only = ledger_->DevicesEvidence({}, {"hikvision"}, {});
  ASSERT_TRUE(only.ok()) << only.status().ToString();
  EXPECT_EQ(CheckEvidence(*only), (std::vector<uint64_t>{0, law, hik, HeadRoot()}));
  EXPECT_TRUE(ProvenComplete(*only, {verifier::subject::Org("hikvision")}));
}

TEST_F(EvidenceTest, DeviceEvidenceCarriesItsMakersMacBlocks) {
  const uint64_t block = Append(w_.Auth(records::MacBlockRecord(kT, kAcme, "ACCC8E", "IEEE")));
  auto ev = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  std::vector<uint64_t> idx = CheckEvidence(*ev);  // replays in evidence-subset mode
  EXPECT_NE(std::find(idx.begin(), idx.end(), block), idx.end());
  EXPECT_TRUE(ProvenComplete(*ev, {Sn("SN-1")}));
}

TEST_F(LedgerTest, AnIdleHeadIsReSignedWithAFreshTime) {
  auto first = ledger_->Checkpoint();
  auto t0 = verifier::CheckpointTime(Verified(*first));
  ASSERT_TRUE(t0.ok());
  EXPECT_GT(*t0, 0) << "every checkpoint carries a signed Timestamp line";
  LedgerOptions o;
  o.checkpoint_refresh = std::chrono::seconds(1);
  ASSERT_NO_FATAL_FAILURE(Reopen(o));
  std::shared_ptr<const pb::SignedCheckpoint> later;
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    later = ledger_->Checkpoint();
    auto t = verifier::CheckpointTime(Verified(*later));
    if (t.ok() && *t > *t0) break;
  }
  auto t1 = verifier::CheckpointTime(Verified(*later));
  ASSERT_TRUE(t1.ok());
  EXPECT_GT(*t1, *t0);
  EXPECT_EQ(later->size(), first->size());
  EXPECT_EQ(later->root_hash(), first->root_hash());
  // It is the stored head too: a restart serves it.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_GE(*verifier::CheckpointTime(Verified(*ledger_->Checkpoint())), *t1);
}

TEST_F(EvidenceTest, OrganizationEvidenceFollowsOwnership) {
  auto acme = ledger_->OrganizationEvidence(kAcme);
  ASSERT_TRUE(acme.ok()) << acme.status().ToString();
  // acme's record, its keys, the ownership, and the owner's record.
  EXPECT_EQ(CheckEvidence(*acme),
            Sorted({0, At(World::kAcmeOrg), At(World::kHoldingOrg), At(World::kHoldingOwnsAcme),
                    At(World::kAcmeMfrKey), At(World::kAcmeCustKey), HeadRoot()}));
  EXPECT_TRUE(ProvenComplete(*acme, {verifier::subject::Org(kAcme)}));
  auto kinds = Kinds(*acme);
  EXPECT_EQ(kinds.count("organization"), 2u);
  EXPECT_EQ(kinds.count("ownership"), 1u);
  EXPECT_EQ(kinds.count("key_enrollment"), 2u);

  // The owner pulls in only the current record of what it holds (#1, so a
  // policy can name an affiliate), not its keys or its other records.
  auto holding = ledger_->OrganizationEvidence(kHolding);
  ASSERT_TRUE(holding.ok());
  EXPECT_EQ(CheckEvidence(*holding),
            Sorted({0, At(World::kAcmeOrg), At(World::kHoldingOrg), At(World::kHoldingOwnsAcme),
                    HeadRoot()}));
  auto dist = ledger_->OrganizationEvidence(kDist);
  ASSERT_TRUE(dist.ok());
  EXPECT_EQ(CheckEvidence(*dist),
            Sorted({0, At(World::kDistOrg), At(World::kDistCustKey), HeadRoot()}));
}

TEST_F(EvidenceTest, EvidenceOverTheByteLimitIsRefused) {
  LedgerOptions o;
  o.max_read_bytes = 2000;
  ASSERT_NO_FATAL_FAILURE(Reopen(o));
  auto ev = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.status().code(), Code::kOutOfRange);
  EXPECT_EQ(ev.status().reason(), "EVIDENCE_TOO_LARGE");
}

// ---------------------------------------------------------------------------
// Reopen and corruption

TEST_F(LedgerTest, ReopenKeepsTreeStateAndLeafIndex) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  const uint64_t device = Append(w_.Device(1));
  std::string note = ledger_->Checkpoint()->note();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ledger_->Checkpoint()->note(), note);
  EXPECT_EQ(Size(), device + 2);
  // The leaf index, the rulebook state and the tree all carry on.
  Ack again = ledger_->SubmitAndWait(w_.Device(1));
  EXPECT_TRUE(again.status.ok() && again.already_logged && again.index == device);
  EXPECT_TRUE(Rejected(World::By(records::DeviceRecord(kT, kAcme, "SN-1", "C100",
                                                      ledger_test::DeviceKey(77).public_key(), kT),
                                 w_.acme_mfr),
                       Code::kAlreadyExists, "DUPLICATE_SERIAL"));
  EXPECT_EQ(Append(w_.Device(2)), device + 2);
  EXPECT_TRUE(Included(w_.Device(1), device, *ledger_->Checkpoint()));
}

TEST_F(LedgerTest, ReopenRebuildsTheSameIndex) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  Append(w_.Device(1));
  Append(w_.Transfer(1, kAcme, kDist, w_.acme_cust));
  const std::vector<verifier::Subject> sn1{verifier::subject::Device(kAcme, "SN-1")};
  auto before = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE(ProvenComplete(*before, sn1));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  // The same head: the index rebuilt from the stored histories proves the
  // same histories with the same paths.
  auto after = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(ProvenComplete(*after, sn1));
  ASSERT_EQ(after->subjects_size(), before->subjects_size());
  for (int k = 0; k < after->subjects_size(); ++k) {
    EXPECT_EQ(after->subjects(k).SerializeAsString(), before->subjects(k).SerializeAsString())
        << verifier::FromProto(after->subjects(k).subject()).Name();
  }
  // And it goes on from there: a new batch's root is the index of all.
  const uint64_t status = Append(World::By(
      records::DeviceStatusRecord(kT + 5, kAcme, "SN-1", pb::DEVICE_CONDITION_STOLEN), w_.acme_mfr));
  auto later = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_TRUE(ProvenComplete(*later, sn1));
  auto v = VerifyAsClient(*later);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->complete.at(sn1[0]).back(), status);
  Layout();  // every root, before and after the reopen, is the index of its leaves
}

class CorruptionTest : public LedgerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LedgerTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AppendSetup());
    for (uint32_t i = 1; i <= 3; ++i) Append(w_.Device(i));
    ASSERT_FALSE(HasFailure());
    size_ = Size();
    ledger_.reset();
  }
  // The stored history of `s` (state_key::IndexHistory).
  static std::string HistoryKey(const verifier::Subject& s) {
    return coding::StateKey(verifier::state_key::IndexHistory(verifier::SubjectKey(s)));
  }
  std::string Value(const std::string& key) {
    std::string v;
    EXPECT_TRUE(*store_->Get(key, &v)) << "no such key";
    return v;
  }
  static std::string Flip(std::string s, size_t at) {
    s[at % s.size()] ^= 0x01;
    return s;
  }
  void ExpectDataLoss(std::string_view reason) {
    auto l = TryOpen();
    ASSERT_FALSE(l.ok()) << "opened a corrupt ledger";
    EXPECT_EQ(l.status().code(), Code::kDataLoss) << l.status().ToString();
    EXPECT_EQ(l.status().reason(), reason) << l.status().ToString();
  }
  uint64_t size_ = 0;
};

TEST_F(CorruptionTest, UntouchedStoreOpens) { ASSERT_NO_FATAL_FAILURE(Reopen()); }

TEST_F(CorruptionTest, LastLeafChanged) {
  store_->Poke(coding::LeafKey(size_ - 1), Flip(Value(coding::LeafKey(size_ - 1)), 40));
  ExpectDataLoss("TREE_CORRUPT");
}

TEST_F(CorruptionTest, LastLeafMissingItsBytes) {
  store_->Poke(coding::LeafKey(size_ - 1), "");
  ExpectDataLoss("TREE_CORRUPT");
}

TEST_F(CorruptionTest, LeafTileHashFlipped) {
  store_->Poke(coding::TileKey(0, 0), Flip(Value(coding::TileKey(0, 0)), 32 * 3 + 7));
  ExpectDataLoss("TREE_CORRUPT");
}

TEST_F(CorruptionTest, TileTruncated) {
  std::string t = Value(coding::TileKey(0, 0));
  store_->Poke(coding::TileKey(0, 0), t.substr(0, t.size() - 32));
  ExpectDataLoss("TREE_CORRUPT");
}

TEST_F(CorruptionTest, CheckpointSignatureDamaged) {
  std::string note = Value(std::string(coding::kLatestCheckpointKey));
  store_->Poke(std::string(coding::kLatestCheckpointKey), Flip(note, note.size() - 5));
  ExpectDataLoss("BAD_CHECKPOINT");
}

TEST_F(CorruptionTest, CheckpointTextChanged) {
  std::string note = Value(std::string(coding::kLatestCheckpointKey));
  size_t nl = note.find('\n');
  // The size line, one more: the signature no longer matches.
  const std::string size = std::to_string(size_);
  ASSERT_EQ(note.substr(nl + 1, size.size() + 1), size + "\n");
  note.replace(nl + 1, size.size(), std::to_string(size_ + 1));
  store_->Poke(std::string(coding::kLatestCheckpointKey), note);
  ExpectDataLoss("BAD_CHECKPOINT");
}

TEST_F(CorruptionTest, RolledBackToAnOlderValidCheckpoint) {
  // A genuine, validly signed older checkpoint as the latest: the leaves
  // beyond it give the rollback away.
  store_->Poke(std::string(coding::kLatestCheckpointKey), Value(coding::CheckpointKey(size_ - 2)));
  ExpectDataLoss("TREE_CORRUPT");
}

TEST_F(CorruptionTest, ALeafBeyondTheCheckpoint) {
  store_->Poke(coding::LeafKey(size_), w_.Device(9));
  ExpectDataLoss("TREE_CORRUPT");
}

TEST_F(CorruptionTest, AStoredHistoryChanged) {
  const std::string key = HistoryKey(verifier::subject::Device(kAcme, "SN-2"));
  const std::string good = Value(key);
  ASSERT_EQ(good.size(), 8u);  // its registration
  store_->Poke(key, Flip(good, 7));  // another leaf
  ExpectDataLoss("INDEX_CORRUPT");
  store_->Poke(key, good + good.substr(0, 7) + "\xff");  // one more
  ExpectDataLoss("INDEX_CORRUPT");
  store_->Poke(key, "");  // none
  ExpectDataLoss("INDEX_CORRUPT");
  store_->Poke(key, good.substr(0, 5));  // not BE64s
  ExpectDataLoss("INDEX_CORRUPT");
  store_->Poke(key, good);
  ASSERT_NO_FATAL_FAILURE(Reopen());
}

TEST_F(CorruptionTest, AStoredHistoryForASubjectNoRecordConcerns) {
  store_->Poke(HistoryKey(verifier::subject::Device(kAcme, "SN-404")),
               Value(HistoryKey(verifier::subject::Device(kAcme, "SN-1"))));
  ExpectDataLoss("INDEX_CORRUPT");
}

TEST_F(CorruptionTest, CheckpointSignedByAnotherKeyForTheSameOrigin) {
  verifier::Checkpoint c{kOrigin, size_, {}, {}};
  std::string forged =
      verifier::SignNote(verifier::FormatCheckpoint(c), kOrigin, ledger_test::KeyFromByte(66));
  store_->Poke(std::string(coding::kLatestCheckpointKey), forged);
  ExpectDataLoss("BAD_CHECKPOINT");
}

// ---------------------------------------------------------------------------
// RocksDB

TEST(LedgerRocksTest, PersistsAcrossARealReopen) {
  verifier::InitCrypto();
  World w;
  TempDir dir;
  std::string note;
  uint64_t device = 0;
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/true);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    ASSERT_TRUE(Ledger::Init(kv->get(), w.log_key, w.Genesis()).ok());
    auto l = Ledger::Open(std::move(kv).value(), w.log_key);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    for (const auto& leaf : w.Setup()) {
      const uint64_t want = (*l)->Checkpoint()->size();
      Ack a = (*l)->SubmitAndWait(leaf);
      ASSERT_TRUE(a.status.ok()) << a.status.ToString();
      ASSERT_EQ(a.index, want);
    }
    const uint64_t want = (*l)->Checkpoint()->size();
    Ack d = (*l)->SubmitAndWait(w.Device(1));
    ASSERT_TRUE(d.status.ok());
    ASSERT_EQ(d.index, want);
    device = d.index;
    note = (*l)->Checkpoint()->note();
    EXPECT_GT((*l)->kv().ApproximateDiskBytes(), 0u);
  }
  auto kv = OpenRocksKvStore(dir.db(), /*create=*/false);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  auto l = Ledger::Open(std::move(kv).value(), w.log_key);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)->Checkpoint()->note(), note);
  EXPECT_EQ((*l)->Checkpoint()->size(), device + 2);
  Ack again = (*l)->SubmitAndWait(w.Device(1));
  EXPECT_TRUE(again.status.ok() && again.already_logged && again.index == device);
  Ack dup = (*l)->SubmitAndWait(World::By(
      records::DeviceRecord(kT, kAcme, "SN-1", "C100", ledger_test::DeviceKey(5).public_key(), kT),
      w.acme_mfr));
  EXPECT_EQ(dup.status.reason(), "DUPLICATE_SERIAL");
  Ack next = (*l)->SubmitAndWait(w.Device(2));
  ASSERT_TRUE(next.status.ok()) << next.status.ToString();
  EXPECT_EQ(next.index, device + 2);
  const uint64_t size = (*l)->Checkpoint()->size();
  EXPECT_EQ(size, next.index + 2);
  auto entries = (*l)->GetEntries(0, size);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), size);
  auto ev = (*l)->DeviceEvidence(kAcme, "SN-2");
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->checkpoint().size(), size);
  EXPECT_FALSE(ev->subjects().empty());
}

TEST(LedgerRocksTest, ReopenOfACorruptedRocksLedgerIsDataLoss) {
  verifier::InitCrypto();
  World w;
  TempDir dir;
  uint64_t size = 0;
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/true);
    ASSERT_TRUE(kv.ok());
    ASSERT_TRUE(Ledger::Init(kv->get(), w.log_key, w.Genesis()).ok());
    auto l = Ledger::Open(std::move(kv).value(), w.log_key);
    ASSERT_TRUE(l.ok());
    for (const auto& leaf : w.Orgs()) ASSERT_TRUE((*l)->SubmitAndWait(leaf).status.ok());
    size = (*l)->Checkpoint()->size();
  }
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/false);
    ASSERT_TRUE(kv.ok());
    KvBatch b;
    b.Put(coding::LeafKey(size - 1), "tampered");  // the head's last leaf
    ASSERT_TRUE((*kv)->Write(b).ok());
  }
  auto kv = OpenRocksKvStore(dir.db(), /*create=*/false);
  ASSERT_TRUE(kv.ok());
  auto l = Ledger::Open(std::move(kv).value(), w.log_key);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kDataLoss);
  EXPECT_EQ(l.status().reason(), "TREE_CORRUPT");
}

}  // namespace
}  // namespace ledger
