// cpp-httplib is Debian's shared build with OpenSSL support; its class
// layouts depend on CPPHTTPLIB_OPENSSL_SUPPORT, which the cpp-httplib
// pkg-config flags define (CMake), as here for clarity.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include "tools/camsim/onvif_server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <chrono>

#include "tools/camsim/device_dir.h"

namespace camsim {

using verifier::Result;
using verifier::Status;

namespace {

constexpr std::string_view kSoapType = "application/soap+xml; charset=utf-8";
constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr size_t kHugeResponseBytes = 10 * 1024 * 1024;
constexpr auto kDripInterval = std::chrono::milliseconds(200);

struct FaultName {
  OnvifFault fault;
  const char* name;
};
constexpr FaultName kFaultNames[] = {
    {OnvifFault::kNone, "none"},
    {OnvifFault::kForeignCa, "foreign-ca"},
    {OnvifFault::kReplacedCertificate, "replaced-certificate"},
    {OnvifFault::kSerialMismatch, "serial-mismatch"},
    {OnvifFault::kForeignMac, "foreign-mac"},
    {OnvifFault::kStaticRsa, "static-rsa"},
    {OnvifFault::kWrongCredentials, "wrong-credentials"},
    {OnvifFault::kHugeResponse, "huge-response"},
    {OnvifFault::kSlowDrip, "slow-drip"},
    {OnvifFault::kXmlBomb, "xml-bomb"},
    {OnvifFault::kWrongContentType, "wrong-content-type"},
    {OnvifFault::kEndless, "endless"},
};

constexpr std::string_view kEnvelopeOpen =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" "
    "xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\"><env:Body>"
    "<tds:GetDeviceInformationResponse><tds:Manufacturer>";
constexpr std::string_view kEnvelopeClose =
    "</tds:Manufacturer><tds:Model>camsim</tds:Model><tds:FirmwareVersion>1</tds:FirmwareVersion>"
    "<tds:SerialNumber>X</tds:SerialNumber><tds:HardwareId>X</tds:HardwareId>"
    "</tds:GetDeviceInformationResponse></env:Body></env:Envelope>\n";

// A well-formed GetDeviceInformationResponse of exactly 10 MiB.
std::string HugeResponse() {
  std::string body(kEnvelopeOpen);
  body.append(kHugeResponseBytes - kEnvelopeOpen.size() - kEnvelopeClose.size(), 'A');
  body.append(kEnvelopeClose);
  return body;
}

// "Billion laughs": ten levels of ten-fold entity expansion (10^9 "lol"s,
// about 3 GB if a parser expands them).
std::string XmlBomb() {
  std::string doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE lolz [\n";
  doc += "  <!ENTITY lol0 \"lol\">\n";
  for (int level = 1; level <= 9; ++level) {
    doc += "  <!ENTITY lol" + std::to_string(level) + " \"";
    for (int i = 0; i < 10; ++i) doc += "&lol" + std::to_string(level - 1) + ";";
    doc += "\">\n";
  }
  doc += "]>\n";
  doc += kEnvelopeOpen;
  doc += "&lol9;";
  doc += kEnvelopeClose;
  return doc;
}

constexpr std::string_view kHtmlPage =
    "<!DOCTYPE html>\n<html><head><title>Web Service</title></head>\n"
    "<body><h1>Login</h1><form method=\"post\" action=\"/login\">"
    "<input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n";

Result<Cert> ReplacedCertificate(EVP_PKEY* key, int64_t now) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, 8, "camera");
  CertificateSpec spec;
  spec.subject = {{"CN", host}};
  spec.key_usage = "critical,digitalSignature,keyEncipherment";
  spec.extended_key_usage = "serverAuth";
  spec.not_before = now - 24 * 3600;
  spec.not_after = now + 3650LL * 24 * 3600;
  return IssueCertificate(spec, key, nullptr, key);
}

bool SetUpContext(SSL_CTX& ctx, const TlsIdentity& tls) {
  SSL_CTX_set_options(
      &ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(&ctx, SSL_MODE_AUTO_RETRY);
  if (tls.static_rsa_only) {
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(&ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(&ctx, "AES128-GCM-SHA256") != 1) {
      return false;
    }
  } else if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1 ||
             SSL_CTX_set_cipher_list(&ctx,
                                     "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305") !=
                 1) {
    return false;
  }
  if (SSL_CTX_use_certificate(&ctx, tls.chain.front().get()) != 1) return false;
  for (size_t i = 1; i < tls.chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(&ctx, tls.chain[i].get()) != 1) return false;
  }
  return SSL_CTX_use_PrivateKey(&ctx, tls.key.get()) == 1 && SSL_CTX_check_private_key(&ctx) == 1;
}

}  // namespace

std::optional<OnvifFault> ParseOnvifFault(std::string_view name) {
  for (const auto& f : kFaultNames) {
    if (name == f.name) return f.fault;
  }
  return std::nullopt;
}

std::vector<std::string> OnvifFaultNames() {
  std::vector<std::string> names;
  for (const auto& f : kFaultNames) {
    if (f.fault != OnvifFault::kNone) names.push_back(f.name);
  }
  return names;
}

Result<TlsIdentity> LoadTlsIdentity(const std::string& dir, const nlohmann::json& device,
                                    OnvifFault fault) {
  const int64_t now = UnixNow();
  const DeviceSubject subject{JsonString(device, "manufacturer_name"),
                              JsonString(device, "model_name"), JsonString(device, "serial")};
  TlsIdentity tls;
  switch (fault) {
    case OnvifFault::kForeignCa: {
      PROV_ASSIGN_OR_RETURN(DeviceIdCa ca, MakeDeviceIdCa("Foreign Device ID", now));
      PROV_ASSIGN_OR_RETURN(tls.key, GenerateKey(KeyType::kP256));
      Issuer issuer{std::move(ca.intermediate), std::move(ca.intermediate_key)};
      PROV_ASSIGN_OR_RETURN(Cert leaf, IssueDeviceLeaf(subject, tls.key.get(), issuer, now));
      tls.chain.push_back(std::move(leaf));
      tls.chain.push_back(std::move(issuer.cert));
      return tls;
    }
    case OnvifFault::kReplacedCertificate: {
      PROV_ASSIGN_OR_RETURN(tls.key, GenerateKey(KeyType::kRsa2048));
      PROV_ASSIGN_OR_RETURN(Cert cert, ReplacedCertificate(tls.key.get(), now));
      tls.chain.push_back(std::move(cert));
      return tls;
    }
    case OnvifFault::kStaticRsa: {
      const std::string ca_dir = JsonString(device, "identity_ca_dir");
      if (ca_dir.empty()) {
        return verifier::FailedPrecondition(
            "NO_IDENTITY", "static-rsa needs a device provisioned with --identity-ca");
      }
      PROV_ASSIGN_OR_RETURN(Issuer issuer, ReadIssuer(ca_dir));
      PROV_ASSIGN_OR_RETURN(tls.key, GenerateKey(KeyType::kRsa2048));
      PROV_ASSIGN_OR_RETURN(Cert leaf, IssueDeviceLeaf(subject, tls.key.get(), issuer, now));
      tls.chain.push_back(std::move(leaf));
      tls.chain.push_back(std::move(issuer.cert));
      tls.static_rsa_only = true;
      return tls;
    }
    default:
      break;
  }
  auto chain = ReadCertificatesPemFile(IdentityPemPath(dir));
  if (!chain.ok()) {
    return verifier::FailedPrecondition(
        "NO_IDENTITY", chain.status().message() + " (provision the device with --identity-ca)");
  }
  tls.chain = std::move(chain).value();
  PROV_ASSIGN_OR_RETURN(tls.key, ReadPrivateKeyFile(IdentityKeyPath(dir)));
  return tls;
}

Result<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return verifier::InvalidArgument("BAD_ADDRESS", "not HOST:PORT: " + address);
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (char c : address.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) {
      return verifier::InvalidArgument("BAD_ADDRESS", "bad port in " + address);
    }
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return verifier::InvalidArgument("BAD_ADDRESS", "bad port in " + address);
  return std::make_pair(host, port);
}

Result<std::unique_ptr<OnvifServer>> OnvifServer::Start(const std::string& host, int port,
                                                        TlsIdentity tls, OnvifFault fault,
                                                        const SoapHandler* handler) {
  if (tls.chain.empty() || !tls.key) {
    return verifier::InvalidArgument("NO_CERTIFICATE", "no TLS certificate or key");
  }
  std::unique_ptr<OnvifServer> s(new OnvifServer());
  s->tls_ = std::move(tls);
  s->fault_ = fault;
  s->handler_ = handler;
  const TlsIdentity* identity = &s->tls_;
  s->server_ = std::make_unique<httplib::SSLServer>(
      [identity](SSL_CTX& ctx) { return SetUpContext(ctx, *identity); });
  if (!s->server_->is_valid()) {
    return verifier::Internal("TLS_SETUP", "cannot set up TLS with the camera's certificate");
  }
  PROV_RETURN_IF_ERROR(s->Serve(host, port));
  return s;
}

Result<std::unique_ptr<OnvifServer>> OnvifServer::StartPlainHttp(const std::string& host, int port,
                                                                 OnvifFault fault,
                                                                 const SoapHandler* handler) {
  std::unique_ptr<OnvifServer> s(new OnvifServer());
  s->fault_ = fault;
  s->handler_ = handler;
  s->server_ = std::make_unique<httplib::Server>();
  PROV_RETURN_IF_ERROR(s->Serve(host, port));
  return s;
}

Status OnvifServer::Serve(const std::string& host, int port) {
  httplib::Server& server = *server_;
  server.set_payload_max_length(kMaxRequestBytes);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_max_count(10);
  // Headers and body go out in separate writes: without this, Nagle and
  // delayed ACKs hold each answer ~40 ms, as on many real cameras.
  server.set_tcp_nodelay(true);

  OnvifServer* self = this;
  std::shared_ptr<std::atomic<bool>> stopping = stopping_;
  server.Post(kPath, [self, stopping](const httplib::Request& req, httplib::Response& res) {
    switch (self->fault_) {
      case OnvifFault::kHugeResponse: {
        static const std::string* huge = new std::string(HugeResponse());
        res.set_content(*huge, std::string(kSoapType));
        return;
      }
      case OnvifFault::kXmlBomb:
        res.set_content(XmlBomb(), std::string(kSoapType));
        return;
      case OnvifFault::kWrongContentType:
        res.set_content(std::string(kHtmlPage), "text/html; charset=utf-8");
        return;
      case OnvifFault::kEndless:
        res.set_chunked_content_provider(
            std::string(kSoapType), [stopping](size_t offset, httplib::DataSink& sink) {
              if (offset == 0) sink.write(kEnvelopeOpen.data(), kEnvelopeOpen.size());
              static const std::string chunk(16 * 1024, 'A');
              std::this_thread::sleep_for(std::chrono::milliseconds(1));
              return !stopping->load() && sink.write(chunk.data(), chunk.size());
            });
        return;
      default:
        break;
    }
    HttpReply reply = self->handler_->Handle(req.body);
    res.status = reply.status;
    if (self->fault_ != OnvifFault::kSlowDrip) {
      res.set_content(std::move(reply.body), reply.content_type);
      return;
    }
    auto body = std::make_shared<std::string>(std::move(reply.body));
    res.set_content_provider(body->size(), reply.content_type,
                             [body, stopping](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset > 0) std::this_thread::sleep_for(kDripInterval);
                               return !stopping->load() && sink.write(body->data() + offset, 1);
                             });
  });
  // Anything else on the device-service path.
  server.Get(kPath, [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
  });

  port_ = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return verifier::Status(verifier::Code::kUnavailable, "LISTEN_FAILED",
                            "cannot listen on " + host + ":" + std::to_string(port));
  }
  thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  return Status();
}

void OnvifServer::Stop() {
  stopping_->store(true);
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

OnvifServer::~OnvifServer() { Stop(); }

}  // namespace camsim
