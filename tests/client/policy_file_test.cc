// client/policy_file.h: the shipped policies parse to what they say,
// omitted keys take the documented defaults, and every kind of mistake is
// BAD_POLICY with its line number and a message naming the key.
#include "client/policy_file.h"

#include <gtest/gtest.h>

#include <string>

namespace client {
namespace {

using verifier::Policy;
using verifier::Role;

TEST(PolicyFileTest, UkSensitiveSite) {
  auto p = LoadPolicy(PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "uk-sensitive-site");
  EXPECT_NE(p->source.find("HCWS386"), std::string::npos);
  EXPECT_EQ(p->denied_laws, std::set<std::string>{"CN-NIL-2017"});
  EXPECT_TRUE(p->denied_orgs.empty());
  EXPECT_EQ(p->applies_to,
            (std::set<Role>{Role::kManufacturer, Role::kBrand, Role::kComponentMaker}));
  EXPECT_TRUE(p->include_owners);
  EXPECT_EQ(p->control_threshold_bp, 2500u);
  EXPECT_TRUE(p->required.released_firmware);
  EXPECT_FALSE(p->required.attestation);
  EXPECT_EQ(p->missing_facts, Policy::MissingFacts::kUnverified);
  EXPECT_EQ(p->when, Policy::When::kBoth);
}

TEST(PolicyFileTest, Ndaa889) {
  auto p = LoadPolicy(PROV_SOURCE_DIR "/policies/ndaa-889.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "ndaa-889");
  EXPECT_NE(p->source.find("115-232"), std::string::npos);
  EXPECT_EQ(p->denied_orgs,
            (std::set<std::string>{"huawei", "zte", "hytera", "hikvision", "dahua"}));
  EXPECT_TRUE(p->denied_laws.empty());
  EXPECT_TRUE(p->affiliates);  // "any subsidiary or affiliate"
  EXPECT_TRUE(p->required.released_firmware);
}

TEST(PolicyFileTest, Ndaa889LimitsTheThreeVideoMakersToItsPurposes) {
  auto p = LoadPolicy(PROV_SOURCE_DIR "/policies/ndaa-889.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::set<std::string> uses = {"public-safety", "government-facility-security",
                                      "critical-infrastructure-security", "national-security"};
  EXPECT_EQ(p->org_purposes.size(), 3u);
  for (const char* org : {"hytera", "hikvision", "dahua"}) EXPECT_EQ(p->org_purposes.at(org), uses);
  EXPECT_FALSE(p->org_purposes.count("huawei"));
  EXPECT_TRUE(p->purposes.empty());
}

TEST(PolicyFileTest, FccCoveredListReachesRadiosFromDecember2025) {
  auto p = LoadPolicy(PROV_SOURCE_DIR "/policies/fcc-covered-list.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(verifier::UtcDate(p->in_force_from), "2023-02-06");
  EXPECT_EQ(verifier::UtcDate(p->component_reach.from), "2025-12-26");
  EXPECT_EQ(p->component_reach.kinds,
            (std::set<int>{provenance::v1::COMPONENT_KIND_RADIO,
                           provenance::v1::COMPONENT_KIND_NETWORK_MODULE}));
  EXPECT_NE(p->source.find("FCC 25-71"), std::string::npos);
}

TEST(PolicyFileTest, NsCmicDoesNotExtendToSubsidiaries) {
  auto p = LoadPolicy(PROV_SOURCE_DIR "/policies/ns-cmic.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->include_owners);
  EXPECT_FALSE(p->affiliates);
  EXPECT_TRUE(p->denied_orgs.count("hikvision"));
}

TEST(PolicyFileTest, UkPolicyAsksForARulingOnHongKongAndMacau) {
  auto p = LoadPolicy(PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->needs_ruling.size(), 1u);
  EXPECT_EQ(p->needs_ruling[0].law, "CN-NIL-2017");
  EXPECT_EQ(p->needs_ruling[0].jurisdictions, (std::set<std::string>{"HK", "MO"}));
  EXPECT_NE(p->needs_ruling[0].question.find("Annex III"), std::string::npos);
}

TEST(PolicyFileTest, ScopeKeysAreRead) {
  auto p = ParsePolicy(
      "name: p\ndeny:\n  laws: [L]\n  orgs: [a, {org: b, purposes: [public-safety]}]\n"
      "scope:\n  purposes: [national-security, other]\n  equipment: [telecommunications]\n"
      "  in_force_from: 2023-02-06\n  component_reach: {from: 2025-12-26, kinds: [radio]}\n"
      "needs_ruling:\n  - {law: L, jurisdictions: [HK, MO], question: 'q?'}\n",
      "scope.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->denied_orgs, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(p->org_purposes.size(), 1u);
  EXPECT_EQ(p->org_purposes.at("b"), std::set<std::string>{"public-safety"});
  EXPECT_EQ(p->where.at("deny.orgs/b"), "scope.yaml:4");
  EXPECT_EQ(p->purposes, (std::set<std::string>{"national-security", "other"}));
  EXPECT_EQ(p->equipment, std::set<int>{provenance::v1::EQUIPMENT_KIND_TELECOMMUNICATIONS});
  EXPECT_EQ(p->in_force_from, 1675641600);
  EXPECT_EQ(p->component_reach.from, 1766707200);
  ASSERT_EQ(p->needs_ruling.size(), 1u);
  EXPECT_EQ(p->needs_ruling[0].question, "q?");
}

TEST(PolicyFileTest, OmittedKeysTakeTheDefaults) {
  auto p = ParsePolicy("name: minimal\ndeny:\n  countries: [KP]\n", "min.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const Policy d;
  EXPECT_EQ(p->denied_countries, std::set<std::string>{"KP"});
  EXPECT_EQ(p->applies_to, d.applies_to);
  EXPECT_EQ(p->include_owners, d.include_owners);
  EXPECT_EQ(p->control_threshold_bp, d.control_threshold_bp);
  EXPECT_EQ(p->control_flag_counts, d.control_flag_counts);
  EXPECT_EQ(p->state_owned_counts, d.state_owned_counts);
  EXPECT_EQ(p->affiliates, d.affiliates);
  EXPECT_FALSE(p->affiliates);
  EXPECT_EQ(p->required.attestation, d.required.attestation);
  EXPECT_EQ(p->required.released_firmware, d.required.released_firmware);
  EXPECT_EQ(p->required.custody_to_buyer, d.required.custody_to_buyer);
  EXPECT_EQ(p->required.not_revoked, d.required.not_revoked);
  EXPECT_EQ(p->missing_facts, d.missing_facts);
  EXPECT_EQ(p->when, d.when);
}

TEST(PolicyFileTest, EverySettingIsRead) {
  auto p = ParsePolicy(R"(name: strict
deny: {orgs: [a], countries: [CN, RU], laws: [L1]}
applies_to: [custodian]
owners: {include: true, control_threshold_bp: 5001, control_flag_counts: false, state_owned_counts: true, affiliates: true}
require: {attestation: true, released_firmware: true, custody_to_buyer: false, not_revoked: false}
missing_facts: reject
judge_ownership_at: manufacture
)",
                       "strict.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->applies_to, std::set<Role>{Role::kCustodian});
  EXPECT_TRUE(p->include_owners);
  EXPECT_TRUE(p->affiliates);
  EXPECT_EQ(p->control_threshold_bp, 5001u);
  EXPECT_FALSE(p->control_flag_counts);
  EXPECT_TRUE(p->state_owned_counts);
  EXPECT_TRUE(p->required.attestation);
  EXPECT_FALSE(p->required.custody_to_buyer);
  EXPECT_FALSE(p->required.not_revoked);
  EXPECT_EQ(p->missing_facts, Policy::MissingFacts::kReject);
  EXPECT_EQ(p->when, Policy::When::kManufacture);
  EXPECT_EQ(p->denied_countries, (std::set<std::string>{"CN", "RU"}));
  auto off = ParsePolicy("name: p\ndeny: {laws: [L]}\nowners: {include: false}\n", "off.yaml");
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->include_owners);
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* want;  // the whole message after "bad.yaml:"
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadPolicyTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadPolicyTest, IsRefusedWithLineAndReason) {
  auto p = ParsePolicy(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), verifier::Code::kInvalidArgument);
  EXPECT_EQ(p.status().reason(), "BAD_POLICY");
  EXPECT_EQ(p.status().message(), std::string("bad.yaml:") + GetParam().want);
}

constexpr char kHead[] = "name: p\ndeny:\n  laws: [L]\n";  // three good lines

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPolicyTest,
    ::testing::Values(
        BadCase{"syntax", "name: p\ndeny:\n  laws: [L\n",
                "4: not valid YAML: end of sequence flow not found"},
        BadCase{"empty", "", "1: the policy file is empty"},
        BadCase{"comments_only", "# nothing\n", "1: the policy file is empty"},
        BadCase{"not_a_mapping", "- a\n- b\n", "1: the top level must be a mapping of keys"},
        BadCase{"unknown_top_key", "name: p\ndeny: {laws: [L]}\naplies_to: [brand]\n",
                "3: unknown key 'aplies_to' under top level (expected one of: name, source, "
                "deny, applies_to, owners, require, missing_facts, judge_ownership_at, scope, "
                "needs_ruling)"},
        BadCase{"unknown_nested_key", "name: p\ndeny:\n  laws: [L]\n  law: [M]\n",
                "4: unknown key 'law' under deny (expected one of: laws, countries, orgs)"},
        BadCase{"duplicate_key", "name: p\ndeny: {laws: [L]}\nname: q\n",
                "3: key 'name' under top level is repeated (first on line 1)"},
        BadCase{"missing_name", "deny: {laws: [L]}\n", "1: the policy needs a `name`"},
        BadCase{"bad_name", "name: UK Site\ndeny: {laws: [L]}\n",
                "1: name must look like 'uk-sensitive-site' ([a-z0-9][a-z0-9.-]*), got 'UK "
                "Site'"},
        BadCase{"nothing_denied", "name: p\ndeny: {laws: []}\n",
                "1: the policy denies nothing: give deny.laws, deny.countries or deny.orgs"},
        BadCase{"deny_not_a_map", "name: p\ndeny: [L]\n", "2: deny must be a mapping of keys"},
        BadCase{"list_not_a_list", "name: p\ndeny:\n  laws: CN-NIL-2017\n",
                "3: deny.laws must be a list, e.g. [a, b]"},
        BadCase{"bad_country", "name: p\ndeny:\n  countries:\n    - CN\n    - China\n",
                "5: deny.countries: 'China' is not an ISO 3166-1 alpha-2 code (two capital "
                "letters)"},
        BadCase{"duplicate_entry", "name: p\ndeny:\n  orgs:\n    - zte\n    - zte\n",
                "5: deny.orgs: 'zte' is listed twice (first on line 4)"},
        BadCase{"unknown_role", "name: p\ndeny: {laws: [L]}\napplies_to: [maker]\n",
                "3: applies_to: 'maker' is not a role (manufacturer, brand, component_maker, "
                "custodian)"},
        BadCase{"empty_roles", "name: p\ndeny: {laws: [L]}\napplies_to: []\n",
                "3: applies_to must name at least one role"},
        BadCase{"bool_type", "name: p\ndeny: {laws: [L]}\nowners:\n  include: yes please\n",
                "4: owners.include must be true or false, got 'yes please'"},
        BadCase{"affiliates_type", "name: p\ndeny: {orgs: [o]}\nowners:\n  affiliates: all\n",
                "4: owners.affiliates must be true or false, got 'all'"},
        BadCase{"affiliates_without_orgs",
                "name: p\ndeny: {laws: [L]}\nowners:\n  affiliates: true\n",
                "4: owners.affiliates needs owners.include and at least one deny.orgs entry"},
        BadCase{"affiliates_without_owners",
                "name: p\ndeny: {orgs: [o]}\nowners: {include: false, affiliates: true}\n",
                "3: owners.affiliates needs owners.include and at least one deny.orgs entry"},
        BadCase{"threshold_zero", "name: p\ndeny: {laws: [L]}\nowners: {control_threshold_bp: 0}\n",
                "3: owners.control_threshold_bp must be an integer from 1 to 10000 (basis "
                "points: 2500 = 25 %), got '0'"},
        BadCase{"threshold_too_big",
                "name: p\ndeny: {laws: [L]}\nowners: {control_threshold_bp: 10001}\n",
                "3: owners.control_threshold_bp must be an integer from 1 to 10000 (basis "
                "points: 2500 = 25 %), got '10001'"},
        BadCase{"threshold_percent",
                "name: p\ndeny: {laws: [L]}\nowners: {control_threshold_bp: 25%}\n",
                "3: owners.control_threshold_bp must be an integer from 1 to 10000 (basis "
                "points: 2500 = 25 %), got '25%'"},
        BadCase{"threshold_fraction",
                "name: p\ndeny: {laws: [L]}\nowners: {control_threshold_bp: 25.5}\n",
                "3: owners.control_threshold_bp must be an integer from 1 to 10000 (basis "
                "points: 2500 = 25 %), got '25.5'"},
        BadCase{"require_unknown", "name: p\ndeny: {laws: [L]}\nrequire:\n  firmware: true\n",
                "4: unknown key 'firmware' under require (expected one of: attestation, "
                "released_firmware, custody_to_buyer, not_revoked, camera_identity)"},
        BadCase{"missing_facts_value", "name: p\ndeny: {laws: [L]}\nmissing_facts: ignore\n",
                "3: missing_facts must be one of unverified, reject, got 'ignore'"},
        BadCase{"when_value", "name: p\ndeny: {laws: [L]}\njudge_ownership_at: always\n",
                "3: judge_ownership_at must be one of manufacture, now, both, got 'always'"},
        BadCase{"unknown_purpose", "name: p\ndeny: {laws: [L]}\nscope:\n  purposes: [public-safty]\n",
                "4: scope.purposes: 'public-safty' is not a purpose (public-safety, "
                "government-facility-security, critical-infrastructure-security, "
                "national-security, commercial, residential, other) (did you mean "
                "'public-safety'?)"},
        BadCase{"empty_purposes", "name: p\ndeny: {laws: [L]}\nscope: {purposes: []}\n",
                "3: scope.purposes must name at least one purpose"},
        BadCase{"org_purpose_unknown",
                "name: p\ndeny:\n  orgs:\n    - {org: hikvision, purposes: [shops]}\n",
                "4: deny.orgs purposes: 'shops' is not a purpose (public-safety, "
                "government-facility-security, critical-infrastructure-security, "
                "national-security, commercial, residential, other)"},
        BadCase{"org_entry_key", "name: p\ndeny:\n  orgs:\n    - {org: a, use: [other]}\n",
                "4: unknown key 'use' under a deny.orgs entry (expected one of: org, purposes)"},
        BadCase{"org_entry_without_org", "name: p\ndeny:\n  orgs:\n    - {purposes: [other]}\n",
                "4: a deny.orgs entry needs `org`"},
        BadCase{"org_twice_with_purposes",
                "name: p\ndeny:\n  orgs:\n    - a\n    - {org: a, purposes: [other]}\n",
                "5: deny.orgs: 'a' is listed twice (first on line 4)"},
        BadCase{"equipment_kind", "name: p\ndeny: {laws: [L]}\nscope: {equipment: [cameras]}\n",
                "3: scope.equipment: 'cameras' is not an equipment kind (video-surveillance, "
                "telecommunications)"},
        BadCase{"in_force_date", "name: p\ndeny: {laws: [L]}\nscope: {in_force_from: 2023-02-30}\n",
                "3: scope.in_force_from must be a date YYYY-MM-DD, got '2023-02-30'"},
        BadCase{"reach_kind",
                "name: p\ndeny: {laws: [L]}\nscope:\n  component_reach:\n    kinds: [wifi]\n",
                "5: scope.component_reach.kinds: 'wifi' is not a component kind (image_sensor, "
                "lens, memory, network_module, other, power, radio, secure_element, soc, "
                "storage)"},
        BadCase{"ruling_law_not_denied",
                "name: p\ndeny: {laws: [L]}\nneeds_ruling:\n  - law: M\n    jurisdictions: [HK]\n"
                "    question: q\n",
                "4: needs_ruling: law 'M' is not in deny.laws, so a ruling on it would change "
                "nothing"},
        BadCase{"ruling_bad_country",
                "name: p\ndeny: {laws: [L]}\nneeds_ruling:\n  - law: L\n    jurisdictions: [Hong Kong]\n"
                "    question: q\n",
                "5: needs_ruling jurisdictions: 'Hong Kong' is not an ISO 3166-1 alpha-2 code "
                "(two capital letters)"},
        BadCase{"ruling_without_question",
                "name: p\ndeny: {laws: [L]}\nneeds_ruling:\n  - law: L\n    jurisdictions: [HK]\n",
                "4: a needs_ruling entry needs law, jurisdictions and question"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyFileTest, MissingFileIsNotFound) {
  auto p = LoadPolicy("/nonexistent/policy.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "POLICY_NOT_FOUND");
  EXPECT_EQ(p.status().message(), "cannot read policy file /nonexistent/policy.yaml");
}

TEST(PolicyFileTest, ShippedHeadIsValid) {
  // The prefix the bad cases build on is itself a valid policy.
  EXPECT_TRUE(ParsePolicy(kHead, "head.yaml").ok());
}

}  // namespace
}  // namespace client
