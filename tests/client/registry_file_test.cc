// Registry files (client/registry_file.h): the YAML schema, every mistake
// with its exact FILE:LINE message, and the plan against a ledger state built
// by the real rulebook (references, idempotence, corrections, overlaps and
// contradictions with the ledger's entries, the order records are logged in).
#include "client/registry_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "records/records.h"
#include "verifier/rules.h"

namespace client {
namespace {

namespace pb = provenance::v1;
using Status = verifier::Status;

constexpr char kHeader[] = "format: prov-registry/1\n";

// 2017-06-28, 2001-11-30, 2020-01-01, 2022-01-01 (UTC midnight).
constexpr int64_t k2017 = 1498608000, k2001 = 1007078400, k2020 = 1577836800, k2022 = 1640995200;

// A small good file; line numbers matter to the tests below.
constexpr char kGood[] = R"yaml(format: prov-registry/1
compiled: 2026-11-30
compiled_by: "a researcher"
status: compiled-from-public-sources
disclaimer: "not legal advice"
rulings:
  - org: hikvision
    law: US-NDAA-889
    subject: true
    source: "FCC covered list"
    reasoning: "named in the statute"
laws:
  - code: CN-NIL-2017
    name: "PRC National Intelligence Law (2017)"
    jurisdiction: CN
    source: "https://www.npc.gov.cn/"
  - {code: US-NDAA-889, name: "NDAA s.889", jurisdiction: US, source: "https://www.congress.gov/"}
orgs:
  - id: cetc
    name: "China Electronics Technology Group"
    country: CN
    laws: [CN-NIL-2017]
    state_owned: true
    source: "https://www.cetc.com.cn/"
  - id: hikvision
    name: "Hangzhou Hikvision Digital Technology Co., Ltd."
    country: CN
    aliases: [Hikvision, HiLook]
    source: "annual report 2023"
    note: "kept in the file only"
  - id: acme-uk
    name: "Acme UK Ltd"
    country: GB
    source: "Companies House"
facts:
  - org: hikvision
    law: CN-NIL-2017
    from: 2017-06-28
    source: "law in force"
  - org: hikvision
    state_owned: true
    from: 2001-11-30
    source: "annual report"
ownership:
  - owner: cetc
    owned: hikvision
    stake_bp: 3600
    control: true
    from: 2001-11-30
    source: "annual report 2023"
no_registrable_owner:
  - org: acme-uk
    threshold_bp: 2500
    from: 2020-01-01
    source: "Companies House PSC register"
)yaml";

std::string Err(const std::string& text) {
  auto r = ParseRegistry(text, "reg.yaml");
  if (r.ok()) return "(parsed)";
  return r.status().ToString();
}

// The rulebook state of a log: genesis (one authority key) and the records
// appended after it, each applied by the real rulebook.
class Ledger {
 public:
  Ledger() : key_(verifier::SigningKey::Generate()) {
    Append(records::GenesisRecord("test.example/log", {{"gov", key_.public_key()}}, 1));
  }
  // Returns the record's index.
  uint64_t Append(const pb::Record& r) {
    verifier::StateOverlay overlay(&state_);
    std::vector<const verifier::SigningKey*> keys;
    if (!r.has_genesis()) keys.push_back(&key_);
    Status s = verifier::ApplyRecord(overlay, records::SignRecordBytes(r, keys), size_);
    EXPECT_TRUE(s.ok()) << s.ToString();
    state_.Apply(overlay);
    return size_++;
  }
  void AppendPlan(const ImportPlan& plan) {
    for (const auto& p : plan.records) Append(p.record);
  }
  const verifier::MemoryState& state() const { return state_; }
  uint64_t size() const { return size_; }

 private:
  verifier::SigningKey key_;
  verifier::MemoryState state_;
  uint64_t size_ = 0;
};

Registry Parse(const std::string& text) {
  auto r = ParseRegistry(text, "reg.yaml");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Registry{};
}

std::string PlanErr(const std::string& text, const Ledger& ledger) {
  auto r = ParseRegistry(text, "reg.yaml");
  if (!r.ok()) return "parse: " + r.status().ToString();
  auto plan = PlanImport(*r, ledger.state(), ledger.size(), 1000);
  return plan.ok() ? "(planned)" : plan.status().ToString();
}

std::vector<std::string> Labels(const ImportPlan& plan) {
  std::vector<std::string> out;
  for (const auto& p : plan.records) out.push_back(std::to_string(p.line) + " " + p.label);
  return out;
}

TEST(RegistryFileTest, ParsesEveryKindWithItsLine) {
  Registry r = Parse(kGood);
  EXPECT_EQ(r.compiled, "2026-11-30");
  EXPECT_EQ(r.compiled_by, "a researcher");
  ASSERT_EQ(r.laws.size(), 2u);
  EXPECT_EQ(r.laws[0].line, 13);
  EXPECT_EQ(r.laws[1].line, 17);
  EXPECT_EQ(r.laws[1].record.law().jurisdiction(), "US");
  ASSERT_EQ(r.orgs.size(), 3u);
  const auto& cetc = r.orgs[0].record.organization();
  EXPECT_EQ(cetc.org_id(), "cetc");
  EXPECT_TRUE(cetc.state_owned());
  ASSERT_EQ(cetc.laws_size(), 1);
  EXPECT_EQ(cetc.source(), "https://www.cetc.com.cn/");
  EXPECT_EQ(r.orgs[1].record.organization().aliases_size(), 2);
  ASSERT_EQ(r.facts.size(), 2u);
  EXPECT_EQ(r.facts[0].line, 36);
  EXPECT_EQ(r.facts[0].record.org_fact().law(), "CN-NIL-2017");
  EXPECT_EQ(r.facts[0].record.org_fact().valid_from(), k2017);
  EXPECT_EQ(r.facts[0].record.org_fact().valid_until(), 0);
  EXPECT_TRUE(r.facts[1].record.org_fact().state_owned());
  ASSERT_EQ(r.ownership.size(), 1u);
  EXPECT_EQ(r.ownership[0].record.ownership().stake_bp(), 3600u);
  EXPECT_TRUE(r.ownership[0].record.ownership().control());
  EXPECT_EQ(r.ownership[0].record.ownership().valid_from(), k2001);
  ASSERT_EQ(r.no_owner.size(), 1u);
  EXPECT_EQ(r.no_owner[0].record.no_registrable_owner().threshold_bp(), 2500u);
  EXPECT_EQ(r.no_owner[0].record.no_registrable_owner().valid_from(), k2020);
  ASSERT_EQ(r.rulings.size(), 1u);
  EXPECT_EQ(r.rulings[0].line, 7);
  EXPECT_TRUE(r.rulings[0].record.ruling().subject());
  EXPECT_EQ(r.rulings[0].record.ruling().reasoning(), "named in the statute");
  EXPECT_EQ(r.size(), 10u);
}

TEST(RegistryFileTest, RefusesBadSyntaxAndTopLevel) {
  EXPECT_EQ(Err(""), "BAD_REGISTRY: reg.yaml:1: the registry file is empty");
  EXPECT_EQ(Err("format: [\n"),
            "BAD_REGISTRY: reg.yaml:2: not valid YAML: end of sequence flow not found");
  EXPECT_EQ(Err("- a\n"), "BAD_REGISTRY: reg.yaml:1: the top level must be a mapping of keys");
  EXPECT_EQ(Err("laws: []\n"), "BAD_REGISTRY: reg.yaml:1: the top level needs 'format'");
  EXPECT_EQ(Err("format: prov-registry/2\n"),
            "BAD_REGISTRY: reg.yaml:1: format must be prov-registry/1, got 'prov-registry/2'");
  EXPECT_EQ(Err(std::string(kHeader) + "lawz: []\n"),
            "BAD_REGISTRY: reg.yaml:2: unknown key 'lawz' in the top level (expected one of: "
            "format, compiled, compiled_by, status, disclaimer, laws, orgs, facts, ownership, "
            "no_registrable_owner, rulings)");
  EXPECT_EQ(Err(std::string(kHeader) + "laws: []\nlaws: []\n"),
            "BAD_REGISTRY: reg.yaml:3: key 'laws' in the top level is repeated (first on line 2)");
  EXPECT_EQ(Err(std::string(kHeader) + "compiled: 2026-13-01\n"),
            "BAD_REGISTRY: reg.yaml:2: compiled must be a date YYYY-MM-DD, got '2026-13-01'");
  EXPECT_EQ(Err(std::string(kHeader) + "orgs: {id: x}\n"),
            "BAD_REGISTRY: reg.yaml:2: orgs must be a list of entries");
  EXPECT_EQ(Err(std::string(kHeader) + "orgs:\n  - acme\n"),
            "BAD_REGISTRY: reg.yaml:3: an entry of orgs must be a mapping");
  EXPECT_EQ(Err(std::string(kHeader) + "rulings:\n"), "(parsed)");
}

TEST(RegistryFileTest, RefusesBadEntries) {
  const std::string org = std::string(kHeader) + "orgs:\n  - id: acme\n    name: Acme\n";
  EXPECT_EQ(Err(org + "    country: GB\n    source: x\n    colour: red\n"),
            "BAD_REGISTRY: reg.yaml:7: unknown key 'colour' in an org (expected one of: id, "
            "name, country, laws, state_owned, aliases, source, note)");
  EXPECT_EQ(Err(org + "    country: GB\n    source: x\n    name: Acme 2\n"),
            "BAD_REGISTRY: reg.yaml:7: key 'name' in an org is repeated (first on line 4)");
  EXPECT_EQ(Err(org + "    country: GB\n"), "BAD_REGISTRY: reg.yaml:3: an org needs 'source'");
  EXPECT_EQ(Err(org + "    country: GB\n    source: \"\"\n"),
            "BAD_REGISTRY: reg.yaml:6: source must not be empty");
  EXPECT_EQ(Err(org + "    country: XX\n    source: x\n"),
            "BAD_REGISTRY: reg.yaml:5: country 'XX' is not an ISO 3166-1 country code (did "
            "you mean 'AX', 'CX' or 'MX'?)");
  EXPECT_EQ(Err(org + "    country: gb\n    source: x\n"),
            "BAD_REGISTRY: reg.yaml:5: country must be an ISO 3166-1 alpha-2 code (two capital "
            "letters), got 'gb'");
  EXPECT_EQ(Err(org + "    country: GB\n    source: x\n    state_owned: yes\n"),
            "BAD_REGISTRY: reg.yaml:7: state_owned must be true or false, got 'yes'");
  EXPECT_EQ(Err(org + "    country: GB\n    source: x\n    laws: CN-NIL-2017\n"),
            "BAD_REGISTRY: reg.yaml:7: laws must be a list, e.g. [a, b]");
  EXPECT_EQ(Err(org + "    country: GB\n    source: x\n    laws: [A, A]\n"),
            "BAD_REGISTRY: reg.yaml:7: laws: 'A' is listed twice (first on line 7)");
  EXPECT_EQ(Err(org + "    country: GB\n    source: [x]\n"),
            "BAD_REGISTRY: reg.yaml:6: source must be text");
  EXPECT_EQ(Err(std::string(kHeader) + "orgs:\n  - {id: Acme, name: A, country: GB, source: x}\n"),
            "BAD_REGISTRY: reg.yaml:3: id must be an org id like 'acme-cam' ([a-z0-9][a-z0-9.-]*, "
            "at most 64), got 'Acme'");
  EXPECT_EQ(Err(std::string(kHeader) +
                "laws:\n  - {code: 'CN NIL', name: n, jurisdiction: CN, source: x}\n"),
            "BAD_REGISTRY: reg.yaml:3: code must be a law code like 'CN-NIL-2017' "
            "([A-Za-z0-9][A-Za-z0-9._-]*, at most 64), got 'CN NIL'");
  EXPECT_EQ(Err(std::string(kHeader) +
                "laws:\n  - {code: EU-GDPR, name: GDPR, jurisdiction: EU, source: x}\n"),
            "(parsed)");

  const std::string stake = std::string(kHeader) + "ownership:\n  - owner: a\n    owned: b\n";
  EXPECT_EQ(Err(stake + "    stake_bp: lots\n    from: 2020-01-01\n    source: x\n"),
            "BAD_REGISTRY: reg.yaml:5: stake_bp must be an integer from 0 to 10000 (basis points: "
            "2500 = 25 %), got 'lots'");
  EXPECT_EQ(Err(stake + "    stake_bp: 10001\n    from: 2020-01-01\n    source: x\n"),
            "BAD_REGISTRY: reg.yaml:5: stake_bp must be an integer from 0 to 10000 (basis points: "
            "2500 = 25 %), got '10001'");
  EXPECT_EQ(Err(stake + "    stake_bp: 100\n    from: 2024-02-30\n    source: x\n"),
            "BAD_REGISTRY: reg.yaml:6: from must be a date YYYY-MM-DD, got '2024-02-30'");
  EXPECT_EQ(Err(stake + "    stake_bp: 100\n    from: 30/01/2024\n    source: x\n"),
            "BAD_REGISTRY: reg.yaml:6: from must be a date YYYY-MM-DD, got '30/01/2024'");
  EXPECT_EQ(Err(stake + "    stake_bp: 100\n    from: 2022-01-01\n    until: 2020-01-01\n"
                        "    source: x\n"),
            "BAD_REGISTRY: reg.yaml:7: inverted window: until 2020-01-01 must be after from "
            "2022-01-01");
  EXPECT_EQ(Err(std::string(kHeader) + "ownership:\n  - {owner: a, owned: a, stake_bp: 1, from: "
                                       "2020-01-01, source: x}\n"),
            "BAD_REGISTRY: reg.yaml:3: an org cannot own itself (a)");

  const std::string fact = std::string(kHeader) +
                           "facts:\n  - org: a\n    from: 2020-01-01\n"
                           "    source: x\n";
  EXPECT_EQ(Err(fact),
            "BAD_REGISTRY: reg.yaml:3: a fact states exactly one of country, law and "
            "state_owned (this one states 0)");
  EXPECT_EQ(Err(fact + "    country: GB\n    state_owned: false\n"),
            "BAD_REGISTRY: reg.yaml:3: a fact states exactly one of country, law and "
            "state_owned (this one states 2)");
  EXPECT_EQ(Err(fact + "    country: GB\n    until: 2020-01-01\n"),
            "BAD_REGISTRY: reg.yaml:7: inverted window: until 2020-01-01 must be after from "
            "2020-01-01");
  EXPECT_EQ(Err(std::string(kHeader) + "no_registrable_owner:\n  - {org: a, threshold_bp: 0, "
                                       "from: 2020-01-01, source: x}\n"),
            "BAD_REGISTRY: reg.yaml:3: threshold_bp must be an integer from 1 to 10000 (basis "
            "points: 2500 = 25 %), got '0'");
  EXPECT_EQ(
      Err(std::string(kHeader) + "rulings:\n  - {org: a, law: L, subject: maybe, source: x}\n"),
      "BAD_REGISTRY: reg.yaml:3: subject must be true or false, got 'maybe'");
  EXPECT_EQ(Err(std::string(kHeader) + "rulings:\n  - {org: a, law: L, subject: true}\n"),
            "BAD_REGISTRY: reg.yaml:3: a ruling needs 'source'");
}

TEST(RegistryFileTest, RefusesConflictsBetweenItsOwnEntriesNamingBothLines) {
  const std::string h = kHeader;
  EXPECT_EQ(Err(h + "orgs:\n  - {id: a, name: A, country: GB, source: x}\n"
                    "  - {id: a, name: A2, country: GB, source: x}\n"),
            "BAD_REGISTRY: reg.yaml:4: org a is defined twice (first on line 3)");
  EXPECT_EQ(Err(h + "laws:\n  - {code: L, name: A, jurisdiction: GB, source: x}\n"
                    "  - {code: L, name: A, jurisdiction: GB, source: y}\n"),
            "BAD_REGISTRY: reg.yaml:4: law L is defined twice (first on line 3)");
  EXPECT_EQ(Err(h + "rulings:\n  - {org: a, law: L, subject: true, source: x}\n"
                    "  - {org: a, law: L, subject: false, source: y}\n"),
            "BAD_REGISTRY: reg.yaml:4: the ruling on a under L is given twice (first on line 3)");
  EXPECT_EQ(Err(h + "facts:\n  - {org: a, country: CN, from: 2001-11-30, source: x}\n"
                    "  - {org: a, country: GB, from: 2020-01-01, until: 2022-01-01, source: x}\n"),
            "FACT_OVERLAPS: reg.yaml:4: the country of a from 2020-01-01 until 2022-01-01 "
            "overlaps the fact on line 3 (from 2001-11-30 on)");
  // Different topics do not overlap.
  EXPECT_EQ(Err(h + "facts:\n  - {org: a, country: CN, from: 2001-11-30, source: x}\n"
                    "  - {org: a, state_owned: true, from: 2020-01-01, source: x}\n"),
            "(parsed)");
  EXPECT_EQ(Err(h + "orgs:\n  - {id: a, name: A, country: GB, laws: [L], source: x}\n"
                    "facts:\n  - {org: a, law: L, from: 2020-01-01, source: x}\n"),
            "FACT_OVERLAPS: reg.yaml:5: the fact dates law L for a, but the org on line 3 lists "
            "it in `laws` (binding at all times): keep one of them");
  EXPECT_EQ(Err(h + "ownership:\n"
                    "  - {owner: a, owned: b, stake_bp: 100, from: 2001-11-30, until: 2020-01-02, "
                    "source: x}\n"
                    "  - {owner: a, owned: b, stake_bp: 200, from: 2020-01-01, source: x}\n"),
            "OWNERSHIP_OVERLAPS: reg.yaml:4: the stake of a in b from 2020-01-01 on overlaps the "
            "stake on line 3 (from 2001-11-30 until 2020-01-02)");
  EXPECT_EQ(Err(h + "no_registrable_owner:\n"
                    "  - {org: a, threshold_bp: 2500, from: 2020-01-01, source: x}\n"
                    "  - {org: a, threshold_bp: 5000, from: 2022-01-01, source: x}\n"),
            "FACT_OVERLAPS: reg.yaml:4: the no-registrable-owner statement for a from 2022-01-01 "
            "on overlaps the statement on line 3 (from 2020-01-01 on)");
  EXPECT_EQ(Err(h + "ownership:\n"
                    "  - {owner: a, owned: b, stake_bp: 3000, from: 2001-11-30, source: x}\n"
                    "no_registrable_owner:\n"
                    "  - {org: b, threshold_bp: 2500, from: 2020-01-01, source: x}\n"),
            "CONTRADICTS_OWNERSHIP: reg.yaml:3: the stake of a in b (3000 bp, from 2001-11-30 on) "
            "contradicts the statement on line 5 (no owner of b at or above 2500 bp from "
            "2020-01-01 on)");
  // A stake below the threshold, without control, or outside the window is fine.
  EXPECT_EQ(Err(h + "ownership:\n"
                    "  - {owner: a, owned: b, stake_bp: 2000, from: 2001-11-30, source: x}\n"
                    "  - {owner: c, owned: b, stake_bp: 9000, control: true, from: 2001-11-30, "
                    "until: 2020-01-01, source: x}\n"
                    "no_registrable_owner:\n"
                    "  - {org: b, threshold_bp: 2500, from: 2020-01-01, source: x}\n"),
            "(parsed)");
}

TEST(RegistryFileTest, PlansInDependencyOrderAndIsIdempotent) {
  Ledger ledger;
  auto r = ParseRegistry(kGood, "reg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto plan = PlanImport(*r, ledger.state(), ledger.size(), 1000);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Labels(*plan),
            (std::vector<std::string>{
                "13 law CN-NIL-2017", "17 law US-NDAA-889", "19 organization cetc",
                "25 organization hikvision", "31 organization acme-uk",
                "36 org fact hikvision law CN-NIL-2017 from 2017-06-28 on",
                "40 org fact hikvision state-owned yes from 2001-11-30 on",
                "45 ownership cetc in hikvision 3600 bp with control from 2001-11-30 on",
                "52 no-registrable-owner acme-uk (2500 bp) from 2020-01-01 on",
                "7 ruling hikvision subject to US-NDAA-889"}))
      << "laws, orgs, facts, ownership, no-owner statements, rulings";
  for (const auto& p : plan->records) {
    EXPECT_EQ(p.action, PlannedRecord::Action::kNew) << p.label;
    EXPECT_EQ(p.record.issued_at(), 1000);
  }
  EXPECT_EQ(plan->records[2].name, "org-cetc");
  EXPECT_EQ(plan->records[5].name, "fact-hikvision-law-CN-NIL-2017-2017-06-28");
  EXPECT_EQ(plan->records[6].name, "fact-hikvision-state-owned-2001-11-30");
  EXPECT_EQ(plan->records[7].name, "stake-cetc-hikvision-2001-11-30");
  EXPECT_TRUE(plan->unchanged.empty());
  EXPECT_FALSE(plan->records[3].record.organization().aliases().empty());

  ledger.AppendPlan(*plan);
  auto again = PlanImport(*r, ledger.state(), ledger.size(), 2000);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->records.empty()) << Labels(*again)[0];
  EXPECT_EQ(again->unchanged.size(), 10u);
}

TEST(RegistryFileTest, ChangedEntriesSupersedeOrCorrectTheLedgers) {
  Ledger ledger;
  ledger.Append(records::OrganizationRecord(1, "acme", "Acme", "GB"));
  const uint64_t fact = ledger.Append(records::OrgCountryFact(1, "acme", "CN", k2001, 0, "old"));
  const uint64_t ruling_law = ledger.Append(records::LawRecord(1, "L", "A law", "GB", "x"));
  const uint64_t ruling = ledger.Append(records::RulingRecord(1, "acme", "L", true, "first"));
  (void)ruling_law;
  // The file closes the CN window in 2020 and opens GB from then (listed
  // first, logged after the correction that makes room for it), renames
  // the org and reverses the ruling.
  const std::string text = std::string(kHeader) +
                           "orgs:\n  - {id: acme, name: Acme Ltd, country: GB, source: s}\n"
                           "facts:\n"
                           "  - {org: acme, country: GB, from: 2020-01-01, source: s}\n"
                           "  - {org: acme, country: CN, from: 2001-11-30, until: 2020-01-01, "
                           "source: s}\n"
                           "rulings:\n  - {org: acme, law: L, subject: false, source: s}\n";
  auto r = ParseRegistry(text, "reg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto plan = PlanImport(*r, ledger.state(), ledger.size(), 1000);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->records.size(), 4u) << ::testing::PrintToString(Labels(*plan));
  EXPECT_EQ(plan->records[0].action, PlannedRecord::Action::kSupersedes);
  EXPECT_EQ(ActionText(plan->records[0]), "supersedes #1");
  EXPECT_EQ(plan->records[1].line, 6) << "the shortening correction first";
  EXPECT_EQ(ActionText(plan->records[1]), "corrects #" + std::to_string(fact));
  EXPECT_EQ(plan->records[2].line, 5);
  EXPECT_EQ(ActionText(plan->records[2]), "new");
  EXPECT_EQ(ActionText(plan->records[3]), "supersedes #" + std::to_string(ruling));
  ledger.AppendPlan(*plan);  // the rulebook accepts them in this order
  auto again = PlanImport(*r, ledger.state(), ledger.size(), 2000);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->records.empty());
}

TEST(RegistryFileTest, RefusesWhatTheLedgerContradicts) {
  Ledger ledger;
  ledger.Append(records::LawRecord(1, "L", "A law", "GB", "x"));
  ledger.Append(records::OrganizationRecord(1, "acme", "Acme", "GB"));
  ledger.Append(records::OrganizationRecord(1, "bound", "Bound", "GB", {"L"}));
  ledger.Append(records::OrganizationRecord(1, "owner", "Owner", "GB"));
  const uint64_t fact = ledger.Append(records::OrgCountryFact(1, "acme", "CN", k2001, 0, "old"));
  const uint64_t none = ledger.Append(records::NoRegistrableOwnerRecord(1, "acme", 2500, k2020, 0, "psc"));
  pb::Record stake = records::OwnershipRecord(1, "owner", "bound", 5000, false, k2001, 0);
  const uint64_t stake_index = ledger.Append(stake);
  const std::string h = kHeader;

  EXPECT_EQ(
      PlanErr(h + "facts:\n  - {org: nobody, country: GB, from: 2020-01-01, source: s}\n", ledger),
      "UNKNOWN_ORG: reg.yaml:3: the fact's org nobody is defined neither in this file nor "
      "in the ledger (tree size 8)");
  EXPECT_EQ(PlanErr(h + "orgs:\n  - {id: nobodyy, name: N, country: GB, source: s}\n"
                        "rulings:\n  - {org: nobody, law: L, subject: true, source: s}\n",
                    ledger),
            "UNKNOWN_ORG: reg.yaml:5: the ruled org nobody is defined neither in this file nor "
            "in the ledger (tree size 8) (did you mean 'nobodyy'?)");
  EXPECT_EQ(PlanErr(h + "ownership:\n  - {owner: acme, owned: ghost, stake_bp: 1, from: "
                        "2020-01-01, source: s}\n",
                    ledger),
            "UNKNOWN_ORG: reg.yaml:3: the owned org ghost is defined neither in this file nor in "
            "the ledger (tree size 8)");
  EXPECT_EQ(PlanErr(h + "orgs:\n  - {id: acme, name: A, country: GB, laws: [CN-NIL], source: "
                        "s}\n",
                    ledger),
            "DANGLING_REFERENCE: reg.yaml:3: org acme names law CN-NIL, which is defined neither "
            "in this file nor in the ledger (tree size 8): add it under `laws`");
  EXPECT_EQ(PlanErr(h + "rulings:\n  - {org: acme, law: M, subject: true, source: s}\n", ledger),
            "DANGLING_REFERENCE: reg.yaml:3: the ruling on acme names law M, which is defined "
            "neither in this file nor in the ledger (tree size 8): add it under `laws`");
  EXPECT_EQ(
      PlanErr(h + "facts:\n  - {org: acme, country: GB, from: 2020-01-01, source: s}\n", ledger),
      "FACT_OVERLAPS: reg.yaml:3: the country of acme from 2020-01-01 on overlaps org fact "
      "#" +
          std::to_string(fact) +
          " in the ledger (from 2001-11-30 on); correct that one in the file (same from) "
          "to close its window");
  EXPECT_EQ(PlanErr(h + "no_registrable_owner:\n  - {org: acme, threshold_bp: 5000, from: "
                        "2022-01-01, source: s}\n",
                    ledger),
            "FACT_OVERLAPS: reg.yaml:3: the no-registrable-owner statement for acme from "
            "2022-01-01 on overlaps statement #" +
                std::to_string(none) +
                " in the ledger (from 2020-01-01 on); correct that one in the file (same from) "
                "to close its window");
  EXPECT_EQ(PlanErr(h + "ownership:\n  - {owner: owner, owned: bound, stake_bp: 100, from: "
                        "2022-01-01, source: s}\n",
                    ledger),
            "OWNERSHIP_OVERLAPS: reg.yaml:3: the stake of owner in bound from 2022-01-01 on "
            "overlaps ownership #" +
                std::to_string(stake_index) +
                " in the ledger (from 2001-11-30 on); correct that one in the file (same from) "
                "to close its window");
  EXPECT_EQ(PlanErr(h + "ownership:\n  - {owner: owner, owned: acme, stake_bp: 2500, from: "
                        "2019-01-01, source: s}\n",
                    ledger),
            "CONTRADICTS_OWNERSHIP: reg.yaml:3: the stake of owner in acme (2500 bp, from "
            "2019-01-01 on) contradicts statement #" +
                std::to_string(none) +
                " in the ledger (no owner of acme at or above 2500 bp from 2020-01-01 on)");
  EXPECT_EQ(PlanErr(h + "no_registrable_owner:\n  - {org: bound, threshold_bp: 2500, from: "
                        "2022-01-01, source: s}\n",
                    ledger),
            "CONTRADICTS_OWNERSHIP: reg.yaml:3: no owner of bound at or above 2500 bp from "
            "2022-01-01 on contradicts ownership #" +
                std::to_string(stake_index) +
                " in the ledger: the stake of owner in bound (5000 bp, from 2001-11-30 on)");
  // Closing the stake in the same file makes room for the statement.
  EXPECT_EQ(PlanErr(h + "ownership:\n  - {owner: owner, owned: bound, stake_bp: 5000, from: "
                        "2001-11-30, until: 2022-01-01, source: s}\n"
                        "no_registrable_owner:\n  - {org: bound, threshold_bp: 2500, from: "
                        "2022-01-01, source: s}\n",
                    ledger),
            "(planned)");
  EXPECT_EQ(PlanErr(h + "facts:\n  - {org: bound, law: L, from: 2022-01-01, source: s}\n", ledger),
            "FACT_OVERLAPS: reg.yaml:3: the fact dates law L for bound, but organization #3 in "
            "the ledger lists it as binding at all times: add the org to the file without it "
            "(its record supersedes)");
  // ... which is what the file then does.
  EXPECT_EQ(PlanErr(h + "orgs:\n  - {id: bound, name: Bound, country: GB, source: s}\n"
                        "facts:\n  - {org: bound, law: L, from: 2022-01-01, source: s}\n",
                    ledger),
            "(planned)");
  (void)k2022;
}

}  // namespace
}  // namespace client
