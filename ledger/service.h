// The Ledger gRPC service: a thin, final adapter from gRPC to ledger::Ledger.
// Errors are mapped to grpc::Status in one place (ToGrpcStatus).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "ledger/ledger.h"
#include "ledger/metrics.h"
#include "proto/ledger.grpc.pb.h"

namespace ledger {

// Precise code; message "REASON: plain-language explanation".
grpc::Status ToGrpcStatus(const verifier::Status& s);

struct ServiceOptions {
  size_t stream_window = 1024;  // unacknowledged requests per SubmitStream
  // Submit and SubmitStream need a verified client certificate (mTLS);
  // reads stay open to everyone.
  bool writes_need_client_cert = false;
  // Optional (nullptr: none): rejections by reason, proofs and evidence
  // served. Must outlive the service.
  Metrics* metrics = nullptr;
};

class LedgerService final : public pb::Ledger::Service {
 public:
  explicit LedgerService(Ledger* ledger, ServiceOptions options = {})
      : ledger_(ledger), options_(options) {}

  grpc::Status Submit(grpc::ServerContext*, const pb::SubmitRequest*, pb::SubmitResponse*) override;
  grpc::Status SubmitStream(grpc::ServerContext*,
                            grpc::ServerReaderWriter<pb::StreamAck, pb::SubmitRequest>*) override;
  grpc::Status GetCheckpoint(grpc::ServerContext*, const pb::GetCheckpointRequest*,
                             pb::SignedCheckpoint*) override;
  grpc::Status GetEntries(grpc::ServerContext*, const pb::GetEntriesRequest*,
                          pb::GetEntriesResponse*) override;
  grpc::Status GetLogKeyRotations(grpc::ServerContext*, const pb::GetLogKeyRotationsRequest*,
                                  pb::GetEntriesResponse*) override;
  grpc::Status GetInclusionProof(grpc::ServerContext*, const pb::GetInclusionProofRequest*,
                                 pb::GetInclusionProofResponse*) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext*, const pb::GetConsistencyProofRequest*,
                                   pb::GetConsistencyProofResponse*) override;
  grpc::Status GetDeviceEvidence(grpc::ServerContext*, const pb::GetDeviceEvidenceRequest*,
                                 pb::Evidence*) override;
  grpc::Status GetOrganizationEvidence(grpc::ServerContext*,
                                       const pb::GetOrganizationEvidenceRequest*,
                                       pb::Evidence*) override;
  grpc::Status GetEvidence(grpc::ServerContext*, const pb::GetEvidenceRequest*,
                           pb::Evidence*) override;
  grpc::Status WatchCheckpoints(grpc::ServerContext*, const pb::WatchCheckpointsRequest*,
                                grpc::ServerWriter<pb::SignedCheckpoint>*) override;

  // Ends open WatchCheckpoints streams (within half a second) so that the
  // server's shutdown is not held up by watchers. Call before Shutdown().
  void StopWatchers() { stopping_ = true; }

 private:
  Ledger* ledger_;
  // Counts a refused submission (if metrics are on); returns `s` as grpc.
  grpc::Status Refused(const verifier::Status& s);
  // Counts an answered proof/evidence RPC (if metrics are on and `s` is OK).
  grpc::Status Proof(const char* rpc, grpc::Status s);
  grpc::Status Evidence(const char* rpc, grpc::Status s);

  ServiceOptions options_;
  std::atomic<bool> stopping_{false};
};

}  // namespace ledger
