// verifier/policy.h: effective ownership (products along paths, sums across
// paths, cycles, time windows, control) and policies judged over evidence
// replayed through the real rulebook: denied laws, countries and orgs by
// role, owners at manufacture and now, relabelling, missing facts, and the
// required-checks switches.
#include "verifier/policy.h"

#include <gtest/gtest.h>

#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "records/records.h"
#include "tests/verifier/evidence_builder.h"
#include "tests/verifier/test_log.h"

namespace verifier {
namespace {

namespace pb = provenance::v1;
using testing::TestKey;

int64_t Day(int y, int m, int d) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return timegm(&tm);
}
const int64_t kNow = Day(2026, 11, 23);

// --- OwnershipGraph over hand-made Ownership records ---

struct Stake {
  std::string owner, owned;
  uint32_t bp;
  bool control = false;
  int64_t from = 0, until = 0;
};

VerifiedEvidence GraphEvidence(const std::vector<Stake>& stakes) {
  VerifiedEvidence ev;
  uint64_t index = 1;
  for (const Stake& s : stakes) {
    auto rec = std::make_shared<PreparedRecord>();
    rec->record = records::OwnershipRecord(0, s.owner, s.owned, s.bp, s.control, s.from, s.until);
    ev.records.emplace(index++, std::move(rec));
  }
  return ev;
}

struct GraphCase {
  const char* name;
  std::vector<Stake> stakes;
  std::string org;
  int64_t at;
  // owner -> expected effective stake (basis points) and control
  std::map<std::string, std::pair<double, bool>> want;
};

void PrintTo(const GraphCase& c, std::ostream* os) { *os << c.name; }

class OwnershipGraphTest : public ::testing::TestWithParam<GraphCase> {};

TEST_P(OwnershipGraphTest, EffectiveStakes) {
  const GraphCase& c = GetParam();
  VerifiedEvidence ev = GraphEvidence(c.stakes);
  OwnershipGraph g(ev);
  const auto& owners = g.OwnersAt(c.org, c.at);
  std::map<std::string, std::pair<double, bool>> got;
  for (const auto& [owner, h] : owners) got[owner] = {h.stake * 10000, h.control};
  ASSERT_EQ(got.size(), c.want.size()) << c.name;
  for (const auto& [owner, want] : c.want) {
    ASSERT_TRUE(got.count(owner)) << c.name << ": " << owner;
    EXPECT_NEAR(got[owner].first, want.first, 1e-6) << c.name << ": " << owner;
    EXPECT_EQ(got[owner].second, want.second) << c.name << ": " << owner;
  }
  // Memoised: asking again (and at another time in the same interval) agrees.
  EXPECT_EQ(&g.OwnersAt(c.org, c.at), &owners);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OwnershipGraphTest,
    ::testing::Values(
        GraphCase{"direct", {{"p", "x", 2500}}, "x", 100, {{"p", {2500, false}}}},
        GraphCase{"chain multiplies",
                  {{"a", "x", 5000}, {"b", "a", 5000}},
                  "x",
                  100,
                  {{"a", {5000, false}}, {"b", {2500, false}}}},
        GraphCase{"paths sum",
                  {{"a", "x", 2000}, {"b", "x", 2000}, {"c", "a", 10000}, {"c", "b", 10000}},
                  "x",
                  100,
                  {{"a", {2000, false}}, {"b", {2000, false}}, {"c", {4000, false}}}},
        GraphCase{"cross-holding terminates",
                  {{"a", "b", 3000}, {"b", "a", 3000}, {"c", "a", 4000}},
                  "b",
                  100,
                  // b <- a (30 %), b <- a <- c (12 %); b <- a <- b is not a simple path
                  {{"a", {3000, false}}, {"c", {1200, false}}}},
        GraphCase{"three-way cycle",
                  {{"b", "a", 5000}, {"c", "b", 5000}, {"a", "c", 5000}},
                  "a",
                  100,
                  {{"b", {5000, false}}, {"c", {2500, false}}}},
        GraphCase{"control flag", {{"p", "x", 100, true}}, "x", 100, {{"p", {100, true}}}},
        GraphCase{"majority chain carries control",
                  {{"a", "x", 6000}, {"b", "a", 6000}, {"c", "b", 6000}},
                  "x",
                  100,
                  {{"a", {6000, true}}, {"b", {3600, true}}, {"c", {2160, true}}}},
        GraphCase{"valid_from is inclusive", {{"p", "x", 5000, false, 100, 200}}, "x", 100,
                  {{"p", {5000, false}}}},
        GraphCase{"valid_until is exclusive", {{"p", "x", 5000, false, 100, 200}}, "x", 200, {}},
        GraphCase{"last second before sale", {{"p", "x", 5000, false, 100, 200}}, "x", 199,
                  {{"p", {5000, false}}}},
        GraphCase{"before the stake", {{"p", "x", 5000, false, 100, 200}}, "x", 99, {}},
        GraphCase{"sold to another owner",
                  {{"p", "x", 6000, false, 0, 200}, {"q", "x", 6000, false, 200}},
                  "x",
                  250,
                  {{"q", {6000, true}}}}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& ch : n) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

TEST(OwnershipGraphTest, LaterRecordForTheSameStakeCorrectsIt) {
  VerifiedEvidence ev = GraphEvidence({{"p", "x", 5000, false, 100}, {"p", "x", 2000, false, 100}});
  OwnershipGraph g(ev);
  EXPECT_NEAR(g.OwnersAt("x", 150).at("p").stake, 0.2, 1e-9);
  EXPECT_TRUE(g.HasOwnershipFacts("x"));
  EXPECT_FALSE(g.HasOwnershipFacts("p"));
}

TEST(OwnershipGraphTest, DenseCrossHoldingsTerminate) {
  // Every org owns 10 % of every other: many simple paths, all finite.
  std::vector<Stake> stakes;
  const int n = 7;
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      if (a != b) stakes.push_back({"o" + std::to_string(a), "o" + std::to_string(b), 1000});
    }
  }
  VerifiedEvidence ev = GraphEvidence(stakes);
  OwnershipGraph g(ev);
  const auto& owners = g.OwnersAt("o0", 1);
  EXPECT_EQ(owners.size(), static_cast<size_t>(n - 1));
  for (const auto& [o, h] : owners) EXPECT_LT(h.stake, 0.2) << o;
}

// --- Policies over a replayed log ---

class PolicyTest : public ::testing::Test {
 protected:
  static constexpr char kOrigin[] = "policy.example/log";

  void SetUp() override {
    InitCrypto();
    vkey_ = *ParseVerifierKey(FormatVerifierKey(kOrigin, log_key_.public_key()));
    Add(records::SignRecordBytes(
        records::GenesisRecord(kOrigin, {{"a", auth_.public_key()}}, 1), {}));
    const int64_t t = Day(2020, 1, 1);
    auto org = [&](const char* id, const char* country, std::vector<std::string> laws = {},
                   bool state = false) {
      Auth(records::OrganizationRecord(t, id, std::string("Org ") + id, country, laws, state));
    };
    Auth(records::LawRecord(t, "CN-NIL-2017", "PRC National Intelligence Law (2017)", "CN", ""));
    org("state-group", "CN", {"CN-NIL-2017"}, true);
    org("maker", "SG");
    org("kestrel", "SG");
    org("brand", "GB");
    org("denied-maker", "CN", {"CN-NIL-2017"});
    org("soc-parent", "CN", {"CN-NIL-2017"});
    org("soc-maker", "TW");
    org("sensor", "DE");
    org("alpine", "CH");
    org("mem", "KR");
    org("clean", "GB");
    org("holdco", "GB");
    org("buyer", "GB");
    org("other", "GB");
    auto own = [&](const char* owner, const char* owned, uint32_t bp, int64_t from,
                   int64_t until = 0) {
      return Auth(records::OwnershipRecord(t, owner, owned, bp, false, from, until));
    };
    lv_stake_ = own("state-group", "maker", 4000, Day(2018, 1, 1));
    own("maker", "kestrel", 3000, Day(2019, 1, 1));
    own("kestrel", "maker", 3000, Day(2019, 1, 1));
    own("holdco", "brand", 10000, Day(2010, 1, 1));
    own("state-group", "denied-maker", 4100, Day(2010, 1, 1));
    soc_stake_ = own("soc-parent", "soc-maker", 10000, Day(2019, 1, 1));
    sensor_old_ = own("state-group", "sensor", 6000, Day(2015, 1, 1), Day(2023, 7, 1));
    own("alpine", "sensor", 6000, Day(2023, 7, 1));
    own("holdco", "clean", 10000, Day(2010, 1, 1));
    own("clean", "other", 5000, Day(2010, 1, 1));
    uint8_t seed = 10;
    for (const char* o : {"clean", "maker", "denied-maker", "soc-maker", "sensor", "mem"}) {
      keys_.emplace(o, TestKey(seed++));
      Auth(records::KeyEnrollmentRecord(t, keys_.at(o).public_key(), o,
                                       {pb::ROLE_MANUFACTURER, pb::ROLE_CUSTODIAN}));
    }
    Comp("soc-maker", "PX-3", pb::COMPONENT_KIND_SOC);
    Comp("sensor", "IMX-9", pb::COMPONENT_KIND_IMAGE_SENSOR);
    Comp("mem", "QM-4", pb::COMPONENT_KIND_MEMORY);
    Comp("clean", "CV-7", pb::COMPONENT_KIND_SOC);
    Comp("maker", "LV-SOC", pb::COMPONENT_KIND_SOC);
    Comp("denied-maker", "HK-ISP", pb::COMPONENT_KIND_SOC);
    Model("clean", "DOME", "clean", {{"soc-maker", "PX-3"}, {"sensor", "IMX-9"}});
    Model("clean", "CLEAN", "clean", {{"clean", "CV-7"}, {"sensor", "IMX-9"}});
    Model("clean", "MEM", "clean", {{"clean", "CV-7"}, {"mem", "QM-4"}});
    Model("maker", "LV", "maker", {{"maker", "LV-SOC"}});
    Model("denied-maker", "NOVA", "brand", {{"denied-maker", "HK-ISP"}});
    Dev("clean", "DOME-24", "DOME", Day(2024, 3, 1));
    Dev("clean", "CLEAN-22", "CLEAN", Day(2022, 5, 1));
    Dev("clean", "CLEAN-24", "CLEAN", Day(2024, 5, 1));
    Dev("clean", "MEM-24", "MEM", Day(2024, 6, 1));
    Dev("maker", "LV-24", "LV", Day(2024, 2, 1));
    Dev("denied-maker", "NOVA-24", "NOVA", Day(2024, 4, 1));
    testing::AppendIndexRoot(&leaves_);
  }

  uint64_t Add(std::string leaf) {
    leaves_.push_back(std::move(leaf));
    return leaves_.size() - 1;
  }
  uint64_t Auth(const pb::Record& r) { return Add(records::SignRecordBytes(r, {&auth_})); }
  uint64_t By(const std::string& org, const pb::Record& r) {
    return Add(records::SignRecordBytes(r, {&keys_.at(org)}));
  }
  void Comp(const std::string& org, const std::string& part, pb::ComponentKind kind) {
    By(org, records::ComponentRecord(Day(2020, 2, 1), org, part, kind, "XX"));
  }
  void Model(const std::string& org, const std::string& id, const std::string& brand,
             const std::vector<std::pair<std::string, std::string>>& parts) {
    std::vector<pb::ComponentRef> refs;
    for (const auto& [maker, part] : parts) refs.push_back(records::Ref(maker, part));
    By(org, records::DeviceModelRecord(Day(2020, 3, 1), org, id, brand, refs));
  }
  void Dev(const std::string& org, const std::string& serial, const std::string& model,
           int64_t made) {
    By(org, records::DeviceRecord(made, org, serial, model,
                                 TestKey(static_cast<uint8_t>(100 + leaves_.size())).public_key(),
                                 made));
    By(org, records::TransferRecord(made + 1, org, {serial}, org, "buyer", "PO-1"));
    devices_.push_back(subject::Device(org, serial));
  }

  // The whole log as verified evidence, complete for every device.
  const VerifiedEvidence& Evidence() {
    if (!ev_) {
      std::vector<uint64_t> all(leaves_.size());
      for (uint64_t i = 0; i < all.size(); ++i) all[i] = i;
      auto v = VerifyEvidence(
          testing::MakeIndexedEvidence(leaves_, all, devices_, log_key_, kOrigin), vkey_, &cache_);
      EXPECT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_TRUE(v->problems.empty());
      ev_ = std::make_unique<VerifiedEvidence>(std::move(v).value());
    }
    return *ev_;
  }

  Judgement Judge(const Policy& p, const std::string& mfr, const std::string& serial,
                  bool attested = false, const std::string& buyer = "buyer") {
    auto fn = MakePolicyFn(std::make_shared<Policy>(p), kNow);
    Judgement j = JudgeDevice(Evidence(), {mfr, serial, buyer, "", ""}, fn);
    ApplyRequired(p, attested, &j);
    return j;
  }

  static const Finding* Find(const Judgement& j, const std::string& code) {
    for (const auto& f : j.findings) {
      if (f.code == code) return &f;
    }
    return nullptr;
  }
  static std::set<std::string> Problems(const Judgement& j) {
    std::set<std::string> out;
    for (const auto& f : j.findings) {
      // What decides the verdict (checks not made and waived ones do not).
      if (f.severity == Finding::Severity::kReject ||
          f.severity == Finding::Severity::kUnverified) {
        out.insert(f.code);
      }
    }
    return out;
  }

  static Policy LawPolicy() {
    Policy p;
    p.name = "law";
    p.denied_laws = {"CN-NIL-2017"};
    return p;
  }

  SigningKey log_key_ = TestKey(1), auth_ = TestKey(2);
  std::map<std::string, SigningKey> keys_;
  NoteVerifier vkey_;
  RecordCache cache_;
  std::vector<std::string> leaves_;
  std::vector<Subject> devices_;
  std::unique_ptr<VerifiedEvidence> ev_;
  uint64_t lv_stake_ = 0, soc_stake_ = 0, sensor_old_ = 0;
};

struct VerdictCase {
  const char* mfr;
  const char* serial;
  Verdict verdict;
  std::set<std::string> problems;
};

TEST_F(PolicyTest, DeniedLawVerdictForEveryDevice) {
  const std::vector<VerdictCase> cases = {
      {"clean", "DOME-24", Verdict::kRejected, {"DENIED_LAW"}},    // SoC maker's parent
      {"clean", "CLEAN-22", Verdict::kRejected, {"DENIED_LAW"}},   // sensor owner until 2023
      {"clean", "CLEAN-24", Verdict::kTrusted, {}},                // sensor sold in 2023
      {"clean", "MEM-24", Verdict::kUnverified, {"MISSING_OWNERSHIP_FACTS"}},
      {"maker", "LV-24", Verdict::kRejected, {"DENIED_LAW"}},      // 40 % state group
      {"denied-maker", "NOVA-24", Verdict::kRejected, {"DENIED_LAW"}},  // relabelled
  };
  for (const auto& c : cases) {
    Judgement j = Judge(LawPolicy(), c.mfr, c.serial);
    EXPECT_EQ(j.verdict, c.verdict) << c.serial;
    EXPECT_EQ(Problems(j), c.problems) << c.serial;
  }
}

TEST_F(PolicyTest, FindingNamesThePathWithLedgerIndices) {
  Judgement j = Judge(LawPolicy(), "clean", "DOME-24");
  const Finding* f = Find(j, "DENIED_LAW");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "SoC PX-3 made by Org soc-maker (TW), 100 % owned by Org soc-parent (CN, subject to "
            "CN-NIL-2017) since 2019-01-01: CN-NIL-2017 is a denied law (at manufacture "
            "(2024-03-01) and now)");
  // The component, the model, the stake and the owner's org record.
  EXPECT_NE(std::find(f->indices.begin(), f->indices.end(), soc_stake_), f->indices.end());
  EXPECT_EQ(f->indices.size(), 4u);
}

TEST_F(PolicyTest, OwnershipIsJudgedAtManufactureNowOrBoth) {
  Policy p = LawPolicy();
  p.when = Policy::When::kNow;
  EXPECT_EQ(Judge(p, "clean", "CLEAN-22").verdict, Verdict::kTrusted);
  p.when = Policy::When::kManufacture;
  Judgement j = Judge(p, "clean", "CLEAN-22");
  EXPECT_EQ(j.verdict, Verdict::kRejected);
  ASSERT_NE(Find(j, "DENIED_LAW"), nullptr);
  EXPECT_NE(Find(j, "DENIED_LAW")->message.find("until 2023-07-01"), std::string::npos);
  EXPECT_NE(Find(j, "DENIED_LAW")->message.find("(at manufacture (2022-05-01))"),
            std::string::npos);
  p.when = Policy::When::kBoth;
  EXPECT_EQ(Judge(p, "clean", "CLEAN-22").verdict, Verdict::kRejected);
  EXPECT_EQ(Judge(p, "clean", "CLEAN-24").verdict, Verdict::kTrusted);
}

TEST_F(PolicyTest, ThresholdAtTheBoundary) {
  Policy p = LawPolicy();
  p.control_flag_counts = false;
  p.control_threshold_bp = 4000;  // the state group holds exactly 40 %
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kRejected);
  p.control_threshold_bp = 4001;
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kTrusted);
}

TEST_F(PolicyTest, OwnersSwitchedOff) {
  Policy p = LawPolicy();
  p.include_owners = false;
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kTrusted);
  EXPECT_EQ(Judge(p, "clean", "MEM-24").verdict, Verdict::kTrusted);  // no owner facts needed
  EXPECT_EQ(Judge(p, "denied-maker", "NOVA-24").verdict, Verdict::kRejected);  // itself
}

TEST_F(PolicyTest, RelabelledCameraIsJudgedByMakerAndBrand) {
  Policy p = LawPolicy();
  p.applies_to = {Role::kBrand};
  EXPECT_EQ(Judge(p, "denied-maker", "NOVA-24").verdict, Verdict::kTrusted);
  p.applies_to = {Role::kManufacturer};
  Judgement j = Judge(p, "denied-maker", "NOVA-24");
  EXPECT_EQ(j.verdict, Verdict::kRejected);
  // A policy denying the brand's country catches it by brand alone.
  Policy gb;
  gb.name = "no-gb";
  gb.denied_countries = {"GB"};
  gb.applies_to = {Role::kBrand};
  gb.include_owners = false;
  Judgement b = Judge(gb, "denied-maker", "NOVA-24");
  ASSERT_NE(Find(b, "DENIED_COUNTRY"), nullptr);
  EXPECT_EQ(Find(b, "DENIED_COUNTRY")->message,
            "model NOVA sold under the brand of Org brand (GB): GB is a denied country (at "
            "manufacture (2024-04-01) and now)");
}

TEST_F(PolicyTest, DeniedOrgAsMakerAndAsOwner) {
  Policy p;
  p.name = "orgs";
  p.denied_orgs = {"soc-parent", "denied-maker"};
  EXPECT_EQ(Problems(Judge(p, "clean", "DOME-24")), std::set<std::string>{"DENIED_ORG"});
  EXPECT_EQ(Problems(Judge(p, "denied-maker", "NOVA-24")), std::set<std::string>{"DENIED_ORG"});
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kTrusted);
}

// Affiliates (FAR 52.204-25): the state group holds 40 % of maker and 41 %
// of denied-maker, so maker is under common control with a denied org;
// clean holds 50 % of other, so clean controls it.
TEST_F(PolicyTest, AffiliatesOfDeniedOrgs) {
  Policy p;
  p.name = "affiliates";
  p.denied_orgs = {"denied-maker", "other"};
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kTrusted);  // off by default
  EXPECT_EQ(Judge(p, "clean", "CLEAN-24").verdict, Verdict::kTrusted);
  p.affiliates = true;
  Judgement lv = Judge(p, "maker", "LV-24");
  EXPECT_EQ(Problems(lv), std::set<std::string>{"DENIED_AFFILIATE"});
  ASSERT_NE(Find(lv, "DENIED_AFFILIATE"), nullptr);
  EXPECT_EQ(Find(lv, "DENIED_AFFILIATE")->message,
            "made by Org maker (SG), 40 % owned by Org state-group (CN, state-owned, subject to "
            "CN-NIL-2017) since 2018-01-01; Org state-group (CN, state-owned, subject to "
            "CN-NIL-2017) also holds 41 % of Org denied-maker (CN, subject to CN-NIL-2017): "
            "under common control with denied-maker, so an affiliate of denied-maker, a denied "
            "organisation (at manufacture (2024-02-01) and now)");
  // The stake, the owner's holding and the maker's records are all cited.
  EXPECT_NE(std::find(Find(lv, "DENIED_AFFILIATE")->indices.begin(),
                      Find(lv, "DENIED_AFFILIATE")->indices.end(), lv_stake_),
            Find(lv, "DENIED_AFFILIATE")->indices.end());
  Judgement clean = Judge(p, "clean", "CLEAN-24");
  EXPECT_EQ(Problems(clean), std::set<std::string>{"DENIED_AFFILIATE"});
  ASSERT_NE(Find(clean, "DENIED_AFFILIATE"), nullptr);
  EXPECT_EQ(Find(clean, "DENIED_AFFILIATE")->message,
            "made by Org clean (GB), which holds 50 % of Org other (GB): an affiliate of other, "
            "a denied organisation (at manufacture (2024-05-01) and now)");
  // Through a chain: holdco owns the brand and, through clean, 50 % of other.
  Judgement nova = Judge(p, "denied-maker", "NOVA-24");
  EXPECT_EQ(Problems(nova), (std::set<std::string>{"DENIED_ORG", "DENIED_AFFILIATE"}));
  ASSERT_NE(Find(nova, "DENIED_AFFILIATE"), nullptr);
  EXPECT_EQ(Find(nova, "DENIED_AFFILIATE")->message,
            "model NOVA sold under the brand of Org brand (GB), 100 % owned by Org holdco (GB) "
            "since 2010-01-01; Org holdco (GB) also holds 50 % of Org other (GB): under common "
            "control with other, so an affiliate of other, a denied organisation (at "
            "manufacture (2024-04-01) and now)");
  // Affiliation is judged at the times of the policy: the state group held
  // the sensor maker until 2023, so units made in 2022 are tainted and
  // units made in 2024 are not.
  p.denied_orgs = {"denied-maker"};
  Judgement c22 = Judge(p, "clean", "CLEAN-22");
  ASSERT_NE(Find(c22, "DENIED_AFFILIATE"), nullptr);
  EXPECT_NE(Find(c22, "DENIED_AFFILIATE")->message.find("until 2023-07-01"), std::string::npos);
  EXPECT_NE(Find(c22, "DENIED_AFFILIATE")->message.find("(at manufacture (2022-05-01))"),
            std::string::npos);
  EXPECT_EQ(Judge(p, "clean", "CLEAN-24").verdict, Verdict::kTrusted);
}

TEST_F(PolicyTest, AffiliationNeedsCountingStakesOnBothSides) {
  Policy p;
  p.name = "affiliates";
  p.denied_orgs = {"denied-maker"};
  p.affiliates = true;
  p.control_flag_counts = false;
  p.control_threshold_bp = 4000;  // 40 % of maker and 41 % of denied-maker both count
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kRejected);
  p.control_threshold_bp = 4001;  // the stake in maker no longer counts
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kTrusted);
  p.control_threshold_bp = 2500;
  p.denied_orgs = {"kestrel"};  // maker and kestrel hold 30 % of each other
  // kestrel is a counting owner of maker: reported once, as a denied owner.
  EXPECT_EQ(Problems(Judge(p, "maker", "LV-24")), std::set<std::string>{"DENIED_ORG"});
}

TEST_F(PolicyTest, StateOwnedOwnerCountsOnlyWhenAsked) {
  Policy p;
  p.name = "state";
  p.denied_countries = {"ZZ"};
  EXPECT_EQ(Judge(p, "maker", "LV-24").verdict, Verdict::kTrusted);
  p.state_owned_counts = true;
  EXPECT_EQ(Problems(Judge(p, "maker", "LV-24")), std::set<std::string>{"STATE_OWNED_OWNER"});
}

TEST_F(PolicyTest, CustodiansAreJudgedWhenTheRoleIsOn) {
  Policy p;
  p.name = "custodians";
  p.denied_orgs = {"buyer"};
  p.include_owners = false;
  EXPECT_EQ(Judge(p, "clean", "CLEAN-24").verdict, Verdict::kTrusted);
  p.applies_to.insert(Role::kCustodian);
  EXPECT_EQ(Problems(Judge(p, "clean", "CLEAN-24")), std::set<std::string>{"DENIED_ORG"});
}

TEST_F(PolicyTest, MissingFactsUnderBothSettings) {
  Policy p = LawPolicy();
  p.missing_facts = Policy::MissingFacts::kUnverified;
  Judgement j = Judge(p, "clean", "MEM-24");
  EXPECT_EQ(j.verdict, Verdict::kUnverified);
  ASSERT_NE(Find(j, "MISSING_OWNERSHIP_FACTS"), nullptr);
  EXPECT_NE(Find(j, "MISSING_OWNERSHIP_FACTS")->message.find("memory QM-4 made by Org mem (KR)"),
            std::string::npos);
  p.missing_facts = Policy::MissingFacts::kReject;
  EXPECT_EQ(Judge(p, "clean", "MEM-24").verdict, Verdict::kRejected);
}

TEST_F(PolicyTest, RequiredChecksSwitchOnAndOff) {
  Policy p = LawPolicy();
  // custody_to_buyer: the device is at `buyer`, judged for `other`.
  EXPECT_EQ(Judge(p, "clean", "CLEAN-24", false, "other").verdict, Verdict::kRejected);
  p.required.custody_to_buyer = false;
  Judgement j = Judge(p, "clean", "CLEAN-24", false, "other");
  EXPECT_EQ(j.verdict, Verdict::kTrusted);
  ASSERT_NE(Find(j, "WRONG_CUSTODIAN"), nullptr);
  // Failed, shown, but not required: "waived", never "pass".
  EXPECT_EQ(Find(j, "WRONG_CUSTODIAN")->severity, Finding::Severity::kWaived);
  EXPECT_NE(Find(j, "WRONG_CUSTODIAN")->message.find("(failed, but not required by law)"),
            std::string::npos);
  // Without a buyer, custody is not checked: UNVERIFIED when required,
  // skipped when not.
  Judgement no_buyer = Judge(p, "clean", "CLEAN-24", false, "");
  EXPECT_EQ(Find(no_buyer, "CUSTODY_NOT_CHECKED")->severity, Finding::Severity::kSkipped);
  p.required.custody_to_buyer = true;
  EXPECT_EQ(Problems(Judge(p, "clean", "CLEAN-24", false, "")),
            std::set<std::string>{"CUSTODY_NOT_CHECKED"});
  p.required.custody_to_buyer = false;
  // attestation: `prov check` cannot attest; `prov scan` can.
  p.required.attestation = true;
  EXPECT_EQ(Judge(p, "clean", "CLEAN-24").verdict, Verdict::kUnverified);
  EXPECT_EQ(Problems(Judge(p, "clean", "CLEAN-24")),
            std::set<std::string>{"ATTESTATION_REQUIRED"});
  EXPECT_EQ(Judge(p, "clean", "CLEAN-24", true).verdict, Verdict::kTrusted);
}

TEST_F(PolicyTest, ReleasedFirmwareAndNotRevokedSwitches) {
  Policy p = LawPolicy();
  Judgement base = JudgeDevice(Evidence(), {"clean", "CLEAN-24", "buyer", "", ""});
  for (auto& f : CheckFirmware(Evidence(), base, Sha256("not a release"))) {
    base.findings.push_back(f);
  }
  base.findings.push_back({Finding::Severity::kReject, "DEVICE_STOLEN", "stolen", {}});
  struct Case {
    bool firmware, revoked;
    Verdict want;
  };
  for (const Case c : {Case{true, true, Verdict::kRejected}, Case{false, true, Verdict::kRejected},
                       Case{true, false, Verdict::kRejected}, Case{false, false, Verdict::kTrusted}}) {
    p.required.released_firmware = c.firmware;
    p.required.not_revoked = c.revoked;
    Judgement j = base;
    ApplyRequired(p, true, &j);
    EXPECT_EQ(j.verdict, c.want) << c.firmware << c.revoked;
    EXPECT_EQ(Problems(j).count("FIRMWARE_UNKNOWN"), c.firmware ? 1u : 0u);
    EXPECT_EQ(Problems(j).count("DEVICE_STOLEN"), c.revoked ? 1u : 0u);
  }
}

TEST_F(PolicyTest, APassNamesEveryOrgJudgedAndItsOwners) {
  Judgement j = Judge(LawPolicy(), "clean", "CLEAN-24");
  ASSERT_EQ(j.verdict, Verdict::kTrusted);
  std::vector<std::string> passes;
  for (const auto& f : j.findings) {
    if (f.code == "POLICY_PASSED") {
      EXPECT_EQ(f.severity, Finding::Severity::kInfo);
      EXPECT_FALSE(f.indices.empty());
      passes.push_back(f.message);
    }
  }
  ASSERT_GE(passes.size(), 2u);
  EXPECT_EQ(passes[0].rfind("made by Org clean (GB): not denied by law; owners judged (25 % or "
                            "control): Org holdco (GB) 100 % (at manufacture (2024",
                            0),
            0u)
      << passes[0];
  // Without owners judged, no owner text; the attestation not made is said.
  EXPECT_NE(Find(j, "ATTESTATION_NOT_CHECKED"), nullptr);
}

TEST_F(PolicyTest, CrossHoldingIsJudgedOnce) {
  // maker and kestrel hold 30 % of each other: kestrel's stake does not count,
  // and judging terminates with the state group's 40 %.
  Policy p = LawPolicy();
  Judgement j = Judge(p, "maker", "LV-24");
  ASSERT_NE(Find(j, "DENIED_LAW"), nullptr);
  EXPECT_NE(Find(j, "DENIED_LAW")->message.find("40 % owned by Org state-group"),
            std::string::npos);
}

// --- Real facts: dated facts, no-owner statements, rulings, scopes ---

// The PolicyTest world plus orgs whose facts change over time:
// - redomicile: CN until 2021-06-01 (dated), SG after (its record);
// - lawco (KR record): bound by CN-NIL-2017 from 2017-06-28 (dated);
// - widely (GB): no registrable owner >= 25 % from 2019 until 2024;
// - hkco (HK): no ruling yet on CN-NIL-2017;
// - radio-maker (TW) 100 % owned by soc-parent (CN, NIL), making a radio
//   that the RADIO model of clean carries.
// Each maker makes one model; devices are made on the days that matter.
class FactsPolicyTest : public PolicyTest {
 protected:
  void SetUp() override {
    PolicyTest::SetUp();
    const int64_t t = Day(2020, 1, 1);
    Auth(records::OrganizationRecord(t, "redomicile", "Org redomicile", "SG"));
    redomicile_fact_ =
        Auth(records::OrgCountryFact(t, "redomicile", "CN", Day(2001, 1, 1), Day(2021, 6, 1),
                                    "registry extract"));
    Auth(records::OrganizationRecord(t, "lawco", "Org lawco", "KR"));
    law_fact_ = Auth(records::OrgLawFact(t, "lawco", "CN-NIL-2017", Day(2017, 6, 28), 0, "NIL art. 7"));
    Auth(records::OrganizationRecord(t, "widely", "Org widely", "GB"));
    statement_ = Auth(records::NoRegistrableOwnerRecord(t, "widely", 2500, Day(2019, 1, 1),
                                                       Day(2024, 1, 1), "PSC register"));
    Auth(records::OrganizationRecord(t, "hkco", "Org hkco", "HK"));
    Auth(records::OrganizationRecord(t, "radio-maker", "Org radio-maker", "TW"));
    for (const char* o : {"redomicile", "lawco", "hkco"}) {
      Auth(records::NoRegistrableOwnerRecord(t, o, 2500, Day(2000, 1, 1), 0, "annual report"));
    }
    Auth(records::OwnershipRecord(t, "soc-parent", "radio-maker", 10000, false, Day(2010, 1, 1)));
    uint8_t seed = 40;
    for (const char* o : {"redomicile", "lawco", "widely", "hkco", "radio-maker"}) {
      keys_.emplace(o, TestKey(seed++));
      Auth(records::KeyEnrollmentRecord(t, keys_.at(o).public_key(), o,
                                       {pb::ROLE_MANUFACTURER, pb::ROLE_CUSTODIAN}));
      if (std::string(o) != "radio-maker") Model(o, "M", o, {});
    }
    Comp("radio-maker", "LTE-1", pb::COMPONENT_KIND_RADIO);
    Model("clean", "RADIO", "clean", {{"clean", "CV-7"}, {"radio-maker", "LTE-1"}});
    pb::Record telecom = records::DeviceModelRecord(Day(2020, 3, 1), "clean", "LTE-CAM", "clean",
                                                   {records::Ref("clean", "CV-7")});
    telecom.mutable_device_model()->add_equipment(pb::EQUIPMENT_KIND_TELECOMMUNICATIONS);
    By("clean", telecom);
    Dev("redomicile", "R-0531", "M", Day(2021, 5, 31));
    Dev("redomicile", "R-0601", "M", Day(2021, 6, 1));  // the fact changes that very day
    Dev("lawco", "L-0627", "M", Day(2017, 6, 27));
    Dev("lawco", "L-0628", "M", Day(2017, 6, 28));
    Dev("widely", "W-20", "M", Day(2020, 6, 1));
    Dev("hkco", "H-24", "M", Day(2024, 1, 1));
    Dev("clean", "RADIO-24", "RADIO", Day(2024, 3, 1));
    Dev("clean", "RADIO-26", "RADIO", Day(2026, 1, 10));
    Dev("clean", "LTE-24", "LTE-CAM", Day(2024, 3, 1));
    testing::AppendIndexRoot(&leaves_);
  }

  // Appends records after everything (a new batch) and judges afresh.
  void Later(const std::vector<pb::Record>& records) {
    for (const auto& r : records) Auth(r);
    testing::AppendIndexRoot(&leaves_);
    ev_.reset();
  }

  Judgement JudgeFor(const Policy& p, const std::string& mfr, const std::string& serial,
                     const std::string& purpose) {
    auto fn = MakePolicyFn(std::make_shared<Policy>(p), kNow, purpose);
    Judgement j = JudgeDevice(Evidence(), {mfr, serial, "buyer", "", ""}, fn);
    ApplyRequired(p, false, &j);
    return j;
  }

  static bool Cites(const Finding* f, uint64_t index) {
    return f && std::find(f->indices.begin(), f->indices.end(), index) != f->indices.end();
  }

  uint64_t redomicile_fact_ = 0, law_fact_ = 0, statement_ = 0;
};

TEST_F(FactsPolicyTest, ACountryIsJudgedByThePeriodThatApplied) {
  Policy p;
  p.name = "countries";
  p.denied_countries = {"CN"};
  p.when = Policy::When::kManufacture;
  Judgement before = Judge(p, "redomicile", "R-0531");
  EXPECT_EQ(Problems(before), std::set<std::string>{"DENIED_COUNTRY"});
  const Finding* f = Find(before, "DENIED_COUNTRY");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "made by Org redomicile (CN from 2001-01-01 until 2021-06-01 (#" +
                            std::to_string(redomicile_fact_) +
                            ")): CN is a denied country (at manufacture (2021-05-31))");
  EXPECT_TRUE(Cites(f, redomicile_fact_));
  // valid_until is exclusive: a unit made on the day of the move is SG's.
  Judgement on = Judge(p, "redomicile", "R-0601");
  EXPECT_EQ(on.verdict, Verdict::kTrusted) << (on.findings.empty() ? "" : on.findings[0].message);
  // Judged now as well, the earlier unit stays rejected by its manufacture.
  p.when = Policy::When::kBoth;
  EXPECT_EQ(Judge(p, "redomicile", "R-0531").verdict, Verdict::kRejected);
  p.when = Policy::When::kNow;
  EXPECT_EQ(Judge(p, "redomicile", "R-0531").verdict, Verdict::kTrusted);
}

TEST_F(FactsPolicyTest, ALawBindsFromItsDate) {
  Policy p = LawPolicy();
  p.when = Policy::When::kManufacture;
  EXPECT_EQ(Judge(p, "lawco", "L-0627").verdict, Verdict::kTrusted);
  Judgement j = Judge(p, "lawco", "L-0628");
  EXPECT_EQ(Problems(j), std::set<std::string>{"DENIED_LAW"});
  EXPECT_NE(Find(j, "DENIED_LAW")->message.find("subject to CN-NIL-2017 from 2017-06-28 on"),
            std::string::npos);
  EXPECT_TRUE(Cites(Find(j, "DENIED_LAW"), law_fact_));
  // Judged now too, the day-before unit is caught by the law binding now.
  p.when = Policy::When::kBoth;
  Judgement both = Judge(p, "lawco", "L-0627");
  EXPECT_EQ(Problems(both), std::set<std::string>{"DENIED_LAW"});
  EXPECT_NE(Find(both, "DENIED_LAW")->message.find("(now)"), std::string::npos);
}

TEST_F(FactsPolicyTest, DatedStateOwnershipCountsForItsWindow) {
  Later({records::OrgStateOwnedFact(Day(2025, 1, 1), "widely", true, Day(2020, 1, 1),
                                   Day(2021, 1, 1), "privatised 2021")});
  Policy p;
  p.name = "state";
  p.denied_countries = {"ZZ"};
  p.state_owned_counts = true;
  p.include_owners = false;  // the org's own flag is what is judged here
  p.when = Policy::When::kManufacture;
  Judgement j = Judge(p, "widely", "W-20");
  EXPECT_EQ(Problems(j), std::set<std::string>{"STATE_OWNED_OWNER"});
  EXPECT_NE(Find(j, "STATE_OWNED_OWNER")->message.find("state-owned from 2020-01-01 until 2021-01-01"),
            std::string::npos);
  p.when = Policy::When::kNow;
  EXPECT_EQ(Judge(p, "widely", "W-20").verdict, Verdict::kTrusted);
}

TEST_F(FactsPolicyTest, NoRegistrableOwnerClearsOwnersForItsWindowOnly) {
  Policy p = LawPolicy();
  p.when = Policy::When::kManufacture;
  Judgement made = Judge(p, "widely", "W-20");
  EXPECT_EQ(made.verdict, Verdict::kTrusted);
  const Finding* pass = Find(made, "POLICY_PASSED");
  ASSERT_NE(pass, nullptr);
  EXPECT_NE(pass->message.find("no registrable owner at or above 25 % from 2019-01-01 until "
                               "2024-01-01 (#" + std::to_string(statement_) + ")"),
            std::string::npos)
      << pass->message;
  EXPECT_TRUE(Cites(pass, statement_));
  // The statement expired before now: owners now are unknown.
  p.when = Policy::When::kBoth;
  Judgement both = Judge(p, "widely", "W-20");
  EXPECT_EQ(Problems(both), std::set<std::string>{"MISSING_OWNERSHIP_FACTS"});
  EXPECT_NE(Find(both, "MISSING_OWNERSHIP_FACTS")->message.find("recorded in the ledger now,"),
            std::string::npos)
      << Find(both, "MISSING_OWNERSHIP_FACTS")->message;
  // A policy counting owners from 10 % is not answered by a 25 % statement.
  p.when = Policy::When::kManufacture;
  p.control_threshold_bp = 1000;
  Judgement strict = Judge(p, "widely", "W-20");
  EXPECT_EQ(Problems(strict), std::set<std::string>{"MISSING_OWNERSHIP_FACTS"});
  EXPECT_NE(Find(strict, "MISSING_OWNERSHIP_FACTS")->message.find("threshold is above"),
            std::string::npos);
}

TEST_F(FactsPolicyTest, UnsettledJurisdictionNeedsARulingLoggedAfterTheDevice) {
  Policy p = LawPolicy();
  p.needs_ruling = {{"CN-NIL-2017", {"HK", "MO"}, "Does the NIL apply in Hong Kong?"}};
  Judgement none = Judge(p, "hkco", "H-24");
  EXPECT_EQ(none.verdict, Verdict::kUnverified);
  EXPECT_EQ(Problems(none), std::set<std::string>{"NEEDS_RULING"});
  const std::string msg = Find(none, "NEEDS_RULING")->message;
  for (const char* part : {"Org hkco (HK)", "whether hkco (HK) is subject to CN-NIL-2017",
                           "Does the NIL apply in Hong Kong?", "--org hkco --law CN-NIL-2017"}) {
    EXPECT_NE(msg.find(part), std::string::npos) << part << " in " << msg;
  }
  // Without the policy's needs_ruling, an HK org is simply not subject.
  EXPECT_EQ(Judge(LawPolicy(), "hkco", "H-24").verdict, Verdict::kTrusted);
  // The authority rules that it is subject, after the device was made.
  Later({records::RulingRecord(Day(2026, 2, 1), "hkco", "CN-NIL-2017", true, "Decision 1/2026")});
  const uint64_t subject = leaves_.size() - 2;
  Judgement ruled = Judge(p, "hkco", "H-24");
  EXPECT_EQ(Problems(ruled), std::set<std::string>{"DENIED_LAW"});
  EXPECT_NE(Find(ruled, "DENIED_LAW")->message.find("subject to CN-NIL-2017 by ruling #" +
                                                    std::to_string(subject)),
            std::string::npos);
  EXPECT_TRUE(Cites(Find(ruled, "DENIED_LAW"), subject));
  // A later ruling that it is not subject supersedes.
  Later({records::RulingRecord(Day(2026, 3, 1), "hkco", "CN-NIL-2017", false, "Decision 2/2026")});
  Judgement cleared = Judge(p, "hkco", "H-24");
  EXPECT_EQ(cleared.verdict, Verdict::kTrusted);
  EXPECT_NE(Find(cleared, "POLICY_PASSED")->message.find("not subject to CN-NIL-2017 by ruling"),
            std::string::npos);
}

TEST_F(FactsPolicyTest, PurposesInAndOutOfScope) {
  Policy p;
  p.name = "s889";
  p.denied_orgs = {"denied-maker", "soc-parent"};
  p.org_purposes["denied-maker"] = {"public-safety", "national-security"};
  // Not given: what the purpose-limited org would reject cannot be decided.
  Judgement unknown = JudgeFor(p, "denied-maker", "NOVA-24", "");
  EXPECT_EQ(Problems(unknown), std::set<std::string>{"PURPOSE_NEEDED"});
  EXPECT_NE(Find(unknown, "PURPOSE_NEEDED")->message.find("denies denied-maker only for use for "
                                                          "national-security, public-safety: give "
                                                          "--purpose"),
            std::string::npos);
  EXPECT_EQ(Problems(JudgeFor(p, "denied-maker", "NOVA-24", "public-safety")),
            std::set<std::string>{"DENIED_ORG"});
  Judgement shop = JudgeFor(p, "denied-maker", "NOVA-24", "commercial");
  EXPECT_EQ(shop.verdict, Verdict::kTrusted);
  ASSERT_NE(Find(shop, "OUT_OF_SCOPE"), nullptr);
  // An org denied for every use rejects whatever the purpose.
  EXPECT_EQ(Problems(JudgeFor(p, "clean", "DOME-24", "commercial")),
            std::set<std::string>{"DENIED_ORG"});
  // A whole policy limited to some uses.
  Policy law = LawPolicy();
  law.purposes = {"government-facility-security"};
  Judgement q = JudgeFor(law, "maker", "LV-24", "");
  EXPECT_EQ(Problems(q), std::set<std::string>{"PURPOSE_NEEDED"});
  EXPECT_EQ(JudgeFor(law, "maker", "LV-24", "government-facility-security").verdict,
            Verdict::kRejected);
  Judgement out = JudgeFor(law, "maker", "LV-24", "residential");
  EXPECT_EQ(out.verdict, Verdict::kTrusted);
  EXPECT_NE(Find(out, "OUT_OF_SCOPE"), nullptr);
}

TEST_F(FactsPolicyTest, EquipmentDatesAndComponentReach) {
  Policy p = LawPolicy();
  // RADIO-24 carries a radio of a CN-owned maker.
  EXPECT_EQ(Problems(Judge(p, "clean", "RADIO-24")), std::set<std::string>{"DENIED_LAW"});
  p.equipment = {pb::EQUIPMENT_KIND_TELECOMMUNICATIONS};
  EXPECT_NE(Find(Judge(p, "clean", "RADIO-24"), "OUT_OF_SCOPE"), nullptr);
  EXPECT_EQ(Judge(p, "clean", "RADIO-24").verdict, Verdict::kTrusted);
  p.equipment.clear();
  p.in_force_from = Day(2024, 3, 2);
  EXPECT_NE(Find(Judge(p, "clean", "RADIO-24"), "NOT_IN_FORCE"), nullptr);
  EXPECT_EQ(Judge(p, "clean", "RADIO-26").verdict, Verdict::kRejected);
  p.in_force_from = 0;
  // Components reached from 2025-12-26, radios only.
  p.component_reach = {Day(2025, 12, 26), {pb::COMPONENT_KIND_RADIO}};
  Judgement early = Judge(p, "clean", "RADIO-24");
  EXPECT_EQ(early.verdict, Verdict::kTrusted);
  EXPECT_NE(Find(early, "COMPONENTS_NOT_COVERED"), nullptr);
  EXPECT_EQ(Problems(Judge(p, "clean", "RADIO-26")), std::set<std::string>{"DENIED_LAW"});
  p.component_reach.kinds = {pb::COMPONENT_KIND_NETWORK_MODULE};
  EXPECT_EQ(Judge(p, "clean", "RADIO-26").verdict, Verdict::kTrusted);
  // DOME-24's SoC is not reached either (made before the reach).
  p.component_reach.kinds.clear();
  EXPECT_EQ(Judge(p, "clean", "DOME-24").verdict, Verdict::kTrusted);
}

}  // namespace
}  // namespace verifier
