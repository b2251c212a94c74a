#include "transport/credentials.h"

#include <arpa/inet.h>

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>

namespace transport {
namespace {

verifier::Result<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().find("-----BEGIN") == std::string::npos) {
    return verifier::FailedPrecondition("TLS_FILE",
                                        std::string("cannot read the ") + what + " PEM file " + path);
  }
  return text.str();
}

std::string Host(const std::string& address) {
  std::string host = address;
  if (auto scheme = host.find("://"); scheme != std::string::npos) host = host.substr(scheme + 3);
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) {
    host = host.substr(0, colon);
  } else if (host.rfind("]:") != std::string::npos) {
    host = host.substr(0, host.rfind("]:") + 1);
  }
  return host;
}

verifier::Status RefusePlaintext(const std::string& address, bool asked) {
  if (!asked) {
    return verifier::InvalidArgument(
        "PLAINTEXT_REFUSED", "no TLS configured for " + address +
                                 ": give TLS files (--tls-cert/--tls-key on servers, --tls-ca on "
                                 "clients), or --plaintext on a loopback address");
  }
  return verifier::InvalidArgument("PLAINTEXT_REFUSED",
                                   "--plaintext is allowed only on loopback addresses, not " +
                                       address);
}

}  // namespace

bool IsLoopback(const std::string& address) {
  const std::string h = Host(address);
  if (h == "localhost" || h == "[::1]" || h == "::1") return true;
  // An IPv4 literal in 127.0.0.0/8 (not a name such as 127.0.0.1.example.com).
  in_addr a{};
  return inet_pton(AF_INET, h.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

verifier::Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsFiles& files, const std::string& listen) {
  if (files.cert.empty() && files.key.empty()) {
    if (!files.plaintext || !IsLoopback(listen)) return RefusePlaintext(listen, files.plaintext);
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions opts(
      files.ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                       : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  PROV_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(files.cert, "server certificate"));
  PROV_ASSIGN_OR_RETURN(pair.private_key, ReadPem(files.key, "server key"));
  opts.pem_key_cert_pairs.push_back(std::move(pair));
  if (!files.ca.empty()) {
    PROV_ASSIGN_OR_RETURN(opts.pem_root_certs, ReadPem(files.ca, "client CA"));
  }
  return grpc::SslServerCredentials(opts);
}

verifier::Result<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(
    const TlsFiles& files, const std::string& target) {
  if (files.ca.empty() && files.cert.empty()) {
    if (!files.plaintext || !IsLoopback(target)) return RefusePlaintext(target, files.plaintext);
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions opts;
  if (!files.ca.empty()) {
    PROV_ASSIGN_OR_RETURN(opts.pem_root_certs, ReadPem(files.ca, "CA"));
  }
  if (!files.cert.empty() || !files.key.empty()) {
    PROV_ASSIGN_OR_RETURN(opts.pem_cert_chain, ReadPem(files.cert, "client certificate"));
    PROV_ASSIGN_OR_RETURN(opts.pem_private_key, ReadPem(files.key, "client key"));
  }
  return grpc::SslCredentials(opts);
}

bool PeerHasClientCert(const grpc::ServerContext& ctx) {
  auto auth = ctx.auth_context();
  return auth && auth->IsPeerAuthenticated() &&
         !auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty();
}

}  // namespace transport
