// `prov manufacturer import-hbom` and `prov model export-hbom` as real
// binaries against a real provd on a loopback port: a camera BOM made by
// four orgs registered, exported, validated against the official CycloneDX
// 1.6 schema by Debian's python3-jsonschema (tests/testdata/cyclonedx/
// validate.py), and read back with nothing new; every refusal with its exact
// message, exit code, and an unchanged log.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/client/exec.h"
#include "tests/client/prov_fixture.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"

namespace {

using json = nlohmann::json;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using testexec::Spit;
using verifier::SigningKey;
using verifier::Status;

constexpr char kOrigin[] = "hbom.example/log";
const std::string kCyclonedx = std::string(PROV_SOURCE_DIR) + "/tests/testdata/cyclonedx";

class ProvHbomTest : public testexec::ProvLedgerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartLedger("prov-hbom", kOrigin, {"gov"}, 1));
    gov_ = dir_ + "/gov.key";
    RegisterMakers();
  }

  void Ok(std::vector<std::string> args) {
    Outcome r = Prov(std::move(args));
    ASSERT_EQ(r.rc, 0) << Describe(r);
  }

  // The makers of the camera fixture; each other maker registers its part.
  void RegisterMakers() {
    struct Maker {
      const char *id, *name, *country, *alias;
    };
    for (const Maker& m : {Maker{"acme-cam", "Acme Camera Ltd", "GB", "Acme"},
                           Maker{"orion-micro", "Orion Micro", "CN", nullptr},
                           Maker{"lumen-img", "Lumen Imaging KK", "JP", "Lumen"},
                           Maker{"nordflash", "Nordflash AS", "NO", nullptr}}) {
      std::vector<std::string> args = {"authority", "org",       "--id",    m.id,    "--name",
                                       m.name,      "--country", m.country, "--key", gov_};
      if (m.alias) args.insert(args.end(), {"--alias", m.alias});
      Ok(args);
      const std::string key = KeyFile(m.id);
      Ok({"authority", "enroll", "--key-file", key, "--org", m.id, "--role", "manufacturer",
          "--key", gov_});
    }
    Ok({"manufacturer", "component", "--org", "orion-micro", "--part", "SC-3", "--kind", "soc",
        "--country", "CN", "--key", dir_ + "/orion-micro.key"});
    Ok({"manufacturer", "component", "--org", "lumen-img", "--part", "LX-415", "--kind",
        "image-sensor", "--country", "JP", "--key", dir_ + "/lumen-img.key"});
    Ok({"manufacturer", "component", "--org", "nordflash", "--part", "NF25Q128", "--kind",
        "storage", "--country", "KR", "--key", dir_ + "/nordflash.key"});
  }

  static std::vector<std::string> With(std::vector<std::string> args,
                                       const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  std::vector<std::string> Import(const std::string& file, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {
        "manufacturer", "import-hbom", file, "--org", "acme-cam", "--key", dir_ + "/acme-cam.key"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  // The fixture with `edit` applied, written to DIR/NAME.
  std::string EditedFixture(const std::string& name, const std::function<void(json&)>& edit) {
    json j = json::parse(Slurp(kCyclonedx + "/camera-ac100.cdx.json"));
    edit(j);
    std::string path = dir_ + "/" + name;
    Spit(path, j.dump(2));
    return path;
  }

  // The official-schema validator (Debian's python3-jsonschema).
  Outcome Validate(const std::string& file) {
    return Exec({"/usr/bin/python3", kCyclonedx + "/validate.py", file}, dir_);
  }

  // import-hbom of `file` fails with `rc`, the stderr line `line`, and
  // nothing logged.
  void Refused(const std::string& file, int rc, const std::string& line) {
    const uint64_t before = TreeSize();
    Outcome r = Prov(Import(file));
    EXPECT_EQ(r.rc, rc) << Describe(r);
    EXPECT_NE(r.err.find("prov: " + line + "\n"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("; nothing was logged"), std::string::npos) << Describe(r);
    EXPECT_EQ(TreeSize(), before) << "a refused BOM logged something";
  }

  std::string gov_;
};

std::string Property(const json& props, const std::string& name) {
  for (const auto& p : props) {
    if (p["name"] == name) return p["value"];
  }
  return "";
}

TEST_F(ProvHbomTest, TheFixtureItselfIsValidCycloneDx) {
  Outcome v = Validate(kCyclonedx + "/camera-ac100.cdx.json");
  EXPECT_EQ(v.rc, 0) << Describe(v);
}

TEST_F(ProvHbomTest, ImportExportValidateAndReadBackWithNothingNew) {
  const std::string fixture = kCyclonedx + "/camera-ac100.cdx.json";
  const uint64_t start = TreeSize();

  // A dry run: what would be logged, nothing submitted.
  json dry = ProvJson(Import(fixture, {"--dry-run"}));
  EXPECT_EQ(dry["ok"], true);
  EXPECT_EQ(dry["dry_run"], true);
  ASSERT_EQ(dry["new"].size(), 3u) << dry.dump(2);
  EXPECT_EQ(dry["new"][0]["id"], "acme-cam/AC-NET-2");
  EXPECT_EQ(dry["new"][0]["pointer"], "/components/2");
  EXPECT_EQ(dry["new"][1]["id"], "acme-cam/AC-LENS-4");
  EXPECT_EQ(dry["new"][1]["record"]["kind"], "COMPONENT_KIND_LENS");
  EXPECT_EQ(dry["new"][2]["kind"], "device model");
  EXPECT_EQ(dry["new"][2]["record"]["bom"].size(), 5u);
  EXPECT_EQ(dry["registered"].size(), 3u);
  EXPECT_EQ(dry["skipped"].size(), 1u);
  EXPECT_EQ(TreeSize(), start) << "--dry-run submitted";
  Outcome text = Prov(Import(fixture, {"--dry-run"}));
  EXPECT_EQ(text.rc, 0) << Describe(text);
  EXPECT_NE(text.out.find("would log device model acme-cam/AC-100 (5 BOM lines)"),
            std::string::npos)
      << Describe(text);

  // The import: two components of acme-cam and the model.
  Outcome r = Prov(Import(fixture));
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.out.find("component logged at #"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("device model logged at #"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("component orion-micro/SC-3 is registered at #"), std::string::npos)
      << Describe(r);

  // Export from the verified log, to a file and to stdout.
  const std::string exported = dir_ + "/exported.cdx.json";
  json w = ProvJson(
      {"model", "export-hbom", "--org", "acme-cam", "--model-id", "AC-100", "--out", exported});
  EXPECT_EQ(w["components"], 5);
  Outcome out = Prov({"model", "export-hbom", "--org", "acme-cam", "--model-id", "AC-100"});
  ASSERT_EQ(out.rc, 0) << Describe(out);
  json bom = json::parse(Slurp(exported));
  json again = json::parse(out.out);
  EXPECT_NE(bom["serialNumber"], again["serialNumber"]) << "every BOM has its own serial number";
  EXPECT_EQ(bom["specVersion"], "1.6");
  EXPECT_EQ(bom["metadata"]["component"]["manufacturer"]["name"], "Acme Camera Ltd");
  EXPECT_EQ(bom["components"][1]["manufacturer"]["name"], "Lumen Imaging KK");
  EXPECT_EQ(Property(bom["components"][3]["properties"], "cdx:device:quantity"), "2");
  EXPECT_EQ(Property(bom["metadata"]["properties"], "prov:ledger:origin"), kOrigin);
  EXPECT_EQ(Property(bom["metadata"]["properties"], "prov:ledger:treeSize"),
            std::to_string(TreeSize()));
  const std::string model_index =
      Property(bom["metadata"]["component"]["properties"], "prov:ledger:leafIndex");
  EXPECT_NE(r.out.find("device model logged at #" + model_index + " "), std::string::npos)
      << Describe(r) << "leaf index " << model_index;

  // The official CycloneDX 1.6 schema accepts it ...
  Outcome v = Validate(exported);
  EXPECT_EQ(v.rc, 0) << Describe(v);
  EXPECT_NE(v.out.find("valid CycloneDX 1.6"), std::string::npos) << Describe(v);
  // ... and the validator is not a rubber stamp.
  bom["bomFormat"] = "SPDX";
  bom["components"][0]["type"] = "camera";
  bom["serialNumber"] = "urn:uuid:not-a-uuid";
  Spit(dir_ + "/broken.cdx.json", bom.dump(2));
  v = Validate(dir_ + "/broken.cdx.json");
  EXPECT_EQ(v.rc, 1) << Describe(v);
  EXPECT_NE(v.out.find("/bomFormat: 'SPDX' is not one of ['CycloneDX']"), std::string::npos)
      << Describe(v);
  EXPECT_NE(v.out.find("/components/0/type: 'camera' is not one of"), std::string::npos)
      << Describe(v);
  EXPECT_NE(v.out.find("/serialNumber: 'urn:uuid:not-a-uuid' does not match"), std::string::npos)
      << Describe(v);

  // Read back: the same model record, nothing new; a real import logs nothing.
  const uint64_t size = TreeSize();
  json back = ProvJson(Import(exported, {"--dry-run"}));
  EXPECT_EQ(back["new"].size(), 0u) << back.dump(2);
  ASSERT_EQ(back["registered"].size(), 6u) << back.dump(2);
  EXPECT_EQ(back["registered"][5]["kind"], "device model");
  EXPECT_EQ(std::to_string(back["registered"][5]["index"].get<uint64_t>()), model_index);
  Outcome none = Prov(Import(exported));
  EXPECT_EQ(none.rc, 0) << Describe(none);
  EXPECT_NE(none.out.find("nothing new"), std::string::npos) << Describe(none);
  EXPECT_EQ(TreeSize(), size);
  // So does the original BOM, imported twice.
  none = Prov(Import(fixture));
  EXPECT_EQ(none.rc, 0) << Describe(none);
  EXPECT_NE(none.out.find("nothing new"), std::string::npos) << Describe(none);
  EXPECT_EQ(TreeSize(), size);
}

TEST_F(ProvHbomTest, RefusesWhatIsNotJsonWithLineAndColumn) {
  const std::string file = dir_ + "/bom.json";
  Spit(file, "{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": 1.6,,\n}");
  Refused(file, 64,
          file +
              ":3:22: not JSON: syntax error while parsing object key - unexpected ','; "
              "expected string literal");
}

TEST_F(ProvHbomTest, RefusesAnotherSpecVersion) {
  auto file = EditedFixture("v15.json", [](json& j) { j["specVersion"] = "1.5"; });
  Refused(file, 64,
          file +
              ": /specVersion: \"1.5\" is not supported: this reads CycloneDX 1.6 (component "
              "manufacturer is new in 1.6)");
}

TEST_F(ProvHbomTest, ListsUnknownMakersWithTheirPointersAndLogsNothing) {
  auto file = EditedFixture("unknown.json", [](json& j) {
    j["components"][0]["manufacturer"]["name"] = "Foo Semi";
    j["components"][3]["manufacturer"]["name"] = "Foo Semi";
  });
  Refused(file, 64,
          file +
              ": /components/0/manufacturer/name: unknown maker \"Foo Semi\", named at "
              "/components/0/manufacturer/name, /components/3/manufacturer/name: no "
              "registered org has this id, legal name or alias (see prov org list; an "
              "authority registers orgs)");
  json j = ProvJson(Import(file), 64);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["reason"], "UNKNOWN_MAKER");
  EXPECT_EQ(j["exit_code"], 64);
  ASSERT_EQ(j["problems"].size(), 1u);
  EXPECT_EQ(j["problems"][0]["kind"], "unknown_maker");
  EXPECT_EQ(j["problems"][0]["pointer"], "/components/0/manufacturer/name");
}

TEST_F(ProvHbomTest, AnotherMakersPartMustBeRegisteredByThatMaker) {
  auto file =
      EditedFixture("unregistered.json", [](json& j) { j["components"][0]["name"] = "SC-9"; });
  Refused(file, 1,
          file +
              ": /components/0: orion-micro/SC-9 is not registered: a component is "
              "registered by its maker, so orion-micro must register it first (prov "
              "manufacturer component --org orion-micro)");
  json j = ProvJson(Import(file), 1);
  EXPECT_EQ(j["reason"], "LEDGER_CONFLICT");
}

TEST_F(ProvHbomTest, RefusesAMissingPartNumber) {
  auto file = EditedFixture("nopart.json", [](json& j) { j["components"][3].erase("name"); });
  Refused(file, 64, file + ": /components/3/name: missing (the maker's part number)");
}

TEST_F(ProvHbomTest, RefusesAnUnknownKind) {
  auto file = EditedFixture(
      "kind.json", [](json& j) { j["components"][2]["properties"][0]["value"] = "camera-module"; });
  Refused(file, 64,
          file +
              ": /components/2/properties/0/value: unknown kind \"camera-module\" (one of "
              "soc|image-sensor|network-module|storage|memory|lens|power|secure-element|"
              "radio|other)");
}

TEST_F(ProvHbomTest, RefusesAnOversizedFileUnread) {
  const std::string file = dir_ + "/huge.json";
  Spit(file, std::string(4 * 1024 * 1024 + 1, ' '));
  Refused(file, 64,
          file +
              ": the file is 4194305 bytes, over the limit of 4194304 (4 MiB); it was not "
              "read");
}

TEST_F(ProvHbomTest, RefusesADuplicateBomRef) {
  auto file = EditedFixture("dupref.json", [](json& j) {
    j["components"][4]["bom-ref"] = "net";
    j.erase("dependencies");
  });
  Refused(file, 64, file + ": /components/4/bom-ref: \"net\" is already /components/2/bom-ref");
}

// The same export from provd's static tiles alone (prov --tiles-url): the
// replay and each record's proof come from the files, and the BOM is the
// one gRPC gives; a dry-run import over tiles finds nothing new.
TEST_F(ProvHbomTest, ExportFromStaticTilesEqualsExportOverGrpc) {
  ASSERT_EQ(Prov(Import(kCyclonedx + "/camera-ac100.cdx.json")).rc, 0);
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger",
                                      {"--tiles-dir", dir_ + "/tiles", "--http-listen",
                                       "127.0.0.1:0", "--publish-interval-ms", "0"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  provd_ = std::move(p).value();
  server_ = provd_->target();
  const uint64_t head = TreeSize();
  auto tiles = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {PROV_PATH,  "--tiles-url", provd_->tiles_url(),  "--vkey",
                                     vkey_file_, "--state-dir", dir_ + "/trust-tiles"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  };
  for (int i = 0; i < 200; ++i) {  // the publisher catches up with the head
    Outcome c = tiles({"--json", "log", "checkpoint"});
    json j = json::parse(c.out, nullptr, false);
    if (c.rc == 0 && !j.is_discarded() && j["checkpoint"]["size"] == head) break;
    usleep(50'000);
  }
  const std::vector<std::string> exp = {"model",    "export-hbom", "--org",
                                        "acme-cam", "--model-id",  "AC-100"};
  Outcome over_tiles = tiles(exp);
  ASSERT_EQ(over_tiles.rc, 0) << Describe(over_tiles);
  Outcome over_grpc = Prov(exp);
  ASSERT_EQ(over_grpc.rc, 0) << Describe(over_grpc);
  json a = json::parse(over_tiles.out), b = json::parse(over_grpc.out);
  EXPECT_EQ(a["metadata"]["component"], b["metadata"]["component"]);
  EXPECT_EQ(a["metadata"]["properties"], b["metadata"]["properties"]);
  EXPECT_EQ(a["components"], b["components"]);
  EXPECT_EQ(a["dependencies"], b["dependencies"]);
  Spit(dir_ + "/from-tiles.cdx.json", over_tiles.out);
  Outcome dry = tiles(With(Import(dir_ + "/from-tiles.cdx.json"), {"--dry-run"}));
  EXPECT_EQ(dry.rc, 0) << Describe(dry);
  EXPECT_NE(dry.out.find("nothing new"), std::string::npos) << Describe(dry);
}

TEST_F(ProvHbomTest, ExportOfAnUnknownModelIsAUsageError) {
  Outcome r = Prov({"model", "export-hbom", "--org", "acme-cam", "--model-id", "AC-999"});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("UNKNOWN_MODEL"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("model acme-cam/AC-999 is not registered"), std::string::npos)
      << Describe(r);
}

}  // namespace
