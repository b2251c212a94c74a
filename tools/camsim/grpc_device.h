// camsim's gRPC mode: provenance.v1.DeviceIdentity (proto/device.proto), what
// the camera claims to be and a signature with its device key over a
// verifier's nonce.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "proto/device.grpc.pb.h"
#include "transport/credentials.h"
#include "verifier/crypto.h"
#include "verifier/status.h"

namespace camsim {

// The gRPC fault modes (see main.cc): cloned-key, tampered-firmware, replay,
// unregistered.
bool IsGrpcFault(const std::string& fault);

// What the running device is: its claims, its key, and (replay fault) the
// one attestation it answers with.
struct GrpcDevice {
  provenance::v1::DeviceInformation info;
  std::optional<verifier::SigningKey> key;
  std::optional<provenance::v1::Attestation> replayed;

  provenance::v1::AttestationStatement Statement(const std::string& nonce, int64_t time) const;
};

// Reads the device directory and applies `fault` (any mode; the non-gRPC
// ones change nothing here).
verifier::Result<GrpcDevice> LoadGrpcDevice(const std::string& dir, const std::string& fault);

// Thread-safe: the device is read-only while serving.
class DeviceIdentityService final : public provenance::v1::DeviceIdentity::Service {
 public:
  // `device` must outlive the service.
  explicit DeviceIdentityService(const GrpcDevice* device) : device_(device) {}

  grpc::Status GetDeviceInformation(grpc::ServerContext*,
                                    const provenance::v1::GetDeviceInformationRequest*,
                                    provenance::v1::DeviceInformation* out) override;
  grpc::Status Attest(grpc::ServerContext*, const provenance::v1::AttestRequest* request,
                      provenance::v1::Attestation* out) override;

 private:
  const GrpcDevice* device_;
};

// A started gRPC server for `service` on `listen`; *port gets the bound
// port. UNAVAILABLE LISTEN_FAILED if it cannot listen.
verifier::Result<std::unique_ptr<grpc::Server>> StartGrpcServer(
    const std::string& listen, const std::shared_ptr<grpc::ServerCredentials>& creds,
    grpc::Service* service, int* port);

}  // namespace camsim
