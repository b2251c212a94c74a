// microbench: Google Benchmark micro-benchmarks of the hot paths under
// provbench's figures: hashing, Ed25519, record admission (PrepareRecord),
// proof verification, proofs served from the tile store, and trust-policy
// judging of a 10,000-device delivery.
//
//   build/tools/microbench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "records/records.h"
#include "ledger/kv_store.h"
#include "ledger/tree.h"
#include "verifier/crypto.h"
#include "verifier/index.h"
#include "verifier/judge.h"
#include "verifier/merkle.h"
#include "verifier/policy.h"
#include "verifier/rules.h"

namespace {

namespace pb = provenance::v1;

verifier::SigningKey Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *verifier::SigningKey::FromSeed(seed);
}

std::string DeviceLeaf() {
  auto mfr = Key(1);
  auto device = Key(2);
  return records::SignRecordBytes(
      records::DeviceRecord(1'700'000'000, "acme", "SN-0000000001", "CAM-1", device.public_key(),
                           1'690'000'000, "GB"),
      {&mfr});
}

void BM_LeafHash(benchmark::State& state) {
  std::string leaf = DeviceLeaf();
  for (auto _ : state) benchmark::DoNotOptimize(verifier::LeafHash(verifier::AsBytes(leaf)));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(leaf.size()));
}
BENCHMARK(BM_LeafHash);

void BM_Ed25519Sign(benchmark::State& state) {
  auto key = Key(3);
  std::string msg(300, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(key.Sign(verifier::AsBytes(msg)));
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  auto key = Key(3);
  std::string msg(300, 'x');
  auto sig = key.Sign(verifier::AsBytes(msg));
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        verifier::VerifySignature(key.public_key(), verifier::AsBytes(msg), sig));
  }
}
BENCHMARK(BM_Ed25519Verify);

// Parse, canonical-encoding checks and the signature check of one device record.
void BM_PrepareRecord(benchmark::State& state) {
  std::string leaf = DeviceLeaf();
  for (auto _ : state) {
    auto prepared = verifier::PrepareRecord(leaf);
    if (!prepared.ok()) state.SkipWithError("PrepareRecord failed");
    benchmark::DoNotOptimize(prepared);
  }
}
BENCHMARK(BM_PrepareRecord);

// The tile store a provd uses (RocksDB, in a temporary directory removed at
// exit) holding a tree of `n` leaves, built once per size.
struct StoredTree {
  std::string dir;
  std::unique_ptr<ledger::KvStore> kv;
  std::unique_ptr<ledger::TileReader> reader;
  verifier::Hash root;
  std::vector<verifier::Hash> leaves;
};
StoredTree& Tree(uint64_t n) {
  // Never destroyed (RocksDB's statics may be gone at exit); the directories
  // are removed at exit.
  static auto* trees = new std::map<uint64_t, std::unique_ptr<StoredTree>>;
  static std::vector<std::string>* dirs = [] {
    auto* d = new std::vector<std::string>;
    std::atexit([] {
      for (const auto& dir : *dirs) std::filesystem::remove_all(dir);
    });
    return d;
  }();
  auto& t = (*trees)[n];
  if (t) return *t;
  t = std::make_unique<StoredTree>();
  char tmpl[] = "/tmp/microbench-tree-XXXXXX";
  if (!mkdtemp(tmpl)) std::abort();
  t->dir = tmpl;
  dirs->push_back(t->dir);
  auto kv = ledger::OpenRocksKvStore(t->dir + "/db", /*create=*/true);
  if (!kv.ok()) std::abort();
  t->kv = std::move(kv).value();
  t->reader = std::make_unique<ledger::TileReader>(t->kv.get());
  auto writer = ledger::TreeWriter::Open(*t->reader, t->kv.get(), 0);
  for (uint64_t i = 0; i < n; ++i) {
    std::string leaf = "leaf-" + std::to_string(i);
    t->leaves.push_back(verifier::LeafHash(verifier::AsBytes(leaf)));
    writer->Append(t->leaves.back());
    if (i % 4096 == 4095 || i + 1 == n) {
      ledger::KvBatch batch;
      writer->FlushTiles(&batch);
      if (!t->kv->Write(batch).ok()) std::abort();
    }
  }
  t->root = writer->Root();
  return *t;
}

void BM_TileInclusionProof(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  StoredTree& t = Tree(n);
  uint64_t i = 0;
  for (auto _ : state) {
    i = (i * 6364136223846793005ull + 1442695040888963407ull);
    auto proof = t.reader->InclusionProof(i % n, n);
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_TileInclusionProof)->Arg(1 << 10)->Arg(1 << 20);

// The same store, proving against a checkpoint of a ragged size (as evidence
// does): the right edge crosses partial tiles and is hashed per proof.
void BM_TileInclusionProofRaggedSize(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  StoredTree& t = Tree(n);
  const uint64_t size = n - n / 7;
  uint64_t i = 0;
  for (auto _ : state) {
    i = (i * 6364136223846793005ull + 1442695040888963407ull);
    auto proof = t.reader->InclusionProof(i % size, size);
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_TileInclusionProofRaggedSize)->Arg(1 << 20);

void BM_VerifyInclusion(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  StoredTree& t = Tree(n);
  const uint64_t index = n / 3;
  auto proof = *t.reader->InclusionProof(index, n);
  for (auto _ : state) {
    if (!verifier::VerifyInclusion(index, n, t.leaves[index], proof, t.root).ok()) {
      state.SkipWithError("proof did not verify");
    }
  }
}
BENCHMARK(BM_VerifyInclusion)->Arg(1 << 10)->Arg(1 << 20);

// The verifiable index (docs/index.md): a tree of N device subjects with
// one-entry histories, built once per N.
struct IndexOf {
  verifier::IndexTree tree;
  std::vector<verifier::Hash> keys;
};
IndexOf& Index(uint64_t n) {
  static std::map<uint64_t, std::unique_ptr<IndexOf>> made;
  auto& x = made[n];
  if (x) return *x;
  x = std::make_unique<IndexOf>();
  std::vector<std::pair<verifier::Hash, verifier::Hash>> leaves;
  leaves.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const verifier::Hash k =
        verifier::SubjectKey(verifier::subject::Device("bench-mfr", "SN-" + std::to_string(i)));
    const uint64_t history[] = {2 * i + 2};
    leaves.emplace_back(k, verifier::IndexHistoryHash(history));
    if (i % 4096 == 0) x->keys.push_back(k);
  }
  x->tree = verifier::IndexTree().With(std::move(leaves));
  return *x;
}

// Proof size on the wire for one device (subject, history and siblings, as
// a SubjectProof): counters give the mean and the largest seen. Against the
// 2 KiB target at 10M subjects: each 10x adds log2(10) = 3.3 siblings of 34
// bytes (~113 bytes) to the mean; run with 10M to see it directly.
void BM_IndexProofBytes(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  IndexOf& x = Index(n);
  size_t i = 0, total = 0, largest = 0, count = 0, depth_max = 0;
  for (auto _ : state) {
    const verifier::Hash& k = x.keys[i++ % x.keys.size()];
    verifier::IndexProof p = x.tree.Prove(k);
    benchmark::DoNotOptimize(p);
    provenance::v1::SubjectProof wire;
    *wire.mutable_subject() =
        verifier::ToProto(verifier::subject::Device("bench-mfr", "SN-123456789"));
    wire.add_history(2 * n);
    verifier::ToProto(p, &wire);
    const size_t bytes = wire.ByteSizeLong();
    total += bytes;
    largest = std::max(largest, bytes);
    depth_max = std::max(depth_max, p.siblings.size());
    ++count;
  }
  state.counters["proof_bytes_mean"] = count ? static_cast<double>(total) / count : 0;
  state.counters["proof_bytes_max"] = static_cast<double>(largest);
  state.counters["siblings_max"] = static_cast<double>(depth_max);
}
BENCHMARK(BM_IndexProofBytes)->Arg(1 << 20)->Arg(10000000);

// One commit batch's index update: 4,096 new subjects into a tree of N.
void BM_IndexBatchUpdate(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  IndexOf& x = Index(n);
  uint64_t next = n;
  for (auto _ : state) {
    std::vector<std::pair<verifier::Hash, verifier::Hash>> leaves;
    for (int j = 0; j < 4096; ++j, ++next) {
      const verifier::Hash k =
          verifier::SubjectKey(verifier::subject::Device("bench-mfr", "SN-" + std::to_string(next)));
      const uint64_t history[] = {2 * next + 2};
      leaves.emplace_back(k, verifier::IndexHistoryHash(history));
    }
    auto t = x.tree.With(std::move(leaves));
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_IndexBatchUpdate)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_IndexVerifyProof(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  IndexOf& x = Index(n);
  const verifier::Hash& k = x.keys[1];
  const verifier::IndexProof p = x.tree.Prove(k);
  const uint64_t history[] = {2 * 4096 + 2};
  const verifier::Hash root = x.tree.Root();
  for (auto _ : state) {
    if (!verifier::VerifyIndexProof(root, k, history, p).ok()) {
      state.SkipWithError("index proof did not verify");
    }
  }
}
BENCHMARK(BM_IndexVerifyProof)->Arg(1 << 20);


// A delivery of 10,000 devices from 10 makers sharing 50 organisations:
// 10 makers, 40 holding companies in three layers with cross-holdings, some
// stakes sold mid-way, and devices made on days spread over ten years. The
// evidence is replayed once (setup); each iteration judges every device
// against a policy with a fresh evaluator, so the ownership graph is built
// and memoised inside the timed loop. `judge 10k` is the policy time.
verifier::PublicKey DeviceKey(int n) {
  std::array<uint8_t, 32> seed{};
  std::memcpy(seed.data(), &n, sizeof n);
  seed[31] = 0xd5;
  return verifier::SigningKey::FromSeed(seed)->public_key();
}

class Delivery {
 public:
  static constexpr int kDevices = 10000, kMakers = 10, kHolders = 40;

  Delivery() {
    verifier::InitCrypto();
    auto auth = Key(2);
    Apply(records::SignRecordBytes(
        records::GenesisRecord("bench/log", {{"a", auth.public_key()}}, 1), {}));
    const int64_t t = 1'500'000'000;
    auto org = [&](const std::string& id, const std::string& cc, bool law) {
      Apply(records::SignRecordBytes(
          records::OrganizationRecord(t, id, "Org " + id, cc,
                                     law ? std::vector<std::string>{"CN-NIL-2017"}
                                         : std::vector<std::string>{}),
          {&auth}));
    };
    Apply(records::SignRecordBytes(
        records::LawRecord(t, "CN-NIL-2017", "PRC National Intelligence Law", "CN", ""), {&auth}));
    for (int h = 0; h < kHolders; ++h) org("h" + std::to_string(h), h % 7 == 0 ? "CN" : "GB", h % 7 == 0);
    for (int m = 0; m < kMakers; ++m) org("m" + std::to_string(m), "SG", false);
    auto own = [&](const std::string& a, const std::string& b, uint32_t bp, int64_t from,
                   int64_t until) {
      Apply(records::SignRecordBytes(records::OwnershipRecord(t, a, b, bp, false, from, until),
                                    {&auth}));
    };
    const int64_t year = 365 * 86400;
    for (int m = 0; m < kMakers; ++m) {  // each maker: two holders, one sold half-way
      own("h" + std::to_string(m), "m" + std::to_string(m), 6000, 0, 0);
      own("h" + std::to_string(10 + m), "m" + std::to_string(m), 3000, 0, t + 5 * year);
      own("h" + std::to_string(20 + m), "m" + std::to_string(m), 3000, t + 5 * year, 0);
    }
    for (int h = 0; h < 30; ++h) {  // holders owned by the top layer, with cross-holdings
      own("h" + std::to_string(30 + h % 10), "h" + std::to_string(h), 5000, 0, 0);
      own("h" + std::to_string((h + 1) % 30), "h" + std::to_string(h), 2000, 0, 0);
    }
    // Dated facts on every org: each holder moved from CN (or HK) to its
    // record's country after three years; one in five bound by the law from
    // year two; one in three state-owned in years one to four; makers moved
    // from HK. 50 orgs, about 110 facts.
    for (int h = 0; h < kHolders; ++h) {
      const std::string id = "h" + std::to_string(h);
      auto fact = [&](pb::Record r) { Apply(records::SignRecordBytes(r, {&auth})); };
      fact(records::OrgCountryFact(t, id, h % 4 == 0 ? "HK" : "CN", t, t + 3 * 365 * 86400, "s"));
      if (h % 7 != 0 && h % 5 == 0) {
        fact(records::OrgLawFact(t, id, "CN-NIL-2017", t + 2 * 365 * 86400, 0, "s"));
      }
      if (h % 3 == 0) {
        fact(records::OrgStateOwnedFact(t, id, true, t + 365 * 86400, t + 4 * 365 * 86400, "s"));
      }
    }
    for (int m = 0; m < kMakers; ++m) {
      Apply(records::SignRecordBytes(records::OrgCountryFact(t, "m" + std::to_string(m), "HK", 0,
                                                           t + 365 * 86400, "s"),
                                    {&auth}));
    }
    for (int m = 0; m < kMakers; ++m) {
      keys_.push_back(Key(static_cast<uint8_t>(10 + m)));
      const std::string id = "m" + std::to_string(m);
      Apply(records::SignRecordBytes(
          records::KeyEnrollmentRecord(t, keys_[m].public_key(), id,
                                      {pb::ROLE_MANUFACTURER, pb::ROLE_CUSTODIAN}),
          {&auth}));
      Apply(records::SignRecordBytes(
          records::ComponentRecord(t, id, "P" + id, pb::COMPONENT_KIND_SOC, "SG"), {&keys_[m]}));
    }
    for (int m = 0; m < kMakers; ++m) {
      const std::string id = "m" + std::to_string(m), next = "m" + std::to_string((m + 1) % kMakers);
      Apply(records::SignRecordBytes(
          records::DeviceModelRecord(t, id, "CAM", id,
                                    {records::Ref(id, "P" + id), records::Ref(next, "P" + next)}),
          {&keys_[m]}));
    }
    for (int d = 0; d < kDevices; ++d) {
      const int m = d % kMakers;
      const std::string serial = "SN-" + std::to_string(d);
      const int64_t made = t + (d * 7919 % 3650) * 86400;
      Apply(records::SignRecordBytes(
          records::DeviceRecord(made, "m" + std::to_string(m), serial, "CAM",
                               DeviceKey(d), made),
          {&keys_[m]}));
      queries_.push_back({"m" + std::to_string(m), serial, "", "", ""});
    }
    policy_ = std::make_shared<verifier::Policy>();
    policy_->name = "bench";
    policy_->denied_laws = {"CN-NIL-2017"};
    // The same, also denying two holders and their affiliates (common control
    // through the top layer of holders).
    affiliates_policy_ = std::make_shared<verifier::Policy>(*policy_);
    affiliates_policy_->denied_orgs = {"h1", "h12"};
    affiliates_policy_->affiliates = true;
    // Dated countries and state ownership denied, HK needing a ruling, and a
    // purpose-limited denied org, judged for a purpose.
    dated_policy_ = std::make_shared<verifier::Policy>(*affiliates_policy_);
    dated_policy_->denied_countries = {"CN"};
    dated_policy_->state_owned_counts = true;
    dated_policy_->needs_ruling = {{"CN-NIL-2017", {"HK", "MO"}, "q"}};
    dated_policy_->org_purposes["h12"] = {"public-safety"};
  }

  void Apply(std::string leaf) {
    auto rec = cache_.Prepare(leaf);
    verifier::StateOverlay overlay(&ev_.state);
    if (!rec.ok() || !verifier::ApplyPrepared(overlay, **rec, next_, verifier::ApplyMode::kEvidenceSubset).ok()) {
      std::fprintf(stderr, "bench setup: record %llu refused\n", static_cast<unsigned long long>(next_));
      std::abort();
    }
    ev_.state.Apply(overlay);
    ev_.records.emplace(next_++, std::move(rec).value());
  }

  verifier::VerifiedEvidence ev_;
  verifier::RecordCache cache_;
  std::vector<verifier::SigningKey> keys_;
  std::vector<verifier::DeviceQuery> queries_;
  std::shared_ptr<verifier::Policy> policy_, affiliates_policy_, dated_policy_;
  uint64_t next_ = 0;
};

// 10,000 devices of 10 makers sharing 50 orgs with dated facts. Arg 0:
// denied laws; arg 1: also denied orgs with their affiliates; arg 2: also
// dated countries and state ownership, a needs_ruling and a purpose.
void BM_PolicyJudgeDelivery(benchmark::State& state) {
  static Delivery* d = new Delivery();
  const auto& policy = state.range(0) == 2   ? d->dated_policy_
                       : state.range(0) == 1 ? d->affiliates_policy_
                                             : d->policy_;
  size_t rejected = 0;
  for (auto _ : state) {
    auto fn = verifier::MakePolicyFn(policy, 1'800'000'000, "commercial");
    rejected = 0;
    for (const auto& q : d->queries_) {
      verifier::Judgement j = verifier::JudgeDevice(d->ev_, q, fn);
      verifier::ApplyRequired(*policy, false, &j);
      rejected += j.verdict == verifier::Verdict::kRejected;
    }
    benchmark::DoNotOptimize(rejected);
  }
  state.counters["devices"] = Delivery::kDevices;
  state.counters["rejected"] = static_cast<double>(rejected);
  state.SetItemsProcessed(state.iterations() * Delivery::kDevices);
}
BENCHMARK(BM_PolicyJudgeDelivery)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
