// camsim's ONVIF mode: HTTPS (cpp-httplib's SSLServer over OpenSSL) serving
// POST /onvif/device_service with application/soap+xml, presenting the
// camera's 802.1AR identity chain — or, in a fault mode, whatever a bad
// camera would present or send. The SOAP itself is a SoapHandler's.
// Optionally the same service over plain HTTP, only for third-party
// clients that cannot speak HTTPS (libonvif's onvif-util): nothing there
// proves who the camera is, and the scanner never uses it.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tools/camsim/identity.h"
#include "verifier/status.h"

namespace httplib {
class Server;
}

namespace camsim {

// The ONVIF fault modes (main.cc documents each).
enum class OnvifFault {
  kNone,
  kForeignCa,
  kReplacedCertificate,
  kSerialMismatch,
  kForeignMac,
  kStaticRsa,
  kWrongCredentials,
  kHugeResponse,
  kSlowDrip,
  kXmlBomb,
  kWrongContentType,
  kEndless,
};
// "none", "foreign-ca", ...; nullopt for any other name (e.g. a gRPC fault).
std::optional<OnvifFault> ParseOnvifFault(std::string_view name);
std::vector<std::string> OnvifFaultNames();  // without "none"

struct HttpReply {
  int status = 200;
  std::string content_type;
  std::string body;
};

// Answers one SOAP request body. Called concurrently from the server's
// threads: implementations must be thread-safe.
class SoapHandler {
 public:
  virtual ~SoapHandler() = default;
  virtual HttpReply Handle(std::string_view body) const = 0;
};

// The certificate chain (leaf first) and key the camera presents, and its
// protocol policy.
struct TlsIdentity {
  std::vector<Cert> chain;
  PrivateKey key;
  // TLS 1.2 only with AES128-GCM-SHA256 (static-RSA key exchange); else
  // TLS 1.2 or 1.3 with ECDHE AEAD ciphers only.
  bool static_rsa_only = false;
};
// What the camera in device directory `dir` (device.json parsed as
// `device`) presents under `fault`: D/identity.pem and D/identity.key, or
// the fault's replacement (see main.cc). FAILED_PRECONDITION NO_IDENTITY
// when the device was provisioned without --identity-ca and needs it.
verifier::Result<TlsIdentity> LoadTlsIdentity(const std::string& dir, const nlohmann::json& device,
                                              OnvifFault fault);

// A running HTTPS (or plain HTTP) server. Thread-safe: Stop() may be called
// from any thread.
class OnvifServer {
 public:
  static constexpr const char* kPath = "/onvif/device_service";

  // Binds host:port (port 0: a free one) and serves on a thread of its own
  // plus cpp-httplib's pool. `handler` must outlive the server.
  static verifier::Result<std::unique_ptr<OnvifServer>> Start(const std::string& host, int port,
                                                              TlsIdentity tls, OnvifFault fault,
                                                              const SoapHandler* handler);
  // The same service without TLS, for clients that cannot do HTTPS. `fault`
  // applies as over HTTPS, except the TLS faults (which change nothing here).
  static verifier::Result<std::unique_ptr<OnvifServer>> StartPlainHttp(const std::string& host,
                                                                       int port, OnvifFault fault,
                                                                       const SoapHandler* handler);
  ~OnvifServer();
  OnvifServer(const OnvifServer&) = delete;
  OnvifServer& operator=(const OnvifServer&) = delete;

  int port() const { return port_; }
  // Stops accepting, ends slow and endless responses, joins. Idempotent.
  void Stop();

 private:
  OnvifServer() = default;
  // Routes, limits, bind and the serving thread, for server_ once made.
  verifier::Status Serve(const std::string& host, int port);

  TlsIdentity tls_;
  OnvifFault fault_ = OnvifFault::kNone;
  const SoapHandler* handler_ = nullptr;
  std::unique_ptr<httplib::Server> server_;  // an SSLServer unless plain HTTP
  std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
  int port_ = 0;
};

// "HOST:PORT" or "[v6]:PORT" -> host, port; BAD_ADDRESS otherwise.
verifier::Result<std::pair<std::string, int>> SplitHostPort(const std::string& address);

}  // namespace camsim
