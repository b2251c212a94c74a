// The running provd's control socket: a Unix stream socket in the data
// directory (DATA_DIR/admin.sock, mode 0600, so only the data directory's
// owner reaches it) through which `provd backup` asks the process that holds
// the database open for a consistent RocksDB checkpoint. One request per
// connection, one line each way:
//   -> "checkpoint <absolute directory>\n"
//   <- "OK\n"  or  "ERR <code> <REASON> <message>\n"  (code: verifier::Code)
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "ledger/kv_store.h"

namespace ledger {

class AdminSocket {
 public:
  // Listens on `path` (a stale socket left by a killed provd is replaced:
  // the caller holds the database, so no other provd uses it) and answers
  // requests on its own thread. `kv` must outlive the AdminSocket.
  static Result<std::unique_ptr<AdminSocket>> Start(const std::string& path, const KvStore* kv);
  // Stops listening, waits for the request in progress, removes the socket.
  ~AdminSocket();
  AdminSocket(const AdminSocket&) = delete;
  AdminSocket& operator=(const AdminSocket&) = delete;

 private:
  AdminSocket(std::string path, int fd, int stop_fd, const KvStore* kv);
  void Run();

  const std::string path_;
  const int fd_, stop_fd_;  // listening socket; eventfd written to stop
  const KvStore* const kv_;
  std::thread thread_;
};

// Asks the provd listening on `socket_path` to checkpoint its database into
// `dir` (made absolute here). UNAVAILABLE (PROVD_UNREACHABLE) when nobody answers.
verifier::Status RequestCheckpoint(const std::string& socket_path, const std::string& dir);

}  // namespace ledger
