#include "client/discover.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>

#include "onvif/discovery.h"

namespace client {

namespace {

using Clock = std::chrono::steady_clock;

verifier::Status Failed(const std::string& what, int err) {
  return verifier::Status(verifier::Code::kUnavailable, "DISCOVERY_FAILED",
                          what + ": " + std::strerror(err));
}

// Closes the socket on every return path.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// Length of the strict UTF-8 sequence at s[i] and its code point; 0 when
// invalid (overlong, surrogate, above U+10FFFF, truncated).
size_t Utf8At(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t len;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3F);
  }
  if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
      (v >= 0xD800 && v <= 0xDFFF)) {
    return 0;
  }
  *cp = v;
  return len;
}

bool Unprintable(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// "HOST[:PORT]" -> an IPv4 socket address (port 3702 by default).
verifier::Result<sockaddr_in> ResolveTarget(const std::string& target) {
  const auto bad = [&](const std::string& why) {
    return verifier::InvalidArgument("BAD_TARGET", "--target " + target + ": " + why);
  };
  std::string host = target, port = std::to_string(kDiscoveryPort);
  if (host.find('[') != std::string::npos || std::count(host.begin(), host.end(), ':') > 1) {
    return bad("IPv4 only (HOST[:PORT])");
  }
  if (size_t colon = host.find(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host.resize(colon);
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return bad("the port must be 1..65535");
    }
  }
  if (host.empty()) return bad("no host (HOST[:PORT])");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    if (rc == EAI_AGAIN) {
      return verifier::Status(verifier::Code::kUnavailable, "DISCOVERY_FAILED",
                              "resolving " + host + ": " + gai_strerror(rc));
    }
    return bad(std::string("no IPv4 address: ") + gai_strerror(rc));
  }
  sockaddr_in addr;
  std::memcpy(&addr, found->ai_addr, sizeof addr);
  freeaddrinfo(found);
  return addr;
}

}  // namespace

std::string DecodeScopeValue(std::string_view s) {
  std::string raw;
  raw.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      raw += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      raw += s[i];
    }
  }
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    uint32_t cp = 0;
    const size_t len = Utf8At(raw, i, &cp);
    if (len == 0 || Unprintable(cp)) {
      out += '?';
      i += len == 0 ? 1 : len;
    } else {
      out.append(raw, i, len);
      i += len;
    }
  }
  return out;
}

std::string ScopeValue(std::string_view scopes, std::string_view prefix) {
  while (!scopes.empty()) {
    const size_t space = scopes.find(' ');
    const std::string_view scope = scopes.substr(0, space);
    if (StartsWithNoCase(scope, prefix)) return DecodeScopeValue(scope.substr(prefix.size()));
    if (space == std::string_view::npos) break;
    scopes.remove_prefix(space + 1);
  }
  return "";
}

DiscoveredCamera CameraFromMatch(const onvif::ProbeMatch& m, std::string address) {
  DiscoveredCamera c;
  c.endpoint = m.endpoint;
  c.address = std::move(address);
  c.xaddrs = m.xaddrs;
  c.types = m.types;
  c.scopes = m.scopes;
  c.hardware = ScopeValue(m.scopes, "onvif://www.onvif.org/hardware/");
  c.name = ScopeValue(m.scopes, "onvif://www.onvif.org/name/");
  return c;
}

std::string XAddrHostPort(std::string_view xaddr) {
  std::string default_port;
  if (StartsWithNoCase(xaddr, "https://")) {
    default_port = "443";
    xaddr.remove_prefix(8);
  } else if (StartsWithNoCase(xaddr, "http://")) {
    default_port = "80";
    xaddr.remove_prefix(7);
  } else {
    return "";
  }
  std::string_view authority = xaddr.substr(0, xaddr.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) return "";
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  if (has_port) return std::string(authority);
  return std::string(authority) + ":" + default_port;
}

verifier::Result<std::vector<DiscoveredCamera>> Discover(const DiscoverOptions& o,
                                                         size_t* ignored) {
  size_t ignored_count = 0;
  if (ignored != nullptr) *ignored = 0;
  in_addr iface{};
  iface.s_addr = htonl(INADDR_ANY);
  if (!o.interface_address.empty() &&
      inet_pton(AF_INET, o.interface_address.c_str(), &iface) != 1) {
    return verifier::InvalidArgument(
        "BAD_INTERFACE", "--interface " + o.interface_address +
                             ": not an IPv4 address (the address of the interface to send on)");
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kDiscoveryPort);
  inet_pton(AF_INET, kDiscoveryGroup, &to.sin_addr);
  if (!o.target.empty()) {
    PROV_ASSIGN_OR_RETURN(to, ResolveTarget(o.target));
  }
  const std::string to_text = [&] {
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &to.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(to.sin_port));
  }();

  Socket sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.fd() < 0) return Failed("making a UDP socket", errno);
  // Bound to the interface's address (port: any), answers come back to it.
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = iface;
  if (bind(sock.fd(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    if (errno == EADDRNOTAVAIL) {
      return verifier::InvalidArgument(
          "BAD_INTERFACE",
          "--interface " + o.interface_address + ": no interface of this machine has that address");
    }
    return Failed("binding the UDP socket to " +
                      (o.interface_address.empty() ? "0.0.0.0" : o.interface_address),
                  errno);
  }
  const int ttl = 1;
  const unsigned char loop = 1;
  if (setsockopt(sock.fd(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
      setsockopt(sock.fd(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0) {
    return Failed("setting multicast options", errno);
  }
  if (!o.interface_address.empty() &&
      setsockopt(sock.fd(), IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0) {
    return Failed("sending multicast on " + o.interface_address, errno);
  }

  const std::string message_id = onvif::NewMessageId();
  const std::string probe = onvif::BuildProbe(message_id);
  const auto send_probe = [&]() -> verifier::Status {
    if (sendto(sock.fd(), probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) != static_cast<ssize_t>(probe.size())) {
      return Failed("sending the Probe to " + to_text +
                        (o.interface_address.empty() && o.target.empty()
                             ? " (no multicast route? give --interface IP)"
                             : ""),
                    errno);
    }
    return verifier::Status::Ok();
  };

  const auto start = Clock::now();
  const auto deadline = start + std::max(o.wait, std::chrono::milliseconds(0));
  const auto resend_at = start + kProbeRepeat;
  PROV_RETURN_IF_ERROR(send_probe());
  bool resent = false;

  std::vector<DiscoveredCamera> cameras;
  std::set<std::string> seen;
  std::vector<char> buf(onvif::kMaxDiscoveryBytes);
  while (cameras.size() < o.max_devices) {
    auto now = Clock::now();
    if (!resent && now >= resend_at) {
      // A lost retransmission is only loss: the first Probe went out.
      if (now < deadline) (void)send_probe();
      resent = true;
    }
    if (now >= deadline) break;
    const auto until = resent ? deadline : std::min(deadline, resend_at);
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now);
    pollfd p{sock.fd(), POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Failed("waiting for answers", errno);
    }
    if (ready == 0) continue;

    sockaddr_in from{};
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // MSG_TRUNC: the datagram's real length, so an oversized one is seen.
    const ssize_t n = recvmsg(sock.fd(), &msg, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) {
      // ICMP errors (e.g. ECONNREFUSED from a unicast target) are not fatal.
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED) {
        continue;
      }
      return Failed("receiving answers", errno);
    }
    if (n == 0 || static_cast<size_t>(n) > buf.size() || (msg.msg_flags & MSG_TRUNC) != 0) {
      ++ignored_count;
      continue;
    }
    auto matches =
        onvif::ParseProbeMatches(std::string_view(buf.data(), static_cast<size_t>(n)), message_id);
    if (!matches.ok() || matches->empty()) {
      ++ignored_count;
      continue;
    }
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    for (const onvif::ProbeMatch& m : *matches) {
      if (cameras.size() >= o.max_devices) break;
      if (!seen.insert(m.endpoint + '\n' + m.xaddrs).second) continue;
      cameras.push_back(CameraFromMatch(m, ip));
    }
  }
  if (ignored != nullptr) *ignored = ignored_count;
  return cameras;
}

}  // namespace client
