// Tests for verifier/crypto.h: known answers (RFC 8032, FIPS 180-2, DSSE),
// encodings, and key files.
#include "verifier/crypto.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace verifier {
namespace {

namespace fs = std::filesystem;

const bool kCryptoReady = (InitCrypto(), true);

Bytes Hex(std::string_view hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}

struct Rfc8032Vector {
  const char* seed;
  const char* pub;
  const char* msg;
  const char* sig;
};

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
const Rfc8032Vector kRfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
     "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
     "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
};

TEST(Ed25519, Rfc8032KnownAnswers) {
  for (const auto& v : kRfc8032) {
    SCOPED_TRACE(v.seed);
    Bytes seed = Hex(v.seed), pub = Hex(v.pub), msg = Hex(v.msg), sig = Hex(v.sig);
    ASSERT_EQ(sig.size(), kSignatureSize);
    auto key = SigningKey::FromSeed(seed);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(HexEncode(key->public_key()), v.pub);
    auto s = key->Sign(msg);
    EXPECT_EQ(HexEncode(s), v.sig);  // Ed25519 is deterministic
    auto got_seed = key->seed();
    EXPECT_EQ(HexEncode(got_seed), v.seed);
    EXPECT_TRUE(VerifySignature(pub, msg, sig));

    // Any flipped bit of the signature, the message or the key fails.
    for (size_t bit = 0; bit < sig.size() * 8; bit += 7) {
      Bytes bad = sig;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      EXPECT_FALSE(VerifySignature(pub, msg, bad)) << "sig bit " << bit;
    }
    for (size_t bit = 0; bit < pub.size() * 8; bit += 5) {
      Bytes bad = pub;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      EXPECT_FALSE(VerifySignature(bad, msg, sig)) << "key bit " << bit;
    }
    Bytes longer = msg;
    longer.push_back(0);
    EXPECT_FALSE(VerifySignature(pub, longer, sig));
    if (!msg.empty()) {
      Bytes bad = msg;
      bad[0] ^= 1;
      EXPECT_FALSE(VerifySignature(pub, bad, sig));
    }
    // Wrong lengths are refused, not read past.
    EXPECT_FALSE(VerifySignature(ByteView(pub).first(31), msg, sig));
    EXPECT_FALSE(VerifySignature(pub, msg, ByteView(sig).first(63)));
    Bytes sig65 = sig;
    sig65.push_back(0);
    EXPECT_FALSE(VerifySignature(pub, msg, sig65));
  }
  // The two test keys do not verify each other's signatures.
  EXPECT_FALSE(VerifySignature(Hex(kRfc8032[0].pub), Hex(kRfc8032[1].msg),
                               Hex(kRfc8032[1].sig)));
}

TEST(Ed25519, FromSeedRejectsWrongLength) {
  Bytes seed(31, 7);
  EXPECT_FALSE(SigningKey::FromSeed(seed).ok());
  seed.resize(33, 7);
  EXPECT_FALSE(SigningKey::FromSeed(seed).ok());
  EXPECT_FALSE(SigningKey::FromSeed(ByteView{}).ok());
}

TEST(Ed25519, GenerateSignVerifyAndSeedRoundTrip) {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  auto sig = a.Sign(AsBytes("message"));
  EXPECT_TRUE(VerifySignature(a.public_key(), AsBytes("message"), sig));
  EXPECT_FALSE(VerifySignature(b.public_key(), AsBytes("message"), sig));
  EXPECT_FALSE(VerifySignature(a.public_key(), AsBytes("messagf"), sig));
  auto seed = a.seed();
  auto again = SigningKey::FromSeed(seed);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), a.public_key());
  EXPECT_EQ(again->Sign(AsBytes("message")), sig);
  SigningKey copy = a;  // copies keep working
  EXPECT_EQ(copy.Sign(AsBytes("x")), a.Sign(AsBytes("x")));
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256(std::string_view(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(std::string_view(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // The string and byte overloads agree.
  EXPECT_EQ(Sha256(std::string_view("abc")), Sha256(AsBytes("abc")));
}

TEST(Dsse, PreAuthEncoding) {
  Bytes pae = PreAuthEncoding("http://example.com/HelloWorld", AsBytes("hello world"));
  EXPECT_EQ(AsStringView(pae), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(AsStringView(PreAuthEncoding("", ByteView{})), "DSSEv1 0  0 ");
  // Binary bodies are kept byte for byte, NULs included.
  Bytes body{0x00, 0xff, 0x20, 0x0a};
  Bytes got = PreAuthEncoding("t", body);
  std::string want = "DSSEv1 1 t 4 ";
  want.append("\x00\xff\x20\x0a", 4);
  EXPECT_EQ(AsStringView(got), want);
  // Lengths are decimal byte counts, so moving bytes between type and body
  // changes the encoding.
  EXPECT_NE(PreAuthEncoding("ab", AsBytes("c")), PreAuthEncoding("a", AsBytes("bc")));
  Bytes rec = PreAuthEncoding(kRecordPayloadType, AsBytes("x"));
  EXPECT_EQ(AsStringView(rec), "DSSEv1 45 " + std::string(kRecordPayloadType) + " 1 x");
}

TEST(ConstantTimeEqual, Basics) {
  Bytes a{1, 2, 3, 4}, b{1, 2, 3, 4}, c{1, 2, 3, 5}, d{1, 2, 3};
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(a, c));
  EXPECT_FALSE(ConstantTimeEqual(a, d));
  EXPECT_FALSE(ConstantTimeEqual(d, a));
  EXPECT_TRUE(ConstantTimeEqual(ByteView{}, ByteView{}));
  EXPECT_FALSE(ConstantTimeEqual(ByteView{}, a));
  Hash h1 = Sha256(std::string_view("x")), h2 = h1;
  EXPECT_TRUE(ConstantTimeEqual(h1, h2));
  h2[0] ^= 0x80;
  EXPECT_FALSE(ConstantTimeEqual(h1, h2));
}

TEST(KeyId, IsSha256OfPublicKey) {
  auto key = SigningKey::FromSeed(Hex(kRfc8032[0].seed));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(KeyId(key->public_key()), Sha256(ByteView(key->public_key())));
  EXPECT_EQ(KeyId(key->public_key()), Sha256(Hex(kRfc8032[0].pub)));
}

TEST(Encoding, HexRoundTripAndRejections) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");  // lower case
  auto back = HexDecode(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
  EXPECT_EQ(HexEncode(ByteView{}), "");
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  for (const char* bad : {"0", "abc", "zz", "0g", "0x12", " 12", "12 ", "12\n", "1-2",
                          "12:34"}) {
    auto r = HexDecode(bad);
    EXPECT_FALSE(r.ok()) << '"' << bad << '"';
    if (!r.ok()) {
      EXPECT_EQ(r.status().reason(), "BAD_HEX");
    }
  }
}

TEST(Encoding, Base64RoundTripAndRejections) {
  // RFC 4648 §10 test vectors.
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : kVectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), enc);
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(AsStringView(*dec), plain);
  }
  // Every length 0..70 of every byte value round-trips.
  for (size_t n = 0; n <= 70; ++n) {
    Bytes data(n);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(i * 37 + n);
    auto dec = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(dec.ok()) << n;
    EXPECT_EQ(*dec, data) << n;
  }
  // The standard alphabet, not the URL one.
  Bytes hi{0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64Encode(hi), "+/+/");
  for (const char* bad : {"Zg",     "Zg=",   "Zm8",   "Zg==Zg==", "Zh==",  "Zm9=",
                          "-_-_",   "Zm9v\n", " Zm9v", "Zm 9v",    "Zm9v=", "=Zm9v",
                          "Zm9v====", "Z", "*m9v"}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << '"' << bad << '"';
    if (!r.ok()) {
      EXPECT_EQ(r.status().reason(), "BAD_BASE64");
    }
  }
}

TEST(Encoding, ToHash) {
  Bytes b(32, 9);
  auto h = ToHash(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Bytes(h->begin(), h->end()), b);
  EXPECT_FALSE(ToHash(Bytes(31)).ok());
  EXPECT_FALSE(ToHash(Bytes(33)).ok());
  EXPECT_FALSE(ToHash(ByteView{}).ok());
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "prov-keyfile-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const char* name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(KeyFileTest, WriteCreatesMode0600AndReadRoundTrips) {
  auto key = SigningKey::FromSeed(Hex(kRfc8032[1].seed));
  ASSERT_TRUE(key.ok());
  std::string path = Path("k.key");
  Status s = WriteKeyFile(path, *key);
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  // The file holds the hex seed.
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, kRfc8032[1].seed);

  auto back = ReadKeyFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->public_key(), key->public_key());
  EXPECT_EQ(back->seed(), key->seed());
  EXPECT_EQ(back->Sign(AsBytes("m")), key->Sign(AsBytes("m")));
  // Owner-only read is fine too.
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(ReadKeyFile(path).ok());
}

TEST_F(KeyFileTest, RefusesToOverwrite) {
  std::string path = Path("k.key");
  SigningKey first = SigningKey::Generate();
  SigningKey second = SigningKey::Generate();
  ASSERT_TRUE(WriteKeyFile(path, first).ok());
  Status s = WriteKeyFile(path, second);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.reason(), "KEY_FILE");
  auto back = ReadKeyFile(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->public_key(), first.public_key());  // untouched
  // Nor does it write through into a missing directory.
  EXPECT_FALSE(WriteKeyFile(Path("no/such/dir.key"), first).ok());
}

TEST_F(KeyFileTest, ReadRefusesGroupOrWorldReadableFiles) {
  std::string path = Path("k.key");
  ASSERT_TRUE(WriteKeyFile(path, SigningKey::Generate()).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0700 | 0004, 0600 | 0020}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto r = ReadKeyFile(path);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().reason(), "KEY_FILE_PERMISSIONS") << std::oct << mode;
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(ReadKeyFile(path).ok());
}

TEST_F(KeyFileTest, ReadRejectsMissingAndMalformedFiles) {
  auto missing = ReadKeyFile(Path("absent.key"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  for (const char* content : {"", "not hex\n", "abcd\n",
                              // 31 bytes
                              "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f\n",
                              // 33 bytes
                              "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6000\n"}) {
    std::string path = Path("bad.key");
    fs::remove(path);
    {
      std::ofstream out(path);
      out << content;
    }
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    auto r = ReadKeyFile(path);
    EXPECT_FALSE(r.ok()) << '"' << content << '"';
    if (!r.ok()) {
      EXPECT_EQ(r.status().reason(), "KEY_FILE");
    }
  }
}

}  // namespace
}  // namespace verifier
