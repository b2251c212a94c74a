// The ledger (sequencer, reads, proofs, evidence, open checks) over a
// MemoryKvStore, plus RocksDB for persistence across a real reopen. Every
// acknowledged checkpoint is verified with the ledger's published verifier
// key, and every proof is verified against it.
#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <map>
#include <thread>
#include <vector>

#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "proto/records.pb.h"
#include "tests/ledger/fixture.h"
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

  // Appends the fixture: indices 1..12.
  void AppendSetup() {
    uint64_t i = 1;
    for (const std::string& leaf : w_.Setup()) ASSERT_TRUE(Appended(leaf, i++));
    ASSERT_EQ(Size(), World::kFixtureSize);
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
};

// ---------------------------------------------------------------------------
// Init and Open

TEST_F(LedgerTest, InitWritesTheGenesisAsLeafZero) {
  EXPECT_EQ(ledger_->origin(), kOrigin);
  EXPECT_EQ(ledger_->verifier_key(), verifier::FormatVerifierKey(kOrigin, w_.log_key.public_key()));
  auto c = ledger_->Checkpoint();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->size(), 1u);
  verifier::Checkpoint cp = Verified(*c);
  EXPECT_EQ(cp.origin, kOrigin);
  auto leaf = ledger_->GetLeaf(0);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(cp.root, LeafHashOf(*leaf));
  pb::Record r = RecordOf(*leaf);
  ASSERT_TRUE(r.has_genesis());
  EXPECT_EQ(r.genesis().origin(), kOrigin);
  EXPECT_TRUE(verifier::PrepareRecord(*leaf).ok());
  EXPECT_EQ(*ledger_->FindLeaf(LeafHashOf(*leaf)), 0u);
  // The first checkpoint is kept under its size too.
  std::string note;
  ASSERT_TRUE(*store_->Get(coding::CheckpointKey(1), &note));
  EXPECT_EQ(note, c->note());
}

TEST_F(LedgerTest, InitRefusesAnExistingLedgerAndANonGenesisLeafZero) {
  verifier::Status again = Ledger::Init(store_.get(), w_.log_key, w_.Genesis());
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_EQ(again.reason(), "LEDGER_EXISTS");

  MemoryKvStore fresh;
  verifier::Status s = Ledger::Init(&fresh, w_.log_key,
                                    client::OrganizationRecord(kT, kAcme, "Acme Camera Co.", "CN"));
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

TEST_F(LedgerTest, AValidChainGetsConsecutiveIndicesAndProvenCheckpoints) {
  auto first = ledger_->Checkpoint();
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  ASSERT_TRUE(Appended(w_.Device(1), 13));
  ASSERT_TRUE(Appended(w_.Transfer(1, kAcme, kDist, w_.acme_cust), 14));
  EXPECT_EQ(Size(), 15u);
  // Every earlier leaf is provably in the latest tree, which extends the first.
  auto latest = ledger_->Checkpoint();
  std::vector<std::string> leaves{*ledger_->GetLeaf(0)};
  for (auto& l : w_.Setup()) leaves.push_back(l);
  leaves.push_back(w_.Device(1));
  leaves.push_back(w_.Transfer(1, kAcme, kDist, w_.acme_cust));
  for (uint64_t i = 0; i < leaves.size(); ++i) {
    EXPECT_EQ(*ledger_->GetLeaf(i), leaves[i]);
    EXPECT_TRUE(Included(leaves[i], i, *latest));
    EXPECT_EQ(*ledger_->FindLeaf(LeafHashOf(leaves[i])), i);
  }
  auto cons = ledger_->ConsistencyProof(1, 0);
  ASSERT_TRUE(cons.ok()) << cons.status().ToString();
  EXPECT_EQ(cons->second(), 15u);
  EXPECT_TRUE(verifier::VerifyConsistency(1, 15, ToHashes(cons->hashes()), Verified(*first).root,
                                          Verified(*latest).root)
                  .ok());
  // A checkpoint is stored for every size committed.
  std::string note;
  for (uint64_t s = 1; s <= 15; ++s) EXPECT_TRUE(*store_->Get(coding::CheckpointKey(s), &note));
}

TEST_F(LedgerTest, ResubmittingIdenticalBytesIsAlreadyLogged) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  ASSERT_TRUE(Appended(w_.Device(1), 13));
  auto before = ledger_->Checkpoint();

  for (uint64_t want : {uint64_t{13}, uint64_t{13}}) {
    Ack a = ledger_->SubmitAndWait(w_.Device(1));
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    EXPECT_TRUE(a.already_logged);
    EXPECT_EQ(a.index, want);
    ASSERT_NE(a.checkpoint, nullptr);
    EXPECT_EQ(a.checkpoint->size(), 14u);
    EXPECT_TRUE(Included(w_.Device(1), a.index, *a.checkpoint));
  }
  // An older record, and the genesis itself.
  Ack org = ledger_->SubmitAndWait(w_.Orgs()[2]);
  EXPECT_TRUE(org.status.ok() && org.already_logged && org.index == 3);
  Ack gen = ledger_->SubmitAndWait(*ledger_->GetLeaf(0));
  EXPECT_TRUE(gen.status.ok() && gen.already_logged && gen.index == 0) << gen.status.ToString();
  EXPECT_EQ(ledger_->Checkpoint(), before);
  EXPECT_EQ(Size(), 14u);
}

TEST_F(LedgerTest, IdenticalBytesQueuedTogetherLandOnce) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
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
    EXPECT_EQ(a.index, 13u);
    if (!a.already_logged) ++fresh;
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(Size(), 14u);
}

TEST_F(LedgerTest, RejectedRecordsChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  ASSERT_TRUE(Appended(w_.Device(1), 13));

  // Same serial, another device key.
  EXPECT_TRUE(Rejected(World::By(client::DeviceRecord(kT, kAcme, "SN-1", "C100",
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
  EXPECT_TRUE(Rejected(World::By(client::DeviceRecord(kT, kAcme, "SN-X", "C100",
                                                      ledger_test::DeviceKey(998).public_key(), kT),
                                 w_.orion_mfr),
                       Code::kPermissionDenied, "WRONG_ROLE"));
  // Custody moved by someone who does not hold it.
  EXPECT_TRUE(Rejected(w_.Transfer(1, kDist, kAcme, w_.dist_cust), Code::kPermissionDenied,
                       "NOT_CUSTODIAN"));

  // The next valid record takes the next index: nothing was consumed.
  EXPECT_TRUE(Appended(w_.Device(2), 14));
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
      World::By(client::DeviceRecord(kT, kAcme, "SN-1", "C100",
                                     ledger_test::DeviceKey(500).public_key(), kT),
                w_.acme_mfr),
      w_.Device(2), w_.Transfer(1, kAcme, kDist, w_.acme_cust)};
  std::vector<std::future<Ack>> fs;
  for (const auto& l : leaves) fs.push_back(ledger_->Submit(*verifier::PrepareRecord(l)));
  std::vector<Ack> acks;
  for (auto& f : fs) acks.push_back(f.get());
  ASSERT_TRUE(acks[0].status.ok());
  EXPECT_EQ(acks[0].index, 13u);
  EXPECT_EQ(acks[1].status.reason(), "DUPLICATE_SERIAL");
  ASSERT_TRUE(acks[2].status.ok());
  EXPECT_EQ(acks[2].index, 14u);
  ASSERT_TRUE(acks[3].status.ok()) << acks[3].status.ToString();
  EXPECT_EQ(acks[3].index, 15u);
  EXPECT_EQ(Size(), 16u);
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
  EXPECT_EQ(*indices.rbegin(), start + n - 1);
  EXPECT_EQ(Size(), start + n);
  // The final tree equals the reference root over the stored leaves.
  std::vector<verifier::Hash> hashes;
  for (uint64_t i = 0; i < Size(); ++i) hashes.push_back(LeafHashOf(*ledger_->GetLeaf(i)));
  EXPECT_EQ(Verified(*ledger_->Checkpoint()).root, verifier::RootOf(hashes));
}

TEST_F(LedgerTest, ATinyQueueBlocksSubmittersButLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
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
  EXPECT_EQ(Size(), World::kFixtureSize + 30);
}

TEST_F(LedgerTest, DestroyingTheLedgerDrainsQueuedSubmissions) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
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
  EXPECT_EQ(Size(), World::kFixtureSize + 50);
}

TEST_F(LedgerTest, WaitForCheckpoint) {
  auto now = std::chrono::steady_clock::now();
  auto c = ledger_->WaitForCheckpoint(1, now + std::chrono::milliseconds(20));
  EXPECT_EQ(c->size(), 1u);  // timed out: the current one
  EXPECT_GE(std::chrono::steady_clock::now() - now, std::chrono::milliseconds(20));

  std::thread t([&] { EXPECT_TRUE(Appended(w_.Orgs()[0], 1)); });
  auto later =
      ledger_->WaitForCheckpoint(1, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  t.join();
  EXPECT_EQ(later->size(), 2u);
  EXPECT_EQ(ledger_->WaitForCheckpoint(0, std::chrono::steady_clock::now())->size(), 2u);
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
    return base_->Write(batch);
  }
  verifier::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return base_->Scan(prefix, fn);
  }
  std::atomic<bool> fail{false};

 private:
  std::shared_ptr<KvStore> base_;
};

TEST_F(LedgerTest, AFailedWriteAppendsNothingAndTheTreeRollsBack) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  ledger_.reset();
  auto flaky_owned = std::make_unique<FlakyKvStore>(store_);
  FlakyKvStore* flaky = flaky_owned.get();
  auto l = Ledger::Open(std::move(flaky_owned), w_.log_key);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ledger_ = std::move(l).value();

  // Grow to just below the first tile boundary.
  std::vector<std::future<Ack>> fs;
  for (uint32_t i = 0; i < 240; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  for (auto& f : fs) ASSERT_TRUE(f.get().status.ok());
  const uint64_t before = Size();
  ASSERT_EQ(before, 253u);
  auto ckpt = ledger_->Checkpoint();

  // Batches that would cross 256 fail: nobody is told they were appended.
  flaky->fail = true;
  fs.clear();
  for (uint32_t i = 500; i < 520; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  for (auto& f : fs) {
    Ack a = f.get();
    EXPECT_EQ(a.status.code(), Code::kUnavailable);
    EXPECT_EQ(a.status.reason(), "STORAGE_ERROR");
    EXPECT_EQ(a.checkpoint, nullptr);
  }
  Ack again = ledger_->SubmitAndWait(w_.Device(3));  // already logged: no write needed
  EXPECT_TRUE(again.status.ok() && again.already_logged && again.index == 16)
      << again.status.ToString();
  EXPECT_EQ(ledger_->Checkpoint(), ckpt);

  // Storage is back: other records take the same indices, and the failed ones
  // can be submitted again.
  flaky->fail = false;
  EXPECT_TRUE(Appended(w_.Device(600), before));
  fs.clear();
  for (uint32_t i = 500; i < 520; ++i)
    fs.push_back(ledger_->Submit(*verifier::PrepareRecord(w_.Device(i))));
  for (size_t k = 0; k < fs.size(); ++k) {
    Ack a = fs[k].get();
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    EXPECT_EQ(a.index, before + 1 + k);
  }
  std::vector<verifier::Hash> hashes;
  for (uint64_t i = 0; i < Size(); ++i) hashes.push_back(LeafHashOf(*ledger_->GetLeaf(i)));
  EXPECT_EQ(Verified(*ledger_->Checkpoint()).root, verifier::RootOf(hashes));
  EXPECT_TRUE(Included(w_.Device(510), before + 11, *ledger_->Checkpoint()));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Size(), before + 21);
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
  // An older size verifies against that size's stored checkpoint.
  std::string note;
  ASSERT_TRUE(*store_->Get(coding::CheckpointKey(5), &note));
  pb::SignedCheckpoint old;
  old.set_note(note);
  old.set_size(5);
  auto vkey = verifier::ParseVerifierKey(ledger_->verifier_key());
  auto old_cp = verifier::VerifyCheckpoint(note, *vkey, kOrigin);
  ASSERT_TRUE(old_cp.ok());
  auto p5 = ledger_->InclusionProof(3, 5);
  ASSERT_TRUE(p5.ok());
  EXPECT_TRUE(verifier::VerifyInclusion(3, 5, LeafHashOf(*ledger_->GetLeaf(3)),
                                        ToHashes(p5->hashes()), old_cp->root)
                  .ok());
  // Index outside the requested tree.
  EXPECT_FALSE(ledger_->InclusionProof(5, 5).ok());
  EXPECT_FALSE(ledger_->InclusionProof(size, 0).ok());

  auto c = ledger_->ConsistencyProof(2, size + 1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "TREE_SIZE_TOO_LARGE");
  auto c5 = ledger_->ConsistencyProof(5, 0);
  ASSERT_TRUE(c5.ok()) << c5.status().ToString();
  EXPECT_EQ(c5->first(), 5u);
  EXPECT_EQ(c5->second(), size);
  EXPECT_TRUE(verifier::VerifyConsistency(5, size, ToHashes(c5->hashes()), old_cp->root,
                                          Verified(*ledger_->Checkpoint()).root)
                  .ok());
  EXPECT_FALSE(ledger_->ConsistencyProof(size, 5).ok());
}

TEST_F(LedgerTest, FindLeafByLeafHash) {
  ASSERT_NO_FATAL_FAILURE(AppendSetup());
  auto leaves = w_.Setup();
  for (size_t k = 0; k < leaves.size(); ++k) {
    auto f = ledger_->FindLeaf(LeafHashOf(leaves[k]));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f, k + 1);
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
    ASSERT_TRUE(Appended(w_.Device(1), 13));
    ASSERT_TRUE(Appended(w_.Device(2), 14));
    ASSERT_TRUE(Appended(w_.Transfer(1, kAcme, kDist, w_.acme_cust), 15));
  }

  std::multiset<std::string> Kinds(const pb::Evidence& ev) {
    std::multiset<std::string> out;
    for (const auto& e : ev.entries())
      out.insert(pb::Record::descriptor()
                     ->FindFieldByNumber(RecordOf(e.signed_record()).kind_case())
                     ->name());
    return out;
  }
};

TEST_F(EvidenceTest, DeviceEvidenceHoldsEverythingNeededToJudgeTheDevice) {
  auto ev = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->checkpoint().size(), 16u);
  std::vector<uint64_t> idx = CheckEvidence(*ev);
  // Everything but the other device's record (14).
  EXPECT_EQ(idx, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15}));
  auto kinds = Kinds(*ev);
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
  EXPECT_EQ(CheckEvidence(*ev2), (std::vector<uint64_t>{0, 1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 14}));
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

TEST_F(EvidenceTest, NamedOrgsAndLawsAreAddedAndUnknownOnesComeWithHints) {
  // A law, and an org subject to it that no device here depends on.
  ASSERT_TRUE(Appended(w_.Auth(client::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", "")), 16));
  ASSERT_TRUE(Appended(w_.Auth(client::OrganizationRecord(kT, "hikvision", "Hikvision", "CN",
                                                          {"CN-NIL-2017"})),
                       17));
  pb::DeviceRef sn1;
  sn1.set_manufacturer_org(kAcme);
  sn1.set_serial("SN-1");
  auto ev = ledger_->DevicesEvidence({sn1}, {"hikvision", "hikvison", "Acme-Cam"},
                                     {"CN-NIL-2017", "CN-NIL2017"});
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  std::vector<uint64_t> idx = CheckEvidence(*ev);
  // The named org and the law its record names (so it replays), and the law.
  EXPECT_NE(std::find(idx.begin(), idx.end(), 16u), idx.end());
  EXPECT_NE(std::find(idx.begin(), idx.end(), 17u), idx.end());
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
  EXPECT_EQ(CheckEvidence(*only), (std::vector<uint64_t>{0, 16, 17}));
}

TEST_F(EvidenceTest, DeviceEvidenceCarriesItsMakersMacBlocks) {
  ASSERT_TRUE(Appended(w_.Auth(client::MacBlockRecord(kT, kAcme, "ACCC8E", "IEEE")), 16));
  auto ev = ledger_->DeviceEvidence(kAcme, "SN-1");
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  std::vector<uint64_t> idx = CheckEvidence(*ev);  // replays in evidence-subset mode
  EXPECT_NE(std::find(idx.begin(), idx.end(), 16u), idx.end());
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
  EXPECT_EQ(CheckEvidence(*acme), (std::vector<uint64_t>{0, 1, 4, 5, 6, 7}));
  auto kinds = Kinds(*acme);
  EXPECT_EQ(kinds.count("organization"), 2u);
  EXPECT_EQ(kinds.count("ownership"), 1u);
  EXPECT_EQ(kinds.count("key_enrollment"), 2u);

  // The owner pulls in only the current record of what it holds (#1, so a
  // policy can name an affiliate), not its keys or its other records.
  auto holding = ledger_->OrganizationEvidence(kHolding);
  ASSERT_TRUE(holding.ok());
  EXPECT_EQ(CheckEvidence(*holding), (std::vector<uint64_t>{0, 1, 4, 5}));
  auto dist = ledger_->OrganizationEvidence(kDist);
  ASSERT_TRUE(dist.ok());
  EXPECT_EQ(CheckEvidence(*dist), (std::vector<uint64_t>{0, 3, 9}));
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
  ASSERT_TRUE(Appended(w_.Device(1), 13));
  std::string note = ledger_->Checkpoint()->note();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ledger_->Checkpoint()->note(), note);
  EXPECT_EQ(Size(), 14u);
  // The leaf index, the rulebook state and the tree all carry on.
  Ack again = ledger_->SubmitAndWait(w_.Device(1));
  EXPECT_TRUE(again.status.ok() && again.already_logged && again.index == 13);
  EXPECT_TRUE(Rejected(World::By(client::DeviceRecord(kT, kAcme, "SN-1", "C100",
                                                      ledger_test::DeviceKey(77).public_key(), kT),
                                 w_.acme_mfr),
                       Code::kAlreadyExists, "DUPLICATE_SERIAL"));
  EXPECT_TRUE(Appended(w_.Device(2), 14));
  EXPECT_TRUE(Included(w_.Device(1), 13, *ledger_->Checkpoint()));
}

class CorruptionTest : public LedgerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LedgerTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(AppendSetup());
    for (uint32_t i = 1; i <= 3; ++i) ASSERT_TRUE(Appended(w_.Device(i), 12 + i));
    size_ = Size();  // 16
    ledger_.reset();
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
  // The size line: "16" -> "17", the signature no longer matches.
  ASSERT_EQ(note.substr(nl + 1, 3), "16\n");
  note[nl + 2] = '7';
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
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/true);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    ASSERT_TRUE(Ledger::Init(kv->get(), w.log_key, w.Genesis()).ok());
    auto l = Ledger::Open(std::move(kv).value(), w.log_key);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    uint64_t i = 1;
    for (const auto& leaf : w.Setup()) {
      Ack a = (*l)->SubmitAndWait(leaf);
      ASSERT_TRUE(a.status.ok()) << a.status.ToString();
      ASSERT_EQ(a.index, i++);
    }
    Ack d = (*l)->SubmitAndWait(w.Device(1));
    ASSERT_TRUE(d.status.ok());
    ASSERT_EQ(d.index, 13u);
    note = (*l)->Checkpoint()->note();
    EXPECT_GT((*l)->kv().ApproximateDiskBytes(), 0u);
  }
  auto kv = OpenRocksKvStore(dir.db(), /*create=*/false);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  auto l = Ledger::Open(std::move(kv).value(), w.log_key);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)->Checkpoint()->note(), note);
  EXPECT_EQ((*l)->Checkpoint()->size(), 14u);
  Ack again = (*l)->SubmitAndWait(w.Device(1));
  EXPECT_TRUE(again.status.ok() && again.already_logged && again.index == 13);
  Ack dup = (*l)->SubmitAndWait(World::By(
      client::DeviceRecord(kT, kAcme, "SN-1", "C100", ledger_test::DeviceKey(5).public_key(), kT),
      w.acme_mfr));
  EXPECT_EQ(dup.status.reason(), "DUPLICATE_SERIAL");
  Ack next = (*l)->SubmitAndWait(w.Device(2));
  ASSERT_TRUE(next.status.ok()) << next.status.ToString();
  EXPECT_EQ(next.index, 14u);
  auto entries = (*l)->GetEntries(0, 15);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 15u);
  auto ev = (*l)->DeviceEvidence(kAcme, "SN-2");
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->checkpoint().size(), 15u);
}

TEST(LedgerRocksTest, ReopenOfACorruptedRocksLedgerIsDataLoss) {
  verifier::InitCrypto();
  World w;
  TempDir dir;
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/true);
    ASSERT_TRUE(kv.ok());
    ASSERT_TRUE(Ledger::Init(kv->get(), w.log_key, w.Genesis()).ok());
    auto l = Ledger::Open(std::move(kv).value(), w.log_key);
    ASSERT_TRUE(l.ok());
    for (const auto& leaf : w.Orgs()) ASSERT_TRUE((*l)->SubmitAndWait(leaf).status.ok());
  }
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/false);
    ASSERT_TRUE(kv.ok());
    KvBatch b;
    b.Put(coding::LeafKey(9), "tampered");
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
