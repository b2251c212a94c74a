#include "ledger/admin_socket.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace ledger {

using verifier::Status;

namespace {

constexpr size_t kMaxLine = 8192;

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return verifier::InvalidArgument("SOCKET_PATH_TOO_LONG",
                                     path + " is longer than a Unix socket path may be (" +
                                         std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// Reads up to and without '\n' (at most kMaxLine bytes).
bool ReadLine(int fd, std::string* line) {
  line->clear();
  char c;
  while (line->size() < kMaxLine) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    line->push_back(c);
  }
  return false;
}

bool WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<AdminSocket>> AdminSocket::Start(const std::string& path,
                                                        const KvStore* kv) {
  PROV_ASSIGN_OR_RETURN(sockaddr_un addr, Address(path));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return verifier::Internal("ADMIN_SOCKET", std::string("socket: ") + strerror(errno));
  ::unlink(path.c_str());  // stale, from a provd that was killed
  // Only the owner may connect: created 0600 (umask), then made so.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::umask(old);
  if (rc != 0 || ::chmod(path.c_str(), 0600) != 0 || ::listen(fd, 4) != 0) {
    if (rc == 0) err = errno;
    ::close(fd);
    return verifier::Internal("ADMIN_SOCKET", "cannot listen on " + path + ": " + strerror(err));
  }
  int stop = ::eventfd(0, EFD_CLOEXEC);
  if (stop < 0) {
    ::close(fd);
    return verifier::Internal("ADMIN_SOCKET", std::string("eventfd: ") + strerror(errno));
  }
  return std::unique_ptr<AdminSocket>(new AdminSocket(path, fd, stop, kv));
}

AdminSocket::AdminSocket(std::string path, int fd, int stop_fd, const KvStore* kv)
    : path_(std::move(path)), fd_(fd), stop_fd_(stop_fd), kv_(kv) {
  thread_ = std::thread([this] { Run(); });
}

AdminSocket::~AdminSocket() {
  uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof(one));
  thread_.join();
  ::close(fd_);
  ::close(stop_fd_);
  ::unlink(path_.c_str());
}

void AdminSocket::Run() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    timeval tv{10, 0};  // a client that sends nothing does not hold the socket
    ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string line;
    Status s;
    if (!ReadLine(conn, &line)) {
      s = verifier::InvalidArgument("BAD_REQUEST", "no request line");
    } else if (line.rfind("checkpoint /", 0) == 0) {
      s = kv_->CreateCheckpoint(line.substr(std::strlen("checkpoint ")));
    } else {
      s = verifier::InvalidArgument("BAD_REQUEST", "unknown request");
    }
    WriteAll(conn, s.ok() ? std::string("OK\n")
                          : "ERR " + std::to_string(static_cast<int>(s.code())) + " " + s.reason() +
                                " " + OneLine(s.message()) + "\n");
    ::close(conn);
  }
}

Status RequestCheckpoint(const std::string& socket_path, const std::string& dir) {
  PROV_ASSIGN_OR_RETURN(sockaddr_un addr, Address(socket_path));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return verifier::Internal("ADMIN_SOCKET", std::string("socket: ") + strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    return verifier::Status(
        verifier::Code::kUnavailable, "PROVD_UNREACHABLE",
        "the running provd does not answer on " + socket_path + ": " + strerror(err));
  }
  std::string abs = std::filesystem::absolute(dir).lexically_normal().string();
  std::string line;
  bool ok = WriteAll(fd, "checkpoint " + abs + "\n") && ReadLine(fd, &line);
  ::close(fd);
  if (!ok) {
    return verifier::Status(verifier::Code::kUnavailable, "PROVD_UNREACHABLE",
                            "no answer from " + socket_path);
  }
  if (line == "OK") return Status::Ok();
  // "ERR <code> <REASON> <message>"
  int code = static_cast<int>(verifier::Code::kInternal);
  std::string reason = "ADMIN_ERROR", message = line;
  if (line.rfind("ERR ", 0) == 0) {
    size_t a = line.find(' ', 4), b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b != std::string::npos) {
      code = std::atoi(line.substr(4, a - 4).c_str());
      reason = line.substr(a + 1, b - a - 1);
      message = line.substr(b + 1);
    }
  }
  return verifier::Status(static_cast<verifier::Code>(code), reason, "provd: " + message);
}

}  // namespace ledger
