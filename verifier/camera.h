// Judging a scanned camera (`prov scan --onvif`), offline: what its TLS
// handshake proved, and what it only claims over ONVIF, against the
// ledger's evidence (docs/scan.md).
//
// Proven: the camera holds the private key of the certificate it served,
// because its TLS 1.3 CertificateVerify (or TLS 1.2 ECDHE ServerKeyExchange)
// signed our fresh ClientHello random. That certificate names the unit when
// it chains to a device-identity CA its maker registered, or when its key is
// the one pinned in the device's registration.
// Claimed: Manufacturer, Model, SerialNumber, FirmwareVersion and the MAC
// address, read over that same connection. They are compared with the
// ledger, never trusted: the serial must equal the certificate's, the MAC's
// prefix must be the maker's, the firmware is judged as self-reported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "verifier/judge.h"

namespace verifier {

// What a scanner saw. Empty chain: no TLS handshake was made or completed.
struct CameraFacts {
  std::string address;  // "HOST:PORT", for messages
  std::string tls_version, tls_cipher, tls_group, tls_signature;
  std::vector<std::string> chain_der;  // leaf first, as the camera sent it
  // ONVIF GetDeviceInformation / GetNetworkInterfaces, read over the
  // connection above. `claims_read` false: they could not be read.
  bool claims_read = false;
  std::string manufacturer, model, firmware_version, serial_number, hardware_id;
  std::vector<std::string> macs;  // as sent
  // IEEE's registry (ieee-data): the assignee of each MAC's prefix, "" if
  // none; parallel to `macs`.
  std::vector<std::string> ieee_assignees;
  std::optional<int64_t> clock_skew;  // camera clock minus ours, seconds
};

// The unit a certificate proves, found through the CAs in the evidence
// (by the chain's issuer names): manufacturer, the serial read from the
// leaf, and the CA. `status` says why not when it does not (the error of the
// closest attempt: CHAIN_UNVERIFIED, CA_REVOKED, LEAF_ALGORITHM, ...).
struct CertifiedIdentity {
  Status status = Status(Code::kNotFound, "NO_CA", "no certificate");
  // `serial` as the certificate writes it; `normalize`: the CA compares
  // serials upper-case without separators (verifier::NormalizeSerial).
  std::string manufacturer_org, ca_id, serial, leaf_subject, key_algorithm;
  bool normalize = false;
  uint64_t ca_index = 0;
  Hash spki_sha256{};
};
CertifiedIdentity IdentifyCamera(const VerifiedEvidence& ev, const CameraFacts& f, int64_t now,
                                 const std::string& manufacturer_hint);

// SHA-256 of the RFC 2253 issuer name of every certificate of the chain
// (what GetEvidenceRequest.certificate_issuers carries); unparsable ones
// are skipped.
std::vector<std::string> ChainIssuerHashes(const std::vector<std::string>& chain_der);

// What a scan's verdict relies on besides the device (docs/index.md
// "Complete evidence"): every vetted MAC block (when the camera shows a
// well-formed MAC among `macs`), so that none holding its MAC was left out,
// online or in a bundle; and the CA that proved the certificate.
std::vector<Subject> ScanReliesOn(const std::vector<std::string>& macs,
                                  const CertifiedIdentity& id);

// Makers betrayed by the MACs: the holders of vetted MAC blocks other than
// `manufacturer_org` (a relabelled unit is judged as theirs by a policy).
std::vector<RevealedMaker> MacMakers(const VerifiedEvidence& ev, const CameraFacts& f,
                                     const std::string& manufacturer_org);

// Adds the camera's findings to `j` (already judged from `ev` for the
// device `id` names, or for the claimed serial) and re-decides it:
// IDENTITY_PROVEN or IDENTITY_UNPROVEN / CA_REVOKED / IDENTITY_KEY_MISMATCH,
// SERIAL_MISMATCH, CLAIMS_MISMATCH, MAC_VENDOR / MAC_VENDOR_MISMATCH /
// MAC_UNVETTED, FIRMWARE_REPORTED / FIRMWARE_REVOKED / FIRMWARE_UNKNOWN,
// CLOCK_SKEW. Returns true when the identity was proven (what a policy's
// `require.attestation` asks for).
bool JudgeCamera(const VerifiedEvidence& ev, const CameraFacts& f, const CertifiedIdentity& id,
                 Judgement* j);

// Serials compared as a CA says: exactly, or normalised.
bool SameSerial(std::string_view a, std::string_view b, bool normalize);

// True if the IEEE assignee name plausibly names the org (its name or id):
// the first distinctive word of each, and the second when both have one,
// ignoring case, punctuation and legal forms ("Axis Communications AB" ~
// "Axis AB"; "Zhejiang Dahua" !~ "Zhejiang Uniview").
bool AssigneeNamesOrg(std::string_view assignee, std::string_view org_name,
                      std::string_view org_id);

}  // namespace verifier
