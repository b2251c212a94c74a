// Tests for verifier/attestation.h: round trip, every rejection reason in
// its documented order, the exact staleness bounds, and domain separation
// from record signatures.
#include "verifier/attestation.h"

#include <gtest/gtest.h>

#include <string>

namespace verifier {
namespace {

namespace pb = provenance::v1;

constexpr int64_t kNow = 1'700'000'000;

std::string Str(ByteView b) { return std::string(AsStringView(b)); }

SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

class AttestationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    nonce_.fill(0x42);
    statement_.set_manufacturer_org("acme-cam");
    statement_.set_serial("SN-1");
    statement_.set_model_id("acme-x1");
    statement_.set_firmware_version("1.2.3");
    auto fw = Sha256(std::string_view("firmware image"));
    statement_.set_firmware_sha256(Str(fw));
    statement_.set_nonce(Str(nonce_));
    statement_.set_time(kNow);
  }

  Result<pb::AttestationStatement> Verify(const pb::Attestation& a, int64_t now = kNow) {
    return VerifyAttestation(a, device_.public_key(), nonce_, now);
  }

  // Signs arbitrary statement bytes with `key` over the attestation PAE.
  pb::Attestation SignRaw(const std::string& statement, const SigningKey& key) {
    pb::Attestation a;
    a.set_statement(statement);
    a.set_public_key(Str(key.public_key()));
    a.set_signature(Str(key.Sign(PreAuthEncoding(kAttestationPayloadType, AsBytes(statement)))));
    return a;
  }

  void ExpectReason(const Result<pb::AttestationStatement>& r, Code code,
                    const std::string& reason) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_EQ(r.status().reason(), reason) << r.status().ToString();
  }

  SigningKey device_ = KeyFromByte(1);
  SigningKey other_ = KeyFromByte(2);
  std::array<uint8_t, 32> nonce_{};
  pb::AttestationStatement statement_;
};

TEST_F(AttestationTest, RoundTrip) {
  pb::Attestation a = SignAttestation(statement_, device_);
  EXPECT_EQ(a.public_key(), Str(device_.public_key()));
  EXPECT_EQ(a.signature().size(), kSignatureSize);
  auto r = Verify(a);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->SerializeAsString(), statement_.SerializeAsString());
  EXPECT_EQ(r->serial(), "SN-1");

  // Through the wire and back.
  pb::Attestation parsed;
  ASSERT_TRUE(parsed.ParseFromString(a.SerializeAsString()));
  EXPECT_TRUE(Verify(parsed).ok());

  // The hint is only a hint: an empty one verifies too.
  a.clear_public_key();
  EXPECT_TRUE(Verify(a).ok());
}

TEST_F(AttestationTest, DifferentKeyIsKeyMismatch) {
  auto r = Verify(SignAttestation(statement_, other_));
  ExpectReason(r, Code::kPermissionDenied, "ATTESTATION_KEY_MISMATCH");
  EXPECT_NE(r.status().message().find("cloned or counterfeit"), std::string::npos)
      << r.status().message();
}

TEST_F(AttestationTest, BadSignatureWithMatchingHint) {
  // Signed by another key but claiming the registered one.
  pb::Attestation a = SignAttestation(statement_, other_);
  a.set_public_key(Str(device_.public_key()));
  ExpectReason(Verify(a), Code::kPermissionDenied, "BAD_ATTESTATION_SIGNATURE");

  // The right key, a flipped signature bit.
  a = SignAttestation(statement_, device_);
  std::string sig = a.signature();
  sig[10] ^= 0x01;
  a.set_signature(sig);
  ExpectReason(Verify(a), Code::kPermissionDenied, "BAD_ATTESTATION_SIGNATURE");

  // The right key, a changed statement (another serial).
  a = SignAttestation(statement_, device_);
  pb::AttestationStatement changed = statement_;
  changed.set_serial("SN-2");
  a.set_statement(changed.SerializeAsString());
  ExpectReason(Verify(a), Code::kPermissionDenied, "BAD_ATTESTATION_SIGNATURE");

  // No hint at all.
  a = SignAttestation(statement_, other_);
  a.clear_public_key();
  ExpectReason(Verify(a), Code::kPermissionDenied, "BAD_ATTESTATION_SIGNATURE");
}

TEST_F(AttestationTest, NonceMismatchIsReplay) {
  pb::Attestation a = SignAttestation(statement_, device_);
  std::array<uint8_t, 32> fresh;
  fresh.fill(0x43);
  auto r = VerifyAttestation(a, device_.public_key(), fresh, kNow);
  ExpectReason(r, Code::kPermissionDenied, "NONCE_MISMATCH");
  EXPECT_NE(r.status().message().find("replayed"), std::string::npos);
  // An expected nonce of the wrong size never matches.
  ExpectReason(VerifyAttestation(a, device_.public_key(), ByteView(nonce_).first(31), kNow),
               Code::kPermissionDenied, "NONCE_MISMATCH");
}

TEST_F(AttestationTest, StaleAtExactBoundaries) {
  auto at = [&](int64_t t) {
    statement_.set_time(t);
    return Verify(SignAttestation(statement_, device_));
  };
  EXPECT_TRUE(at(kNow - kMaxAttestationAgeSeconds).ok());
  ExpectReason(at(kNow - kMaxAttestationAgeSeconds - 1), Code::kPermissionDenied,
               "STALE_ATTESTATION");
  EXPECT_TRUE(at(kNow + 60).ok());
  ExpectReason(at(kNow + 61), Code::kPermissionDenied, "STALE_ATTESTATION");
  ExpectReason(at(INT64_MIN), Code::kPermissionDenied, "STALE_ATTESTATION");
  ExpectReason(at(INT64_MAX), Code::kPermissionDenied, "STALE_ATTESTATION");

  // A caller-chosen maximum age.
  statement_.set_time(kNow - 10);
  pb::Attestation a = SignAttestation(statement_, device_);
  EXPECT_TRUE(VerifyAttestation(a, device_.public_key(), nonce_, kNow, 10).ok());
  ExpectReason(VerifyAttestation(a, device_.public_key(), nonce_, kNow, 9), Code::kPermissionDenied,
               "STALE_ATTESTATION");
}

TEST_F(AttestationTest, MalformedBytes) {
  ExpectReason(Verify(SignRaw("\xff\xff\xff", device_)), Code::kInvalidArgument,
               "MALFORMED_ATTESTATION");
  // Truncated statement.
  std::string bytes = statement_.SerializeAsString();
  ExpectReason(Verify(SignRaw(bytes.substr(0, bytes.size() - 3), device_)), Code::kInvalidArgument,
               "MALFORMED_ATTESTATION");
}

TEST_F(AttestationTest, UnknownFieldsAreMalformed) {
  // Field 99, varint 1, appended to the statement and validly signed.
  std::string bytes = statement_.SerializeAsString() + "\x98\x06\x01";
  ExpectReason(Verify(SignRaw(bytes, device_)), Code::kInvalidArgument, "MALFORMED_ATTESTATION");

  // An unknown field in the Attestation envelope itself.
  pb::Attestation a;
  ASSERT_TRUE(
      a.ParseFromString(SignAttestation(statement_, device_).SerializeAsString() + "\x98\x06\x01"));
  ExpectReason(Verify(a), Code::kInvalidArgument, "MALFORMED_ATTESTATION");
}

TEST_F(AttestationTest, WrongSizesAreMalformed) {
  pb::AttestationStatement s = statement_;
  s.set_nonce(std::string(31, 'n'));
  ExpectReason(Verify(SignAttestation(s, device_)), Code::kInvalidArgument,
               "MALFORMED_ATTESTATION");
  s.set_nonce("");
  ExpectReason(Verify(SignAttestation(s, device_)), Code::kInvalidArgument,
               "MALFORMED_ATTESTATION");

  s = statement_;
  s.set_firmware_sha256(std::string(33, 'h'));
  ExpectReason(Verify(SignAttestation(s, device_)), Code::kInvalidArgument,
               "MALFORMED_ATTESTATION");

  pb::Attestation a = SignAttestation(statement_, device_);
  a.set_signature(a.signature().substr(0, 63));
  ExpectReason(Verify(a), Code::kInvalidArgument, "MALFORMED_ATTESTATION");

  a = SignAttestation(statement_, device_);
  a.set_public_key(std::string(31, 'k'));
  ExpectReason(Verify(a), Code::kInvalidArgument, "MALFORMED_ATTESTATION");
}

TEST_F(AttestationTest, ChecksComeInDocumentedOrder) {
  // Malformed before the key: a wrong-size nonce signed by another key.
  pb::AttestationStatement s = statement_;
  s.set_nonce("short");
  ExpectReason(Verify(SignAttestation(s, other_)), Code::kInvalidArgument, "MALFORMED_ATTESTATION");
  // The key before the nonce and the time.
  s = statement_;
  s.set_nonce(std::string(32, 'x'));
  s.set_time(0);
  ExpectReason(Verify(SignAttestation(s, other_)), Code::kPermissionDenied,
               "ATTESTATION_KEY_MISMATCH");
  // The nonce before the time.
  ExpectReason(Verify(SignAttestation(s, device_)), Code::kPermissionDenied, "NONCE_MISMATCH");
}

TEST_F(AttestationTest, RecordDomainSignatureDoesNotVerify) {
  const std::string bytes = statement_.SerializeAsString();
  pb::Attestation a;
  a.set_statement(bytes);
  a.set_public_key(Str(device_.public_key()));

  // PAE with the record payload type, by the right key over the same bytes.
  a.set_signature(Str(device_.Sign(PreAuthEncoding(kRecordPayloadType, AsBytes(bytes)))));
  ExpectReason(Verify(a), Code::kPermissionDenied, "BAD_ATTESTATION_SIGNATURE");

  // A bare signature over the statement, without PAE.
  a.set_signature(Str(device_.Sign(AsBytes(bytes))));
  ExpectReason(Verify(a), Code::kPermissionDenied, "BAD_ATTESTATION_SIGNATURE");

  // And the real one does.
  a.set_signature(Str(device_.Sign(PreAuthEncoding(kAttestationPayloadType, AsBytes(bytes)))));
  EXPECT_TRUE(Verify(a).ok());
}

}  // namespace
}  // namespace verifier
