#include "ledger/tile_http.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/http_listen.h"
#include "transport/credentials.h"
#include "transport/host_port.h"
#include "verifier/index.h"
#include "verifier/log_keys.h"
#include "verifier/tlog_tiles.h"

namespace ledger {

namespace {

// The whole regular file at `path`; false if it is missing or not a file.
bool ReadRegularFile(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    out->resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (ok && done < out->size()) {
      ssize_t n = ::read(fd, out->data() + done, out->size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  return ok;
}

void Serve(const std::string& dir, const httplib::Request& req, httplib::Response& res) {
  std::string_view path = req.path;
  // The checkpoint and the rotations change; tiles never do.
  const bool checkpoint = path == "/checkpoint" ||
                          path == std::string("/") + verifier::kLogKeyRotationsPath;
  if (!checkpoint && (!path.starts_with("/") || (!verifier::ParseTilePath(path.substr(1)).ok() &&
                                                  !verifier::IsIndexTilePath(path.substr(1))))) {
    res.status = 404;
    return;
  }
  std::string body;
  if (!ReadRegularFile(dir + std::string(path), &body)) {
    res.status = 404;
    return;
  }
  res.status = 200;
  res.set_header("Cache-Control", checkpoint ? kCheckpointCacheControl : kTileCacheControl);
  res.set_content(std::move(body),
                  checkpoint ? "text/plain; charset=utf-8" : "application/octet-stream");
}

}  // namespace

verifier::Result<std::unique_ptr<TileHttpServer>> TileHttpServer::Start(std::string dir,
                                                                        const std::string& listen,
                                                                        bool allow_non_loopback) {
  auto host_port = transport::SplitHostPort(listen);
  if (!host_port) {
    return verifier::InvalidArgument("BAD_FLAGS", "--http-listen must be HOST:PORT: " + listen);
  }
  auto [host, port] = *host_port;
  if (!allow_non_loopback && !transport::IsLoopback(listen)) {
    return verifier::InvalidArgument(
        "HTTP_NOT_LOOPBACK", "plain HTTP on " + listen +
                                 " is refused: put nginx or a CDN in front (docs/tiles.md), or "
                                 "pass --http-public to serve it anyway");
  }
  std::unique_ptr<TileHttpServer> s(new TileHttpServer);
  s->dir_ = std::move(dir);
  s->host_ = host;
  s->server_ = std::make_unique<httplib::Server>();
  s->server_->set_payload_max_length(4096);  // nothing takes a body
  s->server_->set_keep_alive_timeout(10);
  std::string served = s->dir_;
  s->server_->Get(".*", [served](const httplib::Request& req, httplib::Response& res) {
    Serve(served, req, res);
  });
  auto bound = ListenGetOnly(*s->server_, host, port, listen, "HTTP_LISTEN", &s->thread_);
  if (!bound.ok()) return bound.status();
  s->port_ = *bound;
  return s;
}

TileHttpServer::~TileHttpServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ledger
