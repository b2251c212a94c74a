#include "tools/camsim/discovery.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace camsim {

namespace {
constexpr size_t kMaxDatagram = 64 * 1024;

verifier::Status SocketError(const std::string& what) {
  return verifier::Status(verifier::Code::kUnavailable, "DISCOVERY_SOCKET",
                          what + ": " + std::strerror(errno));
}
}  // namespace

verifier::Result<std::unique_ptr<DiscoveryResponder>> DiscoveryResponder::Start(
    const std::string& interface_address, Answer answer) {
  std::unique_ptr<DiscoveryResponder> r(new DiscoveryResponder());
  r->answer_ = std::move(answer);
  in_addr iface{};
  if (inet_pton(AF_INET, interface_address.c_str(), &iface) != 1) {
    return verifier::InvalidArgument("BAD_ADDRESS",
                                     "not an IPv4 interface address: " + interface_address);
  }
  r->socket_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (r->socket_ < 0) return SocketError("socket");
  int one = 1;
  if (setsockopt(r->socket_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(r->socket_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return SocketError("SO_REUSEADDR/SO_REUSEPORT");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kDiscoveryPort);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(r->socket_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return SocketError("bind 0.0.0.0:3702");
  }
  ip_mreq membership{};
  inet_pton(AF_INET, kDiscoveryGroup, &membership.imr_multiaddr);
  membership.imr_interface = iface;
  if (setsockopt(r->socket_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
    return SocketError(std::string("joining ") + kDiscoveryGroup + " on " + interface_address);
  }
  if (pipe2(r->wake_, O_CLOEXEC) != 0) return SocketError("pipe");
  DiscoveryResponder* self = r.get();
  r->thread_ = std::thread([self] { self->Run(); });
  return r;
}

void DiscoveryResponder::Run() {
  std::vector<char> buf(kMaxDatagram);
  for (;;) {
    pollfd fds[2] = {{socket_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    ssize_t n =
        recvfrom(socket_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) continue;
    std::optional<std::string> reply =
        answer_(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!reply) continue;
    // Best effort, like any UDP responder.
    (void)sendto(socket_, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_len);
  }
}

void DiscoveryResponder::Stop() {
  if (thread_.joinable()) {
    char b = 0;
    (void)!write(wake_[1], &b, 1);
    thread_.join();
  }
}

DiscoveryResponder::~DiscoveryResponder() {
  Stop();
  for (int fd : {socket_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace camsim
