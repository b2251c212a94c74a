// microbench: Google Benchmark micro-benchmarks of the hot paths under
// provbench's figures: hashing, Ed25519, record admission (PrepareRecord),
// proof verification, and proofs served from the tile store.
//
//   build/tools/microbench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <memory>

#include "client/records.h"
#include "ledger/kv_store.h"
#include "ledger/tree.h"
#include "verifier/crypto.h"
#include "verifier/merkle.h"
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
  return client::SignRecordBytes(
      client::DeviceRecord(1'700'000'000, "acme", "SN-0000000001", "CAM-1", device.public_key(),
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

// A tile store holding a tree of `n` leaves, built once per size.
struct StoredTree {
  ledger::MemoryKvStore kv;
  std::unique_ptr<ledger::TileReader> reader;
  verifier::Hash root;
  std::vector<verifier::Hash> leaves;
};
StoredTree& Tree(uint64_t n) {
  static std::map<uint64_t, std::unique_ptr<StoredTree>> trees;
  auto& t = trees[n];
  if (t) return *t;
  t = std::make_unique<StoredTree>();
  t->reader = std::make_unique<ledger::TileReader>(&t->kv);
  auto writer = ledger::TreeWriter::Open(*t->reader, &t->kv, 0);
  for (uint64_t i = 0; i < n; ++i) {
    std::string leaf = "leaf-" + std::to_string(i);
    t->leaves.push_back(verifier::LeafHash(verifier::AsBytes(leaf)));
    writer->Append(t->leaves.back());
    if (i % 4096 == 4095 || i + 1 == n) {
      ledger::KvBatch batch;
      writer->FlushTiles(&batch);
      if (!t->kv.Write(batch).ok()) std::abort();
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

}  // namespace

BENCHMARK_MAIN();
