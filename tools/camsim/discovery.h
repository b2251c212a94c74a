// A WS-Discovery responder: joins 239.255.255.250:3702 (UDP) on one
// interface and answers each datagram its `answer` function answers,
// unicast back to the sender. Several processes may share the port
// (SO_REUSEADDR + SO_REUSEPORT; multicast reaches every member).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "verifier/status.h"

namespace camsim {

inline constexpr const char* kDiscoveryGroup = "239.255.255.250";
inline constexpr int kDiscoveryPort = 3702;

class DiscoveryResponder {
 public:
  // The reply to one datagram, or nullopt to ignore it. Called on the
  // responder's thread only.
  using Answer = std::function<std::optional<std::string>(std::string_view datagram)>;

  // `interface_address`: the IPv4 address of the interface to join on
  // (127.0.0.1 for loopback). UNAVAILABLE DISCOVERY_SOCKET on failure.
  static verifier::Result<std::unique_ptr<DiscoveryResponder>> Start(
      const std::string& interface_address, Answer answer);
  ~DiscoveryResponder();
  DiscoveryResponder(const DiscoveryResponder&) = delete;
  DiscoveryResponder& operator=(const DiscoveryResponder&) = delete;

  void Stop();  // idempotent

 private:
  DiscoveryResponder() = default;
  void Run();

  Answer answer_;
  int socket_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: Stop() writes, Run() returns
  std::thread thread_;
};

}  // namespace camsim
