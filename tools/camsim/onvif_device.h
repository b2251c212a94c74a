// The SOAP side of camsim's ONVIF mode (onvif/soap.h does the messages):
// GetSystemDateAndTime without authentication; GetDeviceInformation and
// GetNetworkInterfaces with a WS-Security UsernameToken when a user is set.
// Faults follow SOAP 1.2's HTTP binding: env:Sender -> 400, else 500.
// And the WS-Discovery answer (onvif/discovery.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "onvif/discovery.h"
#include "onvif/soap.h"
#include "tools/camsim/onvif_server.h"

namespace camsim {

struct OnvifDeviceConfig {
  onvif::DeviceInformation info;
  std::string mac;                  // eth0's hardware address
  std::string user, password;       // user "": no authentication
  bool reject_credentials = false;  // wrong-credentials: every authenticated request fails
  int64_t max_clock_skew_seconds = 300;
};

// Immutable after construction: thread-safe.
class OnvifDevice final : public SoapHandler {
 public:
  explicit OnvifDevice(OnvifDeviceConfig config) : config_(std::move(config)) {}
  HttpReply Handle(std::string_view body) const override;

 private:
  const OnvifDeviceConfig config_;
};

// The ProbeMatches answering a Probe datagram, or nullopt for anything else:
// endpoint StableEndpointUuid(serial), Types dn:NetworkVideoTransmitter
// tds:Device, scopes onvif://www.onvif.org/hardware/<model> and
// onvif://www.onvif.org/name/<manufacturer> (percent-encoded), XAddrs `xaddrs`
// (space separated URLs).
std::optional<std::string> AnswerProbe(std::string_view datagram, const std::string& serial,
                                       const std::string& model, const std::string& manufacturer,
                                       const std::string& xaddrs);

}  // namespace camsim
