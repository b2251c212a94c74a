// A log for verifier tests: a plain list of signed leaves, an in-memory
// Merkle tree, and Evidence of any subset proven against a checkpoint of
// the whole log signed by a test log key.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "records/records.h"
#include "proto/ledger.pb.h"
#include "verifier/merkle.h"
#include "verifier/note.h"

namespace verifier::testing {

inline SigningKey TestKey(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

// Evidence of `indices` (ascending) of `leaves`, against a checkpoint of all
// of them signed by `log_key` for `origin`.
inline provenance::v1::Evidence MakeEvidence(const std::vector<std::string>& leaves,
                                             const std::vector<uint64_t>& indices,
                                             const SigningKey& log_key,
                                             const std::string& origin) {
  std::vector<Hash> hashes;
  for (const auto& l : leaves) hashes.push_back(LeafHash(AsBytes(l)));
  Checkpoint c{origin, leaves.size(), RootOf(hashes), {}};
  provenance::v1::Evidence ev;
  ev.mutable_checkpoint()->set_note(SignNote(FormatCheckpoint(c), origin, log_key));
  ev.mutable_checkpoint()->set_size(c.size);
  ev.mutable_checkpoint()->set_root_hash(std::string(AsStringView(c.root)));
  for (uint64_t i : indices) {
    auto* e = ev.add_entries();
    e->set_index(i);
    e->set_signed_record(leaves[i]);
    auto proof = MakeInclusionProof(i, c.size, InMemorySubtrees(hashes));
    EXPECT_TRUE(proof.ok());
    for (const Hash& h : *proof) e->add_proof(std::string(AsStringView(h)));
  }
  return ev;
}

}  // namespace verifier::testing
