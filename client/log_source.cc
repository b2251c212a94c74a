#include "client/log_source.h"

#include <algorithm>

#include "client/ledger_client.h"

namespace client {

namespace pb = provenance::v1;
using verifier::Result;

Result<std::string> GrpcSource::Checkpoint() {
  grpc::ClientContext ctx;
  pb::SignedCheckpoint resp;
  pb::GetCheckpointRequest req;
  req.set_witnessed(witnessed_);
  PROV_RETURN_IF_ERROR(FromGrpc(stub_->GetCheckpoint(&ctx, req, &resp)));
  return std::move(*resp.mutable_note());
}

Result<std::vector<verifier::RotationLeaf>> GrpcSource::LogKeyRotations() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  pb::GetEntriesResponse resp;
  PROV_RETURN_IF_ERROR(
      FromGrpc(stub_->GetLogKeyRotations(&ctx, pb::GetLogKeyRotationsRequest(), &resp)));
  std::vector<verifier::RotationLeaf> out;
  for (auto& e : *resp.mutable_entries()) {
    out.push_back({e.index(), std::move(*e.mutable_signed_record())});
  }
  return out;
}

Result<std::vector<std::string>> GrpcSource::Entries(uint64_t start, uint64_t end,
                                                     const verifier::Checkpoint&) {
  std::vector<std::string> out;
  while (start < end) {
    grpc::ClientContext ctx;
    pb::GetEntriesRequest req;
    req.set_start(start);
    req.set_end(std::min(end, start + 1000));
    pb::GetEntriesResponse resp;
    PROV_RETURN_IF_ERROR(FromGrpc(stub_->GetEntries(&ctx, req, &resp)));
    if (resp.entries().empty()) {
      return verifier::DataLoss("SHORT_READ", "server returned no entries");
    }
    for (auto& e : *resp.mutable_entries()) {
      if (e.index() != start) {
        return verifier::DataLoss(
            "WRONG_ENTRY",
            "server returned entry " + std::to_string(e.index()) + " for " + std::to_string(start));
      }
      out.push_back(std::move(*e.mutable_signed_record()));
      ++start;
    }
  }
  return out;
}

Result<std::vector<verifier::Hash>> GrpcSource::InclusionProof(uint64_t index, uint64_t size,
                                                               const verifier::Checkpoint&) {
  grpc::ClientContext ctx;
  pb::GetInclusionProofRequest req;
  req.set_index(index);
  req.set_tree_size(size);
  pb::GetInclusionProofResponse resp;
  PROV_RETURN_IF_ERROR(FromGrpc(stub_->GetInclusionProof(&ctx, req, &resp)));
  if (resp.proof().index() != index || resp.proof().tree_size() != size) {
    return verifier::DataLoss("PROOF_MISMATCH", "server answered for another leaf or size");
  }
  auto hashes = ParseHashes(resp.proof().hashes());
  if (!hashes.ok()) return Unverified(hashes.status());
  return hashes;
}

Result<std::vector<verifier::Hash>> GrpcSource::ConsistencyProof(uint64_t size1, uint64_t size2,
                                                                 const verifier::Checkpoint&) {
  grpc::ClientContext ctx;
  pb::GetConsistencyProofRequest req;
  req.set_first(size1);
  req.set_second(size2);
  pb::GetConsistencyProofResponse resp;
  PROV_RETURN_IF_ERROR(FromGrpc(stub_->GetConsistencyProof(&ctx, req, &resp)));
  auto hashes = ParseHashes(resp.hashes());
  if (!hashes.ok()) return Unverified(hashes.status());
  return hashes;
}

}  // namespace client
