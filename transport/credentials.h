// Transport security for every gRPC endpoint (provd, camsim) and client
// (prov, provbench, tests): TLS from PEM files, optional client
// certificates (mTLS), and plaintext only when explicitly asked for on a
// loopback address.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "verifier/status.h"

namespace transport {

struct TlsFiles {
  std::string cert;  // PEM certificate chain: the server's, or the client's for mTLS
  std::string key;   // PEM private key of `cert`
  std::string ca;    // PEM roots: a client verifies the server with them; a
                     // server verifies client certificates with them
  bool plaintext = false;  // no TLS (allowed only on loopback)

  // No files, plaintext asked for: what tests and tools on loopback use.
  static TlsFiles Plaintext() {
    TlsFiles t;
    t.plaintext = true;
    return t;
  }
};

// True for 127.0.0.0/8, [::1] and localhost (HOST:PORT or HOST).
bool IsLoopback(const std::string& address);

// provd / camsim: TLS with files.cert + files.key; with files.ca, clients
// may present a certificate, which must verify against it (see
// PeerHasClientCert). Without a certificate: INVALID_ARGUMENT
// PLAINTEXT_REFUSED unless files.plaintext and `listen` is loopback.
verifier::Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsFiles& files, const std::string& listen);

// Clients: TLS verifying the server against files.ca (or the system roots
// when empty), presenting files.cert/key when given. Plaintext only with
// files.plaintext to a loopback target.
verifier::Result<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(
    const TlsFiles& files, const std::string& target);

// True if the peer presented a client certificate that verified.
bool PeerHasClientCert(const grpc::ServerContext& ctx);

}  // namespace transport
