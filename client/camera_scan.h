// Reading a real camera (`prov scan --onvif`): one TLS connection to its
// HTTPS port (transport/camera_tls.h: TLS 1.3, or 1.2 with ECDHE, never
// resumed), and over that same connection the ONVIF calls
// GetSystemDateAndTime (unauthenticated; gives the clock skew and the
// time the WS-Security digest is made for), GetDeviceInformation and
// GetNetworkInterfaces (onvif/soap.h). Nothing here is judged: the facts go
// to verifier::IdentifyCamera / JudgeCamera with the ledger's evidence.
#pragma once

#include <memory>
#include <string>

#include "client/oui_registry.h"
#include "transport/camera_tls.h"
#include "verifier/camera.h"
#include "verifier/status.h"

namespace client {

struct CameraScanOptions {
  std::string user;  // empty: the ONVIF calls carry no WS-Security header
  std::string password;
  transport::CameraTlsOptions tls;
};

struct CameraScan {
  verifier::CameraFacts facts;
  // No completed handshake: UNREACHABLE, TIMEOUT, WEAK_HANDSHAKE, TLS_FAILED,
  // BAD_CHAIN, BAD_ADDRESS. facts.chain_der is then empty.
  verifier::Status connection;
  // The device information could not be read over the connection:
  // BAD_CREDENTIALS, SOAP_FAULT, BAD_SOAP, BAD_HTTP, RESPONSE_TOO_LARGE,
  // TIMEOUT, CONNECTION_CLOSED. facts.claims_read is then false.
  verifier::Status claims;
  double elapsed_ms = 0;
};

// Never fails as a whole: what went wrong is in `connection` / `claims`.
// `ieee` (may be null) names the IEEE assignee of each MAC.
CameraScan ScanCamera(const std::string& address, const CameraScanOptions& options,
                      const OuiRegistry* ieee);

// The findings a failed connection or unreadable claims give (none when
// both are OK): UNREACHABLE (unverified), WEAK_HANDSHAKE (reject),
// BAD_CREDENTIALS, ... (unverified), each naming the camera.
std::vector<verifier::Finding> ScanProblems(const CameraScan& scan);

}  // namespace client
