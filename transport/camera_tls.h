// The connection a scanner opens to an IP camera's HTTPS port (issue 12).
// A camera's factory identity certificate is its HTTPS server certificate,
// and only a handshake that signs our fresh ClientHello random proves the
// camera holds its key: TLS 1.3 (CertificateVerify over the transcript) or
// TLS 1.2 with ECDHE (ServerKeyExchange signs both randoms). Static-RSA key
// exchange and resumed sessions sign nothing fresh and are refused. The
// chain is NOT verified here (no anchors, no hostname): the caller checks
// it against the ledger's anchors (verifier/x509.h). Policy and error
// reasons: docs/camera-tls.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "verifier/status.h"

struct ssl_st;
struct ssl_ctx_st;
struct bio_st;

namespace transport {

struct CameraTlsOptions {
  std::chrono::milliseconds timeout{5000};  // connect + handshake, and each request
  size_t max_response_bytes = 256 * 1024;   // headers + body
  size_t max_chain_certificates = 8;
  bool tls = true;  // false: plain HTTP (only for tests / http:// ONVIF)
};

// What the handshake proved. The chain is NOT verified here (no anchors, no
// hostname): the caller checks it against ledger anchors.
struct TlsHandshake {
  std::string version;                      // "TLSv1.3" or "TLSv1.2"
  std::string cipher;                       // OpenSSL name, e.g. "TLS_AES_256_GCM_SHA384"
  std::string group;                        // key exchange group, e.g. "x25519", "prime256v1"
  std::string signature_algorithm;          // the server's handshake signature, e.g.
                                            // "ecdsa_secp256r1_sha256" / "rsa_pss_rsae_sha256"
  std::string client_random;                // the 32 fresh bytes of our ClientHello
  std::vector<std::string> peer_chain_der;  // as the server sent it, leaf first
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One TCP (+TLS) connection. Not thread-safe; movable only via unique_ptr.
// Every operation has its own deadline (options.timeout) and never blocks
// past it. Reasons: UNREACHABLE, TIMEOUT, WEAK_HANDSHAKE, TLS_FAILED,
// BAD_CHAIN, RESPONSE_TOO_LARGE, BAD_HTTP, CONNECTION_CLOSED (see
// docs/camera-tls.md).
class CameraConnection {
 public:
  // Connects to host (a name or an IP literal, IPv6 with or without
  // brackets) and, with options.tls, completes a fresh TLS handshake.
  static verifier::Result<std::unique_ptr<CameraConnection>> Open(const std::string& host,
                                                                  uint16_t port,
                                                                  const CameraTlsOptions& options);
  ~CameraConnection();
  CameraConnection(const CameraConnection&) = delete;
  CameraConnection& operator=(const CameraConnection&) = delete;

  const TlsHandshake& handshake() const;  // empty fields when !options.tls

  // HTTP/1.1 POST on this same connection (keep-alive; never reconnects: if
  // the server closed, it is an error). 1xx responses are skipped. After a
  // close-delimited response, "Connection: close" or any error the
  // connection is dead and further calls fail with CONNECTION_CLOSED.
  verifier::Result<HttpResponse> Post(const std::string& path, std::string_view content_type,
                                      std::string_view body);

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  CameraConnection(int fd, std::string host, uint16_t port, const CameraTlsOptions& options);

  verifier::Status Handshake(Deadline deadline);
  verifier::Status Write(std::string_view data, Deadline deadline);
  // Up to n bytes; 0 at the end of the stream (clean_eof_ tells how it ended).
  verifier::Result<size_t> Read(char* buf, size_t n, Deadline deadline);
  verifier::Status CheckStillOpen();

  int fd_;
  std::string host_;
  uint16_t port_;
  CameraTlsOptions options_;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  bio_st* rbio_ = nullptr;  // owned by ssl_: bytes from the socket
  bio_st* wbio_ = nullptr;  // owned by ssl_: bytes for the socket
  bool eof_ = false;        // the peer closed its side of the TCP connection
  bool clean_eof_ = false;  // ... after a TLS close_notify (always true without TLS)
  bool dead_ = false;
  std::string dead_reason_;
  int requests_ = 0;
  TlsHandshake handshake_;
};

// "host:port", "[v6]:port", "host" (default_port) -> host, port;
// InvalidArgument("BAD_ADDRESS") otherwise.
verifier::Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address,
                                                                 uint16_t default_port);

}  // namespace transport
