// The pure parts of judging a scanned camera (verifier/camera.h); the whole
// scan runs against real cameras in tests/client/prov_scan_test.cc.
#include "verifier/camera.h"

#include <gtest/gtest.h>

namespace verifier {
namespace {

TEST(CameraTest, AnIeeeAssigneeNamesAnOrgByItsFirstDistinctiveWord) {
  EXPECT_TRUE(AssigneeNamesOrg("Axis Communications AB", "Axis Communications AB", "axis"));
  EXPECT_TRUE(AssigneeNamesOrg("AXIS COMMUNICATIONS AB", "Axis AB", "x"));
  EXPECT_TRUE(AssigneeNamesOrg("Zhejiang Dahua Technology Co., Ltd.", "Zhejiang Dahua", "dahua"));
  EXPECT_TRUE(AssigneeNamesOrg("Hangzhou Hikvision Digital Technology Co.,Ltd.", "?",
                               "hangzhou-hikvision"));
  // Legal forms and filler words never make a match on their own.
  EXPECT_FALSE(AssigneeNamesOrg("Co., Ltd.", "Ltd", "co"));
  EXPECT_FALSE(AssigneeNamesOrg("Zhejiang Dahua Technology Co., Ltd.", "Acme Cameras Ltd", "acme"));
  EXPECT_FALSE(AssigneeNamesOrg("", "Acme", "acme"));
  EXPECT_FALSE(
      AssigneeNamesOrg("Zhejiang Uniview Technologies Co.,Ltd.", "Zhejiang Dahua", "dahua"));
}

TEST(CameraTest, NoChainMeansNoIdentityAndNothingProven) {
  VerifiedEvidence ev;
  CameraFacts f;
  CertifiedIdentity id = IdentifyCamera(ev, f, 0, "acme");
  EXPECT_FALSE(id.status.ok());
  Judgement j;
  EXPECT_FALSE(JudgeCamera(ev, f, id, &j));
  ASSERT_FALSE(j.findings.empty());
  EXPECT_EQ(j.findings.front().code, "IDENTITY_UNPROVEN");
  EXPECT_EQ(j.verdict, Verdict::kUnverified);
}

TEST(CameraTest, AGarbageCertificateIsNotAnIdentity) {
  VerifiedEvidence ev;
  CameraFacts f;
  f.chain_der = {"not DER"};
  CertifiedIdentity id = IdentifyCamera(ev, f, 0, "");
  EXPECT_EQ(id.status.reason(), "BAD_CERTIFICATE");
  Judgement j;
  EXPECT_FALSE(JudgeCamera(ev, f, id, &j));
  EXPECT_EQ(j.verdict, Verdict::kUnverified);
  EXPECT_TRUE(ChainIssuerHashes(f.chain_der).empty());
}

}  // namespace
}  // namespace verifier
