// verifier/judge.h: evidence is verified before anything is read from it
// (checkpoint, every proof, order, genesis), a proven subset replays through
// the rulebook in evidence-subset mode, and verdicts follow the findings.
// The log here is a plain list of signed leaves with an in-memory tree, each
// batch closed by the log's own IndexRoot leaf, and evidence carries the
// proven histories of what a verdict relies on (docs/index.md).
#include "verifier/judge.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include "records/records.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "tests/verifier/evidence_builder.h"
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
    Add(records::SignRecordBytes(records::GenesisRecord(kOrigin, {{"a", auth_.public_key()}}, 1), {}));
    for (const char* org : {"acme", "dist", "buyer", "other"}) {
      Add(Auth(records::OrganizationRecord(kT, org, org, "GB")));
    }
    Add(Auth(records::KeyEnrollmentRecord(kT, acme_.public_key(), "acme",
                                         {pb::ROLE_MANUFACTURER, pb::ROLE_CUSTODIAN})));
    Add(Auth(records::KeyEnrollmentRecord(kT, dist_.public_key(), "dist", {pb::ROLE_CUSTODIAN})));
    Add(By(acme_, records::ComponentRecord(kT, "acme", "SOC", pb::COMPONENT_KIND_SOC, "GB")));
    Add(By(acme_, records::DeviceModelRecord(kT, "acme", "CAM", "acme", {records::Ref("acme", "SOC")})));
    firmware_ = Add(By(acme_, records::FirmwareReleaseRecord(kT, "acme", "CAM", "1.0", Sha256("fw"))));
    dev1_ = Add(Device("SN-1", 1));
    dev2_ = Add(Device("SN-2", 2));
    // One transfer of both serials: evidence for SN-1 alone must still replay.
    xfer_ = Add(By(acme_, records::TransferRecord(kT + 1, "acme", {"SN-1", "SN-2"}, "acme", "dist")));
    Add(By(dist_, records::TransferRecord(kT + 2, "acme", {"SN-1"}, "dist", "buyer", "PO-1")));
    xfer_other_ = Add(By(dist_, records::TransferRecord(kT + 2, "acme", {"SN-2"}, "dist", "other")));
    Seal();
  }

  uint64_t Add(std::string leaf) {
    leaves_.push_back(std::move(leaf));
    return leaves_.size() - 1;
  }
  // Closes a batch as a ledger does: the log's own IndexRoot leaf.
  uint64_t Seal() {
    index_roots_.push_back(testing::AppendIndexRoot(&leaves_));
    return index_roots_.back();
  }
  std::string Auth(const pb::Record& r) { return records::SignRecordBytes(r, {&auth_}); }
  std::string By(const SigningKey& k, const pb::Record& r) { return records::SignRecordBytes(r, {&k}); }
  std::string Device(const std::string& serial, uint8_t key) {
    return By(acme_, records::DeviceRecord(kT, "acme", serial, "CAM", Key(100 + key).public_key(),
                                          kT - 10));
  }

  // Evidence of `indices` and the last index root against a checkpoint of
  // the whole log (which a Seal() ends), proving the histories of what
  // `roots` rely on.
  pb::Evidence Evidence(const std::vector<uint64_t>& indices,
                        const std::vector<Subject>& roots = {subject::Device("acme", "SN-1")}) {
    return testing::MakeIndexedEvidence(leaves_, indices, roots, log_key_, kOrigin);
  }
  // What a server sends for SN-1: everything but SN-2's registration, the
  // record that moved SN-2 to `other` and the older index roots.
  std::vector<uint64_t> Sn1Indices() {
    std::vector<uint64_t> out;
    for (uint64_t i = 0; i < leaves_.size(); ++i) {
      const bool index_root =
          std::find(index_roots_.begin(), index_roots_.end(), i) != index_roots_.end();
      if (i != dev2_ && i != xfer_other_ && !index_root) out.push_back(i);
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
  std::vector<uint64_t> index_roots_;
  uint64_t firmware_ = 0, dev1_ = 0, dev2_ = 0, xfer_ = 0, xfer_other_ = 0;
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
  // Not in the evidence: NOT_REGISTERED only when the index proves its
  // history empty; otherwise it cannot be told (and from a bundle, it is
  // NOT_IN_BUNDLE).
  const DeviceQuery sn404{"acme", "SN-404", "buyer", "", ""};
  const pb::Evidence proven =
      Evidence(Sn1Indices(), {subject::Device("acme", "SN-1"), subject::Device("acme", "SN-404")});
  Judgement unknown = Judge(proven, sn404);
  EXPECT_EQ(unknown.verdict, Verdict::kRejected);
  EXPECT_EQ(Codes(unknown), std::set<std::string>{"NOT_REGISTERED"});
  ASSERT_EQ(unknown.findings.size(), 1u);
  EXPECT_EQ(unknown.findings[0].indices, std::vector<uint64_t>{index_roots_.back()});
  // The server's claim alone proves nothing.
  const std::set<std::string> cannot_tell{"EVIDENCE_INCOMPLETE", "REGISTRATION_UNVERIFIED"};
  pb::Evidence claimed = ev;
  auto* ref = claimed.add_unknown_devices();
  ref->set_manufacturer_org("acme");
  ref->set_serial("SN-404");
  Judgement only_claimed = Judge(claimed, sn404);
  EXPECT_EQ(only_claimed.verdict, Verdict::kUnverified);
  EXPECT_EQ(Codes(only_claimed), cannot_tell);
  Judgement silent = Judge(ev, sn404);
  EXPECT_EQ(silent.verdict, Verdict::kUnverified);
  EXPECT_EQ(Codes(silent), cannot_tell);
  auto bundle = VerifyEvidence(ev, vkey_, &cache_);
  ASSERT_TRUE(bundle.ok());
  bundle->from_bundle = true;
  Judgement absent = JudgeDevice(*bundle, sn404);
  EXPECT_EQ(absent.verdict, Verdict::kUnverified);
  EXPECT_EQ(Codes(absent), std::set<std::string>{"NOT_IN_BUNDLE"});
  // A bundle that proves the history empty is as good as a server's answer.
  auto proven_bundle = VerifyEvidence(proven, vkey_, &cache_);
  ASSERT_TRUE(proven_bundle.ok());
  proven_bundle->from_bundle = true;
  EXPECT_EQ(Codes(JudgeDevice(*proven_bundle, sn404)), std::set<std::string>{"NOT_REGISTERED"});
}

TEST_F(JudgeTest, ARegisteredDeviceLeftOutOfProvenEvidenceIsNotUnregistered) {
  // SN-2's history is proven, but its registration is not among the entries.
  Judgement j = Judge(Evidence(Sn1Indices(), {subject::Device("acme", "SN-2")}),
                      {"acme", "SN-2", "other", "", ""});
  EXPECT_EQ(j.verdict, Verdict::kUnverified);
  EXPECT_EQ(Codes(j), (std::set<std::string>{"EVIDENCE_INCOMPLETE", "REGISTRATION_UNVERIFIED"}));
  bool names_the_registration = false;
  for (const auto& f : j.findings) {
    if (f.code == "EVIDENCE_INCOMPLETE" &&
        std::find(f.indices.begin(), f.indices.end(), dev2_) != f.indices.end()) {
      names_the_registration = true;
    }
  }
  EXPECT_TRUE(names_the_registration);
}

TEST_F(JudgeTest, EvidenceWithoutIndexProofsIsIncomplete) {
  // Everything SN-1's verdict needs, but nothing shows no record was left out.
  std::vector<uint64_t> idx = Sn1Indices();
  idx.push_back(index_roots_.back());
  Judgement j = Judge(testing::MakeEvidence(leaves_, idx, log_key_, kOrigin),
                      {"acme", "SN-1", "buyer", "", "dist"});
  EXPECT_EQ(j.verdict, Verdict::kUnverified);
  EXPECT_EQ(Codes(j), (std::set<std::string>{"REGISTERED", "CUSTODY", "FROM_SUPPLIER", "STATUS",
                                             "EVIDENCE_INCOMPLETE"}));
}

TEST_F(JudgeTest, AHistoryEntryLeftOutIsIncomplete) {
  // The transfer to buyer is in SN-1's proven history but not sent.
  const uint64_t to_buyer = xfer_ + 1;
  std::vector<uint64_t> idx;
  for (uint64_t i : Sn1Indices()) {
    if (i != to_buyer) idx.push_back(i);
  }
  Judgement j = Judge(Evidence(idx), {"acme", "SN-1", "dist", "", ""});
  EXPECT_EQ(j.verdict, Verdict::kUnverified);
  const Finding* missing = nullptr;
  for (const auto& f : j.findings) {
    if (f.code == "EVIDENCE_INCOMPLETE") missing = &f;
  }
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->indices, std::vector<uint64_t>{to_buyer});
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
  Add(By(acme_, records::DeviceStatusRecord(kT + 5, "acme", "SN-1", pb::DEVICE_CONDITION_STOLEN)));
  // The manufacturer key is revoked, effective before the device was issued.
  Add(Auth(records::KeyRevocationRecord(kT + 6, acme_.public_key(), kT - 100, "leaked")));
  idx.push_back(leaves_.size() - 2);
  idx.push_back(leaves_.size() - 1);
  Seal();
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
  idx.push_back(Add(By(acme_, records::FirmwareRevocationRecord(kT + 9, "acme", "CAM", "1.0", "bad"))));
  Seal();
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
  // The subject proofs: each must lead to the index root, the checkpoint's
  // last leaf, which must be among the entries.
  ASSERT_GT(good.subjects_size(), 1);
  ASSERT_FALSE(good.subjects(0).siblings(0).empty());
  bad = good;
  (*bad.mutable_subjects(0)->mutable_siblings(0))[0] ^= 1;
  EXPECT_EQ(reason(bad), "EVIDENCE_INDEX_PROOF");
  bad = good;
  bad.mutable_subjects(0)->mutable_history()->RemoveLast();
  EXPECT_EQ(reason(bad), "EVIDENCE_INDEX_PROOF");
  bad = good;
  *bad.add_subjects() = good.subjects(1);
  EXPECT_EQ(reason(bad), "EVIDENCE_INDEX_PROOF");
  bad = good;
  bad.mutable_subjects(0)->mutable_subject()->set_kind("planet");
  EXPECT_EQ(reason(bad), "EVIDENCE_INDEX_PROOF");
  bad = good;
  bad.mutable_entries()->RemoveLast();
  EXPECT_EQ(reason(bad), "EVIDENCE_INDEX_ROOT");
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
