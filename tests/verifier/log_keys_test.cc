// Following a log's key rotations (verifier/log_keys.h): a chain from the
// pinned key, each rotation signed by the key before it; every way a chain
// can be broken or forged is refused as DATA_LOSS.
#include "verifier/log_keys.h"

#include <gtest/gtest.h>

#include <array>

#include "records/records.h"
#include "verifier/rules.h"

namespace verifier {
namespace {

namespace pb = provenance::v1;

constexpr char kOrigin[] = "ledger.example/cams";

SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

NoteVerifier Verifier(const SigningKey& k) {
  return *ParseVerifierKey(FormatVerifierKey(kOrigin, k.public_key()));
}

RotationLeaf Rotation(uint64_t index, const SigningKey& from, const SigningKey& to,
                      std::vector<const SigningKey*> signers, uint64_t from_size = 0) {
  pb::Record r;
  r.set_issued_at(1'700'000'000);
  auto* k = r.mutable_log_key_rotation();
  k->set_origin(kOrigin);
  k->set_old_key(FormatVerifierKey(kOrigin, from.public_key()));
  k->set_new_key(FormatVerifierKey(kOrigin, to.public_key()));
  k->set_from_size(from_size ? from_size : index + 1);
  return {index, records::SignRecordBytes(r, signers)};
}

class LogKeysTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }
  SigningKey k1_ = KeyFromByte(1), k2_ = KeyFromByte(2), k3_ = KeyFromByte(3);
  SigningKey evil_ = KeyFromByte(66);
};

TEST_F(LogKeysTest, FollowsTheChainFromThePinnedKey) {
  auto eras = FollowLogKeyRotations(
      Verifier(k1_), kOrigin,
      {Rotation(10, k1_, k2_, {&k1_, &k2_}), Rotation(20, k2_, k3_, {&k2_, &k3_})});
  ASSERT_TRUE(eras.ok()) << eras.status().ToString();
  ASSERT_EQ(eras->size(), 3u);
  EXPECT_EQ(EraForSize(*eras, 10).key.public_key, k1_.public_key());
  EXPECT_EQ(EraForSize(*eras, 11).key.public_key, k2_.public_key());
  EXPECT_EQ(EraForSize(*eras, 20).key.public_key, k2_.public_key());
  EXPECT_EQ(EraForSize(*eras, 21).key.public_key, k3_.public_key());
  EXPECT_EQ(*(*eras)[2].index, 20u);
  // No rotations: the pinned key alone.
  auto none = FollowLogKeyRotations(Verifier(k1_), kOrigin, {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->size(), 1u);
}

TEST_F(LogKeysTest, AClientThatPinnedALaterKeyStartsThere) {
  auto eras = FollowLogKeyRotations(
      Verifier(k2_), kOrigin,
      {Rotation(10, k1_, k2_, {&k1_, &k2_}), Rotation(20, k2_, k3_, {&k2_, &k3_})});
  ASSERT_TRUE(eras.ok()) << eras.status().ToString();
  ASSERT_EQ(eras->size(), 2u);
  EXPECT_EQ((*eras)[0].from_size, 11u);
  EXPECT_EQ(EraForSize(*eras, 25).key.public_key, k3_.public_key());
}

TEST_F(LogKeysTest, ARotationTheOldKeyDidNotSignIsRefused) {
  // The attacker names the pinned key as the old one, but cannot sign for it.
  auto forged = FollowLogKeyRotations(Verifier(k1_), kOrigin, {Rotation(10, k1_, evil_, {&evil_})});
  EXPECT_EQ(forged.status().reason(), "ROTATION_NOT_SIGNED");
  EXPECT_EQ(forged.status().code(), Code::kDataLoss);
  // The old key signed, but the new key did not.
  auto unpossessed =
      FollowLogKeyRotations(Verifier(k1_), kOrigin, {Rotation(10, k1_, k2_, {&k1_})});
  EXPECT_EQ(unpossessed.status().reason(), "BAD_ROTATION");
}

TEST_F(LogKeysTest, ABrokenChainIsRefused) {
  // The second rotation does not start from the key the first announced.
  auto broken = FollowLogKeyRotations(
      Verifier(k1_), kOrigin,
      {Rotation(10, k1_, k2_, {&k1_, &k2_}), Rotation(20, evil_, k3_, {&evil_, &k3_})});
  EXPECT_EQ(broken.status().reason(), "BAD_ROTATION_CHAIN");
  // Out of order.
  auto backwards = FollowLogKeyRotations(
      Verifier(k1_), kOrigin,
      {Rotation(20, k1_, k2_, {&k1_, &k2_}), Rotation(10, k2_, k3_, {&k2_, &k3_})});
  EXPECT_EQ(backwards.status().reason(), "BAD_ROTATION_CHAIN");
  // Taking effect anywhere but right after its own leaf.
  auto late =
      FollowLogKeyRotations(Verifier(k1_), kOrigin, {Rotation(10, k1_, k2_, {&k1_, &k2_}, 50)});
  EXPECT_EQ(late.status().reason(), "BAD_ROTATION");
  // Not a rotation at all, or not a record.
  auto law = FollowLogKeyRotations(
      Verifier(k1_), kOrigin,
      {{10, records::SignRecordBytes(records::LawRecord(1'700'000'000, "X-1", "x", "GB", "s"),
                                     {&k1_})}});
  EXPECT_EQ(law.status().reason(), "BAD_ROTATION");
  auto junk = FollowLogKeyRotations(Verifier(k1_), kOrigin, {{10, "not a record"}});
  EXPECT_EQ(junk.status().reason(), "BAD_ROTATION");
  // Another log's rotation.
  auto foreign = FollowLogKeyRotations(
      *ParseVerifierKey(FormatVerifierKey("other.example/log", k1_.public_key())),
      "other.example/log", {Rotation(10, k1_, k2_, {&k1_, &k2_})});
  EXPECT_EQ(foreign.status().reason(), "BAD_ROTATION");
}

TEST_F(LogKeysTest, TheStaticFileRoundTripsAndRefusesAnythingElse) {
  std::vector<RotationLeaf> rotations = {Rotation(10, k1_, k2_, {&k1_, &k2_}),
                                         Rotation(20, k2_, k3_, {&k2_, &k3_})};
  const std::string text = FormatLogKeyRotations(rotations);
  auto parsed = ParseLogKeyRotations(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].index, 20u);
  EXPECT_EQ((*parsed)[1].leaf, rotations[1].leaf);
  EXPECT_TRUE(ParseLogKeyRotations("")->empty());
  for (const char* bad : {"10 AAAA", "x AAAA\n", "10\n", " AAAA\n", "10 !!!\n", "10  AAAA\n"}) {
    EXPECT_EQ(ParseLogKeyRotations(bad).status().reason(), "MALFORMED_ROTATIONS") << bad;
  }
}

TEST_F(LogKeysTest, NoteSizeReadsTheCheckpointWithoutTrustingIt) {
  Checkpoint c{kOrigin, 42, {}, {}};
  std::string note = SignNote(FormatCheckpoint(c), kOrigin, k1_);
  auto size = NoteSize(note);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 42u);
  EXPECT_FALSE(NoteSize("garbage").ok());
}

}  // namespace
}  // namespace verifier
