// TLS for the tools that start their own provd and talk to it (provbench,
// loadtest, crashloop): the same flags everywhere.
//   --tls-cert/--tls-key               provd's certificate (passed to `provd serve`)
//   --tls-ca                           what the tool's clients verify provd with
//   --tls-client-cert/--tls-client-key a client certificate (mTLS); provd is then
//                                      started with --tls-client-ca CA and
//                                      --writes-need-client-cert
// Without --tls-cert everything is plaintext on loopback, as before.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "transport/credentials.h"

namespace tools {

struct ToolTls {
  std::string server_cert, server_key, ca, client_cert, client_key;

  void AddOptions(CLI::App& app);
  bool enabled() const { return !server_cert.empty(); }
  // Extra arguments for `provd serve` (see ProvdProcess::Start).
  std::vector<std::string> ProvdArgs() const;
  // Global arguments for `prov` talking to that provd.
  std::vector<std::string> ProvArgs() const;
  // What LedgerClient::Connect takes.
  transport::TlsFiles Client() const;
};

}  // namespace tools
