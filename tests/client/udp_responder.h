// A UDP responder for discovery tests: a thread that answers every datagram
// it receives with the datagrams `answer` returns (unicast to the sender).
// Either on 127.0.0.1 and a free port, or, like a camera, on
// 239.255.255.250:3702 joined on loopback (SO_REUSEPORT: it shares the port
// with any camsim on the machine).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace testudp {

class UdpResponder {
 public:
  using Answer = std::function<std::vector<std::string>(std::string_view datagram)>;

  // multicast = false: 127.0.0.1, a free port (port()); true: 0.0.0.0:3702
  // in the WS-Discovery group on loopback. ok() says whether it started.
  UdpResponder(bool multicast, Answer answer) : answer_(std::move(answer)) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || pipe2(wake_, O_CLOEXEC) != 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (multicast) {
      int one = 1;
      setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      addr.sin_port = htons(3702);
      addr.sin_addr.s_addr = htonl(INADDR_ANY);
    } else {
      inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    if (multicast) {
      ip_mreq m{};
      inet_pton(AF_INET, "239.255.255.250", &m.imr_multiaddr);
      inet_pton(AF_INET, "127.0.0.1", &m.imr_interface);
      if (setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) return;
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~UdpResponder() {
    if (thread_.joinable()) {
      char b = 0;
      (void)!write(wake_[1], &b, 1);
      thread_.join();
    }
    for (int fd : {fd_, wake_[0], wake_[1]}) {
      if (fd >= 0) close(fd);
    }
  }
  UdpResponder(const UdpResponder&) = delete;
  UdpResponder& operator=(const UdpResponder&) = delete;

  bool ok() const { return thread_.joinable(); }
  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int received() const { return received_.load(); }

 private:
  void Run() {
    std::vector<char> buf(65536);
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      ssize_t n =
          recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n <= 0) continue;
      ++received_;
      for (const std::string& reply : answer_(std::string_view(buf.data(), n))) {
        (void)sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                     from_len);
      }
    }
  }

  Answer answer_;
  int fd_ = -1, port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<int> received_{0};
  std::thread thread_;
};

}  // namespace testudp
