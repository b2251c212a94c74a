#include "tools/camsim/grpc_device.h"

#include "tools/camsim/device_dir.h"
#include "verifier/attestation.h"

namespace camsim {

namespace pb = provenance::v1;
using verifier::Result;

bool IsGrpcFault(const std::string& fault) {
  return fault == "cloned-key" || fault == "tampered-firmware" || fault == "replay" ||
         fault == "unregistered";
}

pb::AttestationStatement GrpcDevice::Statement(const std::string& nonce, int64_t time) const {
  pb::AttestationStatement s;
  s.set_manufacturer_org(info.manufacturer_org());
  s.set_serial(info.serial_number());
  s.set_model_id(info.model_id());
  s.set_firmware_version(info.firmware_version());
  s.set_firmware_sha256(info.firmware_sha256());
  s.set_nonce(nonce);
  s.set_time(time);
  return s;
}

Result<GrpcDevice> LoadGrpcDevice(const std::string& dir, const std::string& fault) {
  auto json = ReadDeviceJson(dir);
  if (!json.ok()) return json.status();
  auto field = [&](const char* name) { return JsonString(*json, name); };
  auto key = verifier::ReadKeyFile(DeviceKeyPath(dir));
  if (!key.ok()) return key.status();
  auto firmware = ReadFile(FirmwarePath(dir));
  if (!firmware.ok()) return firmware.status();

  if (fault == "tampered-firmware") *firmware += "tampered";
  std::string serial = field("serial");
  if (fault == "unregistered") serial += "-UNREGISTERED";

  GrpcDevice d;
  d.info.set_manufacturer(field("manufacturer_name"));
  d.info.set_model(field("model_name"));
  d.info.set_firmware_version(field("firmware_version"));
  d.info.set_serial_number(serial);
  d.info.set_hardware_id(field("hardware_id"));
  d.info.set_firmware_sha256(std::string(verifier::AsStringView(verifier::Sha256(*firmware))));
  d.info.set_manufacturer_org(field("manufacturer_org"));
  d.info.set_model_id(field("model_id"));
  d.key = fault == "cloned-key" ? verifier::SigningKey::Generate() : *key;
  if (fault == "replay") {
    const std::string zero_nonce(verifier::kAttestationNonceSize, '\0');
    d.replayed = verifier::SignAttestation(d.Statement(zero_nonce, UnixNow() - 3600), *d.key);
  }
  return d;
}

grpc::Status DeviceIdentityService::GetDeviceInformation(grpc::ServerContext*,
                                                         const pb::GetDeviceInformationRequest*,
                                                         pb::DeviceInformation* out) {
  *out = device_->info;
  return grpc::Status::OK;
}

grpc::Status DeviceIdentityService::Attest(grpc::ServerContext*, const pb::AttestRequest* request,
                                           pb::Attestation* out) {
  if (request->nonce().size() != verifier::kAttestationNonceSize) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "BAD_NONCE: the nonce must be 32 bytes, got " + std::to_string(request->nonce().size()));
  }
  if (device_->replayed) {
    *out = *device_->replayed;
    return grpc::Status::OK;
  }
  *out = verifier::SignAttestation(device_->Statement(request->nonce(), UnixNow()), *device_->key);
  return grpc::Status::OK;
}

Result<std::unique_ptr<grpc::Server>> StartGrpcServer(
    const std::string& listen, const std::shared_ptr<grpc::ServerCredentials>& creds,
    grpc::Service* service, int* port) {
  grpc::ServerBuilder builder;
  *port = 0;
  builder.AddListeningPort(listen, creds, port);
  builder.SetMaxReceiveMessageSize(4 * 1024);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || *port == 0) {
    return verifier::Status(verifier::Code::kUnavailable, "LISTEN_FAILED",
                            "cannot listen on " + listen);
  }
  return server;
}

}  // namespace camsim
