#include "ledger/http_listen.h"

#include <httplib.h>

namespace ledger {

verifier::Result<int> ListenGetOnly(httplib::Server& server, const std::string& host, int port,
                                    const std::string& listen, const std::string& reason,
                                    std::thread* thread) {
  auto not_found = [](const httplib::Request&, httplib::Response& res) { res.status = 404; };
  server.Post(".*", not_found);
  server.Put(".*", not_found);
  server.Patch(".*", not_found);
  server.Delete(".*", not_found);
  server.Options(".*", not_found);
  int bound = 0;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) return verifier::FailedPrecondition(reason, "cannot listen on " + listen);
  httplib::Server* s = &server;
  *thread = std::thread([s] { s->listen_after_bind(); });
  return bound;
}

}  // namespace ledger
