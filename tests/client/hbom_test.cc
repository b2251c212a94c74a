// CycloneDX 1.6 hardware BOMs (client/hbom.h), without a ledger: parsing the
// camera fixture, planning an import against a hand-made LedgerView, every
// refusal with its JSON pointer, and export -> parse -> plan giving back the
// same DeviceModel.
#include "client/hbom.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using client::hbom::Bom;
using client::hbom::LedgerView;
using client::hbom::Problem;
using json = nlohmann::json;
namespace hbom = client::hbom;
namespace pb = provenance::v1;

std::string Fixture() {
  std::ifstream in(std::string(PROV_SOURCE_DIR) +
                   "/tests/testdata/cyclonedx/camera-ac100.cdx.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Problems(const std::vector<Problem>& ps) {
  std::string out;
  for (const auto& p : ps) out += "  " + p.ToString() + "\n";
  return out;
}

pb::Component Comp(const std::string& maker, const std::string& part, pb::ComponentKind kind,
                   const std::string& country) {
  pb::Component c;
  c.set_maker_org(maker);
  c.set_part_number(part);
  c.set_kind(kind);
  c.set_country_of_origin(country);
  return c;
}

class HbomTest : public ::testing::Test {
 protected:
  // The ledger of the fixture: four orgs, the three parts other makers
  // registered.
  LedgerView Ledger() {
    LedgerView v;
    v.orgs = {{"acme-cam", "Acme Camera Ltd", {"Acme"}},
              {"orion-micro", "Orion Micro", {}},
              {"lumen-img", "Lumen Imaging KK", {"Lumen"}},
              {"nordflash", "Nordflash AS", {}}};
    v.components[{"orion-micro", "SC-3"}] = {
        Comp("orion-micro", "SC-3", pb::COMPONENT_KIND_SOC, "CN"), 7};
    v.components[{"lumen-img", "LX-415"}] = {
        Comp("lumen-img", "LX-415", pb::COMPONENT_KIND_IMAGE_SENSOR, "JP"), 9};
    v.components[{"nordflash", "NF25Q128"}] = {
        Comp("nordflash", "NF25Q128", pb::COMPONENT_KIND_STORAGE, "KR"), 11};
    return v;
  }

  // Parse + PlanImport of `text` as acme-cam; the problems of both.
  std::vector<Problem> Check(const std::string& text, const LedgerView& v,
                             hbom::Plan* plan = nullptr) {
    std::vector<Problem> ps;
    Bom bom = hbom::Parse(text, &ps);
    if (!ps.empty()) return ps;
    hbom::Plan p = hbom::PlanImport(bom, v, {"acme-cam", "", ""}, &ps);
    if (plan) *plan = p;
    return ps;
  }
  std::vector<Problem> Check(const std::string& text) { return Check(text, Ledger()); }

  // The fixture with `edit` applied.
  std::string Edited(const std::function<void(json&)>& edit) {
    json j = json::parse(Fixture());
    edit(j);
    return j.dump(2);
  }

  // Exactly one problem, at `pointer`, whose message contains `text`.
  void ExpectOnly(const std::vector<Problem>& ps, const std::string& pointer,
                  const std::string& text, Problem::Kind kind = Problem::Kind::kMalformed) {
    ASSERT_EQ(ps.size(), 1u) << Problems(ps);
    EXPECT_EQ(ps[0].pointer, pointer) << Problems(ps);
    EXPECT_NE(ps[0].message.find(text), std::string::npos) << Problems(ps);
    EXPECT_EQ(ps[0].kind, kind) << Problems(ps);
  }
};

TEST_F(HbomTest, ParsesTheCameraFixture) {
  std::vector<Problem> ps;
  Bom bom = hbom::Parse(Fixture(), &ps);
  ASSERT_TRUE(ps.empty()) << Problems(ps);
  EXPECT_EQ(bom.model_name, "AC-100");
  EXPECT_EQ(bom.maker_name, "Acme Camera Ltd");
  EXPECT_EQ(bom.marketing_name, "Acme Dome 4MP");
  EXPECT_EQ(bom.shown_manufacturer, std::vector<std::string>{"ACME"});
  ASSERT_EQ(bom.parts.size(), 5u);
  EXPECT_EQ(bom.parts[0].pointer, "/components/0");
  EXPECT_EQ(bom.parts[0].part_number, "SC-3");
  EXPECT_EQ(bom.parts[0].kind, pb::COMPONENT_KIND_SOC);
  EXPECT_EQ(bom.parts[0].function, "image signal processor");
  EXPECT_EQ(bom.parts[2].assembly_test_location, "VN");
  EXPECT_EQ(bom.parts[3].quantity, 2u);
  EXPECT_EQ(bom.parts[4].kind, pb::COMPONENT_KIND_LENS) << "kind from cdx:device:function";
  ASSERT_EQ(bom.skipped.size(), 1u);
  EXPECT_NE(bom.skipped[0].find("/components/5"), std::string::npos);
}

TEST_F(HbomTest, PlansOwnPartsAsNewAndOthersAsRegistered) {
  hbom::Plan plan;
  auto ps = Check(Fixture(), Ledger(), &plan);
  ASSERT_TRUE(ps.empty()) << Problems(ps);
  ASSERT_EQ(plan.new_components.size(), 2u);
  EXPECT_EQ(plan.new_components[0].component.part_number(), "AC-NET-2");
  EXPECT_EQ(plan.new_components[0].component.kind(), pb::COMPONENT_KIND_NETWORK_MODULE);
  EXPECT_EQ(plan.new_components[0].component.description(), "10/100 Ethernet and PoE board");
  EXPECT_EQ(plan.new_components[1].component.maker_org(), "acme-cam") << "legal name, any case";
  EXPECT_EQ(plan.new_components[1].pointer, "/components/4");
  ASSERT_EQ(plan.registered.size(), 3u);
  EXPECT_EQ(plan.registered[1].key.first, "lumen-img") << "by alias";
  EXPECT_EQ(plan.registered[1].index, 9u);
  EXPECT_TRUE(plan.model_is_new);
  EXPECT_EQ(plan.model.manufacturer_org(), "acme-cam");
  EXPECT_EQ(plan.model.model_id(), "AC-100");
  EXPECT_EQ(plan.model.brand_org(), "acme-cam");
  EXPECT_EQ(plan.model.name(), "Acme Dome 4MP");
  ASSERT_EQ(plan.model.bom_size(), 5);
  EXPECT_EQ(plan.model.bom(3).quantity(), 2u);
  EXPECT_EQ(plan.model.bom(0).component().maker_org(), "orion-micro");
}

TEST_F(HbomTest, RefusesWhatIsNotJsonWithLineAndColumn) {
  std::vector<Problem> ps;
  hbom::Parse("{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": 1.6,,\n}", &ps);
  ASSERT_EQ(ps.size(), 1u) << Problems(ps);
  EXPECT_EQ(ps[0].pointer, "3:22") << Problems(ps);
  EXPECT_EQ(ps[0].message.rfind("not JSON: syntax error", 0), 0u) << Problems(ps);
}

TEST_F(HbomTest, RefusesAnotherFormatOrVersion) {
  ExpectOnly(Check(Edited([](json& j) { j["specVersion"] = "1.5"; })), "/specVersion",
             "\"1.5\" is not supported");
  ExpectOnly(Check(Edited([](json& j) { j["bomFormat"] = "SPDX"; })), "/bomFormat",
             "\"SPDX\" is not \"CycloneDX\"");
  ExpectOnly(Check(Edited([](json& j) { j.erase("specVersion"); })), "/specVersion", "missing");
  ExpectOnly(Check("[1, 2]"), "", "a CycloneDX BOM is a JSON object");
}

TEST_F(HbomTest, RefusesABomWithoutADevice) {
  ExpectOnly(Check(Edited([](json& j) {
               j["metadata"].erase("component");
               j.erase("dependencies");
             })),
             "/metadata/component", "missing");
  ExpectOnly(Check(Edited([](json& j) { j["metadata"]["component"]["type"] = "application"; })),
             "/metadata/component/type", "is not \"device\"");
}

TEST_F(HbomTest, RefusesDuplicateBomRefsAndPartsListedTwice) {
  ExpectOnly(Check(Edited([](json& j) {
               j["components"][3]["bom-ref"] = "soc";
               j.erase("dependencies");
             })),
             "/components/3/bom-ref", "\"soc\" is already /components/0/bom-ref");
  ExpectOnly(Check(Edited([](json& j) {
               j["components"][3]["bom-ref"] = "ac-100";
               j.erase("dependencies");
             })),
             "/components/3/bom-ref", "is already /metadata/component/bom-ref");
  auto twice = Edited([](json& j) {
    json again = j["components"][0];
    again["bom-ref"] = "soc-again";
    j["components"].push_back(again);
  });
  ExpectOnly(Check(twice), "/components/6", "is already /components/0");
  ExpectOnly(Check(Edited([](json& j) { j["dependencies"][0]["dependsOn"].push_back("soc"); })),
             "/dependencies/0/dependsOn/6", "\"soc\" is referenced twice");
  ExpectOnly(Check(Edited([](json& j) { j["dependencies"][1]["dependsOn"].push_back("nope"); })),
             "/dependencies/1/dependsOn/0", "\"nope\" is no bom-ref");
}

TEST_F(HbomTest, RefusesAComponentWithoutMakerOrPartNumber) {
  ExpectOnly(Check(Edited([](json& j) { j["components"][3]["manufacturer"].erase("name"); })),
             "/components/3/manufacturer/name", "missing");
  auto supplier_only = Edited([](json& j) {
    j["components"][3].erase("manufacturer");
    j["components"][3]["supplier"] = {{"name", "Parts Distributor"}};
  });
  ExpectOnly(Check(supplier_only), "/components/3/manufacturer",
             "supplier is who supplied the part, not necessarily who made it");
  ExpectOnly(Check(Edited([](json& j) { j["components"][3].erase("name"); })), "/components/3/name",
             "missing (the maker's part number)");
  ExpectOnly(Check(Edited([](json& j) { j["components"][3]["name"] = ""; })), "/components/3/name",
             "1 to 128 bytes");
}

TEST_F(HbomTest, AnExplicitPartNumberOverridesTheName) {
  hbom::Plan plan;
  auto ps = Check(Edited([](json& j) {
                    j["components"][0]["name"] = "Orion SC-3 camera SoC";
                    j["components"][0]["properties"].push_back(
                        {{"name", "prov:component:partNumber"}, {"value", "SC-3"}});
                  }),
                  Ledger(), &plan);
  ASSERT_TRUE(ps.empty()) << Problems(ps);
  EXPECT_EQ(plan.model.bom(0).component().part_number(), "SC-3");
}

TEST_F(HbomTest, RefusesUnknownKindsAndBadValues) {
  ExpectOnly(Check(Edited(
                 [](json& j) { j["components"][0]["properties"][0]["value"] = "camera-module"; })),
             "/components/0/properties/0/value", "unknown kind \"camera-module\" (one of soc|");
  // A new part of ours must say what it is.
  ExpectOnly(
      Check(Edited([](json& j) { j["components"][4]["properties"][0]["value"] = "optics"; })),
      "/components/4/properties", "no kind for new component acme-cam/AC-LENS-4");
  ExpectOnly(Check(Edited([](json& j) { j["components"][3]["properties"][2]["value"] = "0"; })),
             "/components/3/properties/2/value", "not a positive whole number");
  ExpectOnly(Check(Edited([](json& j) { j["components"][1]["properties"][1]["value"] = "Japan"; })),
             "/components/1/properties/1/value", "not an ISO 3166-1 alpha-2");
  ExpectOnly(Check(Edited([](json& j) {
               j["components"][1]["properties"].push_back(
                   {{"name", "prov:component:knd"}, {"value", "soc"}});
             })),
             "/components/1/properties/3/name", "unknown property \"prov:component:knd\"");
  ExpectOnly(Check(Edited([](json& j) {
               j["components"][2]["properties"].push_back(
                   {{"name", "prov:component:kind"}, {"value", "soc"}});
             })),
             "/components/2/properties/4/value",
             "is given again (first at /components/2/properties/0/value)");
  ExpectOnly(Check(Edited([](json& j) { j["components"][2]["components"] = json::array(); })),
             "/components/2/components", "nested components are not read");
}

TEST_F(HbomTest, ExplicitOtherIsAKind) {
  hbom::Plan plan;
  auto ps = Check(Edited([](json& j) {
                    j["components"][4]["properties"].push_back(
                        {{"name", "prov:component:kind"}, {"value", "other"}});
                  }),
                  Ledger(), &plan);
  ASSERT_TRUE(ps.empty()) << Problems(ps);
  EXPECT_EQ(plan.new_components[1].component.kind(), pb::COMPONENT_KIND_OTHER);
}

TEST_F(HbomTest, RefusesAnOversizedFile) {
  std::vector<Problem> ps;
  hbom::Parse(std::string(hbom::kMaxBomBytes + 1, ' '), &ps);
  ExpectOnly(ps, "", "over the limit of 4194304 (4 MiB)");
}

TEST_F(HbomTest, ListsEachUnknownMakerOnceWithEveryPointer) {
  auto text = Edited([](json& j) {
    j["components"][0]["manufacturer"]["name"] = "Foo Semi";
    j["components"][3]["manufacturer"]["name"] = "Foo Semi";
    j["components"][1]["manufacturer"]["name"] = "Bar Optics";
  });
  auto ps = Check(text);
  ASSERT_EQ(ps.size(), 2u) << Problems(ps);
  EXPECT_EQ(ps[0].kind, Problem::Kind::kUnknownMaker);
  EXPECT_EQ(ps[0].pointer, "/components/1/manufacturer/name");
  EXPECT_NE(ps[0].message.find("unknown maker \"Bar Optics\""), std::string::npos);
  EXPECT_EQ(ps[1].message.find("unknown maker \"Foo Semi\", named at "
                               "/components/0/manufacturer/name, /components/3/manufacturer/name"),
            0u)
      << Problems(ps);
}

TEST_F(HbomTest, RefusesAnAmbiguousMakerName) {
  LedgerView v = Ledger();
  v.orgs.push_back({"orion-micro-tw", "Orion Micro", {}});
  auto ps = Check(Fixture(), v);
  ExpectOnly(ps, "/components/0/manufacturer/name",
             "names several registered orgs (orion-micro, orion-micro-tw)",
             Problem::Kind::kUnknownMaker);
}

TEST_F(HbomTest, AnotherMakersPartMustBeRegisteredByThatMaker) {
  LedgerView v = Ledger();
  v.components.erase({"lumen-img", "LX-415"});
  ExpectOnly(Check(Fixture(), v), "/components/1",
             "lumen-img/LX-415 is not registered: a component is registered by its maker, so "
             "lumen-img must register it first",
             Problem::Kind::kLedgerConflict);
}

TEST_F(HbomTest, WhatTheBomSaysMustMatchTheLedger) {
  ExpectOnly(Check(Edited([](json& j) { j["components"][1]["properties"][1]["value"] = "CN"; })),
             "/components/1",
             "the BOM says lumen-img/LX-415 comes from CN, the ledger from JP (registered by "
             "lumen-img at #9)",
             Problem::Kind::kLedgerConflict);
  LedgerView v = Ledger();
  pb::DeviceModel other;
  other.set_manufacturer_org("acme-cam");
  other.set_model_id("AC-100");
  other.set_brand_org("acme-cam");
  v.model = hbom::Logged<pb::DeviceModel>{other, 20};
  ExpectOnly(Check(Fixture(), v), "/metadata/component",
             "model acme-cam/AC-100 is already registered at #20 otherwise (name \"Acme Dome "
             "4MP\" vs \"\", 5 BOM lines vs 0",
             Problem::Kind::kLedgerConflict);
}

TEST_F(HbomTest, TheDeviceMustBeTheImportersOwn) {
  ExpectOnly(Check(Edited([](json& j) {
               j["metadata"]["component"]["manufacturer"]["name"] = "Orion Micro";
             })),
             "/metadata/component/manufacturer/name",
             "the device's maker is orion-micro, not --org acme-cam");
}

TEST_F(HbomTest, RefusesMoreComponentsThanOneRecordHolds) {
  LedgerView v = Ledger();
  auto text = Edited([&](json& j) {
    json parts = json::array();
    for (int i = 0; i < 1200; ++i) {
      const std::string part = "R-" + std::to_string(i) + std::string(40, 'x');
      v.components[{"orion-micro", part}] = {
          Comp("orion-micro", part, pb::COMPONENT_KIND_OTHER, "CN"), uint64_t(100 + i)};
      parts.push_back({{"type", "device"},
                       {"manufacturer", {{"name", "Orion Micro"}}},
                       {"name", part},
                       {"properties", {{{"name", "cdx:device:function"}, {"value", "resistor"}}}}});
    }
    j["components"] = parts;
    j.erase("dependencies");
  });
  ExpectOnly(Check(text, v), "/components",
             "the log would refuse model acme-cam/AC-100: signed record is 91460 bytes; the "
             "limit is 65535 (1200 BOM lines do not fit in one record)");
}

TEST_F(HbomTest, ExportReadsBackToTheSameModel) {
  hbom::Plan plan;
  LedgerView v = Ledger();
  ASSERT_TRUE(Check(Fixture(), v, &plan).empty());
  for (size_t i = 0; i < plan.new_components.size(); ++i) {
    const auto& c = plan.new_components[i].component;
    v.components[{c.maker_org(), c.part_number()}] = {c, 30 + i};
  }
  hbom::ExportInput in;
  in.model = {plan.model, 40};
  in.ledger = v;
  in.origin = "cams.example/log";
  in.tree_size = 41;
  in.root_hex = std::string(64, 'a');
  in.serial_number = "urn:uuid:00000000-0000-4000-8000-000000000000";
  in.timestamp = "2026-01-15T10:00:00Z";
  in.tool_version = "test";
  auto doc = hbom::Export(in);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  json j = json::parse(*doc);
  EXPECT_EQ(j["bomFormat"], "CycloneDX");
  EXPECT_EQ(j["specVersion"], "1.6");
  EXPECT_EQ(j["metadata"]["component"]["type"], "device");
  EXPECT_EQ(j["metadata"]["component"]["manufacturer"]["name"], "Acme Camera Ltd");
  EXPECT_EQ(j["components"].size(), 5u);
  EXPECT_EQ(j["components"][1]["manufacturer"]["name"], "Lumen Imaging KK");
  EXPECT_EQ(j["dependencies"][0]["dependsOn"].size(), 5u);
  bool origin = false;
  for (const auto& p : j["metadata"]["properties"]) {
    origin |= p["name"] == "prov:ledger:origin" && p["value"] == "cams.example/log";
  }
  EXPECT_TRUE(origin) << *doc;

  // Read back, with the model now registered: nothing new, the same record.
  v.model = in.model;
  hbom::Plan again;
  auto ps = Check(*doc, v, &again);
  ASSERT_TRUE(ps.empty()) << Problems(ps);
  EXPECT_TRUE(again.new_components.empty());
  EXPECT_EQ(again.registered.size(), 5u);
  EXPECT_FALSE(again.model_is_new);
  EXPECT_EQ(again.model_index, 40u);
  EXPECT_EQ(again.model.SerializeAsString(), plan.model.SerializeAsString());
}

TEST_F(HbomTest, ExportNeedsEveryComponent) {
  hbom::ExportInput in;
  pb::DeviceModel m;
  m.set_manufacturer_org("acme-cam");
  m.set_model_id("AC-1");
  auto* line = m.add_bom();
  line->mutable_component()->set_maker_org("orion-micro");
  line->mutable_component()->set_part_number("SC-9");
  in.model = {m, 3};
  auto doc = hbom::Export(in);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().reason(), "MISSING_COMPONENT");
}

}  // namespace
