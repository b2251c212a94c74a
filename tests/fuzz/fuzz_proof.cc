// Fuzz target: inclusion and consistency proofs with arbitrary indices, sizes
// and hashes (RFC 9162 verification must never crash or loop).
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_common.h"
#include "verifier/merkle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 24 + 64) return 0;
  uint64_t a, b, c;
  std::memcpy(&a, data, 8);
  std::memcpy(&b, data + 8, 8);
  std::memcpy(&c, data + 16, 8);
  // Small sizes are the interesting ones; keep the fuzzer near them.
  if (data[0] & 1) {
    a %= 4096;
    b %= 4096;
    c %= 4096;
  }
  verifier::Hash h1, h2;
  std::memcpy(h1.data(), data + 24, 32);
  std::memcpy(h2.data(), data + 56, 32);
  std::vector<verifier::Hash> proof;
  for (size_t off = 88; off + 32 <= size && proof.size() < 70; off += 32) {
    verifier::Hash h;
    std::memcpy(h.data(), data + off, 32);
    proof.push_back(h);
  }
  (void)verifier::VerifyInclusion(a, b, h1, proof, h2);
  (void)verifier::VerifyConsistency(a, c, proof, h1, h2);
  return 0;
}
