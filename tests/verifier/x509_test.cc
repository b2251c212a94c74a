// X.509 device identities: the real Axis device-ID CA certificates in
// ../shared/testdata/x509 (made by nobody here), and a test CA and leaf made
// by the openssl command line; fingerprints are checked against openssl's.
#include "verifier/x509.h"

#include "verifier/judge.h"  // UtcDate

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

namespace verifier {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; returns stdout (the test fails on a non-zero exit).
std::string Sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  return out;
}

std::string Der(const std::string& pem_path) {
  auto der = PemCertificatesToDer(Slurp(pem_path));
  EXPECT_TRUE(der.ok()) << pem_path << ": " << der.status().ToString();
  return der.ok() ? der->front() : "";
}

// "SHA256 Fingerprint=23:77:..." -> "2377..." (lower case, as HexEncode).
std::string OpensslFingerprint(const std::string& pem_path) {
  std::string out = Sh("openssl x509 -noout -fingerprint -sha256 -in " + pem_path);
  std::string hex;
  for (char c : out.substr(out.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) hex.push_back(static_cast<char>(std::tolower(c)));
  }
  return hex;
}

int64_t Day(int y, int m, int d) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return static_cast<int64_t>(timegm(&tm));
}

const std::string kAxis = PROV_TESTDATA "/x509/";

TEST(X509Test, TheRealAxisDeviceIdCasParseAsOpensslSeesThem) {
  auto root = ParseCertificateDer(Der(kAxis + "axis-device-id-root-ecc.pem"));
  auto inter = ParseCertificateDer(Der(kAxis + "axis-device-id-intermediate-ecc-2.pem"));
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  ASSERT_TRUE(inter.ok()) << inter.status().ToString();
  EXPECT_EQ(HexEncode(root->sha256), OpensslFingerprint(kAxis + "axis-device-id-root-ecc.pem"));
  EXPECT_EQ(HexEncode(inter->sha256),
            OpensslFingerprint(kAxis + "axis-device-id-intermediate-ecc-2.pem"));
  EXPECT_EQ(HexEncode(root->sha256).substr(0, 8), "2377daaf");  // the README's prefix
  EXPECT_NE(root->subject.find("CN=Axis device ID Root CA ECC"), std::string::npos);
  EXPECT_EQ(root->key_algorithm, "ECDSA P-256");
  EXPECT_TRUE(root->is_ca);
  EXPECT_TRUE(root->self_signed);
  EXPECT_EQ(root->path_len, 1);
  EXPECT_EQ(inter->path_len, 0);
  EXPECT_FALSE(inter->self_signed);
  EXPECT_EQ(inter->issuer, root->subject);
  EXPECT_EQ(UtcDate(inter->not_after), "2032-10-25");
  // The SPKI hash is what openssl computes over the DER public key.
  const std::string spki = Sh("openssl x509 -noout -pubkey -in " + kAxis +
                              "axis-device-id-intermediate-ecc-2.pem | openssl pkey -pubin "
                              "-outform DER | openssl dgst -sha256 -r");
  EXPECT_EQ(HexEncode(inter->spki_sha256), spki.substr(0, 64));
  // The intermediate chains to the root, within their windows only.
  EXPECT_TRUE(VerifyChain({inter->der}, {root->der}, Day(2026, 11, 29)).ok());
  Status expired = VerifyChain({inter->der}, {root->der}, Day(2033, 1, 1));
  EXPECT_EQ(expired.reason(), "CHAIN_UNVERIFIED");
  EXPECT_NE(expired.message().find("expired"), std::string::npos) << expired.message();
}

class X509TestCa : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/x509-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // A root (pathlen 0), and a P-256 device leaf carrying the serial in
    // its subject, valid "forever" as 802.1AR asks (notAfter 9999).
    Sh("cd " + dir_ +
       " && openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null"
       " && openssl req -x509 -new -key ca.key -subj '/O=Test Cameras/CN=Test Device ID Root' "
       "-days 3650 -addext basicConstraints=critical,CA:TRUE,pathlen:0 "
       "-addext keyUsage=critical,keyCertSign -out ca.pem 2>/dev/null"
       " && openssl ecparam -name prime256v1 -genkey -noout -out leaf.key 2>/dev/null"
       " && openssl req -new -key leaf.key -subj '/O=Test Cameras/serialNumber=ACCC8E99C915' "
       "-out leaf.csr 2>/dev/null"
       " && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "-not_after 99991231235959Z -extfile /dev/null -out leaf.pem 2>/dev/null || "
       "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 "
       "-out leaf.pem 2>/dev/null"
       // A leaf with its serial only in an RFC 4108 HardwareModuleName.
       " && printf '[ext]\\nsubjectAltName=otherName:1.3.6.1.5.5.7.8.4;SEQUENCE:hwmn\\n"
       "[hwmn]\\nhwType=OID:1.3.6.1.4.1.99999.1\\nhwSerialNum=OCTETSTRING:HW-0001\\n' > hw.cnf"
       " && openssl req -new -key leaf.key -subj '/O=Test Cameras/CN=hw' -out hw.csr 2>/dev/null"
       " && openssl x509 -req -in hw.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 "
       "-extfile hw.cnf -extensions ext -out hw.pem 2>/dev/null");
  }
  void TearDown() override { Sh("rm -rf " + dir_); }
  std::string dir_;
};

TEST_F(X509TestCa, ALeafChainsToItsOwnCaAndNotToAnotherMakers) {
  auto leaf = ParseCertificateDer(Der(dir_ + "/leaf.pem"));
  ASSERT_TRUE(leaf.ok()) << leaf.status().ToString();
  EXPECT_EQ(leaf->subject_serial_number, "ACCC8E99C915");
  EXPECT_EQ(NormalizeSerial("ac:cc:8e:99:c9:15"), leaf->subject_serial_number);
  EXPECT_EQ(leaf->key_algorithm, "ECDSA P-256");
  EXPECT_FALSE(leaf->is_ca);
  const std::string ca = Der(dir_ + "/ca.pem");
  const int64_t now = std::time(nullptr);
  EXPECT_TRUE(VerifyChain({leaf->der}, {ca}, now).ok());
  // Under the real Axis anchors it does not verify: the ledger's anchors
  // for a maker are the only roots a camera of that maker may chain to.
  Status axis = VerifyChain({leaf->der},
                            {Der(kAxis + "axis-device-id-root-ecc.pem"),
                             Der(kAxis + "axis-device-id-intermediate-ecc-2.pem")},
                            now);
  EXPECT_EQ(axis.reason(), "CHAIN_UNVERIFIED");
  EXPECT_EQ(axis.code(), Code::kDataLoss);
  // No anchors: nothing verifies (never the system store).
  EXPECT_FALSE(VerifyChain({leaf->der}, {}, now).ok());
}

TEST_F(X509TestCa, ALeafIdentifiesAUnitOnlyUnderItsRegisteredCa) {
  namespace pb = provenance::v1;
  const std::string ca = Der(dir_ + "/ca.pem"), leaf = Der(dir_ + "/leaf.pem");
  const int64_t now = std::time(nullptr);
  auto record = [&](std::vector<std::string> algs, pb::SerialSource src, int64_t nb = 0,
                    int64_t na = 0) {
    pb::DeviceIdentityCa c;
    c.set_manufacturer_org("acme");
    c.set_ca_id("line");
    c.add_certificates(ca);
    c.set_serial_source(src);
    c.set_serial_normalize(true);
    for (auto& a : algs) c.add_leaf_algorithms(a);
    c.set_not_before(nb);
    c.set_not_after(na);
    return c;
  };
  const auto subject = pb::SERIAL_SOURCE_SUBJECT_SERIAL_NUMBER;
  auto id = IdentifyLeaf({leaf}, record({"ECDSA P-256"}, subject), 0, now);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->serial, "ACCC8E99C915");
  EXPECT_EQ(id->key_algorithm, "ECDSA P-256");
  EXPECT_EQ(id->spki_sha256, ParseCertificateDer(leaf)->spki_sha256);
  EXPECT_EQ(IdentifyLeaf({leaf}, record({"ECDSA P-256"}, subject), now - 10, now).status().reason(),
            "CA_REVOKED");
  EXPECT_TRUE(IdentifyLeaf({leaf}, record({"ECDSA P-256"}, subject), now + 3600, now).ok())
      << "a revocation effective later does not apply yet";
  EXPECT_EQ(IdentifyLeaf({leaf}, record({"RSA 2048"}, subject), 0, now).status().reason(),
            "LEAF_ALGORITHM");
  EXPECT_EQ(IdentifyLeaf({leaf}, record({"ECDSA P-256"}, subject, 0, now - 1), 0, now)
                .status()
                .reason(),
            "LEAF_OUTSIDE_WINDOW");
  // The serial where the CA says it is, and nowhere else.
  const std::string hw = Der(dir_ + "/hw.pem");
  auto hw_id = IdentifyLeaf({hw}, record({"ECDSA P-256"}, pb::SERIAL_SOURCE_HARDWARE_MODULE_NAME),
                            0, now);
  ASSERT_TRUE(hw_id.ok()) << hw_id.status().ToString();
  EXPECT_EQ(hw_id->serial, "HW0001");  // normalised: no '-'
  EXPECT_EQ(hw_id->raw_serial, "HW-0001");
  EXPECT_EQ(IdentifyLeaf({hw}, record({"ECDSA P-256"}, subject), 0, now).status().reason(),
            "NO_SERIAL_IN_CERTIFICATE");
  // A pattern over one subject attribute: the text around {serial} must match.
  pb::DeviceIdentityCa pattern = record({"ECDSA P-256"}, pb::SERIAL_SOURCE_SUBJECT_PATTERN);
  pattern.set_serial_attribute("O");
  pattern.set_serial_pattern("Test {serial}");
  auto by_pattern = IdentifyLeaf({leaf}, pattern, 0, now);
  ASSERT_TRUE(by_pattern.ok()) << by_pattern.status().ToString();
  EXPECT_EQ(by_pattern->raw_serial, "Cameras");
  pattern.set_serial_pattern("Other {serial}");
  EXPECT_EQ(IdentifyLeaf({leaf}, pattern, 0, now).status().reason(), "NO_SERIAL_IN_CERTIFICATE");
  pattern.set_serial_attribute("CN");
  pattern.set_serial_pattern("Test {serial}");
  EXPECT_EQ(IdentifyLeaf({leaf}, pattern, 0, now).status().reason(), "NO_SERIAL_IN_CERTIFICATE");
  // Under another maker's CA: not proven.
  pb::DeviceIdentityCa axis = record({"ECDSA P-256"}, subject);
  axis.clear_certificates();
  axis.add_certificates(Der(kAxis + "axis-device-id-root-ecc.pem"));
  EXPECT_EQ(IdentifyLeaf({leaf}, axis, 0, now).status().reason(), "CHAIN_UNVERIFIED");
}

TEST(X509Test, ASerialPatternIsLiteralTextAroundOneSlot) {
  EXPECT_EQ(SerialFromPattern("AXIS M3086-V ACCC8E123456", "AXIS M3086-V {serial}"),
            "ACCC8E123456");
  EXPECT_EQ(SerialFromPattern("cam-00042.example", "cam-{serial}.example"), "00042");
  EXPECT_EQ(SerialFromPattern("cam-.example", "cam-{serial}.example"), "") << "empty serial";
  EXPECT_EQ(SerialFromPattern("xcam-1", "cam-{serial}"), "");
  EXPECT_EQ(SerialFromPattern("cam-1", "cam-1"), "") << "no slot";
  EXPECT_EQ(SerialFromPattern("a.*b", ".*{serial}"), "") << "no regex: '.*' is literal";
  EXPECT_EQ(SerialFromPattern(".*b", ".*{serial}"), "b");
}

TEST(X509Test, MalformedInputIsRefusedNotGuessed) {
  const std::string der = Der(kAxis + "axis-device-id-root-ecc.pem");
  EXPECT_EQ(ParseCertificateDer(der + "x").status().reason(), "BAD_CERTIFICATE");  // trailing
  EXPECT_EQ(ParseCertificateDer(der.substr(0, der.size() - 1)).status().reason(),
            "BAD_CERTIFICATE");
  EXPECT_EQ(ParseCertificateDer("").status().reason(), "BAD_CERTIFICATE");
  EXPECT_EQ(ParseCertificateDer(std::string(100, '\x30')).status().reason(), "BAD_CERTIFICATE");
  EXPECT_EQ(PemCertificatesToDer("not a pem").status().reason(), "BAD_CERTIFICATE");
  // A changed byte in a signature: the root no longer signs itself, and the
  // intermediate no longer chains to the root. (An anchor is trusted because
  // it is registered, not by its own signature: registering one must check
  // `self_signed`.)
  std::string flipped = der;
  flipped[flipped.size() - 10] ^= 0x01;
  auto parsed = ParseCertificateDer(flipped);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->self_signed);
  std::string inter = Der(kAxis + "axis-device-id-intermediate-ecc-2.pem");
  inter[inter.size() - 10] ^= 0x01;
  Status bad = VerifyChain({inter}, {der}, Day(2026, 1, 1));
  EXPECT_EQ(bad.reason(), "CHAIN_UNVERIFIED");
  EXPECT_NE(bad.message().find("signature"), std::string::npos) << bad.message();
  EXPECT_FALSE(VerifyChain({}, {der}, Day(2026, 1, 1)).ok());
}

}  // namespace
}  // namespace verifier
