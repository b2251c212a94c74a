// The users' verification jobs end to end, over real processes: a real provd,
// real camsim cameras, and the real `prov` binary for `check`, `delivery
// check`, `scan` and evidence bundles. Every assertion reads --json output
// and exit codes: 0 TRUSTED, 1 REJECTED, 2 cannot tell.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/client/exec.h"
#include "tests/client/index_layout.h"
#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "tests/client/lying_ledger.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"
#include "verifier/note.h"

namespace {

using json = nlohmann::json;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using testexec::Spit;
namespace pb = provenance::v1;

constexpr char kOrigin[] = "check.example/log";
constexpr int kCameras = 8;

std::string Serial(int i) { return "AC-" + std::to_string(100 + i); }

// A camsim serving one provisioned camera (optionally misbehaving), in
// plaintext unless `transport` gives it a TLS certificate.
class Camera {
 public:
  Camera(const std::string& dir, const std::string& fault,
         const std::vector<std::string>& transport = {"--plaintext"}) {
    out_ = dir + "/serve-" + fault + ".out";
    std::vector<std::string> argv = {CAMSIM_PATH, "serve", "--dir", dir, "--listen", "127.0.0.1:0",
                                     "--fault", fault};
    argv.insert(argv.end(), transport.begin(), transport.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      execv(args[0], args.data());
      _exit(127);
    }
    static const std::regex kServing(R"(camsim: serving \S+ on (\S+:\d+))");
    for (int i = 0; i < 500 && address_.empty(); ++i) {
      std::smatch m;
      std::string text = Slurp(out_);
      if (std::regex_search(text, m, kServing)) address_ = m[1];
      else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~Camera() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  std::string out_, address_;
};

class ProvCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);  // every prov here talks to loopback servers
    char tmpl[] = "/tmp/prov-check-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* k : {"gov-a", "gov-b", "acme", "dist"}) Key(k);
    auto vkey = tools::InitLedger(PROVD_PATH, dir_ + "/ledger", kOrigin,
                                  {{"gov-a", Pub("gov-a")}, {"gov-b", Pub("gov-b")}}, 2);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_file_ = dir_ + "/ledger/log.vkey";
    auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    ASSERT_NO_FATAL_FAILURE(BuildWorld());
  }
  void TearDown() override {
    cameras_.clear();
    if (provd_) {
      EXPECT_EQ(provd_->Stop(SIGTERM), 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string KeyPath(const std::string& name) { return dir_ + "/" + name + ".key"; }
  void Key(const std::string& name) {
    ASSERT_TRUE(verifier::WriteKeyFile(KeyPath(name), verifier::SigningKey::Generate()).ok());
  }
  verifier::PublicKey Pub(const std::string& name) {
    return verifier::ReadKeyFile(KeyPath(name))->public_key();
  }

  Outcome Prov(std::vector<std::string> args, const std::string& server = "") {
    std::vector<std::string> argv = {PROV_PATH, "--server", server.empty() ? provd_->target() : server,
                                     "--vkey", vkey_file_, "--state-dir", dir_ + "/trust", "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  }
  // Runs prov, expects `rc`, returns the last JSON line of stdout.
  json Run(std::vector<std::string> args, int rc, const std::string& server = "") {
    Outcome r = Prov(std::move(args), server);
    if (rc >= 0) {  // rc < 0: any
      EXPECT_EQ(r.rc, rc) << Describe(r);
    }
    std::string last = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
    last = last.substr(last.find_last_of('\n') == std::string::npos ? 0 : last.find_last_of('\n') + 1);
    json j = json::parse(last, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    return j;
  }
  void Ok(std::vector<std::string> args) { Run(std::move(args), 0); }
  std::vector<std::string> Auth(std::vector<std::string> args) {
    args.insert(args.end(), {"--key", KeyPath("gov-a"), "--key", KeyPath("gov-b")});
    return args;
  }
  std::string CamDir(int i) { return dir_ + "/cam" + std::to_string(i); }

  // Orgs, keys, a model with firmware, kCameras provisioned cameras imported
  // from CSV; acme -> dist -> buyer for all but camera 7, which dist sends
  // to `other`.
  void BuildWorld() {
    Ok(Auth({"authority", "law", "--code", "CN-NIL-2017", "--name", "PRC National Intelligence Law",
             "--jurisdiction", "CN"}));
    for (const char* org : {"acme", "dist", "buyer", "other"}) {
      Ok(Auth({"authority", "org", "--id", org, "--name", org, "--country", "GB"}));
    }
    Ok(Auth({"authority", "enroll", "--key-file", KeyPath("acme"), "--org", "acme", "--role",
             "manufacturer,custodian"}));
    Ok(Auth({"authority", "enroll", "--key-file", KeyPath("dist"), "--org", "dist", "--role",
             "custodian"}));
    Ok({"manufacturer", "component", "--org", "acme", "--part", "SOC", "--kind", "soc",
        "--country", "GB", "--key", KeyPath("acme")});
    Ok({"manufacturer", "model", "--org", "acme", "--model-id", "CAM", "--component", "acme/SOC",
        "--key", KeyPath("acme")});
    firmware_ = dir_ + "/firmware.bin";
    Spit(firmware_, std::string(4096, 'f'));
    Ok({"manufacturer", "firmware", "--org", "acme", "--model-id", "CAM", "--version", "1.0",
        "--image", firmware_, "--key", KeyPath("acme")});
    std::string csv = "serial,model,device_public_key,manufactured,assembly_country\n";
    std::string serials;
    for (int i = 0; i < kCameras; ++i) {
      Outcome r = Exec({CAMSIM_PATH, "provision", "--dir", CamDir(i), "--manufacturer-org", "acme",
                        "--manufacturer-name", "Acme", "--serial", Serial(i), "--model-id", "CAM",
                        "--model-name", "Cam", "--firmware-version", "1.0", "--firmware-image",
                        firmware_},
                       dir_);
      ASSERT_EQ(r.rc, 0) << Describe(r);
      json dev = json::parse(r.out);
      csv += Serial(i) + ",CAM," + dev["device_public_key"].get<std::string>() + ",2026-01-01,GB\n";
      serials += Serial(i) + "\n";
    }
    Spit(dir_ + "/devices.csv", csv);
    Ok({"manufacturer", "import", "--org", "acme", "--csv", dir_ + "/devices.csv", "--key",
        KeyPath("acme")});
    Spit(dir_ + "/all.txt", serials);
    Ok({"transfer", "--manufacturer", "acme", "--serials-file", dir_ + "/all.txt", "--from",
        "acme", "--to", "dist", "--reference", "PO-1", "--key", KeyPath("acme")});
    std::vector<std::string> to_buyer = {"transfer", "--manufacturer", "acme", "--from", "dist",
                                         "--to", "buyer", "--key", KeyPath("dist")};
    for (int i = 0; i < kCameras; ++i) {
      if (i == 7) continue;
      to_buyer.insert(to_buyer.end(), {"--serial", Serial(i)});
    }
    Ok(to_buyer);
    Ok({"transfer", "--manufacturer", "acme", "--serial", Serial(7), "--from", "dist", "--to",
        "other", "--key", KeyPath("dist")});
  }

  static std::set<std::string> Codes(const json& device) {
    std::set<std::string> out;
    for (const auto& f : device["findings"]) out.insert(f["code"].get<std::string>());
    return out;
  }
  json Check(int rc, std::vector<std::string> extra) {
    std::vector<std::string> args = {"check", "--manufacturer", "acme"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, rc);
  }
  json Scan(int rc, const std::string& fault, std::vector<std::string> extra = {},
            int camera = 1, const std::string& server = "") {
    cameras_.push_back(std::make_unique<Camera>(CamDir(camera), fault));
    EXPECT_FALSE(cameras_.back()->address().empty()) << "camsim did not start";
    std::vector<std::string> args = {"scan", "--device", cameras_.back()->address(), "--buyer",
                                     "buyer"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, rc, server);
  }

  std::string dir_, vkey_file_, firmware_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::vector<std::unique_ptr<Camera>> cameras_;
};

TEST_F(ProvCheckTest, CheckGivesVerdictsWithTheirFindings) {
  json ok = Check(0, {"--serial", Serial(1), "--buyer", "buyer", "--supplier", "dist", "--model",
                      "CAM"});
  EXPECT_EQ(ok["verdict"], "TRUSTED");
  EXPECT_EQ(Codes(ok), (std::set<std::string>{"REGISTERED", "CUSTODY", "FROM_SUPPLIER", "STATUS",
                                              "MODEL", "NO_POLICY", "ATTESTATION_NOT_CHECKED"}));
  EXPECT_GT(ok["checkpoint"]["size"].get<uint64_t>(), 0u);

  json diverted = Check(1, {"--serial", Serial(7), "--buyer", "buyer", "--supplier", "dist"});
  EXPECT_EQ(diverted["verdict"], "REJECTED");
  EXPECT_TRUE(Codes(diverted).count("WRONG_CUSTODIAN"));
  EXPECT_TRUE(Codes(diverted).count("NOT_FROM_SUPPLIER"));
  EXPECT_TRUE(Codes(Check(1, {"--serial", Serial(2), "--buyer", "buyer", "--supplier", "acme"}))
                  .count("NOT_FROM_SUPPLIER"));
  EXPECT_TRUE(Codes(Check(1, {"--serial", Serial(1), "--model", "OTHER"})).count("MODEL_MISMATCH"));
  EXPECT_TRUE(Codes(Check(1, {"--serial", "AC-404"})).count("NOT_REGISTERED"));

  // Reported by the manufacturer (allowed as well as the custodian).
  Ok({"status", "--manufacturer", "acme", "--serial", Serial(3), "--condition", "stolen", "--key",
      KeyPath("acme")});
  EXPECT_TRUE(Codes(Check(1, {"--serial", Serial(3)})).count("DEVICE_STOLEN"));
  Ok({"status", "--manufacturer", "acme", "--serial", Serial(4), "--condition", "recalled",
      "--key", KeyPath("acme")});
  EXPECT_TRUE(Codes(Check(1, {"--serial", Serial(4)})).count("DEVICE_RECALLED"));

  // The manufacturer key is revoked, effective before the devices were issued.
  Ok(Auth({"authority", "revoke", "--key-file", KeyPath("acme"), "--effective", "2020-01-01"}));
  json revoked = Check(1, {"--serial", Serial(1), "--buyer", "buyer"});
  EXPECT_TRUE(Codes(revoked).count("SIGNED_BY_REVOKED_KEY"));
  for (const auto& f : revoked["findings"]) {
    if (f["code"] == "SIGNED_BY_REVOKED_KEY") {
      EXPECT_GE(f["indices"].size(), 2u);
    }
  }
}

TEST_F(ProvCheckTest, DeliveryCheckFlagsEveryProblemByLine) {
  std::string manifest = "manufacturer,serial,model\n";  // line 1
  for (int i = 0; i < kCameras; ++i) manifest += "acme," + Serial(i) + ",CAM\n";  // lines 2..9
  manifest += "acme,AC-404,CAM\n";      // line 10: never registered
  manifest += "acme," + Serial(2) + ",CAM\n";  // line 11: listed twice
  manifest += "acme," + Serial(5) + ",WRONG\n";  // line 12: wrong model
  Spit(dir_ + "/manifest.csv", manifest);
  json report = Run({"delivery", "check", dir_ + "/manifest.csv", "--buyer", "buyer", "--supplier",
                     "dist"},
                    1);
  EXPECT_EQ(report["rows"], kCameras + 3);
  EXPECT_EQ(report["trusted"], kCameras - 1);
  EXPECT_EQ(report["rejected"], 4);
  EXPECT_EQ(report["unverified"], 0);
  std::map<int, std::set<std::string>> by_line;
  for (const auto& d : report["devices"]) {
    if (d["verdict"] != "TRUSTED") by_line[d["line"].get<int>()] = Codes(d);
  }
  ASSERT_EQ(by_line.size(), 4u);
  EXPECT_TRUE(by_line[9].count("WRONG_CUSTODIAN"));  // camera 7 was diverted
  EXPECT_TRUE(by_line[9].count("NOT_FROM_SUPPLIER"));
  EXPECT_TRUE(by_line[10].count("NOT_REGISTERED"));
  EXPECT_TRUE(by_line[11].count("DUPLICATE_IN_MANIFEST"));
  EXPECT_TRUE(by_line[12].count("MODEL_MISMATCH"));

  Spit(dir_ + "/good.csv", "serial\n" + Serial(0) + "\n" + Serial(1) + "\n");
  json good = Run({"delivery", "check", dir_ + "/good.csv", "--buyer", "buyer", "--manufacturer",
                   "acme"},
                  0);
  EXPECT_EQ(good["trusted"], 2);

  Outcome missing = Prov({"delivery", "check", dir_ + "/nope.csv", "--buyer", "buyer"});
  EXPECT_EQ(missing.rc, 64) << Describe(missing);
  EXPECT_NE(missing.out.find("NO_FILE"), std::string::npos) << Describe(missing);
  Spit(dir_ + "/bad.csv", "manufacturer,model\nacme,CAM\n");
  Outcome bad = Prov({"delivery", "check", dir_ + "/bad.csv", "--buyer", "buyer"});
  EXPECT_EQ(bad.rc, 64) << Describe(bad);
  EXPECT_NE(bad.out.find("BAD_MANIFEST"), std::string::npos) << Describe(bad);
}

TEST_F(ProvCheckTest, ScanCatchesEveryCameraFault) {
  json good = Scan(0, "none");
  EXPECT_EQ(good["verdict"], "TRUSTED");
  EXPECT_TRUE(Codes(good).count("ATTESTED"));
  EXPECT_TRUE(Codes(Scan(1, "cloned-key")).count("ATTESTATION_KEY_MISMATCH"));
  EXPECT_TRUE(Codes(Scan(1, "tampered-firmware")).count("FIRMWARE_UNKNOWN"));
  EXPECT_TRUE(Codes(Scan(1, "replay")).count("NONCE_MISMATCH"));
  EXPECT_TRUE(Codes(Scan(1, "unregistered")).count("NOT_REGISTERED"));
  Ok({"manufacturer", "firmware-revoke", "--org", "acme", "--model-id", "CAM", "--version", "1.0",
      "--reason", "CVE", "--key", KeyPath("acme")});
  EXPECT_TRUE(Codes(Scan(1, "none")).count("FIRMWARE_REVOKED"));
  Outcome nobody = Prov({"scan", "--device", "127.0.0.1:1"});
  EXPECT_EQ(nobody.rc, 4) << Describe(nobody);
}

TEST_F(ProvCheckTest, ScanOverTlsChecksTheCamerasCertificate) {
  const std::string pki = dir_ + "/pki";
  Outcome certs = Exec({"/bin/bash", PROV_SOURCE_DIR "/scripts/make-test-certs.sh", pki}, dir_);
  ASSERT_EQ(certs.rc, 0) << Describe(certs);
  Camera cam(CamDir(1), "none", {"--tls-cert", pki + "/server.pem", "--tls-key", pki + "/server.key"});
  ASSERT_FALSE(cam.address().empty()) << "camsim did not start";
  const std::vector<std::string> scan = {"scan", "--device", cam.address(), "--buyer", "buyer"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), scan.begin(), scan.end());
    return extra;
  };
  json good = Run(with({"--device-tls-ca", pki + "/ca.pem"}), 0);
  EXPECT_EQ(good["verdict"], "TRUSTED");
  EXPECT_TRUE(Codes(good).count("ATTESTED"));
  // A camera whose certificate the installer's CA did not sign: no scan.
  Outcome wrong = Prov(with({"--device-tls-ca", pki + "/other-ca.pem"}));
  EXPECT_EQ(wrong.rc, 3) << Describe(wrong);
  EXPECT_NE(wrong.out.find("certificate verify failed"), std::string::npos) << Describe(wrong);
  // Plaintext to a camera that speaks TLS: no scan either.
  Outcome plain = Prov(scan);
  EXPECT_EQ(plain.rc, 4) << Describe(plain);
}

TEST_F(ProvCheckTest, BundlesWorkOfflineAndAnyChangedByteIsRefused) {
  const std::string bundle = dir_ + "/site.bundle";
  json exported = Run({"bundle", "export", "--custodian", "buyer", "--out", bundle}, 0);
  EXPECT_EQ(exported["devices"], kCameras - 1);
  Run({"bundle", "export", "--manufacturer", "acme", "--serial", Serial(1), "--serial", Serial(2),
       "--out", dir_ + "/two.bundle"},
      0);

  // Offline: nothing listens at the server address.
  const std::string nowhere = "127.0.0.1:1";
  EXPECT_EQ(Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
                 "--bundle", bundle},
                0, nowhere)["verdict"],
            "TRUSTED");
  EXPECT_EQ(Scan(0, "none", {"--bundle", bundle}, 1, nowhere)["verdict"], "TRUSTED");
  EXPECT_EQ(Run({"check", "--manufacturer", "acme", "--serial", Serial(2), "--buyer", "buyer",
                 "--bundle", dir_ + "/two.bundle"},
                0, nowhere)["verdict"],
            "TRUSTED");

  // Every sampled single-bit change, and a truncation, is refused (exit 3:
  // a security failure, not a verdict).
  const std::string bytes = Slurp(bundle);
  ASSERT_GT(bytes.size(), 1000u);
  const std::string tampered = dir_ + "/tampered.bundle";
  std::vector<size_t> positions = {0, bytes.size() - 1};
  for (size_t p = 1; p < bytes.size() - 1; p += bytes.size() / 300) positions.push_back(p);
  int accepted = 0;
  for (size_t p : positions) {
    std::string t = bytes;
    t[p] = static_cast<char>(t[p] ^ (1 << (p % 8)));
    Spit(tampered, t);
    Outcome r = Prov({"check", "--manufacturer", "acme", "--serial", Serial(1), "--bundle",
                      tampered},
                     nowhere);
    if (r.rc == 0) ++accepted;
    EXPECT_EQ(r.rc, 3) << "byte " << p << ": " << Describe(r);
  }
  EXPECT_EQ(accepted, 0);
  Spit(tampered, bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(Prov({"check", "--manufacturer", "acme", "--serial", Serial(1), "--bundle", tampered},
                 nowhere)
                .rc,
            3);

  // Another ledger's key does not verify the bundle.
  auto other = verifier::SigningKey::Generate();
  Spit(dir_ + "/other.vkey", verifier::FormatVerifierKey(kOrigin, other.public_key()) + "\n");
  Outcome wrong = Exec({PROV_PATH, "--vkey", dir_ + "/other.vkey", "--server", nowhere, "check",
                        "--manufacturer", "acme", "--serial", Serial(1), "--bundle", bundle},
                       dir_);
  EXPECT_EQ(wrong.rc, 3) << Describe(wrong);
}

TEST_F(ProvCheckTest, AForkOrRollbackIsALoudFailureNamingBothHeads) {
  // A second copy of the ledger (same log key) that then diverges.
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  std::filesystem::copy(dir_ + "/ledger", dir_ + "/fork", std::filesystem::copy_options::recursive);
  std::filesystem::remove(dir_ + "/fork/provd.log");
  auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  provd_ = std::move(p).value();
  Ok(Auth({"authority", "org", "--id", "late-a", "--name", "Late A", "--country", "GB"}));
  Ok(Auth({"authority", "org", "--id", "late-b", "--name", "Late B", "--country", "GB"}));
  json trusted = Run({"log", "checkpoint"}, 0);

  auto fork = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/fork");
  ASSERT_TRUE(fork.ok()) << fork.status().ToString();
  const std::string fork_addr = (*fork)->target();
  // Smaller than the trusted head: a rollback.
  Outcome rollback = Prov({"log", "checkpoint"}, fork_addr);
  EXPECT_EQ(rollback.rc, 3) << Describe(rollback);
  EXPECT_NE(rollback.out.find("ROLLBACK"), std::string::npos) << Describe(rollback);
  // Grown past it with other records: a fork. The message names both heads.
  for (const char* id : {"fork-a", "fork-b", "fork-c"}) {
    Exec({PROV_PATH, "--server", fork_addr, "--vkey", vkey_file_, "authority", "org", "--id", id,
          "--name", id, "--country", "GB", "--key", KeyPath("gov-a"), "--key", KeyPath("gov-b")},
         dir_);
  }
  Outcome forked = Prov({"check", "--manufacturer", "acme", "--serial", Serial(1)}, fork_addr);
  EXPECT_EQ(forked.rc, 3) << Describe(forked);
  EXPECT_NE(forked.out.find("FORK"), std::string::npos) << Describe(forked);
  EXPECT_NE(forked.out.find("size " + std::to_string(trusted["checkpoint"]["size"].get<uint64_t>())),
            std::string::npos)
      << Describe(forked);
  EXPECT_EQ((*fork)->Stop(SIGTERM), 0);
}

}  // namespace

// --- trust policies over the real ledger ---

// The demo data (tools/demo_policy.sh, also loaded by the README's main
// command) judged under both reference policies: every device's verdict and
// the findings that decide it.
TEST_F(ProvCheckTest, DemoDeliveryUnderBothReferencePolicies) {
  Outcome load = Exec({"/usr/bin/env", "PROV=" + std::string(PROV_PATH), "K=" + dir_, "W=" + dir_,
                       "PROV_SERVER=" + provd_->target(), "PROV_VKEY=" + vkey_file_,
                       "PROV_STATE_DIR=" + dir_ + "/trust", "bash",
                       PROV_SOURCE_DIR "/tools/demo_policy.sh"},
                      dir_);
  ASSERT_EQ(load.rc, 0) << Describe(load);
  struct Want {
    std::string verdict;
    std::set<std::string> problems;
  };
  const std::map<std::string, std::map<std::string, Want>> want = {
      {"uk-sensitive-site",
       {{"acme-cam/DOME-2024", {"REJECTED", {"DENIED_LAW"}}},
        {"acme-cam/CLEAN-2022", {"REJECTED", {"DENIED_LAW"}}},
        {"acme-cam/CLEAN-2024", {"TRUSTED", {}}},
        {"acme-cam/MEM-2024", {"UNVERIFIED", {"MISSING_OWNERSHIP_FACTS"}}},
        // Vista Semiconductor is a Hong Kong company: whether it is itself
        // subject to the NIL needs a ruling (its owner is, anyway).
        {"acme-cam/BULLET-2024", {"REJECTED", {"DENIED_LAW", "NEEDS_RULING"}}},
        {"lumen-vision/LV-2024", {"REJECTED", {"DENIED_LAW"}}},
        {"hikvision/NOVA-2024", {"REJECTED", {"DENIED_LAW"}}}}},
      {"ndaa-889",
       {{"acme-cam/DOME-2024", {"TRUSTED", {}}},
        // Huaxin holds 41 % of Hikvision, 40 % of Lumen Vision and (until
        // 2023) 60 % of Sentinel: affiliates under common control.
        {"acme-cam/CLEAN-2022", {"REJECTED", {"DENIED_AFFILIATE"}}},
        {"acme-cam/CLEAN-2024", {"TRUSTED", {}}},
        {"acme-cam/MEM-2024", {"UNVERIFIED", {"MISSING_OWNERSHIP_FACTS"}}},
        {"acme-cam/BULLET-2024", {"REJECTED", {"DENIED_ORG"}}},
        {"lumen-vision/LV-2024", {"REJECTED", {"DENIED_AFFILIATE"}}},
        {"hikvision/NOVA-2024", {"REJECTED", {"DENIED_ORG"}}}}}};
  for (const auto& [policy, devices] : want) {
    const std::string html = dir_ + "/" + policy + ".html";
    // A government site: inside NDAA s.889's uses for the three video makers.
    json d = Run({"delivery", "check", dir_ + "/policy-manifest.csv", "--buyer", "buyer-gov",
                  "--policy", PROV_SOURCE_DIR "/policies/" + policy + ".yaml", "--purpose",
                  "government-facility-security", "--html", html},
                 1);
    EXPECT_EQ(d["policy"]["name"], policy);
    ASSERT_EQ(d["devices"].size(), devices.size()) << policy;
    for (const auto& row : d["devices"]) {
      const std::string name = row["device"];
      ASSERT_TRUE(devices.count(name)) << name;
      EXPECT_EQ(row["verdict"], devices.at(name).verdict) << policy << " " << name;
      std::set<std::string> problems;
      for (const auto& f : row["findings"]) {
        if (f["severity"] == "reject" || f["severity"] == "unverified") {
          problems.insert(f["code"].get<std::string>());
        }
      }
      EXPECT_EQ(problems, devices.at(name).problems) << policy << " " << name;
    }
    const std::string page = Slurp(html);
    for (const auto& [name, w] : devices) EXPECT_NE(page.find(name), std::string::npos) << name;
    EXPECT_NE(page.find("<svg"), std::string::npos);
  }
  // The explanation names the path and the time: the sensor maker's owner
  // until 2023 taints the unit made in 2022.
  json c = Run({"check", "--manufacturer", "acme-cam", "--serial", "CLEAN-2022", "--buyer",
                "buyer-gov", "--policy", PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml"},
               1);
  bool explained = false;
  for (const auto& f : c["findings"]) {
    const std::string m = f["message"];
    if (f["code"] == "DENIED_LAW" &&
        m.find("image sensor IMX-9 made by Sentinel Sensors GmbH (DE), 60 % owned by Huaxin "
               "State Holdings Group (CN, state-owned, subject to CN-NIL-2017) since 2015-01-01 "
               "until 2023-07-01") == 0 &&
        m.find("(at manufacture (2022-05-01))") != std::string::npos) {
      explained = true;
      EXPECT_EQ(f["indices"].size(), 4u);
    }
  }
  EXPECT_TRUE(explained) << c.dump(2);
  // An affiliate is explained through the common owner, whose holding in
  // Hikvision the server's evidence carries (the owner's records, either side).
  json lv = Run({"check", "--manufacturer", "lumen-vision", "--serial", "LV-2024", "--buyer",
                 "buyer-gov", "--policy", PROV_SOURCE_DIR "/policies/ndaa-889.yaml",
                 "--purpose", "public-safety"},
                1);
  bool affiliate = false;
  for (const auto& f : lv["findings"]) {
    const std::string m = f["message"];
    if (f["code"] == "DENIED_AFFILIATE" &&
        m.find("40 % owned by Huaxin State Holdings Group (CN, state-owned, subject to "
               "CN-NIL-2017) since 2018-01-01; Huaxin State Holdings Group (CN, state-owned, "
               "subject to CN-NIL-2017) also holds 41 % of Hangzhou Hikvision Digital "
               "Technology Co., Ltd. (CN, subject to CN-NIL-2017): under common control with "
               "hikvision, so an affiliate of hikvision") != std::string::npos) {
      affiliate = true;
    }
  }
  EXPECT_TRUE(affiliate) << lv.dump(2);
}

TEST_F(ProvCheckTest, PolicyRequirementsForCheckAndScan) {
  // Only the ledger checks and a required attestation: `check` cannot
  // attest, `scan` can.
  Spit(dir_ + "/attest.yaml",
       "name: attest\ndeny: {countries: [KP]}\nowners: {include: false}\n"
       "require: {attestation: true, released_firmware: true}\n");
  json c = Check(2, {"--serial", Serial(1), "--buyer", "buyer", "--policy", dir_ + "/attest.yaml"});
  EXPECT_EQ(c["verdict"], "UNVERIFIED");
  EXPECT_TRUE(Codes(c).count("ATTESTATION_REQUIRED"));
  json s = Scan(0, "none", {"--policy", dir_ + "/attest.yaml"});
  EXPECT_EQ(s["verdict"], "TRUSTED") << s.dump(2);
  EXPECT_EQ(s["policy"]["name"], "attest");
  // Tampered firmware is rejected while the policy requires released
  // firmware, and shown as information when it does not.
  Scan(1, "tampered-firmware", {"--policy", dir_ + "/attest.yaml"}, 3);
  Spit(dir_ + "/any-fw.yaml",
       "name: any-fw\ndeny: {countries: [KP]}\nowners: {include: false}\n"
       "require: {released_firmware: false}\n");
  json any = Scan(0, "tampered-firmware", {"--policy", dir_ + "/any-fw.yaml"}, 3);
  EXPECT_TRUE(Codes(any).count("FIRMWARE_UNKNOWN"));
  // A clone is rejected whatever the policy says: it is evidence, not a check.
  Scan(1, "cloned-key", {"--policy", dir_ + "/any-fw.yaml"}, 2);
  // With owners judged, acme has no recorded owner: unverified.
  Spit(dir_ + "/owners.yaml", "name: owners\ndeny: {laws: [CN-NIL-2017]}\n");
  json o = Check(2, {"--serial", Serial(1), "--buyer", "buyer", "--policy", dir_ + "/owners.yaml"});
  EXPECT_EQ(Codes(o).count("MISSING_OWNERSHIP_FACTS"), 1u);
}

TEST_F(ProvCheckTest, ABadPolicyFileIsAUsageErrorWithItsLine) {
  Spit(dir_ + "/bad.yaml", "name: bad\ndeny:\n  laws: [CN-NIL-2017]\nowners:\n  threshold: 25\n");
  Outcome r = Prov({"check", "--manufacturer", "acme", "--serial", Serial(1), "--policy",
                    dir_ + "/bad.yaml"});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  // --json: the error is a JSON object on stdout.
  json e = json::parse(r.out, nullptr, false);
  EXPECT_EQ(e["reason"], "BAD_POLICY") << Describe(r);
  EXPECT_NE(e["message"].get<std::string>().find(
                "bad.yaml:5: unknown key 'threshold' under owners"),
            std::string::npos)
      << Describe(r);
  Outcome missing = Prov({"delivery", "check", dir_ + "/none.csv", "--buyer", "buyer",
                          "--policy", dir_ + "/nope.yaml"});
  EXPECT_EQ(missing.rc, 64);
  EXPECT_NE(missing.out.find("POLICY_NOT_FOUND"), std::string::npos) << Describe(missing);
}

// --- a lying server is always caught ---

// A compromised operator stands between the clients and the real provd and
// lies in one way at a time. Every lie is refused with exit 2 (cannot
// verify) and a precise reason; nothing the liar says is trusted. A lie is
// a security failure (exit 3), except evidence that leaves a dependency out,
// which makes the verdict UNVERIFIED (exit 2).
TEST_F(ProvCheckTest, ALyingServerIsAlwaysCaught) {
  using testlie::Lie;
  auto log_key = verifier::ReadKeyFile(dir_ + "/ledger/log.key");
  ASSERT_TRUE(log_key.ok()) << log_key.status().ToString();
  testlie::LyingLedger liar(provd_->target(), *log_key, kOrigin);
  const std::string lie = liar.target();
  Spit(dir_ + "/lie.csv", "manufacturer,serial,model\nacme," + Serial(1) + ",CAM\n");
  // Honest at first: the trust store pins the head through the liar.
  Run({"log", "checkpoint"}, 0, lie);
  const std::vector<std::string> check = {"check", "--manufacturer", "acme", "--serial", Serial(1),
                                          "--buyer", "buyer"};
  auto expect_lie = [&](Lie l, const std::vector<std::string>& args, const std::string& reason) {
    liar.set_lie(l);
    Outcome r = Prov(args, lie);
    liar.set_lie(Lie::kNone);
    EXPECT_EQ(r.rc, reason == "EVIDENCE_INCOMPLETE" ? 2 : 3)
        << static_cast<int>(l) << ": " << Describe(r);
    EXPECT_NE((r.out + r.err).find(reason), std::string::npos)
        << static_cast<int>(l) << " wants " << reason << ": " << Describe(r);
  };
  expect_lie(Lie::kInclusionProof, check, "EVIDENCE_PROOF");
  expect_lie(Lie::kSwapDevice, check, "EVIDENCE_PROOF");
  expect_lie(Lie::kDropDependency, check, "EVIDENCE_INCOMPLETE");
  expect_lie(Lie::kOtherKey, check, "UNVERIFIED_NOTE");
  expect_lie(Lie::kOtherKey, {"log", "checkpoint"}, "UNVERIFIED_NOTE");
  // A key rotation the old key did not sign; one it signed (a stolen key)
  // that the log does not hold.
  expect_lie(Lie::kUnsignedRotation, {"log", "checkpoint"}, "ROTATION_NOT_SIGNED");
  expect_lie(Lie::kForgedRotation, {"log", "checkpoint"}, "ROTATION_NOT_LOGGED");
  expect_lie(Lie::kForgedRotation, check, "ROTATION_NOT_LOGGED");
  expect_lie(Lie::kFork, {"log", "checkpoint"}, "\"reason\":\"FORK\"");
  expect_lie(Lie::kEntryBytes, {"audit"}, "ENTRY_NOT_IN_TREE");
  expect_lie(Lie::kInclusionProof, {"delivery", "check", dir_ + "/lie.csv", "--buyer", "buyer"},
             "EVIDENCE_PROOF");
  expect_lie(Lie::kSwapDevice, {"bundle", "export", "--manufacturer", "acme", "--serial", Serial(1),
                                "--out", dir_ + "/lie.bundle"},
             "EVIDENCE_PROOF");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/lie.bundle"));
  // A scan judges the same evidence: the lie is caught there too.
  cameras_.push_back(std::make_unique<Camera>(CamDir(1), "none"));
  expect_lie(Lie::kInclusionProof, {"scan", "--device", cameras_.back()->address(), "--buyer",
                                    "buyer"},
             "EVIDENCE_PROOF");

  // The log grows behind the trust store's back (no --state-dir), then the
  // liar falsifies the consistency proof, or rolls back to its first head.
  Outcome grow = Exec({PROV_PATH, "--server", provd_->target(), "--vkey", vkey_file_, "authority",
                       "org", "--id", "late", "--name", "Late", "--country", "GB", "--key",
                       KeyPath("gov-a"), "--key", KeyPath("gov-b")},
                      dir_);
  ASSERT_EQ(grow.rc, 0) << Describe(grow);
  expect_lie(Lie::kConsistencyProof, {"log", "checkpoint"}, "PROOF_MISMATCH");
  Run({"log", "checkpoint"}, 0, lie);  // honest again: the store moves on
  expect_lie(Lie::kRollback, {"log", "checkpoint"}, "ROLLBACK");
}

// --- corruption is detected, not served ---

// A copy of the real database with one flipped byte in a leaf in the middle
// of the log (provd's open check sees only the newest part): `provd verify`
// names the leaf offline, and `prov audit` against a provd serving the copy
// names the same entry. The leaf is a signed record, or the index root the
// log wrote after it.
TEST_F(ProvCheckTest, AFlippedByteInACopyOfTheDatabaseIsNamed) {
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  provd_.reset();
  const uint64_t record = testlog::IndexOfSingleCommit(3);  // BuildWorld's fourth command
  for (const uint64_t bad : {record, record + 1}) {
    SCOPED_TRACE("leaf " + std::to_string(bad));
    const std::string copy = dir_ + "/copy" + std::to_string(bad);
    std::filesystem::copy(dir_ + "/ledger", copy, std::filesystem::copy_options::recursive);
    {
      auto kv = ledger::OpenRocksKvStore(copy + "/db", /*create=*/false);
      ASSERT_TRUE(kv.ok()) << kv.status().ToString();
      std::string leaf;
      ASSERT_TRUE(*(*kv)->Get(ledger::coding::LeafKey(bad), &leaf));
      ASSERT_EQ(testlog::IsIndexRoot(leaf), bad != record);
      leaf[leaf.size() / 2] ^= 0x01;
      ledger::KvBatch batch;
      batch.Put(ledger::coding::LeafKey(bad), leaf);
      ASSERT_TRUE((*kv)->Write(batch).ok());
    }
    Outcome verify = Exec({PROVD_PATH, "verify", "--data-dir", copy}, dir_);
    EXPECT_EQ(verify.rc, 3) << Describe(verify);
    EXPECT_NE((verify.out + verify.err).find("leaf " + std::to_string(bad) + " "),
              std::string::npos)
        << Describe(verify);

    auto p = tools::ProvdProcess::Start(PROVD_PATH, copy);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    Outcome audit = Prov({"audit"});
    EXPECT_EQ(audit.rc, 3) << Describe(audit);
    EXPECT_NE(audit.out.find("#" + std::to_string(bad)), std::string::npos) << Describe(audit);
    ASSERT_EQ(provd_->Stop(SIGTERM), 0);
    provd_.reset();
  }
  // The original still verifies.
  Outcome clean = Exec({PROVD_PATH, "verify", "--data-dir", dir_ + "/ledger"}, dir_);
  EXPECT_EQ(clean.rc, 0) << Describe(clean);
}

// --- honest verdicts: no ordinary mistake may turn into TRUSTED ---

// Runs prov with arguments exactly as given (no --json unless asked).
Outcome Raw(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), PROV_PATH);
  return Exec(args, dir);
}

json FindingOf(const json& device, const std::string& code) {
  for (const auto& f : device["findings"]) {
    if (f["code"] == code) return f;
  }
  return json();
}

// --purpose: an unknown use, or one without a policy, is refused before
// anything is fetched (exit 64 BAD_PURPOSE); a known one reaches the verdict.
TEST_F(ProvCheckTest, PurposeIsAKnownUseGivenWithAPolicy) {
  Spit(dir_ + "/m.csv", "manufacturer,serial,model\nacme," + Serial(1) + ",CAM\n");
  const std::string uk = PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer"},
           {"delivery", "check", dir_ + "/m.csv", "--buyer", "buyer"}}) {
    auto with = [&](std::vector<std::string> more) {
      std::vector<std::string> a = args;
      a.insert(a.end(), more.begin(), more.end());
      return a;
    };
    Outcome typo = Prov(with({"--policy", uk, "--purpose", "public-safty"}));
    EXPECT_EQ(typo.rc, 64) << Describe(typo);
    EXPECT_NE(typo.out.find("BAD_PURPOSE"), std::string::npos) << Describe(typo);
    EXPECT_NE(typo.out.find("--purpose 'public-safty' is not a purpose (public-safety, "
                            "government-facility-security, critical-infrastructure-security, "
                            "national-security, commercial, residential, other) (did you mean "
                            "'public-safety'?)"),
              std::string::npos)
        << Describe(typo);
    Outcome bare = Prov(with({"--purpose", "public-safety"}));
    EXPECT_EQ(bare.rc, 64) << Describe(bare);
    EXPECT_NE(bare.out.find("--purpose needs --policy"), std::string::npos) << Describe(bare);
  }
  // The UK rule names no uses: a purpose changes nothing, and is echoed.
  Ok(Auth({"authority", "ownership", "--owner", "dist", "--owned", "acme", "--stake-bp", "1000",
           "--from", "2020-01-01"}));
  json j = Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
                "--policy", uk, "--purpose", "residential"},
               0);
  EXPECT_EQ(j["policy"]["purpose"], "residential") << j.dump(2);
}

TEST_F(ProvCheckTest, APolicyNamingAnUnknownLawOrOrgIsRefusedWithTheNearestId) {
  Ok(Auth({"authority", "org", "--id", "hikvision", "--name", "Hikvision", "--country", "CN",
           "--law", "CN-NIL-2017"}));
  // acme's owners are on record (10 %, below any threshold): judged, not missing.
  Ok(Auth({"authority", "ownership", "--owner", "dist", "--owned", "acme", "--stake-bp", "1000",
           "--from", "2020-01-01"}));
  // A copy of the UK policy with "CN-NIL2017": before, every camera passed.
  std::string uk = Slurp(PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml");
  for (size_t at; (at = uk.find("CN-NIL-2017")) != std::string::npos;) uk.replace(at, 11, "CN-NIL2017");
  Spit(dir_ + "/uk-typo.yaml", uk);
  Outcome law = Prov({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
                      "--policy", dir_ + "/uk-typo.yaml"});
  EXPECT_EQ(law.rc, 64) << Describe(law);
  json e = json::parse(law.out, nullptr, false);
  EXPECT_EQ(e["reason"], "BAD_POLICY") << Describe(law);
  EXPECT_EQ(e["exit_code"], 64);
  const std::string m = e["message"];
  EXPECT_NE(m.find("uk-typo.yaml:"), std::string::npos) << m;
  EXPECT_NE(m.find("'CN-NIL2017' is not a law registered in the ledger"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'CN-NIL-2017'"), std::string::npos) << m;
  // "hikvison" in the NDAA policy, through delivery check too.
  std::string ndaa = Slurp(PROV_SOURCE_DIR "/policies/ndaa-889.yaml");
  ndaa.replace(ndaa.find("hikvision,"), 10, "hikvison,");
  Spit(dir_ + "/ndaa-typo.yaml", ndaa);
  Spit(dir_ + "/m.csv", "manufacturer,serial,model\nacme," + Serial(1) + ",CAM\n");
  Outcome org = Prov({"delivery", "check", dir_ + "/m.csv", "--buyer", "buyer", "--policy",
                      dir_ + "/ndaa-typo.yaml"});
  EXPECT_EQ(org.rc, 64) << Describe(org);
  EXPECT_NE(org.out.find("'hikvison' is not an organisation registered in the ledger"),
            std::string::npos)
      << Describe(org);
  // Every unknown id is named at once, not one per attempt.
  EXPECT_NE(org.out.find("'dahua'"), std::string::npos) << Describe(org);
  EXPECT_NE(org.out.find("'zte'"), std::string::npos) << Describe(org);
  EXPECT_NE(org.out.find("did you mean 'hikvision'"), std::string::npos) << Describe(org);
  // A country that is not ISO 3166-1 is refused when the file is read.
  Spit(dir_ + "/country.yaml", "name: c\ndeny:\n  countries: [XK, QQ]\n");
  Outcome country = Prov({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer",
                          "buyer", "--policy", dir_ + "/country.yaml"});
  EXPECT_EQ(country.rc, 64) << Describe(country);
  EXPECT_NE(country.out.find("country.yaml:3: deny.countries: 'XK' is not an ISO 3166-1 country"),
            std::string::npos)
      << Describe(country);
  // The real policies resolve and judge.
  EXPECT_EQ(Check(0, {"--serial", Serial(1), "--buyer", "buyer", "--policy",
                      PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml"})["verdict"],
            "TRUSTED");
  // Offline, a bundle must carry what the policy names.
  const std::string bare = dir_ + "/bare.bundle", full = dir_ + "/full.bundle";
  Run({"bundle", "export", "--manufacturer", "acme", "--serial", Serial(1), "--out", bare}, 0);
  Outcome offline = Prov({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer",
                          "buyer", "--bundle", bare, "--policy",
                          PROV_SOURCE_DIR "/policies/ndaa-889.yaml"},
                         "127.0.0.1:1");
  EXPECT_EQ(offline.rc, 64) << Describe(offline);
  EXPECT_NE(offline.out.find("not an organisation registered in this bundle"), std::string::npos)
      << Describe(offline);
  Outcome unknown = Prov({"bundle", "export", "--manufacturer", "acme", "--serial", Serial(1),
                          "--out", full, "--policy", PROV_SOURCE_DIR "/policies/ndaa-889.yaml"});
  EXPECT_EQ(unknown.rc, 64) << "huawei, zte, ... are not registered here: " << Describe(unknown);
  for (const char* id : {"huawei", "zte", "hytera", "dahua"}) {
    Ok(Auth({"authority", "org", "--id", id, "--name", id, "--country", "CN"}));
  }
  Run({"bundle", "export", "--manufacturer", "acme", "--serial", Serial(1), "--out", full,
       "--policy", PROV_SOURCE_DIR "/policies/ndaa-889.yaml"},
      0);
  EXPECT_EQ(Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
                 "--bundle", full, "--policy", PROV_SOURCE_DIR "/policies/ndaa-889.yaml"},
                0, "127.0.0.1:1")["verdict"],
            "TRUSTED");
}

TEST_F(ProvCheckTest, OrgFlagsMustResolveAndSerialsAreTrimmed) {
  struct Case {
    std::vector<std::string> args;
    std::string hint;
  };
  const std::vector<Case> cases = {
      {{"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer-gv"},
       "--buyer: 'buyer-gv' is not an organisation registered in the ledger"},
      {{"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyr"},
       "did you mean 'buyer'"},
      {{"check", "--manufacturer", "Acme", "--serial", Serial(1), "--buyer", "buyer"},
       "did you mean 'acme'"},
      {{"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
        "--supplier", "dst"},
       "--supplier: 'dst'"},
      {{"check", "--manufacturer", "acme", "--serial", "", "--buyer", "buyer"}, "--serial is empty"},
      {{"delivery", "check", dir_ + "/devices.csv", "--manufacturer", "acme", "--buyer", "byer"},
       "did you mean 'buyer'"},
  };
  for (const auto& c : cases) {
    Outcome r = Prov(c.args);
    EXPECT_EQ(r.rc, 64) << Describe(r);
    EXPECT_NE(r.out.find(c.hint), std::string::npos) << Describe(r);
  }
  // What CSV input does, the flag does too.
  EXPECT_EQ(Check(0, {"--serial", " " + Serial(1) + " ", "--buyer", " buyer"})["device"],
            "acme/" + Serial(1));
}

TEST_F(ProvCheckTest, NothingIsSilentlySkippedAndAPassIsExplained) {
  Ok(Auth({"authority", "ownership", "--owner", "dist", "--owned", "acme", "--stake-bp", "1000",
           "--from", "2020-01-01"}));
  // The unit diverted to another buyer: without --buyer, custody is not
  // judged, and that is said, and it is not TRUSTED (custody is required by
  // default).
  json diverted = Check(2, {"--serial", Serial(7)});
  EXPECT_EQ(diverted["verdict"], "UNVERIFIED");
  EXPECT_EQ(FindingOf(diverted, "CUSTODY_NOT_CHECKED")["severity"], "unverified");
  EXPECT_NE(FindingOf(diverted, "CUSTODY_NOT_CHECKED")["message"].get<std::string>().find("other"),
            std::string::npos);
  EXPECT_EQ(FindingOf(diverted, "NO_POLICY")["severity"], "skipped");
  EXPECT_EQ(FindingOf(diverted, "ATTESTATION_NOT_CHECKED")["severity"], "skipped");

  // A TRUSTED verdict lists every check made.
  json ok = Check(0, {"--serial", Serial(1), "--buyer", "buyer", "--supplier", "dist", "--model",
                      "CAM", "--policy", PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml"});
  for (const char* code : {"REGISTERED", "CUSTODY", "FROM_SUPPLIER", "STATUS", "MODEL"}) {
    EXPECT_EQ(FindingOf(ok, code)["severity"], "pass") << code << " " << ok.dump(2);
  }
  const json policy = FindingOf(ok, "POLICY_PASSED");
  EXPECT_EQ(policy["severity"], "pass") << ok.dump(2);
  EXPECT_NE(policy["message"].get<std::string>().find(
                "made by acme (GB): not denied by uk-sensitive-site; no owner reaches 25 % or "
                "has control (at manufacture (2026-01-01) and now)"),
            std::string::npos)
      << ok.dump(2);
  EXPECT_EQ(FindingOf(ok, "ATTESTATION_NOT_CHECKED")["severity"], "skipped");
  EXPECT_TRUE(FindingOf(ok, "NO_POLICY").is_null());

  // A failed check the policy does not require is "waived", never "pass";
  // custody not checked is "skipped" when the policy does not require it.
  Spit(dir_ + "/lax.yaml",
       "name: lax\ndeny: {countries: [KP]}\nowners: {include: false}\n"
       "require: {custody_to_buyer: false, not_revoked: false}\n");
  json lax = Check(0, {"--serial", Serial(7), "--buyer", "buyer", "--policy", dir_ + "/lax.yaml"});
  EXPECT_EQ(FindingOf(lax, "WRONG_CUSTODIAN")["severity"], "waived") << lax.dump(2);
  EXPECT_NE(FindingOf(lax, "WRONG_CUSTODIAN")["message"].get<std::string>().find(
                "(failed, but not required by lax)"),
            std::string::npos);
  EXPECT_TRUE(FindingOf(lax, "CUSTODY").is_null()) << "no pass line above a failed custody";
  json nobuyer = Check(0, {"--serial", Serial(7), "--policy", dir_ + "/lax.yaml"});
  EXPECT_EQ(FindingOf(nobuyer, "CUSTODY_NOT_CHECKED")["severity"], "skipped");
}

TEST_F(ProvCheckTest, BundlesTellWhatTheyHoldAndHowOldTheyAre) {
  const std::string bundle = dir_ + "/site.bundle";
  json exported = Run({"bundle", "export", "--custodian", "buyer", "--out", bundle}, 0);
  EXPECT_GT(exported["checkpoint"]["time"].get<int64_t>(), 0);
  const std::string nowhere = "127.0.0.1:1";
  // Camera 7 went to `other`: it is not in the buyer's bundle. That is
  // UNVERIFIED (the bundle cannot know), not "not registered".
  json absent = Run({"check", "--manufacturer", "acme", "--serial", Serial(7), "--buyer", "buyer",
                     "--bundle", bundle},
                    2, nowhere);
  EXPECT_EQ(FindingOf(absent, "NOT_IN_BUNDLE")["severity"], "unverified") << absent.dump(2);
  EXPECT_TRUE(FindingOf(absent, "NOT_REGISTERED").is_null());
  // What it holds.
  json shown = Run({"bundle", "show", bundle}, 0, nowhere);
  EXPECT_EQ(shown["devices"].size(), static_cast<size_t>(kCameras - 1));
  EXPECT_EQ(shown["checkpoint"], exported["checkpoint"]);
  Outcome text = Raw(dir_, {"--vkey", vkey_file_, "bundle", "show", bundle});
  EXPECT_EQ(text.rc, 0) << Describe(text);
  EXPECT_NE(text.out.find("acme/" + Serial(1)), std::string::npos) << Describe(text);
  // A delivery checked from the bundle.
  std::string manifest = "manufacturer,serial,model\n";
  for (int i = 0; i < kCameras; ++i) manifest += "acme," + Serial(i) + ",CAM\n";
  Spit(dir_ + "/m.csv", manifest);
  json d = Run({"delivery", "check", dir_ + "/m.csv", "--buyer", "buyer", "--bundle", bundle}, 2,
               nowhere);
  EXPECT_EQ(d["verdict"], "UNVERIFIED");
  EXPECT_EQ(d["offline"], true);
  EXPECT_EQ(d["trusted"], kCameras - 1);
  EXPECT_EQ(d["unverified"], 1);
  // A stale bundle: its checkpoint is older than --max-bundle-age.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  json stale = Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
                    "--bundle", bundle, "--max-bundle-age", "1"},
                   2, nowhere);
  EXPECT_EQ(FindingOf(stale, "BUNDLE_TOO_OLD")["severity"], "unverified") << stale.dump(2);
  json fresh = Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
                    "--bundle", bundle},
                   0, nowhere);
  EXPECT_EQ(FindingOf(fresh, "BUNDLE_FRESH")["severity"], "pass");
}

TEST_F(ProvCheckTest, TheCommandLineIsPredictableAndExitCodesTellWhatHappened) {
  // Global options after the subcommand; --version.
  Outcome after = Raw(dir_, {"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer",
                             "buyer", "--json", "--vkey", vkey_file_, "--server",
                             provd_->target()});
  EXPECT_EQ(after.rc, 0) << Describe(after);
  EXPECT_EQ(json::parse(after.out)["verdict"], "TRUSTED");
  Outcome version = Raw(dir_, {"--version"});
  EXPECT_EQ(version.rc, 0);
  EXPECT_EQ(version.out.rfind("prov ", 0), 0u) << Describe(version);
  // Unknown subcommands and options: a usage error with the nearest names, as JSON.
  Outcome typo = Prov({"chek", "--manufacturer", "acme"});
  EXPECT_EQ(typo.rc, 64) << Describe(typo);
  json e = json::parse(typo.out, nullptr, false);
  ASSERT_FALSE(e.is_discarded()) << Describe(typo);
  EXPECT_EQ(e["reason"], "USAGE");
  EXPECT_NE(e["message"].get<std::string>().find("did you mean 'check'"), std::string::npos);
  Outcome option = Prov({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyr", "x"});
  EXPECT_EQ(option.rc, 64) << Describe(option);
  EXPECT_NE(option.out.find("did you mean '--buyer'"), std::string::npos) << Describe(option);
  // Inverted ranges are usage errors; entries come as one document.
  EXPECT_EQ(Prov({"log", "entries", "--start", "10", "--end", "5"}).rc, 64);
  json entries = Run({"log", "entries", "--start", "0", "--end", "3"}, 0);
  EXPECT_EQ(entries["entries"].size(), 3u);
  json head = Run({"log", "checkpoint"}, 0);
  EXPECT_NE(head["checkpoint"]["note"].get<std::string>().find("\n\n"), std::string::npos);
  // Unreachable server: 4 (retry).
  Outcome down = Prov({"log", "checkpoint"}, "127.0.0.1:1");
  EXPECT_EQ(down.rc, 4) << Describe(down);
  // Another ledger's key: 3, naming both key ids.
  auto other = verifier::SigningKey::Generate();
  Spit(dir_ + "/other.vkey", verifier::FormatVerifierKey(kOrigin, other.public_key()) + "\n");
  Outcome wrong = Raw(dir_, {"--server", provd_->target(), "--vkey", dir_ + "/other.vkey",
                             "--state-dir", dir_ + "/other-trust", "log", "checkpoint"});
  EXPECT_EQ(wrong.rc, 3) << Describe(wrong);
  EXPECT_NE(wrong.err.find("it is signed by " + std::string(kOrigin) + "+"), std::string::npos)
      << Describe(wrong);
  EXPECT_NE(wrong.err.find("another ledger's"), std::string::npos) << Describe(wrong);
  // The private log key given as --vkey; a verifier key given to `key show`.
  Outcome priv = Raw(dir_, {"--server", provd_->target(), "--vkey", dir_ + "/ledger/log.key",
                            "log", "checkpoint"});
  EXPECT_EQ(priv.rc, 64) << Describe(priv);
  EXPECT_NE(priv.err.find("holds a private signing key"), std::string::npos) << Describe(priv);
  Outcome show = Raw(dir_, {"key", "show", vkey_file_});
  EXPECT_EQ(show.rc, 64) << Describe(show);
  EXPECT_NE(show.err.find("is a log verifier key"), std::string::npos) << Describe(show);
  EXPECT_EQ(show.err.find("chmod"), std::string::npos) << Describe(show);
}

// --- evidence is complete: nothing that matters can be left out ---

// A compromised operator leaves one record out of the evidence it serves, in
// turn: a later transfer, a stolen status, a newer organisation record, an
// ownership change, a firmware revocation and a key revocation. Each would
// change the honest verdict; without the index the rest of the evidence
// replays cleanly. `check`, `delivery check`, `scan` and an offline bundle
// exported through the liar all say UNVERIFIED (exit 2) with
// EVIDENCE_INCOMPLETE naming the subject and the left-out leaf. A liar that
// also cuts the leaf from the proven history breaks the proof (exit 3), and
// one that drops the subject's proof is EVIDENCE_INCOMPLETE too.
TEST_F(ProvCheckTest, LeavingARecordOutOfEvidenceIsCaughtEverywhere) {
  using testlie::Lie;
  auto log_key = verifier::ReadKeyFile(dir_ + "/ledger/log.key");
  ASSERT_TRUE(log_key.ok()) << log_key.status().ToString();
  testlie::LyingLedger liar(provd_->target(), *log_key, kOrigin);
  const std::string lie = liar.target();
  const std::string uk = PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml";
  Key("buyer");
  Ok(Auth({"authority", "enroll", "--key-file", KeyPath("buyer"), "--org", "buyer", "--role",
           "custodian"}));
  Ok(Auth({"authority", "org", "--id", "parent", "--name", "Parent Group", "--country", "CN",
           "--law", "CN-NIL-2017"}));

  struct Case {
    std::string what;
    int camera;
    bool policy;
    std::vector<std::string> log;  // the record the liar hides
    std::function<bool(const pb::Record&)> hidden;
    std::string subject;  // whose history it belongs to
    std::vector<std::string> undo = {};
  };
  const std::vector<Case> cases = {
      {"a later transfer", 2, false,
       {"transfer", "--manufacturer", "acme", "--serial", Serial(2), "--from", "buyer", "--to",
        "other", "--key", KeyPath("buyer")},
       [](const pb::Record& r) { return r.has_transfer() && r.transfer().to_org() == "other"; },
       "device acme/" + Serial(2)},
      {"a stolen status", 3, false,
       {"status", "--manufacturer", "acme", "--serial", Serial(3), "--condition", "stolen", "--key",
        KeyPath("acme")},
       [](const pb::Record& r) { return r.has_device_status(); },
       "device acme/" + Serial(3)},
      {"a newer organisation record", 4, true,
       Auth({"authority", "org", "--id", "acme", "--name", "acme", "--country", "CN", "--law",
             "CN-NIL-2017"}),
       [](const pb::Record& r) { return r.has_organization() && r.organization().country() == "CN"; },
       "org acme",
       Auth({"authority", "org", "--id", "acme", "--name", "acme", "--country", "GB"})},
      {"an ownership change", 5, true,
       Auth({"authority", "ownership", "--owner", "parent", "--owned", "acme", "--stake-bp", "6000",
             "--from", "2025-01-01"}),
       [](const pb::Record& r) { return r.has_ownership(); },
       "org acme"},
      {"a firmware revocation", 6, false,
       {"manufacturer", "firmware-revoke", "--org", "acme", "--model-id", "CAM", "--version", "1.0",
        "--reason", "CVE-2026-0001", "--key", KeyPath("acme")},
       [](const pb::Record& r) { return r.has_firmware_revocation(); },
       "model acme/CAM"},
      {"a key revocation", 1, false,
       Auth({"authority", "revoke", "--key-file", KeyPath("acme"), "--effective", "2020-01-01"}),
       [](const pb::Record& r) { return r.has_key_revocation(); },
       "key " + verifier::HexEncode(verifier::KeyId(Pub("acme"))).substr(0, 16)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const uint64_t hidden = Run(c.log, 0)["index"].get<uint64_t>();
    std::vector<std::string> policy;
    if (c.policy) policy = {"--policy", uk};
    std::vector<std::string> check = {"check", "--manufacturer", "acme", "--serial",
                                      Serial(c.camera), "--buyer", "buyer"};
    check.insert(check.end(), policy.begin(), policy.end());
    // Honestly, the record matters (the scan also judges the firmware).
    EXPECT_NE(Scan(-1, "none", policy, c.camera)["verdict"], "TRUSTED");
    // The liar leaves it out: each command names what is missing. (Once the
    // firmware is revoked, a scan is REJECTED for that too.)
    const bool firmware_revoked = &c > &cases[4];
    auto caught = [&](const json& j, bool scan = false) {
      EXPECT_EQ(j["verdict"], scan && firmware_revoked ? "REJECTED" : "UNVERIFIED") << j.dump();
      bool named = false;
      for (const auto& f : j["findings"]) {
        if (f["code"] != "EVIDENCE_INCOMPLETE") continue;
        const std::string m = f["message"];
        named |= m.find(c.subject) != std::string::npos &&
                 m.find("#" + std::to_string(hidden)) != std::string::npos &&
                 f["indices"] == json::array({hidden});
      }
      EXPECT_TRUE(named) << "wants EVIDENCE_INCOMPLETE naming " << c.subject << " and #" << hidden
                         << ": " << j.dump();
    };
    liar.set_omit(c.hidden);
    liar.set_lie(Lie::kOmit);
    caught(Run(check, 2, lie));
    Spit(dir_ + "/one.csv", "manufacturer,serial,model\nacme," + Serial(c.camera) + ",CAM\n");
    std::vector<std::string> delivery = {"delivery", "check", dir_ + "/one.csv", "--buyer", "buyer"};
    delivery.insert(delivery.end(), policy.begin(), policy.end());
    json d = Run(delivery, 2, lie);
    ASSERT_EQ(d["devices"].size(), 1u) << d.dump();
    caught(d["devices"][0]);
    caught(Scan(firmware_revoked ? 1 : 2, "none", policy, c.camera, lie), true);
    const std::string bundle = dir_ + "/hidden.bundle";
    std::filesystem::remove(bundle);
    Run({"bundle", "export", "--manufacturer", "acme", "--serial", Serial(c.camera), "--out",
         bundle},
        0, lie);
    liar.set_lie(Lie::kNone);
    std::vector<std::string> offline = {"check", "--manufacturer", "acme", "--serial",
                                        Serial(c.camera), "--buyer", "buyer", "--bundle", bundle};
    offline.insert(offline.end(), policy.begin(), policy.end());
    caught(Run(offline, 2, "127.0.0.1:9"));  // offline: no server is asked
    if (c.what == "a stolen status") {
      // Smarter liars: the history cut to match is a forged proof (exit 3);
      // no proof at all for the subject is incomplete evidence (exit 2).
      liar.set_lie(Lie::kOmitAndTrimHistory);
      Outcome trimmed = Prov(check, lie);
      EXPECT_EQ(trimmed.rc, 3) << Describe(trimmed);
      EXPECT_NE(trimmed.out.find("EVIDENCE_INDEX_PROOF"), std::string::npos) << Describe(trimmed);
      liar.set_lie(Lie::kOmitAndDropProof);
      json dropped = Run(check, 2, lie);
      EXPECT_NE(dropped.dump().find("does not prove the history of " + c.subject),
                std::string::npos)
          << dropped.dump();
    }
    liar.set_lie(Lie::kNone);
    if (!c.undo.empty()) Ok(c.undo);
  }
  liar.set_lie(Lie::kNone);
}

// --- the static files alone ---

// provd publishes tiles and index tiles; `prov --tiles-url` (no provd) gives
// the same verdicts as over gRPC for check, delivery check and a bundle, a
// device that is not registered is proven so, and a changed index tile is
// refused (exit 3), never judged.
TEST_F(ProvCheckTest, StaticFilesAloneGiveTheSameVerdicts) {
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger",
                                      {"--tiles-dir", dir_ + "/tiles", "--http-listen",
                                       "127.0.0.1:0", "--publish-interval-ms", "0"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  provd_ = std::move(p).value();
  ASSERT_FALSE(provd_->tiles_url().empty());
  const uint64_t head = Run({"log", "checkpoint"}, 0)["checkpoint"]["size"].get<uint64_t>();
  auto tiles = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {PROV_PATH, "--tiles-url", provd_->tiles_url(), "--vkey",
                                     vkey_file_, "--state-dir", dir_ + "/trust-tiles", "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  };
  auto last_json = [](const Outcome& r) {
    std::string out = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
    return json::parse(out.substr(out.find_last_of('\n') == std::string::npos
                                      ? 0
                                      : out.find_last_of('\n') + 1),
                       nullptr, false);
  };
  // The publisher catches up with the head.
  for (int i = 0; i < 200; ++i) {
    Outcome c = tiles({"log", "checkpoint"});
    if (c.rc == 0 && last_json(c)["checkpoint"]["size"] == head) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const auto& serial : {Serial(1), Serial(7), std::string("AC-404")}) {
    SCOPED_TRACE(serial);
    const std::vector<std::string> check = {"check", "--manufacturer", "acme", "--serial", serial,
                                            "--buyer", "buyer"};
    json grpc = Run(check, -1);
    Outcome st = tiles(check);
    json stat = last_json(st);
    EXPECT_EQ(stat["verdict"], grpc["verdict"]) << Describe(st);
    EXPECT_EQ(Codes(stat), Codes(grpc)) << Describe(st);
    EXPECT_FALSE(Codes(stat).count("EVIDENCE_INCOMPLETE")) << Describe(st);
  }
  EXPECT_TRUE(Codes(last_json(tiles({"check", "--manufacturer", "acme", "--serial", "AC-404"})))
                  .count("NOT_REGISTERED"));

  std::string manifest = "manufacturer,serial,model\n";
  for (int i = 0; i < kCameras; ++i) manifest += "acme," + Serial(i) + ",CAM\n";
  Spit(dir_ + "/static.csv", manifest);
  Outcome d = tiles({"delivery", "check", dir_ + "/static.csv", "--buyer", "buyer"});
  EXPECT_EQ(d.rc, 1) << Describe(d);  // camera 7 went elsewhere
  json dj = last_json(d);
  EXPECT_EQ(dj["trusted"], kCameras - 1) << Describe(d);
  EXPECT_EQ(dj["rejected"], 1) << Describe(d);

  const std::string bundle = dir_ + "/static.bundle";
  Outcome ex = tiles({"bundle", "export", "--manufacturer", "acme", "--serial", Serial(1), "--out",
                      bundle});
  ASSERT_EQ(ex.rc, 0) << Describe(ex);
  EXPECT_EQ(Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer",
                 "--bundle", bundle},
                0, "127.0.0.1:9")["verdict"],
            "TRUSTED");

  // Every index tile changed by one byte: refused as a forgery.
  provd_->Stop(SIGTERM);
  provd_.reset();
  auto q = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger",
                                      {"--tiles-dir", dir_ + "/tiles", "--http-listen",
                                       "127.0.0.1:0"});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  provd_ = std::move(q).value();
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/tiles/index")) {
    if (!e.is_regular_file()) continue;
    std::string bytes = Slurp(e.path());
    bytes[bytes.size() / 2] ^= 0x01;
    Spit(e.path(), bytes);
  }
  Outcome forged = tiles({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer",
                          "buyer"});
  EXPECT_EQ(forged.rc, 3) << Describe(forged);
  EXPECT_NE(forged.out.find("INDEX_TILE"), std::string::npos) << Describe(forged);
}
