#include "witness/server.h"

#include <arpa/inet.h>
#include <httplib.h>

namespace witness {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Bind(Witness* witness, const std::string& host,
                                                     int port, bool allow_public) {
  if (!allow_public && !IsLoopbackHost(host)) {
    return verifier::InvalidArgument(
        "NOT_LOOPBACK", host +
                            " is not a loopback address; the witness speaks plaintext HTTP "
                            "(put it behind a TLS proxy and pass --public)");
  }
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->server_ = std::make_unique<httplib::Server>();
  auto& svr = *s->server_;
  svr.set_payload_max_length(kMaxBodyBytes);
  svr.set_read_timeout(10, 0);
  svr.set_write_timeout(10, 0);
  svr.set_keep_alive_timeout(30);
  svr.Post("/add-checkpoint", [witness](const httplib::Request& req, httplib::Response& res) {
    Response r = witness->AddCheckpoint(req.body);
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  });
  if (port == 0) {
    s->port_ = svr.bind_to_any_port(host.c_str());
  } else {
    s->port_ = svr.bind_to_port(host.c_str(), port) ? port : -1;
  }
  if (s->port_ <= 0) {
    return verifier::Status(verifier::Code::kUnavailable, "LISTEN_FAILED",
                            "cannot listen on " + host + ":" + std::to_string(port));
  }
  return s;
}

HttpServer::~HttpServer() = default;

bool HttpServer::Serve() { return server_->listen_after_bind(); }

void HttpServer::Stop() { server_->stop(); }

}  // namespace witness
