// VerifyStore (the offline `provd verify` check) on a RocksDB ledger: a clean
// store passes; each kind of damage fails with STORE_CORRUPT and a message
// naming what is wrong (the first bad leaf index, the bad tree node). The
// ledger is filled by a burst of submissions, batched as the sequencer takes
// them (each batch closed by an index root), so where each record landed is
// read back from its ack.
#include "ledger/verify_store.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "ledger/ledger.h"
#include "tests/ledger/fixture.h"
#include "verifier/index.h"
#include "verifier/note.h"

namespace ledger {
namespace {

using ledger_test::kAcme;
using ledger_test::kDist;
using ledger_test::TempDir;
using ledger_test::World;
using verifier::Code;

class VerifyStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { verifier::InitCrypto(); }

  // A RocksDB ledger: the fixture, `devices` devices and two transfers;
  // record_at_[k] is where the k-th of them landed.
  void Build(uint32_t devices) {
    RocksOptions fast;
    fast.sync = false;
    fast.block_cache_bytes = 1 << 20;
    auto kv = OpenRocksKvStore(dir_.db(), /*create=*/true, fast);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    ASSERT_TRUE(Ledger::Init(kv->get(), w_.log_key, w_.Genesis()).ok());
    auto l = Ledger::Open(std::move(kv).value(), w_.log_key);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    std::vector<std::string> leaves = w_.Setup();
    for (uint32_t i = 1; i <= devices; ++i) leaves.push_back(w_.Device(i));
    leaves.push_back(w_.Transfer(1, kAcme, kDist, w_.acme_cust));
    leaves.push_back(w_.Transfer(2, kAcme, kDist, w_.acme_cust));
    std::vector<std::future<Ack>> fs;
    for (const auto& leaf : leaves) {
      auto p = verifier::PrepareRecord(leaf);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      fs.push_back((*l)->Submit(std::move(p).value()));
    }
    record_at_.clear();
    for (size_t k = 0; k < fs.size(); ++k) {
      Ack a = fs[k].get();
      ASSERT_TRUE(a.status.ok()) << a.status.ToString();
      if (k > 0) {
        ASSERT_GT(a.index, record_at_.back());
      }
      record_at_.push_back(a.index);
    }
    size_ = (*l)->Checkpoint()->size();
    ASSERT_EQ(size_, record_at_.back() + 2);  // the last batch's index root
    root_ = (*l)->Checkpoint()->root_hash();
    layout_ = ledger_test::CheckLayout((*l)->kv(), size_);
    ASSERT_EQ(layout_.RecordsFrom(1), record_at_);  // and index roots between
  }
  uint64_t DeviceAt(uint32_t i) const { return record_at_.at(World::kSetupLeaves + i - 1); }

  std::unique_ptr<KvStore> Open() {
    auto kv = OpenRocksKvStore(dir_.db(), /*create=*/false);
    EXPECT_TRUE(kv.ok()) << kv.status().ToString();
    return kv.ok() ? std::move(kv).value() : nullptr;
  }
  std::string Value(const std::string& key) {
    auto kv = Open();
    std::string v;
    EXPECT_TRUE(*kv->Get(key, &v)) << "no such key";
    return v;
  }
  // Overwrites one stored value, as a disk or an operator might.
  void Put(const std::string& key, std::string value) {
    auto kv = Open();
    KvBatch b;
    b.Put(key, std::move(value));
    ASSERT_TRUE(kv->Write(b).ok());
  }
  static std::string Flip(std::string s, size_t at) {
    s.at(at) ^= 0x01;
    return s;
  }
  verifier::Result<StoreReport> Verify() {
    auto kv = Open();
    return VerifyStore(*kv, w_.log_key.public_key());
  }
  // VerifyStore fails with DATA_LOSS/STORE_CORRUPT and a message containing `what`.
  ::testing::AssertionResult Corrupt(const std::string& what) {
    auto r = Verify();
    if (r.ok()) return ::testing::AssertionFailure() << "verified a damaged store";
    const verifier::Status& s = r.status();
    if (s.code() != Code::kDataLoss || s.reason() != "STORE_CORRUPT" ||
        s.message().find(what) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "got " << s.ToString() << "; wanted \"" << what << "\"";
    }
    return ::testing::AssertionSuccess() << s.ToString();
  }

  World w_;
  TempDir dir_;
  uint64_t size_ = 0;
  std::string root_;
  std::vector<uint64_t> record_at_;
  ledger_test::LogLayout layout_;
};

constexpr uint32_t kDevices = 35;  // 49 records, and the index roots of their batches

TEST_F(VerifyStoreTest, CleanStoreVerifies) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  int progress_calls = 0;
  auto kv = Open();
  auto r = VerifyStore(*kv, w_.log_key.public_key(), [&](uint64_t) { ++progress_calls; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size, size_);
  EXPECT_EQ(std::string(verifier::AsStringView(r->root)), root_);
  uint64_t state_keys = 0;
  ASSERT_TRUE(kv->Scan(coding::kStatePrefix, [&](auto, auto) {
                  ++state_keys;
                  return true;
                }).ok());
  EXPECT_EQ(r->state_entries, state_keys);
  EXPECT_GT(state_keys, 40u);
  EXPECT_EQ(progress_calls, 0);  // reported every 10000 leaves
  // Among them one history per subject the head's index root counts.
  uint64_t histories = 0;
  ASSERT_TRUE(kv->Scan(coding::StateKey(verifier::state_key::kIndexHistoryPrefix), [&](auto, auto) {
                  ++histories;
                  return true;
                }).ok());
  std::string last;
  ASSERT_TRUE(*kv->Get(coding::LeafKey(size_ - 1), &last));
  pb::SignedRecord sr;
  pb::Record head_root;
  ASSERT_TRUE(sr.ParseFromString(last));
  ASSERT_TRUE(head_root.ParseFromString(sr.record()));
  ASSERT_TRUE(head_root.has_index_root());
  EXPECT_EQ(histories, head_root.index_root().subjects());
  EXPECT_EQ(histories, kDevices + 4 + 4 + 1 + 1);  // devices, orgs, keys, component, model
}

TEST_F(VerifyStoreTest, EmptyStoreIsNoLedger) {
  auto kv = OpenRocksKvStore(dir_.db(), /*create=*/true);
  ASSERT_TRUE(kv.ok());
  auto r = VerifyStore(**kv, w_.log_key.public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().reason(), "NO_LEDGER");
}

TEST_F(VerifyStoreTest, FlippedByteInALeafNamesItsIndex) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  // A device, a key enrolment, an index root inside and the head's last.
  for (uint64_t k : {DeviceAt(11), record_at_[World::kAcmeCustKey],
                     layout_.index_roots[layout_.index_roots.size() / 2], size_ - 1}) {
    SCOPED_TRACE(k);
    std::string good = Value(coding::LeafKey(k));
    for (size_t at : {size_t{3}, good.size() / 2, good.size() - 1}) {
      ASSERT_NO_FATAL_FAILURE(Put(coding::LeafKey(k), Flip(good, at)));
      EXPECT_TRUE(Corrupt("leaf " + std::to_string(k) + " ")) << "byte " << at;
    }
    ASSERT_NO_FATAL_FAILURE(Put(coding::LeafKey(k), good));
    ASSERT_TRUE(Verify().ok());
  }
}

TEST_F(VerifyStoreTest, AValidButDifferentLeafIsCaughtByTheTree) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  // Device SN-18 replaced by another device the rulebook would accept
  // there: only the stored tree hash gives it away.
  const uint64_t k = DeviceAt(18);
  pb::SignedRecord sr;
  ASSERT_TRUE(sr.ParseFromString(Value(coding::LeafKey(k))));
  pb::Record r;
  ASSERT_TRUE(r.ParseFromString(sr.record()));
  ASSERT_TRUE(r.has_device());
  EXPECT_EQ(r.device().serial(), World::Serial(18));
  ASSERT_NO_FATAL_FAILURE(Put(coding::LeafKey(k), w_.Device(900)));
  EXPECT_TRUE(Corrupt("leaf " + std::to_string(k) + " does not match its stored tree hash"));
}

TEST_F(VerifyStoreTest, AMiddleLeafChangeThatOpenDoesNotSeeIsFoundHere) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  const uint64_t k = record_at_[World::kFirmware100];
  ASSERT_NO_FATAL_FAILURE(Put(coding::LeafKey(k), Flip(Value(coding::LeafKey(k)), 20)));
  {
    // Open checks the checkpoint, the root and the last leaf only.
    auto l = Ledger::Open(Open(), w_.log_key);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
  }
  EXPECT_TRUE(Corrupt("leaf " + std::to_string(k) + " "));
}

TEST_F(VerifyStoreTest, FlippedByteInALeafTile) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  std::string tile = Value(coding::TileKey(0, 0));
  ASSERT_GT(size_, 40u);
  ASSERT_LT(size_, 256u);  // one partial tile
  ASSERT_EQ(tile.size(), size_ * 32);
  ASSERT_NO_FATAL_FAILURE(Put(coding::TileKey(0, 0), Flip(tile, 17 * 32 + 31)));
  EXPECT_TRUE(Corrupt("leaf 17 does not match its stored tree hash"));
  // A truncated tile is as bad.
  ASSERT_NO_FATAL_FAILURE(Put(coding::TileKey(0, 0), tile.substr(0, 40 * 32)));
  EXPECT_TRUE(Corrupt("leaf 40 "));
}

TEST_F(VerifyStoreTest, FlippedByteInAnUpperTileNode) {
  // 254 records: however batched, 256 to 510 leaves, so a full level-0
  // tile and a level-1 tile holding its root.
  ASSERT_NO_FATAL_FAILURE(Build(240));
  ASSERT_GE(size_, 256u);
  ASSERT_LT(size_, 512u);
  ASSERT_TRUE(Verify().ok());
  std::string tile = Value(coding::TileKey(1, 0));
  ASSERT_EQ(tile.size(), 32u);
  ASSERT_NO_FATAL_FAILURE(Put(coding::TileKey(1, 0), Flip(tile, 0)));
  EXPECT_TRUE(Corrupt("tree node at height 8 index 0"));
  // The ledger itself refuses to open it, too.
  auto l = Ledger::Open(Open(), w_.log_key);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kDataLoss);
}

TEST_F(VerifyStoreTest, DamagedCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  const std::string key(coding::kLatestCheckpointKey);
  std::string note = Value(key);
  ASSERT_NO_FATAL_FAILURE(Put(key, Flip(note, note.size() - 3)));
  EXPECT_TRUE(Corrupt("latest checkpoint"));
  ASSERT_NO_FATAL_FAILURE(Put(key, note));
  // Another log key does not verify it.
  auto kv = Open();
  auto r = VerifyStore(*kv, ledger_test::KeyFromByte(77).public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "STORE_CORRUPT");
}

TEST_F(VerifyStoreTest, RollbackToAnOlderCheckpointIsCaught) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  ASSERT_NO_FATAL_FAILURE(
      Put(std::string(coding::kLatestCheckpointKey), Value(coding::CheckpointKey(2))));
  EXPECT_TRUE(Corrupt("beyond the checkpointed size"));
}

TEST_F(VerifyStoreTest, ALeafBeyondTheCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  ASSERT_NO_FATAL_FAILURE(Put(coding::LeafKey(size_), w_.Device(777)));
  EXPECT_TRUE(Corrupt("beyond the checkpointed size"));
}

TEST_F(VerifyStoreTest, StoredStateMustEqualTheReplayedState) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  const std::string org = coding::StateKey(verifier::state_key::Org(kAcme));
  std::string good = Value(org);
  ASSERT_NO_FATAL_FAILURE(Put(org, Flip(good, good.size() - 1)));
  EXPECT_TRUE(Corrupt("rulebook state differs"));
  ASSERT_NO_FATAL_FAILURE(Put(org, good));
  ASSERT_TRUE(Verify().ok());
  // A state entry no leaf produced.
  ASSERT_NO_FATAL_FAILURE(Put(coding::StateKey(verifier::state_key::Org("ghost")), "x"));
  EXPECT_TRUE(Corrupt("rulebook state differs"));
}

TEST_F(VerifyStoreTest, AChangedIndexHistoryIsFoundHereAndByOpen) {
  ASSERT_NO_FATAL_FAILURE(Build(kDevices));
  const std::string key = coding::StateKey(verifier::state_key::IndexHistory(
      verifier::SubjectKey(verifier::subject::Device(ledger_test::kAcme, World::Serial(1)))));
  const std::string good = Value(key);
  ASSERT_EQ(good.size(), 16u);  // its registration and its transfer
  ASSERT_NO_FATAL_FAILURE(Put(key, good.substr(0, 8)));  // the transfer left out
  EXPECT_TRUE(Corrupt("rulebook state differs"));
  auto l = Ledger::Open(Open(), w_.log_key);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kDataLoss);
  EXPECT_EQ(l.status().reason(), "INDEX_CORRUPT");
  ASSERT_NO_FATAL_FAILURE(Put(key, good));
  EXPECT_TRUE(Verify().ok());
}

}  // namespace
}  // namespace ledger
