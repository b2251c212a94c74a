#include "ledger/service.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "transport/credentials.h"

namespace ledger {

using verifier::Status;

grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.ToString());
}

namespace {

std::future<Ack> Prepare(Ledger* ledger, const pb::SubmitRequest& req) {
  if (Status known = ledger->CheckSignersKnown(req.record()); !known.ok()) {
    std::promise<Ack> p;
    p.set_value(Ack{known, 0, false, nullptr});
    return p.get_future();
  }
  auto prepared = verifier::PrepareRecord(req.record().SerializeAsString());
  if (!prepared.ok()) {
    std::promise<Ack> p;
    p.set_value(Ack{prepared.status(), 0, false, nullptr});
    return p.get_future();
  }
  return ledger->Submit(std::move(prepared).value());
}

Status NoClientCert() {
  return verifier::Unauthenticated("CLIENT_CERT_REQUIRED",
                                   "this ledger accepts records only over mutual TLS: present a "
                                   "client certificate issued by its client CA");
}

}  // namespace

grpc::Status LedgerService::Refused(const Status& s) {
  if (options_.metrics && !s.ok()) options_.metrics->RecordRejection(s.reason());
  return ToGrpcStatus(s);
}

grpc::Status LedgerService::Proof(const char* rpc, grpc::Status s) {
  if (options_.metrics && s.ok()) options_.metrics->RecordProof(rpc);
  return s;
}

grpc::Status LedgerService::Evidence(const char* rpc, grpc::Status s) {
  if (options_.metrics && s.ok()) options_.metrics->RecordEvidence(rpc);
  return s;
}

grpc::Status LedgerService::Submit(grpc::ServerContext* ctx, const pb::SubmitRequest* req,
                                   pb::SubmitResponse* resp) {
  if (options_.writes_need_client_cert && !transport::PeerHasClientCert(*ctx)) {
    return Refused(NoClientCert());
  }
  if (!req->has_record()) {
    return Refused(verifier::InvalidArgument("MALFORMED_RECORD", "request has no record"));
  }
  Ack ack = Prepare(ledger_, *req).get();
  if (!ack.status.ok()) return Refused(ack.status);
  resp->set_index(ack.index);
  resp->set_already_logged(ack.already_logged);
  *resp->mutable_checkpoint() = *ack.checkpoint;
  return grpc::Status::OK;
}

grpc::Status LedgerService::SubmitStream(
    grpc::ServerContext* ctx, grpc::ServerReaderWriter<pb::StreamAck, pb::SubmitRequest>* stream) {
  if (options_.writes_need_client_cert && !transport::PeerHasClientCert(*ctx)) {
    return Refused(NoClientCert());
  }
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<uint64_t, std::future<Ack>>> inflight;  // GUARDED_BY(mu)
  bool reading_done = false;                                   // GUARDED_BY(mu)
  bool writer_failed = false;                                  // GUARDED_BY(mu)

  // Acks go out in request order from this thread.
  std::thread writer([&] {
    for (;;) {
      std::pair<uint64_t, std::future<Ack>> item;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return reading_done || !inflight.empty(); });
        if (inflight.empty()) return;
        item = std::move(inflight.front());
        inflight.pop_front();
      }
      cv.notify_all();
      Ack ack = item.second.get();
      pb::StreamAck out;
      out.set_sequence(item.first);
      out.set_code(static_cast<int>(ack.status.code()));
      if (ack.status.ok()) {
        out.set_index(ack.index);
        out.set_already_logged(ack.already_logged);
        *out.mutable_checkpoint() = *ack.checkpoint;
      } else {
        out.set_message(Refused(ack.status).error_message());
      }
      if (!stream->Write(out)) {
        std::lock_guard lock(mu);
        writer_failed = true;
        // Keep draining futures so that nothing is left dangling.
      }
    }
  });

  pb::SubmitRequest req;
  while (stream->Read(&req)) {
    {
      // Back-pressure: stop reading while the window is full.
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return inflight.size() < options_.stream_window || writer_failed; });
      if (writer_failed || ctx->IsCancelled()) break;
    }
    std::future<Ack> f = Prepare(ledger_, req);
    {
      std::lock_guard lock(mu);
      inflight.emplace_back(req.sequence(), std::move(f));
    }
    cv.notify_all();
  }
  {
    std::lock_guard lock(mu);
    reading_done = true;
  }
  cv.notify_all();
  writer.join();
  if (writer_failed) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  return grpc::Status::OK;
}

grpc::Status LedgerService::GetCheckpoint(grpc::ServerContext*, const pb::GetCheckpointRequest* req,
                                          pb::SignedCheckpoint* resp) {
  *resp = *ledger_->Head(req->witnessed());
  return grpc::Status::OK;
}

grpc::Status LedgerService::GetEntries(grpc::ServerContext*, const pb::GetEntriesRequest* req,
                                       pb::GetEntriesResponse* resp) {
  auto entries = ledger_->GetEntries(req->start(), req->end());
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  for (auto& e : *entries) *resp->add_entries() = std::move(e);
  return grpc::Status::OK;
}

grpc::Status LedgerService::GetLogKeyRotations(grpc::ServerContext*,
                                               const pb::GetLogKeyRotationsRequest*,
                                               pb::GetEntriesResponse* resp) {
  auto entries = ledger_->LogKeyRotations();
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  for (auto& e : *entries) *resp->add_entries() = std::move(e);
  return grpc::Status::OK;
}

grpc::Status LedgerService::GetInclusionProof(grpc::ServerContext*,
                                              const pb::GetInclusionProofRequest* req,
                                              pb::GetInclusionProofResponse* resp) {
  auto ckpt = ledger_->Checkpoint();
  uint64_t index = req->index();
  if (req->leaf_case() == pb::GetInclusionProofRequest::kLeafHash) {
    auto hash = verifier::ToHash(verifier::AsBytes(req->leaf_hash()));
    if (!hash.ok()) return ToGrpcStatus(hash.status());
    auto found = ledger_->FindLeaf(*hash);
    if (!found.ok()) return ToGrpcStatus(found.status());
    index = *found;
  } else if (req->leaf_case() != pb::GetInclusionProofRequest::kIndex) {
    return ToGrpcStatus(
        verifier::InvalidArgument("MISSING_LEAF", "give a leaf index or a leaf hash"));
  }
  uint64_t size = req->tree_size() ? req->tree_size() : ckpt->size();
  auto proof = ledger_->InclusionProof(index, size);
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  *resp->mutable_proof() = std::move(proof).value();
  *resp->mutable_checkpoint() = *ckpt;
  return Proof("GetInclusionProof", grpc::Status::OK);
}

grpc::Status LedgerService::GetConsistencyProof(grpc::ServerContext*,
                                                const pb::GetConsistencyProofRequest* req,
                                                pb::GetConsistencyProofResponse* resp) {
  auto proof = ledger_->ConsistencyProof(req->first(), req->second());
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  *resp = std::move(proof).value();
  return Proof("GetConsistencyProof", grpc::Status::OK);
}

grpc::Status LedgerService::GetDeviceEvidence(grpc::ServerContext*,
                                              const pb::GetDeviceEvidenceRequest* req,
                                              pb::Evidence* resp) {
  auto ev = ledger_->DeviceEvidence(req->manufacturer_org(), req->serial());
  if (!ev.ok()) return ToGrpcStatus(ev.status());
  *resp = std::move(ev).value();
  return Evidence("GetDeviceEvidence", grpc::Status::OK);
}

grpc::Status LedgerService::GetOrganizationEvidence(grpc::ServerContext*,
                                                    const pb::GetOrganizationEvidenceRequest* req,
                                                    pb::Evidence* resp) {
  auto ev = ledger_->OrganizationEvidence(req->org_id());
  if (!ev.ok()) return ToGrpcStatus(ev.status());
  *resp = std::move(ev).value();
  return Evidence("GetOrganizationEvidence", grpc::Status::OK);
}

grpc::Status LedgerService::GetEvidence(grpc::ServerContext*, const pb::GetEvidenceRequest* req,
                                        pb::Evidence* resp) {
  auto ev = ledger_->DevicesEvidence(
      {req->devices().begin(), req->devices().end()}, {req->orgs().begin(), req->orgs().end()},
      {req->laws().begin(), req->laws().end()},
      {req->certificate_issuers().begin(), req->certificate_issuers().end()},
      {req->mac_addresses().begin(), req->mac_addresses().end()}, req->witnessed());
  if (!ev.ok()) return ToGrpcStatus(ev.status());
  *resp = std::move(ev).value();
  return Evidence("GetEvidence", grpc::Status::OK);
}

grpc::Status LedgerService::WatchCheckpoints(grpc::ServerContext* ctx,
                                             const pb::WatchCheckpointsRequest* req,
                                             grpc::ServerWriter<pb::SignedCheckpoint>* writer) {
  uint64_t last = req->after_size();
  while (!ctx->IsCancelled() && !stopping_) {
    auto c = ledger_->WaitForCheckpoint(
        last, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    if (c->size() <= last) continue;
    if (!writer->Write(*c)) break;
    last = c->size();
  }
  if (stopping_) {
    return ToGrpcStatus(Status(verifier::Code::kUnavailable, "SHUTTING_DOWN",
                               "the server is shutting down; reconnect to keep watching"));
  }
  return grpc::Status::OK;
}

}  // namespace ledger
