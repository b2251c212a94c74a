// Tests for verifier/note.h: signed notes against the known answers of Go's
// golang.org/x/mod/sumdb/note tests (note_test.go), and checkpoints.
#include "verifier/note.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace verifier {
namespace {

const bool kCryptoReady = (InitCrypto(), true);

// From golang.org/x/mod/sumdb/note/note_test.go.
constexpr std::string_view kPeterSkey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kPeterVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kEnochVkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterSig =
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochSig =
    "\xe2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

std::string S(std::string_view s) { return std::string(s); }

NoteVerifier Peter() {
  auto v = ParseVerifierKey(kPeterVkey);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return *v;
}
NoteVerifier Enoch() {
  auto v = ParseVerifierKey(kEnochVkey);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return *v;
}

// Inserts "ABCD" at byte 60 of a signature line, as Go's test does.
std::string Mangle(std::string_view sig) {
  std::string s(sig);
  s.insert(60, "ABCD");
  return s;
}

// ---------------------------------------------------------------------------
// Keys.

TEST(NoteKeys, GoKnownAnswers) {
  auto signer = ParseSignerKey(kPeterSkey);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  const auto& [name, key] = *signer;
  EXPECT_EQ(name, "PeterNeumann");
  EXPECT_EQ(NoteKeyHash(name, key.public_key()), 0xc74f20a3u);
  EXPECT_EQ(FormatVerifierKey(name, key.public_key()), kPeterVkey);
  EXPECT_EQ(FormatSignerKey(name, key), kPeterSkey);

  NoteVerifier v = Peter();
  EXPECT_EQ(v.name, "PeterNeumann");
  EXPECT_EQ(v.key_hash, 0xc74f20a3u);
  EXPECT_EQ(v.public_key, key.public_key());

  NoteVerifier e = Enoch();
  EXPECT_EQ(e.name, "EnochRoot");
  EXPECT_EQ(e.key_hash, 0xaf0cfe78u);
  EXPECT_EQ(NoteKeyHash(e.name, e.public_key), 0xaf0cfe78u);
  EXPECT_EQ(FormatVerifierKey(e.name, e.public_key), kEnochVkey);
}

TEST(NoteKeys, GeneratedKeysRoundTrip) {
  SigningKey key = SigningKey::Generate();
  std::string skey = FormatSignerKey("example.com/log", key);
  std::string vkey = FormatVerifierKey("example.com/log", key.public_key());
  auto s = ParseSignerKey(skey);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->first, "example.com/log");
  EXPECT_EQ(s->second.public_key(), key.public_key());
  auto v = ParseVerifierKey(vkey);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->public_key, key.public_key());
  EXPECT_EQ(v->key_hash, NoteKeyHash("example.com/log", key.public_key()));
}

// Go's TestNewVerifier / TestNewSigner: every proper substring and every
// single-byte increment of a valid key is refused.
TEST(NoteKeys, ManglingsRejected) {
  auto check = [](std::string_view key, auto parse) {
    int tried = 0;
    for (size_t i = 0; i <= key.size(); ++i) {
      for (size_t j = i + 1; j <= key.size(); ++j) {
        if (i == 0 && j == key.size()) continue;
        std::string_view sub = key.substr(i, j - i);
        EXPECT_FALSE(parse(sub)) << '"' << sub << '"';
        ++tried;
      }
    }
    std::string b(key);
    for (size_t i = 0; i < b.size(); ++i) {
      b[i]++;
      EXPECT_FALSE(parse(b)) << '"' << b << '"';
      b[i]--;
      ++tried;
    }
    EXPECT_TRUE(parse(key));
    return tried;
  };
  EXPECT_GT(check(kPeterVkey, [](std::string_view k) { return ParseVerifierKey(k).ok(); }),
            2000);
  EXPECT_GT(check(kPeterSkey, [](std::string_view k) { return ParseSignerKey(k).ok(); }),
            2000);
  // Wrong key length / unknown algorithm, each with a matching key hash.
  EXPECT_FALSE(ParseVerifierKey(
                   "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
                   .ok());
  EXPECT_FALSE(
      ParseVerifierKey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .ok());
  // Names Go refuses: spaces (ASCII or Unicode), '+', invalid UTF-8, empty.
  SigningKey k = SigningKey::Generate();
  for (std::string bad : {std::string("a b"), std::string("a\tb"), std::string("a\nb"),
                          std::string("a\xc2\xa0" "b"), std::string("a\xe3\x80\x80" "b"),
                          std::string("a\xff" "b"), std::string("\xc3"), std::string("")}) {
    uint32_t h = NoteKeyHash(bad, k.public_key());
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", h);
    Bytes data{0x01};
    data.insert(data.end(), k.public_key().begin(), k.public_key().end());
    std::string vkey = bad + "+" + hex + "+" + Base64Encode(data);
    EXPECT_FALSE(ParseVerifierKey(vkey).ok()) << '"' << bad << '"';
  }
  // Non-ASCII names that are valid UTF-8 without spaces are fine.
  std::string vkey = FormatVerifierKey("caf\xc3\xa9.example", k.public_key());
  EXPECT_TRUE(ParseVerifierKey(vkey).ok());
}

// ---------------------------------------------------------------------------
// Signing and opening.

TEST(NoteSign, MatchesGoByteForByte) {
  auto signer = ParseSignerKey(kPeterSkey);
  ASSERT_TRUE(signer.ok());
  std::string want = S(kText) + "\n" + S(kPeterSig);
  EXPECT_EQ(SignNote(kText, signer->first, signer->second), want);
  auto opened = OpenNote(want, Peter());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, kText);
}

TEST(NoteOpen, AcceptsGoNotes) {
  std::string both = S(kText) + "\n" + S(kPeterSig) + S(kEnochSig);
  // One verified, one by a key we do not know: fine.
  auto n = OpenNote(both, Peter());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, kText);
  n = OpenNote(both, Enoch());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, kText);
  // Repeated signatures and a mangled signature by another key are ignored.
  std::string dup = S(kText) + "\n" + S(kPeterSig) + S(kPeterSig) + S(kEnochSig) +
                    S(kEnochSig) + Mangle(kEnochSig);
  n = OpenNote(dup, Peter());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, kText);
  // The mangled Enoch signature is an error once Enoch is the verifier.
  EXPECT_FALSE(OpenNote(dup, Enoch()).ok());
}

TEST(NoteOpen, RejectsUnverifiedAndInvalid) {
  // Only some other key signed.
  auto n = OpenNote(S(kText) + "\n" + S(kEnochSig), Peter());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().reason(), "UNVERIFIED_NOTE");
  // Invalid signature by our key (Go: "invalid signature for key").
  n = OpenNote(S(kText) + "\n" + Mangle(kPeterSig), Peter());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().reason(), "BAD_NOTE_SIGNATURE");
  // Wrong key hash in the signature: not ours, so unverified.
  std::string wrong_hash = S(kPeterSig);
  wrong_hash.replace(wrong_hash.find("x08g"), 4, "xxxx");
  n = OpenNote(S(kText) + "\n" + wrong_hash, Peter());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().reason(), "UNVERIFIED_NOTE");
  // Another name with the same signature: not ours.
  std::string misnamed = S(kPeterSig);
  misnamed.replace(misnamed.find("PeterNeumann"), 12, "CarmenSandiego");
  EXPECT_FALSE(OpenNote(S(kText) + "\n" + misnamed, Peter()).ok());
}

TEST(NoteOpen, RejectsTamperedTextAndWrongKeys) {
  std::string good = S(kText) + "\n" + S(kPeterSig);
  ASSERT_TRUE(OpenNote(good, Peter()).ok());
  // Every single-byte change to the text.
  for (size_t i = 0; i < kText.size(); ++i) {
    std::string bad = good;
    bad[i] = bad[i] == 'x' ? 'y' : 'x';
    EXPECT_FALSE(OpenNote(bad, Peter()).ok()) << "byte " << i;
  }
  // A line added to or dropped from the text.
  EXPECT_FALSE(OpenNote("extra\n" + good, Peter()).ok());
  EXPECT_FALSE(OpenNote(good.substr(good.find('\n') + 1), Peter()).ok());
  // Another key under the same name: its hash differs, so nothing verifies.
  SigningKey other = SigningKey::Generate();
  auto v = ParseVerifierKey(FormatVerifierKey("PeterNeumann", other.public_key()));
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(OpenNote(good, *v).ok());
  // Same name and key hash but another public key: the signature is bad.
  NoteVerifier forged = Peter();
  forged.public_key = other.public_key();
  auto r = OpenNote(good, forged);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "BAD_NOTE_SIGNATURE");
  // A note signed by another key under Peter's name is refused.
  std::string impostor = SignNote(kText, "PeterNeumann", other);
  EXPECT_FALSE(OpenNote(impostor, Peter()).ok());
}

TEST(NoteOpen, RejectsMalformedNotes) {
  const std::string text(kText), peter(kPeterSig);
  // Go's badMsgs, then a few more.
  const std::vector<std::string> bad = {
      text,
      text + "\n",
      text + "\n" + peter.substr(0, peter.size() - 1),
      "\x01" + text + "\n" + peter,
      "\xff" + text + "\n" + peter,
      text + "\n" + "\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
      text + "\n" + peter + "Unexpected line.\n",
      "",
      "\n",
      "\n\n" + peter,
      text + "\n\n" + peter,                        // blank line before the block
      "a\n\nb\n\n" + peter,                         // blank line inside the text
      text + "\n" + peter + "\n",                   // blank line after the block
      text + "\n" + "- PeterNeumann " + peter.substr(peter.rfind(' ') + 1),  // hyphen
      text + "\n" + "\xe2\x80\x94 PeterNeumann\n",  // no signature
      text + "\n" + "\xe2\x80\x94 PeterNeumann !!!!\n",  // not base64
      text + "\n" + "\xe2\x80\x94 PeterNeumann AAAA\n",  // shorter than 5 bytes
      text + "\n" + "\xe2\x80\x94 Peter+Neumann " + peter.substr(peter.rfind(' ') + 1),
      text + "\r\n" + peter,
      "a\tb\n\n" + peter,
      "a\x7f\n\n" + peter,
      text + "\n" + peter.substr(0, 60) + "\xc3" + peter.substr(60),
  };
  for (const auto& msg : bad) {
    auto r = OpenNote(msg, Peter());
    EXPECT_FALSE(r.ok()) << '"' << msg << '"';
  }
  // The ones Go calls "malformed note" are malformed here too.
  for (size_t i = 0; i < 7; ++i) {
    auto r = OpenNote(bad[i], Peter());
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().reason(), "MALFORMED_NOTE") << i;
  }
  // Invalid UTF-8 anywhere (Go's Open checks this before anything else).
  for (std::string junk : {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                           "\xf4\x90\x80\x80", "\xf0\x9f\x98"}) {
    auto r = OpenNote(junk + text + "\n" + peter, Peter());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().reason(), "MALFORMED_NOTE") << HexEncode(AsBytes(junk));
  }
  // Over 100 signatures (Go refuses these as malformed), and over 1 MiB.
  std::string many = text + "\n";
  for (int i = 0; i < 101; ++i) many += peter;
  auto r = OpenNote(many, Peter());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "MALFORMED_NOTE");
  std::string hundred = text + "\n";
  for (int i = 0; i < 100; ++i) hundred += peter;
  EXPECT_TRUE(OpenNote(hundred, Peter()).ok());
  std::string huge(1 << 20, 'a');
  huge += "\n\n" + peter;
  EXPECT_FALSE(OpenNote(huge, Peter()).ok());
}

TEST(NoteSign, SignedNotesOpen) {
  SigningKey key = SigningKey::Generate();
  auto v = ParseVerifierKey(FormatVerifierKey("log.example/a", key.public_key()));
  ASSERT_TRUE(v.ok());
  for (std::string text : {"x\n", "line one\nline two\n", "caf\xc3\xa9 \xe2\x80\x94 ok\n",
                           "\xf0\x9f\x93\xb7 \xef\xbf\xbd \xf4\x8f\xbf\xbf\n"}) {
    std::string note = SignNote(text, "log.example/a", key);
    auto n = OpenNote(note, *v);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, text);
  }
}

// ---------------------------------------------------------------------------
// Checkpoints.

Checkpoint Sample() {
  Checkpoint c;
  c.origin = "example.com/provenance";
  c.size = 1234567;
  c.root = Sha256(std::string_view("root"));
  return c;
}

TEST(Checkpoint, FormatParseRoundTrip) {
  Checkpoint c = Sample();
  std::string text = FormatCheckpoint(c);
  EXPECT_EQ(text, "example.com/provenance\n1234567\n" + Base64Encode(c.root) + "\n");
  auto p = ParseCheckpoint(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->origin, c.origin);
  EXPECT_EQ(p->size, c.size);
  EXPECT_EQ(p->root, c.root);
  EXPECT_TRUE(p->extensions.empty());

  c.extensions = {"ext one", "\xe2\x80\x94 looks like a sig"};
  text = FormatCheckpoint(c);
  p = ParseCheckpoint(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->extensions, c.extensions);
  EXPECT_EQ(FormatCheckpoint(*p), text);

  for (uint64_t size : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}}) {
    c.size = size;
    p = ParseCheckpoint(FormatCheckpoint(c));
    ASSERT_TRUE(p.ok()) << size;
    EXPECT_EQ(p->size, size);
  }
}

TEST(Checkpoint, ParseRejections) {
  const std::string root = Base64Encode(Sha256(std::string_view("root")));
  const std::string bad_cases[] = {
      "",
      "\n",
      "origin\n",
      "origin\n5\n",                              // no root line
      "origin\n5\n" + root,                       // no final newline
      "\n5\n" + root + "\n",                      // empty origin
      "origin\n\n" + root + "\n",                 // empty size
      "origin\n05\n" + root + "\n",               // leading zero
      "origin\n00\n" + root + "\n",
      "origin\n-1\n" + root + "\n",
      "origin\n+1\n" + root + "\n",
      "origin\n 5\n" + root + "\n",
      "origin\n5 \n" + root + "\n",
      "origin\n5a\n" + root + "\n",
      "origin\n0x5\n" + root + "\n",
      "origin\n1e3\n" + root + "\n",
      "origin\n18446744073709551616\n" + root + "\n",  // 2^64
      "origin\n5\n" + root.substr(0, root.size() - 1) + "\n",  // bad base64
      "origin\n5\n!" + root.substr(1) + "\n",
      "origin\n5\n" + Base64Encode(Bytes(31, 1)) + "\n",  // 31 bytes
      "origin\n5\n" + Base64Encode(Bytes(33, 1)) + "\n",  // 33 bytes
      "origin\n5\n\n",                                     // empty root
      "origin\n5\n" + root + "\n\n",                       // empty extension
      "origin\n5\n" + root + "\next\n\n",
  };
  for (const auto& text : bad_cases) {
    auto p = ParseCheckpoint(text);
    EXPECT_FALSE(p.ok()) << '"' << text << '"';
    if (!p.ok()) {
      EXPECT_EQ(p.status().reason(), "MALFORMED_CHECKPOINT");
    }
  }
  // The largest size is accepted; "0" is not a leading zero.
  EXPECT_TRUE(ParseCheckpoint("origin\n18446744073709551615\n" + root + "\n").ok());
  EXPECT_TRUE(ParseCheckpoint("origin\n0\n" + root + "\n").ok());
}

TEST(Checkpoint, VerifyCheckpoint) {
  SigningKey key = SigningKey::Generate();
  Checkpoint c = Sample();
  std::string note = SignNote(FormatCheckpoint(c), c.origin, key);
  auto v = ParseVerifierKey(FormatVerifierKey(c.origin, key.public_key()));
  ASSERT_TRUE(v.ok());

  auto got = VerifyCheckpoint(note, *v, c.origin);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size, c.size);
  EXPECT_EQ(got->root, c.root);

  got = VerifyCheckpoint(note, *v, "example.com/other");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "WRONG_ORIGIN");
  EXPECT_FALSE(VerifyCheckpoint(note, *v, "").ok());

  // Tampered size.
  std::string tampered = note;
  tampered.replace(tampered.find("1234567"), 7, "1234568");
  EXPECT_FALSE(VerifyCheckpoint(tampered, *v, c.origin).ok());
  // Signed by another key.
  SigningKey other = SigningKey::Generate();
  EXPECT_FALSE(
      VerifyCheckpoint(SignNote(FormatCheckpoint(c), c.origin, other), *v, c.origin).ok());
  // A well-signed note that is not a checkpoint.
  std::string not_cp = SignNote(c.origin + "\nhello\n", c.origin, key);
  got = VerifyCheckpoint(not_cp, *v, c.origin);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "MALFORMED_CHECKPOINT");
}

TEST(CheckpointTimestamp, RoundTripsAndMalformedLinesAreRefused) {
  Checkpoint c{"example.com/log", 5, Hash{}, {TimestampExtension(1'764'424'800'123'456'789)}};
  auto parsed = ParseCheckpoint(FormatCheckpoint(c));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->extensions.at(0), "Timestamp: 1764424800123456789");
  EXPECT_EQ(*CheckpointTime(*parsed), 1'764'424'800);
  EXPECT_EQ(*CheckpointTime(Checkpoint{"o", 1, Hash{}, {}}), 0) << "no line: no time";
  EXPECT_EQ(*CheckpointTime(Checkpoint{"o", 1, Hash{}, {"other: 5"}}), 0);
  for (const char* bad : {"Timestamp: ", "Timestamp: -5", "Timestamp: 12x", "Timestamp: 0"}) {
    EXPECT_FALSE(CheckpointTime(Checkpoint{"o", 1, Hash{}, {bad}}).ok()) << bad;
  }
  EXPECT_FALSE(
      CheckpointTime(Checkpoint{"o", 1, Hash{}, {"Timestamp: 1", "Timestamp: 2"}}).ok());
}

}  // namespace
}  // namespace verifier
