// Integration: the real `camsim` binary as an ONVIF camera. A device-ID CA
// and a device provisioned under it; its certificates checked with the
// openssl CLI and verifier/x509.h; `camsim serve --onvif` on a loopback
// port seen through `openssl s_client` (what each TLS fault presents) and
// cpp-httplib's client with onvif/soap.h (what the SOAP says); WS-Discovery
// on the loopback multicast group.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "onvif/discovery.h"
#include "onvif/soap.h"
#include "verifier/crypto.h"
#include "verifier/x509.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kYear9999End = 253402300799;  // 9999-12-31T23:59:59Z

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ExitCode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

// fork + exec `camsim args...` with stdout and stderr to files.
pid_t Spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  std::vector<std::string> argv = {CAMSIM_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_argv;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (o >= 0) dup2(o, 1);
    if (e >= 0) dup2(e, 2);
    execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  return pid;
}

// Runs a shell command (stdin /dev/null), returning its stdout and stderr.
std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(("(" + command + ") </dev/null 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

struct RunResult {
  int exit_code;
  std::string out, err;
};

// A running `camsim serve --onvif`; SIGKILLed if the test did not stop it.
struct Camera {
  ~Camera() {
    if (pid > 0) Stop(SIGKILL);
  }
  int Stop(int sig) {
    if (pid <= 0) return -1;
    kill(pid, sig);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    pid = -1;
    return ExitCode(wstatus);
  }
  std::unique_ptr<httplib::SSLClient> Client() const {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    // The identity is checked by openssl and verifier/x509.h, not here.
    c->enable_server_certificate_verification(false);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(10, 0);
    return c;
  }
  // The certificates `openssl s_client` is sent (leaf first) and its output.
  std::vector<std::string> PeerChain(const std::string& extra, std::string* output) const {
    *output = Shell("timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                    " -showcerts " + extra);
    auto ders = verifier::PemCertificatesToDer(*output);
    return ders.ok() ? *ders : std::vector<std::string>{};
  }

  pid_t pid = -1;
  int port = 0;
  std::string url;
};

class CamsimOnvifTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    char tmpl[] = "/tmp/camsim-onvif-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ca_ = root_ + "/ca";
    dev_ = root_ + "/dev";
    RunResult ca = Run({"make-ca", "--dir", ca_, "--name", "Example Device ID"});
    ASSERT_EQ(ca.exit_code, 0) << ca.err;
    ca_summary_ = json::parse(ca.out);
    RunResult r = Provision(dev_, {"--identity-ca", ca_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    device_ = json::parse(r.out);
    std::ofstream(root_ + "/password") << "s3cret pass\n";
  }

  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  RunResult Run(const std::vector<std::string>& args) {
    const std::string out = root_ + "/run.out", err = root_ + "/run.err";
    pid_t pid = Spawn(args, out, err);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    return {ExitCode(wstatus), ReadFile(out), ReadFile(err)};
  }

  RunResult Provision(const std::string& dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {"provision",
                                     "--dir",
                                     dir,
                                     "--manufacturer-org",
                                     "acme-cam",
                                     "--manufacturer-name",
                                     "Acme Cameras",
                                     "--serial",
                                     "SN-1",
                                     "--model-id",
                                     "acme-x1",
                                     "--model-name",
                                     "Acme X1",
                                     "--firmware-version",
                                     "1.2.0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }

  // `camsim serve --onvif 127.0.0.1:0 [extra...]`, waiting for its line.
  void Serve(std::vector<std::string> extra, std::unique_ptr<Camera>* camera) {
    static int n = 0;
    const std::string out = root_ + "/serve-" + std::to_string(++n) + ".out";
    const std::string err = root_ + "/serve.err";
    std::vector<std::string> args = {"serve", "--dir", dev_, "--onvif", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto c = std::make_unique<Camera>();
    c->pid = Spawn(args, out, err);
    ASSERT_GT(c->pid, 0);
    static const std::regex kServing(
        R"(camsim: serving (\S+) onvif on (https://127\.0\.0\.1:(\d+)/onvif/device_service)\n)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::smatch m;
    for (std::string text;; std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
      text = ReadFile(out);
      if (std::regex_search(text, m, kServing)) {
        c->url = m[2];
        c->port = std::stoi(m[3]);
        break;
      }
      int wstatus = 0;
      if (waitpid(c->pid, &wstatus, WNOHANG) == c->pid) {
        c->pid = -1;
        FAIL() << "camsim exited " << ExitCode(wstatus) << ": " << ReadFile(err);
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "camsim did not serve: " << text;
    }
    *camera = std::move(c);
  }

  std::vector<std::string> PemFile(const std::string& path) {
    auto ders = verifier::PemCertificatesToDer(ReadFile(path));
    EXPECT_TRUE(ders.ok()) << path << ": " << ders.status().ToString();
    return ders.ok() ? *ders : std::vector<std::string>{};
  }
  verifier::Certificate Parse(const std::string& der) {
    auto cert = verifier::ParseCertificateDer(der);
    EXPECT_TRUE(cert.ok()) << cert.status().ToString();
    return cert.ok() ? *cert : verifier::Certificate{};
  }
  std::string RootDer() { return PemFile(ca_ + "/root.pem").at(0); }

  std::string root_, ca_, dev_;
  json ca_summary_, device_;
};

int Mode(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

// --- make-ca and provision ----------------------------------------------------

TEST_F(CamsimOnvifTest, MakeCaWritesARootAndAnIntermediateOnce) {
  EXPECT_EQ(Mode(ca_ + "/root.key"), 0600);
  EXPECT_EQ(Mode(ca_ + "/intermediate.key"), 0600);
  const verifier::Certificate root = Parse(RootDer());
  const verifier::Certificate inter = Parse(PemFile(ca_ + "/intermediate.pem").at(0));
  EXPECT_TRUE(root.self_signed);
  EXPECT_TRUE(root.is_ca);
  EXPECT_EQ(root.key_algorithm, "ECDSA P-256");
  EXPECT_TRUE(inter.is_ca);
  EXPECT_EQ(inter.path_len, 0);
  EXPECT_EQ(inter.issuer, root.subject);
  EXPECT_EQ(ca_summary_["root"]["sha256"], verifier::HexEncode(root.sha256));
  EXPECT_EQ(ca_summary_["intermediate"]["sha256"], verifier::HexEncode(inter.sha256));
  // openssl agrees on the fingerprint.
  std::string fp = Shell("openssl x509 -in " + ca_ + "/root.pem -noout -fingerprint -sha256");
  fp.erase(std::remove(fp.begin(), fp.end(), ':'), fp.end());
  std::string want = ca_summary_["root"]["sha256"];
  std::transform(want.begin(), want.end(), want.begin(), ::toupper);
  EXPECT_NE(fp.find(want), std::string::npos) << fp;
  // The validity: from a day ago for 20 years.
  const int64_t now = std::time(nullptr);
  EXPECT_NEAR(root.not_before, now - 86400, 120);
  EXPECT_GT(root.not_after, now + 20 * 365 * 86400LL - 120);

  // Never made again over itself.
  const std::string key = ReadFile(ca_ + "/root.key"), pem = ReadFile(ca_ + "/root.pem");
  RunResult again = Run({"make-ca", "--dir", ca_, "--name", "Other"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("never overwritten"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(ca_ + "/root.key"), key);
  EXPECT_EQ(ReadFile(ca_ + "/root.pem"), pem);
}

TEST_F(CamsimOnvifTest, ProvisionedIdentityVerifiesWithOpenssl) {
  EXPECT_EQ(Mode(dev_ + "/identity.key"), 0600);
  const std::vector<std::string> chain = PemFile(dev_ + "/identity.pem");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[1], PemFile(ca_ + "/intermediate.pem").at(0));
  const std::string leaf_pem = root_ + "/leaf.pem";
  ASSERT_EQ(Shell("openssl x509 -in " + dev_ + "/identity.pem -out " + leaf_pem), "");

  std::string verify = Shell("openssl verify -CAfile " + ca_ + "/root.pem -untrusted " + ca_ +
                             "/intermediate.pem " + leaf_pem);
  EXPECT_EQ(verify, leaf_pem + ": OK\n");
  std::string text = Shell("openssl x509 -in " + leaf_pem + " -noout -subject -enddate");
  EXPECT_NE(text.find("subject=O = Acme Cameras, CN = Acme X1 SN-1, serialNumber = SN-1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("notAfter=Dec 31 23:59:59 9999 GMT"), std::string::npos) << text;
  // The notAfter is the GeneralizedTime 99991231235959Z in the DER itself.
  EXPECT_NE(chain[0].find("99991231235959Z"), std::string::npos);

  const verifier::Certificate leaf = Parse(chain[0]);
  EXPECT_EQ(leaf.subject_serial_number, "SN-1");
  EXPECT_EQ(leaf.not_after, kYear9999End);
  EXPECT_NEAR(leaf.not_before, std::time(nullptr) - 3600, 120);
  EXPECT_EQ(leaf.key_algorithm, "ECDSA P-256");
  EXPECT_FALSE(leaf.is_ca);
  EXPECT_TRUE(verifier::VerifyChain(chain, {RootDer()}, std::time(nullptr)).ok());
  EXPECT_EQ(device_["identity_spki_sha256"], verifier::HexEncode(leaf.spki_sha256));
  EXPECT_EQ(device_["identity_certificate_sha256"], verifier::HexEncode(leaf.sha256));
  EXPECT_EQ(device_["identity_ca_dir"], fs::canonical(ca_).string());
  // The key file holds the leaf's key.
  std::string match = Shell("openssl pkey -in " + dev_ +
                            "/identity.key -pubout -outform DER | "
                            "openssl dgst -sha256 -r");
  EXPECT_EQ(match.substr(0, 64), device_["identity_spki_sha256"]) << match;
}

TEST_F(CamsimOnvifTest, ProvisionNeverOverwritesAnIdentityKey) {
  const std::string key = ReadFile(dev_ + "/identity.key");
  EXPECT_NE(Provision(dev_, {"--identity-ca", ca_}).exit_code, 0);
  EXPECT_EQ(ReadFile(dev_ + "/identity.key"), key);

  // Even when the device key is gone: identity.key is created exclusively.
  const std::string other = root_ + "/other";
  fs::create_directories(other);
  std::ofstream(other + "/identity.key") << "keep me";
  chmod((other + "/identity.key").c_str(), 0600);
  RunResult r = Provision(other, {"--identity-ca", ca_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(ReadFile(other + "/identity.key"), "keep me");
}

TEST_F(CamsimOnvifTest, MacIsGivenOrAStableLocallyAdministeredOne) {
  const std::string mac = device_["mac"];
  ASSERT_TRUE(std::regex_match(mac, std::regex("([0-9A-F]{2}:){5}[0-9A-F]{2}"))) << mac;
  const int first = std::stoi(mac.substr(0, 2), nullptr, 16);
  EXPECT_EQ(first & 0x03, 0x02) << "locally administered, unicast: " << mac;
  RunResult same = Provision(root_ + "/same", {});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(json::parse(same.out)["mac"], mac);
  EXPECT_FALSE(json::parse(same.out).contains("identity_spki_sha256"));
  RunResult given = Provision(root_ + "/given", {"--mac", "ac-cc-8e-99-c9-15"});
  ASSERT_EQ(given.exit_code, 0) << given.err;
  EXPECT_EQ(json::parse(given.out)["mac"], "AC:CC:8E:99:C9:15");
  EXPECT_NE(Provision(root_ + "/bad", {"--mac", "AC:CC:8E:99:C9"}).exit_code, 0);
}

// --- TLS ------------------------------------------------------------------------

TEST_F(CamsimOnvifTest, PresentsTheIdentityChainOverTls13) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve({}, &cam));
  std::string out;
  EXPECT_EQ(cam->PeerChain("", &out), PemFile(dev_ + "/identity.pem")) << out;
  EXPECT_NE(out.find("TLSv1.3"), std::string::npos) << out;
  EXPECT_NE(cam->PeerChain("-tls1_2", &out).size(), 0u) << out;
  EXPECT_NE(out.find("ECDHE-ECDSA-"), std::string::npos) << out;
  EXPECT_EQ(cam->PeerChain("-tls1_1", &out).size(), 0u) << out;
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimOnvifTest, StaticRsaIsTls12Aes128GcmOnlyWithAnRsaIdentity) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "static-rsa"}, &cam));
  std::string out;
  std::vector<std::string> chain = cam->PeerChain("", &out);
  ASSERT_EQ(chain.size(), 2u) << out;
  EXPECT_NE(out.find("Protocol  : TLSv1.2"), std::string::npos) << out;
  EXPECT_NE(out.find("Cipher is AES128-GCM-SHA256"), std::string::npos) << out;
  const verifier::Certificate leaf = Parse(chain[0]);
  EXPECT_EQ(leaf.key_algorithm, "RSA 2048");
  EXPECT_EQ(leaf.subject_serial_number, "SN-1");
  EXPECT_TRUE(verifier::VerifyChain(chain, {RootDer()}, std::time(nullptr)).ok());
  // Nothing else is offered.
  EXPECT_EQ(cam->PeerChain("-tls1_3", &out).size(), 0u) << out;
  EXPECT_EQ(cam->PeerChain("-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256", &out).size(), 0u) << out;
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimOnvifTest, ForeignCaLeafHasTheSerialButAnotherIssuer) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "foreign-ca"}, &cam));
  std::string out;
  std::vector<std::string> chain = cam->PeerChain("", &out);
  ASSERT_EQ(chain.size(), 2u) << out;
  const verifier::Certificate leaf = Parse(chain[0]);
  EXPECT_EQ(leaf.subject_serial_number, "SN-1");
  EXPECT_EQ(leaf.subject, Parse(PemFile(dev_ + "/identity.pem").at(0)).subject);
  EXPECT_NE(chain[1], PemFile(ca_ + "/intermediate.pem").at(0));
  EXPECT_NE(leaf.issuer.find("Foreign"), std::string::npos) << leaf.issuer;
  EXPECT_EQ(verifier::VerifyChain(chain, {RootDer()}, std::time(nullptr)).reason(),
            "CHAIN_UNVERIFIED");
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimOnvifTest, ReplacedCertificateIsSelfSignedWithoutSerialNumber) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "replaced-certificate"}, &cam));
  std::string out;
  std::vector<std::string> chain = cam->PeerChain("", &out);
  ASSERT_EQ(chain.size(), 1u) << out;
  const verifier::Certificate cert = Parse(chain[0]);
  EXPECT_TRUE(cert.self_signed);
  EXPECT_EQ(cert.subject_serial_number, "");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(cert.subject, std::string("CN=") + host);
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

// --- SOAP -----------------------------------------------------------------------

struct SoapReply {
  int status = 0;
  std::string content_type, body;
};

SoapReply Post(const Camera& cam, const std::string& body) {
  auto res = cam.Client()->Post("/onvif/device_service", body,
                                std::string(onvif::kSoapContentType).c_str());
  if (!res) return {-static_cast<int>(res.error()), "", ""};
  return {res->status, res->get_header_value("Content-Type"), res->body};
}

TEST_F(CamsimOnvifTest, AnswersSoapWithAuthentication) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve({"--user", "admin", "--password-file", root_ + "/password"}, &cam));
  using onvif::Operation;

  SoapReply time = Post(*cam, onvif::BuildRequest(Operation::kGetSystemDateAndTime, nullptr));
  ASSERT_EQ(time.status, 200) << time.body;
  EXPECT_EQ(time.content_type, onvif::kSoapContentType);
  auto device_time = onvif::ParseSystemDateAndTime(time.body);
  ASSERT_TRUE(device_time.ok()) << device_time.status().ToString();
  EXPECT_NEAR(*device_time, std::time(nullptr), 5);

  // Without a token, and with a wrong password: a Sender fault, HTTP 400.
  SoapReply anonymous = Post(*cam, onvif::BuildRequest(Operation::kGetDeviceInformation, nullptr));
  EXPECT_EQ(anonymous.status, 400);
  EXPECT_EQ(onvif::ParseDeviceInformation(anonymous.body).status().reason(), "BAD_CREDENTIALS");
  onvif::UsernameToken wrong = onvif::MakeUsernameToken("admin", "wrong", *device_time);
  SoapReply denied = Post(*cam, onvif::BuildRequest(Operation::kGetNetworkInterfaces, &wrong));
  EXPECT_EQ(denied.status, 400);
  EXPECT_EQ(onvif::ParseNetworkInterfaces(denied.body).status().reason(), "BAD_CREDENTIALS");

  onvif::UsernameToken token = onvif::MakeUsernameToken("admin", "s3cret pass", *device_time);
  SoapReply info = Post(*cam, onvif::BuildRequest(Operation::kGetDeviceInformation, &token));
  ASSERT_EQ(info.status, 200) << info.body;
  auto parsed = onvif::ParseDeviceInformation(info.body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->manufacturer, "Acme Cameras");
  EXPECT_EQ(parsed->model, "Acme X1");
  EXPECT_EQ(parsed->firmware_version, "1.2.0");
  EXPECT_EQ(parsed->serial_number, "SN-1");
  EXPECT_EQ(parsed->hardware_id, device_["hardware_id"]);

  SoapReply nics = Post(*cam, onvif::BuildRequest(Operation::kGetNetworkInterfaces, &token));
  ASSERT_EQ(nics.status, 200) << nics.body;
  auto interfaces = onvif::ParseNetworkInterfaces(nics.body);
  ASSERT_TRUE(interfaces.ok()) << interfaces.status().ToString();
  ASSERT_EQ(interfaces->size(), 1u);
  EXPECT_EQ((*interfaces)[0].name, "eth0");
  EXPECT_EQ((*interfaces)[0].hw_address, device_["mac"]);
  EXPECT_TRUE((*interfaces)[0].enabled);

  SoapReply junk = Post(*cam, "<not-soap/>");
  EXPECT_EQ(junk.status, 400) << junk.body;
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimOnvifTest, SerialMismatchForeignMacAndWrongCredentials) {
  using onvif::Operation;
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "serial-mismatch"}, &cam));
    std::string out;
    EXPECT_EQ(cam->PeerChain("", &out), PemFile(dev_ + "/identity.pem"));  // as provisioned
    auto info = onvif::ParseDeviceInformation(
        Post(*cam, onvif::BuildRequest(Operation::kGetDeviceInformation, nullptr)).body);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->serial_number, "SN-1-X");
  }
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "foreign-mac"}, &cam));
    auto nics = onvif::ParseNetworkInterfaces(
        Post(*cam, onvif::BuildRequest(Operation::kGetNetworkInterfaces, nullptr)).body);
    ASSERT_TRUE(nics.ok() && nics->size() == 1) << nics.status().ToString();
    EXPECT_EQ((*nics)[0].hw_address, "3C:EF:8C:12:34:56");  // Dahua's MA-L
  }
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve(
        {"--fault", "wrong-credentials", "--user", "admin", "--password-file", root_ + "/password"},
        &cam));
    onvif::UsernameToken token =
        onvif::MakeUsernameToken("admin", "s3cret pass", std::time(nullptr));
    SoapReply r = Post(*cam, onvif::BuildRequest(Operation::kGetDeviceInformation, &token));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(onvif::ParseDeviceInformation(r.body).status().reason(), "BAD_CREDENTIALS");
    // Unauthenticated operations still work.
    EXPECT_EQ(Post(*cam, onvif::BuildRequest(Operation::kGetSystemDateAndTime, nullptr)).status,
              200);
  }
}

// --- hostile modes ----------------------------------------------------------------

TEST_F(CamsimOnvifTest, HostileResponses) {
  const std::string request = onvif::BuildRequest(onvif::Operation::kGetDeviceInformation, nullptr);
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "huge-response"}, &cam));
    SoapReply r = Post(*cam, request);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), 10u * 1024 * 1024);
    EXPECT_EQ(onvif::ParseDeviceInformation(r.body).status().reason(), "BAD_SOAP");
  }
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "xml-bomb"}, &cam));
    SoapReply r = Post(*cam, request);
    EXPECT_NE(r.body.find("<!ENTITY lol9"), std::string::npos) << r.body;
    EXPECT_EQ(onvif::ParseDeviceInformation(r.body).status().reason(), "BAD_SOAP");
  }
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "wrong-content-type"}, &cam));
    SoapReply r = Post(*cam, request);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type.rfind("text/html", 0), 0u) << r.content_type;
  }
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "endless"}, &cam));
    size_t received = 0;
    httplib::Request req;
    req.method = "POST";
    req.path = "/onvif/device_service";
    req.body = request;
    req.set_header("Content-Type", std::string(onvif::kSoapContentType));
    req.content_receiver = [&](const char*, size_t n, uint64_t, uint64_t) {
      received += n;
      return received < 4 * 1024 * 1024;  // give up after 4 MiB
    };
    auto client = cam->Client();
    auto endless = client->send(req);
    EXPECT_FALSE(endless) << "an endless body ended";
    EXPECT_GE(received, 4u * 1024 * 1024);
    EXPECT_EQ(cam->Stop(SIGTERM), 0);
  }
  {
    std::unique_ptr<Camera> cam;
    ASSERT_NO_FATAL_FAILURE(Serve({"--fault", "slow-drip"}, &cam));
    size_t received = 0;
    httplib::Request req;
    req.method = "POST";
    req.path = "/onvif/device_service";
    req.body = request;
    req.set_header("Content-Type", std::string(onvif::kSoapContentType));
    const auto start = std::chrono::steady_clock::now();
    req.content_receiver = [&](const char*, size_t n, uint64_t, uint64_t) {
      received += n;
      return std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500);
    };
    auto res = cam->Client()->send(req);
    EXPECT_FALSE(res) << "a slow-drip body ended within 1.5 s";
    // One byte every 200 ms: 1.5 s bring a handful of bytes, never the body.
    EXPECT_GE(received, 1u);
    EXPECT_LE(received, 12u);
    EXPECT_EQ(cam->Stop(SIGTERM), 0);  // stops mid-drip
  }
}

// --- WS-Discovery ---------------------------------------------------------------

TEST_F(CamsimOnvifTest, AnswersAProbeOnTheLoopbackMulticastGroup) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve({"--discovery"}, &cam));

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  in_addr loopback{};
  inet_pton(AF_INET, "127.0.0.1", &loopback);
  ASSERT_EQ(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &loopback, sizeof loopback), 0);
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(3702);
  inet_pton(AF_INET, "239.255.255.250", &group.sin_addr);

  const std::string id = onvif::NewMessageId();
  const std::string probe = onvif::BuildProbe(id);
  std::vector<onvif::ProbeMatch> ours;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Other cameras on the machine may answer too: keep the one with our URL.
  // The probe is resent each second (UDP; the responder may still be joining).
  while (ours.empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(sendto(fd, probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&group),
                     sizeof group),
              static_cast<ssize_t>(probe.size()))
        << std::strerror(errno);
    pollfd p{fd, POLLIN, 0};
    while (ours.empty() && poll(&p, 1, 1000) > 0) {
      char buf[65536];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      auto matches = onvif::ParseProbeMatches(std::string_view(buf, n), id);
      if (!matches.ok()) continue;
      for (const auto& m : *matches) {
        if (m.xaddrs == cam->url) ours.push_back(m);
      }
    }
  }
  close(fd);
  ASSERT_EQ(ours.size(), 1u) << "no ProbeMatches for " << cam->url;
  EXPECT_TRUE(std::regex_match(
      ours[0].endpoint, std::regex("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                                   "-[0-9a-f]{12}")))
      << ours[0].endpoint;
  EXPECT_NE(ours[0].types.find("NetworkVideoTransmitter"), std::string::npos) << ours[0].types;
  EXPECT_EQ(ours[0].scopes,
            "onvif://www.onvif.org/hardware/Acme%20X1 onvif://www.onvif.org/name/Acme%20Cameras");
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

}  // namespace
