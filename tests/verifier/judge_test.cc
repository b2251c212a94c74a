// verifier/judge.h: evidence is verified before anything is read from it
// (checkpoint, every proof, order, genesis), a proven subset replays through
// the rulebook in evidence-subset mode, and verdicts follow the findings.
// The log here is a plain list of signed leaves with an in-memory tree.
#include "verifier/judge.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include "client/records.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "tests/verifier/test_log.h"

namespace verifier {
namespace {

namespace pb = provenance::v1;

constexpr int64_t kT = 1'700'000'000;
constexpr char kOrigin[] = "judge.example/log";

SigningKey Key(uint8_t b) { return testing::TestKey(b); }

class JudgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    vkey_ = *ParseVerifierKey(FormatVerifierKey(kOrigin, log_key_.public_key()));
    Add(client::SignRecordBytes(client::GenesisRecord(kOrigin, {{"a", auth_.public_key()}}, 1), {}));
    for (const char* org : {"acme", "dist", "buyer", "other"}) {
      Add(Auth(client::OrganizationRecord(kT, org, org, "GB")));
    }
    Add(Auth(client::KeyEnrollmentRecord(kT, acme_.public_key(), "acme",
                                         {pb::ROLE_MANUFACTURER, pb::ROLE_CUSTODIAN})));
    Add(Auth(client::KeyEnrollmentRecord(kT, dist_.public_key(), "dist", {pb::ROLE_CUSTODIAN})));
    Add(By(acme_, client::ComponentRecord(kT, "acme", "SOC", pb::COMPONENT_KIND_SOC, "GB")));
    Add(By(acme_, client::DeviceModelRecord(kT, "acme", "CAM", "acme", {client::Ref("acme", "SOC")})));
    firmware_ = Add(By(acme_, client::FirmwareReleaseRecord(kT, "acme", "CAM", "1.0", Sha256("fw"))));
    dev1_ = Add(Device("SN-1", 1));
    dev2_ = Add(Device("SN-2", 2));
    // One transfer of both serials: evidence for SN-1 alone must still replay.
    xfer_ = Add(By(acme_, client::TransferRecord(kT + 1, "acme", {"SN-1", "SN-2"}, "acme", "dist")));
    Add(By(dist_, client::TransferRecord(kT + 2, "acme", {"SN-1"}, "dist", "buyer", "PO-1")));
    Add(By(dist_, client::TransferRecord(kT + 2, "acme", {"SN-2"}, "dist", "other")));
  }

  uint64_t Add(std::string leaf) {
    leaves_.push_back(std::move(leaf));
    return leaves_.size() - 1;
  }
  std::string Auth(const pb::Record& r) { return client::SignRecordBytes(r, {&auth_}); }
  std::string By(const SigningKey& k, const pb::Record& r) { return client::SignRecordBytes(r, {&k}); }
  std::string Device(const std::string& serial, uint8_t key) {
    return By(acme_, client::DeviceRecord(kT, "acme", serial, "CAM", Key(100 + key).public_key(),
                                          kT - 10));
  }

  // Evidence of `indices` (ascending) against a checkpoint of the whole log.
  pb::Evidence Evidence(const std::vector<uint64_t>& indices) {
    return testing::MakeEvidence(leaves_, indices, log_key_, kOrigin);
  }
  // What a server sends for SN-1: everything but SN-2's registration and the
  // record that moved SN-2 to `other`.
  std::vector<uint64_t> Sn1Indices() {
    std::vector<uint64_t> out;
    for (uint64_t i = 0; i < leaves_.size(); ++i) {
      if (i != dev2_ && i != leaves_.size() - 1) out.push_back(i);
    }
    return out;
  }
  Judgement Judge(const pb::Evidence& ev, DeviceQuery q) {
    auto verified = VerifyEvidence(ev, vkey_, &cache_);
    EXPECT_TRUE(verified.ok()) << verified.status().ToString();
    return JudgeDevice(*verified, q);
  }
  static std::set<std::string> Codes(const Judgement& j) {
    std::set<std::string> out;
    for (const auto& f : j.findings) out.insert(f.code);
    return out;
  }

  SigningKey log_key_ = Key(1), auth_ = Key(2), acme_ = Key(3), dist_ = Key(4);
  NoteVerifier vkey_;
  RecordCache cache_;
  std::vector<std::string> leaves_;
  uint64_t firmware_ = 0, dev1_ = 0, dev2_ = 0, xfer_ = 0;
};

TEST_F(JudgeTest, SubsetWithAMultiDeviceTransferReplaysAndIsTrusted) {
  Judgement j = Judge(Evidence(Sn1Indices()), {"acme", "SN-1", "buyer", "", "dist"});
  EXPECT_EQ(j.verdict, Verdict::kTrusted);
  EXPECT_TRUE(j.registered);
  EXPECT_EQ(j.device.custodian_org(), "buyer");
  // Every check made is listed as a pass.
  EXPECT_EQ(Codes(j), (std::set<std::string>{"REGISTERED", "CUSTODY", "FROM_SUPPLIER", "STATUS"}));
}

TEST_F(JudgeTest, CustodySupplierModelAndUnknownDevice) {
  const pb::Evidence ev = Evidence(Sn1Indices());
  EXPECT_TRUE(Codes(Judge(ev, {"acme", "SN-1", "other", "", ""})).count("WRONG_CUSTODIAN"));
  EXPECT_TRUE(Codes(Judge(ev, {"acme", "SN-1", "buyer", "", "acme"})).count("NOT_FROM_SUPPLIER"));
  EXPECT_TRUE(Codes(Judge(ev, {"acme", "SN-1", "", "OTHER-MODEL", ""})).count("MODEL_MISMATCH"));
  // Not in the evidence: NOT_REGISTERED only when the server says so;
  // otherwise it cannot be told (and from a bundle, it is NOT_IN_BUNDLE).
  pb::Evidence claimed = ev;
  auto* ref = claimed.add_unknown_devices();
  ref->set_manufacturer_org("acme");
  ref->set_serial("SN-404");
  Judgement unknown = Judge(claimed, {"acme", "SN-404", "buyer", "", ""});
  EXPECT_EQ(unknown.verdict, Verdict::kRejected);
  EXPECT_TRUE(Codes(unknown).count("NOT_REGISTERED"));
  Judgement silent = Judge(ev, {"acme", "SN-404", "buyer", "", ""});
  EXPECT_EQ(silent.verdict, Verdict::kUnverified);
  EXPECT_EQ(Codes(silent), std::set<std::string>{"EVIDENCE_INCOMPLETE"});
  auto bundle = VerifyEvidence(ev, vkey_, &cache_);
  ASSERT_TRUE(bundle.ok());
  bundle->from_bundle = true;
  Judgement absent = JudgeDevice(*bundle, {"acme", "SN-404", "buyer", "", ""});
  EXPECT_EQ(absent.verdict, Verdict::kUnverified);
  EXPECT_EQ(Codes(absent), std::set<std::string>{"NOT_IN_BUNDLE"});
}

TEST_F(JudgeTest, ChecksNotMadeAreFindingsAndCustodyIsRequiredByDefault) {
  const pb::Evidence ev = Evidence(Sn1Indices());
  Judgement j = Judge(ev, {"acme", "SN-1", "", "", ""});
  EXPECT_EQ(j.verdict, Verdict::kUnverified);
  ASSERT_TRUE(Codes(j).count("CUSTODY_NOT_CHECKED"));
  Judgement with_buyer = Judge(ev, {"acme", "SN-1", "buyer", "", ""});
  EXPECT_EQ(with_buyer.verdict, Verdict::kTrusted);
  EXPECT_TRUE(Codes(with_buyer).count("SUPPLIER_NOT_CHECKED"));
  for (const auto& f : with_buyer.findings) {
    if (f.code == "SUPPLIER_NOT_CHECKED") {
      EXPECT_EQ(f.severity, Finding::Severity::kSkipped);
    }
  }
  EXPECT_STREQ(SeverityName(Finding::Severity::kInfo), "pass");
  EXPECT_STREQ(SeverityName(Finding::Severity::kWaived), "waived");
}

TEST_F(JudgeTest, StatusAndLaterRevokedSignerReject) {
  std::vector<uint64_t> idx = Sn1Indices();
  Add(By(acme_, client::DeviceStatusRecord(kT + 5, "acme", "SN-1", pb::DEVICE_CONDITION_STOLEN)));
  // The manufacturer key is revoked, effective before the device was issued.
  Add(Auth(client::KeyRevocationRecord(kT + 6, acme_.public_key(), kT - 100, "leaked")));
  idx.push_back(leaves_.size() - 2);
  idx.push_back(leaves_.size() - 1);
  Judgement j = Judge(Evidence(idx), {"acme", "SN-1", "buyer", "", ""});
  EXPECT_EQ(j.verdict, Verdict::kRejected);
  EXPECT_TRUE(Codes(j).count("DEVICE_STOLEN"));
  EXPECT_TRUE(Codes(j).count("SIGNED_BY_REVOKED_KEY"));
}

TEST_F(JudgeTest, MissingDependencyMakesTheVerdictUnverified) {
  // Without acme's key enrolment the device record cannot be checked.
  std::vector<uint64_t> idx;
  for (uint64_t i : Sn1Indices()) {
    if (i != 5) idx.push_back(i);  // #5: acme's key enrolment
  }
  Judgement j = Judge(Evidence(idx), {"acme", "SN-1", "", "", ""});
  EXPECT_NE(j.verdict, Verdict::kTrusted);
  EXPECT_TRUE(Codes(j).count("EVIDENCE_INCOMPLETE"));
}

TEST_F(JudgeTest, FirmwareReleasedUnknownAndRevoked) {
  const pb::Evidence ev = Evidence(Sn1Indices());
  auto verified = VerifyEvidence(ev, vkey_, &cache_);
  ASSERT_TRUE(verified.ok());
  Judgement j = JudgeDevice(*verified, {"acme", "SN-1", "", "", ""});
  auto good = CheckFirmware(*verified, j, Sha256("fw"));
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0].code, "FIRMWARE_RELEASED");
  EXPECT_EQ(good[0].severity, Finding::Severity::kInfo);
  auto unknown = CheckFirmware(*verified, j, Sha256("other"));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].code, "FIRMWARE_UNKNOWN");

  std::vector<uint64_t> idx = Sn1Indices();
  idx.push_back(Add(By(acme_, client::FirmwareRevocationRecord(kT + 9, "acme", "CAM", "1.0", "bad"))));
  auto later = VerifyEvidence(Evidence(idx), vkey_, &cache_);
  ASSERT_TRUE(later.ok());
  auto revoked = CheckFirmware(*later, JudgeDevice(*later, {"acme", "SN-1", "", "", ""}),
                               Sha256("fw"));
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].code, "FIRMWARE_REVOKED");
}

TEST_F(JudgeTest, EvidenceThatDoesNotVerifyIsRefusedWithItsReason) {
  const pb::Evidence good = Evidence(Sn1Indices());
  auto reason = [&](const pb::Evidence& ev) {
    auto r = VerifyEvidence(ev, vkey_, &cache_);
    return r.ok() ? std::string("OK") : r.status().reason();
  };
  ASSERT_EQ(reason(good), "OK");

  pb::Evidence bad = good;
  (*bad.mutable_entries(3)->mutable_proof(0))[0] ^= 1;
  EXPECT_EQ(reason(bad), "EVIDENCE_PROOF");
  bad = good;
  (*bad.mutable_entries(3)->mutable_signed_record())[10] ^= 1;
  EXPECT_EQ(reason(bad), "EVIDENCE_PROOF");
  bad = good;
  bad.mutable_entries(3)->set_index(4);  // a proven leaf claimed at another index
  EXPECT_NE(reason(bad), "OK");
  bad = good;
  bad.mutable_entries()->SwapElements(2, 3);
  EXPECT_EQ(reason(bad), "EVIDENCE_ORDER");
  bad = good;
  bad.mutable_entries()->DeleteSubrange(0, 1);
  EXPECT_EQ(reason(bad), "EVIDENCE_NO_GENESIS");
  bad = good;
  bad.mutable_checkpoint()->set_note(
      SignNote(FormatCheckpoint({kOrigin, 1, LeafHash(AsBytes(leaves_[0])), {}}), kOrigin, Key(9)));
  EXPECT_EQ(reason(bad), "EVIDENCE_CHECKPOINT");
}

TEST_F(JudgeTest, BundleBytesMustBeCanonical) {
  const std::string bytes = Evidence(Sn1Indices()).SerializeAsString();
  ASSERT_TRUE(ParseBundle(bytes).ok());
  EXPECT_EQ(ParseBundle(bytes.substr(0, bytes.size() - 1)).status().reason(), "BUNDLE_MALFORMED");
  // An unknown field appended: parses, but does not re-encode identically.
  EXPECT_EQ(ParseBundle(bytes + std::string("\xf8\x01\x01", 3)).status().reason(),
            "BUNDLE_MALFORMED");
}

}  // namespace
}  // namespace verifier
