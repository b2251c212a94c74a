// "HOST:PORT" (HOST may be "[v6]") as given to --listen / --http-listen.
// Header-only, so that servers that do not link gRPC can use it.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace transport {

// {host without brackets, port 0..65535}, or nullopt when `listen` is not
// HOST:PORT (no colon, empty host, a port that is not a number in range).
inline std::optional<std::pair<std::string, int>> SplitHostPort(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size() ||
      listen.size() - colon - 1 > 5) {
    return std::nullopt;
  }
  int port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return std::nullopt;
  return std::make_pair(host, port);
}

}  // namespace transport
