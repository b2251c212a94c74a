// Fuzz target: a signed record from the network (SignedRecord bytes) through
// PrepareRecord and the rulebook, against the state of a small log.
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static verifier::MemoryState* base = [] {
    verifier::InitCrypto();
    auto* s = new verifier::MemoryState();
    uint64_t i = 0;
    for (auto& leaf : fuzz::BaseLeaves()) {
      auto rec = verifier::PrepareRecord(leaf);
      verifier::StateOverlay o(s);
      if (rec.ok() && verifier::ApplyPrepared(o, *rec, i, verifier::ApplyMode::kFullLog).ok()) s->Apply(o);
      ++i;
    }
    return s;
  }();
  auto rec = verifier::PrepareRecord(std::string(reinterpret_cast<const char*>(data), size));
  if (!rec.ok()) return 0;
  verifier::StateOverlay overlay(base);
  (void)verifier::ApplyPrepared(overlay, *rec, 100, verifier::ApplyMode::kFullLog);
  (void)verifier::RecordKindName(rec->record);
  return 0;
}
