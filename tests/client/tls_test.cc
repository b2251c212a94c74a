// Transport security over real processes: provd with TLS and client
// certificates required for writes, and prov as the client. A test PKI is
// made by scripts/make-test-certs.sh (openssl).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "transport/credentials.h"
#include "tests/client/exec.h"
#include "tests/client/index_layout.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"
#include "verifier/note.h"

namespace {

using json = nlohmann::json;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    unsetenv("PROV_PLAINTEXT");
    char tmpl[] = "/tmp/prov-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pki_ = dir_ + "/pki";
    Outcome certs = Exec({"/bin/bash", PROV_SOURCE_DIR "/scripts/make-test-certs.sh", pki_}, dir_);
    ASSERT_EQ(certs.rc, 0) << Describe(certs);
    auth_ = dir_ + "/auth.key";
    ASSERT_TRUE(verifier::WriteKeyFile(auth_, verifier::SigningKey::Generate()).ok());
    auto vkey = tools::InitLedger(PROVD_PATH, dir_ + "/ledger", "tls.example/log",
                                  {{"a", verifier::ReadKeyFile(auth_)->public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    auto p = tools::ProvdProcess::Start(
        PROVD_PATH, dir_ + "/ledger",
        {"--tls-cert", pki_ + "/server.pem", "--tls-key", pki_ + "/server.key", "--tls-client-ca",
         pki_ + "/ca.pem", "--writes-need-client-cert"});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
  }
  void TearDown() override {
    if (provd_) {
      EXPECT_EQ(provd_->Stop(SIGTERM), 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Outcome Prov(const std::vector<std::string>& tls, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {PROV_PATH, "--server", provd_->target(), "--vkey",
                                     dir_ + "/ledger/log.vkey", "--json"};
    argv.insert(argv.end(), tls.begin(), tls.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  }
  std::vector<std::string> Org(const std::string& id) {
    return {"authority", "org", "--id", id, "--name", id, "--country", "GB", "--key", auth_};
  }
  static std::string Reason(const Outcome& r) {
    json j = json::parse(r.out, nullptr, false);
    return j.is_object() && j.contains("reason") ? j["reason"].get<std::string>() : "";
  }

  std::string dir_, pki_, auth_;
  std::unique_ptr<tools::ProvdProcess> provd_;
};

TEST_F(TlsTest, GoodHandshakeReadsWithoutAClientCertificate) {
  Outcome r = Prov({"--tls-ca", pki_ + "/ca.pem"}, {"log", "checkpoint"});
  EXPECT_EQ(r.rc, 0) << Describe(r);
}

TEST_F(TlsTest, WrongCaFailsTheHandshake) {
  Outcome r = Prov({"--tls-ca", pki_ + "/other-ca.pem"}, {"log", "checkpoint"});
  EXPECT_EQ(r.rc, 3) << Describe(r);  // not "down": not who it claims to be
  EXPECT_EQ(Reason(r), "TLS_UNTRUSTED_PEER") << Describe(r);
  EXPECT_NE(r.out.find("certificate verify failed"), std::string::npos) << Describe(r);
}

TEST_F(TlsTest, WritesNeedAClientCertificate) {
  Outcome without = Prov({"--tls-ca", pki_ + "/ca.pem"}, Org("no-cert"));
  EXPECT_EQ(without.rc, 64) << Describe(without);
  EXPECT_EQ(Reason(without), "CLIENT_CERT_REQUIRED") << Describe(without);
  Outcome with = Prov({"--tls-ca", pki_ + "/ca.pem", "--tls-cert", pki_ + "/client.pem",
                       "--tls-key", pki_ + "/client.key"},
                      Org("with-cert"));
  EXPECT_EQ(with.rc, 0) << Describe(with);
  // Nothing was appended for the refused write: one org on a new log.
  Outcome head = Prov({"--tls-ca", pki_ + "/ca.pem"}, {"log", "checkpoint"});
  ASSERT_EQ(head.rc, 0) << Describe(head);
  EXPECT_EQ(json::parse(head.out)["checkpoint"]["size"], testlog::SizeAfterSingleCommits(1))
      << head.out;
}

TEST_F(TlsTest, AClientCertificateFromAnotherCaIsRefused) {
  // other-ca signs nothing the server trusts: present the CA itself as a cert.
  Outcome r = Prov({"--tls-ca", pki_ + "/ca.pem", "--tls-cert", pki_ + "/other-ca.pem",
                    "--tls-key", pki_ + "/other-ca.key"},
                   Org("bad-cert"));
  EXPECT_EQ(r.rc, 4) << Describe(r);  // the server closes the handshake
}

TEST_F(TlsTest, PlaintextIsRefusedUnlessAskedForOnLoopback) {
  Outcome none = Prov({}, {"log", "checkpoint"});
  EXPECT_EQ(none.rc, 64) << Describe(none);
  EXPECT_EQ(Reason(none), "PLAINTEXT_REFUSED") << Describe(none);
  // Asked for, but the server speaks TLS: no connection.
  Outcome plain = Prov({"--plaintext"}, {"log", "checkpoint"});
  EXPECT_EQ(plain.rc, 4) << Describe(plain);
  // A client refuses plaintext to a non-loopback address before connecting.
  Outcome remote = Exec({PROV_PATH, "--server", "192.0.2.1:7400", "--vkey",
                         dir_ + "/ledger/log.vkey", "--plaintext", "--json", "log", "checkpoint"},
                        dir_);
  EXPECT_EQ(remote.rc, 64) << Describe(remote);
  EXPECT_EQ(Reason(remote), "PLAINTEXT_REFUSED") << Describe(remote);
  // provd refuses to serve plaintext on a non-loopback address, or unasked.
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--listen", "0.0.0.0:0", "--plaintext"},
        std::vector<std::string>{"--listen", "127.0.0.1:0"}}) {
    std::vector<std::string> argv = {PROVD_PATH, "serve", "--data-dir", dir_ + "/ledger"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    Outcome s = Exec(argv, dir_);
    EXPECT_NE(s.rc, 0) << Describe(s);
    EXPECT_NE((s.out + s.err).find("PLAINTEXT_REFUSED"), std::string::npos) << Describe(s);
  }
}

// provbench, loadtest and crashloop start their own provd: over TLS with
// client certificates required for writes, every write they make must
// carry the client certificate, or their runs fail.
TEST_F(TlsTest, TheLoadToolsSpeakMutualTls) {
  const std::vector<std::string> tls = {
      "--tls-cert", pki_ + "/server.pem", "--tls-key", pki_ + "/server.key",
      "--tls-ca", pki_ + "/ca.pem", "--tls-client-cert", pki_ + "/client.pem",
      "--tls-client-key", pki_ + "/client.key"};
  const std::vector<std::vector<std::string>> runs = {
      {PROVBENCH_PATH, "--smoke", "--prov", PROV_PATH, "--delivery", "50"},
      {LOADTEST_PATH, "--clients", "4", "--seconds", "2", "--records", "3000"},
      {CRASHLOOP_PATH, "--rounds", "1", "--records", "5000"}};
  int n = 0;
  for (std::vector<std::string> argv : runs) {
    argv.insert(argv.end(), {"--provd", PROVD_PATH, "--data-dir", dir_ + "/tool-" + std::to_string(n++)});
    argv.insert(argv.end(), tls.begin(), tls.end());
    Outcome r = Exec(argv, dir_);
    EXPECT_EQ(r.rc, 0) << Describe(r);
  }
}

}  // namespace

namespace {

TEST(LoopbackTest, OnlyLoopbackAddressesCount) {
  for (const char* yes : {"127.0.0.1:7400", "127.1.2.3:1", "localhost:7400", "[::1]:7400",
                          "127.0.0.1"}) {
    EXPECT_TRUE(transport::IsLoopback(yes)) << yes;
  }
  for (const char* no : {"10.0.0.7:7400", "0.0.0.0:0", "127.0.0.1.example.com:7400",
                         "localhost.example.com:1", "[::]:7400", "192.0.2.1", "1270.0.0.1:1"}) {
    EXPECT_FALSE(transport::IsLoopback(no)) << no;
  }
}

}  // namespace
