// Where a LedgerClient reads the log from: provd over gRPC, or a C2SP
// tlog-tiles static mirror over HTTP(S) (client/tiles_source.h). A source
// returns what the log says; LedgerClient verifies checkpoints, proofs and
// consistency the same way whichever source it reads (docs/tiles-client.md).
//
// `at` is a checkpoint whose signature the caller has verified, and whose
// size covers the request. The gRPC source does not need it (provd answers
// for any size); the tiles source reads the tiles that checkpoint requires,
// and checks that they hash to its root before it uses them.
//
// Leaf indices are 0-based. Not thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proto/ledger.grpc.pb.h"
#include "verifier/log_keys.h"
#include "verifier/crypto.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace client {

class LogSource {
 public:
  virtual ~LogSource() = default;

  // The log's current checkpoint note, not yet verified.
  virtual verifier::Result<std::string> Checkpoint() = 0;
  // The leaves [start, end). REQUIRES: start < end <= at.size (tiles).
  virtual verifier::Result<std::vector<std::string>> Entries(uint64_t start, uint64_t end,
                                                             const verifier::Checkpoint& at) = 0;
  // RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
  // REQUIRES: index < size <= at.size (tiles).
  virtual verifier::Result<std::vector<verifier::Hash>> InclusionProof(
      uint64_t index, uint64_t size, const verifier::Checkpoint& at) = 0;
  // RFC 9162 consistency proof from `size1` to `size2` leaves.
  // REQUIRES: size1 <= size2 <= at.size (tiles).
  virtual verifier::Result<std::vector<verifier::Hash>> ConsistencyProof(
      uint64_t size1, uint64_t size2, const verifier::Checkpoint& at) = 0;

  // "provd at HOST:PORT", "tiles at URL": for messages.
  virtual std::string Describe() const = 0;
  // True when the source checks what it fetches against the checkpoint it
  // is given, so that its own errors name what is wrong (the tiles source);
  // LedgerClient then reports a failure to fetch a consistency proof as it
  // is, and only a proof that does not verify as a FORK. provd computes its
  // proofs itself, so a server that cannot give one is treated as a fork.
  virtual bool ChecksWhatItReads() const { return false; }
  // The index tile named `hash` (docs/index.md "Static files"), unchecked:
  // the caller checks it hashes to its name. Only a static copy has them.
  virtual verifier::Result<std::string> IndexTile(const verifier::Hash& hash) {
    (void)hash;
    return verifier::Status(verifier::Code::kUnimplemented, "NO_INDEX_TILES",
                            Describe() + " serves no index tiles");
  }
  // Ask for heads published with witness cosignatures (provd has both; a
  // tiles directory only ever holds the published one).
  virtual void SetWitnessed(bool) {}
  // Every LogKeyRotation leaf of the log, oldest first (verifier/log_keys.h):
  // provd's GetLogKeyRotations, or the tiles' log-key-rotations file.
  // Unverified: the client follows them from its pinned key.
  virtual verifier::Result<std::vector<verifier::RotationLeaf>> LogKeyRotations() = 0;
};

// provd's Ledger service. Errors are the server's (client::FromGrpc).
class GrpcSource final : public LogSource {
 public:
  GrpcSource(std::shared_ptr<provenance::v1::Ledger::Stub> stub, std::string target)
      : stub_(std::move(stub)), target_(std::move(target)) {}

  verifier::Result<std::string> Checkpoint() override;
  verifier::Result<std::vector<std::string>> Entries(uint64_t start, uint64_t end,
                                                     const verifier::Checkpoint& at) override;
  verifier::Result<std::vector<verifier::Hash>> InclusionProof(
      uint64_t index, uint64_t size, const verifier::Checkpoint& at) override;
  verifier::Result<std::vector<verifier::Hash>> ConsistencyProof(
      uint64_t size1, uint64_t size2, const verifier::Checkpoint& at) override;
  std::string Describe() const override { return "provd at " + target_; }
  void SetWitnessed(bool witnessed) override { witnessed_ = witnessed; }
  verifier::Result<std::vector<verifier::RotationLeaf>> LogKeyRotations() override;

 private:
  std::shared_ptr<provenance::v1::Ledger::Stub> stub_;
  std::string target_;
  bool witnessed_ = false;
};

}  // namespace client
