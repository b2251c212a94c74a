#include "verifier/attestation.h"

#include <string>

namespace verifier {
namespace {

namespace pb = provenance::v1;

Status Malformed(std::string msg) {
  return InvalidArgument("MALFORMED_ATTESTATION", std::move(msg));
}

Bytes PayloadToSign(std::string_view statement) {
  return PreAuthEncoding(kAttestationPayloadType, AsBytes(statement));
}

std::string ShortKeyId(ByteView public_key) { return HexEncode(KeyId(public_key)).substr(0, 16); }

}  // namespace

pb::Attestation SignAttestation(const pb::AttestationStatement& s, const SigningKey& key) {
  pb::Attestation a;
  s.SerializeToString(a.mutable_statement());
  auto sig = key.Sign(PayloadToSign(a.statement()));
  a.set_public_key(std::string(AsStringView(key.public_key())));
  a.set_signature(std::string(AsStringView(sig)));
  return a;
}

Result<pb::AttestationStatement> VerifyAttestation(const pb::Attestation& a,
                                                   const PublicKey& registered_key,
                                                   ByteView expected_nonce, int64_t now,
                                                   int64_t max_age_seconds) {
  pb::AttestationStatement s;
  if (!s.ParseFromString(a.statement())) return Malformed("statement does not parse");
  if (!a.GetReflection()->GetUnknownFields(a).empty() ||
      !s.GetReflection()->GetUnknownFields(s).empty()) {
    return Malformed("attestation or statement has unknown fields");
  }
  if (s.nonce().size() != kAttestationNonceSize) {
    return Malformed("nonce is " + std::to_string(s.nonce().size()) + " bytes, not 32");
  }
  if (s.firmware_sha256().size() != 32) {
    return Malformed("firmware_sha256 is " + std::to_string(s.firmware_sha256().size()) +
                     " bytes, not 32");
  }
  if (a.signature().size() != kSignatureSize) {
    return Malformed("signature is " + std::to_string(a.signature().size()) + " bytes, not 64");
  }
  if (!a.public_key().empty() && a.public_key().size() != kPublicKeySize) {
    return Malformed("public_key hint is " + std::to_string(a.public_key().size()) +
                     " bytes, not 32");
  }

  if (!VerifySignature(registered_key, PayloadToSign(a.statement()), AsBytes(a.signature()))) {
    const ByteView hint = AsBytes(a.public_key());
    if (!hint.empty() && !ConstantTimeEqual(hint, registered_key)) {
      return PermissionDenied(
          "ATTESTATION_KEY_MISMATCH",
          "device " + s.serial() + " signed with key " + ShortKeyId(hint) + ", not the key " +
              ShortKeyId(registered_key) +
              " registered for its serial: the device holds a different key than the one "
              "registered, so it is a cloned or counterfeit device");
    }
    return PermissionDenied("BAD_ATTESTATION_SIGNATURE",
                            "attestation is not validly signed by the device key " +
                                ShortKeyId(registered_key) + " registered for serial " +
                                s.serial());
  }

  if (expected_nonce.size() != kAttestationNonceSize ||
      !ConstantTimeEqual(AsBytes(s.nonce()), expected_nonce)) {
    return PermissionDenied("NONCE_MISMATCH",
                            "attestation does not answer this challenge (nonce differs): "
                            "a replayed attestation");
  }

  // The statement's time is the device's claim: no arithmetic on it.
  const std::string when = "attestation is dated " + std::to_string(s.time()) +
                           " (unix seconds) and it is now " + std::to_string(now);
  if (s.time() < now - max_age_seconds) {
    return PermissionDenied("STALE_ATTESTATION", when + "; it may be at most " +
                                                     std::to_string(max_age_seconds) + " s old");
  }
  if (s.time() > now + kMaxAttestationClockSkewSeconds) {
    return PermissionDenied("STALE_ATTESTATION",
                            when + "; the device clock may be at most " +
                                std::to_string(kMaxAttestationClockSkewSeconds) + " s ahead");
  }
  return s;
}

}  // namespace verifier
