// A plain-HTTP server for a tiles directory (C2SP tlog-tiles, docs/tiles.md),
// for a provd without nginx in front. Serves GET and HEAD of `checkpoint` and
// of canonical tile and bundle paths (verifier::ParseTilePath) only; anything
// else (listings, dot files, .staging/, other methods) is 404.
//   checkpoint:  text/plain; charset=utf-8, Cache-Control: public, max-age=2
//   tiles:       application/octet-stream,
//                Cache-Control: public, max-age=31536000, immutable
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "verifier/status.h"

namespace httplib {
class Server;
}

namespace ledger {

inline constexpr char kCheckpointCacheControl[] = "public, max-age=2";
inline constexpr char kTileCacheControl[] = "public, max-age=31536000, immutable";

class TileHttpServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks one). Plain HTTP, so only
  // on loopback unless `allow_non_loopback` (INVALID_ARGUMENT
  // HTTP_NOT_LOOPBACK otherwise).
  static verifier::Result<std::unique_ptr<TileHttpServer>> Start(std::string dir,
                                                                 const std::string& listen,
                                                                 bool allow_non_loopback);
  ~TileHttpServer();  // stops serving
  TileHttpServer(const TileHttpServer&) = delete;
  TileHttpServer& operator=(const TileHttpServer&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  TileHttpServer() = default;

  std::string dir_, host_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace ledger
