// Integration: the real `camsim` binary. Provisions a device into a fresh
// directory, serves it on a loopback port, and checks what it says over gRPC
// with verifier/attestation.h against the provisioned public key; then each
// fault mode fails the way a scanner must notice.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proto/device.grpc.pb.h"
#include "verifier/attestation.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using nlohmann::json;

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

struct RunResult {
  int exit_code;
  std::string out, err;
};

// A running `camsim serve`; SIGKILLed if the test did not stop it.
struct Camera {
  ~Camera() {
    if (pid > 0) Stop(SIGKILL);
  }
  // Sends `sig` and returns the exit code.
  int Stop(int sig) {
    if (pid <= 0) return -1;
    stub_ptr.reset();  // close our channel: shutdown need not wait for it
    kill(pid, sig);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    pid = -1;
    return ExitCode(wstatus);
  }
  pb::DeviceIdentity::Stub& stub() { return *stub_ptr; }

  pid_t pid = -1;
  std::string target;  // "127.0.0.1:PORT"
  std::unique_ptr<pb::DeviceIdentity::Stub> stub_ptr;
};

class CamsimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    char tmpl[] = "/tmp/camsim-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dev_ = root_ + "/dev";
    RunResult r = Run({"provision", "--dir", dev_, "--manufacturer-org", "acme-cam",
                       "--manufacturer-name", "Acme Cameras", "--serial", "SN-1", "--model-id",
                       "acme-x1", "--model-name", "Acme X1", "--firmware-version", "1.2.0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    provision_out_ = r.out;
    device_ = json::parse(r.out);
    auto pk = verifier::HexDecode(device_.value("device_public_key", ""));
    ASSERT_TRUE(pk.ok() && pk->size() == 32) << r.out;
    std::copy(pk->begin(), pk->end(), registered_key_.begin());
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

  // Starts `camsim serve` on 127.0.0.1:0 and waits for its serving line.
  void Serve(const std::string& fault, std::unique_ptr<Camera>* camera) {
    const std::string out = root_ + "/serve-" + fault + ".out";
    const std::string err = root_ + "/serve.err";
    auto c = std::make_unique<Camera>();
    c->pid = Spawn({"serve", "--dir", dev_, "--listen", "127.0.0.1:0", "--plaintext", "--fault", fault},
                   out, err);
    ASSERT_GT(c->pid, 0);
    static const std::regex kServing(R"(^camsim: serving (\S+) on (\S+:\d+)\n)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::smatch m;
    for (std::string text;; std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
      text = ReadFile(out);
      if (std::regex_search(text, m, kServing)) {
        c->target = m[2];
        break;
      }
      int wstatus = 0;
      if (waitpid(c->pid, &wstatus, WNOHANG) == c->pid) {
        c->pid = -1;
        FAIL() << "camsim exited " << ExitCode(wstatus) << ": " << ReadFile(err);
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "camsim did not serve: " << text;
    }
    c->stub_ptr = pb::DeviceIdentity::NewStub(
        grpc::CreateChannel(c->target, grpc::InsecureChannelCredentials()));
    *camera = std::move(c);
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  static std::string FreshNonce() {
    std::string nonce(verifier::kAttestationNonceSize, '\0');
    randombytes_buf(nonce.data(), nonce.size());
    return nonce;
  }

  pb::DeviceInformation Info(Camera& c) {
    pb::DeviceInformation info;
    grpc::Status s = c.stub().GetDeviceInformation(Context().get(), {}, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  pb::Attestation Attest(Camera& c, const std::string& nonce) {
    pb::AttestRequest req;
    req.set_nonce(nonce);
    pb::Attestation a;
    grpc::Status s = c.stub().Attest(Context().get(), req, &a);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return a;
  }

  verifier::Result<pb::AttestationStatement> Verify(const pb::Attestation& a,
                                                    const std::string& nonce) {
    return verifier::VerifyAttestation(a, registered_key_, verifier::AsBytes(nonce),
                                       std::time(nullptr));
  }

  std::string FirmwareSha256Hex(const pb::DeviceInformation& info) {
    return verifier::HexEncode(verifier::AsBytes(info.firmware_sha256()));
  }

  std::string root_, dev_, provision_out_;
  json device_;
  verifier::PublicKey registered_key_{};
};

TEST_F(CamsimTest, ProvisionWritesKeyFirmwareAndDeviceJson) {
  struct stat st {};
  ASSERT_EQ(stat((dev_ + "/device.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  // What it prints is what it wrote.
  EXPECT_EQ(json::parse(ReadFile(dev_ + "/device.json")), device_);
  EXPECT_EQ(device_["manufacturer_org"], "acme-cam");
  EXPECT_EQ(device_["manufacturer_name"], "Acme Cameras");
  EXPECT_EQ(device_["serial"], "SN-1");
  EXPECT_EQ(device_["model_id"], "acme-x1");
  EXPECT_EQ(device_["model_name"], "Acme X1");
  EXPECT_EQ(device_["firmware_version"], "1.2.0");
  EXPECT_FALSE(device_.value("hardware_id", "").empty());

  // The key file holds the key whose public half was printed.
  auto key = verifier::ReadKeyFile(dev_ + "/device.key");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->public_key(), registered_key_);

  // The default firmware: deterministic, 64 KiB, hashed in device.json.
  const std::string firmware = ReadFile(dev_ + "/firmware.bin");
  EXPECT_EQ(firmware.size(), 64u * 1024);
  EXPECT_EQ(firmware.rfind("camsim firmware acme-x1 1.2.0\n", 0), 0u);
  EXPECT_EQ(device_["firmware_sha256"], verifier::HexEncode(verifier::Sha256(firmware)));

  // Never re-provisioned over an existing key.
  RunResult again =
      Run({"provision", "--dir", dev_, "--manufacturer-org", "x", "--manufacturer-name", "x",
           "--serial", "SN-2", "--model-id", "x", "--model-name", "x", "--firmware-version", "2"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(ReadFile(dev_ + "/device.json"), provision_out_);
  EXPECT_EQ(verifier::ReadKeyFile(dev_ + "/device.key")->public_key(), registered_key_);
}

TEST_F(CamsimTest, ProvisionCopiesAGivenFirmwareImage) {
  const std::string image = root_ + "/image.bin", dir = root_ + "/other/dev";
  std::ofstream(image, std::ios::binary) << "real firmware bytes";
  RunResult r =
      Run({"provision", "--dir", dir, "--manufacturer-org", "acme-cam", "--manufacturer-name",
           "Acme", "--serial", "SN-9", "--model-id", "acme-x1", "--model-name", "Acme X1",
           "--firmware-version", "1.2.0", "--firmware-image", image});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir + "/firmware.bin"), "real firmware bytes");
  EXPECT_EQ(json::parse(r.out)["firmware_sha256"],
            verifier::HexEncode(verifier::Sha256(std::string_view("real firmware bytes"))));
}

TEST_F(CamsimTest, ServesInformationAndAFreshAttestation) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve("none", &cam));

  pb::DeviceInformation info = Info(*cam);
  EXPECT_EQ(info.manufacturer(), "Acme Cameras");
  EXPECT_EQ(info.model(), "Acme X1");
  EXPECT_EQ(info.firmware_version(), "1.2.0");
  EXPECT_EQ(info.serial_number(), "SN-1");
  EXPECT_EQ(info.hardware_id(), device_["hardware_id"]);
  EXPECT_EQ(FirmwareSha256Hex(info), device_["firmware_sha256"]);
  EXPECT_EQ(info.manufacturer_org(), "acme-cam");
  EXPECT_EQ(info.model_id(), "acme-x1");

  for (int i = 0; i < 2; ++i) {
    const std::string nonce = FreshNonce();
    pb::Attestation a = Attest(*cam, nonce);
    auto s = Verify(a, nonce);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->manufacturer_org(), "acme-cam");
    EXPECT_EQ(s->serial(), "SN-1");
    EXPECT_EQ(s->model_id(), "acme-x1");
    EXPECT_EQ(s->firmware_version(), "1.2.0");
    EXPECT_EQ(s->firmware_sha256(), info.firmware_sha256());
    EXPECT_EQ(s->nonce(), nonce);
    // An attestation for one challenge does not answer another.
    EXPECT_EQ(Verify(a, FreshNonce()).status().reason(), "NONCE_MISMATCH");
  }

  pb::AttestRequest short_nonce;
  short_nonce.set_nonce("too short");
  pb::Attestation unused;
  grpc::Status st = cam->stub().Attest(Context().get(), short_nonce, &unused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();

  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimTest, SigintExitsCleanly) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve("none", &cam));
  EXPECT_EQ(cam->Stop(SIGINT), 0);
}

TEST_F(CamsimTest, ClonedKeyIsKeyMismatch) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve("cloned-key", &cam));
  EXPECT_EQ(Info(*cam).serial_number(), "SN-1");  // it claims the real serial
  const std::string nonce = FreshNonce();
  auto s = Verify(Attest(*cam, nonce), nonce);
  EXPECT_EQ(s.status().reason(), "ATTESTATION_KEY_MISMATCH") << s.status().ToString();
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimTest, TamperedFirmwareHashDiffersFromRegistered) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve("tampered-firmware", &cam));
  pb::DeviceInformation info = Info(*cam);
  EXPECT_NE(FirmwareSha256Hex(info), device_["firmware_sha256"]);
  EXPECT_EQ(FirmwareSha256Hex(info),
            verifier::HexEncode(verifier::Sha256(ReadFile(dev_ + "/firmware.bin") + "tampered")));
  // The device key is genuine, so the attestation verifies, and it carries
  // the tampered hash: the scanner's comparison with the ledger catches it.
  const std::string nonce = FreshNonce();
  auto s = Verify(Attest(*cam, nonce), nonce);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->firmware_sha256(), info.firmware_sha256());
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimTest, ReplayIsNonceMismatchAndStale) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve("replay", &cam));
  const std::string nonce = FreshNonce();
  pb::Attestation a = Attest(*cam, nonce);
  EXPECT_EQ(Verify(a, nonce).status().reason(), "NONCE_MISMATCH");
  // The same bytes whatever the challenge.
  EXPECT_EQ(Attest(*cam, FreshNonce()).SerializeAsString(), a.SerializeAsString());
  // Even for the nonce it does answer, it is an hour old.
  auto stale = Verify(a, std::string(verifier::kAttestationNonceSize, '\0'));
  EXPECT_EQ(stale.status().reason(), "STALE_ATTESTATION") << stale.status().ToString();
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

TEST_F(CamsimTest, UnregisteredSerialDiffers) {
  std::unique_ptr<Camera> cam;
  ASSERT_NO_FATAL_FAILURE(Serve("unregistered", &cam));
  EXPECT_EQ(Info(*cam).serial_number(), "SN-1-UNREGISTERED");
  const std::string nonce = FreshNonce();
  auto s = Verify(Attest(*cam, nonce), nonce);
  ASSERT_TRUE(s.ok()) << s.status().ToString();  // signed with the real key
  EXPECT_NE(s->serial(), device_["serial"]);
  EXPECT_EQ(s->serial(), "SN-1-UNREGISTERED");
  EXPECT_EQ(cam->Stop(SIGTERM), 0);
}

}  // namespace
