#include "client/device_scan.h"

#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include <chrono>

#include "client/ledger_client.h"
#include "proto/device.grpc.pb.h"
#include "verifier/attestation.h"

namespace client {

namespace pb = provenance::v1;
using verifier::Finding;

verifier::Result<LiveDevice> ReadDevice(const std::string& address,
                                        const transport::TlsFiles& tls) {
  PROV_ASSIGN_OR_RETURN(auto creds, transport::ChannelCredentials(tls, address));
  verifier::InitCrypto();
  auto stub = pb::DeviceIdentity::NewStub(
      grpc::CreateChannel(address, creds));
  LiveDevice d;
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(10);
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline);
    PROV_RETURN_IF_ERROR(FromGrpc(stub->GetDeviceInformation(&ctx, {}, &d.info)));
  }
  d.nonce.resize(verifier::kAttestationNonceSize);
  randombytes_buf(d.nonce.data(), d.nonce.size());
  pb::AttestRequest req;
  req.set_nonce(d.nonce);
  d.asked_at = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline);
  PROV_RETURN_IF_ERROR(FromGrpc(stub->Attest(&ctx, req, &d.attestation)));
  return d;
}

void JudgeAttestation(const verifier::VerifiedEvidence& ev, const LiveDevice& d,
                      int64_t max_age_seconds, verifier::Judgement* j) {
  if (!j->registered) return;  // already REJECTED: nothing to compare with
  auto reject = [&](std::string code, std::string message, std::vector<uint64_t> idx) {
    j->findings.push_back(
        {Finding::Severity::kReject, std::move(code), std::move(message), std::move(idx)});
  };
  const uint64_t reg = j->device.index();
  auto key = verifier::ToHash(verifier::AsBytes(j->device.device_public_key()));
  if (!key.ok()) {
    reject("BAD_REGISTERED_KEY", "the registered device key is not 32 bytes", {reg});
    verifier::Decide(j);
    return;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto st = verifier::VerifyAttestation(d.attestation, *key, verifier::AsBytes(d.nonce), now,
                                        max_age_seconds);
  if (!st.ok()) {
    reject(st.status().reason(), st.status().message(), {reg});
    verifier::Decide(j);
    return;
  }
  j->findings.push_back({Finding::Severity::kInfo, "ATTESTED",
                         "fresh statement over our nonce, signed by the device key registered " +
                             std::string("#") + std::to_string(reg),
                         {reg}});
  if (st->serial() != d.info.serial_number() ||
      st->manufacturer_org() != d.info.manufacturer_org()) {
    reject("ATTESTATION_MISMATCH",
           "the signed statement names " + st->manufacturer_org() + "/" + st->serial() +
               " but the device information says " + d.info.manufacturer_org() + "/" +
               d.info.serial_number(),
           {reg});
  }
  if (st->model_id() != j->device.model_id()) {
    reject("MODEL_MISMATCH",
           "the camera says model " + st->model_id() + "; the ledger registered " +
               j->device.model_id(),
           {reg});
  }
  auto fw = verifier::ToHash(verifier::AsBytes(st->firmware_sha256()));
  if (fw.ok()) {
    for (auto& f : verifier::CheckFirmware(ev, *j, *fw)) j->findings.push_back(std::move(f));
  }
  verifier::Decide(j);
}

}  // namespace client
