// camsim: a simulated IP camera, for demos and the scanner's tests. It serves
// provenance.v1.DeviceIdentity (proto/device.proto) like a real camera would:
// what it claims to be, and a signature with its device key over a
// verifier's nonce.
//
//   camsim provision --dir D --manufacturer-org ORG --manufacturer-name NAME
//                    --serial SN --model-id M --model-name NAME
//                    --firmware-version V [--firmware-image FILE]
//     Makes the device: D/device.key (0600), D/firmware.bin and D/device.json,
//     and prints device.json (what the manufacturer registers in the ledger).
//   camsim serve --dir D --listen HOST:PORT [--fault MODE]
//     Serves the device. Prints "camsim: serving <serial> on <host>:<port>".
//     Fault modes make a bad device on purpose:
//       cloned-key         signs with a freshly generated key (a clone)
//       tampered-firmware  runs a modified firmware image
//       replay             answers every challenge with one old attestation
//       unregistered       reports the serial "<serial>-UNREGISTERED"
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "proto/device.grpc.pb.h"
#include "transport/credentials.h"
#include "verifier/attestation.h"
#include "verifier/crypto.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using nlohmann::ordered_json;
using verifier::Result;
using verifier::Status;

constexpr int kExitUsage = 2;
constexpr size_t kDefaultFirmwareBytes = 64 * 1024;

std::string KeyPath(const std::string& dir) { return dir + "/device.key"; }
std::string FirmwarePath(const std::string& dir) { return dir + "/firmware.bin"; }
std::string DeviceJsonPath(const std::string& dir) { return dir + "/device.json"; }

int Fail(const Status& s) {
  std::fprintf(stderr, "camsim: %s\n", s.ToString().c_str());
  return 1;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return verifier::NotFound("READ_FAILED", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) return verifier::Internal("WRITE_FAILED", "cannot write " + path);
  return Status::Ok();
}

std::string Sha256Hex(const std::string& bytes) {
  return verifier::HexEncode(verifier::Sha256(bytes));
}

std::string Str(verifier::ByteView b) { return std::string(verifier::AsStringView(b)); }

// --- provision ---------------------------------------------------------------

struct ProvisionOptions {
  std::string dir, manufacturer_org, manufacturer_name, serial, model_id, model_name,
      firmware_version, firmware_image;
};

// "camsim firmware <model-id> <version>\n" repeated to exactly 64 KiB.
std::string DefaultFirmware(const std::string& model_id, const std::string& version) {
  const std::string line = "camsim firmware " + model_id + " " + version + "\n";
  std::string image;
  while (image.size() < kDefaultFirmwareBytes) image += line;
  image.resize(kDefaultFirmwareBytes);
  return image;
}

int Provision(const ProvisionOptions& o) {
  std::string firmware = DefaultFirmware(o.model_id, o.firmware_version);
  if (!o.firmware_image.empty()) {
    auto image = ReadFile(o.firmware_image);
    if (!image.ok()) return Fail(image.status());
    firmware = std::move(image).value();
  }
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return Fail(verifier::FailedPrecondition("DEVICE_DIR", o.dir + ": " + ec.message()));

  // The key first: WriteKeyFile refuses to overwrite, so an existing device
  // is never half re-provisioned.
  verifier::SigningKey key = verifier::SigningKey::Generate();
  if (Status s = verifier::WriteKeyFile(KeyPath(o.dir), key); !s.ok()) return Fail(s);
  if (Status s = WriteFile(FirmwarePath(o.dir), firmware); !s.ok()) return Fail(s);

  const std::string public_key = verifier::HexEncode(key.public_key());
  ordered_json device = {
      {"manufacturer_org", o.manufacturer_org},
      {"manufacturer_name", o.manufacturer_name},
      {"serial", o.serial},
      {"model_id", o.model_id},
      {"model_name", o.model_name},
      {"firmware_version", o.firmware_version},
      {"firmware_sha256", Sha256Hex(firmware)},
      {"device_public_key", public_key},
      {"hardware_id", "camsim-" + public_key.substr(0, 16)},
  };
  const std::string text = device.dump(2) + "\n";
  if (Status s = WriteFile(DeviceJsonPath(o.dir), text); !s.ok()) return Fail(s);
  std::fputs(text.c_str(), stdout);
  return 0;
}

// --- serve -------------------------------------------------------------------

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the running device is: its claims, its key, and (replay fault) the
// one attestation it answers with.
struct Device {
  pb::DeviceInformation info;
  std::optional<verifier::SigningKey> key;
  std::optional<pb::Attestation> replayed;

  pb::AttestationStatement Statement(const std::string& nonce, int64_t time) const {
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
};

Result<Device> LoadDevice(const std::string& dir, const std::string& fault) {
  auto text = ReadFile(DeviceJsonPath(dir));
  if (!text.ok()) return text.status();
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return verifier::InvalidArgument("BAD_DEVICE_JSON",
                                     DeviceJsonPath(dir) + " is not a JSON object");
  }
  auto field = [&](const char* name) {
    auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto key = verifier::ReadKeyFile(KeyPath(dir));
  if (!key.ok()) return key.status();
  auto firmware = ReadFile(FirmwarePath(dir));
  if (!firmware.ok()) return firmware.status();

  if (fault == "tampered-firmware") *firmware += "tampered";
  std::string serial = field("serial");
  if (fault == "unregistered") serial += "-UNREGISTERED";

  Device d;
  d.info.set_manufacturer(field("manufacturer_name"));
  d.info.set_model(field("model_name"));
  d.info.set_firmware_version(field("firmware_version"));
  d.info.set_serial_number(serial);
  d.info.set_hardware_id(field("hardware_id"));
  d.info.set_firmware_sha256(Str(verifier::Sha256(*firmware)));
  d.info.set_manufacturer_org(field("manufacturer_org"));
  d.info.set_model_id(field("model_id"));
  d.key = fault == "cloned-key" ? verifier::SigningKey::Generate() : *key;
  if (fault == "replay") {
    const std::string zero_nonce(verifier::kAttestationNonceSize, '\0');
    d.replayed = verifier::SignAttestation(d.Statement(zero_nonce, UnixNow() - 3600), *d.key);
  }
  return d;
}

class DeviceIdentityService final : public pb::DeviceIdentity::Service {
 public:
  explicit DeviceIdentityService(const Device* device) : device_(device) {}

  grpc::Status GetDeviceInformation(grpc::ServerContext*, const pb::GetDeviceInformationRequest*,
                                    pb::DeviceInformation* out) override {
    *out = device_->info;
    return grpc::Status::OK;
  }

  grpc::Status Attest(grpc::ServerContext*, const pb::AttestRequest* request,
                      pb::Attestation* out) override {
    if (request->nonce().size() != verifier::kAttestationNonceSize) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "BAD_NONCE: the nonce must be 32 bytes, got " + std::to_string(request->nonce().size()));
    }
    if (device_->replayed) {
      *out = *device_->replayed;
      return grpc::Status::OK;
    }
    *out =
        verifier::SignAttestation(device_->Statement(request->nonce(), UnixNow()), *device_->key);
    return grpc::Status::OK;
  }

 private:
  const Device* device_;
};

int Serve(const std::string& dir, const std::string& listen, const std::string& fault,
          const transport::TlsFiles& tls) {
  // Block termination signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto creds = transport::ServerCredentials(tls, listen);  // after the mask: starts gRPC threads
  if (!creds.ok()) return Fail(creds.status());
  auto device = LoadDevice(dir, fault);
  if (!device.ok()) return Fail(device.status());
  DeviceIdentityService service(&*device);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, *creds, &port);
  builder.SetMaxReceiveMessageSize(4 * 1024);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "camsim: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  // Scripts and tests read this line for the port.
  std::printf("camsim: serving %s on %s:%d\n", device->info.serial_number().c_str(), host.c_str(),
              port);
  std::fflush(stdout);
  if (fault != "none") std::fprintf(stderr, "camsim: fault mode %s\n", fault.c_str());

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  });
  server->Wait();
  waiter.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  CLI::App app{"camsim: a simulated IP camera serving provenance.v1.DeviceIdentity"};
  app.require_subcommand(1);

  ProvisionOptions p;
  auto* provision = app.add_subcommand("provision", "make a device: key, firmware, device.json");
  provision->add_option("--dir", p.dir, "device directory (created)")->required();
  provision->add_option("--manufacturer-org", p.manufacturer_org, "ledger org id")->required();
  provision->add_option("--manufacturer-name", p.manufacturer_name, "display name")->required();
  provision->add_option("--serial", p.serial, "serial number")->required();
  provision->add_option("--model-id", p.model_id, "ledger model id")->required();
  provision->add_option("--model-name", p.model_name, "display name")->required();
  provision->add_option("--firmware-version", p.firmware_version, "firmware version")->required();
  provision->add_option("--firmware-image", p.firmware_image,
                        "firmware image to copy (default: 64 KiB of deterministic bytes)");

  std::string dir, listen = "127.0.0.1:0", fault = "none";
  auto* serve = app.add_subcommand("serve", "serve DeviceIdentity over gRPC");
  serve->add_option("--dir", dir, "directory made by `camsim provision`")->required();
  serve->add_option("--listen", listen, "HOST:PORT (port 0 picks a free one)")->default_val(listen);
  serve->add_option("--fault", fault, "misbehave on purpose")
      ->default_val(fault)
      ->check(CLI::IsMember({"none", "cloned-key", "tampered-firmware", "replay", "unregistered"}));
  transport::TlsFiles tls;
  serve->add_option("--tls-cert", tls.cert, "PEM certificate of the camera (TLS)");
  serve->add_option("--tls-key", tls.key, "PEM private key of --tls-cert");
  serve->add_flag("--plaintext", tls.plaintext, "no TLS (only on a loopback --listen)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*provision) return Provision(p);
  return Serve(dir, listen, fault, tls);
}
