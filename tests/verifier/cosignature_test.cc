// Tests for verifier/cosignature.h (C2SP tlog-cosignature v1, Ed25519).
//
// Known answers: the cosignature line below was computed by an independent
// implementation written from the spec text with Go's crypto/ed25519
// (tests/interop/cosignature_interop.go, `cosign`), for the checkpoint of the
// spec's example, seed 00 01 .. 1f, name witness.example.com/w1 and the
// spec's example time 1679315147 (docs/witness.md, "Test vectors"). The vkey
// remora.n621.de+da77ade7+... is a real witness key from the tests of
// github.com/transparency-dev/formats (note/note_cosigv1_test.go), and the
// timestamps of the spec's example line and of that package's
// TestCosignatureTimestamp vector are decoded here.
#include "verifier/cosignature.h"

#include <gtest/gtest.h>

#include <string>

#include "verifier/merkle.h"
#include "verifier/note.h"

namespace verifier {
namespace {

const bool kCryptoReady = (InitCrypto(), true);

constexpr std::string_view kEmDash = "\xe2\x80\x94";
constexpr std::string_view kSpecCheckpoint =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr std::string_view kKatName = "witness.example.com/w1";
constexpr uint64_t kKatTime = 1679315147;
constexpr std::string_view kKatVkey =
    "witness.example.com/w1+a0059f11+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
constexpr std::string_view kKatLineBase64 =
    "oAWfEQAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/"
    "l73euDMQ9k+bBQ==";

SigningKey KatKey() {
  Bytes seed;
  for (int i = 0; i < 32; ++i) seed.push_back(static_cast<uint8_t>(i));
  return *SigningKey::FromSeed(seed);
}

std::string KatLine() {
  return std::string(kEmDash) + " " + std::string(kKatName) + " " + std::string(kKatLineBase64) +
         "\n";
}

// A checkpoint note signed by a log key.
struct LogFixture {
  SigningKey key = SigningKey::Generate();
  std::string origin = "prov.example/log";
  std::string Note(uint64_t size = 5) const {
    Checkpoint c;
    c.origin = origin;
    c.size = size;
    c.root = Sha256(std::to_string(size));
    c.extensions = {TimestampExtension(1'700'000'000'000'000'000)};
    return SignNote(FormatCheckpoint(c), origin, key);
  }
};

std::string TextOf(const std::string& note) { return ParseNote(note)->text; }

TEST(CosignatureKeys, KnownAnswerVkey) {
  EXPECT_EQ(FormatWitnessKey(kKatName, KatKey().public_key()), kKatVkey);
  auto w = ParseWitnessKey(kKatVkey);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->name, kKatName);
  EXPECT_EQ(w->key_hash, 0xa0059f11u);
  EXPECT_EQ(w->public_key, KatKey().public_key());
}

TEST(CosignatureKeys, ParsesTransparencyDevWitnessKey) {
  auto w = ParseWitnessKey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->key_hash, 0xda77ade7u);
  EXPECT_EQ(FormatWitnessKey(w->name, w->public_key),
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
}

TEST(CosignatureKeys, KeyHashDiffersFromTheLogKeyHash) {
  auto pub = KatKey().public_key();
  EXPECT_NE(CosignatureKeyHash(kKatName, pub), NoteKeyHash(kKatName, pub));
}

TEST(CosignatureKeys, RejectsMalformedKeys) {
  struct Case {
    std::string vkey, reason;
  };
  std::string good(kKatVkey);
  std::string material = good.substr(good.find('+', good.find('+') + 1) + 1);
  for (const auto& c : std::vector<Case>{
           {"", "MALFORMED_WITNESS_KEY"},
           {"name+a0059f11", "MALFORMED_WITNESS_KEY"},
           {"+a0059f11+" + material, "MALFORMED_WITNESS_KEY"},
           {"bad name+a0059f11+" + material, "MALFORMED_WITNESS_KEY"},
           {"witness.example.com/w1+a0059f1+" + material, "MALFORMED_WITNESS_KEY"},
           {"witness.example.com/w1+a0059fzz+" + material, "MALFORMED_WITNESS_KEY"},
           {"witness.example.com/w1+00000000+" + material, "MALFORMED_WITNESS_KEY"},
           {"witness.example.com/w1+a0059f11+!!!!", "MALFORMED_WITNESS_KEY"},
           {"witness.example.com/w1+a0059f11+BAOh", "MALFORMED_WITNESS_KEY"},
           // A log (type 0x01) key from Go's note tests.
           {"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "WRONG_KEY_TYPE"},
       }) {
    auto w = ParseWitnessKey(c.vkey);
    ASSERT_FALSE(w.ok()) << c.vkey;
    EXPECT_EQ(w.status().reason(), c.reason) << c.vkey << ": " << w.status().ToString();
  }
}

TEST(Cosignature, MessageLayoutIsTheSpecs) {
  EXPECT_EQ(CosignatureMessage(kSpecCheckpoint, kKatTime),
            "cosignature/v1\ntime 1679315147\n" + std::string(kSpecCheckpoint));
  EXPECT_EQ(CosignatureMessage("a\n1\nb\n", 0), "cosignature/v1\ntime 0\na\n1\nb\n");
}

TEST(Cosignature, KnownAnswerLine) {
  auto line = CosignCheckpoint(kSpecCheckpoint, kKatName, KatKey(), kKatTime);
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  EXPECT_EQ(*line, KatLine());
  auto w = ParseWitnessKey(kKatVkey);
  auto t = VerifyCosignature(std::string(kSpecCheckpoint) + "\n" + KatLine(), *w);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, kKatTime);
}

TEST(Cosignature, DecodesTimestampsOfPublishedLines) {
  // The spec's example cosignature line and transparency-dev/formats' vector.
  auto spec = ParseNote(std::string(kSpecCheckpoint) + "\n" + std::string(kEmDash) +
                        " witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/"
                        "zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->signatures.size(), 1u);
  ASSERT_EQ(spec->signatures[0].signature.size(), 72u);
  auto time_of = [](const Bytes& sig) {
    uint64_t t = 0;
    for (int i = 0; i < 8; ++i) t = (t << 8) | sig[i];
    return t;
  };
  EXPECT_EQ(time_of(spec->signatures[0].signature), 1679315147u);
  auto tdev = ParseNote(std::string(kSpecCheckpoint) + "\n" + std::string(kEmDash) +
                        " w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+"
                        "8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==\n");
  ASSERT_TRUE(tdev.ok());
  EXPECT_EQ(tdev->signatures[0].key_hash, 0x646846b9u);
  EXPECT_EQ(time_of(tdev->signatures[0].signature), 1727964367u);
}

TEST(Cosignature, CoversExtensionLines) {
  LogFixture log;
  std::string note = log.Note();
  SigningKey wk = SigningKey::Generate();
  auto w = *ParseWitnessKey(FormatWitnessKey("w.example/1", wk.public_key()));
  auto line = CosignCheckpoint(TextOf(note), w.name, wk, 1700000000);
  ASSERT_TRUE(line.ok());
  auto cosigned = AddSignatureLines(note, *line);
  ASSERT_TRUE(cosigned.ok()) << cosigned.status().ToString();
  EXPECT_EQ(*VerifyCosignature(*cosigned, w), 1700000000u);
  // The log's signature still verifies: cosignatures are extra lines.
  ASSERT_TRUE(VerifyCheckpoint(
                  *cosigned, *ParseVerifierKey(FormatVerifierKey(log.origin, log.key.public_key())),
                  log.origin)
                  .ok());
  std::string changed = *cosigned;
  changed.replace(changed.find("Timestamp: 1"), 12, "Timestamp: 2");
  EXPECT_EQ(VerifyCosignature(changed, w).status().reason(), "BAD_COSIGNATURE");
}

TEST(Cosignature, RejectsTamperedWrongKeyAndMissing) {
  auto w = *ParseWitnessKey(kKatVkey);
  std::string note = std::string(kSpecCheckpoint) + "\n" + KatLine();
  // Another size in the body.
  std::string other = note;
  other.replace(other.find("20852163"), 8, "20852164");
  EXPECT_EQ(VerifyCosignature(other, w).status().reason(), "BAD_COSIGNATURE");
  // A changed timestamp byte (the time is signed).
  auto parsed = *ParseNote(note);
  NoteSignature sig = parsed.signatures[0];
  sig.signature[7] ^= 1;
  std::string retimed = parsed.text + "\n" + FormatSignatureLine(sig);
  EXPECT_EQ(VerifyCosignature(retimed, w).status().reason(), "BAD_COSIGNATURE");
  // The same name and key hash but another key: its signature is checked.
  WitnessVerifier impostor = w;
  impostor.public_key = SigningKey::Generate().public_key();
  EXPECT_EQ(VerifyCosignature(note, impostor).status().reason(), "BAD_COSIGNATURE");
  // Another witness: not found, not an error of the note.
  auto other_w = *ParseWitnessKey(FormatWitnessKey("w2", SigningKey::Generate().public_key()));
  auto r = VerifyCosignature(note, other_w);
  EXPECT_EQ(r.status().reason(), "NO_COSIGNATURE");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  // Same name, another key hash: ignored (as the signed-note spec requires).
  WitnessVerifier other_hash = w;
  other_hash.key_hash ^= 1;
  EXPECT_EQ(VerifyCosignature(note, other_hash).status().reason(), "NO_COSIGNATURE");
  // A log signature (type 0x01) by the same key is not a cosignature.
  auto key = KatKey();
  std::string log_signed = SignNote(kSpecCheckpoint, kKatName, key);
  EXPECT_EQ(VerifyCosignature(log_signed, w).status().reason(), "NO_COSIGNATURE");
}

TEST(Cosignature, RejectsMalformedCosignatures) {
  auto w = *ParseWitnessKey(kKatVkey);
  auto parsed = *ParseNote(std::string(kSpecCheckpoint) + "\n" + KatLine());
  NoteSignature shortsig = parsed.signatures[0];
  shortsig.signature.pop_back();
  EXPECT_EQ(
      VerifyCosignature(parsed.text + "\n" + FormatSignatureLine(shortsig), w).status().reason(),
      "MALFORMED_COSIGNATURE");
  NoteSignature future = parsed.signatures[0];
  future.signature[0] = 0x80;  // 2^63 and beyond
  EXPECT_EQ(
      VerifyCosignature(parsed.text + "\n" + FormatSignatureLine(future), w).status().reason(),
      "MALFORMED_COSIGNATURE");
  EXPECT_EQ(VerifyCosignature("not a note", w).status().reason(), "MALFORMED_NOTE");
}

TEST(Cosignature, SignRejectsBadInput) {
  auto key = KatKey();
  EXPECT_EQ(CosignCheckpoint("not a checkpoint\n", kKatName, key, 1).status().reason(),
            "MALFORMED_CHECKPOINT");
  EXPECT_EQ(CosignCheckpoint(kSpecCheckpoint, "bad name", key, 1).status().reason(),
            "MALFORMED_WITNESS_KEY");
  EXPECT_EQ(
      CosignCheckpoint(kSpecCheckpoint, kKatName, key, kMaxCosignatureTime + 1).status().reason(),
      "BAD_TIMESTAMP");
  EXPECT_TRUE(CosignCheckpoint(kSpecCheckpoint, kKatName, key, kMaxCosignatureTime).ok());
}

TEST(Cosignature, LatestOfTwoCosignaturesByOneKey) {
  auto key = KatKey();
  auto w = *ParseWitnessKey(kKatVkey);
  std::string note = std::string(kSpecCheckpoint) + "\n" + KatLine();
  auto later = *CosignCheckpoint(kSpecCheckpoint, kKatName, key, kKatTime + 10);
  auto both = AddSignatureLines(note, later);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(*VerifyCosignature(*both, w), kKatTime + 10);
}

TEST(SignatureLines, AddSkipsDuplicatesAndRejectsMalformed) {
  std::string note = std::string(kSpecCheckpoint) + "\n" + KatLine();
  auto same = AddSignatureLines(note, KatLine());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, note);
  for (std::string bad :
       {std::string(""), std::string("no newline"), std::string("- ascii dash AAAAAAA=\n"),
        KatLine() + "\n", std::string(kEmDash) + " name !!!!\n",
        std::string(kEmDash) + " name AAAA\n"}) {
    auto r = AddSignatureLines(note, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().reason(), "MALFORMED_NOTE") << bad;
  }
  EXPECT_EQ(AddSignatureLines("garbage", KatLine()).status().reason(), "MALFORMED_NOTE");
}

TEST(SignatureLines, AddRefusesMoreThanOneHundredSignatures) {
  std::string note = std::string(kSpecCheckpoint) + "\n" + KatLine();
  std::string lines;
  for (int i = 0; i < 100; ++i) {
    lines += *CosignCheckpoint(kSpecCheckpoint, "w" + std::to_string(i), KatKey(), 1);
  }
  auto r = AddSignatureLines(note, lines);
  EXPECT_EQ(r.status().reason(), "MALFORMED_NOTE");
}

TEST(SignatureLines, ListsByKeyHash) {
  LogFixture log;
  std::string note = log.Note();
  SigningKey a = SigningKey::Generate(), b = SigningKey::Generate();
  std::string lines = *CosignCheckpoint(TextOf(note), "a", a, 1) +
                      *CosignCheckpoint(TextOf(note), "b", b, 2) +
                      *CosignCheckpoint(TextOf(note), "a", a, 3);
  auto parsed = ParseNote(*AddSignatureLines(note, lines));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->signatures.size(), 4u);
  auto by_a = SignaturesByKeyHash(*parsed, CosignatureKeyHash("a", a.public_key()));
  ASSERT_EQ(by_a.size(), 2u);
  EXPECT_EQ(by_a[0].signature[7], 1);
  EXPECT_EQ(by_a[1].signature[7], 3);
  EXPECT_EQ(SignaturesByKeyHash(*parsed, NoteKeyHash(log.origin, log.key.public_key())).size(), 1u);
  EXPECT_TRUE(SignaturesByKeyHash(*parsed, 0).empty());
}

TEST(ParseNote, RoundTripsSignatureLines) {
  auto parsed = ParseNote(std::string(kSpecCheckpoint) + "\n" + KatLine());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->text, kSpecCheckpoint);
  EXPECT_EQ(FormatSignatureLine(parsed->signatures[0]), KatLine());
  EXPECT_EQ(ParseNote("a\n\nb\n\n" + KatLine()).status().reason(), "MALFORMED_NOTE");
  EXPECT_EQ(ParseNote("a\x01\n\n" + KatLine()).status().reason(), "MALFORMED_NOTE");
  EXPECT_EQ(ParseNote("a\n\n").status().reason(), "MALFORMED_NOTE");
}

}  // namespace
}  // namespace verifier
