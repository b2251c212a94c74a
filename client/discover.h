// Finding ONVIF cameras (`prov discover`): WS-Discovery over UDP. A Probe for
// dn:NetworkVideoTransmitter goes to 239.255.255.250:3702 (or to one host),
// and the ProbeMatches answering it are collected (onvif/discovery.h parses
// them; docs/onvif.md). Nothing an answer says is authenticated: a
// discovered camera is an address to check with `prov scan`, not evidence.
// Thread-compatible (no shared state).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/status.h"

namespace onvif {
struct ProbeMatch;
}

namespace client {

inline constexpr char kDiscoveryGroup[] = "239.255.255.250";
inline constexpr int kDiscoveryPort = 3702;
// The Probe is sent twice, this long apart (UDP loss; WS-Discovery's
// retransmission of multicast messages).
inline constexpr std::chrono::milliseconds kProbeRepeat{100};

struct DiscoverOptions {
  // IPv4 address of the interface to send on; "" = the default route's.
  std::string interface_address = "";
  // How long answers are collected, from the first Probe.
  std::chrono::milliseconds wait{2000};
  // HOST[:PORT] (default port 3702) to probe by unicast instead of the
  // multicast group; IPv4 only.
  std::string target = "";
  size_t max_devices = 256;
};

struct DiscoveredCamera {
  std::string endpoint;  // wsa:Address as sent, e.g. "urn:uuid:..."
  std::string address;   // the IPv4 address the answer came from
  std::string xaddrs;    // space separated device-service URLs, as sent
  std::string types;     // space separated QNames, as sent
  std::string scopes;    // space separated URIs, as sent
  // Percent-decoded from the first onvif://www.onvif.org/hardware/... and
  // /name/... scopes; "" when absent. Safe to print (see DecodeScopeValue).
  std::string hardware, name;
};

// Probes and collects answers for `o.wait`: cameras in the order they
// answered, at most o.max_devices, the first answer per endpoint and XAddrs
// only. One endpoint at other XAddrs is listed again (a cloned camera, or
// one camera on two networks): it is not for discovery to pick. Datagrams that
// are not a well-formed ProbeMatches to our Probe (someone else's answers,
// garbage, more than onvif::kMaxDiscoveryBytes) are counted in `*ignored`
// (when given) and otherwise skipped. No answers is not an error.
// Errors: INVALID_ARGUMENT BAD_INTERFACE / BAD_TARGET for a bad option;
// UNAVAILABLE DISCOVERY_FAILED when the socket cannot be made, bound or
// sent on.
verifier::Result<std::vector<DiscoveredCamera>> Discover(const DiscoverOptions& o,
                                                         size_t* ignored = nullptr);

// A camera from one ProbeMatch received from `address`: scopes decoded.
DiscoveredCamera CameraFromMatch(const onvif::ProbeMatch& m, std::string address);

// The decoded value of the first scope in `scopes` (space separated) that
// starts with `prefix` (compared ASCII case-insensitively), e.g.
// "Acme X1" for prefix "onvif://www.onvif.org/hardware/" and scope
// ".../hardware/Acme%20X1"; "" when there is none.
std::string ScopeValue(std::string_view scopes, std::string_view prefix);

// Percent-decodes `s` ("%20" -> " "; a '%' not followed by two hex digits
// stays as it is), then makes it safe to print: invalid UTF-8, C0 and C1
// controls, DEL and bidi overrides/isolates each become '?'.
std::string DecodeScopeValue(std::string_view s);

// "HOST:PORT" of a device-service URL ("https://10.0.0.7/onvif/..." ->
// "10.0.0.7:443"); "" when it is not an http(s) URL.
std::string XAddrHostPort(std::string_view xaddr);

}  // namespace client
