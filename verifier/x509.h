// X.509 device identities (IEEE 802.1AR "IDevID"): strict DER parsing,
// fingerprints, and chains verified against given anchors only — never the
// system store, no hostname check. The building block for registering a
// maker's device-identity CAs and for scanning real cameras (issue 12).
// OpenSSL 3 does the ASN.1 and the signatures; everything here is offline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/records.pb.h"
#include "verifier/crypto.h"
#include "verifier/status.h"

namespace verifier {

struct Certificate {
  std::string der;
  Hash sha256{};       // fingerprint: SHA-256 of the DER
  Hash spki_sha256{};  // SHA-256 of the DER SubjectPublicKeyInfo (what a pin names)
  std::string subject, issuer;  // RFC 2253, e.g. "CN=Axis device ID Root CA ECC,O=Axis ..."
  std::string subject_serial_number;  // the subject's serialNumber attribute, "" if none
  // Every subject attribute in order: OpenSSL short name ("CN", "O",
  // "serialNumber", ...) and its value as UTF-8.
  std::vector<std::pair<std::string, std::string>> subject_attributes;
  // "ECDSA P-256", "ECDSA P-384", "ECDSA P-521", "RSA 2048" (any size),
  // "Ed25519", or "unsupported <name>".
  std::string key_algorithm;
  int64_t not_before = 0, not_after = 0;  // unix seconds
  bool is_ca = false;                      // basicConstraints cA
  int path_len = -1;                       // basicConstraints pathLenConstraint; -1 = none
  bool self_signed = false;                // issuer == subject and its own key verifies it
  // RFC 4108 HardwareModuleName in the subjectAltName (otherName
  // 1.3.6.1.5.5.7.8.4): the hwSerialNum bytes, "" if none.
  std::string hardware_serial;
};

// One DER certificate. Strict: the bytes must be exactly one certificate in
// its canonical DER encoding (no trailing bytes; re-encoding gives the same
// bytes). INVALID_ARGUMENT BAD_CERTIFICATE otherwise.
Result<Certificate> ParseCertificateDer(std::string_view der);

// The DER of every "CERTIFICATE" block of a PEM text, in order;
// BAD_CERTIFICATE if there is none or one does not decode.
Result<std::vector<std::string>> PemCertificatesToDer(std::string_view pem);

// Verifies `chain` (leaf first, then any intermediates) up to one of
// `anchors` at unix time `at`: every signature, every validity window,
// basicConstraints (cA, pathLen) and keyUsage of the issuers, X.509 strict
// mode. An anchor may be a root or an intermediate (partial chains are
// allowed: the anchor is what the ledger registered). DATA_LOSS
// CHAIN_UNVERIFIED with OpenSSL's reason when it fails.
Status VerifyChain(const std::vector<std::string>& chain_der,
                   const std::vector<std::string>& anchors_der, int64_t at);

// True for the key algorithms device identities may use: "ECDSA P-256",
// "ECDSA P-384", "ECDSA P-521", "RSA 2048", "RSA 3072", "RSA 4096", "Ed25519"
// (the names Certificate::key_algorithm gives).
bool IsSupportedKeyAlgorithm(std::string_view name);

// What a device's certificate proves under a registered device-identity CA
// (proto DeviceIdentityCa) at unix time `at`: the chain (leaf first, then
// the intermediates the device sent) verifies against the CA's certificates,
// the CA was not revoked effective at or before `at` (revoked_effective 0 =
// not revoked), the leaf's key algorithm is allowed and `at` is in the CA's
// window; then the serial is read where the CA says (normalised if it says
// so: subject serialNumber, HardwareModuleName, or the subject attribute
// serial_attribute matching serial_pattern). Reasons: CHAIN_UNVERIFIED
// (DATA_LOSS), CA_REVOKED, LEAF_ALGORITHM,
// LEAF_OUTSIDE_WINDOW, NO_SERIAL_IN_CERTIFICATE (PERMISSION_DENIED).
struct LeafIdentity {
  std::string serial;      // normalised if the CA says so
  std::string raw_serial;  // as the certificate writes it
  Hash spki_sha256{};
  std::string key_algorithm;
  std::string subject;
};
Result<LeafIdentity> IdentifyLeaf(const std::vector<std::string>& chain_der,
                                  const provenance::v1::DeviceIdentityCa& ca,
                                  int64_t revoked_effective, int64_t at);

// The serial `pattern` (literal text around one "{serial}") leaves in
// `value`: "" when it does not match or leaves nothing. Linear, no regex.
std::string SerialFromPattern(std::string_view value, std::string_view pattern);

// A device serial as makers print it in certificates: upper case, without
// ':', '-', '.' or spaces ("ac:cc:8e:99:c9:15" -> "ACCC8E99C915").
std::string NormalizeSerial(std::string_view serial);

}  // namespace verifier
