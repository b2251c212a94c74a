// The fixture of the prov command-line tests: a real provd on a loopback
// port over a fresh ledger whose genesis names authority keys saved as
// DIR/NAME.key, and the real prov binary run against it with the ledger's
// pinned key and a trust store of its own. Each test gets a new directory,
// removed afterwards; provd must exit cleanly on SIGTERM.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/client/exec.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"

namespace testexec {

class ProvLedgerTest : public ::testing::Test {
 protected:
  // Call from SetUp (with ASSERT_NO_FATAL_FAILURE): a directory /tmp/PREFIX-*,
  // authority keys named `authorities`, a ledger `origin` requiring
  // `threshold` of them, and provd serving it.
  void StartLedger(const std::string& prefix, const std::string& origin,
                   const std::vector<std::string>& authorities, uint32_t threshold) {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);  // every prov here talks to loopback servers
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::vector<std::pair<std::string, verifier::PublicKey>> keys;
    for (const auto& name : authorities) {
      KeyFile(name);
      keys.emplace_back(name, keys_.at(name).public_key());
    }
    auto vkey = tools::InitLedger(PROVD_PATH, dir_ + "/ledger", origin, keys, threshold);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_file_ = dir_ + "/log.vkey";
    Spit(vkey_file_, *vkey + "\n");
    auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    server_ = provd_->target();
  }

  void TearDown() override {
    if (provd_) {
      EXPECT_EQ(provd_->Stop(SIGTERM), 0) << "provd did not exit cleanly";
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A new signing key saved as DIR/NAME.key (0600); returns the path.
  std::string KeyFile(const std::string& name) {
    auto key = verifier::SigningKey::Generate();
    std::string path = dir_ + "/" + name + ".key";
    verifier::Status s = verifier::WriteKeyFile(path, key);
    EXPECT_TRUE(s.ok()) << s.ToString();
    keys_.emplace(name, key);
    return path;
  }

  // prov with the test's server, pinned key and trust store.
  Outcome Prov(std::vector<std::string> args, bool json_out = false) {
    std::vector<std::string> argv = {PROV_PATH,  "--server",    server_,
                                     "--vkey",   vkey_file_, "--state-dir",
                                     state_dir_.empty() ? dir_ + "/trust" : state_dir_};
    if (json_out) argv.push_back("--json");
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  }
  nlohmann::json ProvJson(std::vector<std::string> args, int want_rc = 0) {
    Outcome r = Prov(std::move(args), true);
    EXPECT_EQ(r.rc, want_rc) << Describe(r);
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    return j;
  }
  uint64_t TreeSize() {
    return ProvJson({"log", "checkpoint"})["checkpoint"].value("size", uint64_t{0});
  }

  std::string dir_, vkey_file_, server_, state_dir_;
  std::map<std::string, verifier::SigningKey> keys_;
  std::unique_ptr<tools::ProvdProcess> provd_;
};

}  // namespace testexec
