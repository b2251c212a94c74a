// A client of the log that trusts nothing it is told: every checkpoint is
// verified against the pinned log key, every leaf it returns is proven
// included, and every newer checkpoint is proven consistent with the last
// one this client saw (a fork or rollback is an error). It reads provd over
// gRPC, or a C2SP tlog-tiles mirror over HTTP(S) (client/log_source.h); the
// checks are the same. Writes and queries (Submit, stub()) need provd.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/log_source.h"
#include "client/tiles_source.h"
#include "proto/ledger.grpc.pb.h"
#include "transport/credentials.h"
#include "verifier/log_keys.h"
#include "verifier/note.h"
#include "verifier/state.h"
#include "verifier/status.h"
#include "verifier/tlog_policy.h"

namespace client {

namespace pb = provenance::v1;
using verifier::Result;
using verifier::Status;

// Status from a failed RPC: the server's code, and its reason and message
// (provd sends "REASON: message"); reason UNREACHABLE when no server answered.
Status FromGrpc(const grpc::Status& s);
// The same failure as DATA_LOSS: what the server sent did not verify.
Status Unverified(const Status& s);

struct VerifiedCheckpoint {
  verifier::Checkpoint checkpoint;
  std::string note;
};

class LedgerClient {
 public:
  // `vkey`: the log's C2SP verifier key text (its name is the origin).
  // `tls` defaults to plaintext, which transport allows only on loopback.
  static Result<std::unique_ptr<LedgerClient>> Connect(const std::string& target,
                                                       const std::string& vkey,
                                                       const transport::TlsFiles& tls =
                                                           transport::TlsFiles::Plaintext());
  // Reads the log from C2SP tlog-tiles static files under `options.url`.
  static Result<std::unique_ptr<LedgerClient>> ConnectTiles(TilesOptions options,
                                                            const std::string& vkey);

  // Under a witness policy (client/witness_policy.h) every checkpoint this
  // client adopts as its newest head must meet the policy's quorum at
  // now(): GetCheckpoint and Observe fail closed with QUORUM_NOT_MET
  // (FailedPrecondition) and leave the head as it was. Null: no policy.
  // provd is then asked for its cosigned heads.
  void SetWitnessPolicy(std::shared_ptr<const verifier::TlogPolicy> policy) {
    witness_policy_ = std::move(policy);
    if (source_) source_->SetWitnessed(witness_policy_ != nullptr);
  }
  const verifier::TlogPolicy* witness_policy() const { return witness_policy_.get(); }
  // OK without a policy; else RequireWitnessQuorum on `note` at now().
  Status RequireWitnesses(const std::string& note) const;
  // How many policy witnesses cosigned `note` (0 without a policy).
  size_t Cosignatures(const std::string& note) const;
  // POSIX seconds; std::time unless set (tests).
  void SetClock(std::function<int64_t()> clock) { clock_ = std::move(clock); }
  int64_t now() const;

  // Verifies the signature, the witness quorum (under a policy), and
  // consistency with the newest checkpoint seen so far (which it then
  // replaces; at the same size, by a better-cosigned note of the same tree).
  Result<VerifiedCheckpoint> GetCheckpoint();
  // Verifies a checkpoint note with the log key of its tree size: the pinned
  // key, or a key the log rotated to since. A note the known keys do not
  // verify makes the client follow the log's rotations from the pinned key
  // (from provd, or the tiles' log-key-rotations file; again only for a
  // larger note) (verifier/log_keys.h; a broken chain is DATA_LOSS); the rotation
  // leaves are then proven included in the first checkpoint the new key
  // signed that this client sees.
  Result<VerifiedCheckpoint> VerifyNote(const std::string& note) const;
  // The log key that signs a checkpoint of this note's size (see VerifyNote).
  Result<verifier::NoteVerifier> KeyForNote(const std::string& note) const;
  // A checkpoint the server sent along with data (evidence): verifies it
  // (and its quorum, under a policy) and proves it consistent with the
  // newest head seen, in whichever direction; a newer one becomes the newest.
  Result<VerifiedCheckpoint> Observe(const std::string& note);

  struct Appended {
    uint64_t index;
    bool already_logged;
    VerifiedCheckpoint checkpoint;
    bool checkpoint_adopted = true;  // false under a witness policy
  };
  // Submits and proves the leaf is in the returned checkpoint, which is
  // proven consistent with the newest head. Under a witness policy the ack's
  // checkpoint (just signed by provd, not yet cosigned) proves the inclusion
  // but does not become the newest head (Appended::checkpoint_adopted).
  // FAILED_PRECONDITION NEEDS_SERVER over tiles.
  Result<Appended> Submit(const pb::SignedRecord& record);

  // Entries [start, end). Over gRPC they are as the server sent them (prove
  // them with ProveInclusion, or replay them to the root as Audit does);
  // over tiles each has been checked against the newest verified head,
  // which must cover `end`.
  Result<std::vector<std::string>> GetEntries(uint64_t start, uint64_t end);
  Status ProveInclusion(uint64_t index, const std::string& leaf,
                        const VerifiedCheckpoint& at);
  // The same, returning the verified proof (for a tlog-proof).
  Result<std::vector<verifier::Hash>> VerifiedInclusionProof(uint64_t index,
                                                             const std::string& leaf,
                                                             const VerifiedCheckpoint& at);
  Status ProveConsistency(const verifier::Checkpoint& older,
                          const verifier::Checkpoint& newer) const;

  // The newest verified checkpoint (from GetCheckpoint/Submit), if any.
  const std::optional<VerifiedCheckpoint>& latest() const { return latest_; }
  // Pins a previously verified head (e.g. from a trust store on disk).
  void SetLatest(VerifiedCheckpoint c) { latest_ = std::move(c); }
  // REQUIRES: has_server() (a gRPC client).
  pb::Ledger::Stub& stub() { return *stub_; }
  bool has_server() const { return stub_ != nullptr; }
  LogSource& source() { return *source_; }
  // The pinned log key (it names the log in the trust store).
  const verifier::NoteVerifier& verifier() const { return verifier_; }

 private:
  // Reads the log's rotations from the source and follows them from the
  // pinned key, for a note of `size`. The chain learned before must be a
  // prefix of the new one (DATA_LOSS ROTATIONS_CHANGED otherwise).
  Status LearnRotations(uint64_t size) const;
  // Proves the rotation leaves `c` covers that are not proven yet.
  Status ProveRotations(const VerifiedCheckpoint& c) const;
  LedgerClient() = default;
  Status Advance(const VerifiedCheckpoint& c);
  // Proves `c` consistent with the newest head, in whichever direction,
  // without adopting it: DataLoss FORK on a proof that fails.
  Status ProveConsistentWithLatest(const VerifiedCheckpoint& c) const;
  // ProveConsistency; *fetch_failed tells a proof that could not be had
  // from one that does not verify.
  Status ProveConsistency(const verifier::Checkpoint& older, const verifier::Checkpoint& newer,
                          bool* fetch_failed) const;
  // The head a source reads tiles for to answer about `at`: the newest
  // verified one when it covers `at`, else `at` itself.
  const verifier::Checkpoint& ReadAt(const verifier::Checkpoint& at) const;

  std::shared_ptr<pb::Ledger::Stub> stub_;  // null over tiles
  std::unique_ptr<LogSource> source_;
  verifier::NoteVerifier verifier_;
  // The log's keys from the pinned one on; learned once, when a note needs it.
  mutable std::mutex keys_mu_;
  mutable std::vector<verifier::LogKeyEra> eras_;
  mutable uint64_t learned_for_ = 0;  // the note size that last made it learn (0: never)
  mutable size_t eras_proven_ = 1;  // eras_[0, eras_proven_) need no proof
  std::optional<VerifiedCheckpoint> latest_;
  std::shared_ptr<const verifier::TlogPolicy> witness_policy_;
  std::function<int64_t()> clock_;
};

// Proof helpers on wire types.
Result<std::vector<verifier::Hash>> ParseHashes(
    const google::protobuf::RepeatedPtrField<std::string>& hashes);

// Replays leaves [0, n) through the rulebook over an in-memory state and
// recomputes the root; fails with the first bad index.
struct AuditReport {
  uint64_t size = 0;
  verifier::Hash root{};
  std::map<std::string, uint64_t> kinds;  // record kind -> count
  verifier::MemoryState state;            // the rulebook state after the replay
};
Result<AuditReport> Audit(LedgerClient& client, const VerifiedCheckpoint& head,
                          const std::function<void(uint64_t done)>& progress = {});

}  // namespace client
