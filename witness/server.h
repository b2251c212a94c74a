// The HTTP edge of a witness (cpp-httplib, plaintext): POST /add-checkpoint
// and nothing else. Bodies over kMaxBodyBytes are refused with 413 before
// they reach the witness.
#pragma once

#include <memory>
#include <string>

#include "verifier/status.h"
#include "witness/witness.h"

namespace httplib {
class Server;
}

namespace witness {

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

class HttpServer {
 public:
  // Binds host:port (port 0: the kernel picks). Non-loopback hosts are
  // refused (NOT_LOOPBACK) unless allow_public: the server speaks plaintext.
  static Result<std::unique_ptr<HttpServer>> Bind(Witness* witness, const std::string& host,
                                                  int port, bool allow_public = false);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // Serves until Stop(); returns false if the listener failed.
  bool Serve();
  // Thread-safe; makes Serve() return.
  void Stop();

 private:
  HttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

}  // namespace witness
