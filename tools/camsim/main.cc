// camsim: a simulated IP camera, for demos and the scanner's tests. It
// serves provenance.v1.DeviceIdentity over gRPC (proto/device.proto) — what
// it claims to be, and a signature with its device key over a verifier's
// nonce — and, like a real camera, ONVIF over HTTPS with an IEEE
// 802.1AR-style factory certificate, and answers WS-Discovery probes.
//
//   camsim make-ca --dir CA --name NAME
//     Makes a device-identity CA: CA/root.pem (self-signed), CA/intermediate.pem
//     (pathlen 0), CA/root.key and CA/intermediate.key (0600; nothing in CA is
//     ever overwritten), all P-256; prints a JSON summary with fingerprints.
//   camsim provision --dir D --manufacturer-org ORG --manufacturer-name NAME
//                    --serial SN --model-id M --model-name NAME
//                    --firmware-version V [--firmware-image FILE]
//                    [--identity-ca CA] [--mac AA:BB:CC:DD:EE:FF]
//     Makes the device: D/device.key (0600), D/firmware.bin and D/device.json,
//     and prints device.json (what the manufacturer registers in the ledger).
//     device.json has the "mac" (default: a stable locally administered one
//     derived from the serial). With --identity-ca also D/identity.key (0600,
//     P-256) and D/identity.pem (leaf, then CA/intermediate.pem): subject
//     O=<manufacturer name>, CN=<model name> <serial>, serialNumber=<serial>,
//     notAfter 99991231235959Z; device.json gains identity_spki_sha256,
//     identity_certificate_sha256 and identity_ca_dir.
//   camsim serve --dir D [--listen HOST:PORT] [--onvif HOST:PORT
//                [--onvif-http HOST:PORT] [--user U --password-file F]
//                [--discovery [--discovery-interface ADDR]]]
//                [--fault MODE [--fault-mac MAC]]
//     gRPC (when --listen is given or --onvif is not) prints
//       "camsim: serving <serial> on <host>:<port>"
//     ONVIF prints (after the gRPC line)
//       "camsim: serving <serial> onvif on https://<host>:<port>/onvif/device_service"
//     and with --onvif-http, next
//       "camsim: serving <serial> onvif on http://<host>:<port>/onvif/device_service"
//     Port 0 picks a free port. --discovery joins 239.255.255.250:3702 on
//     --discovery-interface (default 127.0.0.1) and answers Probes.
//     --onvif-http serves the same SOAP over plain HTTP, only for clients
//     that cannot do HTTPS (libonvif's onvif-util, tests/interop): it proves
//     nothing about the camera, and the scanner never uses it; loopback
//     addresses only, like every plaintext listener here. With it,
//     discovery's XAddrs lists the http:// URL first (libonvif reads only the
//     first), then the https:// one.
//     Fault modes make a bad device on purpose. gRPC:
//       cloned-key            signs with a freshly generated key (a clone)
//       tampered-firmware     runs a modified firmware image
//       replay                answers every challenge with one old attestation
//       unregistered          reports the serial "<serial>-UNREGISTERED"
//     ONVIF / TLS:
//       foreign-ca            a leaf with the same subject under a fresh,
//                             unrelated CA made at start
//       replaced-certificate  a self-signed RSA-2048 cert CN=<hostname>, no
//                             serialNumber (an integrator replaced it)
//       serial-mismatch       the provisioned certificate, but
//                             GetDeviceInformation says "<serial>-X"
//       foreign-mac           GetNetworkInterfaces reports --fault-mac (any text)
//                             (default 3C:EF:8C:12:34:56, a Dahua MA-L)
//       static-rsa            TLS 1.2 only, AES128-GCM-SHA256 (static RSA key
//                             exchange), an RSA-2048 leaf from the identity CA
//       wrong-credentials     every authenticated request: NotAuthorized
//     ONVIF, hostile (for the scanner's bad-input tests):
//       huge-response         a 10 MiB body
//       slow-drip             a valid response, one byte every 200 ms
//       xml-bomb              a billion-laughs document
//       wrong-content-type    a text/html page
//       endless               a chunked body that never ends
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/camsim/device_dir.h"
#include "tools/camsim/discovery.h"
#include "tools/camsim/grpc_device.h"
#include "tools/camsim/identity.h"
#include "tools/camsim/onvif_device.h"
#include "tools/camsim/onvif_server.h"
#include "transport/credentials.h"
#include "verifier/crypto.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using verifier::Result;
using verifier::Status;
using namespace camsim;

constexpr int kExitUsage = 2;
constexpr size_t kDefaultFirmwareBytes = 64 * 1024;
// Zhejiang Dahua Technology's MA-L 3C-EF-8C (IEEE registry, ieee-data oui.csv).
constexpr const char* kDefaultFaultMac = "3C:EF:8C:12:34:56";

// --- make-ca -----------------------------------------------------------------

int MakeCa(const std::string& dir, const std::string& name) {
  auto ca = MakeDeviceIdCa(name, UnixNow());
  if (!ca.ok()) return Fail(ca.status());
  if (Status s = WriteCaDir(dir, *ca); !s.ok()) return Fail(s);
  auto describe = [&](X509* cert, const char* file) {
    return ordered_json{{"certificate", dir + "/" + file},
                        {"subject", SubjectString(cert)},
                        {"sha256", CertificateSha256Hex(cert)},
                        {"spki_sha256", SpkiSha256Hex(cert)}};
  };
  ordered_json summary = {{"dir", dir},
                          {"name", name},
                          {"root", describe(ca->root.get(), "root.pem")},
                          {"intermediate", describe(ca->intermediate.get(), "intermediate.pem")}};
  std::fputs((summary.dump(2) + "\n").c_str(), stdout);
  return 0;
}

// --- provision ---------------------------------------------------------------

struct ProvisionOptions {
  std::string dir, manufacturer_org, manufacturer_name, serial, model_id, model_name,
      firmware_version, firmware_image, identity_ca, mac;
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
  std::string mac = DeriveMac(o.serial);
  if (!o.mac.empty()) {
    auto canonical = CanonicalMac(o.mac);
    if (!canonical.ok()) return Fail(canonical.status());
    mac = *canonical;
  }
  // Everything that can fail on the inputs before any file is written.
  PrivateKey identity_key;
  Issuer issuer;
  Cert leaf;
  if (!o.identity_ca.empty()) {
    auto read = ReadIssuer(o.identity_ca);
    if (!read.ok()) return Fail(read.status());
    issuer = std::move(read).value();
    auto key = GenerateKey(KeyType::kP256);
    if (!key.ok()) return Fail(key.status());
    identity_key = std::move(key).value();
    auto cert = IssueDeviceLeaf({o.manufacturer_name, o.model_name, o.serial}, identity_key.get(),
                                issuer, UnixNow());
    if (!cert.ok()) return Fail(cert.status());
    leaf = std::move(cert).value();
  }
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return Fail(verifier::FailedPrecondition("DEVICE_DIR", o.dir + ": " + ec.message()));

  // The key first: WriteKeyFile refuses to overwrite, so an existing device
  // is never half re-provisioned.
  verifier::SigningKey key = verifier::SigningKey::Generate();
  if (Status s = verifier::WriteKeyFile(DeviceKeyPath(o.dir), key); !s.ok()) return Fail(s);
  if (leaf) {
    if (Status s = WritePrivateKeyFile(IdentityKeyPath(o.dir), identity_key.get()); !s.ok()) {
      return Fail(s);
    }
    const std::string chain = CertificatePem(leaf.get()) + CertificatePem(issuer.cert.get());
    if (Status s = WriteFile(IdentityPemPath(o.dir), chain); !s.ok()) return Fail(s);
  }
  if (Status s = WriteFile(FirmwarePath(o.dir), firmware); !s.ok()) return Fail(s);

  const std::string public_key = verifier::HexEncode(key.public_key());
  ordered_json device = {
      {"manufacturer_org", o.manufacturer_org},
      {"manufacturer_name", o.manufacturer_name},
      {"serial", o.serial},
      {"model_id", o.model_id},
      {"model_name", o.model_name},
      {"firmware_version", o.firmware_version},
      {"firmware_sha256", verifier::HexEncode(verifier::Sha256(firmware))},
      {"device_public_key", public_key},
      {"hardware_id", "camsim-" + public_key.substr(0, 16)},
      {"mac", mac},
  };
  if (leaf) {
    device["identity_spki_sha256"] = SpkiSha256Hex(leaf.get());
    device["identity_certificate_sha256"] = CertificateSha256Hex(leaf.get());
    device["identity_ca_dir"] = fs::absolute(o.identity_ca).lexically_normal().string();
  }
  const std::string text = device.dump(2) + "\n";
  if (Status s = WriteFile(DeviceJsonPath(o.dir), text); !s.ok()) return Fail(s);
  std::fputs(text.c_str(), stdout);
  return 0;
}

// --- serve -------------------------------------------------------------------

struct ServeOptions {
  std::string dir, listen = "127.0.0.1:0", onvif, onvif_http, user, password_file, fault = "none",
                   fault_mac = kDefaultFaultMac, discovery_interface = "127.0.0.1";
  bool grpc = true, discovery = false;
  transport::TlsFiles tls;
};

// What the ONVIF side says, from device.json and the fault mode.
Result<OnvifDeviceConfig> OnvifConfig(const ServeOptions& o, const nlohmann::json& device,
                                      OnvifFault fault) {
  OnvifDeviceConfig c;
  c.info = {JsonString(device, "manufacturer_name"), JsonString(device, "model_name"),
            JsonString(device, "firmware_version"), JsonString(device, "serial"),
            JsonString(device, "hardware_id")};
  if (fault == OnvifFault::kSerialMismatch) c.info.serial_number += "-X";
  std::string mac = JsonString(device, "mac");
  if (mac.empty()) mac = DeriveMac(c.info.serial_number);  // provisioned before "mac"
  if (fault == OnvifFault::kForeignMac) {
    // A bad camera on purpose: a well-formed MAC is printed canonically,
    // anything else is reported as given (a broken or hostile firmware).
    auto canonical = CanonicalMac(o.fault_mac);
    c.mac = canonical.ok() ? *canonical : o.fault_mac;
  } else {
    PROV_ASSIGN_OR_RETURN(c.mac, CanonicalMac(mac));
  }
  c.reject_credentials = fault == OnvifFault::kWrongCredentials;
  if (!o.user.empty()) {
    c.user = o.user;
    PROV_ASSIGN_OR_RETURN(c.password, ReadFile(o.password_file));
    while (!c.password.empty() && (c.password.back() == '\n' || c.password.back() == '\r')) {
      c.password.pop_back();
    }
  }
  return c;
}

int Serve(const ServeOptions& o) {
  // Block termination signals in every thread; this one waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const OnvifFault onvif_fault = ParseOnvifFault(o.fault).value_or(OnvifFault::kNone);
  if (o.onvif.empty() && onvif_fault != OnvifFault::kNone) {
    return Fail(verifier::InvalidArgument("USAGE", "--fault " + o.fault + " needs --onvif"));
  }
  if (o.discovery && o.onvif.empty()) {
    return Fail(verifier::InvalidArgument("USAGE", "--discovery needs --onvif"));
  }
  if (!o.onvif_http.empty() && o.onvif.empty()) {
    return Fail(verifier::InvalidArgument("USAGE", "--onvif-http needs --onvif"));
  }
  // Like every plaintext listener here: loopback only.
  if (!o.onvif_http.empty() && !transport::IsLoopback(o.onvif_http)) {
    return Fail(verifier::InvalidArgument(
        "PLAINTEXT_REFUSED", "--onvif-http " + o.onvif_http + " is not a loopback address"));
  }

  // gRPC.
  std::optional<GrpcDevice> grpc_device;
  std::unique_ptr<DeviceIdentityService> service;
  std::unique_ptr<grpc::Server> grpc_server;
  if (o.grpc) {
    auto creds = transport::ServerCredentials(o.tls, o.listen);  // starts gRPC threads
    if (!creds.ok()) return Fail(creds.status());
    auto device = LoadGrpcDevice(o.dir, o.fault);
    if (!device.ok()) return Fail(device.status());
    grpc_device = std::move(device).value();
    service = std::make_unique<DeviceIdentityService>(&*grpc_device);
    int port = 0;
    auto server = StartGrpcServer(o.listen, *creds, service.get(), &port);
    if (!server.ok()) return Fail(server.status());
    grpc_server = std::move(server).value();
    const std::string host = o.listen.substr(0, o.listen.rfind(':'));
    // Scripts and tests read this line for the port.
    std::printf("camsim: serving %s on %s:%d\n", grpc_device->info.serial_number().c_str(),
                host.c_str(), port);
    std::fflush(stdout);
  }

  // ONVIF.
  std::unique_ptr<OnvifDevice> handler;
  std::unique_ptr<OnvifServer> onvif_server, plain_server;
  std::unique_ptr<DiscoveryResponder> discovery;
  if (!o.onvif.empty()) {
    auto address = SplitHostPort(o.onvif);
    if (!address.ok()) return Fail(address.status());
    auto device = ReadDeviceJson(o.dir);
    if (!device.ok()) return Fail(device.status());
    auto config = OnvifConfig(o, *device, onvif_fault);
    if (!config.ok()) return Fail(config.status());
    handler = std::make_unique<OnvifDevice>(std::move(config).value());
    auto tls = LoadTlsIdentity(o.dir, *device, onvif_fault);
    if (!tls.ok()) return Fail(tls.status());
    auto server = OnvifServer::Start(address->first, address->second, std::move(tls).value(),
                                     onvif_fault, handler.get());
    if (!server.ok()) return Fail(server.status());
    onvif_server = std::move(server).value();
    // "scheme://host:port/onvif/device_service"; a wildcard bind is
    // announced by the address of the interface probes arrive on.
    auto url_of = [&](const char* scheme, const std::string& bound_host, int port, bool announce) {
      std::string host = bound_host;
      if (announce && host == "0.0.0.0") host = o.discovery_interface;
      if (host.find(':') != std::string::npos) host = "[" + host + "]";
      return std::string(scheme) + "://" + host + ":" + std::to_string(port) + OnvifServer::kPath;
    };
    const std::string url = url_of("https", address->first, onvif_server->port(), false);
    std::string xaddrs = url_of("https", address->first, onvif_server->port(), true);
    std::string plain_url;
    if (!o.onvif_http.empty()) {
      auto plain_address = SplitHostPort(o.onvif_http);
      if (!plain_address.ok()) return Fail(plain_address.status());
      auto plain = OnvifServer::StartPlainHttp(plain_address->first, plain_address->second,
                                               onvif_fault, handler.get());
      if (!plain.ok()) return Fail(plain.status());
      plain_server = std::move(plain).value();
      plain_url = url_of("http", plain_address->first, plain_server->port(), false);
      xaddrs = url_of("http", plain_address->first, plain_server->port(), true) + " " + xaddrs;
    }
    const std::string serial = JsonString(*device, "serial");
    if (o.discovery) {
      const std::string model = JsonString(*device, "model_name");
      const std::string maker = JsonString(*device, "manufacturer_name");
      auto responder = DiscoveryResponder::Start(
          o.discovery_interface, [serial, model, maker, xaddrs](std::string_view datagram) {
            return AnswerProbe(datagram, serial, model, maker, xaddrs);
          });
      if (!responder.ok()) return Fail(responder.status());
      discovery = std::move(responder).value();
    }
    std::printf("camsim: serving %s onvif on %s\n", serial.c_str(), url.c_str());
    if (plain_server) {
      std::printf("camsim: serving %s onvif on %s\n", serial.c_str(), plain_url.c_str());
    }
    std::fflush(stdout);
  }
  if (o.fault != "none") std::fprintf(stderr, "camsim: fault mode %s\n", o.fault.c_str());

  int sig = 0;
  sigwait(&signals, &sig);
  if (discovery) discovery->Stop();
  if (plain_server) plain_server->Stop();
  if (onvif_server) onvif_server->Stop();
  if (grpc_server) {
    grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc_server->Wait();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  CLI::App app{"camsim: a simulated IP camera (DeviceIdentity over gRPC, ONVIF over HTTPS)"};
  app.require_subcommand(1);

  std::string ca_dir, ca_name;
  auto* make_ca = app.add_subcommand("make-ca", "make a device-identity CA (root + intermediate)");
  make_ca->add_option("--dir", ca_dir, "CA directory (created; nothing in it overwritten)")
      ->required();
  make_ca->add_option("--name", ca_name, "e.g. \"Example Device ID\"")->required();

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
  provision->add_option("--identity-ca", p.identity_ca,
                        "CA directory from `camsim make-ca`: also make an 802.1AR identity");
  provision->add_option("--mac", p.mac, "AA:BB:CC:DD:EE:FF (default: derived from the serial)");

  ServeOptions s;
  std::vector<std::string> faults = {"none", "cloned-key", "tampered-firmware", "replay",
                                     "unregistered"};
  for (const std::string& f : OnvifFaultNames()) faults.push_back(f);
  auto* serve = app.add_subcommand("serve", "serve DeviceIdentity over gRPC and/or ONVIF");
  serve->add_option("--dir", s.dir, "directory made by `camsim provision`")->required();
  auto* listen = serve->add_option("--listen", s.listen, "gRPC HOST:PORT (port 0 picks a free one)")
                     ->default_val(s.listen);
  serve->add_option("--onvif", s.onvif, "ONVIF over HTTPS on HOST:PORT (port 0: a free one)");
  serve->add_option("--onvif-http", s.onvif_http,
                    "also ONVIF over plain HTTP on HOST:PORT, only for clients that cannot do "
                    "HTTPS (never trusted by the scanner)");
  auto* user = serve->add_option("--user", s.user, "ONVIF user (WS-Security UsernameToken)");
  auto* password = serve->add_option("--password-file", s.password_file,
                                     "file holding the ONVIF user's password");
  user->needs(password);
  password->needs(user);
  serve->add_flag("--discovery", s.discovery, "answer WS-Discovery probes (UDP 3702)");
  serve
      ->add_option("--discovery-interface", s.discovery_interface,
                   "IPv4 address of the interface to join the multicast group on")
      ->default_val(s.discovery_interface);
  serve->add_option("--fault", s.fault, "misbehave on purpose")
      ->default_val(s.fault)
      ->check(CLI::IsMember(faults));
  serve->add_option("--fault-mac", s.fault_mac, "the MAC foreign-mac reports")
      ->default_val(s.fault_mac);
  serve->add_option("--tls-cert", s.tls.cert, "PEM certificate of the camera (gRPC TLS)");
  serve->add_option("--tls-key", s.tls.key, "PEM private key of --tls-cert");
  serve->add_flag("--plaintext", s.tls.plaintext, "gRPC without TLS (only on a loopback --listen)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*make_ca) return MakeCa(ca_dir, ca_name);
  if (*provision) return Provision(p);
  s.grpc = listen->count() > 0 || s.onvif.empty();
  return Serve(s);
}
