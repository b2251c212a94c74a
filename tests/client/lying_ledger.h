// A lying log operator for tests: a real gRPC Ledger service on loopback
// that forwards every call to a real provd and then tampers with the answer
// in one chosen way. It holds the real log key (a compromised operator), so
// its forged checkpoints are validly signed where a lie needs that.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "proto/ledger.grpc.pb.h"
#include "verifier/crypto.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/rules.h"

namespace testlie {

namespace pb = provenance::v1;

enum class Lie {
  kNone,
  kInclusionProof,    // flips a byte of every inclusion proof (evidence and GetInclusionProof)
  kConsistencyProof,  // flips a byte of every consistency proof
  kEntryBytes,        // GetEntries returns other bytes than the proven leaves
  kOtherKey,          // checkpoints signed by another key (same origin)
  // ... and a log key rotation to that key, at the head's last leaf, which
  // the log does not hold: signed by the real log key (a stolen key) and
  // the other, or by the other key alone.
  kForgedRotation,
  kUnsignedRotation,
  kRollback,        // serves the first checkpoint it saw, forever
  kFork,            // a validly signed checkpoint with another root, one larger
  kDropDependency,  // evidence without the device's model record
  kSwapDevice,      // evidence where the device's registration is another device's
  // Omissions: evidence without the records set_omit() picks (a hidden
  // stolen status, revocation, sale, re-registration, ...), ...
  kOmit,                // ... the subject proofs left as the ledger made them
  kOmitAndTrimHistory,  // ... and the omitted indices cut from the proofs' histories
  kOmitAndDropProof,    // ... and no proof for a subject whose history lists one
};

class LyingLedger final : public pb::Ledger::Service {
 public:
  LyingLedger(const std::string& provd_target, verifier::SigningKey log_key, std::string origin)
      : real_(pb::Ledger::NewStub(
            grpc::CreateChannel(provd_target, grpc::InsecureChannelCredentials()))),
        log_key_(std::move(log_key)),
        other_key_(verifier::SigningKey::Generate()),
        origin_(std::move(origin)) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
  }
  ~LyingLedger() override { server_->Shutdown(); }

  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_lie(Lie lie) {
    std::lock_guard lock(mu_);
    lie_ = lie;
  }
  // Which records the omission lies leave out.
  void set_omit(std::function<bool(const pb::Record&)> which) {
    std::lock_guard lock(mu_);
    omit_ = std::move(which);
  }

  grpc::Status Submit(grpc::ServerContext*, const pb::SubmitRequest* req,
                      pb::SubmitResponse* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->Submit(&ctx, *req, resp);
    if (s.ok()) Tamper(resp->mutable_checkpoint());
    return s;
  }
  grpc::Status GetCheckpoint(grpc::ServerContext*, const pb::GetCheckpointRequest* req,
                             pb::SignedCheckpoint* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->GetCheckpoint(&ctx, *req, resp);
    if (s.ok()) Tamper(resp);
    return s;
  }
  grpc::Status GetEntries(grpc::ServerContext*, const pb::GetEntriesRequest* req,
                          pb::GetEntriesResponse* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->GetEntries(&ctx, *req, resp);
    if (s.ok() && lie() == Lie::kEntryBytes && resp->entries_size() > 1) {
      // Entry 1 gets entry 0's bytes: well-formed, just not what was logged.
      resp->mutable_entries(1)->set_signed_record(resp->entries(0).signed_record());
    }
    return s;
  }
  grpc::Status GetLogKeyRotations(grpc::ServerContext*, const pb::GetLogKeyRotationsRequest* req,
                                  pb::GetEntriesResponse* resp) override {
    const Lie l = lie();
    grpc::ClientContext ctx;
    if (l != Lie::kForgedRotation && l != Lie::kUnsignedRotation) {
      return real_->GetLogKeyRotations(&ctx, *req, resp);
    }
    pb::SignedCheckpoint head;
    grpc::Status s = real_->GetCheckpoint(&ctx, pb::GetCheckpointRequest(), &head);
    if (!s.ok()) return s;
    pb::Record r;
    r.set_issued_at(1'700'000'000);
    auto* k = r.mutable_log_key_rotation();
    k->set_origin(origin_);
    k->set_old_key(verifier::FormatVerifierKey(origin_, log_key_.public_key()));
    k->set_new_key(verifier::FormatVerifierKey(origin_, other_key_.public_key()));
    k->set_from_size(head.size());
    std::vector<const verifier::SigningKey*> keys{&other_key_};
    if (l == Lie::kForgedRotation) keys.push_back(&log_key_);
    auto* e = resp->add_entries();
    e->set_index(head.size() - 1);
    e->set_signed_record(verifier::SignRecord(r.SerializeAsString(), keys).SerializeAsString());
    return grpc::Status::OK;
  }
  grpc::Status GetInclusionProof(grpc::ServerContext*, const pb::GetInclusionProofRequest* req,
                                 pb::GetInclusionProofResponse* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->GetInclusionProof(&ctx, *req, resp);
    if (s.ok() && lie() == Lie::kInclusionProof && resp->proof().hashes_size() > 0) {
      Flip(resp->mutable_proof()->mutable_hashes(0));
    }
    if (s.ok()) Tamper(resp->mutable_checkpoint());
    return s;
  }
  grpc::Status GetConsistencyProof(grpc::ServerContext*, const pb::GetConsistencyProofRequest* req,
                                   pb::GetConsistencyProofResponse* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->GetConsistencyProof(&ctx, *req, resp);
    if (s.ok() && lie() == Lie::kConsistencyProof && resp->hashes_size() > 0) {
      Flip(resp->mutable_hashes(resp->hashes_size() - 1));
    }
    return s;
  }
  grpc::Status GetDeviceEvidence(grpc::ServerContext*, const pb::GetDeviceEvidenceRequest* req,
                                 pb::Evidence* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->GetDeviceEvidence(&ctx, *req, resp);
    if (s.ok()) TamperEvidence(resp);
    return s;
  }
  grpc::Status GetOrganizationEvidence(grpc::ServerContext*,
                                       const pb::GetOrganizationEvidenceRequest* req,
                                       pb::Evidence* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->GetOrganizationEvidence(&ctx, *req, resp);
    if (s.ok()) TamperEvidence(resp);
    return s;
  }
  grpc::Status GetEvidence(grpc::ServerContext*, const pb::GetEvidenceRequest* req,
                           pb::Evidence* resp) override {
    grpc::ClientContext ctx;
    grpc::Status s = real_->GetEvidence(&ctx, *req, resp);
    if (s.ok()) TamperEvidence(resp);
    return s;
  }

 private:
  Lie lie() {
    std::lock_guard lock(mu_);
    return lie_;
  }
  static void Flip(std::string* bytes) {
    if (!bytes->empty()) (*bytes)[bytes->size() / 2] ^= 0x01;
  }

  // Rewrites a checkpoint for the checkpoint lies.
  void Tamper(pb::SignedCheckpoint* c) {
    std::lock_guard lock(mu_);
    if (!first_) first_ = std::make_unique<pb::SignedCheckpoint>(*c);
    auto parsed = verifier::ParseCheckpoint(Body(c->note()));
    if (!parsed.ok()) return;
    verifier::Checkpoint cp = *parsed;
    switch (lie_) {
      case Lie::kOtherKey:
      case Lie::kForgedRotation:
      case Lie::kUnsignedRotation:
        Sign(cp, other_key_, c);
        break;
      case Lie::kRollback:
        *c = *first_;
        break;
      case Lie::kFork:
        cp.size += 1;
        cp.root = verifier::Sha256("a history that was never logged");
        Sign(cp, log_key_, c);
        break;
      default:
        break;
    }
  }

  void TamperEvidence(pb::Evidence* ev) {
    Tamper(ev->mutable_checkpoint());
    auto* entries = ev->mutable_entries();
    switch (lie()) {
      case Lie::kInclusionProof:
        for (auto& e : *entries) {
          if (e.proof_size() > 0) Flip(e.mutable_proof(0));
        }
        break;
      case Lie::kDropDependency:
        for (int i = 0; i < entries->size(); ++i) {
          if (Kind(entries->Get(i).signed_record()) == pb::Record::kDeviceModel) {
            entries->DeleteSubrange(i, 1);
            break;
          }
        }
        break;
      case Lie::kSwapDevice: {
        // The first device registration becomes the last one's bytes.
        int first = -1, last = -1;
        for (int i = 0; i < entries->size(); ++i) {
          if (Kind(entries->Get(i).signed_record()) == pb::Record::kDevice) {
            if (first < 0) first = i;
            last = i;
          }
        }
        if (first >= 0 && last > first) {
          entries->Mutable(first)->set_signed_record(entries->Get(last).signed_record());
        } else if (first >= 0) {
          // One device in the evidence: swap in the model's bytes instead.
          for (const auto& e : *entries) {
            if (Kind(e.signed_record()) == pb::Record::kDeviceModel) {
              entries->Mutable(first)->set_signed_record(e.signed_record());
              break;
            }
          }
        }
        break;
      }
      case Lie::kOmit:
      case Lie::kOmitAndTrimHistory:
      case Lie::kOmitAndDropProof:
        Omit(ev);
        break;
      default:
        break;
    }
  }

  void Omit(pb::Evidence* ev) {
    std::function<bool(const pb::Record&)> which;
    Lie lie;
    {
      std::lock_guard lock(mu_);
      which = omit_;
      lie = lie_;
    }
    std::set<uint64_t> left_out;
    auto* entries = ev->mutable_entries();
    for (int i = entries->size() - 1; i >= 0; --i) {
      pb::SignedRecord sr;
      pb::Record r;
      if (!sr.ParseFromString(entries->Get(i).signed_record()) || !r.ParseFromString(sr.record()) ||
          !which || !which(r)) {
        continue;
      }
      left_out.insert(entries->Get(i).index());
      entries->DeleteSubrange(i, 1);
    }
    if (lie == Lie::kOmit) return;
    auto* proofs = ev->mutable_subjects();
    for (int i = proofs->size() - 1; i >= 0; --i) {
      pb::SubjectProof* p = proofs->Mutable(i);
      bool lists = false;
      for (uint64_t h : p->history()) lists |= left_out.count(h) > 0;
      if (!lists) continue;
      if (lie == Lie::kOmitAndDropProof) {
        proofs->DeleteSubrange(i, 1);
        continue;
      }
      std::vector<uint64_t> kept;
      for (uint64_t h : p->history()) {
        if (!left_out.count(h)) kept.push_back(h);
      }
      p->clear_history();
      for (uint64_t h : kept) p->add_history(h);
    }
  }

  static pb::Record::KindCase Kind(const std::string& leaf) {
    pb::SignedRecord sr;
    pb::Record r;
    if (!sr.ParseFromString(leaf) || !r.ParseFromString(sr.record()))
      return pb::Record::KIND_NOT_SET;
    return r.kind_case();
  }
  static std::string Body(const std::string& note) { return note.substr(0, note.find("\n\n") + 1); }
  void Sign(const verifier::Checkpoint& cp, const verifier::SigningKey& key,
            pb::SignedCheckpoint* c) {
    c->set_note(verifier::SignNote(verifier::FormatCheckpoint(cp), origin_, key));
    c->set_size(cp.size);
    c->set_root_hash(std::string(verifier::AsStringView(cp.root)));
  }

  std::unique_ptr<pb::Ledger::Stub> real_;
  verifier::SigningKey log_key_, other_key_;
  std::string origin_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex mu_;
  Lie lie_ = Lie::kNone;
  std::function<bool(const pb::Record&)> omit_;
  std::unique_ptr<pb::SignedCheckpoint> first_;
};

}  // namespace testlie
