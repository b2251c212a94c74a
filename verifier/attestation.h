// Device attestation: a camera proves it holds the device key that its
// manufacturer registered in the ledger for its serial, by signing a fresh
// nonce from the verifier together with what it claims to be (org, serial,
// model, firmware version and the SHA-256 of the firmware it runs).
//
// The signature is Ed25519 over PAE(kAttestationPayloadType, statement bytes),
// so neither a record signature nor a checkpoint signature can pass as an
// attestation, nor the other way round. docs/formats.md "Device attestation"
// states the format.
//
// VerifyAttestation checks only the signature, the nonce and the time. The
// caller compares the statement's claims (serial, model, firmware hash) with
// the ledger.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/device.pb.h"
#include "verifier/crypto.h"
#include "verifier/status.h"

namespace verifier {

// DSSE payload type of device attestation signatures.
inline constexpr std::string_view kAttestationPayloadType =
    "application/vnd.provenance.attestation.v1+protobuf";

inline constexpr size_t kAttestationNonceSize = 32;
// An attestation older than this (by the device's clock) is stale...
inline constexpr int64_t kMaxAttestationAgeSeconds = 300;
// ...and so is one dated further than this into the future.
inline constexpr int64_t kMaxAttestationClockSkewSeconds = 60;

// Serializes `s` and signs it with the device key; the key's public half
// goes into the public_key hint.
provenance::v1::Attestation SignAttestation(const provenance::v1::AttestationStatement& s,
                                            const SigningKey& key);

// Checks `a` against the device key registered in the ledger, in this order,
// and returns the signed statement on success:
//   MALFORMED_ATTESTATION (InvalidArgument): the statement does not parse;
//     unknown fields; a nonce or firmware hash that is not 32 bytes, a
//     signature that is not 64 bytes, a public_key hint that is neither
//     empty nor 32 bytes.
//   ATTESTATION_KEY_MISMATCH (PermissionDenied): not signed by
//     `registered_key`, and the hint names another key: the device holds a
//     different key than the one registered for its serial (a cloned or
//     counterfeit device).
//   BAD_ATTESTATION_SIGNATURE (PermissionDenied): not a valid signature by
//     `registered_key`.
//   NONCE_MISMATCH (PermissionDenied): the statement's nonce is not
//     `expected_nonce` (compared in constant time): a replayed attestation.
//   STALE_ATTESTATION (PermissionDenied): time < now - max_age_seconds or
//     time > now + kMaxAttestationClockSkewSeconds. Both bounds are inclusive.
Result<provenance::v1::AttestationStatement> VerifyAttestation(
    const provenance::v1::Attestation& a, const PublicKey& registered_key, ByteView expected_nonce,
    int64_t now, int64_t max_age_seconds = kMaxAttestationAgeSeconds);

}  // namespace verifier
