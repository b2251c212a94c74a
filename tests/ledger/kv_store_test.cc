// The KvStore contract, run against both implementations (MemoryKvStore and
// RocksDB in a temp dir), plus RocksDB-only persistence and open errors.
#include "ledger/kv_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/coding.h"
#include "tests/ledger/fixture.h"

namespace ledger {
namespace {

using ledger_test::TempDir;

struct MemoryFactory {
  std::unique_ptr<KvStore> Make() { return std::make_unique<MemoryKvStore>(); }
  static constexpr bool kOnDisk = false;
};

struct RocksFactory {
  std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
  std::unique_ptr<KvStore> Make() {
    RocksOptions o;
    o.block_cache_bytes = 1 << 20;
    auto kv = OpenRocksKvStore(dir->db(), /*create=*/true, o);
    EXPECT_TRUE(kv.ok()) << kv.status().ToString();
    return kv.ok() ? std::move(kv).value() : nullptr;
  }
  static constexpr bool kOnDisk = true;
};

template <typename Factory>
class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kv_ = factory_.Make();
    ASSERT_NE(kv_, nullptr);
  }
  void Put(std::vector<std::pair<std::string, std::string>> kvs) {
    KvBatch b;
    for (auto& [k, v] : kvs) b.Put(std::move(k), std::move(v));
    ASSERT_TRUE(kv_->Write(b).ok());
  }
  std::vector<std::pair<std::string, std::string>> ScanAll(std::string_view prefix,
                                                           size_t limit = SIZE_MAX) {
    std::vector<std::pair<std::string, std::string>> out;
    verifier::Status s = kv_->Scan(prefix, [&](std::string_view k, std::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return out.size() < limit;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  Factory factory_;  // declared first: owns the temp dir, outlives kv_
  std::unique_ptr<KvStore> kv_;
};

using Factories = ::testing::Types<MemoryFactory, RocksFactory>;
class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kOnDisk ? "Rocks" : "Memory";
  }
};
TYPED_TEST_SUITE(KvStoreTest, Factories, FactoryNames);

TYPED_TEST(KvStoreTest, GetOfMissingKeyIsFoundFalseAndLeavesValueAlone) {
  std::string v = "untouched";
  auto r = this->kv_->Get("nope", &v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(*r);
  EXPECT_EQ(v, "untouched");
  // Also after other keys exist around it.
  this->Put({{"nopa", "1"}, {"nopf", "2"}});
  r = this->kv_->Get("nope", &v);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TYPED_TEST(KvStoreTest, WriteAppliesEveryPutOfTheBatch) {
  KvBatch b;
  EXPECT_TRUE(b.empty());
  b.Put("a", "1");
  b.Put("b", std::string("\0\xff", 2));
  b.Put(std::string("c\0d", 3), "3");
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.bytes(), 1u + 1 + 1 + 2 + 3 + 1);
  EXPECT_EQ(b.puts().size(), 3u);
  ASSERT_TRUE(this->kv_->Write(b).ok());

  std::string v;
  ASSERT_TRUE(*this->kv_->Get("a", &v));
  EXPECT_EQ(v, "1");
  ASSERT_TRUE(*this->kv_->Get("b", &v));
  EXPECT_EQ(v, std::string("\0\xff", 2));
  ASSERT_TRUE(*this->kv_->Get(std::string_view("c\0d", 3), &v));
  EXPECT_EQ(v, "3");
  EXPECT_FALSE(*this->kv_->Get("c", &v));  // the embedded NUL is part of the key
}

TYPED_TEST(KvStoreTest, LaterPutsOverwriteEarlierOnesWithinAndAcrossBatches) {
  KvBatch b;
  b.Put("k", "first");
  b.Put("k", "second");
  ASSERT_TRUE(this->kv_->Write(b).ok());
  std::string v;
  ASSERT_TRUE(*this->kv_->Get("k", &v));
  EXPECT_EQ(v, "second");

  this->Put({{"k", ""}});
  ASSERT_TRUE(*this->kv_->Get("k", &v));
  EXPECT_EQ(v, "");  // an empty value is still a value
}

TYPED_TEST(KvStoreTest, EmptyBatchIsOkAndChangesNothing) {
  this->Put({{"x", "1"}});
  ASSERT_TRUE(this->kv_->Write(KvBatch()).ok());
  EXPECT_EQ(this->ScanAll("").size(), 1u);
}

TYPED_TEST(KvStoreTest, ScanVisitsExactlyThePrefixInKeyOrder) {
  // Big-endian indices sort numerically, unlike decimal strings.
  for (uint64_t i : {300u, 2u, 256u, 1u, 70000u, 0u, 255u}) {
    this->Put({{coding::LeafKey(i), "leaf" + std::to_string(i)}});
  }
  this->Put({{"K", "before"}, {"M", "after"}, {"Lx", "short"}, {std::string(1, '\xff'), "hi"}});

  auto leaves = this->ScanAll(coding::kLeafPrefix);
  std::vector<std::string> got;
  for (auto& [k, v] : leaves) got.push_back(v);
  // "Lx" sorts after every be64 index (their first byte is 0).
  EXPECT_EQ(got, (std::vector<std::string>{"leaf0", "leaf1", "leaf2", "leaf255", "leaf256",
                                           "leaf300", "leaf70000", "short"}));
  for (size_t i = 0; i + 1 < leaves.size(); ++i) EXPECT_LT(leaves[i].first, leaves[i + 1].first);

  // A prefix nobody has, one past the end, and the empty prefix (everything).
  EXPECT_TRUE(this->ScanAll("A").empty());
  EXPECT_TRUE(this->ScanAll("N").empty());
  EXPECT_EQ(this->ScanAll(std::string(1, '\xff')).size(), 1u);
  EXPECT_EQ(this->ScanAll("").size(), 11u);
  // A longer prefix narrows further.
  EXPECT_EQ(this->ScanAll(coding::LeafKey(256)).size(), 1u);
}

TYPED_TEST(KvStoreTest, ScanStopsWhenTheCallbackReturnsFalse) {
  for (int i = 0; i < 10; ++i) this->Put({{"p" + std::to_string(i), "v"}});
  auto first3 = this->ScanAll("p", 3);
  ASSERT_EQ(first3.size(), 3u);
  EXPECT_EQ(first3[0].first, "p0");
  EXPECT_EQ(first3[2].first, "p2");
}

TYPED_TEST(KvStoreTest, ApproximateDiskBytes) {
  for (int i = 0; i < 100; ++i) this->Put({{"k" + std::to_string(i), std::string(1000, 'v')}});
  uint64_t bytes = this->kv_->ApproximateDiskBytes();
  if constexpr (TypeParam::kOnDisk) {
    EXPECT_GT(bytes, 0u);
  } else {
    EXPECT_EQ(bytes, 0u);
  }
}

// A scan (one consistent view) never sees half of a batch.
TYPED_TEST(KvStoreTest, ConcurrentScansSeeWholeBatchesOnly) {
  constexpr int kKeys = 8;
  constexpr int kRounds = 300;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread writer([&] {
    for (int r = 0; r < kRounds; ++r) {
      KvBatch b;
      for (int k = 0; k < kKeys; ++k) b.Put("a" + std::to_string(k), std::to_string(r));
      EXPECT_TRUE(this->kv_->Write(b).ok());
    }
    done = true;
  });
  int scans = 0;
  while (!done || scans == 0) {
    std::vector<std::string> values;
    ASSERT_TRUE(this->kv_
                    ->Scan("a",
                           [&](std::string_view, std::string_view v) {
                             values.emplace_back(v);
                             return true;
                           })
                    .ok());
    ++scans;
    if (values.empty()) continue;
    if (values.size() != kKeys) ++torn;
    for (const auto& v : values) {
      if (v != values[0]) ++torn;
    }
  }
  writer.join();
  EXPECT_EQ(torn.load(), 0);
  std::string v;
  ASSERT_TRUE(*this->kv_->Get("a7", &v));
  EXPECT_EQ(v, std::to_string(kRounds - 1));
}

TEST(MemoryKvStoreTest, PokeOverwritesAndCreatesKeys) {
  MemoryKvStore kv;
  KvBatch b;
  b.Put("a", "1");
  ASSERT_TRUE(kv.Write(b).ok());
  kv.Poke("a", "2");
  kv.Poke("new", "3");
  std::string v;
  ASSERT_TRUE(*kv.Get("a", &v));
  EXPECT_EQ(v, "2");
  ASSERT_TRUE(*kv.Get("new", &v));
  EXPECT_EQ(v, "3");
}

TEST(RocksKvStoreTest, DataSurvivesCloseAndReopen) {
  TempDir dir;
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/true);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    KvBatch b;
    for (uint64_t i = 0; i < 50; ++i) b.Put(coding::LeafKey(i), "leaf" + std::to_string(i));
    b.Put("Mcheckpoint", "note");
    ASSERT_TRUE((*kv)->Write(b).ok());
    KvBatch b2;
    b2.Put(coding::LeafKey(7), "rewritten");
    ASSERT_TRUE((*kv)->Write(b2).ok());
  }
  auto kv = OpenRocksKvStore(dir.db(), /*create=*/false);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  std::string v;
  ASSERT_TRUE(*(*kv)->Get("Mcheckpoint", &v));
  EXPECT_EQ(v, "note");
  ASSERT_TRUE(*(*kv)->Get(coding::LeafKey(7), &v));
  EXPECT_EQ(v, "rewritten");
  uint64_t n = 0;
  ASSERT_TRUE((*kv)
                  ->Scan(coding::kLeafPrefix,
                         [&](std::string_view k, std::string_view) {
                           EXPECT_EQ(coding::DecodeBigEndian64(k.substr(1)), n);
                           ++n;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(n, 50u);
}

// Recover() after no error: a probe write beside the database (removed),
// RocksDB's Resume() (nothing to resume); the store is as it was.
TEST(RocksKvStoreTest, RecoverOnAHealthyStoreChangesNothingAndLeavesNoProbe) {
  TempDir dir;
  auto kv = OpenRocksKvStore(dir.db(), /*create=*/true);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  KvBatch b;
  b.Put("k", "v1");
  ASSERT_TRUE((*kv)->Write(b).ok());
  verifier::Status s = (*kv)->Recover();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(dir.db() + ".write-probe"));
  std::string v;
  ASSERT_TRUE(*(*kv)->Get("k", &v));
  EXPECT_EQ(v, "v1");
  KvBatch b2;
  b2.Put("k", "v2");
  ASSERT_TRUE((*kv)->Write(b2).ok());
  ASSERT_TRUE(*(*kv)->Get("k", &v));
  EXPECT_EQ(v, "v2");
}

TEST(RocksKvStoreTest, OpeningAMissingDatabaseWithoutCreateIsNoLedger) {
  TempDir dir;
  auto kv = OpenRocksKvStore(dir.path() + "/absent", /*create=*/false);
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().code(), verifier::Code::kNotFound);
  EXPECT_EQ(kv.status().reason(), "NO_LEDGER");
  EXPECT_NE(kv.status().message().find("absent"), std::string::npos) << kv.status().ToString();
}

TEST(RocksKvStoreTest, CreatingOverAnExistingDatabaseFails) {
  TempDir dir;
  {
    auto kv = OpenRocksKvStore(dir.db(), /*create=*/true);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  }
  auto again = OpenRocksKvStore(dir.db(), /*create=*/true);
  EXPECT_FALSE(again.ok());
  // While one handle is open, a second open of the same db fails (LOCK).
  auto first = OpenRocksKvStore(dir.db(), /*create=*/false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OpenRocksKvStore(dir.db(), /*create=*/false);
  EXPECT_FALSE(second.ok());
}

TEST(CodingTest, KeysSortNumericallyAndRoundTrip) {
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 40, ~uint64_t{0}}) {
    std::string s;
    coding::PutBigEndian64(&s, v);
    ASSERT_EQ(s.size(), 8u);
    EXPECT_EQ(coding::DecodeBigEndian64(s), v);
  }
  EXPECT_LT(coding::LeafKey(255), coding::LeafKey(256));
  EXPECT_LT(coding::LeafKey(65535), coding::LeafKey(65536));
  EXPECT_EQ(coding::LeafKey(1).size(), 9u);
  EXPECT_EQ(coding::LeafKey(1)[0], 'L');
  EXPECT_EQ(coding::TileKey(1, 2).size(), 10u);
  EXPECT_LT(coding::TileKey(0, 999), coding::TileKey(1, 0));
  EXPECT_LT(coding::TileKey(1, 255), coding::TileKey(1, 256));
  EXPECT_EQ(coding::CheckpointKey(5)[0], 'C');
  EXPECT_EQ(coding::StateKey("x"), "Sx");
  verifier::Hash h{};
  h[31] = 7;
  EXPECT_EQ(coding::LeafHashKey(h), "H" + std::string(verifier::AsStringView(h)));
}

}  // namespace
}  // namespace ledger
