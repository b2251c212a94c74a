// The `prov` registration subcommands (authority, manufacturer, transfer,
// status) driven as a real binary against a real provd on a loopback port:
// exit codes, text and --json output, refusals with their reasons, the bulk
// CSV import, and the failures that must exit 2 (usage, files, key-file
// permissions, connection, a log key that does not verify).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/client/exec.h"
#include "tests/client/index_layout.h"
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

constexpr char kOrigin[] = "cli.example/log";

std::string Hex(const SigningKey& k) { return verifier::HexEncode(k.public_key()); }

class ProvCliTest : public testexec::ProvLedgerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartLedger("prov-cli", kOrigin, {"gov-a", "gov-b"}, 2));
    gov_a_ = dir_ + "/gov-a.key";
    gov_b_ = dir_ + "/gov-b.key";
  }

  std::string Pub(const std::string& name) { return Hex(keys_.at(name)); }
  std::string DevicePub() { return Hex(SigningKey::Generate()); }

  void Ok(std::vector<std::string> args) {
    Outcome r = Prov(std::move(args));
    EXPECT_EQ(r.rc, 0) << Describe(r);
    EXPECT_NE(r.out.find(" logged at #"), std::string::npos) << Describe(r);
    EXPECT_NE(r.out.find("verified)"), std::string::npos) << Describe(r);
  }

  // The signed records in the log (neither the genesis nor the log's index
  // roots), by `prov audit`, which also requires the head to end with an
  // index root.
  uint64_t Records() {
    json j = ProvJson({"audit"});
    EXPECT_EQ(j["ok"], true) << j.dump();
    uint64_t n = 0;
    for (const auto& [kind, count] : j["kinds"].items()) {
      if (kind != "genesis" && kind != "index root") n += count.get<uint64_t>();
    }
    return n;
  }

  std::vector<std::string> Authorities() { return {"--key", gov_a_, "--key", gov_b_}; }
  std::vector<std::string> With(std::vector<std::string> args,
                                const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  // Organisations acme-cam (maker, enrolled for both roles), dist-co
  // (custodian) and buyer-gov; model AC-100 of acme-cam.
  void SetUpMaker() {
    acme_ = KeyFile("acme");
    dist_ = KeyFile("dist");
    for (auto [id, name] : {std::pair{"acme-cam", "Acme Camera Ltd"},
                            std::pair{"dist-co", "Distribution Co"},
                            std::pair{"buyer-gov", "A Government Department"}}) {
      Ok(With({"authority", "org", "--id", id, "--name", name, "--country", "GB"},
              Authorities()));
    }
    Ok(With({"authority", "enroll", "--key-file", acme_, "--org", "acme-cam", "--role",
             "manufacturer,custodian"},
            Authorities()));
    Ok(With({"authority", "enroll", "--public-key", Pub("dist"), "--org", "dist-co", "--role",
             "custodian"},
            Authorities()));
    Ok({"manufacturer", "model", "--org", "acme-cam", "--model-id", "AC-100", "--key", acme_});
  }

  std::string gov_a_, gov_b_, acme_, dist_;
};

TEST_F(ProvCliTest, RegistersTheWholeStory) {
  const std::string acme = KeyFile("acme"), dist = KeyFile("dist"), orion = KeyFile("orion");

  // An organisation signed by one authority, co-signed by the other, submitted.
  const std::string rec = dir_ + "/org-acme.rec";
  Outcome r = Prov({"authority", "org", "--id", "acme-cam", "--name", "Acme Camera Ltd", "--country",
                "GB", "--alias", "Acme", "--key", gov_a_, "--out", rec});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(TreeSize(), testlog::kNewSize) << "--out must not submit";
  r = Prov({"record", "cosign", "--in", rec, "--key", gov_b_});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  r = Prov({"submit", rec});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.out.find("logged at #" + std::to_string(testlog::IndexOfSingleCommit(0))),
            std::string::npos)
      << Describe(r);

  // An organisation may name only a registered law: a typo is refused.
  r = Prov(With({"authority", "org", "--id", "orion-micro", "--name", "Orion Micro", "--country",
                 "CN", "--law", "CN-NIL-2017"},
                Authorities()));
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("DANGLING_REFERENCE"), std::string::npos) << Describe(r);
  json law = ProvJson(With({"authority", "law", "--code", "CN-NIL-2017", "--name",
                            "PRC National Intelligence Law (2017)", "--jurisdiction", "CN"},
                           Authorities()));
  EXPECT_EQ(law["kind"], "law");
  EXPECT_EQ(law["index"], testlog::IndexOfSingleCommit(1));

  // Directly with both authority keys, --json.
  json j = ProvJson(With({"authority", "org", "--id", "orion-micro", "--name", "Orion Micro",
                          "--country", "CN", "--law", "CN-NIL-2017", "--state-owned"},
                         Authorities()));
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["kind"], "organization");
  EXPECT_EQ(j["index"], testlog::IndexOfSingleCommit(2));
  EXPECT_EQ(j["already_logged"], false);
  EXPECT_EQ(j["checkpoint"]["size"], testlog::SizeAfterSingleCommits(3));
  EXPECT_EQ(j["checkpoint"]["origin"], kOrigin);
  EXPECT_EQ(j["checkpoint"]["root"].get<std::string>().size(), 64u);

  // --out --json reports the file.
  j = ProvJson({"authority", "org", "--id", "dist-co", "--name", "Distribution Co", "--country",
                "GB", "--key", gov_a_, "--key", gov_b_, "--out", dir_ + "/dist.rec"});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["kind"], "organization");
  EXPECT_EQ(j["signatures"], 2);
  r = Prov({"submit", dir_ + "/dist.rec"});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  Ok(With({"authority", "org", "--id", "buyer-gov", "--name", "Buyer", "--country", "GB"},
          Authorities()));
  Ok(With({"authority", "ownership", "--owner", "dist-co", "--owned", "acme-cam", "--stake-bp",
           "1000", "--control", "--from", "2020-01-01", "--until", "1893456000"},
          Authorities()));

  // Keys: from a key file, from hex, several roles.
  j = ProvJson(With({"authority", "enroll", "--key-file", acme, "--org", "acme-cam", "--role",
                     "manufacturer", "--role", "custodian", "--not-before", "2020-01-01"},
                    Authorities()));
  EXPECT_EQ(j["kind"], "key enrollment");
  Ok(With({"authority", "enroll", "--public-key", Pub("dist"), "--org", "dist-co", "--role",
           "custodian"},
          Authorities()));
  Ok(With({"authority", "enroll", "--key-file", orion, "--org", "orion-micro", "--role",
           "manufacturer"},
          Authorities()));

  // Manufacturer facts.
  j = ProvJson({"manufacturer", "component", "--org", "orion-micro", "--part", "SC-3", "--kind",
                "soc", "--country", "CN", "--key", orion});
  EXPECT_EQ(j["kind"], "component");
  Ok({"manufacturer", "component", "--org", "orion-micro", "--part", "IS-8", "--kind",
      "image-sensor", "--country", "CN", "--key", orion});
  j = ProvJson({"manufacturer", "model", "--org", "acme-cam", "--model-id", "AC-100", "--name",
                "Acme Dome 100", "--component", "orion-micro/SC-3,function=isp,location=CN",
                "--component", "orion-micro/IS-8,quantity=2", "--key", acme});
  EXPECT_EQ(j["kind"], "device model");
  const uint64_t model_index = j["index"];

  const std::string image = dir_ + "/fw-1.0.0.bin";
  Spit(image, "firmware image 1.0.0");
  j = ProvJson({"manufacturer", "firmware", "--org", "acme-cam", "--model-id", "AC-100",
                "--version", "1.0.0", "--image", image, "--key", acme});
  EXPECT_EQ(j["kind"], "firmware release");
  const uint64_t fw_index = j["index"];
  Ok({"manufacturer", "firmware", "--org", "acme-cam", "--model-id", "AC-100", "--version",
      "0.9", "--sha256", verifier::HexEncode(verifier::Sha256(std::string("old"))), "--key",
      acme});
  Ok({"manufacturer", "firmware-revoke", "--org", "acme-cam", "--model-id", "AC-100",
      "--version", "0.9", "--reason", "CVE-2026-0001", "--key", acme});

  for (int i = 1; i <= 3; ++i) {
    j = ProvJson({"manufacturer", "device", "--org", "acme-cam", "--serial",
                  "AC100-000" + std::to_string(i), "--model-id", "AC-100", "--device-key",
                  DevicePub(), "--manufactured", "2026-01-0" + std::to_string(i), "--country",
                  "VN", "--key", acme});
    EXPECT_EQ(j["kind"], "device");
    EXPECT_EQ(j["ok"], true);
  }

  // Custody: a serials file to the distributor, then one serial on to the buyer.
  Spit(dir_ + "/serials.txt", "AC100-0001\n\n# comment\nAC100-0002\n");
  Ok({"transfer", "--manufacturer", "acme-cam", "--serials-file", dir_ + "/serials.txt",
      "--from", "acme-cam", "--to", "dist-co", "--reference", "PO-42", "--key", acme});
  j = ProvJson({"transfer", "--manufacturer", "acme-cam", "--serial", "AC100-0001", "--from",
                "dist-co", "--to", "buyer-gov", "--key", dist});
  EXPECT_EQ(j["kind"], "transfer");

  // Status by the custodian, and by the authority threshold.
  j = ProvJson({"status", "--manufacturer", "acme-cam", "--serial", "AC100-0002", "--condition",
                "stolen", "--note", "police ref 123", "--key", dist});
  EXPECT_EQ(j["kind"], "device status");
  Ok(With({"status", "--manufacturer", "acme-cam", "--serial", "AC100-0003", "--condition",
           "recalled"},
          Authorities()));

  // Revoke the maker's key.
  Ok(With({"authority", "revoke", "--public-key", Pub("orion"), "--effective", "2026-06-01",
           "--reason", "key compromised"},
          Authorities()));

  // What was logged is what was asked for.
  json entries = ProvJson({"log", "entries", "--start", std::to_string(model_index), "--end",
                           std::to_string(fw_index + 1)});
  ASSERT_EQ(entries["entries"].size(), fw_index + 1 - model_index);
  json model = entries["entries"][0]["record"]["device_model"];
  EXPECT_EQ(model["brand_org"], "acme-cam");
  EXPECT_EQ(model["name"], "Acme Dome 100");
  ASSERT_EQ(model["bom"].size(), 2u);
  EXPECT_EQ(model["bom"][0]["function"], "isp");
  EXPECT_EQ(model["bom"][0]["assembly_test_location"], "CN");
  EXPECT_EQ(model["bom"][1]["quantity"], 2);
  json fw = entries["entries"][fw_index - model_index]["record"]["firmware_release"];
  EXPECT_EQ(fw["sha256"], verifier::Base64Encode(verifier::Sha256(std::string("firmware image 1.0.0"))));

  // The whole log replays through the rulebook.
  j = ProvJson({"audit"});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["kinds"]["organization"], 4);
  EXPECT_EQ(j["kinds"]["key enrollment"], 3);
  EXPECT_EQ(j["kinds"]["device"], 3);
  EXPECT_EQ(j["kinds"]["transfer"], 2);
  EXPECT_EQ(j["kinds"]["device status"], 2);
  EXPECT_EQ(j["kinds"]["key revocation"], 1);
  EXPECT_EQ(j["kinds"]["firmware revocation"], 1);
  // One commit per command, each ending with the log's index root.
  const uint64_t size = j["checkpoint"]["size"];
  EXPECT_EQ(j["kinds"]["index root"], 1 + testlog::SingleCommitsIn(size));
}

TEST_F(ProvCliTest, MacBlocksAreVettedForAnOrg) {
  ASSERT_NO_FATAL_FAILURE(SetUpMaker());
  // --ieee shows whom IEEE assigned the prefix to (Debian's ieee-data).
  Outcome r = Prov(With({"authority", "mac-block", "--org", "acme-cam", "--prefix", "ac:cc:8e",
                         "--source", "IEEE MA-L", "--ieee"},
                        Authorities()));
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.err.find("IEEE lists ACCC8E as MA-L ACCC8E of Axis Communications AB"),
            std::string::npos)
      << Describe(r);
  EXPECT_NE(r.out.find("MAC block logged at #"), std::string::npos) << Describe(r);
  // Inside a block vetted for another org: refused, nothing appended.
  const uint64_t before = TreeSize();
  r = Prov(With({"authority", "mac-block", "--org", "dist-co", "--prefix", "ACCC8E1"},
                Authorities()));
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("MAC_BLOCK_TAKEN"), std::string::npos) << Describe(r);
  r = Prov(With({"authority", "mac-block", "--org", "dist-co", "--prefix", "ACCC"},
                Authorities()));
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("BAD_MAC_PREFIX"), std::string::npos) << Describe(r);
  EXPECT_EQ(TreeSize(), before);
}

TEST_F(ProvCliTest, AMakerRegistersItsDeviceIdentityCa) {
  ASSERT_NO_FATAL_FAILURE(SetUpMaker());
  const std::string x509 = PROV_SOURCE_DIR "/../shared/testdata/x509/";
  json j = ProvJson({"manufacturer", "identity-ca", "--org", "acme-cam", "--ca-id", "dome-line",
                     "--cert", x509 + "axis-device-id-root-ecc.pem", "--cert",
                     x509 + "axis-device-id-intermediate-ecc-2.pem", "--serial-from",
                     "subject-serial-number", "--normalize-serial", "--algorithm", "ECDSA P-256",
                     "--key", acme_});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["kind"], "device-identity CA");
  const uint64_t before = TreeSize();
  // An intermediate alone is not a root: the ledger refuses it (exit 1).
  Outcome r = Prov({"manufacturer", "identity-ca", "--org", "acme-cam", "--ca-id", "bad",
                    "--cert", x509 + "axis-device-id-intermediate-ecc-2.pem", "--serial-from",
                    "subject-serial-number", "--algorithm", "ECDSA P-256", "--key", acme_});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("BAD_CERTIFICATE"), std::string::npos) << Describe(r);
  // A file without a certificate is a usage error.
  r = Prov({"manufacturer", "identity-ca", "--org", "acme-cam", "--ca-id", "bad", "--cert",
            x509 + "README.md", "--serial-from", "subject-serial-number", "--algorithm",
            "ECDSA P-256", "--key", acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_EQ(TreeSize(), before);
  Ok({"manufacturer", "identity-ca-revoke", "--org", "acme-cam", "--ca-id", "dome-line",
      "--effective", "2026-06-01", "--reason", "test", "--key", acme_});
}

TEST_F(ProvCliTest, RefusalsExitOneWithTheServersReason) {
  ASSERT_NO_FATAL_FAILURE(SetUpMaker());
  Ok({"manufacturer", "device", "--org", "acme-cam", "--serial", "SN-1", "--model-id", "AC-100",
      "--device-key", DevicePub(), "--manufactured", "2026-01-01", "--key", acme_});
  const uint64_t before = TreeSize();

  // The same serial with another device key.
  Outcome r = Prov({"manufacturer", "device", "--org", "acme-cam", "--serial", "SN-1", "--model-id",
                "AC-100", "--device-key", DevicePub(), "--manufactured", "2026-01-01", "--key",
                acme_});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("DUPLICATE_SERIAL: "), std::string::npos) << Describe(r);
  json j = ProvJson({"manufacturer", "device", "--org", "acme-cam", "--serial", "SN-1",
                     "--model-id", "AC-100", "--device-key", DevicePub(), "--manufactured",
                     "1767225600", "--key", acme_},
                    1);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["reason"], "DUPLICATE_SERIAL");
  EXPECT_FALSE(j["message"].get<std::string>().empty());

  // The distributor does not hold SN-1.
  r = Prov({"transfer", "--manufacturer", "acme-cam", "--serial", "SN-1", "--from", "dist-co",
            "--to", "buyer-gov", "--key", dist_});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("NOT_CUSTODIAN: "), std::string::npos) << Describe(r);

  // One authority signature of two.
  r = Prov({"authority", "org", "--id", "shell-co", "--name", "Shell Co", "--country", "GB",
            "--key", gov_a_});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("INSUFFICIENT_SIGNATURES: "), std::string::npos) << Describe(r);

  // A manufacturer key is no authority.
  r = Prov({"authority", "org", "--id", "shell-co", "--name", "Shell Co", "--country", "GB",
            "--key", gov_a_, "--key", acme_});
  EXPECT_EQ(r.rc, 1) << Describe(r);

  EXPECT_EQ(TreeSize(), before) << "a refusal appended something";
}

TEST_F(ProvCliTest, ImportsTwoThousandRowsAndReportsTheBadOnesByLine) {
  ASSERT_NO_FATAL_FAILURE(SetUpMaker());
  const uint64_t before = Records();
  // Data row i is on line i + 2.
  std::string csv = "serial,model,device_public_key,manufactured,assembly_country\n";
  for (int i = 0; i < 2000; ++i) {
    std::string serial = "IMP-" + std::to_string(i), key = DevicePub();
    if (i == 10) key = "zz" + key.substr(2);                       // line 12: bad hex
    if (i == 1500) serial = "IMP-7";                               // line 1502: duplicate
    std::string date = i % 2 ? "2026-03-04" : "1767225600";
    if (i == 500) {
      csv += serial + ",AC-100," + key + "," + date + "\n";         // line 502: 4 columns
    } else {
      csv += serial + ",AC-100," + key + "," + date + ",VN\r\n";
    }
  }
  const std::string file = dir_ + "/devices.csv";
  Spit(file, csv);
  Outcome r = Prov({"manufacturer", "import", "--org", "acme-cam", "--csv", file, "--key", acme_,
                "--window", "100"});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.out.find("imported 1997 of 2000 rows: 1997 appended, 0 already logged, 1 refused, "
                       "2 malformed"),
            std::string::npos)
      << Describe(r);
  EXPECT_NE(r.out.find("line 12: BAD_HEX: "), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("line 502: BAD_COLUMNS: "), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("line 1502: DUPLICATE_SERIAL: "), std::string::npos) << Describe(r);
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "no progress bar without a terminal";
  EXPECT_EQ(Records(), before + 1997);
  const uint64_t size = TreeSize();

  // Again, with --json: nothing new lands (every serial is taken, or the
  // identical record was already logged in the same second).
  json j = ProvJson({"manufacturer", "import", "--org", "acme-cam", "--csv", file, "--key", acme_},
                    1);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["rows"], 2000);
  EXPECT_EQ(j["appended"], 0);
  EXPECT_EQ(j["already_logged"].get<size_t>() + j["refused"].size(), 1998u);
  ASSERT_EQ(j["malformed"].size(), 2u);
  EXPECT_EQ(j["malformed"][0]["line"], 12);
  EXPECT_EQ(j["malformed"][0]["reason"], "BAD_HEX");
  EXPECT_EQ(j["malformed"][1]["line"], 502);
  EXPECT_EQ(TreeSize(), size) << "nothing new, not even an index root";

  // A clean file: exit 0, every row appended.
  std::string clean = "serial,model,device_public_key,manufactured,assembly_country\n";
  for (int i = 0; i < 5; ++i) {
    clean += "OK-" + std::to_string(i) + ",AC-100," + DevicePub() + ",2026-01-01,\n";
  }
  Spit(dir_ + "/clean.csv", clean);
  j = ProvJson({"manufacturer", "import", "--org", "acme-cam", "--csv", dir_ + "/clean.csv",
                "--key", acme_});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["rows"], 5);
  EXPECT_EQ(j["appended"], 5);
  EXPECT_TRUE(j["refused"].empty());
  EXPECT_TRUE(j["malformed"].empty());
  EXPECT_EQ(Records(), before + 2002);
  EXPECT_EQ(j["checkpoint"]["size"], TreeSize());
}

TEST_F(ProvCliTest, TransferOfManySerialsIsSplitUnderTheLeafLimit) {
  ASSERT_NO_FATAL_FAILURE(SetUpMaker());
  // 600 serials of 120 bytes do not fit one 64 KiB record.
  std::string csv = "serial,model,device_public_key,manufactured,assembly_country\n";
  std::string serials;
  for (int i = 0; i < 600; ++i) {
    std::string s = std::to_string(i);
    s = std::string(120 - s.size(), 'S') + s;
    csv += s + ",AC-100," + DevicePub() + ",2026-01-01,VN\n";
    serials += s + "\n";
  }
  Spit(dir_ + "/many.csv", csv);
  Spit(dir_ + "/many.txt", serials);
  Outcome r = Prov({"manufacturer", "import", "--org", "acme-cam", "--csv", dir_ + "/many.csv",
                "--key", acme_});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  const uint64_t before = Records();

  r = Prov({"transfer", "--manufacturer", "acme-cam", "--serials-file", dir_ + "/many.txt",
            "--from", "acme-cam", "--to", "dist-co", "--key", acme_, "--out", dir_ + "/t.rec"});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/t.rec.1"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/t.rec.2"));

  r = Prov({"transfer", "--manufacturer", "acme-cam", "--serials-file", dir_ + "/many.txt",
            "--from", "acme-cam", "--to", "dist-co", "--key", acme_});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  size_t n = 0;
  for (size_t p = 0; (p = r.out.find("transfer logged at #", p)) != std::string::npos; ++p) ++n;
  EXPECT_EQ(n, 2u) << Describe(r);
  EXPECT_EQ(Records(), before + 2);
  // The distributor now holds all of them.
  Ok({"transfer", "--manufacturer", "acme-cam", "--serial", std::string(119, 'S') + "0",
      "--serial", std::string(117, 'S') + "599", "--from", "dist-co", "--to", "buyer-gov",
      "--key", dist_});
}

TEST_F(ProvCliTest, EveryFailureExitsWithItsOwnCode) {
  ASSERT_NO_FATAL_FAILURE(SetUpMaker());
  const uint64_t before = TreeSize();

  // A CSV file that is not there.
  Outcome r = Prov({"manufacturer", "import", "--org", "acme-cam", "--csv", dir_ + "/nope.csv",
                "--key", acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("nope.csv"), std::string::npos) << Describe(r);
  // A CSV without the header.
  Spit(dir_ + "/nohdr.csv", "SN-1,AC-100," + DevicePub() + ",2026-01-01,VN\n");
  r = Prov({"manufacturer", "import", "--org", "acme-cam", "--csv", dir_ + "/nohdr.csv", "--key",
            acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("BAD_CSV_HEADER"), std::string::npos) << Describe(r);

  // Bad dates and keys are usage errors with a clear message.
  r = Prov({"manufacturer", "device", "--org", "acme-cam", "--serial", "SN-9", "--model-id",
            "AC-100", "--device-key", DevicePub(), "--manufactured", "2026-02-30", "--key", acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("BAD_DATE: --manufactured \"2026-02-30\""), std::string::npos)
      << Describe(r);
  r = Prov({"manufacturer", "device", "--org", "acme-cam", "--serial", "SN-9", "--model-id",
            "AC-100", "--device-key", "abcd", "--manufactured", "2026-02-03", "--key", acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("BAD_KEY"), std::string::npos) << Describe(r);
  r = Prov(With({"authority", "enroll", "--org", "acme-cam", "--role", "custodian"},
                Authorities()));
  EXPECT_EQ(r.rc, 64) << Describe(r);
  r = Prov({"manufacturer", "component", "--org", "acme-cam", "--part", "X", "--kind", "flux",
            "--country", "GB", "--key", acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);

  // A key file others can read.
  ASSERT_EQ(chmod(acme_.c_str(), 0644), 0);
  r = Prov({"manufacturer", "device", "--org", "acme-cam", "--serial", "SN-9", "--model-id",
            "AC-100", "--device-key", DevicePub(), "--manufactured", "2026-02-03", "--key", acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("KEY_FILE_PERMISSIONS"), std::string::npos) << Describe(r);
  Spit(dir_ + "/one.csv", "serial,model,device_public_key,manufactured,assembly_country\n"
                          "SN-9,AC-100," + DevicePub() + ",2026-01-01,VN\n");
  r = Prov({"manufacturer", "import", "--org", "acme-cam", "--csv", dir_ + "/one.csv", "--key",
            acme_});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_NE(r.err.find("KEY_FILE_PERMISSIONS"), std::string::npos) << Describe(r);
  ASSERT_EQ(chmod(acme_.c_str(), 0600), 0);

  // No server.
  const std::string real = server_;
  server_ = "127.0.0.1:1";
  r = Prov(With({"authority", "org", "--id", "x-co", "--name", "X", "--country", "GB"},
                Authorities()));
  EXPECT_EQ(r.rc, 4) << Describe(r);
  EXPECT_FALSE(r.err.empty());
  r = Prov({"manufacturer", "import", "--org", "acme-cam", "--csv", dir_ + "/one.csv", "--key",
            acme_});
  EXPECT_EQ(r.rc, 4) << Describe(r);
  server_ = real;

  // The log key of another ledger: nothing the server signs verifies. The
  // import checks the log's checkpoint before it sends anything.
  auto other = tools::InitLedger(PROVD_PATH, dir_ + "/other", "other.example/log",
                                 {{"gov-a", keys_.at("gov-a").public_key()}}, 1);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  const std::string pinned = vkey_file_;
  vkey_file_ = dir_ + "/other.vkey";
  state_dir_ = dir_ + "/trust-other";
  Spit(vkey_file_, *other + "\n");
  r = Prov({"manufacturer", "import", "--org", "acme-cam", "--csv", dir_ + "/one.csv", "--key",
            acme_});
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_NE(r.err.find("prov: "), std::string::npos) << Describe(r);
  vkey_file_ = pinned;
  state_dir_.clear();
  EXPECT_EQ(TreeSize(), before) << "the import against the wrong log key sent something";

  // A single record is accepted by the server, but its answer does not verify.
  vkey_file_ = dir_ + "/other.vkey";
  state_dir_ = dir_ + "/trust-other";
  r = Prov(With({"authority", "org", "--id", "x-co", "--name", "X", "--country", "GB"},
                Authorities()));
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_EQ(r.out.find("logged at"), std::string::npos) << Describe(r);
  vkey_file_ = pinned;
  state_dir_.clear();
}

TEST(ProvCliHelp, EveryRegistrationSubcommandHasHelp) {
  char tmpl[] = "/tmp/prov-help-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::vector<std::vector<std::string>> subs = {
      {"authority"},
      {"authority", "org"},
      {"authority", "ownership"},
      {"authority", "enroll"},
      {"authority", "revoke"},
      {"manufacturer"},
      {"manufacturer", "component"},
      {"manufacturer", "model"},
      {"manufacturer", "firmware"},
      {"manufacturer", "firmware-revoke"},
      {"manufacturer", "device"},
      {"manufacturer", "import"},
      {"transfer"},
      {"status"},
  };
  for (const auto& sub : subs) {
    std::vector<std::string> argv = {PROV_PATH};
    argv.insert(argv.end(), sub.begin(), sub.end());
    argv.push_back("--help");
    Outcome r = Exec(argv, dir);
    EXPECT_EQ(r.rc, 0) << sub.back() << ": " << Describe(r);
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub.back() << ": " << Describe(r);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
