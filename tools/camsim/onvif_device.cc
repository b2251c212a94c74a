#include "tools/camsim/onvif_device.h"

#include <cctype>
#include <cstdio>

#include "tools/camsim/device_dir.h"
#include "tools/camsim/identity.h"

namespace camsim {

namespace {

HttpReply Soap(std::string body) {
  return {200, std::string(onvif::kSoapContentType), std::move(body)};
}

// SOAP 1.2 Part 2, 7.5.1.2: a Sender fault is 400 Bad Request, any other
// fault 500 Internal Server Error.
HttpReply Fault(std::string_view code, std::string_view subcode, std::string_view reason) {
  return {code == "env:Sender" ? 400 : 500, std::string(onvif::kSoapContentType),
          onvif::BuildFault(code, subcode, reason)};
}

HttpReply NotAuthorized() {
  return Fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized");
}

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string ScopeEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

HttpReply OnvifDevice::Handle(std::string_view body) const {
  auto request = onvif::ParseRequest(body);
  if (!request.ok()) {
    const verifier::Status& s = request.status();
    if (s.code() == verifier::Code::kUnimplemented) {
      return Fault("env:Receiver", "ter:ActionNotSupported", s.message());
    }
    if (s.code() == verifier::Code::kUnauthenticated) return NotAuthorized();
    return Fault("env:Sender", "ter:WellFormed", s.message());
  }
  const int64_t now = UnixNow();
  if (request->op == onvif::Operation::kGetSystemDateAndTime) {
    return Soap(onvif::BuildSystemDateAndTimeResponse(now));
  }
  if (config_.reject_credentials) return NotAuthorized();
  if (!config_.user.empty()) {
    if (!request->token) return NotAuthorized();
    if (!onvif::CheckUsernameToken(*request->token, config_.user, config_.password, now,
                                   config_.max_clock_skew_seconds)
             .ok()) {
      return NotAuthorized();
    }
  }
  switch (request->op) {
    case onvif::Operation::kGetDeviceInformation:
      return Soap(onvif::BuildDeviceInformationResponse(config_.info));
    case onvif::Operation::kGetNetworkInterfaces:
      return Soap(onvif::BuildNetworkInterfacesResponse({{"eth0", "eth0", config_.mac, true}}));
    default:
      return Fault("env:Receiver", "ter:ActionNotSupported", "not supported");
  }
}

std::optional<std::string> AnswerProbe(std::string_view datagram, const std::string& serial,
                                       const std::string& model, const std::string& manufacturer,
                                       const std::string& xaddrs) {
  auto message_id = onvif::ParseProbe(datagram);
  if (!message_id.ok()) return std::nullopt;
  onvif::ProbeMatch match;
  match.endpoint = StableEndpointUuid(serial);
  match.types = "dn:NetworkVideoTransmitter tds:Device";
  match.scopes = "onvif://www.onvif.org/hardware/" + ScopeEscape(model) +
                 " onvif://www.onvif.org/name/" + ScopeEscape(manufacturer);
  match.xaddrs = xaddrs;
  return onvif::BuildProbeMatches(*message_id, match);
}

}  // namespace camsim
