#include "client/camera_scan.h"

#include <chrono>

#include "onvif/soap.h"

namespace client {

using verifier::Finding;
using verifier::Result;
using verifier::Status;

namespace {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One SOAP call on the open connection: the HTTP exchange, then the body
// parsed by `parse` (a SOAP Fault, whatever the HTTP status, is its error).
template <typename Parse>
auto Call(transport::CameraConnection& conn, onvif::Operation op, const onvif::UsernameToken* token,
          Parse parse) -> decltype(parse(std::string_view())) {
  const std::string content_type =
      std::string(onvif::kSoapContentType) + "; action=\"" + onvif::SoapAction(op) + "\"";
  PROV_ASSIGN_OR_RETURN(
      auto resp, conn.Post("/onvif/device_service", content_type, onvif::BuildRequest(op, token)));
  const std::string what = std::string(onvif::OperationName(op));
  const std::string type = resp.content_type.substr(0, resp.content_type.find(';'));
  if (type != "application/soap+xml" && type != "text/xml" && type != "application/xml") {
    return verifier::InvalidArgument(
        "BAD_SOAP", what + ": the camera answered HTTP " + std::to_string(resp.status) +
                        " with content type \"" + resp.content_type.substr(0, 64) + "\", not SOAP");
  }
  auto parsed = parse(resp.body);
  if (!parsed.ok()) {
    const Status& s = parsed.status();
    return Status(s.code(), s.reason(), what + ": " + s.message());
  }
  if (resp.status != 200) {
    return verifier::InvalidArgument(
        "BAD_HTTP", what + ": HTTP " + std::to_string(resp.status) + " with a non-fault body");
  }
  return parsed;
}

Status ReadClaims(transport::CameraConnection& conn, const CameraScanOptions& o,
                  verifier::CameraFacts* f) {
  PROV_ASSIGN_OR_RETURN(int64_t device_time, Call(conn, onvif::Operation::kGetSystemDateAndTime,
                                                  nullptr, onvif::ParseSystemDateAndTime));
  f->clock_skew = device_time - UnixNow();
  std::optional<onvif::UsernameToken> token;
  // The digest is made for the camera's clock, so a skewed camera still
  // accepts it (ONVIF Core 5.12.2.1).
  if (!o.user.empty()) token = onvif::MakeUsernameToken(o.user, o.password, device_time);
  const onvif::UsernameToken* t = token ? &*token : nullptr;
  PROV_ASSIGN_OR_RETURN(auto info, Call(conn, onvif::Operation::kGetDeviceInformation, t,
                                        onvif::ParseDeviceInformation));
  if (token) t = &*(token = onvif::MakeUsernameToken(o.user, o.password, device_time));
  PROV_ASSIGN_OR_RETURN(auto nics, Call(conn, onvif::Operation::kGetNetworkInterfaces, t,
                                        onvif::ParseNetworkInterfaces));
  f->manufacturer = info.manufacturer;
  f->model = info.model;
  f->firmware_version = info.firmware_version;
  f->serial_number = info.serial_number;
  f->hardware_id = info.hardware_id;
  for (const auto& n : nics) {
    if (!n.hw_address.empty()) f->macs.push_back(n.hw_address);
  }
  f->claims_read = true;
  return Status::Ok();
}

}  // namespace

CameraScan ScanCamera(const std::string& address, const CameraScanOptions& o,
                      const OuiRegistry* ieee) {
  const auto start = std::chrono::steady_clock::now();
  CameraScan scan;
  scan.facts.address = address;
  auto finish = [&] {
    scan.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return std::move(scan);
  };
  auto hp = transport::SplitHostPort(address, o.tls.tls ? 443 : 80);
  if (!hp.ok()) {
    scan.connection = hp.status();
    return finish();
  }
  auto conn = transport::CameraConnection::Open(hp->first, hp->second, o.tls);
  if (!conn.ok()) {
    scan.connection = conn.status();
    return finish();
  }
  const auto& hs = (*conn)->handshake();
  scan.facts.tls_version = hs.version;
  scan.facts.tls_cipher = hs.cipher;
  scan.facts.tls_group = hs.group;
  scan.facts.tls_signature = hs.signature_algorithm;
  scan.facts.chain_der = hs.peer_chain_der;
  scan.claims = ReadClaims(**conn, o, &scan.facts);
  for (const auto& mac : scan.facts.macs) {
    std::string assignee;
    if (ieee) {
      auto a = ieee->Lookup(mac);
      if (a.ok() && *a) assignee = (*a)->organization;
    }
    scan.facts.ieee_assignees.push_back(assignee);
  }
  return finish();
}

std::vector<Finding> ScanProblems(const CameraScan& scan) {
  std::vector<Finding> out;
  const std::string& where = scan.facts.address;
  if (!scan.connection.ok()) {
    const std::string& r = scan.connection.reason();
    const bool weak = r == "WEAK_HANDSHAKE";
    out.push_back({weak ? Finding::Severity::kReject : Finding::Severity::kUnverified,
                   weak ? r : (r == "TIMEOUT" || r == "UNREACHABLE" ? "UNREACHABLE" : "TLS_FAILED"),
                   where + ": " + scan.connection.message(),
                   {}});
  }
  if (scan.connection.ok() && !scan.claims.ok()) {
    const std::string& r = scan.claims.reason();
    out.push_back({Finding::Severity::kUnverified,
                   r == "BAD_CREDENTIALS" ? r : "CAMERA_ANSWER",
                   where + ": " + scan.claims.ToString(),
                   {}});
  }
  return out;
}

}  // namespace client
