// The rulebook (verifier/rules.h) over a MemoryState: every acceptance path
// and every rejection reason of verifier/rules.cc, each rejection checked for
// its exact code and reason and for changing nothing (no overlay writes, the
// same state size, the same next index).
#include "verifier/rules.h"

#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "records/records.h"
#include "proto/records.pb.h"
#include "proto/state.pb.h"
#include "verifier/crypto.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/state.h"
#include "verifier/status.h"
#include "verifier/x509.h"

namespace verifier {
namespace {

namespace pb = provenance::v1;

constexpr int64_t kT = 1'700'000'000;  // issued_at of the fixture's records

constexpr char kAcme[] = "acme-cam";      // manufacturer
constexpr char kOrion[] = "orion-micro";  // component maker
constexpr char kDist[] = "dist-co";       // distributor
constexpr char kBuyer[] = "buyer-gov";    // buyer

// Leaf indices of the fixture's records (the genesis is leaf 0).
constexpr uint64_t kAcmeOrgIdx = 1;
constexpr uint64_t kOrionOrgIdx = 2;
constexpr uint64_t kDistOrgIdx = 3;
constexpr uint64_t kBuyerOrgIdx = 4;
constexpr uint64_t kAcmeMfrKeyIdx = 5;
constexpr uint64_t kAcmeCustKeyIdx = 6;
constexpr uint64_t kOrionMfrKeyIdx = 7;
constexpr uint64_t kDistCustKeyIdx = 8;
constexpr uint64_t kBuyerCustKeyIdx = 9;
constexpr uint64_t kFixtureSize = 10;

// Deterministic keys: seed = 32 copies of `b`.
SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

std::string Str(ByteView b) { return std::string(AsStringView(b)); }

std::vector<uint64_t> Vec(const google::protobuf::RepeatedField<uint64_t>& r) {
  return {r.begin(), r.end()};
}

// Hand-made protobuf wire encoding, for records the builders cannot make.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string VarintField(uint32_t field, uint64_t v) { return Varint(field << 3 | 0) + Varint(v); }
std::string LenField(uint32_t field, const std::string& payload) {
  return Varint(field << 3 | 2) + Varint(payload.size()) + payload;
}

// Signs arbitrary record bytes (canonical or not) with `keys`.
std::string SignBytes(const std::string& record_bytes, std::vector<const SigningKey*> keys) {
  return SignRecord(record_bytes, keys).SerializeAsString();
}

// The unknown fields of `m`, for adding fields this ledger does not know.
google::protobuf::UnknownFieldSet* Unknown(google::protobuf::Message* m) {
  return m->GetReflection()->MutableUnknownFields(m);
}

std::string Serialize(const pb::Record& r) { return r.SerializeAsString(); }

// A StateView whose reads of keys starting with `prefix` fail (I/O error).
class FailingState final : public StateView {
 public:
  FailingState(const StateView* base, std::string prefix)
      : base_(base), prefix_(std::move(prefix)) {}
  Result<bool> Get(std::string_view key, std::string* value) const override {
    if (key.substr(0, prefix_.size()) == prefix_) {
      return Status(Code::kUnavailable, "STORAGE_ERROR", "disk on fire");
    }
    return base_->Get(key, value);
  }

 private:
  const StateView* base_;
  std::string prefix_;
};

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    ASSERT_TRUE(
        Accepted(records::SignRecordBytes(records::GenesisRecord("ledger.example/cams",
                                                               {{"auth-0", auth0_.public_key()},
                                                                {"auth-1", auth1_.public_key()},
                                                                {"auth-2", auth2_.public_key()}},
                                                               2),
                                         {})));
    ASSERT_TRUE(Accepted(Auth(records::OrganizationRecord(kT, kAcme, "Acme Camera Co.", "CN"))));
    ASSERT_TRUE(Accepted(Auth(records::OrganizationRecord(kT, kOrion, "Orion Microsystems", "TW"))));
    ASSERT_TRUE(Accepted(Auth(records::OrganizationRecord(kT, kDist, "Dist Co Ltd", "GB"))));
    ASSERT_TRUE(
        Accepted(Auth(records::OrganizationRecord(kT, kBuyer, "Buyer Government Dept", "GB"))));
    ASSERT_TRUE(Accepted(Auth(
        records::KeyEnrollmentRecord(kT, acme_mfr_.public_key(), kAcme, {pb::ROLE_MANUFACTURER}))));
    ASSERT_TRUE(Accepted(Auth(
        records::KeyEnrollmentRecord(kT, acme_cust_.public_key(), kAcme, {pb::ROLE_CUSTODIAN}))));
    ASSERT_TRUE(Accepted(Auth(records::KeyEnrollmentRecord(kT, orion_mfr_.public_key(), kOrion,
                                                          {pb::ROLE_MANUFACTURER}))));
    ASSERT_TRUE(Accepted(Auth(
        records::KeyEnrollmentRecord(kT, dist_cust_.public_key(), kDist, {pb::ROLE_CUSTODIAN}))));
    ASSERT_TRUE(Accepted(Auth(
        records::KeyEnrollmentRecord(kT, buyer_cust_.public_key(), kBuyer, {pb::ROLE_CUSTODIAN}))));
    ASSERT_EQ(next_index_, kFixtureSize);
  }

  // Applies `leaf` at the next index through an overlay on the state; only on
  // success are the overlay's writes applied and the index advanced.
  Status Append(std::string leaf) {
    StateOverlay overlay(&state_);
    Status s = ApplyRecord(overlay, std::move(leaf), next_index_);
    last_overlay_writes_ = overlay.writes().size();
    if (s.ok()) {
      state_.Apply(overlay);
      ++next_index_;
    }
    return s;
  }

  testing::AssertionResult Accepted(std::string leaf) {
    Status s = Append(std::move(leaf));
    if (!s.ok()) return testing::AssertionFailure() << "rejected: " << s.ToString();
    return testing::AssertionSuccess();
  }

  // The record is rejected with exactly `code` and `reason`, and nothing changed.
  testing::AssertionResult Rejected(std::string leaf, Code code, std::string_view reason) {
    size_t size_before = state_.size();
    uint64_t index_before = next_index_;
    Status s = Append(std::move(leaf));
    if (s.ok()) return testing::AssertionFailure() << "accepted; wanted " << reason;
    if (s.reason() != reason || s.code() != code) {
      return testing::AssertionFailure()
             << "got " << s.ToString() << " (code " << static_cast<int>(s.code()) << "); wanted "
             << reason << " (code " << static_cast<int>(code) << ")";
    }
    if (s.message().empty()) return testing::AssertionFailure() << reason << " has no message";
    if (last_overlay_writes_ != 0) {
      return testing::AssertionFailure()
             << reason << " left " << last_overlay_writes_ << " writes in the overlay";
    }
    if (state_.size() != size_before || next_index_ != index_before) {
      return testing::AssertionFailure() << reason << " changed the state";
    }
    return testing::AssertionSuccess() << s.ToString();
  }

  // Signed by two of the three authority keys (the threshold).
  std::string Auth(const pb::Record& r) { return records::SignRecordBytes(r, {&auth0_, &auth1_}); }
  std::string By(const pb::Record& r, const SigningKey& key) {
    return records::SignRecordBytes(r, {&key});
  }

  template <typename M>
  M Read(const std::string& key) {
    M m;
    Result<bool> found = GetMessage(state_, key, &m);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_TRUE(found.ok() && *found) << "no state entry";
    return m;
  }
  bool Has(const std::string& key) {
    std::string v;
    Result<bool> found = state_.Get(key, &v);
    return found.ok() && *found;
  }
  pb::OrgState Org(const std::string& id) { return Read<pb::OrgState>(state_key::Org(id)); }
  pb::DeviceState Dev(const std::string& mfr, const std::string& serial) {
    return Read<pb::DeviceState>(state_key::Device(mfr, serial));
  }

  // Component orion-micro/OM-SOC-1, model acme-cam/C100 (brand acme-cam, BOM
  // that SoC), firmware 1.0.0 and devices SN-1..SN-3, all held by acme-cam.
  void RegisterCatalog() {
    catalog_start_ = next_index_;
    ASSERT_TRUE(
        Accepted(By(records::ComponentRecord(kT, kOrion, "OM-SOC-1", pb::COMPONENT_KIND_SOC, "TW"),
                    orion_mfr_)));
    ASSERT_TRUE(Accepted(
        By(records::DeviceModelRecord(kT, kAcme, "C100", kAcme, {records::Ref(kOrion, "OM-SOC-1")}),
           acme_mfr_)));
    ASSERT_TRUE(Accepted(By(
        records::FirmwareReleaseRecord(kT, kAcme, "C100", "1.0.0", Sha256("fw 1.0.0")), acme_mfr_)));
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(Accepted(By(records::DeviceRecord(kT, kAcme, "SN-" + std::to_string(i), "C100",
                                                   DeviceKey(i).public_key(), kT - 86400, "VN"),
                              acme_mfr_)));
    }
  }
  uint64_t DeviceIdx(int i) const { return catalog_start_ + 2 + static_cast<uint64_t>(i); }
  static SigningKey DeviceKey(int i) { return KeyFromByte(static_cast<uint8_t>(100 + i)); }

  std::string Transfer(const std::vector<std::string>& serials, const std::string& from,
                       const std::string& to, const SigningKey& key) {
    return By(records::TransferRecord(kT, kAcme, serials, from, to, "PO-1"), key);
  }

  MemoryState state_;
  uint64_t next_index_ = 0;
  size_t last_overlay_writes_ = 0;
  uint64_t catalog_start_ = 0;

  SigningKey auth0_ = KeyFromByte(1);
  SigningKey auth1_ = KeyFromByte(2);
  SigningKey auth2_ = KeyFromByte(3);
  SigningKey acme_mfr_ = KeyFromByte(10);
  SigningKey acme_cust_ = KeyFromByte(11);
  SigningKey orion_mfr_ = KeyFromByte(12);
  SigningKey dist_cust_ = KeyFromByte(13);
  SigningKey buyer_cust_ = KeyFromByte(14);
  SigningKey stranger_ = KeyFromByte(99);  // never enrolled
};

// ---------------------------------------------------------------------------
// Acceptance

TEST_F(RulesTest, FixtureStateHoldsGenesisOrgsAndKeys) {
  auto g = Read<pb::Genesis>(state_key::Genesis());
  EXPECT_EQ(g.origin(), "ledger.example/cams");
  EXPECT_EQ(g.threshold(), 2u);
  ASSERT_EQ(g.authority_keys_size(), 3);
  EXPECT_EQ(g.authority_keys(2).public_key(), Str(auth2_.public_key()));

  auto acme = Org(kAcme);
  EXPECT_EQ(acme.current().legal_name(), "Acme Camera Co.");
  EXPECT_EQ(acme.current().country(), "CN");
  EXPECT_EQ(acme.latest_index(), kAcmeOrgIdx);
  EXPECT_EQ(Vec(acme.record_indices()),
            (std::vector<uint64_t>{kAcmeOrgIdx, kAcmeMfrKeyIdx, kAcmeCustKeyIdx}));
  EXPECT_EQ(Vec(Org(kOrion).record_indices()),
            (std::vector<uint64_t>{kOrionOrgIdx, kOrionMfrKeyIdx}));
  EXPECT_EQ(Vec(Org(kDist).record_indices()),
            (std::vector<uint64_t>{kDistOrgIdx, kDistCustKeyIdx}));
  EXPECT_EQ(Vec(Org(kBuyer).record_indices()),
            (std::vector<uint64_t>{kBuyerOrgIdx, kBuyerCustKeyIdx}));

  auto ks = Read<pb::KeyState>(state_key::Key(KeyId(acme_mfr_.public_key())));
  EXPECT_EQ(ks.enrollment().org_id(), kAcme);
  ASSERT_EQ(ks.enrollment().roles_size(), 1);
  EXPECT_EQ(ks.enrollment().roles(0), pb::ROLE_MANUFACTURER);
  EXPECT_EQ(ks.enrolled_index(), kAcmeMfrKeyIdx);
  EXPECT_FALSE(ks.revoked());
  EXPECT_FALSE(Has(state_key::Key(KeyId(auth0_.public_key()))));  // authorities live in genesis
}

TEST_F(RulesTest, PrepareRecordReportsLeafHashAndSigners) {
  std::string leaf = Auth(records::OrganizationRecord(kT, "new-org", "New Org", "FR"));
  Result<PreparedRecord> p = PrepareRecord(leaf);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->leaf, leaf);
  EXPECT_EQ(p->leaf_hash, LeafHash(AsBytes(leaf)));
  EXPECT_EQ(p->record.organization().org_id(), "new-org");
  ASSERT_EQ(p->signers.size(), 2u);
  EXPECT_EQ(p->signers[0], auth0_.public_key());
  EXPECT_EQ(p->signers[1], auth1_.public_key());

  StateOverlay overlay(&state_);
  ASSERT_TRUE(ApplyPrepared(overlay, *p, next_index_).ok());
  state_.Apply(overlay);
  EXPECT_EQ(Org("new-org").latest_index(), next_index_);
}

TEST_F(RulesTest, LawIsRegisteredByTheAuthoritiesAndSupersededByCode) {
  const uint64_t first = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::LawRecord(kT, "CN-NIL-2017", "National Intelligence Law", "CN",
                                              "https://example.org/nil"))));
  ASSERT_TRUE(Accepted(Auth(records::LawRecord(kT + 1, "CN-NIL-2017",
                                              "PRC National Intelligence Law (2017)", "CN", ""))));
  auto law = Read<pb::LawState>(state_key::Law("CN-NIL-2017"));
  EXPECT_EQ(law.current().name(), "PRC National Intelligence Law (2017)");
  ASSERT_EQ(law.record_indices_size(), 2);
  EXPECT_EQ(law.record_indices(0), first);
  EXPECT_EQ(law.record_indices(1), first + 1);
}

TEST_F(RulesTest, LawNeedsTheAuthorityThresholdAndAValidCode) {
  EXPECT_TRUE(Rejected(By(records::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", ""), auth0_),
                       Code::kPermissionDenied, "INSUFFICIENT_SIGNATURES"));
  EXPECT_TRUE(Rejected(Auth(records::LawRecord(kT, "-NIL", "NIL", "CN", "")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::LawRecord(kT, "CN NIL", "NIL", "CN", "")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::LawRecord(kT, "CN-NIL-2017", "NIL", "China", "")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::LawRecord(kT, "CN-NIL-2017", "", "CN", "")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_FALSE(Has(state_key::Law("CN-NIL-2017")));
}

TEST_F(RulesTest, OrganizationNamingAnUnregisteredLawIsDanglingReference) {
  // "CN-NIL2017" for "CN-NIL-2017": a typo must not create a law nobody denies.
  ASSERT_TRUE(Accepted(Auth(records::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", ""))));
  EXPECT_TRUE(Rejected(
      Auth(records::OrganizationRecord(kT, "typo-org", "Typo Org", "CN", {"CN-NIL2017"})),
      Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  EXPECT_FALSE(Has(state_key::Org("typo-org")));
  EXPECT_TRUE(
      Accepted(Auth(records::OrganizationRecord(kT, "typo-org", "Typo Org", "CN", {"CN-NIL-2017"}))));
}

// The real Axis device-ID root and intermediate (../shared/testdata/x509),
// registered as a fictional product line's anchors.
std::string AxisDer(const std::string& name) {
  std::ifstream in(std::string(PROV_TESTDATA) + "/x509/" + name, std::ios::binary);
  std::stringstream pem;
  pem << in.rdbuf();
  auto der = PemCertificatesToDer(pem.str());
  return der.ok() ? der->front() : "";
}

TEST_F(RulesTest, DeviceIdentityCaIsAMakersCheckedChainOfCas) {
  const std::string root = AxisDer("axis-device-id-root-ecc.pem");
  const std::string inter = AxisDer("axis-device-id-intermediate-ecc-2.pem");
  ASSERT_FALSE(root.empty());
  ASSERT_FALSE(inter.empty());
  auto ca = [&](const std::string& id, std::vector<std::string> certs,
                std::vector<std::string> algs = {"ECDSA P-256"},
                pb::SerialSource src = pb::SERIAL_SOURCE_SUBJECT_SERIAL_NUMBER) {
    return records::DeviceIdentityCaRecord(kT, kAcme, id, certs, src, true, algs);
  };
  const uint64_t at = next_index_;
  ASSERT_TRUE(Accepted(By(ca("dome-line", {root, inter}), acme_mfr_)));
  auto st = Read<pb::IdentityCaState>(state_key::IdentityCa(kAcme, "dome-line"));
  EXPECT_EQ(st.index(), at);
  EXPECT_EQ(st.ca().certificates_size(), 2);
  const pb::OrgState acme = Org(kAcme);
  const auto& idx = acme.record_indices();
  EXPECT_NE(std::find(idx.begin(), idx.end(), at), idx.end()) << "the maker's evidence carries it";
  // The same maker may register the root again for another line; another
  // maker may not claim it, nor may the name repeat.
  EXPECT_TRUE(Accepted(By(ca("root-only", {root}), acme_mfr_)));
  EXPECT_TRUE(Rejected(By(ca("dome-line", {root}), acme_mfr_), Code::kAlreadyExists,
                       "DUPLICATE_CA"));
  EXPECT_TRUE(Rejected(By(records::DeviceIdentityCaRecord(kT, kOrion, "copy", {root, inter},
                                                        pb::SERIAL_SOURCE_SUBJECT_SERIAL_NUMBER,
                                                        true, {"ECDSA P-256"}),
                          orion_mfr_),
                       Code::kAlreadyExists, "CA_ROOT_TAKEN"));
  // Certificates: a root first, CAs, each chaining to those before.
  std::string flipped = inter;
  flipped[flipped.size() - 10] ^= 0x01;
  for (const auto& certs : std::vector<std::vector<std::string>>{
           {inter}, {root, flipped}, {root, "not DER"}, {root + "x"}}) {
    EXPECT_TRUE(Rejected(By(ca("bad", certs), acme_mfr_), Code::kInvalidArgument,
                         "BAD_CERTIFICATE"));
  }
  EXPECT_TRUE(Rejected(By(ca("bad", {}), acme_mfr_), Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(By(ca("bad", {root}, {"DSA 1024"}), acme_mfr_), Code::kInvalidArgument,
                       "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(By(ca("bad", {root}, {}), acme_mfr_), Code::kInvalidArgument,
                       "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(By(ca("bad", {root}, {"ECDSA P-256"}, pb::SERIAL_SOURCE_UNSPECIFIED),
                          acme_mfr_),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  // A pattern: one attribute, "{serial}" exactly once; only with that source.
  for (auto [attribute, pattern, source, ok] :
       std::vector<std::tuple<std::string, std::string, pb::SerialSource, bool>>{
           {"CN", "AXIS {serial}", pb::SERIAL_SOURCE_SUBJECT_PATTERN, true},
           {"", "AXIS {serial}", pb::SERIAL_SOURCE_SUBJECT_PATTERN, false},
           {"CN", "AXIS", pb::SERIAL_SOURCE_SUBJECT_PATTERN, false},
           {"CN", "{serial}-{serial}", pb::SERIAL_SOURCE_SUBJECT_PATTERN, false},
           {"CN", "AXIS {serial}", pb::SERIAL_SOURCE_SUBJECT_SERIAL_NUMBER, false}}) {
    static int n = 0;
    pb::Record r = ca("pattern-" + std::to_string(++n), {root}, {"ECDSA P-256"}, source);
    r.mutable_device_identity_ca()->set_serial_attribute(attribute);
    r.mutable_device_identity_ca()->set_serial_pattern(pattern);
    if (ok) {
      EXPECT_TRUE(Accepted(By(r, acme_mfr_))) << attribute << " " << pattern;
    } else {
      EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kInvalidArgument, "INVALID_FIELD"))
          << attribute << " " << pattern;
    }
  }
  // Only the maker registers its CAs.
  EXPECT_TRUE(Rejected(By(ca("other", {root}), orion_mfr_), Code::kPermissionDenied,
                       "WRONG_ROLE"));
  // Revocation, by the maker (or the authorities), once.
  EXPECT_TRUE(Accepted(By(records::DeviceIdentityCaRevocationRecord(kT, kAcme, "dome-line",
                                                                   kT - 100, "key leaked"),
                          acme_mfr_)));
  st = Read<pb::IdentityCaState>(state_key::IdentityCa(kAcme, "dome-line"));
  EXPECT_TRUE(st.revoked());
  EXPECT_EQ(st.revoked_effective(), kT - 100);
  EXPECT_TRUE(Rejected(By(records::DeviceIdentityCaRevocationRecord(kT, kAcme, "dome-line", kT, ""),
                          acme_mfr_),
                       Code::kAlreadyExists, "ALREADY_REVOKED"));
  EXPECT_TRUE(Accepted(Auth(
      records::DeviceIdentityCaRevocationRecord(kT, kAcme, "root-only", kT, "by the authority"))));
  EXPECT_TRUE(Rejected(By(records::DeviceIdentityCaRevocationRecord(kT, kAcme, "nope", kT, ""),
                          acme_mfr_),
                       Code::kFailedPrecondition, "DANGLING_REFERENCE"));
}

// Runs a shell command (the openssl CLI); returns its stdout.
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

// A test device-identity CA and two P-256 leaves made by the openssl CLI:
// one for serial CAM-0001, one for CAM-0002.
struct TestIdentityCa {
  std::string root, leaf1, leaf2;
  TestIdentityCa() {
    char tmpl[] = "/tmp/rules-ca-XXXXXX";
    if (!mkdtemp(tmpl)) return;
    const std::string d = tmpl;
    auto leaf = [&](const std::string& serial) {
      return " && openssl ecparam -name prime256v1 -genkey -noout -out " + serial +
             ".key 2>/dev/null && openssl req -new -key " + serial +
             ".key -subj '/O=Acme/serialNumber=" + serial + "' -out " + serial +
             ".csr 2>/dev/null && openssl x509 -req -in " + serial +
             ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -outform DER -out " +
             serial + ".der 2>/dev/null";
    };
    Sh("cd " + d +
       " && openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null"
       " && openssl req -x509 -new -key ca.key -subj '/O=Acme/CN=Acme Device ID Root' -days 3650 "
       "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
       "-out ca.pem 2>/dev/null && openssl x509 -in ca.pem -outform DER -out ca.der" +
       leaf("CAM-0001") + leaf("CAM-0002"));
    auto slurp = [&](const std::string& f) {
      std::ifstream in(d + "/" + f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    };
    root = slurp("ca.der");
    leaf1 = slurp("CAM-0001.der");
    leaf2 = slurp("CAM-0002.der");
    Sh("rm -rf " + d);
  }
};

TEST_F(RulesTest, DeviceIdentityIsAKeyAPinnedCertificateOrARegisteredCa) {
  RegisterCatalog();
  TestIdentityCa ca;
  ASSERT_FALSE(ca.leaf1.empty());
  auto device = [&](const std::string& serial) {
    pb::Record r = records::DeviceRecord(kT, kAcme, serial, "C100", DeviceKey(1).public_key(), kT);
    r.mutable_device()->clear_device_public_key();
    return r;
  };
  // None at all is malformed; a pin must be 32 bytes.
  EXPECT_TRUE(Rejected(By(device("CAM-0001"), acme_mfr_), Code::kInvalidArgument,
                       "INVALID_FIELD"));
  pb::Record r = device("CAM-0001");
  r.mutable_device()->set_identity_spki_sha256("short");
  EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kInvalidArgument, "INVALID_FIELD"));
  // A listed certificate must be the unit's: its serial, not a CA, its pin.
  r = device("CAM-0002");
  r.mutable_device()->set_identity_certificate(ca.leaf1);
  EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kInvalidArgument, "BAD_CERTIFICATE"));
  r = device("CAM-0001");
  r.mutable_device()->set_identity_certificate(ca.root);
  EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kInvalidArgument, "BAD_CERTIFICATE"));
  r = device("CAM-0001");
  r.mutable_device()->set_identity_certificate(ca.leaf1);
  r.mutable_device()->set_identity_spki_sha256(std::string(AsStringView(Sha256("other"))));
  EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kInvalidArgument, "BAD_CERTIFICATE"));
  r.mutable_device()->clear_identity_spki_sha256();
  ASSERT_TRUE(Accepted(By(r, acme_mfr_)));
  // The same key again is a clone, whether listed as a certificate or a pin.
  auto pin = ParseCertificateDer(ca.leaf1);
  ASSERT_TRUE(pin.ok());
  r = device("CAM-0009");
  r.mutable_device()->set_identity_spki_sha256(std::string(AsStringView(pin->spki_sha256)));
  EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kAlreadyExists, "DUPLICATE_DEVICE_KEY"));
  // Covered by a CA: it must be registered by the same maker.
  r = device("CAM-0002");
  r.mutable_device()->set_identity_ca_id("acme-devid");
  EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  ASSERT_TRUE(Accepted(By(records::DeviceIdentityCaRecord(kT, kAcme, "acme-devid", {ca.root},
                                                        pb::SERIAL_SOURCE_SUBJECT_SERIAL_NUMBER,
                                                        true, {"ECDSA P-256"}),
                          acme_mfr_)));
  EXPECT_TRUE(Accepted(By(r, acme_mfr_)));
  // The CA is found by its subject name (how a scanner finds the maker).
  auto root = ParseCertificateDer(ca.root);
  ASSERT_TRUE(root.ok());
  auto subjects = Read<pb::IdentityCaSubjects>(state_key::IdentityCaSubject(Sha256(root->subject)));
  ASSERT_EQ(subjects.cas_size(), 1);
  EXPECT_EQ(subjects.cas(0).manufacturer_org(), kAcme);
  EXPECT_EQ(subjects.cas(0).ca_id(), "acme-devid");
}

TEST_F(RulesTest, ACommissioningIsSignedByAnInstallerOfARegisteredDevice) {
  RegisterCatalog();
  const SigningKey fitter = KeyFromByte(77);
  ASSERT_TRUE(Accepted(Auth(
      records::KeyEnrollmentRecord(kT, fitter.public_key(), kAcme, {pb::ROLE_INSTALLER}))));
  auto commissioning = [&](const std::string& serial, uint64_t checkpoint_size) {
    pb::Record r;
    r.set_issued_at(kT);
    auto* c = r.mutable_commissioning();
    c->set_manufacturer_org(kAcme);
    c->set_serial(serial);
    c->set_installer_org(kAcme);
    c->set_site("Depot 4, gate 3");
    c->set_identity_spki_sha256(std::string(AsStringView(Sha256("spki"))));
    c->set_proven("chain to device-identity CA acme-cam/x #1");
    c->set_verdict("TRUSTED");
    c->set_checkpoint_origin("test/log");
    c->set_checkpoint_size(checkpoint_size);
    c->set_checkpoint_root(std::string(AsStringView(Sha256("root"))));
    c->set_scanned_at(kT);
    return r;
  };
  const uint64_t at = next_index_;
  ASSERT_TRUE(Accepted(By(commissioning("SN-1", at - 1), fitter)));
  const pb::DeviceState dev = Dev(kAcme, "SN-1");
  ASSERT_GT(dev.record_indices_size(), 0);
  EXPECT_EQ(dev.record_indices(dev.record_indices_size() - 1), at)
      << "the next holder's evidence carries it";
  EXPECT_TRUE(Rejected(By(commissioning("SN-1", at), acme_cust_), Code::kPermissionDenied,
                       "WRONG_ROLE"));
  EXPECT_TRUE(Rejected(By(commissioning("SN-404", at), fitter), Code::kFailedPrecondition,
                       "UNKNOWN_DEVICE"));
  EXPECT_TRUE(Rejected(By(commissioning("SN-1", next_index_ + 5), fitter),
                       Code::kFailedPrecondition, "CHECKPOINT_FROM_FUTURE"));
  pb::Record bad = commissioning("SN-1", 1);
  bad.mutable_commissioning()->set_verdict("MAYBE");
  EXPECT_TRUE(Rejected(By(bad, fitter), Code::kInvalidArgument, "INVALID_FIELD"));
}

TEST_F(RulesTest, MacBlocksAreVettedByTheAuthoritiesAndNeverInsideAnotherOrgs) {
  const uint64_t first = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::MacBlockRecord(kT, kAcme, "ACCC8E", "IEEE MA-L"))));
  EXPECT_TRUE(Accepted(Auth(records::MacBlockRecord(kT + 1, kAcme, "ACCC8E", "re-vetted"))))
      << "the same org may re-vet its block";
  const pb::OrgState acme = Org(kAcme);
  const auto& idx = acme.record_indices();
  EXPECT_NE(std::find(idx.begin(), idx.end(), first), idx.end()) << "evidence of the org carries it";
  // A block inside, or equal to, another org's block.
  EXPECT_TRUE(Rejected(Auth(records::MacBlockRecord(kT, kOrion, "ACCC8E", "")),
                       Code::kAlreadyExists, "MAC_BLOCK_TAKEN"));
  EXPECT_TRUE(Rejected(Auth(records::MacBlockRecord(kT, kOrion, "ACCC8E1", "")),
                       Code::kAlreadyExists, "MAC_BLOCK_TAKEN"));
  EXPECT_TRUE(Rejected(Auth(records::MacBlockRecord(kT, kOrion, "ACCC8E12F", "")),
                       Code::kAlreadyExists, "MAC_BLOCK_TAKEN"));
  // Syntax, signers, references.
  for (const char* bad : {"accc8e", "ACCC8", "ACCC8E12", "ACCC8G", "AC:CC:8E", ""}) {
    EXPECT_TRUE(Rejected(Auth(records::MacBlockRecord(kT, kOrion, bad, "")),
                         Code::kInvalidArgument, "INVALID_FIELD"))
        << bad;
  }
  EXPECT_TRUE(Rejected(By(records::MacBlockRecord(kT, kOrion, "4447CC", ""), auth0_),
                       Code::kPermissionDenied, "INSUFFICIENT_SIGNATURES"));
  EXPECT_TRUE(Rejected(Auth(records::MacBlockRecord(kT, "nobody", "4447CC", "")),
                       Code::kFailedPrecondition, "UNKNOWN_ORG"));
  ASSERT_TRUE(Accepted(Auth(records::MacBlockRecord(kT, kOrion, "4447CC", ""))));
  // Lookups: any separators, the most specific block first.
  auto axis = MacBlockOf(state_, "ac:cc:8e:99:c9:15");
  ASSERT_TRUE(axis.ok() && axis->has_value());
  EXPECT_EQ((*axis)->block.org_id(), kAcme);
  EXPECT_EQ((*axis)->block.source(), "re-vetted");
  EXPECT_EQ((*MacBlockOf(state_, "4447CC-000001"))->block.org_id(), kOrion);
  EXPECT_FALSE(MacBlockOf(state_, "00408C000001")->has_value());
  EXPECT_EQ(MacBlockOf(state_, "not a mac").status().reason(), "BAD_MAC");
  EXPECT_EQ(MacBlockOf(state_, "ACCC8E99C9").status().reason(), "BAD_MAC");
  EXPECT_EQ(NormalizeMac("ac-cc-8e.99 c9:15"), "ACCC8E99C915");
}

TEST_F(RulesTest, OrganizationReRegisteredSupersedesEarlierVersion) {
  ASSERT_TRUE(Accepted(Auth(records::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", ""))));
  uint64_t idx = next_index_;
  ASSERT_TRUE(Accepted(
      Auth(records::OrganizationRecord(kT + 10, kAcme, "Acme Camera Holdings", "CN", {"CN-NIL-2017"},
                                      true, {"AcmeVision", "ClearSight"}))));
  auto acme = Org(kAcme);
  EXPECT_EQ(acme.current().legal_name(), "Acme Camera Holdings");
  ASSERT_EQ(acme.current().laws_size(), 1);
  EXPECT_EQ(acme.current().laws(0), "CN-NIL-2017");
  EXPECT_TRUE(acme.current().state_owned());
  EXPECT_EQ(acme.current().aliases_size(), 2);
  EXPECT_EQ(acme.latest_index(), idx);
  EXPECT_EQ(Vec(acme.record_indices()),
            (std::vector<uint64_t>{kAcmeOrgIdx, kAcmeMfrKeyIdx, kAcmeCustKeyIdx, idx}));
}

TEST_F(RulesTest, OwnershipAppendsItsIndexToBothOrgs) {
  uint64_t idx = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kOrion, kAcme, 5100, true, kT - 1000))));
  EXPECT_EQ(Vec(Org(kOrion).record_indices()),
            (std::vector<uint64_t>{kOrionOrgIdx, kOrionMfrKeyIdx, idx}));
  EXPECT_EQ(Vec(Org(kAcme).record_indices()),
            (std::vector<uint64_t>{kAcmeOrgIdx, kAcmeMfrKeyIdx, kAcmeCustKeyIdx, idx}));
  // Neither org's current version changes.
  EXPECT_EQ(Org(kAcme).latest_index(), kAcmeOrgIdx);
  EXPECT_EQ(Org(kOrion).latest_index(), kOrionOrgIdx);
  // Boundary values: stake 10000, a closed window.
  ASSERT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kDist, kBuyer, 10000, false, 5, 6))));
  ASSERT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kOrion, kBuyer, 0, true, 0))));
}

// --- Dated facts, no-registrable-owner statements, rulings ---

constexpr int64_t kY2019 = 1546300800;  // 2019-01-01
constexpr int64_t kY2021 = 1609459200;  // 2021-01-01
constexpr int64_t kY2023 = 1672531200;  // 2023-01-01

TEST_F(RulesTest, DatedFactsAreKeptPerTopicAndCorrectedBySameStart) {
  ASSERT_TRUE(Accepted(Auth(records::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", ""))));
  const uint64_t country = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::OrgCountryFact(kT, kAcme, "SG", kY2019, 0, "filing"))));
  // Adjacent windows of the same topic, and other topics over the same time.
  ASSERT_TRUE(Accepted(Auth(records::OrgCountryFact(kT, kAcme, "HK", kY2019 - 86400, kY2019, "f"))));
  ASSERT_TRUE(Accepted(Auth(records::OrgLawFact(kT, kAcme, "CN-NIL-2017", kY2019, 0, "f"))));
  ASSERT_TRUE(Accepted(Auth(records::OrgStateOwnedFact(kT, kAcme, true, kY2019, 0, "f"))));
  EXPECT_EQ(Org(kAcme).facts_size(), 4);
  // A correction (same topic, same valid_from) closes the window in place.
  const uint64_t fix = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::OrgCountryFact(kT, kAcme, "SG", kY2019, kY2021, "filing"))));
  pb::OrgState os = Org(kAcme);
  ASSERT_EQ(os.facts_size(), 4);
  EXPECT_EQ(os.facts(0).index(), fix);
  EXPECT_EQ(os.facts(0).fact().valid_until(), kY2021);
  EXPECT_NE(fix, country);
  EXPECT_EQ(os.record_indices(os.record_indices_size() - 1), fix);
  // The window freed by the correction can now be taken.
  EXPECT_TRUE(Accepted(Auth(records::OrgCountryFact(kT, kAcme, "CN", kY2021, 0, "f"))));
}

TEST_F(RulesTest, OverlappingInvertedOrUnsourcedFactsAreRefused) {
  ASSERT_TRUE(Accepted(Auth(records::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", ""))));
  ASSERT_TRUE(Accepted(Auth(records::OrgCountryFact(kT, kAcme, "SG", kY2019, kY2023, "f"))));
  EXPECT_TRUE(Rejected(Auth(records::OrgCountryFact(kT, kAcme, "MY", kY2021, 0, "f")),
                       Code::kFailedPrecondition, "FACT_OVERLAPS"));
  EXPECT_TRUE(Rejected(Auth(records::OrgCountryFact(kT, kAcme, "MY", kY2023, kY2021, "f")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::OrgCountryFact(kT, kAcme, "MY", kY2023, kY2023, "f")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::OrgCountryFact(kT, kAcme, "MY", kY2023, 0, "")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::OrgCountryFact(kT, kAcme, "Singapore", kY2023, 0, "f")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  pb::Record none = records::OrgCountryFact(kT, kAcme, "SG", kY2023, 0, "f");
  none.mutable_org_fact()->clear_fact();
  EXPECT_TRUE(Rejected(Auth(none), Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::OrgLawFact(kT, kAcme, "CN-NIL2017", kY2019, 0, "f")),
                       Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  EXPECT_TRUE(Rejected(Auth(records::OrgCountryFact(kT, "nobody", "SG", kY2019, 0, "f")),
                       Code::kFailedPrecondition, "UNKNOWN_ORG"));
  EXPECT_TRUE(Rejected(By(records::OrgCountryFact(kT, kAcme, "MY", kY2023, 0, "f"), auth0_),
                       Code::kPermissionDenied, "INSUFFICIENT_SIGNATURES"));
  // A law is either undated (in the org's record) or dated, never both.
  ASSERT_TRUE(Accepted(Auth(records::OrgLawFact(kT, kAcme, "CN-NIL-2017", kY2019, 0, "f"))));
  EXPECT_TRUE(Rejected(
      Auth(records::OrganizationRecord(kT, kAcme, "Acme Camera Co.", "CN", {"CN-NIL-2017"})),
      Code::kFailedPrecondition, "FACT_OVERLAPS"));
  ASSERT_TRUE(Accepted(
      Auth(records::OrganizationRecord(kT, kOrion, "Orion Microsystems", "TW", {"CN-NIL-2017"}))));
  EXPECT_TRUE(Rejected(Auth(records::OrgLawFact(kT, kOrion, "CN-NIL-2017", kY2019, 0, "f")),
                       Code::kFailedPrecondition, "FACT_OVERLAPS"));
}

TEST_F(RulesTest, StakesOfOnePairNeverOverlap) {
  ASSERT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kOrion, kAcme, 3000, false, kY2019, kY2021))));
  EXPECT_TRUE(Rejected(Auth(records::OwnershipRecord(kT, kOrion, kAcme, 4000, false, kY2019 + 1, 0)),
                       Code::kFailedPrecondition, "OWNERSHIP_OVERLAPS"));
  // Adjacent is fine, as is another owner over the same window.
  EXPECT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kOrion, kAcme, 4000, false, kY2021, 0))));
  EXPECT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kDist, kAcme, 1000, false, kY2019, 0))));
  EXPECT_TRUE(Rejected(Auth(records::OwnershipRecord(kT, kOrion, kAcme, 4000, false, kY2021, kY2019)),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_EQ(Org(kAcme).owners_size(), 3);
}

TEST_F(RulesTest, NoRegistrableOwnerStatementsAndStakesMustAgree) {
  ASSERT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kOrion, kAcme, 1000, false, kY2019, 0))));
  // 10 % is below the statement's 25 %: consistent.
  ASSERT_TRUE(Accepted(Auth(records::NoRegistrableOwnerRecord(kT, kAcme, 2500, kY2019, kY2023, "PSC"))));
  EXPECT_TRUE(Rejected(Auth(records::NoRegistrableOwnerRecord(kT, kAcme, 2500, kY2021, 0, "PSC")),
                       Code::kFailedPrecondition, "FACT_OVERLAPS"));
  EXPECT_TRUE(Rejected(Auth(records::NoRegistrableOwnerRecord(kT, kAcme, 0, kY2023, 0, "PSC")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(Auth(records::NoRegistrableOwnerRecord(kT, kAcme, 2500, kY2023, 0, "")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  // A stake at the threshold, or with control, inside the window contradicts it.
  EXPECT_TRUE(Rejected(Auth(records::OwnershipRecord(kT, kDist, kAcme, 2500, false, kY2021, 0)),
                       Code::kFailedPrecondition, "CONTRADICTS_OWNERSHIP"));
  EXPECT_TRUE(Rejected(Auth(records::OwnershipRecord(kT, kDist, kAcme, 100, true, kY2021, 0)),
                       Code::kFailedPrecondition, "CONTRADICTS_OWNERSHIP"));
  // After the window it is fine; and a statement over it is then refused.
  ASSERT_TRUE(Accepted(Auth(records::OwnershipRecord(kT, kDist, kAcme, 6000, false, kY2023, 0))));
  EXPECT_TRUE(Rejected(Auth(records::NoRegistrableOwnerRecord(kT, kAcme, 2500, kY2023, 0, "PSC")),
                       Code::kFailedPrecondition, "CONTRADICTS_OWNERSHIP"));
  EXPECT_EQ(Org(kAcme).no_owner_size(), 1);
}

TEST_F(RulesTest, RulingsNameARegisteredOrgAndLawAndSupersedeByLaw) {
  EXPECT_TRUE(Rejected(Auth(records::RulingRecord(kT, kAcme, "CN-NIL-2017", true, "decision 1")),
                       Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  ASSERT_TRUE(Accepted(Auth(records::LawRecord(kT, "CN-NIL-2017", "NIL", "CN", ""))));
  EXPECT_TRUE(Rejected(Auth(records::RulingRecord(kT, "nobody", "CN-NIL-2017", true, "decision 1")),
                       Code::kFailedPrecondition, "UNKNOWN_ORG"));
  EXPECT_TRUE(Rejected(Auth(records::RulingRecord(kT, kAcme, "CN-NIL-2017", true, "")),
                       Code::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_TRUE(Rejected(By(records::RulingRecord(kT, kAcme, "CN-NIL-2017", true, "d"), auth2_),
                       Code::kPermissionDenied, "INSUFFICIENT_SIGNATURES"));
  ASSERT_TRUE(Accepted(Auth(records::RulingRecord(kT, kAcme, "CN-NIL-2017", true, "decision 1"))));
  const uint64_t second = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::RulingRecord(kT, kAcme, "CN-NIL-2017", false, "decision 2"))));
  pb::OrgState os = Org(kAcme);
  ASSERT_EQ(os.rulings_size(), 1);
  EXPECT_FALSE(os.rulings(0).ruling().subject());
  EXPECT_EQ(os.rulings(0).index(), second);
}

TEST_F(RulesTest, AuthorityCoSigningWithAnyTwoDistinctKeysIsAccepted) {
  pb::Record r = records::OrganizationRecord(kT, "cosigned", "Co-Signed Ltd", "DE");
  std::string bytes = Serialize(r);
  const SigningKey* first[] = {&auth2_};
  pb::SignedRecord sr = SignRecord(bytes, first);
  AddSignature(sr, auth0_);
  ASSERT_TRUE(Accepted(sr.SerializeAsString()));
  EXPECT_EQ(Org("cosigned").current().country(), "DE");

  // All three authorities is more than enough.
  ASSERT_TRUE(Accepted(
      records::SignRecordBytes(records::OrganizationRecord(kT, "all-three", "Three Ltd", "DE"),
                              {&auth0_, &auth1_, &auth2_})));
  // Signature order does not matter.
  ASSERT_TRUE(Accepted(records::SignRecordBytes(
      records::OrganizationRecord(kT, "reversed", "Reversed Ltd", "DE"), {&auth2_, &auth1_})));
}

TEST_F(RulesTest, KeyEnrollmentRecordsKeyStateAndOrgIndex) {
  SigningKey k = KeyFromByte(40);
  uint64_t idx = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::KeyEnrollmentRecord(
      kT, k.public_key(), kDist, {pb::ROLE_CUSTODIAN, pb::ROLE_MANUFACTURER}, kT - 5, kT + 5))));
  auto ks = Read<pb::KeyState>(state_key::Key(KeyId(k.public_key())));
  EXPECT_EQ(ks.enrollment().public_key(), Str(k.public_key()));
  EXPECT_EQ(ks.enrollment().roles_size(), 2);
  EXPECT_EQ(ks.enrollment().not_before(), kT - 5);
  EXPECT_EQ(ks.enrollment().not_after(), kT + 5);
  EXPECT_EQ(ks.enrolled_index(), idx);
  EXPECT_EQ(Vec(Org(kDist).record_indices()),
            (std::vector<uint64_t>{kDistOrgIdx, kDistCustKeyIdx, idx}));
}

TEST_F(RulesTest, KeyRevocationMarksKeyAndAppendsOrgIndex) {
  uint64_t idx = next_index_;
  ASSERT_TRUE(Accepted(
      Auth(records::KeyRevocationRecord(kT + 50, dist_cust_.public_key(), kT + 40, "lost"))));
  auto ks = Read<pb::KeyState>(state_key::Key(KeyId(dist_cust_.public_key())));
  EXPECT_TRUE(ks.revoked());
  EXPECT_EQ(ks.revoked_effective(), kT + 40);
  EXPECT_EQ(ks.revoked_index(), idx);
  EXPECT_EQ(ks.enrolled_index(), kDistCustKeyIdx);
  EXPECT_EQ(Vec(Org(kDist).record_indices()),
            (std::vector<uint64_t>{kDistOrgIdx, kDistCustKeyIdx, idx}));
}

TEST_F(RulesTest, CatalogRecordsAreAcceptedAndStored) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  uint64_t c = catalog_start_;
  EXPECT_EQ(Read<pb::ComponentState>(state_key::Component(kOrion, "OM-SOC-1")).index(), c);

  auto ms = Read<pb::ModelState>(state_key::Model(kAcme, "C100"));
  EXPECT_EQ(ms.index(), c + 1);
  EXPECT_EQ(ms.model().brand_org(), kAcme);
  ASSERT_EQ(ms.model().bom_size(), 1);
  EXPECT_EQ(ms.model().bom(0).component().maker_org(), kOrion);
  EXPECT_EQ(Vec(ms.firmware_indices()), (std::vector<uint64_t>{c + 2}));

  auto fw = Read<pb::FirmwareState>(state_key::Firmware(kAcme, "C100", "1.0.0"));
  EXPECT_EQ(fw.sha256(), Str(Sha256("fw 1.0.0")));
  EXPECT_EQ(fw.release_index(), c + 2);
  EXPECT_FALSE(fw.revoked());

  for (int i = 1; i <= 3; ++i) {
    auto d = Dev(kAcme, "SN-" + std::to_string(i));
    EXPECT_EQ(d.index(), DeviceIdx(i));
    EXPECT_EQ(d.model_id(), "C100");
    EXPECT_EQ(d.device_public_key(), Str(DeviceKey(i).public_key()));
    EXPECT_EQ(d.custodian_org(), kAcme);
    EXPECT_EQ(d.condition(), pb::DEVICE_CONDITION_ACTIVE);
    EXPECT_EQ(Vec(d.record_indices()), (std::vector<uint64_t>{DeviceIdx(i)}));
  }

  // A model whose brand is another org (an OEM making for a brand), with no BOM.
  ASSERT_TRUE(Accepted(By(records::DeviceModelRecord(kT, kAcme, "D200", kDist, {}), acme_mfr_)));
  EXPECT_EQ(Read<pb::ModelState>(state_key::Model(kAcme, "D200")).model().brand_org(), kDist);
}

TEST_F(RulesTest, FirmwareRevocationMarksReleaseAndAppendsModelIndex) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  uint64_t idx = next_index_;
  ASSERT_TRUE(Accepted(By(
      records::FirmwareRevocationRecord(kT, kAcme, "C100", "1.0.0", "CVE-2024-0001"), acme_mfr_)));
  auto fw = Read<pb::FirmwareState>(state_key::Firmware(kAcme, "C100", "1.0.0"));
  EXPECT_TRUE(fw.revoked());
  EXPECT_EQ(fw.revoked_index(), idx);
  EXPECT_EQ(fw.release_index(), catalog_start_ + 2);
  EXPECT_EQ(fw.sha256(), Str(Sha256("fw 1.0.0")));
  EXPECT_EQ(Vec(Read<pb::ModelState>(state_key::Model(kAcme, "C100")).firmware_indices()),
            (std::vector<uint64_t>{catalog_start_ + 2, idx}));
}

TEST_F(RulesTest, TransfersChainFromManufacturerThroughDistributorToBuyer) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  uint64_t t1 = next_index_;
  ASSERT_TRUE(Accepted(Transfer({"SN-1", "SN-2"}, kAcme, kDist, acme_cust_)));
  EXPECT_EQ(Dev(kAcme, "SN-1").custodian_org(), kDist);
  EXPECT_EQ(Dev(kAcme, "SN-2").custodian_org(), kDist);
  EXPECT_EQ(Dev(kAcme, "SN-3").custodian_org(), kAcme);

  uint64_t t2 = next_index_;
  ASSERT_TRUE(Accepted(Transfer({"SN-1"}, kDist, kBuyer, dist_cust_)));
  auto sn1 = Dev(kAcme, "SN-1");
  EXPECT_EQ(sn1.custodian_org(), kBuyer);
  EXPECT_EQ(Vec(sn1.record_indices()), (std::vector<uint64_t>{DeviceIdx(1), t1, t2}));
  auto sn2 = Dev(kAcme, "SN-2");
  EXPECT_EQ(sn2.custodian_org(), kDist);
  EXPECT_EQ(Vec(sn2.record_indices()), (std::vector<uint64_t>{DeviceIdx(2), t1}));
  EXPECT_EQ(Vec(Dev(kAcme, "SN-3").record_indices()), (std::vector<uint64_t>{DeviceIdx(3)}));
  // The registration facts are untouched by custody changes.
  EXPECT_EQ(sn1.index(), DeviceIdx(1));
  EXPECT_EQ(sn1.model_id(), "C100");

  // And the buyer can hand it back.
  ASSERT_TRUE(Accepted(Transfer({"SN-1"}, kBuyer, kAcme, buyer_cust_)));
  EXPECT_EQ(Dev(kAcme, "SN-1").custodian_org(), kAcme);
}

TEST_F(RulesTest, DeviceStatusByCustodianIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  uint64_t t = next_index_;
  ASSERT_TRUE(Accepted(Transfer({"SN-1"}, kAcme, kDist, acme_cust_)));
  uint64_t s = next_index_;
  ASSERT_TRUE(Accepted(
      By(records::DeviceStatusRecord(kT, kAcme, "SN-1", pb::DEVICE_CONDITION_STOLEN, "truck theft"),
         dist_cust_)));
  auto d = Dev(kAcme, "SN-1");
  EXPECT_EQ(d.condition(), pb::DEVICE_CONDITION_STOLEN);
  EXPECT_EQ(Vec(d.record_indices()), (std::vector<uint64_t>{DeviceIdx(1), t, s}));
  EXPECT_EQ(d.custodian_org(), kDist);
}

TEST_F(RulesTest, DeviceStatusByManufacturerAfterTransferIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  ASSERT_TRUE(Accepted(Transfer({"SN-1"}, kAcme, kDist, acme_cust_)));
  // Any key of the manufacturer, whatever its role.
  ASSERT_TRUE(Accepted(
      By(records::DeviceStatusRecord(kT, kAcme, "SN-1", pb::DEVICE_CONDITION_RECALLED), acme_mfr_)));
  EXPECT_EQ(Dev(kAcme, "SN-1").condition(), pb::DEVICE_CONDITION_RECALLED);
  ASSERT_TRUE(Accepted(
      By(records::DeviceStatusRecord(kT, kAcme, "SN-1", pb::DEVICE_CONDITION_ACTIVE), acme_cust_)));
  EXPECT_EQ(Dev(kAcme, "SN-1").condition(), pb::DEVICE_CONDITION_ACTIVE);
  EXPECT_EQ(Dev(kAcme, "SN-1").record_indices_size(), 4);
}

TEST_F(RulesTest, DeviceStatusByAuthorityThresholdIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  ASSERT_TRUE(Accepted(Auth(
      records::DeviceStatusRecord(kT, kAcme, "SN-2", pb::DEVICE_CONDITION_COMPROMISED, "CVE"))));
  EXPECT_EQ(Dev(kAcme, "SN-2").condition(), pb::DEVICE_CONDITION_COMPROMISED);
  ASSERT_TRUE(Accepted(
      Auth(records::DeviceStatusRecord(kT, kAcme, "SN-2", pb::DEVICE_CONDITION_DECOMMISSIONED))));
  EXPECT_EQ(Dev(kAcme, "SN-2").condition(), pb::DEVICE_CONDITION_DECOMMISSIONED);
}

TEST_F(RulesTest, SameIdentitiesUnderAnotherMakerAreAccepted) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  // Same part number, other maker.
  ASSERT_TRUE(Accepted(By(
      records::ComponentRecord(kT, kAcme, "OM-SOC-1", pb::COMPONENT_KIND_OTHER, "CN"), acme_mfr_)));
  // Same model id, other manufacturer.
  ASSERT_TRUE(Accepted(By(records::DeviceModelRecord(kT, kOrion, "C100", kOrion, {}), orion_mfr_)));
  // Same firmware version, other manufacturer.
  ASSERT_TRUE(Accepted(
      By(records::FirmwareReleaseRecord(kT, kOrion, "C100", "1.0.0", Sha256("x")), orion_mfr_)));
  // Same serial, other manufacturer.
  ASSERT_TRUE(
      Accepted(By(records::DeviceRecord(kT, kOrion, "SN-1", "C100", DeviceKey(9).public_key(), kT),
                  orion_mfr_)));
  EXPECT_EQ(Dev(kOrion, "SN-1").custodian_org(), kOrion);
  EXPECT_EQ(Dev(kAcme, "SN-1").device_public_key(), Str(DeviceKey(1).public_key()));
}

TEST_F(RulesTest, KeyIsValidFromNotBeforeUntilJustBeforeNotAfter) {
  SigningKey k = KeyFromByte(41);
  ASSERT_TRUE(Accepted(Auth(records::KeyEnrollmentRecord(
      kT, k.public_key(), kOrion, {pb::ROLE_MANUFACTURER}, kT + 100, kT + 200))));
  auto comp = [&](int64_t t, const std::string& part) {
    return By(records::ComponentRecord(t, kOrion, part, pb::COMPONENT_KIND_LENS, "JP"), k);
  };
  EXPECT_TRUE(Rejected(comp(kT + 99, "P1"), Code::kPermissionDenied, "KEY_NOT_YET_VALID"));
  EXPECT_TRUE(Accepted(comp(kT + 100, "P2")));
  EXPECT_TRUE(Accepted(comp(kT + 199, "P3")));
  EXPECT_TRUE(Rejected(comp(kT + 200, "P4"), Code::kPermissionDenied, "KEY_EXPIRED"));
  EXPECT_TRUE(Rejected(comp(kT + 10'000, "P5"), Code::kPermissionDenied, "KEY_EXPIRED"));
}

TEST_F(RulesTest, ApplyingIntoABatchOverlayKeepsEarlierWritesOnRejection) {
  // The server applies a batch of records into one overlay before a single
  // commit; a rejected record must not disturb the records before it.
  StateOverlay batch(&state_);
  ASSERT_TRUE(
      ApplyRecord(batch, Auth(records::OrganizationRecord(kT, "batch-org", "B", "NL")), next_index_)
          .ok());
  SigningKey k = KeyFromByte(42);
  ASSERT_TRUE(ApplyRecord(batch,
                          Auth(records::KeyEnrollmentRecord(kT, k.public_key(), "batch-org",
                                                           {pb::ROLE_MANUFACTURER})),
                          next_index_ + 1)
                  .ok());
  auto before = batch.writes();
  Status s = ApplyRecord(
      batch,
      Auth(records::KeyEnrollmentRecord(kT, k.public_key(), "batch-org", {pb::ROLE_CUSTODIAN})),
      next_index_ + 2);
  EXPECT_EQ(s.reason(), "KEY_ALREADY_ENROLLED");
  EXPECT_EQ(batch.writes(), before);
  // A record signed by the key enrolled earlier in the batch sees it.
  ASSERT_TRUE(
      ApplyRecord(
          batch,
          By(records::ComponentRecord(kT, "batch-org", "B-1", pb::COMPONENT_KIND_RADIO, "NL"), k),
          next_index_ + 2)
          .ok());
  EXPECT_FALSE(Has(state_key::Org("batch-org")));  // nothing reached the base yet
  state_.Apply(batch);
  EXPECT_EQ(Vec(Org("batch-org").record_indices()),
            (std::vector<uint64_t>{next_index_, next_index_ + 1}));
  EXPECT_TRUE(Has(state_key::Component("batch-org", "B-1")));
}

TEST_F(RulesTest, RecordKindNamesAreHumanReadable) {
  EXPECT_EQ(RecordKindName(records::GenesisRecord("o", {}, 1)), "genesis");
  EXPECT_EQ(RecordKindName(records::OrganizationRecord(kT, "a", "A", "GB")), "organization");
  EXPECT_EQ(RecordKindName(records::OwnershipRecord(kT, "a", "b", 1, false, 0)), "ownership");
  EXPECT_EQ(RecordKindName(records::KeyEnrollmentRecord(kT, {}, "a", {})), "key enrollment");
  EXPECT_EQ(RecordKindName(records::KeyRevocationRecord(kT, {}, 0)), "key revocation");
  EXPECT_EQ(RecordKindName(records::ComponentRecord(kT, "a", "p", pb::COMPONENT_KIND_SOC, "GB")),
            "component");
  EXPECT_EQ(RecordKindName(records::DeviceModelRecord(kT, "a", "m", "a", {})), "device model");
  EXPECT_EQ(RecordKindName(records::FirmwareReleaseRecord(kT, "a", "m", "v", {})),
            "firmware release");
  EXPECT_EQ(RecordKindName(records::FirmwareRevocationRecord(kT, "a", "m", "v")),
            "firmware revocation");
  EXPECT_EQ(RecordKindName(records::DeviceRecord(kT, "a", "s", "m", {}, 0)), "device");
  EXPECT_EQ(RecordKindName(records::TransferRecord(kT, "a", {"s"}, "a", "b")), "transfer");
  EXPECT_EQ(RecordKindName(records::DeviceStatusRecord(kT, "a", "s", pb::DEVICE_CONDITION_STOLEN)),
            "device status");
  EXPECT_EQ(RecordKindName(pb::Record()), "unknown");
}

// ---------------------------------------------------------------------------
// Envelope, size and encoding: MALFORMED_RECORD, RECORD_TOO_LARGE

TEST_F(RulesTest, GarbageBytesAreMalformed) {
  // 0x0f is field 1 with wire type 7, which does not exist.
  EXPECT_TRUE(
      Rejected(std::string("\x0f\xff\xff garbage"), Code::kInvalidArgument, "MALFORMED_RECORD"));
  // A truncated length-delimited field.
  EXPECT_TRUE(
      Rejected(LenField(1, "abcdef").substr(0, 4), Code::kInvalidArgument, "MALFORMED_RECORD"));
}

TEST_F(RulesTest, RecordBytesThatAreNotARecordAreMalformed) {
  EXPECT_TRUE(Rejected(SignBytes("\x0f not a record", {&auth0_, &auth1_}), Code::kInvalidArgument,
                       "MALFORMED_RECORD"));
  // issued_at as a length-delimited field: the wrong wire type for an int64.
  EXPECT_TRUE(Rejected(SignBytes(LenField(1, "xx"), {&auth0_, &auth1_}), Code::kInvalidArgument,
                       "MALFORMED_RECORD"));
}

TEST_F(RulesTest, UnknownFieldInSignedRecordIsMalformed) {
  std::string leaf = Auth(records::OrganizationRecord(kT, "new-org", "New", "FR"));
  EXPECT_TRUE(Rejected(leaf + VarintField(3, 1), Code::kInvalidArgument, "MALFORMED_RECORD"));
  EXPECT_TRUE(Accepted(leaf));  // the same leaf without it is fine
}

TEST_F(RulesTest, UnknownFieldInsideASignatureIsMalformed) {
  pb::SignedRecord sr = records::SignRecord(records::OrganizationRecord(kT, "new-org", "New", "FR"),
                                           {&auth0_, &auth1_});
  Unknown(sr.mutable_signatures(1))->AddVarint(7, 1);
  EXPECT_TRUE(Rejected(sr.SerializeAsString(), Code::kInvalidArgument, "MALFORMED_RECORD"));
}

TEST_F(RulesTest, UnknownFieldInRecordIsMalformed) {
  std::string bytes = Serialize(records::OrganizationRecord(kT, "new-org", "New", "FR"));
  // An unknown scalar field, and an unknown record kind (field 40).
  EXPECT_TRUE(Rejected(SignBytes(bytes + VarintField(99, 1), {&auth0_, &auth1_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
  EXPECT_TRUE(Rejected(SignBytes(VarintField(1, kT) + LenField(40, ""), {&auth0_, &auth1_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
  EXPECT_TRUE(Accepted(SignBytes(bytes, {&auth0_, &auth1_})));
}

TEST_F(RulesTest, UnknownFieldNestedInRecordIsMalformed) {
  // Inside the record kind.
  pb::Record r = records::OrganizationRecord(kT, "new-org", "New", "FR");
  Unknown(r.mutable_organization())->AddVarint(40, 7);
  EXPECT_TRUE(Rejected(Auth(r), Code::kInvalidArgument, "MALFORMED_RECORD"));

  // Two levels down: a BOM line's component reference.
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  pb::Record m =
      records::DeviceModelRecord(kT, kAcme, "C200", kAcme, {records::Ref(kOrion, "OM-SOC-1")});
  Unknown(m.mutable_device_model()->mutable_bom(0)->mutable_component())
      ->AddLengthDelimited(9, "x");
  EXPECT_TRUE(Rejected(By(m, acme_mfr_), Code::kInvalidArgument, "MALFORMED_RECORD"));

  // In a genesis authority key.
  pb::Record g = records::GenesisRecord("o", {{"a", auth0_.public_key()}}, 1);
  Unknown(g.mutable_genesis()->mutable_authority_keys(0))->AddFixed32(5, 1);
  MemoryState fresh;
  StateOverlay overlay(&fresh);
  Status s = ApplyRecord(overlay, records::SignRecordBytes(g, {}), 0);
  EXPECT_EQ(s.reason(), "MALFORMED_RECORD");
  EXPECT_TRUE(overlay.writes().empty());
}

TEST_F(RulesTest, FieldsOutOfOrderAreMalformed) {
  pb::Record r = records::OrganizationRecord(kT, "new-org", "New", "FR");
  std::string org = r.organization().SerializeAsString();
  std::string in_order = VarintField(1, kT) + LenField(11, org);
  ASSERT_EQ(in_order, Serialize(r));
  std::string reversed = LenField(11, org) + VarintField(1, kT);
  EXPECT_TRUE(Rejected(SignBytes(reversed, {&auth0_, &auth1_}), Code::kInvalidArgument,
                       "MALFORMED_RECORD"));
  // Out of order inside the kind: country (4) before legal_name (2).
  std::string inner = LenField(1, "new-org") + LenField(4, "FR") + LenField(2, "New");
  EXPECT_TRUE(Rejected(SignBytes(VarintField(1, kT) + LenField(11, inner), {&auth0_, &auth1_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
  EXPECT_TRUE(Accepted(SignBytes(in_order, {&auth0_, &auth1_})));
}

TEST_F(RulesTest, ExplicitlyEncodedDefaultValueIsMalformed) {
  std::string org =
      records::OrganizationRecord(kT, "new-org", "New", "FR").organization().SerializeAsString();
  // state_owned = false written out.
  EXPECT_TRUE(Rejected(
      SignBytes(VarintField(1, kT) + LenField(11, org + VarintField(6, 0)), {&auth0_, &auth1_}),
      Code::kInvalidArgument, "MALFORMED_RECORD"));
  // Ownership with control = false written out between stake and valid_from.
  std::string own = LenField(1, kAcme) + LenField(2, kDist) + VarintField(3, 100) +
                    VarintField(4, 0) + VarintField(5, 1);
  EXPECT_TRUE(Rejected(SignBytes(VarintField(1, kT) + LenField(12, own), {&auth0_, &auth1_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
  // A genesis with issued_at = 0 written out.
  std::string genesis =
      records::GenesisRecord("o", {{"a", auth0_.public_key()}}, 1).genesis().SerializeAsString();
  Result<PreparedRecord> p = PrepareRecord(
      records::SignRecordBytes(records::GenesisRecord("o", {{"a", auth0_.public_key()}}, 1), {}));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pb::SignedRecord explicit_zero;
  explicit_zero.set_record(VarintField(1, 0) + LenField(10, genesis));
  p = PrepareRecord(explicit_zero.SerializeAsString());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "MALFORMED_RECORD");
  // state_owned = true is canonical in that position.
  EXPECT_TRUE(Accepted(
      SignBytes(VarintField(1, kT) + LenField(11, org + VarintField(6, 1)), {&auth0_, &auth1_})));
  EXPECT_TRUE(Org("new-org").current().state_owned());
}

TEST_F(RulesTest, NonMinimalVarintIsMalformed) {
  // issued_at with a redundant continuation byte.
  std::string org =
      records::OrganizationRecord(kT, "new-org", "New", "FR").organization().SerializeAsString();
  std::string v = Varint(kT);
  v.back() = static_cast<char>(v.back() | 0x80);
  v.push_back('\0');
  EXPECT_TRUE(Rejected(SignBytes(Varint(1 << 3) + v + LenField(11, org), {&auth0_, &auth1_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
}

TEST_F(RulesTest, UnpackedRepeatedRolesAreMalformed) {
  SigningKey k = KeyFromByte(43);
  std::string head = LenField(1, Str(k.public_key())) + LenField(2, kDist);
  std::string unpacked =
      head + VarintField(3, pb::ROLE_MANUFACTURER) + VarintField(3, pb::ROLE_CUSTODIAN);
  std::string packed =
      head + LenField(3, Varint(pb::ROLE_MANUFACTURER) + Varint(pb::ROLE_CUSTODIAN));
  EXPECT_TRUE(Rejected(SignBytes(VarintField(1, kT) + LenField(13, unpacked), {&auth0_, &auth1_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
  EXPECT_TRUE(Accepted(SignBytes(VarintField(1, kT) + LenField(13, packed), {&auth0_, &auth1_})));
}

TEST_F(RulesTest, TwoRecordKindsInOneRecordAreMalformed) {
  std::string org =
      records::OrganizationRecord(kT, "new-org", "New", "FR").organization().SerializeAsString();
  std::string own =
      records::OwnershipRecord(kT, kAcme, kDist, 100, false, 0).ownership().SerializeAsString();
  EXPECT_TRUE(Rejected(
      SignBytes(VarintField(1, kT) + LenField(11, org) + LenField(12, own), {&auth0_, &auth1_}),
      Code::kInvalidArgument, "MALFORMED_RECORD"));
  // The same field twice (the parser keeps the last).
  EXPECT_TRUE(Rejected(SignBytes(VarintField(1, kT) + VarintField(1, kT + 1) + LenField(11, org),
                                 {&auth0_, &auth1_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
}

TEST_F(RulesTest, InvalidUtf8InAStringFieldIsMalformed) {
  // proto3 strings are UTF-8; ids must not smuggle raw bytes into state keys.
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  std::string device = LenField(1, kAcme) + LenField(2, "SN-\xff") + LenField(3, "C100") +
                       LenField(4, Str(DeviceKey(8).public_key()));
  EXPECT_TRUE(Rejected(SignBytes(VarintField(1, kT) + LenField(19, device), {&acme_mfr_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
  // Non-ASCII UTF-8 is fine.
  EXPECT_TRUE(Accepted(
      By(records::DeviceRecord(kT, kAcme, "SN-\u00e9", "C100", DeviceKey(8).public_key(), kT),
         acme_mfr_)));
}

TEST_F(RulesTest, SignatureWithWrongKeyOrSignatureSizeIsMalformed) {
  pb::SignedRecord sr = records::SignRecord(records::OrganizationRecord(kT, "new-org", "New", "FR"),
                                           {&auth0_, &auth1_});
  pb::SignedRecord short_key = sr;
  short_key.mutable_signatures(0)->mutable_public_key()->pop_back();
  EXPECT_TRUE(Rejected(short_key.SerializeAsString(), Code::kInvalidArgument, "MALFORMED_RECORD"));
  pb::SignedRecord long_sig = sr;
  long_sig.mutable_signatures(1)->mutable_signature()->push_back('\0');
  EXPECT_TRUE(Rejected(long_sig.SerializeAsString(), Code::kInvalidArgument, "MALFORMED_RECORD"));
  pb::SignedRecord empty_sig = sr;
  empty_sig.mutable_signatures(1)->clear_signature();
  EXPECT_TRUE(Rejected(empty_sig.SerializeAsString(), Code::kInvalidArgument, "MALFORMED_RECORD"));
}

TEST_F(RulesTest, SignedGenesisIsMalformed) {
  pb::Record g = records::GenesisRecord("o", {{"a", auth0_.public_key()}}, 1);
  MemoryState fresh;
  StateOverlay overlay(&fresh);
  Status s = ApplyRecord(overlay, records::SignRecordBytes(g, {&auth0_}), 0);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.reason(), "MALFORMED_RECORD");
  EXPECT_TRUE(overlay.writes().empty());
}

// Returns an authority-signed organization leaf padded with aliases to
// exactly `size` bytes.
std::string PaddedOrganizationLeaf(size_t size, const SigningKey& a, const SigningKey& b) {
  pb::Record r = records::OrganizationRecord(kT, "padded-org", "Padded Ltd", "GB");
  auto leaf = [&] { return records::SignRecordBytes(r, {&a, &b}); };
  // Each 128-byte alias adds 131 bytes; stop with 120..250 bytes to go.
  size_t overhead = leaf().size() - r.ByteSizeLong();
  while (r.ByteSizeLong() + overhead + 250 < size) {
    r.mutable_organization()->add_aliases(std::string(128, 'a'));
  }
  // Length prefixes no longer change size in the range left, so two aliases
  // of 1..127 bytes (3..129 bytes each) close the gap exactly.
  overhead = leaf().size() - r.ByteSizeLong();
  std::string* x = r.mutable_organization()->add_aliases();
  std::string* y = r.mutable_organization()->add_aliases();
  for (size_t n = 1; n <= 127; ++n) {
    for (size_t m = 1; m <= 127; ++m) {
      x->assign(n, 'x');
      y->assign(m, 'y');
      if (r.ByteSizeLong() + overhead == size) return leaf();
    }
  }
  return "";
}

TEST_F(RulesTest, LeafOfExactlyTheSizeLimitIsAccepted) {
  std::string leaf = PaddedOrganizationLeaf(kMaxSignedRecordBytes, auth0_, auth1_);
  ASSERT_EQ(leaf.size(), kMaxSignedRecordBytes);
  EXPECT_TRUE(Accepted(leaf));
  EXPECT_GT(Org("padded-org").current().aliases_size(), 400);
}

TEST_F(RulesTest, LeafOverTheSizeLimitIsRejected) {
  std::string leaf = PaddedOrganizationLeaf(kMaxSignedRecordBytes + 1, auth0_, auth1_);
  ASSERT_EQ(leaf.size(), kMaxSignedRecordBytes + 1);
  EXPECT_TRUE(Rejected(leaf, Code::kInvalidArgument, "RECORD_TOO_LARGE"));
  // Size is checked before anything else.
  EXPECT_TRUE(Rejected(std::string(kMaxSignedRecordBytes + 1, '\x0f'), Code::kInvalidArgument,
                       "RECORD_TOO_LARGE"));
  EXPECT_TRUE(Rejected(std::string(kMaxSignedRecordBytes, '\x0f'), Code::kInvalidArgument,
                       "MALFORMED_RECORD"));
}

// ---------------------------------------------------------------------------
// Field syntax: INVALID_FIELD, UNKNOWN_RECORD_KIND

struct BadFieldCase {
  std::string name;
  pb::Record record;
  std::string message_part;  // a substring of the rejection message
};

std::vector<BadFieldCase> BadFieldCases() {
  std::vector<BadFieldCase> cases;
  auto add = [&](std::string name, pb::Record r, std::string part) {
    cases.push_back({std::move(name), std::move(r), std::move(part)});
  };
  auto org = [](const std::string& id, const std::string& name, const std::string& country) {
    return records::OrganizationRecord(kT, id, name, country);
  };
  PublicKey pk = KeyFromByte(44).public_key();

  // Common to every kind but genesis.
  add("issued_at zero", records::OrganizationRecord(0, "x", "X", "GB"), "issued_at");
  add("issued_at negative", records::OrganizationRecord(-5, "x", "X", "GB"), "issued_at");

  // Organization.
  add("org id uppercase", org("Acme-Cam", "X", "GB"), "org_id");
  add("org id leading dash", org("-acme", "X", "GB"), "org_id");
  add("org id leading dot", org(".acme", "X", "GB"), "org_id");
  add("org id with space", org("acme cam", "X", "GB"), "org_id");
  add("org id with underscore", org("acme_cam", "X", "GB"), "org_id");
  add("org id empty", org("", "X", "GB"), "org_id");
  add("org id 65 bytes", org(std::string(65, 'a'), "X", "GB"), "org_id");
  add("org id with control character", org(std::string("acme\x01", 5), "X", "GB"), "org_id");
  add("legal name empty", org("x", "", "GB"), "legal_name");
  add("legal name 129 bytes", org("x", std::string(129, 'L'), "GB"), "legal_name");
  add("legal name with newline", org("x", "Acme\nLtd", "GB"), "legal_name");
  add("legal name with DEL", org("x", "Acme\x7f", "GB"), "legal_name");
  add("country lowercase", org("x", "X", "gb"), "country");
  add("country three letters", org("x", "X", "GBR"), "country");
  add("country empty", org("x", "X", ""), "country");
  add("country digits", org("x", "X", "12"), "country");
  add("alias with control character",
      records::OrganizationRecord(kT, "x", "X", "GB", {}, false, {"ok", "bad\t"}), "alias");
  add("alias empty", records::OrganizationRecord(kT, "x", "X", "GB", {}, false, {""}), "alias");
  add("law with control character",
      records::OrganizationRecord(kT, "x", "X", "GB", {std::string("CN\0NIL", 6)}), "law");

  // Ownership.
  add("owner org bad", records::OwnershipRecord(kT, "Bad", "x", 1, false, 0), "owner_org");
  add("owned org bad", records::OwnershipRecord(kT, "x", "", 1, false, 0), "owned_org");
  add("owns itself", records::OwnershipRecord(kT, "x", "x", 1, false, 0), "own itself");
  add("stake over 10000", records::OwnershipRecord(kT, "x", "y", 10001, false, 0), "stake_bp");
  add("valid_until equal to valid_from", records::OwnershipRecord(kT, "x", "y", 1, false, 10, 10),
      "valid_until");
  add("valid_until before valid_from", records::OwnershipRecord(kT, "x", "y", 1, false, 10, 9),
      "valid_until");

  // Key enrollment.
  {
    pb::Record r = records::KeyEnrollmentRecord(kT, pk, "x", {pb::ROLE_CUSTODIAN});
    r.mutable_key_enrollment()->mutable_public_key()->pop_back();
    add("public key 31 bytes", r, "public_key");
    r.mutable_key_enrollment()->mutable_public_key()->append("ab");
    add("public key 33 bytes", r, "public_key");
  }
  add("enrollment org bad", records::KeyEnrollmentRecord(kT, pk, "X", {pb::ROLE_CUSTODIAN}),
      "org_id");
  add("no roles", records::KeyEnrollmentRecord(kT, pk, "x", {}), "role");
  add("role unspecified", records::KeyEnrollmentRecord(kT, pk, "x", {pb::ROLE_UNSPECIFIED}),
      "unknown role 0");
  add("role unknown value",
      records::KeyEnrollmentRecord(kT, pk, "x", {pb::ROLE_CUSTODIAN, static_cast<pb::Role>(7)}),
      "unknown role 7");
  add("not_after equal to not_before",
      records::KeyEnrollmentRecord(kT, pk, "x", {pb::ROLE_CUSTODIAN}, 100, 100), "not_after");
  add("not_after before not_before",
      records::KeyEnrollmentRecord(kT, pk, "x", {pb::ROLE_CUSTODIAN}, 100, 50), "not_after");

  // Key revocation.
  {
    pb::Record r = records::KeyRevocationRecord(kT, pk, kT);
    r.mutable_key_revocation()->mutable_key_id()->pop_back();
    add("key id 31 bytes", r, "key_id");
  }
  add("revocation reason too long", records::KeyRevocationRecord(kT, pk, kT, std::string(1025, 'r')),
      "reason");

  // Component.
  auto comp = [](const std::string& maker, const std::string& part, pb::ComponentKind kind,
                 const std::string& country) {
    return records::ComponentRecord(kT, maker, part, kind, country);
  };
  add("component maker bad", comp("X", "p", pb::COMPONENT_KIND_SOC, "GB"), "maker_org");
  add("part number empty", comp("x", "", pb::COMPONENT_KIND_SOC, "GB"), "part_number");
  add("part number 129 bytes", comp("x", std::string(129, 'p'), pb::COMPONENT_KIND_SOC, "GB"),
      "part_number");
  add("part number with control character",
      comp("x", std::string("p\0q", 3), pb::COMPONENT_KIND_SOC, "GB"), "part_number");
  add("component kind unspecified", comp("x", "p", pb::COMPONENT_KIND_UNSPECIFIED, "GB"), "kind");
  add("component kind unknown value", comp("x", "p", static_cast<pb::ComponentKind>(12), "GB"),
      "kind");
  add("component country missing", comp("x", "p", pb::COMPONENT_KIND_SOC, ""), "country_of_origin");
  {
    pb::Record r = comp("x", "p", pb::COMPONENT_KIND_SOC, "GB");
    r.mutable_component()->set_description(std::string(1025, 'd'));
    add("component description too long", r, "description");
  }

  // Device model.
  add("model manufacturer bad", records::DeviceModelRecord(kT, "", "m", "x", {}),
      "manufacturer_org");
  add("model id empty", records::DeviceModelRecord(kT, "x", "", "x", {}), "model_id");
  add("brand org bad", records::DeviceModelRecord(kT, "x", "m", "Brand", {}), "brand_org");
  add("bom maker bad", records::DeviceModelRecord(kT, "x", "m", "x", {records::Ref("Y", "p")}),
      "component maker_org");
  add("bom part empty", records::DeviceModelRecord(kT, "x", "m", "x", {records::Ref("y", "")}),
      "component part_number");
  {
    pb::Record r = records::DeviceModelRecord(kT, "x", "m", "x", {records::Ref("y", "p")});
    r.mutable_device_model()->mutable_bom(0)->set_assembly_test_location("tw");
    add("bom assembly location bad", r, "assembly_test_location");
  }
  {
    pb::Record r = records::DeviceModelRecord(kT, "x", "m", "x", {});
    r.mutable_device_model()->add_bom()->set_quantity(1);  // no component reference
    add("bom line without component", r, "component maker_org");
  }

  // Firmware.
  Hash h = Sha256("fw");
  add("firmware manufacturer bad", records::FirmwareReleaseRecord(kT, "X", "m", "1", h),
      "manufacturer_org");
  add("firmware model empty", records::FirmwareReleaseRecord(kT, "x", "", "1", h), "model_id");
  add("firmware version empty", records::FirmwareReleaseRecord(kT, "x", "m", "", h), "version");
  {
    pb::Record r = records::FirmwareReleaseRecord(kT, "x", "m", "1", h);
    r.mutable_firmware_release()->mutable_sha256()->pop_back();
    add("firmware sha256 31 bytes", r, "sha256");
    r.mutable_firmware_release()->clear_sha256();
    add("firmware sha256 missing", r, "sha256");
  }
  add("firmware revocation manufacturer bad", records::FirmwareRevocationRecord(kT, "", "m", "1"),
      "manufacturer_org");
  add("firmware revocation model bad", records::FirmwareRevocationRecord(kT, "x", "m\x1b", "1"),
      "model_id");
  add("firmware revocation version with control character",
      records::FirmwareRevocationRecord(kT, "x", "m", "1.0\r"), "version");

  // Device.
  PublicKey dk = KeyFromByte(45).public_key();
  add("device manufacturer bad", records::DeviceRecord(kT, "X", "s", "m", dk, kT),
      "manufacturer_org");
  add("serial empty", records::DeviceRecord(kT, "x", "", "m", dk, kT), "serial");
  add("serial with NUL", records::DeviceRecord(kT, "x", std::string("s\0t", 3), "m", dk, kT),
      "serial");
  add("serial 129 bytes", records::DeviceRecord(kT, "x", std::string(129, 's'), "m", dk, kT),
      "serial");
  add("device model empty", records::DeviceRecord(kT, "x", "s", "", dk, kT), "model_id");
  {
    pb::Record r = records::DeviceRecord(kT, "x", "s", "m", dk, kT);
    r.mutable_device()->mutable_device_public_key()->append("!");
    add("device key 33 bytes", r, "device_public_key");
    r.mutable_device()->clear_device_public_key();
    add("device key missing", r, "device_public_key");
  }
  add("assembly country bad", records::DeviceRecord(kT, "x", "s", "m", dk, kT, "G"),
      "assembly_country");

  // Transfer.
  auto transfer = [](std::vector<std::string> serials, const std::string& from,
                     const std::string& to) {
    return records::TransferRecord(kT, "x", serials, from, to);
  };
  add("transfer with no serials", transfer({}, "a", "b"), "at least one serial");
  add("transfer with duplicate serial", transfer({"s1", "s2", "s1"}, "a", "b"), "listed twice");
  add("transfer from equals to", transfer({"s1"}, "a", "a"), "change custodian");
  add("transfer serial empty", transfer({"s1", ""}, "a", "b"), "serial");
  add("transfer serial with control character", transfer({"s\x02"}, "a", "b"), "serial");
  add("transfer from bad", transfer({"s1"}, "A", "b"), "from_org");
  add("transfer to bad", transfer({"s1"}, "a", "b c"), "to_org");
  add("transfer manufacturer bad", records::TransferRecord(kT, "", {"s1"}, "a", "b"),
      "manufacturer_org");
  add("transfer reference too long",
      records::TransferRecord(kT, "x", {"s1"}, "a", "b", std::string(257, 'r')), "reference");

  // Device status.
  auto status = [](pb::DeviceCondition c) { return records::DeviceStatusRecord(kT, "x", "s", c); };
  add("condition unspecified", status(pb::DEVICE_CONDITION_UNSPECIFIED), "condition");
  add("condition unknown value", status(static_cast<pb::DeviceCondition>(9)), "condition");
  add("status serial bad", records::DeviceStatusRecord(kT, "x", "", pb::DEVICE_CONDITION_STOLEN),
      "serial");
  add("status manufacturer bad",
      records::DeviceStatusRecord(kT, "X", "s", pb::DEVICE_CONDITION_STOLEN), "manufacturer_org");
  add("status note too long",
      records::DeviceStatusRecord(kT, "x", "s", pb::DEVICE_CONDITION_STOLEN, std::string(1025, 'n')),
      "note");

  // Genesis (checked statelessly, so at any index).
  PublicKey a = KeyFromByte(46).public_key(), b = KeyFromByte(47).public_key(),
            c = KeyFromByte(48).public_key();
  add("genesis threshold zero", records::GenesisRecord("o", {{"a", a}, {"b", b}, {"c", c}}, 0),
      "threshold");
  add("genesis threshold above key count",
      records::GenesisRecord("o", {{"a", a}, {"b", b}, {"c", c}}, 4), "threshold");
  add("genesis without keys", records::GenesisRecord("o", {}, 1), "authority keys");
  add("genesis key listed twice", records::GenesisRecord("o", {{"a", a}, {"b", a}}, 1), "twice");
  add("genesis origin empty", records::GenesisRecord("", {{"a", a}}, 1), "origin");
  add("genesis key name empty", records::GenesisRecord("o", {{"", a}}, 1), "authority key name");
  {
    pb::Record r = records::GenesisRecord("o", {{"a", a}}, 1);
    r.mutable_genesis()->mutable_authority_keys(0)->mutable_public_key()->pop_back();
    add("genesis key 31 bytes", r, "authority public_key");
  }
  return cases;
}

TEST_F(RulesTest, EachFieldSyntaxViolationIsInvalidField) {
  for (const BadFieldCase& c : BadFieldCases()) {
    SCOPED_TRACE(c.name);
    // Genesis records must be unsigned; everything else gets the authority
    // threshold (field syntax is checked before any signature).
    std::string leaf =
        c.record.has_genesis() ? records::SignRecordBytes(c.record, {}) : Auth(c.record);
    EXPECT_TRUE(Rejected(leaf, Code::kInvalidArgument, "INVALID_FIELD"));
    Result<PreparedRecord> p = PrepareRecord(leaf);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.status().message().find(c.message_part), std::string::npos) << p.status().message();
  }
}

TEST_F(RulesTest, GenesisThresholdMayEqualTheKeyCount) {
  MemoryState fresh;
  StateOverlay overlay(&fresh);
  ASSERT_TRUE(ApplyRecord(overlay,
                          records::SignRecordBytes(
                              records::GenesisRecord(
                                  "o", {{"a", auth0_.public_key()}, {"b", auth1_.public_key()}}, 2),
                              {}),
                          0)
                  .ok());
}

TEST_F(RulesTest, BoundaryFieldValuesAreAccepted) {
  ASSERT_TRUE(Accepted(
      Auth(records::OrganizationRecord(kT, std::string(64, 'z'), std::string(128, 'L'), "ZZ"))));
  ASSERT_TRUE(Accepted(Auth(records::OrganizationRecord(kT, "0a.b-c", "N", "AA"))));
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  ASSERT_TRUE(Accepted(By(records::DeviceRecord(kT, kAcme, std::string(128, 's'), "C100",
                                               DeviceKey(7).public_key(), 0, ""),
                          acme_mfr_)));
  ASSERT_TRUE(Accepted(By(records::TransferRecord(kT, kAcme, {std::string(128, 's')}, kAcme, kDist,
                                                 std::string(256, 'r')),
                          acme_cust_)));
}

TEST_F(RulesTest, RecordWithoutKindIsUnknownRecordKind) {
  pb::Record r;
  r.set_issued_at(kT);
  EXPECT_TRUE(Rejected(Auth(r), Code::kInvalidArgument, "UNKNOWN_RECORD_KIND"));
}

// ---------------------------------------------------------------------------
// Signatures: UNSIGNED, TOO_MANY_SIGNATURES, DUPLICATE_SIGNER, BAD_SIGNATURE

TEST_F(RulesTest, UnsignedRecordIsRejected) {
  EXPECT_TRUE(Rejected(records::SignRecordBytes(records::OrganizationRecord(kT, "x", "X", "GB"), {}),
                       Code::kPermissionDenied, "UNSIGNED"));
}

TEST_F(RulesTest, SeventeenSignaturesAreTooMany) {
  std::vector<SigningKey> extra;
  for (int i = 0; i < 15; ++i) extra.push_back(KeyFromByte(static_cast<uint8_t>(200 + i)));
  std::vector<const SigningKey*> keys = {&auth0_, &auth1_};
  for (const auto& k : extra) keys.push_back(&k);
  ASSERT_EQ(keys.size(), kMaxSignatures + 1);
  pb::Record r = records::OrganizationRecord(kT, "x", "X", "GB");
  EXPECT_TRUE(
      Rejected(records::SignRecordBytes(r, keys), Code::kInvalidArgument, "TOO_MANY_SIGNATURES"));

  // Sixteen pass the stateless checks; the extra keys are then unknown.
  keys.pop_back();
  Result<PreparedRecord> p = PrepareRecord(records::SignRecordBytes(r, keys));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->signers.size(), kMaxSignatures);
  EXPECT_TRUE(
      Rejected(records::SignRecordBytes(r, keys), Code::kPermissionDenied, "UNKNOWN_SIGNER"));
}

TEST_F(RulesTest, SameKeySigningTwiceIsDuplicateSigner) {
  pb::Record r = records::OrganizationRecord(kT, "x", "X", "GB");
  EXPECT_TRUE(Rejected(records::SignRecordBytes(r, {&auth0_, &auth0_}), Code::kInvalidArgument,
                       "DUPLICATE_SIGNER"));
  // Also when the threshold is otherwise met.
  EXPECT_TRUE(Rejected(records::SignRecordBytes(r, {&auth0_, &auth1_, &auth0_}),
                       Code::kInvalidArgument, "DUPLICATE_SIGNER"));
  // A duplicate with a garbage second signature is still a duplicate.
  pb::SignedRecord sr = records::SignRecord(r, {&auth0_, &auth1_});
  *sr.add_signatures() = sr.signatures(0);
  sr.mutable_signatures(2)->mutable_signature()->assign(64, 'x');
  EXPECT_TRUE(Rejected(sr.SerializeAsString(), Code::kInvalidArgument, "DUPLICATE_SIGNER"));
}

TEST_F(RulesTest, SignatureOverDifferentBytesIsBadSignature) {
  pb::Record r = records::OrganizationRecord(kT, "x", "X", "GB");
  pb::SignedRecord sr = records::SignRecord(r, {&auth0_, &auth1_});
  pb::SignedRecord other =
      records::SignRecord(records::OrganizationRecord(kT, "y", "Y", "GB"), {&auth0_, &auth1_});
  *sr.mutable_signatures(1) = other.signatures(1);
  EXPECT_TRUE(Rejected(sr.SerializeAsString(), Code::kInvalidArgument, "BAD_SIGNATURE"));

  // The record bytes changed after signing.
  pb::SignedRecord changed = records::SignRecord(r, {&auth0_, &auth1_});
  changed.set_record(Serialize(records::OrganizationRecord(kT, "x", "X", "FR")));
  EXPECT_TRUE(Rejected(changed.SerializeAsString(), Code::kInvalidArgument, "BAD_SIGNATURE"));

  // A raw signature over the record bytes without the DSSE PAE.
  pb::SignedRecord raw = records::SignRecord(r, {&auth0_});
  auto sig = auth0_.Sign(AsBytes(raw.record()));
  raw.mutable_signatures(0)->set_signature(Str(sig));
  EXPECT_TRUE(Rejected(raw.SerializeAsString(), Code::kInvalidArgument, "BAD_SIGNATURE"));
}

TEST_F(RulesTest, FlippedSignatureBitIsBadSignature) {
  pb::SignedRecord sr =
      records::SignRecord(records::OrganizationRecord(kT, "x", "X", "GB"), {&auth0_, &auth1_});
  for (size_t byte : {size_t{0}, size_t{31}, size_t{63}}) {
    pb::SignedRecord flipped = sr;
    std::string* s = flipped.mutable_signatures(1)->mutable_signature();
    (*s)[byte] = static_cast<char>((*s)[byte] ^ 0x01);
    SCOPED_TRACE(byte);
    EXPECT_TRUE(Rejected(flipped.SerializeAsString(), Code::kInvalidArgument, "BAD_SIGNATURE"));
  }
  // A valid signature attributed to another key.
  pb::SignedRecord swapped = sr;
  swapped.mutable_signatures(1)->set_public_key(Str(auth2_.public_key()));
  EXPECT_TRUE(Rejected(swapped.SerializeAsString(), Code::kInvalidArgument, "BAD_SIGNATURE"));
  EXPECT_TRUE(Accepted(sr.SerializeAsString()));
}

// ---------------------------------------------------------------------------
// Genesis placement: NO_GENESIS, GENESIS_NOT_FIRST

TEST_F(RulesTest, LeafZeroThatIsNotGenesisIsNoGenesis) {
  MemoryState fresh;
  StateOverlay overlay(&fresh);
  Status s = ApplyRecord(overlay, Auth(records::OrganizationRecord(kT, "x", "X", "GB")), 0);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.reason(), "NO_GENESIS");
  EXPECT_TRUE(overlay.writes().empty());
}

TEST_F(RulesTest, LaterLeafOverAStateWithoutGenesisIsNoGenesis) {
  MemoryState fresh;
  StateOverlay overlay(&fresh);
  Status s = ApplyRecord(overlay, Auth(records::OrganizationRecord(kT, "x", "X", "GB")), 1);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.reason(), "NO_GENESIS");
  // Not even a genesis record may start a log at leaf 1.
  s = ApplyRecord(
      overlay,
      records::SignRecordBytes(records::GenesisRecord("o", {{"a", auth0_.public_key()}}, 1), {}), 1);
  EXPECT_EQ(s.reason(), "NO_GENESIS");
  EXPECT_TRUE(overlay.writes().empty());
}

TEST_F(RulesTest, SecondGenesisIsGenesisNotFirst) {
  EXPECT_TRUE(
      Rejected(records::SignRecordBytes(
                   records::GenesisRecord("other", {{"evil", stranger_.public_key()}}, 1), {}),
               Code::kFailedPrecondition, "GENESIS_NOT_FIRST"));
  EXPECT_EQ(Read<pb::Genesis>(state_key::Genesis()).origin(), "ledger.example/cams");
}

// ---------------------------------------------------------------------------
// Signers against state: UNKNOWN_SIGNER, REVOKED_KEY, WRONG_ROLE,
// INSUFFICIENT_SIGNATURES (key windows are tested above)

TEST_F(RulesTest, RecordSignedByUnenrolledKeyIsUnknownSigner) {
  EXPECT_TRUE(Rejected(
      By(records::ComponentRecord(kT, kOrion, "P", pb::COMPONENT_KIND_SOC, "TW"), stranger_),
      Code::kPermissionDenied, "UNKNOWN_SIGNER"));
  // One unknown co-signer spoils an otherwise sufficient authority record.
  EXPECT_TRUE(Rejected(records::SignRecordBytes(records::OrganizationRecord(kT, "x", "X", "GB"),
                                               {&auth0_, &auth1_, &stranger_}),
                       Code::kPermissionDenied, "UNKNOWN_SIGNER"));
}

TEST_F(RulesTest, RevokedKeySignsNothingMore) {
  auto comp = [&](int64_t t, const std::string& part) {
    return By(records::ComponentRecord(t, kAcme, part, pb::COMPONENT_KIND_SOC, "CN"), acme_mfr_);
  };
  ASSERT_TRUE(Accepted(comp(kT, "before-revocation")));
  uint64_t rev = next_index_;
  ASSERT_TRUE(Accepted(
      Auth(records::KeyRevocationRecord(kT + 100, acme_mfr_.public_key(), kT + 100, "key leaked"))));
  Status s = Append(comp(kT + 200, "after"));
  EXPECT_EQ(s.reason(), "REVOKED_KEY");
  EXPECT_NE(s.message().find("#" + std::to_string(rev)), std::string::npos) << s.message();
  EXPECT_TRUE(Rejected(comp(kT + 200, "after"), Code::kPermissionDenied, "REVOKED_KEY"));
  // Whatever issued_at it claims: backdating does not help.
  EXPECT_TRUE(Rejected(comp(kT, "backdated"), Code::kPermissionDenied, "REVOKED_KEY"));
  // The org's other keys are unaffected.
  EXPECT_FALSE(Read<pb::KeyState>(state_key::Key(KeyId(acme_cust_.public_key()))).revoked());
  // A new manufacturer key for acme does.
  SigningKey fresh = KeyFromByte(50);
  ASSERT_TRUE(Accepted(
      Auth(records::KeyEnrollmentRecord(kT, fresh.public_key(), kAcme, {pb::ROLE_MANUFACTURER}))));
  EXPECT_TRUE(Accepted(
      By(records::ComponentRecord(kT + 200, kAcme, "after", pb::COMPONENT_KIND_SOC, "CN"), fresh)));
}

TEST_F(RulesTest, AuthorityRecordSignedByOrgKeyIsWrongRole) {
  pb::Record r = records::OrganizationRecord(kT, "x", "X", "GB");
  EXPECT_TRUE(Rejected(By(r, acme_mfr_), Code::kPermissionDenied, "WRONG_ROLE"));
  // Only authority keys: a threshold plus an org key is still wrong.
  EXPECT_TRUE(Rejected(records::SignRecordBytes(r, {&auth0_, &auth1_, &acme_mfr_}),
                       Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Rejected(By(records::OwnershipRecord(kT, kAcme, kDist, 100, false, 0), dist_cust_),
                       Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Rejected(
      By(records::KeyEnrollmentRecord(kT, stranger_.public_key(), kAcme, {pb::ROLE_MANUFACTURER}),
         acme_mfr_),
      Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Rejected(By(records::KeyRevocationRecord(kT, acme_cust_.public_key(), kT), acme_mfr_),
                       Code::kPermissionDenied, "WRONG_ROLE"));
}

TEST_F(RulesTest, MakerRecordSignedByAnotherOrgsKeyIsWrongRole) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  // orion's manufacturer key cannot speak for acme, nor acme's for orion.
  EXPECT_TRUE(Rejected(
      By(records::ComponentRecord(kT, kOrion, "P2", pb::COMPONENT_KIND_SOC, "TW"), acme_mfr_),
      Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Rejected(By(records::DeviceModelRecord(kT, kAcme, "C300", kAcme, {}), orion_mfr_),
                       Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(
      Rejected(By(records::FirmwareReleaseRecord(kT, kAcme, "C100", "2.0", Sha256("2")), orion_mfr_),
               Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Rejected(By(records::FirmwareRevocationRecord(kT, kAcme, "C100", "1.0.0"), orion_mfr_),
                       Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(
      Rejected(By(records::DeviceRecord(kT, kAcme, "SN-9", "C100", DeviceKey(9).public_key(), kT),
                  orion_mfr_),
               Code::kPermissionDenied, "WRONG_ROLE"));
  // The authorities do not register a maker's catalogue either.
  EXPECT_TRUE(
      Rejected(Auth(records::ComponentRecord(kT, kOrion, "P2", pb::COMPONENT_KIND_SOC, "TW")),
               Code::kPermissionDenied, "WRONG_ROLE"));
}

TEST_F(RulesTest, CustodianOnlyKeyRegisteringADeviceIsWrongRole) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  pb::Record d = records::DeviceRecord(kT, kAcme, "SN-9", "C100", DeviceKey(9).public_key(), kT);
  EXPECT_TRUE(Rejected(By(d, acme_cust_), Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Rejected(
      By(records::ComponentRecord(kT, kAcme, "P", pb::COMPONENT_KIND_SOC, "CN"), acme_cust_),
      Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Accepted(By(d, acme_mfr_)));
}

TEST_F(RulesTest, ManufacturerOnlyKeySigningATransferIsWrongRole) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(
      Rejected(Transfer({"SN-1"}, kAcme, kDist, acme_mfr_), Code::kPermissionDenied, "WRONG_ROLE"));
  // A custodian key of another org than from_org.
  EXPECT_TRUE(Rejected(Transfer({"SN-1"}, kAcme, kDist, dist_cust_), Code::kPermissionDenied,
                       "WRONG_ROLE"));
  // The authorities cannot move custody.
  EXPECT_TRUE(Rejected(Auth(records::TransferRecord(kT, kAcme, {"SN-1"}, kAcme, kDist)),
                       Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_EQ(Dev(kAcme, "SN-1").custodian_org(), kAcme);
}

TEST_F(RulesTest, DeviceStatusByUnrelatedOrgIsWrongRole) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  pb::Record st = records::DeviceStatusRecord(kT, kAcme, "SN-1", pb::DEVICE_CONDITION_STOLEN);
  EXPECT_TRUE(Rejected(By(st, orion_mfr_), Code::kPermissionDenied, "WRONG_ROLE"));
  // A future custodian, before the transfer.
  EXPECT_TRUE(Rejected(By(st, buyer_cust_), Code::kPermissionDenied, "WRONG_ROLE"));
  // A single authority is below the threshold.
  EXPECT_TRUE(Rejected(By(st, auth2_), Code::kPermissionDenied, "WRONG_ROLE"));
  // A former custodian (not the manufacturer) loses the right.
  ASSERT_TRUE(Accepted(Transfer({"SN-1"}, kAcme, kDist, acme_cust_)));
  ASSERT_TRUE(Accepted(Transfer({"SN-1"}, kDist, kBuyer, dist_cust_)));
  EXPECT_TRUE(Rejected(By(st, dist_cust_), Code::kPermissionDenied, "WRONG_ROLE"));
  EXPECT_TRUE(Accepted(By(st, buyer_cust_)));
  EXPECT_EQ(Dev(kAcme, "SN-1").condition(), pb::DEVICE_CONDITION_STOLEN);
}

TEST_F(RulesTest, OneAuthoritySignatureOfThresholdTwoIsInsufficient) {
  PublicKey k = KeyFromByte(51).public_key();
  std::vector<pb::Record> records = {
      records::OrganizationRecord(kT, "x", "X", "GB"),
      records::OwnershipRecord(kT, kAcme, kDist, 100, false, 0),
      records::KeyEnrollmentRecord(kT, k, kAcme, {pb::ROLE_CUSTODIAN}),
      records::KeyRevocationRecord(kT, acme_cust_.public_key(), kT),
  };
  for (const auto& r : records) {
    SCOPED_TRACE(RecordKindName(r));
    for (const SigningKey* a : {&auth0_, &auth1_, &auth2_}) {
      EXPECT_TRUE(Rejected(By(r, *a), Code::kPermissionDenied, "INSUFFICIENT_SIGNATURES"));
    }
  }
}

// ---------------------------------------------------------------------------
// References against state: UNKNOWN_ORG, UNKNOWN_KEY, UNKNOWN_DEVICE,
// DANGLING_REFERENCE

TEST_F(RulesTest, OwnershipNamingAnUnregisteredOrgIsUnknownOrg) {
  EXPECT_TRUE(Rejected(Auth(records::OwnershipRecord(kT, kAcme, "ghost-co", 100, false, 0)),
                       Code::kFailedPrecondition, "UNKNOWN_ORG"));
  EXPECT_TRUE(Rejected(Auth(records::OwnershipRecord(kT, "ghost-co", kAcme, 100, false, 0)),
                       Code::kFailedPrecondition, "UNKNOWN_ORG"));
  EXPECT_EQ(Org(kAcme).record_indices_size(), 3);
}

TEST_F(RulesTest, KeyEnrollmentForUnknownOrgIsUnknownOrg) {
  EXPECT_TRUE(Rejected(Auth(records::KeyEnrollmentRecord(kT, stranger_.public_key(), "ghost-co",
                                                        {pb::ROLE_CUSTODIAN})),
                       Code::kFailedPrecondition, "UNKNOWN_ORG"));
  EXPECT_FALSE(Has(state_key::Key(KeyId(stranger_.public_key()))));
}

TEST_F(RulesTest, ModelWithUnknownBrandIsUnknownOrg) {
  EXPECT_TRUE(
      Rejected(By(records::DeviceModelRecord(kT, kAcme, "C100", "ghost-brand", {}), acme_mfr_),
               Code::kFailedPrecondition, "UNKNOWN_ORG"));
}

TEST_F(RulesTest, TransferToUnknownOrgIsUnknownOrg) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(Transfer({"SN-1"}, kAcme, "ghost-co", acme_cust_), Code::kFailedPrecondition,
                       "UNKNOWN_ORG"));
  EXPECT_EQ(Dev(kAcme, "SN-1").custodian_org(), kAcme);
}

TEST_F(RulesTest, RevokingANeverEnrolledKeyIsUnknownKey) {
  EXPECT_TRUE(Rejected(Auth(records::KeyRevocationRecord(kT, stranger_.public_key(), kT)),
                       Code::kFailedPrecondition, "UNKNOWN_KEY"));
  // Authority keys are not enrolled keys; the rulebook cannot revoke them.
  EXPECT_TRUE(Rejected(Auth(records::KeyRevocationRecord(kT, auth2_.public_key(), kT)),
                       Code::kFailedPrecondition, "UNKNOWN_KEY"));
}

TEST_F(RulesTest, TransferOfUnregisteredSerialIsUnknownDevice) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(Transfer({"SN-404"}, kAcme, kDist, acme_cust_), Code::kFailedPrecondition,
                       "UNKNOWN_DEVICE"));
  // One unknown serial among known ones: nothing moves.
  EXPECT_TRUE(Rejected(Transfer({"SN-1", "SN-404", "SN-2"}, kAcme, kDist, acme_cust_),
                       Code::kFailedPrecondition, "UNKNOWN_DEVICE"));
  EXPECT_EQ(Dev(kAcme, "SN-1").custodian_org(), kAcme);
  EXPECT_EQ(Dev(kAcme, "SN-1").record_indices_size(), 1);
  // The serial exists, but under another manufacturer.
  EXPECT_TRUE(Rejected(By(records::TransferRecord(kT, kOrion, {"SN-1"}, kAcme, kDist), acme_cust_),
                       Code::kFailedPrecondition, "UNKNOWN_DEVICE"));
}

TEST_F(RulesTest, StatusForUnknownDeviceIsUnknownDevice) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(
      By(records::DeviceStatusRecord(kT, kAcme, "SN-404", pb::DEVICE_CONDITION_STOLEN), acme_mfr_),
      Code::kFailedPrecondition, "UNKNOWN_DEVICE"));
  EXPECT_TRUE(
      Rejected(Auth(records::DeviceStatusRecord(kT, kOrion, "SN-1", pb::DEVICE_CONDITION_STOLEN)),
               Code::kFailedPrecondition, "UNKNOWN_DEVICE"));
}

TEST_F(RulesTest, ModelWithUnregisteredComponentIsDanglingReference) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(By(records::DeviceModelRecord(kT, kAcme, "C200", kAcme,
                                                    {records::Ref(kOrion, "OM-SOC-1"),
                                                     records::Ref(kOrion, "OM-SENSOR-9")}),
                          acme_mfr_),
                       Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  // The part exists, but from another maker.
  EXPECT_TRUE(Rejected(
      By(records::DeviceModelRecord(kT, kAcme, "C200", kAcme, {records::Ref(kAcme, "OM-SOC-1")}),
         acme_mfr_),
      Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  EXPECT_FALSE(Has(state_key::Model(kAcme, "C200")));
}

TEST_F(RulesTest, FirmwareForUnregisteredModelIsDanglingReference) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(
      By(records::FirmwareReleaseRecord(kT, kAcme, "C999", "1.0.0", Sha256("x")), acme_mfr_),
      Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  EXPECT_TRUE(Rejected(By(records::FirmwareRevocationRecord(kT, kAcme, "C999", "1.0.0"), acme_mfr_),
                       Code::kFailedPrecondition, "DANGLING_REFERENCE"));
}

TEST_F(RulesTest, DeviceWithUnknownModelIsDanglingReference) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(
      By(records::DeviceRecord(kT, kAcme, "SN-9", "C999", DeviceKey(9).public_key(), kT), acme_mfr_),
      Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  // A model of another manufacturer does not count.
  ASSERT_TRUE(Accepted(By(records::DeviceModelRecord(kT, kOrion, "O1", kOrion, {}), orion_mfr_)));
  EXPECT_TRUE(Rejected(
      By(records::DeviceRecord(kT, kAcme, "SN-9", "O1", DeviceKey(9).public_key(), kT), acme_mfr_),
      Code::kFailedPrecondition, "DANGLING_REFERENCE"));
}

TEST_F(RulesTest, RevokingNeverReleasedFirmwareIsDanglingReference) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(By(records::FirmwareRevocationRecord(kT, kAcme, "C100", "9.9.9"), acme_mfr_),
                       Code::kFailedPrecondition, "DANGLING_REFERENCE"));
  EXPECT_FALSE(Has(state_key::Firmware(kAcme, "C100", "9.9.9")));
}

// ---------------------------------------------------------------------------
// Uniqueness: KEY_ALREADY_ENROLLED, ALREADY_REVOKED, DUPLICATE_*

TEST_F(RulesTest, EnrollingAnEnrolledKeyAgainIsKeyAlreadyEnrolled) {
  // For the same org, for another org, with other roles.
  EXPECT_TRUE(Rejected(
      Auth(records::KeyEnrollmentRecord(kT, acme_mfr_.public_key(), kAcme, {pb::ROLE_MANUFACTURER})),
      Code::kAlreadyExists, "KEY_ALREADY_ENROLLED"));
  EXPECT_TRUE(Rejected(
      Auth(records::KeyEnrollmentRecord(kT, acme_mfr_.public_key(), kDist, {pb::ROLE_CUSTODIAN})),
      Code::kAlreadyExists, "KEY_ALREADY_ENROLLED"));
  EXPECT_EQ(Read<pb::KeyState>(state_key::Key(KeyId(acme_mfr_.public_key()))).enrollment().org_id(),
            kAcme);
  // A revoked key cannot be brought back by enrolling it again.
  ASSERT_TRUE(Accepted(Auth(records::KeyRevocationRecord(kT, dist_cust_.public_key(), kT))));
  EXPECT_TRUE(Rejected(
      Auth(records::KeyEnrollmentRecord(kT, dist_cust_.public_key(), kDist, {pb::ROLE_CUSTODIAN})),
      Code::kAlreadyExists, "KEY_ALREADY_ENROLLED"));
}

TEST_F(RulesTest, EnrollingAnAuthorityKeyIsKeyAlreadyEnrolled) {
  EXPECT_TRUE(Rejected(
      Auth(records::KeyEnrollmentRecord(kT, auth2_.public_key(), kAcme, {pb::ROLE_MANUFACTURER})),
      Code::kAlreadyExists, "KEY_ALREADY_ENROLLED"));
  EXPECT_FALSE(Has(state_key::Key(KeyId(auth2_.public_key()))));
}

TEST_F(RulesTest, RevokingAKeyTwiceIsAlreadyRevoked) {
  uint64_t first = next_index_;
  ASSERT_TRUE(Accepted(Auth(records::KeyRevocationRecord(kT, acme_cust_.public_key(), kT))));
  EXPECT_TRUE(Rejected(Auth(records::KeyRevocationRecord(kT + 1, acme_cust_.public_key(), kT + 1)),
                       Code::kAlreadyExists, "ALREADY_REVOKED"));
  auto ks = Read<pb::KeyState>(state_key::Key(KeyId(acme_cust_.public_key())));
  EXPECT_EQ(ks.revoked_index(), first);
  EXPECT_EQ(ks.revoked_effective(), kT);
}

TEST_F(RulesTest, RevokingFirmwareTwiceIsAlreadyRevoked) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  ASSERT_TRUE(
      Accepted(By(records::FirmwareRevocationRecord(kT, kAcme, "C100", "1.0.0"), acme_mfr_)));
  EXPECT_TRUE(
      Rejected(By(records::FirmwareRevocationRecord(kT, kAcme, "C100", "1.0.0", "again"), acme_mfr_),
               Code::kAlreadyExists, "ALREADY_REVOKED"));
  // Re-releasing a revoked version is a duplicate, not a reinstatement.
  EXPECT_TRUE(Rejected(
      By(records::FirmwareReleaseRecord(kT, kAcme, "C100", "1.0.0", Sha256("fw 1.0.0")), acme_mfr_),
      Code::kAlreadyExists, "DUPLICATE_FIRMWARE"));
}

TEST_F(RulesTest, RegisteringAComponentTwiceIsDuplicateComponent) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(
      Rejected(By(records::ComponentRecord(kT, kOrion, "OM-SOC-1", pb::COMPONENT_KIND_MEMORY, "US"),
                  orion_mfr_),
               Code::kAlreadyExists, "DUPLICATE_COMPONENT"));
  EXPECT_EQ(Read<pb::ComponentState>(state_key::Component(kOrion, "OM-SOC-1")).index(),
            catalog_start_);
}

TEST_F(RulesTest, RegisteringAModelTwiceIsDuplicateModel) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(By(records::DeviceModelRecord(kT, kAcme, "C100", kDist, {}), acme_mfr_),
                       Code::kAlreadyExists, "DUPLICATE_MODEL"));
  EXPECT_EQ(Read<pb::ModelState>(state_key::Model(kAcme, "C100")).model().brand_org(), kAcme);
}

TEST_F(RulesTest, ReleasingAFirmwareVersionTwiceIsDuplicateFirmware) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(
      Rejected(By(records::FirmwareReleaseRecord(kT, kAcme, "C100", "1.0.0", Sha256("other image")),
                  acme_mfr_),
               Code::kAlreadyExists, "DUPLICATE_FIRMWARE"));
  EXPECT_EQ(Read<pb::FirmwareState>(state_key::Firmware(kAcme, "C100", "1.0.0")).sha256(),
            Str(Sha256("fw 1.0.0")));
  EXPECT_EQ(Read<pb::ModelState>(state_key::Model(kAcme, "C100")).firmware_indices_size(), 1);
}

TEST_F(RulesTest, RegisteringASerialTwiceIsDuplicateSerial) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  EXPECT_TRUE(Rejected(
      By(records::DeviceRecord(kT, kAcme, "SN-1", "C100", DeviceKey(9).public_key(), kT), acme_mfr_),
      Code::kAlreadyExists, "DUPLICATE_SERIAL"));
  EXPECT_EQ(Dev(kAcme, "SN-1").device_public_key(), Str(DeviceKey(1).public_key()));
  // The same serial under another manufacturer is another device.
  ASSERT_TRUE(Accepted(By(records::DeviceModelRecord(kT, kOrion, "O1", kOrion, {}), orion_mfr_)));
  EXPECT_TRUE(Accepted(By(
      records::DeviceRecord(kT, kOrion, "SN-1", "O1", DeviceKey(9).public_key(), kT), orion_mfr_)));
}

TEST_F(RulesTest, ReusingADeviceKeyIsDuplicateDeviceKey) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  // SN-1 holds DeviceKey(1): a second serial with the same key is a clone.
  EXPECT_TRUE(Rejected(
      By(records::DeviceRecord(kT, kAcme, "SN-CLONE", "C100", DeviceKey(1).public_key(), kT),
         acme_mfr_),
      Code::kAlreadyExists, "DUPLICATE_DEVICE_KEY"));
  EXPECT_TRUE(Accepted(By(
      records::DeviceRecord(kT, kAcme, "SN-CLONE", "C100", DeviceKey(7).public_key(), kT),
      acme_mfr_)));
}

TEST_F(RulesTest, NonCanonicalEnvelopeIsMalformed) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  std::string leaf =
      By(records::DeviceRecord(kT, kAcme, "SN-ENV", "C100", DeviceKey(6).public_key(), kT),
         acme_mfr_);
  pb::SignedRecord sr;
  ASSERT_TRUE(sr.ParseFromString(leaf));
  // Same content, signatures (field 2) encoded before the record (field 1).
  std::string reordered;
  for (const auto& sig : sr.signatures()) {
    pb::SignedRecord only_sig;
    *only_sig.add_signatures() = sig;
    reordered += only_sig.SerializeAsString();
  }
  pb::SignedRecord only_record;
  only_record.set_record(sr.record());
  reordered += only_record.SerializeAsString();
  pb::SignedRecord check;
  ASSERT_TRUE(check.ParseFromString(reordered));
  ASSERT_NE(reordered, leaf);
  EXPECT_TRUE(Rejected(reordered, Code::kInvalidArgument, "MALFORMED_RECORD"));
  EXPECT_TRUE(Accepted(leaf));
}

// ---------------------------------------------------------------------------
// Custody: NOT_CUSTODIAN

TEST_F(RulesTest, TransferByPreviousCustodianIsRejected) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  ASSERT_TRUE(Accepted(Transfer({"SN-1"}, kAcme, kDist, acme_cust_)));
  EXPECT_TRUE(Rejected(Transfer({"SN-1"}, kAcme, kBuyer, acme_cust_), Code::kPermissionDenied,
                       "NOT_CUSTODIAN"));
  // Nor can anyone claim to transfer from an org that does not hold it.
  EXPECT_TRUE(Rejected(Transfer({"SN-2"}, kBuyer, kDist, buyer_cust_), Code::kPermissionDenied,
                       "NOT_CUSTODIAN"));
  EXPECT_EQ(Dev(kAcme, "SN-1").custodian_org(), kDist);
  EXPECT_EQ(Dev(kAcme, "SN-2").custodian_org(), kAcme);
}

TEST_F(RulesTest, OneBadSerialRejectsTheWholeTransferAndMovesNoDevice) {
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  ASSERT_TRUE(Accepted(Transfer({"SN-2"}, kAcme, kDist, acme_cust_)));
  // SN-1 and SN-3 are acme's, SN-2 is dist-co's; listed in the middle.
  EXPECT_TRUE(Rejected(Transfer({"SN-1", "SN-2", "SN-3"}, kAcme, kBuyer, acme_cust_),
                       Code::kPermissionDenied, "NOT_CUSTODIAN"));
  EXPECT_EQ(Dev(kAcme, "SN-1").custodian_org(), kAcme);
  EXPECT_EQ(Dev(kAcme, "SN-3").custodian_org(), kAcme);
  EXPECT_EQ(Dev(kAcme, "SN-2").custodian_org(), kDist);
  EXPECT_EQ(Vec(Dev(kAcme, "SN-1").record_indices()), (std::vector<uint64_t>{DeviceIdx(1)}));
  EXPECT_EQ(Vec(Dev(kAcme, "SN-3").record_indices()), (std::vector<uint64_t>{DeviceIdx(3)}));
  // Without the bad serial it goes through.
  EXPECT_TRUE(Accepted(Transfer({"SN-1", "SN-3"}, kAcme, kBuyer, acme_cust_)));
  EXPECT_EQ(Dev(kAcme, "SN-3").custodian_org(), kBuyer);
}

// ---------------------------------------------------------------------------
// State errors fail closed

TEST_F(RulesTest, CorruptStateEntryIsDataLoss) {
  StateOverlay corrupt(&state_);
  corrupt.Put(state_key::Org(kDist), std::string("\x0f\xff", 2));
  pb::OrgState os;
  Result<bool> r = GetMessage(corrupt, state_key::Org(kDist), &os);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_EQ(r.status().reason(), "CORRUPT_STATE");

  StateOverlay overlay(&corrupt);
  Status s = ApplyRecord(overlay, Auth(records::OwnershipRecord(kT, kAcme, kDist, 1, false, 0)),
                         next_index_);
  EXPECT_EQ(s.reason(), "CORRUPT_STATE");
  EXPECT_TRUE(overlay.writes().empty());
}

TEST_F(RulesTest, StorageErrorsAreReturnedNotIgnored) {
  // Key lookups fail: signer resolution must not treat the key as absent.
  FailingState keys_fail(&state_, "k/");
  StateOverlay o1(&keys_fail);
  Status s = ApplyRecord(
      o1, By(records::ComponentRecord(kT, kOrion, "P", pb::COMPONENT_KIND_SOC, "TW"), orion_mfr_),
      next_index_);
  EXPECT_EQ(s.reason(), "STORAGE_ERROR");
  // Genesis lookup fails.
  FailingState genesis_fail(&state_, "g/");
  StateOverlay o2(&genesis_fail);
  s = ApplyRecord(o2, Auth(records::OrganizationRecord(kT, "x", "X", "GB")), next_index_);
  EXPECT_EQ(s.reason(), "STORAGE_ERROR");
  // Device lookup fails mid-transfer.
  ASSERT_NO_FATAL_FAILURE(RegisterCatalog());
  FailingState devices_fail(&state_, "d/");
  StateOverlay o3(&devices_fail);
  s = ApplyRecord(o3, Transfer({"SN-1"}, kAcme, kDist, acme_cust_), next_index_);
  EXPECT_EQ(s.reason(), "STORAGE_ERROR");
  EXPECT_TRUE(o1.writes().empty());
  EXPECT_TRUE(o2.writes().empty());
  EXPECT_TRUE(o3.writes().empty());
}

}  // namespace
}  // namespace verifier

namespace verifier {
namespace {

// ---------------------------------------------------------------------------
// Index roots: the log's own unsigned leaf (docs/index.md)

pb::Record IndexRootRecord(const std::string& origin, uint64_t covered) {
  pb::Record r;
  r.set_issued_at(kT);
  r.mutable_index_root()->set_origin(origin);
  r.mutable_index_root()->set_covered_size(covered);
  r.mutable_index_root()->set_root(std::string(32, '\x07'));
  return r;
}

TEST_F(RulesTest, AnIndexRootStandsOnlyWhereItSaysForThisLog) {
  const uint64_t here = next_index_;
  EXPECT_TRUE(Rejected(records::SignRecordBytes(IndexRootRecord("other.example/log", here), {}),
                       Code::kFailedPrecondition, "INDEX_ROOT_FOREIGN"));
  EXPECT_TRUE(Rejected(records::SignRecordBytes(IndexRootRecord("ledger.example/cams", here + 1), {}),
                       Code::kFailedPrecondition, "INDEX_ROOT_MISPLACED"));
  // Signed: malformed (only the log writes them, unsigned).
  EXPECT_TRUE(Rejected(records::SignRecordBytes(IndexRootRecord("ledger.example/cams", here), {&auth0_}),
                       Code::kInvalidArgument, "MALFORMED_RECORD"));
  pb::Record short_root = IndexRootRecord("ledger.example/cams", here);
  short_root.mutable_index_root()->set_root("short");
  EXPECT_TRUE(Rejected(records::SignRecordBytes(short_root, {}), Code::kInvalidArgument,
                       "INVALID_FIELD"));
  EXPECT_TRUE(Accepted(records::SignRecordBytes(IndexRootRecord("ledger.example/cams", here), {})));
}

}  // namespace
}  // namespace verifier

// ---------------------------------------------------------------------------
// Rotation: authority sets, key renewals, log key rotations

namespace verifier {
namespace {

std::vector<std::pair<std::string, PublicKey>> Set(
    std::initializer_list<std::pair<const char*, const SigningKey*>> keys) {
  std::vector<std::pair<std::string, PublicKey>> out;
  for (const auto& [name, k] : keys) out.emplace_back(name, k->public_key());
  return out;
}

TEST_F(RulesTest, AuthoritySetReplacesTheKeysAndThreshold) {
  const SigningKey a3 = KeyFromByte(4);
  // {auth-0, auth-1, auth-2} 2-of-3 becomes {auth-1, auth-2, auth-3} 2-of-3:
  // signed by the old threshold, and by auth-3, whom it adds.
  const uint64_t at = next_index_;
  ASSERT_TRUE(Accepted(records::SignRecordBytes(
      records::AuthoritySetRecord(kT, Set({{"auth-1", &auth1_}, {"auth-2", &auth2_}, {"auth-3", &a3}}),
                                  2, 0, "auth-0 retires"),
      {&auth0_, &auth1_, &a3})));
  auto st = Read<pb::AuthorityState>(state_key::Authorities());
  EXPECT_EQ(st.index(), at);
  EXPECT_EQ(st.set().authority_keys_size(), 3);
  auto current = CurrentAuthorities(state_);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->index(), at);

  // auth-0 signs nothing more; auth-3 counts.
  EXPECT_TRUE(Rejected(records::SignRecordBytes(records::LawRecord(kT, "X-1", "x", "GB", "s"),
                                                {&auth0_, &auth1_}),
                       Code::kPermissionDenied, "UNKNOWN_SIGNER"));
  EXPECT_TRUE(Accepted(records::SignRecordBytes(records::LawRecord(kT, "X-1", "x", "GB", "s"),
                                                {&auth1_, &a3})));
  // The new set's threshold: one of them is not enough.
  EXPECT_TRUE(Rejected(records::SignRecordBytes(records::LawRecord(kT, "X-2", "x", "GB", "s"),
                                                {&a3}),
                       Code::kPermissionDenied, "INSUFFICIENT_SIGNATURES"));
  // An authority key is not enrolled as an org key.
  EXPECT_TRUE(Rejected(records::SignRecordBytes(
                           records::KeyEnrollmentRecord(kT, a3.public_key(), kAcme,
                                                        {pb::ROLE_MANUFACTURER}),
                           {&auth1_, &a3}),
                       Code::kAlreadyExists, "KEY_ALREADY_ENROLLED"));
  // The next rotation names this one.
  EXPECT_TRUE(Rejected(
      records::SignRecordBytes(
          records::AuthoritySetRecord(kT, Set({{"auth-1", &auth1_}, {"auth-3", &a3}}), 2, 0, ""),
          {&auth1_, &a3}),
      Code::kFailedPrecondition, "STALE_AUTHORITY_SET"));
  EXPECT_TRUE(Accepted(records::SignRecordBytes(
      records::AuthoritySetRecord(kT, Set({{"auth-1", &auth1_}, {"auth-3", &a3}}), 2, at, ""),
      {&auth1_, &a3})));
}

TEST_F(RulesTest, AnAttackersAuthoritySetIsRefused) {
  const SigningKey evil1 = KeyFromByte(66), evil2 = KeyFromByte(67);
  // One stolen authority key and two keys of the attacker's own: the
  // newcomers' signatures do not count towards the current threshold.
  EXPECT_TRUE(Rejected(
      records::SignRecordBytes(
          records::AuthoritySetRecord(
              kT, Set({{"auth-0", &auth0_}, {"evil-1", &evil1}, {"evil-2", &evil2}}), 1, 0, ""),
          {&auth0_, &evil1, &evil2}),
      Code::kPermissionDenied, "INSUFFICIENT_SIGNATURES"));
  // Keys the set does not name are strangers.
  EXPECT_TRUE(Rejected(
      records::SignRecordBytes(
          records::AuthoritySetRecord(kT, Set({{"auth-0", &auth0_}, {"auth-1", &auth1_}}), 1, 0, ""),
          {&auth0_, &evil1}),
      Code::kPermissionDenied, "UNKNOWN_SIGNER"));
  // An org key is not an authority.
  EXPECT_TRUE(Rejected(
      records::SignRecordBytes(
          records::AuthoritySetRecord(kT, Set({{"auth-0", &auth0_}, {"auth-1", &auth1_}}), 1, 0, ""),
          {&auth0_, &auth1_, &acme_mfr_}),
      Code::kPermissionDenied, "WRONG_ROLE"));
  // A key it adds must sign it (proof of possession).
  EXPECT_TRUE(Rejected(
      records::SignRecordBytes(
          records::AuthoritySetRecord(kT, Set({{"auth-0", &auth0_}, {"new", &evil1}}), 2, 0, ""),
          {&auth0_, &auth1_}),
      Code::kPermissionDenied, "NEW_KEY_MUST_SIGN"));
  // Nor may it add an enrolled org key.
  EXPECT_TRUE(Rejected(
      records::SignRecordBytes(
          records::AuthoritySetRecord(kT, Set({{"auth-0", &auth0_}, {"mfr", &acme_mfr_}}), 2, 0, ""),
          {&auth0_, &auth1_, &acme_mfr_}),
      Code::kAlreadyExists, "KEY_ALREADY_ENROLLED"));
  // Malformed sets.
  for (auto [keys, threshold] :
       {std::pair{Set({{"auth-0", &auth0_}}), 2u}, std::pair{Set({{"auth-0", &auth0_}}), 0u},
        std::pair{Set({{"auth-0", &auth0_}, {"again", &auth0_}}), 1u},
        std::pair{Set({}), 1u}}) {
    EXPECT_TRUE(Rejected(
        records::SignRecordBytes(records::AuthoritySetRecord(kT, keys, threshold, 0, ""),
                                 {&auth0_, &auth1_}),
        Code::kInvalidArgument, "INVALID_FIELD"));
  }
  EXPECT_FALSE(Has(state_key::Authorities()));
}

TEST_F(RulesTest, KeysAreRenewedWithoutGaps) {
  const int64_t day = 86400;
  const SigningKey k = KeyFromByte(40), successor = KeyFromByte(41);
  ASSERT_TRUE(Accepted(Auth(records::KeyEnrollmentRecord(kT, k.public_key(), kAcme,
                                                         {pb::ROLE_MANUFACTURER}, kT, kT + 10 * day))));
  auto component = [&](const std::string& part, int64_t at, const SigningKey& key) {
    return By(records::ComponentRecord(at, kAcme, part, pb::COMPONENT_KIND_SOC, "TW"), key);
  };
  EXPECT_TRUE(Accepted(component("P-1", kT + day, k)));
  // Without a renewal the key expires.
  EXPECT_TRUE(Rejected(component("P-2", kT + 10 * day, k), Code::kPermissionDenied, "KEY_EXPIRED"));
  // Enrolling it again is not a renewal.
  EXPECT_TRUE(Rejected(Auth(records::KeyEnrollmentRecord(kT + day, k.public_key(), kAcme,
                                                         {pb::ROLE_MANUFACTURER}, kT, kT + 20 * day)),
                       Code::kAlreadyExists, "KEY_ALREADY_ENROLLED"));
  // A renewal that would shorten it, or start after it ends, or for another org.
  EXPECT_TRUE(Rejected(Auth(records::KeyRenewalRecord(kT + day, k.public_key(), k.public_key(), kAcme,
                                                      {pb::ROLE_MANUFACTURER}, kT, kT + 5 * day)),
                       Code::kFailedPrecondition, "BAD_RENEWAL"));
  EXPECT_TRUE(Rejected(Auth(records::KeyRenewalRecord(kT + day, k.public_key(), k.public_key(), kAcme,
                                                      {pb::ROLE_MANUFACTURER}, kT + 11 * day,
                                                      kT + 20 * day)),
                       Code::kFailedPrecondition, "RENEWAL_GAP"));
  EXPECT_TRUE(Rejected(Auth(records::KeyRenewalRecord(kT + day, successor.public_key(),
                                                      k.public_key(), kOrion,
                                                      {pb::ROLE_MANUFACTURER}, kT, 0)),
                       Code::kFailedPrecondition, "BAD_RENEWAL"));
  EXPECT_TRUE(Rejected(Auth(records::KeyRenewalRecord(kT + day, successor.public_key(),
                                                      stranger_.public_key(), kAcme,
                                                      {pb::ROLE_MANUFACTURER}, kT, 0)),
                       Code::kFailedPrecondition, "UNKNOWN_KEY"));
  // Renewed before it expires: the window runs on without a gap.
  ASSERT_TRUE(Accepted(Auth(records::KeyRenewalRecord(kT + 9 * day, k.public_key(), k.public_key(),
                                                      kAcme, {pb::ROLE_MANUFACTURER}, kT + 10 * day,
                                                      kT + 20 * day))));
  auto ks = Read<pb::KeyState>(state_key::Key(KeyId(k.public_key())));
  EXPECT_EQ(ks.enrollment().not_before(), kT);  // the window is one, from the first day
  EXPECT_EQ(ks.enrollment().not_after(), kT + 20 * day);
  EXPECT_EQ(ks.renewal_indices_size(), 1);
  EXPECT_TRUE(Accepted(component("P-2", kT + 10 * day, k)));
  // A successor, enrolled while the key is valid, takes over.
  ASSERT_TRUE(Accepted(Auth(records::KeyRenewalRecord(kT + 19 * day, successor.public_key(),
                                                      k.public_key(), kAcme,
                                                      {pb::ROLE_MANUFACTURER}, kT + 19 * day, 0))));
  EXPECT_EQ(Read<pb::KeyState>(state_key::Key(KeyId(k.public_key()))).renewed_by(),
            Str(KeyId(successor.public_key())));
  Status expired = Append(component("P-3", kT + 21 * day, k));
  EXPECT_EQ(expired.reason(), "KEY_EXPIRED");
  EXPECT_NE(expired.message().find("renewed by key"), std::string::npos) << expired.ToString();
  EXPECT_TRUE(Accepted(component("P-3", kT + 21 * day, successor)));
  // After it expired a key is not renewed: a new key is enrolled.
  EXPECT_TRUE(Rejected(Auth(records::KeyRenewalRecord(kT + 21 * day, k.public_key(), k.public_key(),
                                                      kAcme, {pb::ROLE_MANUFACTURER}, kT,
                                                      kT + 30 * day)),
                       Code::kFailedPrecondition, "RENEWAL_GAP"));
  // Nor is a revoked key, or one that never expires.
  ASSERT_TRUE(Accepted(Auth(records::KeyRevocationRecord(kT + 22 * day, successor.public_key(),
                                                         kT + 22 * day))));
  EXPECT_TRUE(Rejected(Auth(records::KeyRenewalRecord(kT + 22 * day, KeyFromByte(42).public_key(),
                                                      successor.public_key(), kAcme,
                                                      {pb::ROLE_MANUFACTURER}, kT + 22 * day, 0)),
                       Code::kFailedPrecondition, "BAD_RENEWAL"));
  EXPECT_TRUE(Rejected(Auth(records::KeyRenewalRecord(kT, acme_mfr_.public_key(),
                                                      acme_mfr_.public_key(), kAcme,
                                                      {pb::ROLE_MANUFACTURER}, 0, kT + day)),
                       Code::kFailedPrecondition, "BAD_RENEWAL"));
}

TEST_F(RulesTest, LogKeyRotationsChainFromKeyToKey) {
  const SigningKey log1 = KeyFromByte(50), log2 = KeyFromByte(51), log3 = KeyFromByte(52);
  const std::string origin = "ledger.example/cams";
  auto rotation = [&](const SigningKey& from, const SigningKey& to, uint64_t from_size,
                      std::vector<const SigningKey*> signers, const std::string& o = "") {
    pb::Record r;
    r.set_issued_at(kT);
    auto* k = r.mutable_log_key_rotation();
    k->set_origin(o.empty() ? origin : o);
    k->set_old_key(FormatVerifierKey(origin, from.public_key()));
    k->set_new_key(FormatVerifierKey(origin, to.public_key()));
    k->set_from_size(from_size);
    return records::SignRecordBytes(r, signers);
  };
  const uint64_t at = next_index_;
  EXPECT_TRUE(Rejected(rotation(log1, log2, at + 1, {&log1}), Code::kPermissionDenied,
                       "BAD_ROTATION"));  // the new key must sign too
  EXPECT_TRUE(Rejected(rotation(log1, log2, at + 1, {&log2}), Code::kPermissionDenied,
                       "BAD_ROTATION"));  // and the old one
  EXPECT_TRUE(Rejected(rotation(log1, log2, at + 1, {&log1, &log2, &auth0_}),
                       Code::kPermissionDenied, "BAD_ROTATION"));
  EXPECT_TRUE(Rejected(rotation(log1, log2, at + 5, {&log1, &log2}), Code::kFailedPrecondition,
                       "BAD_ROTATION"));
  EXPECT_TRUE(Rejected(rotation(log1, log2, at + 1, {&log1, &log2}, "other.example/log"),
                       Code::kFailedPrecondition, "LOG_KEY_FOREIGN"));
  EXPECT_TRUE(Rejected(rotation(log1, log1, at + 1, {&log1}), Code::kInvalidArgument,
                       "INVALID_FIELD"));
  ASSERT_TRUE(Accepted(rotation(log1, log2, at + 1, {&log1, &log2})));
  auto st = Read<pb::LogKeyState>(state_key::LogKey());
  EXPECT_EQ(st.rotation().new_key(), FormatVerifierKey(origin, log2.public_key()));
  // The next one starts from log2, not from another key.
  EXPECT_TRUE(Rejected(rotation(log1, log3, at + 2, {&log1, &log3}), Code::kFailedPrecondition,
                       "BAD_ROTATION_CHAIN"));
  ASSERT_TRUE(Accepted(rotation(log2, log3, at + 2, {&log2, &log3})));
  EXPECT_EQ(Vec(Read<pb::LogKeyState>(state_key::LogKey()).indices()),
            (std::vector<uint64_t>{at, at + 1}));
}

}  // namespace
}  // namespace verifier
