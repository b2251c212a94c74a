// ONVIF device-service messages (SOAP 1.2), no I/O: the requests a scanner
// sends to an IP camera and the parsing of its answers (client side), and
// the parsing of requests and building of answers (server side, camsim).
// Wire format, limits and what is refused: docs/onvif.md.
//
// Everything a camera sends is hostile: parsing never loads DTDs or
// entities, refuses any DOCTYPE, caps the size (kMaxSoapBytes), the nesting
// depth and every string taken from the message, and matches elements by
// namespace URI + local name, never by prefix. All functions are pure and
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/status.h"

namespace onvif {

// Messages larger than this are refused before parsing.
inline constexpr size_t kMaxSoapBytes = 64 * 1024;
// Longest string taken from a message (bytes of UTF-8, after trimming).
inline constexpr size_t kMaxValueBytes = 256;

enum class Operation { kGetSystemDateAndTime, kGetDeviceInformation, kGetNetworkInterfaces };
// The element name, e.g. "GetDeviceInformation".
std::string_view OperationName(Operation op);
// The SOAP action URI, "http://www.onvif.org/ver10/device/wsdl/" + name; a
// transport may add it as the `action` parameter of the Content-Type.
std::string SoapAction(Operation op);

struct DeviceInformation {
  std::string manufacturer, model, firmware_version, serial_number, hardware_id;
};
struct NetworkInterface {
  std::string token, name, hw_address;  // hw_address as sent, e.g. "AC:CC:8E:99:C9:15"
  bool enabled = false;
};

// WS-Security UsernameToken with a PasswordDigest.
struct UsernameToken {
  std::string username;
  std::string nonce;            // raw bytes (base64 on the wire)
  std::string created;          // xs:dateTime as sent, e.g. "2026-11-29T17:45:26Z"
  std::string password_digest;  // base64
};

// Base64(SHA-1(nonce + created + password)), nonce as raw bytes.
std::string PasswordDigest(std::string_view nonce, std::string_view created,
                           std::string_view password);
// A token with a fresh 16-byte nonce and Created = device_unix_time (the
// camera's clock, from GetSystemDateAndTime, so clock skew does not fail it).
UsernameToken MakeUsernameToken(std::string username, std::string_view password,
                                int64_t device_unix_time);

// "2026-11-29T17:45:26Z". REQUIRES: year 0000..9999.
std::string FormatDateTime(int64_t unix_seconds);
// xs:dateTime with a zone ("Z" or "+hh:mm"/"-hh:mm"), fractional seconds
// ignored, years 1970..9999. No zone -> BAD_TIME (ambiguous).
verifier::Result<int64_t> ParseDateTime(std::string_view text);

// --- Client side --------------------------------------------------------
// The request envelope; token == nullptr: no WS-Security header (what
// GetSystemDateAndTime uses, which cameras answer before authentication).
std::string BuildRequest(Operation op, const UsernameToken* token);
inline constexpr std::string_view kSoapContentType = "application/soap+xml; charset=utf-8";

// Errors of every Parse*:
//  - a SOAP Fault with ter:NotAuthorized (or wsse:FailedAuthentication) in
//    its Code: UNAUTHENTICATED BAD_CREDENTIALS with the Fault's reason text;
//  - any other Fault: FAILED_PRECONDITION SOAP_FAULT "code/subcode: reason";
//  - too large, not UTF-8, malformed, DOCTYPE/entities, too deep, wrong
//    root, missing or repeated element, bad value, over-long string, control
//    characters: INVALID_ARGUMENT BAD_SOAP naming what was wrong.
// tt:UTCDateTime -> unix seconds.
verifier::Result<int64_t> ParseSystemDateAndTime(std::string_view response);
verifier::Result<DeviceInformation> ParseDeviceInformation(std::string_view response);
verifier::Result<std::vector<NetworkInterface>> ParseNetworkInterfaces(std::string_view response);

// --- Server side (our camera simulator) ---------------------------------
struct Request {
  Operation op;
  std::optional<UsernameToken> token;  // absent without a wsse:UsernameToken
};
// Errors: BAD_SOAP as above; an operation other than the three:
// UNIMPLEMENTED UNKNOWN_OPERATION; a PasswordText (or untyped) password:
// UNAUTHENTICATED BAD_CREDENTIALS (we never accept cleartext passwords).
verifier::Result<Request> ParseRequest(std::string_view body);
// OK when the token is for `username`, its digest matches `password`
// (constant-time compare) and Created is within now +- max_skew_seconds.
// Else UNAUTHENTICATED: BAD_CREDENTIALS (wrong user or digest, not said
// which) or STALE_TOKEN. Nonces are not remembered: replay protection
// within the skew window is the caller's.
verifier::Status CheckUsernameToken(const UsernameToken& token, std::string_view username,
                                    std::string_view password, int64_t now,
                                    int64_t max_skew_seconds);

// Responses. Values are XML-escaped; bytes XML cannot carry (invalid UTF-8,
// control characters other than tab/LF/CR) become U+FFFD.
std::string BuildSystemDateAndTimeResponse(int64_t unix_time);
std::string BuildDeviceInformationResponse(const DeviceInformation& info);
std::string BuildNetworkInterfacesResponse(const std::vector<NetworkInterface>& nics);
// code is a QName with prefix env (e.g. "env:Sender"), subcode one with
// prefix ter (e.g. "ter:NotAuthorized"; empty: no Subcode).
std::string BuildFault(std::string_view code, std::string_view subcode, std::string_view reason);

}  // namespace onvif
