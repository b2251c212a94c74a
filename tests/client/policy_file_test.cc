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
                "deny, applies_to, owners, require, missing_facts, judge_ownership_at)"},
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
                "3: judge_ownership_at must be one of manufacture, now, both, got 'always'"}),
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
