// WS-Discovery (the 2005/04 version ONVIF uses) messages, no I/O: the Probe
// a scanner multicasts to 239.255.255.250:3702 (UDP) and the ProbeMatches
// cameras answer with. Same hardened parsing as onvif/soap.h; see
// docs/onvif.md. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/status.h"

namespace onvif {

// Datagrams larger than this are refused before parsing.
inline constexpr size_t kMaxDiscoveryBytes = 16 * 1024;
// Longest Types / Scopes / XAddrs list taken from a ProbeMatch (bytes).
inline constexpr size_t kMaxListBytes = 2048;
// At most this many ProbeMatch elements in one datagram.
inline constexpr size_t kMaxProbeMatches = 16;

// "urn:uuid:" + a random (version 4) UUID.
std::string NewMessageId();

// A Probe for Types dn:NetworkVideoTransmitter with this wsa:MessageID.
std::string BuildProbe(std::string_view message_id);
// The wsa:MessageID of a Probe; BAD_SOAP for anything else.
verifier::Result<std::string> ParseProbe(std::string_view datagram);

struct ProbeMatch {
  std::string endpoint;  // wsa:Address, e.g. "urn:uuid:..." (as sent)
  std::string types;     // QNames as sent, e.g. "dn:NetworkVideoTransmitter tds:Device"
  std::string scopes;    // space separated URIs
  std::string xaddrs;    // space separated device-service URLs
  uint32_t metadata_version = 1;
};

// ProbeMatches answering the Probe `relates_to`, with a fresh MessageID. The
// envelope declares prefixes dn and tds for `types`.
std::string BuildProbeMatches(std::string_view relates_to, const ProbeMatch& match);
// The matches of a ProbeMatches datagram whose wsa:RelatesTo equals
// relates_to; another RelatesTo gives an empty vector, not an error.
// List values come back with whitespace runs collapsed to one space.
verifier::Result<std::vector<ProbeMatch>> ParseProbeMatches(std::string_view datagram,
                                                            std::string_view relates_to);

}  // namespace onvif
