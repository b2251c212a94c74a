#include "client/ledger_client.h"

#include <ctime>
#include <map>

#include "client/witness_policy.h"
#include "verifier/index.h"
#include "verifier/merkle.h"
#include "verifier/rules.h"

namespace client {

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  // provd sends "REASON: message"; keep its reason when it has that shape.
  const std::string& m = s.error_message();
  size_t colon = m.find(": ");
  bool has_reason = colon != std::string::npos && colon > 0 &&
                    m.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") == colon;
  std::string reason = has_reason ? m.substr(0, colon) : "RPC_FAILED";
  std::string message = has_reason ? m.substr(colon + 2) : m;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE && !has_reason) {
    // A peer whose TLS certificate our CA did not sign is not "down": it is
    // not who it claims to be (a security failure, exit 3).
    if (m.find("certificate verify failed") != std::string::npos) {
      return Status(verifier::Code::kDataLoss, "TLS_UNTRUSTED_PEER",
                    "the peer's TLS certificate does not verify against the CA given: " + m);
    }
    reason = "UNREACHABLE";
  }
  return Status(static_cast<verifier::Code>(s.error_code()), reason, message);
}

Status Unverified(const Status& s) {
  if (s.ok()) return s;
  return Status(verifier::Code::kDataLoss, s.reason(), s.message());
}

Result<std::unique_ptr<LedgerClient>> LedgerClient::Connect(const std::string& target,
                                                            const std::string& vkey,
                                                            const transport::TlsFiles& tls) {
  PROV_ASSIGN_OR_RETURN(auto verifier, verifier::ParseVerifierKey(vkey));
  PROV_ASSIGN_OR_RETURN(auto creds, transport::ChannelCredentials(tls, target));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  auto channel = grpc::CreateCustomChannel(target, creds, args);
  std::unique_ptr<LedgerClient> c(new LedgerClient());
  c->stub_ = pb::Ledger::NewStub(channel);
  c->source_ = std::make_unique<GrpcSource>(c->stub_, target);
  c->verifier_ = std::move(verifier);
  return c;
}

Result<std::unique_ptr<LedgerClient>> LedgerClient::ConnectTiles(TilesOptions options,
                                                                 const std::string& vkey) {
  PROV_ASSIGN_OR_RETURN(auto verifier, verifier::ParseVerifierKey(vkey));
  PROV_ASSIGN_OR_RETURN(auto source, TilesSource::Open(std::move(options)));
  std::unique_ptr<LedgerClient> c(new LedgerClient());
  c->source_ = std::move(source);
  c->verifier_ = std::move(verifier);
  return c;
}

const verifier::Checkpoint& LedgerClient::ReadAt(const verifier::Checkpoint& at) const {
  return latest_ && latest_->checkpoint.size >= at.size ? latest_->checkpoint : at;
}

Result<verifier::NoteVerifier> LedgerClient::KeyForNote(const std::string& note) const {
  auto size = verifier::NoteSize(note);
  if (!size.ok()) return Unverified(size.status());
  std::lock_guard lock(keys_mu_);
  if (eras_.empty()) return verifier_;
  return verifier::EraForSize(eras_, *size).key;
}

Status LedgerClient::LearnRotations(uint64_t size) const {
  PROV_ASSIGN_OR_RETURN(std::vector<verifier::RotationLeaf> leaves, source_->LogKeyRotations());
  PROV_ASSIGN_OR_RETURN(auto eras,
                        verifier::FollowLogKeyRotations(verifier_, verifier_.name, leaves));
  std::lock_guard lock(keys_mu_);
  for (size_t i = 0; i < eras_.size(); ++i) {
    if (i >= eras.size() || eras[i].index != eras_[i].index || eras[i].leaf != eras_[i].leaf) {
      return verifier::DataLoss("ROTATIONS_CHANGED",
                                "the log's key rotations are not the ones it showed before");
    }
  }
  eras_ = std::move(eras);
  learned_for_ = std::max(learned_for_, size);
  return Status::Ok();
}

Status LedgerClient::ProveRotations(const VerifiedCheckpoint& c) const {
  std::vector<verifier::LogKeyEra> todo;
  {
    std::lock_guard lock(keys_mu_);
    for (size_t i = eras_proven_; i < eras_.size() && eras_[i].from_size <= c.checkpoint.size;
         ++i) {
      todo.push_back(eras_[i]);
    }
  }
  for (const auto& era : todo) {
    auto hashes = source_->InclusionProof(*era.index, c.checkpoint.size, c.checkpoint);
    Status s = hashes.status();
    if (s.ok()) {
      s = Unverified(verifier::VerifyInclusion(*era.index, c.checkpoint.size,
                                               verifier::LeafHash(verifier::AsBytes(era.leaf)),
                                               *hashes, c.checkpoint.root));
    }
    if (!s.ok()) {
      return verifier::DataLoss("ROTATION_NOT_LOGGED",
                                "the log key rotation at #" + std::to_string(*era.index) +
                                    " is not proven in the tree of size " +
                                    std::to_string(c.checkpoint.size) + ": " + s.ToString());
    }
  }
  std::lock_guard lock(keys_mu_);
  eras_proven_ = std::max(eras_proven_, eras_proven_ + todo.size());
  return Status::Ok();
}

Result<VerifiedCheckpoint> LedgerClient::VerifyNote(const std::string& note) const {
  PROV_ASSIGN_OR_RETURN(verifier::NoteVerifier key, KeyForNote(note));
  auto c = verifier::VerifyCheckpoint(note, key, verifier_.name);
  bool learn = false;
  const auto parsed_size = verifier::NoteSize(note);  // parsed by KeyForNote already
  const uint64_t size = parsed_size.ok() ? *parsed_size : 0;
  {
    std::lock_guard lock(keys_mu_);
    learn = !c.ok() && size > learned_for_;
  }
  if (learn) {
    // A broken chain is the server's lie; a server that cannot say leaves
    // the note as unverified as it was.
    Status learned = LearnRotations(size);
    if (learned.code() == verifier::Code::kDataLoss) return learned;
    if (!learned.ok()) {
      return Unverified(Status(c.status().code(), c.status().reason(),
                               c.status().message() +
                                   " (and the log's key rotations could not "
                                   "be read: " +
                                   learned.ToString() + ")"));
    }
    PROV_ASSIGN_OR_RETURN(key, KeyForNote(note));
    c = verifier::VerifyCheckpoint(note, key, verifier_.name);
  }
  if (!c.ok()) return Unverified(c.status());
  VerifiedCheckpoint out{std::move(c).value(), note};
  PROV_RETURN_IF_ERROR(ProveRotations(out));
  return out;
}

int64_t LedgerClient::now() const {
  return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr));
}

Status LedgerClient::RequireWitnesses(const std::string& note) const {
  if (!witness_policy_) return Status::Ok();
  PROV_ASSIGN_OR_RETURN(verifier::NoteVerifier key, KeyForNote(note));
  return RequireWitnessQuorum(*witness_policy_, key, note, now());
}

size_t LedgerClient::Cosignatures(const std::string& note) const {
  if (!witness_policy_) return 0;
  auto key = KeyForNote(note);
  if (!key.ok()) return 0;
  return CountCosignatures(*witness_policy_, *key, note, now());
}

Status LedgerClient::ProveConsistentWithLatest(const VerifiedCheckpoint& c) const {
  if (!latest_) return Status::Ok();
  const bool older = c.checkpoint.size < latest_->checkpoint.size;
  const verifier::Checkpoint& a = older ? c.checkpoint : latest_->checkpoint;
  const verifier::Checkpoint& b = older ? latest_->checkpoint : c.checkpoint;
  Status s = ProveConsistency(a, b);
  if (s.ok()) return s;
  return verifier::DataLoss(
      "FORK", "tree head size " + std::to_string(c.checkpoint.size) + " root " +
                  verifier::HexEncode(c.checkpoint.root) + " is not consistent with size " +
                  std::to_string(latest_->checkpoint.size) + " root " +
                  verifier::HexEncode(latest_->checkpoint.root) + ": " + s.ToString());
}

Status LedgerClient::Advance(const VerifiedCheckpoint& c) {
  if (latest_) {
    const auto& old = latest_->checkpoint;
    if (c.checkpoint.size < old.size) {
      return verifier::DataLoss(
          "ROLLBACK", "log rolled back: server shows size " + std::to_string(c.checkpoint.size) +
                          " root " + verifier::HexEncode(c.checkpoint.root) + " after size " +
                          std::to_string(old.size) + " root " + verifier::HexEncode(old.root));
    }
    bool fetch_failed = false;
    Status s = ProveConsistency(old, c.checkpoint, &fetch_failed);
    // A server that stopped answering is unavailable, not a fork; any other
    // failure to prove consistency is, except a source's own precise report
    // of what it could not read or verify (LogSource::ChecksWhatItReads).
    if (s.code() == verifier::Code::kUnavailable || s.code() == verifier::Code::kDeadlineExceeded ||
        (fetch_failed && source_->ChecksWhatItReads())) {
      return s;
    }
    if (!s.ok()) {
      return verifier::DataLoss("FORK", "tree head size " + std::to_string(c.checkpoint.size) +
                                            " root " + verifier::HexEncode(c.checkpoint.root) +
                                            " is not consistent with size " +
                                            std::to_string(old.size) + " root " +
                                            verifier::HexEncode(old.root) + ": " + s.ToString());
    }
    if (c.checkpoint.size == old.size) {
      // The same tree (proven above): keep the better-cosigned note.
      if (Cosignatures(c.note) > Cosignatures(latest_->note)) latest_ = c;
      return Status::Ok();
    }
  }
  latest_ = c;
  return Status::Ok();
}

Result<VerifiedCheckpoint> LedgerClient::Observe(const std::string& note) {
  PROV_ASSIGN_OR_RETURN(auto c, VerifyNote(note));
  PROV_RETURN_IF_ERROR(RequireWitnesses(c.note));
  if (latest_ && c.checkpoint.size < latest_->checkpoint.size) {
    Status s = ProveConsistency(c.checkpoint, latest_->checkpoint);
    if (!s.ok()) {
      return verifier::DataLoss(
          "FORK", "tree head size " + std::to_string(c.checkpoint.size) + " root " +
                      verifier::HexEncode(c.checkpoint.root) + " is not consistent with size " +
                      std::to_string(latest_->checkpoint.size) + " root " +
                      verifier::HexEncode(latest_->checkpoint.root) + ": " + s.ToString());
    }
    return c;
  }
  PROV_RETURN_IF_ERROR(Advance(c));
  return c;
}

Result<VerifiedCheckpoint> LedgerClient::GetCheckpoint() {
  PROV_ASSIGN_OR_RETURN(std::string note, source_->Checkpoint());
  PROV_ASSIGN_OR_RETURN(auto c, VerifyNote(note));
  PROV_RETURN_IF_ERROR(RequireWitnesses(c.note));
  PROV_RETURN_IF_ERROR(Advance(c));
  return c;
}

Result<std::vector<verifier::Hash>> ParseHashes(
    const google::protobuf::RepeatedPtrField<std::string>& hashes) {
  std::vector<verifier::Hash> out;
  out.reserve(hashes.size());
  for (const auto& h : hashes) {
    PROV_ASSIGN_OR_RETURN(auto hash, verifier::ToHash(verifier::AsBytes(h)));
    out.push_back(hash);
  }
  return out;
}

Status LedgerClient::ProveInclusion(uint64_t index, const std::string& leaf,
                                    const VerifiedCheckpoint& at) {
  return VerifiedInclusionProof(index, leaf, at).status();
}

Result<std::vector<verifier::Hash>> LedgerClient::VerifiedInclusionProof(
    uint64_t index, const std::string& leaf, const VerifiedCheckpoint& at) {
  PROV_ASSIGN_OR_RETURN(auto hashes,
                        source_->InclusionProof(index, at.checkpoint.size, ReadAt(at.checkpoint)));
  PROV_RETURN_IF_ERROR(Unverified(verifier::VerifyInclusion(
      index, at.checkpoint.size, verifier::LeafHash(verifier::AsBytes(leaf)), hashes,
      at.checkpoint.root)));
  return hashes;
}

Status LedgerClient::ProveConsistency(const verifier::Checkpoint& older,
                                      const verifier::Checkpoint& newer) const {
  bool fetch_failed = false;
  return ProveConsistency(older, newer, &fetch_failed);
}

Status LedgerClient::ProveConsistency(const verifier::Checkpoint& older,
                                      const verifier::Checkpoint& newer, bool* fetch_failed) const {
  *fetch_failed = false;
  if (older.size == newer.size) {
    return Unverified(
        verifier::VerifyConsistency(older.size, newer.size, {}, older.root, newer.root));
  }
  auto hashes = source_->ConsistencyProof(older.size, newer.size, ReadAt(newer));
  if (!hashes.ok()) {
    *fetch_failed = true;
    return hashes.status();
  }
  return Unverified(
      verifier::VerifyConsistency(older.size, newer.size, *hashes, older.root, newer.root));
}

Result<LedgerClient::Appended> LedgerClient::Submit(const pb::SignedRecord& record) {
  if (!stub_) {
    return verifier::FailedPrecondition(
        "NEEDS_SERVER", "submitting needs provd (--server), not " + source_->Describe());
  }
  grpc::ClientContext ctx;
  pb::SubmitRequest req;
  *req.mutable_record() = record;
  pb::SubmitResponse resp;
  PROV_RETURN_IF_ERROR(FromGrpc(stub_->Submit(&ctx, req, &resp)));
  PROV_ASSIGN_OR_RETURN(auto c, VerifyNote(resp.checkpoint().note()));
  // Under a witness policy a head needs its quorum; provd signed this one
  // just now and no witness has seen it. It proves the inclusion, and must
  // extend the trusted head, but does not replace it.
  const bool adopt = !witness_policy_ || RequireWitnesses(c.note).ok();
  PROV_RETURN_IF_ERROR(adopt ? Advance(c) : ProveConsistentWithLatest(c));
  PROV_RETURN_IF_ERROR(ProveInclusion(resp.index(), record.SerializeAsString(), c));
  return Appended{resp.index(), resp.already_logged(), std::move(c), adopt};
}

Result<std::vector<std::string>> LedgerClient::GetEntries(uint64_t start, uint64_t end) {
  if (start >= end) return std::vector<std::string>{};
  return source_->Entries(start, end, latest_ ? latest_->checkpoint : verifier::Checkpoint{});
}

Result<AuditReport> Audit(LedgerClient& client, const VerifiedCheckpoint& head,
                          const std::function<void(uint64_t)>& progress) {
  AuditReport report;
  verifier::MemoryState& state = report.state;
  verifier::CompactRange range;
  verifier::IndexReplay index_replay;  // recomputes every logged index root
  bool last_is_index_root = false;
  std::vector<verifier::RotationLeaf> rotations;
  const uint64_t n = head.checkpoint.size;
  for (uint64_t start = 0; start < n; start += 1000) {
    PROV_ASSIGN_OR_RETURN(auto leaves, client.GetEntries(start, std::min(n, start + 1000)));
    for (size_t i = 0; i < leaves.size(); ++i) {
      uint64_t index = start + i;
      auto prepared = verifier::PrepareRecord(leaves[i]);
      Status s = prepared.status();
      verifier::StateOverlay overlay(&state);
      if (s.ok()) s = verifier::ApplyPrepared(overlay, *prepared, index);
      const bool rules_ok = s.ok();
      if (s.ok()) s = index_replay.Apply(overlay, *prepared, index);  // recomputes index roots
      if (!s.ok()) {
        // Is this what the signed tree holds, or did the server swap it?
        Status proven = client.ProveInclusion(index, leaves[i], head);
        if (!proven.ok()) {
          return verifier::DataLoss(
              "ENTRY_NOT_IN_TREE",
              "the server's entry #" + std::to_string(index) +
                  " is not the leaf the signed checkpoint holds: " + proven.ToString());
        }
        if (rules_ok) return s;  // a well-signed, false index root
        return Status(s.code(), "AUDIT_REJECTED",
                      "entry #" + std::to_string(index) + " breaks the rules: " + s.ToString());
      }
      state.Apply(overlay);
      last_is_index_root = prepared->record.has_index_root();
      if (prepared->record.has_log_key_rotation()) rotations.push_back({index, leaves[i]});
      report.kinds[verifier::RecordKindName(prepared->record)]++;
      range.Append(prepared->leaf_hash);
    }
    if (progress) progress(std::min(n, start + 1000));
  }
  // The log's keys: a chain from the pinned key, each rotation signed by
  // the key before it.
  PROV_RETURN_IF_ERROR(
      verifier::FollowLogKeyRotations(client.verifier(), client.verifier().name, rotations)
          .status());
  // Every head ends with the index of what it holds (docs/index.md).
  if (n > 0 && !last_is_index_root) {
    return Status(verifier::Code::kFailedPrecondition, "AUDIT_REJECTED",
                  "the head's last leaf #" + std::to_string(n - 1) +
                      " is not an index root: the log does not commit to its index");
  }
  report.size = range.size();
  report.root = range.Root();
  if (!verifier::ConstantTimeEqual(report.root, head.checkpoint.root)) {
    return verifier::DataLoss("ROOT_MISMATCH", "replayed root " + verifier::HexEncode(report.root) +
                                                   " differs from the signed checkpoint root " +
                                                   verifier::HexEncode(head.checkpoint.root));
  }
  return report;
}

}  // namespace client
