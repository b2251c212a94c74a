#include "tools/tls_options.h"

namespace tools {

void ToolTls::AddOptions(CLI::App& app) {
  app.add_option("--tls-cert", server_cert, "PEM certificate for the provd this starts (TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", server_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-ca", ca, "PEM roots its clients verify provd with")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-cert", client_cert, "PEM client certificate (mTLS, signed by --tls-ca)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-key", client_key, "PEM private key of --tls-client-cert")
      ->check(CLI::ExistingFile);
  app.get_option("--tls-cert")->needs("--tls-key")->needs("--tls-ca");
  app.get_option("--tls-client-cert")->needs("--tls-client-key")->needs("--tls-cert");
}

std::vector<std::string> ToolTls::ProvdArgs() const {
  if (!enabled()) return {};
  std::vector<std::string> args = {"--tls-cert", server_cert, "--tls-key", server_key};
  if (!client_cert.empty()) {
    args.insert(args.end(), {"--tls-client-ca", ca, "--writes-need-client-cert"});
  }
  return args;
}

std::vector<std::string> ToolTls::ProvArgs() const {
  if (!enabled()) return {"--plaintext"};
  std::vector<std::string> args = {"--tls-ca", ca};
  if (!client_cert.empty()) args.insert(args.end(), {"--tls-cert", client_cert, "--tls-key", client_key});
  return args;
}

transport::TlsFiles ToolTls::Client() const {
  if (!enabled()) return transport::TlsFiles::Plaintext();
  transport::TlsFiles t;
  t.ca = ca;
  t.cert = client_cert;
  t.key = client_key;
  return t;
}

}  // namespace tools
