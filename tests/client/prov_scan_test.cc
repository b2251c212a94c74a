// `prov scan --onvif` against real processes: a real provd, real camsim
// cameras serving ONVIF over HTTPS with factory certificates made by
// `camsim make-ca`, and `openssl s_server` as a camera's TLS endpoint for
// the handshakes camsim does not make. Every assertion reads --json output
// and exit codes: 0 TRUSTED, 1 REJECTED, 2 cannot tell.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>

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
#include "tools/provd_process.h"
#include "verifier/crypto.h"

namespace {

using json = nlohmann::json;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using testexec::Spit;

constexpr char kOrigin[] = "scan.example/log";
constexpr char kAcmeMac[] = "AC:DE:48:00:00:";     // + 2 hex digits; vetted for acme
constexpr char kDahuaMac[] = "3C:EF:8C:12:34:56";  // IEEE: Zhejiang Dahua; vetted for orion

// A child process whose stdout goes to a file; `ready` is matched against
// it until it appears (its first group is kept).
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& out, const std::string& ready)
      : out_(out) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      int fd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(args[0], args.data());
      _exit(127);
    }
    const std::regex re(ready);
    for (int i = 0; i < 1000 && match_.empty(); ++i) {
      std::smatch m;
      std::string text = Slurp(out_);
      if (std::regex_search(text, m, re)) {
        match_ = m.size() > 1 ? m[1].str() : m[0].str();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
  ~Child() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& match() const { return match_; }
  std::string output() const { return Slurp(out_); }

 private:
  pid_t pid_ = -1;
  std::string out_, match_;
};

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class ProvScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);
    char tmpl[] = "/tmp/prov-scan-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* k : {"gov-a", "gov-b", "acme", "orion"}) Key(k);
    auto vkey = tools::InitLedger(PROVD_PATH, dir_ + "/ledger", kOrigin,
                                  {{"gov-a", Pub("gov-a")}, {"gov-b", Pub("gov-b")}}, 2);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_file_ = dir_ + "/ledger/log.vkey";
    auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    Spit(dir_ + "/password", "s3cret\n");
    ASSERT_NO_FATAL_FAILURE(BuildWorld());
  }
  void TearDown() override {
    children_.clear();
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
  Outcome Prov(std::vector<std::string> args) {
    std::vector<std::string> argv = {PROV_PATH,  "--server",    provd_->target(), "--vkey",
                                     vkey_file_, "--state-dir", dir_ + "/trust",  "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  }
  json Run(std::vector<std::string> args, int rc) {
    Outcome r = Prov(std::move(args));
    EXPECT_EQ(r.rc, rc) << Describe(r);
    std::string last = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
    last =
        last.substr(last.find_last_of('\n') == std::string::npos ? 0 : last.find_last_of('\n') + 1);
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
  static std::string Serial(int i) { return "ACME-" + std::to_string(1000 + i); }
  static std::string Mac(int i) {
    char b[4];
    std::snprintf(b, sizeof b, "%02X", i);
    return kAcmeMac + std::string(b);
  }

  // acme (GB) makes model CAM (shown as "ACME" / "Cam 100"), registers its
  // device-ID CA and MAC block; orion (CN, subject to CN-NIL-2017) holds a
  // Dahua MAC block. Cameras 1-4 are provisioned under acme's CA: 1 and 2
  // covered by the CA, 3 with its certificate pinned; 4 is never registered.
  void BuildWorld() {
    Ok(Auth({"authority", "law", "--code", "CN-NIL-2017", "--name", "PRC National Intelligence Law",
             "--jurisdiction", "CN"}));
    Ok(Auth({"authority", "org", "--id", "acme", "--name", "Acme Cameras Ltd", "--country", "GB"}));
    Ok(Auth({"authority", "org", "--id", "orion", "--name", "Orion Vision Co", "--country", "CN",
             "--law", "CN-NIL-2017"}));
    Ok(Auth({"authority", "org", "--id", "buyer", "--name", "Buyer", "--country", "GB"}));
    Ok(Auth({"authority", "enroll", "--key-file", KeyPath("acme"), "--org", "acme", "--role",
             "manufacturer,custodian"}));
    Ok(Auth({"authority", "mac-block", "--org", "acme", "--prefix", "ACDE48", "--source", "test"}));
    Ok(Auth({"authority", "mac-block", "--org", "orion", "--prefix", "3CEF8C", "--source",
             "IEEE MA-L"}));
    Ok({"manufacturer", "model", "--org", "acme", "--model-id", "CAM", "--name", "Cam 100",
        "--shown-manufacturer", "ACME", "--shown-model", "Cam 100", "--key", KeyPath("acme")});
    Spit(dir_ + "/firmware.bin", std::string(4096, 'f'));
    Ok({"manufacturer", "firmware", "--org", "acme", "--model-id", "CAM", "--version", "1.0",
        "--image", dir_ + "/firmware.bin", "--key", KeyPath("acme")});
    Outcome ca =
        Exec({CAMSIM_PATH, "make-ca", "--dir", dir_ + "/ca", "--name", "Acme Device ID"}, dir_);
    ASSERT_EQ(ca.rc, 0) << Describe(ca);
    Ok({"manufacturer", "identity-ca", "--org", "acme", "--ca-id", "acme-devid", "--cert",
        dir_ + "/ca/root.pem", "--cert", dir_ + "/ca/intermediate.pem", "--serial-from",
        "subject-serial-number", "--normalize-serial", "--algorithm", "ECDSA P-256", "--algorithm",
        "RSA 2048", "--key", KeyPath("acme")});
    for (int i = 1; i <= 4; ++i) {
      Outcome r = Exec({CAMSIM_PATH,
                        "provision",
                        "--dir",
                        CamDir(i),
                        "--manufacturer-org",
                        "acme",
                        "--manufacturer-name",
                        "ACME",
                        "--serial",
                        Serial(i),
                        "--model-id",
                        "CAM",
                        "--model-name",
                        "Cam 100",
                        "--firmware-version",
                        "1.0",
                        "--firmware-image",
                        dir_ + "/firmware.bin",
                        "--identity-ca",
                        dir_ + "/ca",
                        "--mac",
                        Mac(i)},
                       dir_);
      ASSERT_EQ(r.rc, 0) << Describe(r);
    }
    for (int i = 1; i <= 3; ++i) {
      std::vector<std::string> args = {
          "manufacturer", "device", "--org",          "acme",       "--serial", Serial(i),
          "--model-id",   "CAM",    "--manufactured", "2026-01-01", "--key",    KeyPath("acme")};
      if (i == 3) {
        args.insert(args.end(), {"--identity-cert", CamDir(i) + "/identity.pem"});
      } else {
        args.insert(args.end(), {"--identity-ca", "acme-devid"});
      }
      Ok(args);
    }
    Ok({"transfer", "--manufacturer", "acme", "--serial", Serial(1), "--serial", Serial(2),
        "--serial", Serial(3), "--from", "acme", "--to", "buyer", "--key", KeyPath("acme")});
  }

  // Starts camera `i` serving ONVIF over HTTPS; returns HOST:PORT.
  std::string Camera(int i, const std::string& fault = "", std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {CAMSIM_PATH,       "serve",           "--dir",  CamDir(i),
                                     "--onvif",         "127.0.0.1:0",     "--user", "admin",
                                     "--password-file", dir_ + "/password"};
    if (!fault.empty()) argv.insert(argv.end(), {"--fault", fault});
    argv.insert(argv.end(), extra.begin(), extra.end());
    children_.push_back(
        std::make_unique<Child>(argv, dir_ + "/camsim-" + std::to_string(children_.size()) + ".out",
                                R"(serving \S+ onvif on https://(\S+:\d+)/)"));
    EXPECT_FALSE(children_.back()->match().empty()) << children_.back()->output();
    return children_.back()->match();
  }

  json Scan(int rc, const std::string& address, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "scan",    "--onvif", address, "--user", "admin", "--password-file", dir_ + "/password",
        "--buyer", "buyer"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, rc);
  }

  static std::set<std::string> Codes(const json& j) {
    std::set<std::string> out;
    for (const auto& f : j["findings"]) out.insert(f["code"].get<std::string>());
    return out;
  }
  static std::string Message(const json& j, const std::string& code) {
    for (const auto& f : j["findings"]) {
      if (f["code"] == code) return f["message"];
    }
    return "";
  }

  std::string dir_, vkey_file_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::vector<std::unique_ptr<Child>> children_;
};

TEST_F(ProvScanTest, AGenuineCameraIsProvenByItsFactoryCertificateAndTrusted) {
  json j = Scan(0, Camera(1));
  EXPECT_EQ(j["verdict"], "TRUSTED") << j.dump(2);
  const auto codes = Codes(j);
  for (const char* c : {"REGISTERED", "CUSTODY", "IDENTITY_PROVEN", "CLAIMS_MATCH",
                        "FIRMWARE_REPORTED", "MAC_VENDOR"}) {
    EXPECT_TRUE(codes.count(c)) << c << "\n" << j.dump(2);
  }
  EXPECT_NE(Message(j, "IDENTITY_PROVEN").find("acme/acme-devid"), std::string::npos);
  EXPECT_NE(Message(j, "FIRMWARE_REPORTED").find("self-reported"), std::string::npos);
  EXPECT_EQ(j["camera"]["tls"]["version"], "TLSv1.3");
  EXPECT_EQ(j["camera"]["certified"]["serial"], Serial(1));
  EXPECT_EQ(j["camera"]["claims"]["serial_number"], Serial(1));

  // A pinned certificate proves its unit by the key alone.
  json pinned = Scan(0, Camera(3));
  EXPECT_NE(Message(pinned, "IDENTITY_PROVEN").find("pinned"), std::string::npos) << pinned.dump(2);
}

TEST_F(ProvScanTest, AnUnprovenIdentityIsNotTrustedUnlessAPolicyWaivesIt) {
  // Another CA, and an integrator's replacement certificate: UNVERIFIED.
  json foreign = Scan(2, Camera(1, "foreign-ca"));
  EXPECT_TRUE(Codes(foreign).count("IDENTITY_UNPROVEN")) << foreign.dump(2);
  json replaced = Scan(2, Camera(2, "replaced-certificate"), {"--manufacturer", "acme"});
  EXPECT_TRUE(Codes(replaced).count("IDENTITY_UNPROVEN")) << replaced.dump(2);
  EXPECT_FALSE(Codes(replaced).count("IDENTITY_PROVEN"));
  // A policy may accept an integrator's certificate: then the finding is
  // waived, shown, and the rest decides.
  Spit(dir_ + "/integrator.yaml",
       "name: integrator-site\nsource: test\ndeny:\n  laws: [CN-NIL-2017]\nowners:\n"
       "  include: false\nrequire:\n  camera_identity: false\n");
  json waived = Scan(0, Camera(2, "replaced-certificate"),
                     {"--manufacturer", "acme", "--policy", dir_ + "/integrator.yaml"});
  for (const auto& f : waived["findings"]) {
    if (f["code"] == "IDENTITY_UNPROVEN") {
      EXPECT_EQ(f["severity"], "waived") << waived.dump(2);
    }
  }
  EXPECT_TRUE(Codes(waived).count("IDENTITY_UNPROVEN"));
  // A pinned unit presenting another key: a clone or a replaced certificate.
  json clone = Scan(1, Camera(3, "foreign-ca"), {"--manufacturer", "acme"});
  EXPECT_TRUE(Codes(clone).count("IDENTITY_KEY_MISMATCH")) << clone.dump(2);
  // A unit the maker never registered, though its certificate is genuine.
  json unknown = Scan(1, Camera(4));
  EXPECT_TRUE(Codes(unknown).count("NOT_REGISTERED")) << unknown.dump(2);
}

TEST_F(ProvScanTest, ClaimsThatDisagreeWithTheCertificateOrLedgerAreRejected) {
  json serial = Scan(1, Camera(1, "serial-mismatch"));
  EXPECT_TRUE(Codes(serial).count("SERIAL_MISMATCH")) << serial.dump(2);
  json weak = Scan(1, Camera(1, "static-rsa"));
  EXPECT_TRUE(Codes(weak).count("WEAK_HANDSHAKE")) << weak.dump(2);
  EXPECT_NE(Message(weak, "WEAK_HANDSHAKE").find("static-RSA"), std::string::npos);
  json creds = Scan(2, Camera(1, "wrong-credentials"));
  EXPECT_TRUE(Codes(creds).count("BAD_CREDENTIALS")) << creds.dump(2);
  json nobody = Scan(2, "127.0.0.1:" + std::to_string(FreePort()));
  EXPECT_TRUE(Codes(nobody).count("UNREACHABLE")) << nobody.dump(2);
}

TEST_F(ProvScanTest, AMacOfAnotherMakerBetraysARelabelledUnit) {
  json j = Scan(1, Camera(1, "foreign-mac", {"--fault-mac", kDahuaMac}),
                {"--policy", PROV_SOURCE_DIR "/policies/uk-sensitive-site.yaml"});
  EXPECT_TRUE(Codes(j).count("MAC_VENDOR_MISMATCH")) << j.dump(2);
  EXPECT_NE(Message(j, "MAC_VENDOR_MISMATCH").find("orion"), std::string::npos);
  // The policy judges the unit as orion's: subject to a denied law.
  EXPECT_TRUE(Codes(j).count("DENIED_LAW")) << j.dump(2);
  // A prefix no block in the ledger holds: IEEE's registry names the real
  // maker, which no policy can judge, so the unit cannot be trusted.
  json ieee = Scan(2, Camera(2, "foreign-mac", {"--fault-mac", "44:47:CC:00:00:01"}));
  EXPECT_NE(Message(ieee, "MAC_VENDOR_MISMATCH").find("Hikvision"), std::string::npos)
      << ieee.dump(2);
  // Something that is no MAC: a finding, and the evidence request still works.
  json junk = Scan(2, Camera(2, "foreign-mac", {"--fault-mac", "zz:not-a-mac"}));
  EXPECT_TRUE(Codes(junk).count("MAC_UNVETTED")) << junk.dump(2);
  EXPECT_TRUE(Codes(junk).count("IDENTITY_PROVEN")) << junk.dump(2);
}

TEST_F(ProvScanTest, ARevokedCaProvesNothingFromItsEffectiveTime) {
  Ok({"manufacturer", "identity-ca-revoke", "--org", "acme", "--ca-id", "acme-devid", "--effective",
      "2020-01-01", "--reason", "key leaked", "--key", KeyPath("acme")});
  json j = Scan(1, Camera(1));
  EXPECT_TRUE(Codes(j).count("CA_REVOKED")) << j.dump(2);
}

TEST_F(ProvScanTest, AHostileCameraGetsAFindingInBoundedTime) {
  for (const char* fault :
       {"xml-bomb", "huge-response", "wrong-content-type", "slow-drip", "endless"}) {
    const auto start = std::chrono::steady_clock::now();
    json j = Scan(2, Camera(1, fault), {"--timeout-ms", "1500"});
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(s, 15.0) << fault;
    EXPECT_TRUE(Codes(j).count("CAMERA_ANSWER")) << fault << "\n" << j.dump(2);
    EXPECT_NE(j["verdict"], "TRUSTED") << fault;
  }
}

TEST_F(ProvScanTest, OpensslServerHandshakesAreJudgedToo) {
  // The camera's own identity behind openssl s_server: TLS 1.3 is proven
  // (no ONVIF behind it, so the claims cannot be read: UNVERIFIED); TLS 1.2
  // with static-RSA key exchange only is refused.
  const std::string cam = CamDir(1);
  auto server = [&](std::vector<std::string> args) {
    const int port = FreePort();
    std::vector<std::string> argv = {
        "/usr/bin/openssl", "s_server", "-accept", std::to_string(port), "-naccept", "8", "-quiet"};
    argv.insert(argv.end(), args.begin(), args.end());
    children_.push_back(std::make_unique<Child>(
        argv, dir_ + "/s_server-" + std::to_string(children_.size()) + ".out", "(.*)"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return "127.0.0.1:" + std::to_string(port);
  };
  const std::string identity =
      server({"-cert", cam + "/identity.pem", "-key", cam + "/identity.key", "-cert_chain",
              cam + "/identity.pem", "-tls1_3"});
  json proven = Scan(2, identity);
  EXPECT_TRUE(Codes(proven).count("IDENTITY_PROVEN")) << proven.dump(2);
  EXPECT_TRUE(Codes(proven).count("CAMERA_ANSWER")) << proven.dump(2);
  EXPECT_EQ(proven["camera"]["certified"]["serial"], Serial(1));

  // A leaf for the same serial under a CA nobody registered: unproven.
  Outcome other = Exec(
      {"/bin/sh", "-c",
       "cd " + dir_ +
           " && openssl ecparam -name prime256v1 -genkey -noout -out other-ca.key && "
           "openssl req -x509 -new -key other-ca.key -subj '/CN=Other Root' -days 30 "
           "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
           "-out other-ca.pem && openssl ecparam -name prime256v1 -genkey -noout -out other.key && "
           "openssl req -new -key other.key -subj '/serialNumber=" +
           Serial(1) +
           "' -out other.csr && "
           "openssl x509 -req -in other.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial "
           "-days 30 -out other.pem"},
      dir_);
  ASSERT_EQ(other.rc, 0) << Describe(other);
  json unregistered =
      Scan(2, server({"-cert", dir_ + "/other.pem", "-key", dir_ + "/other.key", "-tls1_3"}),
           {"--manufacturer", "acme"});
  EXPECT_TRUE(Codes(unregistered).count("IDENTITY_UNPROVEN")) << unregistered.dump(2);
  EXPECT_EQ(unregistered["camera"]["chain"][0]["issuer"], "CN=Other Root")
      << "a handshake was made";
  // A leaf under acme's own intermediate for a serial acme never registered.
  Outcome stray = Exec(
      {"/bin/sh", "-c",
       "cd " + dir_ +
           " && openssl ecparam -name prime256v1 -genkey -noout -out stray.key && "
           "openssl req -new -key stray.key -subj '/serialNumber=ACME-9999' -out stray.csr && "
           "openssl x509 -req -in stray.csr -CA ca/intermediate.pem -CAkey ca/intermediate.key "
           "-CAcreateserial -days 30 -out stray.pem && cat ca/intermediate.pem >> stray.pem"},
      dir_);
  ASSERT_EQ(stray.rc, 0) << Describe(stray);
  json never = Scan(1, server({"-cert", dir_ + "/stray.pem", "-key", dir_ + "/stray.key",
                               "-cert_chain", dir_ + "/stray.pem", "-tls1_3"}));
  EXPECT_TRUE(Codes(never).count("NOT_REGISTERED")) << never.dump(2);
  EXPECT_EQ(never["camera"]["certified"]["serial"], "ACME-9999");

  Exec({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
        dir_ + "/rsa.key", "-out", dir_ + "/rsa.pem", "-subj", "/serialNumber=" + Serial(1),
        "-days", "2"},
       dir_);
  const std::string rsa = server({"-cert", dir_ + "/rsa.pem", "-key", dir_ + "/rsa.key", "-tls1_2",
                                  "-cipher", "AES128-GCM-SHA256"});
  json weak = Scan(1, rsa, {"--manufacturer", "acme"});
  EXPECT_TRUE(Codes(weak).count("WEAK_HANDSHAKE")) << weak.dump(2);

  // The maker revokes its CA: the same genuine chain now proves nothing.
  Ok({"manufacturer", "identity-ca-revoke", "--org", "acme", "--ca-id", "acme-devid", "--effective",
      "2020-01-01", "--reason", "key leaked", "--key", KeyPath("acme")});
  json revoked = Scan(1, server({"-cert", cam + "/identity.pem", "-key", cam + "/identity.key",
                                 "-cert_chain", cam + "/identity.pem", "-tls1_3"}));
  EXPECT_TRUE(Codes(revoked).count("CA_REVOKED")) << revoked.dump(2);
}

TEST_F(ProvScanTest, OfflineFromABundleTheAnchorsAndMacBlocksTravelAlong) {
  const std::string bundle = dir_ + "/site.bundle";
  Run({"bundle", "export", "--out", bundle, "--manufacturer", "acme", "--serial", Serial(1),
       "--org", "orion"},
      0);
  json j = Scan(0, Camera(1), {"--bundle", bundle});
  EXPECT_TRUE(Codes(j).count("IDENTITY_PROVEN")) << j.dump(2);
  EXPECT_TRUE(j["offline"].get<bool>());
  json relabelled =
      Scan(1, Camera(1, "foreign-mac", {"--fault-mac", kDahuaMac}), {"--bundle", bundle});
  EXPECT_TRUE(Codes(relabelled).count("MAC_VENDOR_MISMATCH")) << relabelled.dump(2);
}

TEST_F(ProvScanTest, ACommissioningIsSignedByTheInstallerAndSeenByTheNextHolder) {
  Key("fitter");
  Ok(Auth({"authority", "org", "--id", "fitter", "--name", "Fitter Ltd", "--country", "GB"}));
  Ok(Auth({"authority", "enroll", "--key-file", KeyPath("fitter"), "--org", "fitter", "--role",
           "installer"}));
  const std::string cam = Camera(1);
  json j = Scan(0, cam,
                {"--commission", "Depot 4, gate 3", "--installer", "fitter", "--installer-key",
                 KeyPath("fitter")});
  ASSERT_TRUE(j.contains("commissioning")) << j.dump(2);
  const uint64_t index = j["commissioning"]["index"];
  json c = Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer"}, 0);
  const std::string seen = Message(c, "COMMISSIONED");
  EXPECT_NE(seen.find("Depot 4, gate 3"), std::string::npos) << c.dump(2);
  EXPECT_NE(seen.find("fitter"), std::string::npos);
  EXPECT_NE(seen.find("#" + std::to_string(index)), std::string::npos);

  // Offline: written to a file, submitted later.
  const std::string file = dir_ + "/commission.rec";
  json off = Scan(0, cam,
                  {"--commission", "Depot 5", "--installer", "fitter", "--installer-key",
                   KeyPath("fitter"), "--commission-out", file});
  EXPECT_EQ(off["commissioning"]["file"], file) << off.dump(2);
  Run({"submit", file}, 0);
  json c2 = Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer"}, 0);
  int n = 0;
  for (const auto& f : c2["findings"]) n += f["code"] == "COMMISSIONED";
  EXPECT_EQ(n, 2) << c2.dump(2);

  // A key without the installer role is refused; nothing is logged.
  json wrong =
      Scan(1, cam,
           {"--commission", "Depot 6", "--installer", "acme", "--installer-key", KeyPath("acme")});
  EXPECT_EQ(wrong["reason"], "WRONG_ROLE") << wrong.dump(2);
  // A unit whose identity is not proven is never commissioned.
  json unproven = Scan(2, Camera(2, "replaced-certificate"),
                       {"--manufacturer", "acme", "--commission", "Depot 7", "--installer",
                        "fitter", "--installer-key", KeyPath("fitter")});
  EXPECT_EQ(unproven["reason"], "NOT_COMMISSIONED") << unproven.dump(2);
  json c3 = Run({"check", "--manufacturer", "acme", "--serial", Serial(1), "--buyer", "buyer"}, 0);
  n = 0;
  for (const auto& f : c3["findings"]) n += f["code"] == "COMMISSIONED";
  EXPECT_EQ(n, 2) << c3.dump(2);
}

TEST_F(ProvScanTest, ManyCamerasAtOnceGiveOneSummary) {
  const std::string targets = dir_ + "/targets.txt";
  Spit(targets, "# site survey\n" + Camera(1) + "\n\n" + Camera(2, "foreign-mac") + "\n" +
                    "127.0.0.1:" + std::to_string(FreePort()) + "\n");
  json j = Run({"scan", "--targets", targets, "--user", "admin", "--password-file",
                dir_ + "/password", "--buyer", "buyer", "--jobs", "3"},
               1);
  ASSERT_EQ(j["cameras"].size(), 3u) << j.dump(2);
  EXPECT_EQ(j["summary"]["trusted"], 1);
  EXPECT_EQ(j["summary"]["rejected"], 1);
  EXPECT_EQ(j["summary"]["unverified"], 1);
  EXPECT_EQ(j["cameras"][0]["verdict"], "TRUSTED");
  EXPECT_TRUE(Codes(j["cameras"][1]).count("MAC_VENDOR_MISMATCH"));
  EXPECT_TRUE(Codes(j["cameras"][2]).count("UNREACHABLE"));
  // A malformed targets file is a usage error naming the line.
  Spit(targets, "127.0.0.1:1\nnot a host:port:x\n");
  json bad = Run({"scan", "--targets", targets}, 64);
  EXPECT_EQ(bad["reason"], "BAD_TARGETS");
  EXPECT_NE(bad["message"].get<std::string>().find("line 2"), std::string::npos);
}

}  // namespace
