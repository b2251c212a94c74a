// Integration: the real `provd serve --config FILE` on loopback. Keys only
// the file gives take effect, flags on the command line win over the file,
// and a refused file leaves the data directory untouched (nothing opened).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"

namespace {

namespace fs = std::filesystem;

constexpr char kOrigin[] = "config.example/log";

class ProvdConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    char tmpl[] = "/tmp/provd-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/data";
    std::array<uint8_t, 32> seed;
    seed.fill(0xa0);
    auto vkey =
        tools::InitLedger(PROVD_PATH, dir_, kOrigin,
                          {{"auth-0", verifier::SigningKey::FromSeed(seed)->public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = root_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Every file under the data directory with its size and mtime.
  std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> Snapshot() {
    std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      if (e.is_regular_file() && e.path().filename() != "provd.log") {
        out[e.path().string()] = {e.file_size(), e.last_write_time()};
      }
    }
    return out;
  }
  // Runs `provd serve --config FILE ARGS...`; returns its exit code, its
  // output in *out.
  int Serve(const std::string& file, std::vector<std::string> args, std::string* out) {
    const std::string log = root_ + "/serve.log";
    fs::remove(log);
    std::vector<std::string> argv = {PROVD_PATH, "serve", "--config", file};
    argv.insert(argv.end(), args.begin(), args.end());
    int rc = tools::RunCommand(argv, log);
    *out = Read(log);
    return rc;
  }

  std::string root_, dir_, vkey_;
};

TEST_F(ProvdConfigTest, ServesWithTheFilesSettingsAndFlagsWinOverIt) {
  // listen: the flag ProvdProcess gives (127.0.0.1:0) must win over [::1];
  // metrics-listen and max-batch come only from the file.
  const std::string file = Write("provd.yaml",
                                 "# provd serve settings\n"
                                 "data-dir: " +
                                     dir_ +
                                     "\n"
                                     "listen: \"[::1]:0\"\n"
                                     "max-batch: 64\n"
                                     "checkpoint-refresh: 30\n"
                                     "metrics-listen: 127.0.0.1:0\n");
  auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_, {"--config", file});
  ASSERT_TRUE(p.ok()) << p.status().ToString() << "\n" << Read(dir_ + "/provd.log");
  EXPECT_EQ((*p)->target().rfind("127.0.0.1:", 0), 0u) << (*p)->target();
  EXPECT_EQ((*p)->metrics_url().rfind("http://127.0.0.1:", 0), 0u)
      << "metrics-listen from the file was not applied";
  auto c = client::LedgerClient::Connect((*p)->target(), vkey_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto head = (*c)->GetCheckpoint();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->checkpoint.size, 2u);  // the genesis record and its index root
  EXPECT_EQ((*p)->Stop(SIGTERM), 0);
}

TEST_F(ProvdConfigTest, DataDirAndEverythingElseMayComeFromTheFileAlone) {
  // No flag but --config: the file's data-dir is served.
  const std::string file =
      Write("provd.yaml", "data-dir: " + dir_ + "\nlisten: 127.0.0.1:0\nplaintext: true\n");
  const std::string log = root_ + "/serve.log";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FILE* f = freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), 2);
    execl(PROVD_PATH, PROVD_PATH, "serve", "--config", file.c_str(), nullptr);
    _exit(127);
  }
  std::string out;
  for (int i = 0; i < 600 && out.find("provd: serving") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = Read(log);
  }
  kill(pid, SIGTERM);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  EXPECT_NE(out.find("provd: serving " + std::string(kOrigin)), std::string::npos) << out;
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << out;
}

TEST_F(ProvdConfigTest, UnknownKeyIsRefusedWithItsLineAndNothingIsOpened) {
  const std::string fresh = root_ + "/fresh";
  const std::string file =
      Write("bad.yaml", "data-dir: " + fresh + "\nplaintext: true\nmax_batch: 64\n");
  std::string out;
  EXPECT_EQ(Serve(file, {}, &out), 2) << out;
  EXPECT_NE(out.find(file + ":3: unknown key 'max_batch' for `provd serve` (did you mean "
                            "'max-batch'?)"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(fresh)) << "a refused config created the data directory";
}

TEST_F(ProvdConfigTest, BadValueIsRefusedWithItsLineAndTheStoreIsUntouched) {
  const auto before = Snapshot();
  const std::string file =
      Write("bad.yaml", "data-dir: " + dir_ + "\nplaintext: true\nmax-batch: 0\n");
  std::string out;
  EXPECT_EQ(Serve(file, {}, &out), 2) << out;
  EXPECT_NE(out.find(file + ":3: max-batch: '0' refused: "), std::string::npos) << out;
  EXPECT_EQ(Snapshot(), before) << "a refused config opened or changed the store";
}

TEST_F(ProvdConfigTest, SwitchThatIsNotTrueOrFalseIsRefused) {
  const std::string file = Write("bad.yaml", "data-dir: " + dir_ + "\nplaintext: yes\n");
  std::string out;
  EXPECT_EQ(Serve(file, {}, &out), 2) << out;
  EXPECT_NE(out.find(file + ":2: plaintext: is a switch: true or false, got 'yes'"),
            std::string::npos)
      << out;
}

TEST_F(ProvdConfigTest, MissingDataDirIsRefused) {
  const std::string file = Write("bad.yaml", "plaintext: true\n");
  std::string out;
  EXPECT_EQ(Serve(file, {}, &out), 2) << out;
  EXPECT_NE(out.find(file + ":1: missing required key 'data-dir' (or give --data-dir)"),
            std::string::npos)
      << out;
}

TEST_F(ProvdConfigTest, UnreadableFileIsRefused) {
  std::string out;
  EXPECT_EQ(Serve(root_ + "/none.yaml", {"--data-dir", dir_}, &out), 2) << out;
  EXPECT_NE(out.find(root_ + "/none.yaml: cannot read the config file"), std::string::npos) << out;
}

}  // namespace
