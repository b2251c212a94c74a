// The client's trust store (client/trust_store.h): where it lives, many
// real `prov` processes sharing one store against a real provd on a
// loopback port, heads that never move backwards, forks (from another
// ledger with the same key, between concurrent views, or a tampered stored
// note) and a store that cannot be used, which must stop a command before
// anything is sent.
#include "client/trust_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/client/exec.h"
#include "tests/client/index_layout.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"
#include "verifier/note.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testexec::Describe;
using testexec::Env;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using testexec::Spit;
using verifier::Status;

constexpr char kOrigin[] = "trust.example/log";

class TrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);  // every prov here talks to loopback servers
    unsetenv("PROV_STATE_DIR");
    char tmpl[] = "/tmp/prov-trust-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auth_ = dir_ + "/auth.key";
    ASSERT_TRUE(verifier::WriteKeyFile(auth_, verifier::SigningKey::Generate()).ok());
    auto vkey = tools::InitLedger(PROVD_PATH, dir_ + "/ledger", kOrigin,
                                  {{"gov", verifier::ReadKeyFile(auth_)->public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    vkey_file_ = dir_ + "/log.vkey";
    Spit(vkey_file_, vkey_ + "\n");
    auto v = verifier::ParseVerifierKey(vkey_);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    verifier_ = *v;
    auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
  }

  void TearDown() override {
    if (fork_) {
      EXPECT_EQ(fork_->Stop(SIGTERM), 0);
    }
    if (provd_) {
      EXPECT_EQ(provd_->Stop(SIGTERM), 0) << "provd did not exit cleanly";
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // prov --json against `server` (default: the real ledger) with the trust
  // store `state_dir` (none: the default location).
  std::vector<std::string> Argv(const std::string& state_dir, std::vector<std::string> args,
                                const std::string& server = "") {
    std::vector<std::string> argv = {
        PROV_PATH, "--server", server.empty() ? provd_->target() : server,
        "--vkey",  vkey_file_, "--json"};
    if (!state_dir.empty()) argv.insert(argv.end(), {"--state-dir", state_dir});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  Outcome Prov(const std::string& state_dir, std::vector<std::string> args,
               const std::string& server = "", const Env& env = {}) {
    return Exec(Argv(state_dir, std::move(args), server), dir_, env);
  }
  std::vector<std::string> Org(const std::string& id) {
    return {"authority", "org", "--id", id, "--name", id, "--country", "GB", "--key", auth_};
  }
  // Logs `n` organisations through `server` with the trust store `state_dir`.
  void Grow(const std::string& state_dir, const std::string& prefix, int n,
            const std::string& server = "") {
    for (int i = 0; i < n; ++i) {
      Outcome r = Prov(state_dir, Org(prefix + std::to_string(i)), server);
      ASSERT_EQ(r.rc, 0) << Describe(r);
    }
  }

  // A client of `server` that has not touched any trust store.
  std::unique_ptr<client::LedgerClient> Client(const std::string& server = "") {
    auto c = client::LedgerClient::Connect(server.empty() ? provd_->target() : server, vkey_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  // The real ledger's size, asked without any trust store.
  uint64_t LogSize() {
    auto c = Client();
    auto head = c->GetCheckpoint();
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    return head.ok() ? head->checkpoint.size : 0;
  }

  std::string LogDir(const std::string& root) {
    return root + "/" + client::TrustStore::LogDirName(verifier_);
  }
  // The verified head stored under `root`; size 0 if there is none.
  verifier::Checkpoint Stored(const std::string& root) {
    std::string note = Slurp(LogDir(root) + "/checkpoint");
    if (note.empty()) return {};
    auto c = verifier::VerifyCheckpoint(note, verifier_, kOrigin);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : verifier::Checkpoint{};
  }

  // A second provd serving a copy of the ledger as it is now: same key and
  // origin, free to diverge.
  std::string StartFork() {
    EXPECT_EQ(provd_->Stop(SIGTERM), 0);
    fs::copy(dir_ + "/ledger", dir_ + "/fork", fs::copy_options::recursive);
    fs::remove(dir_ + "/fork/provd.log");
    auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    auto f = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/fork");
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    fork_ = std::move(f).value();
    return fork_->target();
  }

  // How a fork names a head: "size N root HEX" (the size is the caller's
  // expectation, the root the head's).
  static std::string SizeRoot(uint64_t size, const verifier::Checkpoint& head) {
    return "size " + std::to_string(size) + " root " + verifier::HexEncode(head.root);
  }

  static json Last(const Outcome& r) {
    std::string out = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
    size_t nl = out.find_last_of('\n');
    return json::parse(nl == std::string::npos ? out : out.substr(nl + 1), nullptr, false);
  }

  std::string dir_, auth_, vkey_, vkey_file_;
  verifier::NoteVerifier verifier_;
  std::unique_ptr<tools::ProvdProcess> provd_, fork_;
};

TEST(TrustStoreNames, LogDirectoryIsTheSafeOriginAndTheKeyHash) {
  verifier::NoteVerifier v;
  v.name = "cli.example/log";
  v.key_hash = 0x1a2b3c4d;
  EXPECT_EQ(client::TrustStore::LogDirName(v), "cli.example_log-1a2b3c4d");
  v.name = "../../etc passwd";
  v.key_hash = 0xff;
  EXPECT_EQ(client::TrustStore::LogDirName(v), "_._.._etc_passwd-000000ff");
  v.name = std::string(300, 'a');
  EXPECT_EQ(client::TrustStore::LogDirName(v), std::string(200, 'a') + "-000000ff");
  // The same origin under another key is another log.
  auto a = verifier::SigningKey::Generate(), b = verifier::SigningKey::Generate();
  auto va = verifier::ParseVerifierKey(verifier::FormatVerifierKey(kOrigin, a.public_key()));
  auto vb = verifier::ParseVerifierKey(verifier::FormatVerifierKey(kOrigin, b.public_key()));
  ASSERT_TRUE(va.ok() && vb.ok());
  EXPECT_NE(client::TrustStore::LogDirName(*va), client::TrustStore::LogDirName(*vb));
}

TEST(TrustStoreNames, RootIsStateDirElseXdgStateHomeElseHome) {
  const char* xdg = getenv("XDG_STATE_HOME");
  const char* home = getenv("HOME");
  const std::string saved_xdg = xdg ? xdg : "", saved_home = home ? home : "";
  setenv("XDG_STATE_HOME", "/x/state", 1);
  setenv("HOME", "/h", 1);
  EXPECT_EQ(*client::TrustStore::Root("/given"), "/given");
  EXPECT_EQ(*client::TrustStore::Root(""), "/x/state/prov");
  setenv("XDG_STATE_HOME", "relative/state", 1);  // the XDG spec: ignore relative paths
  EXPECT_EQ(*client::TrustStore::Root(""), "/h/.local/state/prov");
  unsetenv("XDG_STATE_HOME");
  EXPECT_EQ(*client::TrustStore::Root(""), "/h/.local/state/prov");
  unsetenv("HOME");
  auto none = client::TrustStore::Root("");
  EXPECT_EQ(none.status().reason(), "TRUST_STORE");
  if (xdg) setenv("XDG_STATE_HOME", saved_xdg.c_str(), 1);
  if (home) setenv("HOME", saved_home.c_str(), 1);
}

TEST_F(TrustStoreTest, FortyConcurrentProcessesShareOneStore) {
  const std::string store = dir_ + "/shared";
  const uint64_t before = LogSize();
  constexpr int kProcs = 40;
  std::vector<testexec::Running> running;
  for (int i = 0; i < kProcs; ++i) {
    running.push_back(testexec::Start(Argv(store, Org("org-" + std::to_string(i))), dir_));
  }
  std::set<uint64_t> indices;
  for (int i = 0; i < kProcs; ++i) {
    Outcome r = testexec::Finish(running[i]);
    EXPECT_EQ(r.rc, 0) << "process " << i << ": " << Describe(r);
    // Exactly one JSON object: the success, printed after the store was updated.
    ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << Describe(r);
    json j = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << Describe(r);
    EXPECT_EQ(j["ok"], true) << Describe(r);
    EXPECT_EQ(j["already_logged"], false) << Describe(r);
    indices.insert(j["index"].get<uint64_t>());
  }
  EXPECT_EQ(indices.size(), size_t{kProcs}) << "every record has its own leaf";
  const uint64_t size = LogSize();
  auto leaves = testlog::CountLeaves(*Client(), before, size);
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  EXPECT_EQ(leaves->records, uint64_t{kProcs}) << "the log grew by the records and index roots";
  EXPECT_EQ(leaves->records + leaves->index_roots, size - before);
  EXPECT_TRUE(leaves->ends_with_index_root);
  EXPECT_EQ(Stored(store).size, size) << "the store holds the newest head";
  // Nothing but the note and the lock is left behind.
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(LogDir(store))) {
    files.insert(e.path().filename().string());
  }
  EXPECT_EQ(files, (std::set<std::string>{"checkpoint", "lock"}));
}

TEST_F(TrustStoreTest, AnOlderHeadNeverOverwritesANewerOne) {
  const std::string root = dir_ + "/store";
  auto store = client::TrustStore::Open(root, verifier_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto loaded = (*store)->Load();
  ASSERT_TRUE(loaded.ok() && !loaded->has_value());
  // This "process" sees the new log ...
  auto old_view = Client();
  ASSERT_TRUE(old_view->GetCheckpoint().ok());
  ASSERT_EQ(old_view->latest()->checkpoint.size, testlog::kNewSize);
  // ... while another one logs two records and stores the head after them.
  ASSERT_NO_FATAL_FAILURE(Grow(root, "newer-", 2));
  const std::string newer = Slurp(LogDir(root) + "/checkpoint");
  ASSERT_EQ(Stored(root).size, testlog::SizeAfterSingleCommits(2));
  // Saving the older head proves it consistent with the newer one and keeps the newer.
  Status s = (*store)->Save(*old_view, *loaded);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Slurp(LogDir(root) + "/checkpoint"), newer);
  // So does a prov whose head is older than the stored one: the store is unchanged.
  auto again = (*store)->Load();
  ASSERT_TRUE(again.ok());
  s = (*store)->Save(*old_view, *again);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Slurp(LogDir(root) + "/checkpoint"), newer);
  // A newer head does move it forward.
  ASSERT_NO_FATAL_FAILURE(Grow("", "elsewhere-", 1));
  auto new_view = Client();
  ASSERT_TRUE(new_view->GetCheckpoint().ok());
  s = (*store)->Save(*new_view, *again);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Stored(root).size, testlog::SizeAfterSingleCommits(3));
}

TEST_F(TrustStoreTest, ConcurrentViewsThatForkAreCaughtWhenSaving) {
  const std::string root = dir_ + "/store";
  const std::string fork = StartFork();
  auto store = client::TrustStore::Open(root, verifier_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto loaded = (*store)->Load();
  ASSERT_TRUE(loaded.ok());
  // This process sees the real ledger grown by three records ...
  ASSERT_NO_FATAL_FAILURE(Grow(dir_ + "/elsewhere", "real-", 3));
  auto mine = Client();
  ASSERT_TRUE(mine->GetCheckpoint().ok());
  // ... while another process stores the fork's head, grown by two others.
  ASSERT_NO_FATAL_FAILURE(Grow(root, "fork-", 2, fork));
  const std::string forked = Slurp(LogDir(root) + "/checkpoint");
  const verifier::Checkpoint theirs = Stored(root);
  Status s = (*store)->Save(*mine, *loaded);
  EXPECT_EQ(s.reason(), "FORK") << s.ToString();
  EXPECT_EQ(s.code(), verifier::Code::kDataLoss);
  EXPECT_NE(s.message().find(SizeRoot(testlog::SizeAfterSingleCommits(3), mine->latest()->checkpoint)),
            std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find(SizeRoot(testlog::SizeAfterSingleCommits(2), theirs)),
            std::string::npos)
      << s.ToString();
  EXPECT_EQ(Slurp(LogDir(root) + "/checkpoint"), forked) << "a fork is never stored";

  // The other way round: a newer fork head than this process's view, which
  // the real server cannot prove: a fork as well, and nothing is written.
  ASSERT_NO_FATAL_FAILURE(Grow(root + "-fork2", "fork-more-", 2, fork));  // fork: 4 records
  fs::copy_file(LogDir(root + "-fork2") + "/checkpoint", LogDir(root) + "/checkpoint",
                fs::copy_options::overwrite_existing);
  const std::string forked5 = Slurp(LogDir(root) + "/checkpoint");
  s = (*store)->Save(*mine, *loaded);
  EXPECT_EQ(s.reason(), "FORK") << s.ToString();
  EXPECT_EQ(Slurp(LogDir(root) + "/checkpoint"), forked5);
}

TEST_F(TrustStoreTest, AStoredForkStopsACommandBeforeItSubmits) {
  const std::string fork = StartFork();
  const std::string store = dir_ + "/store";
  ASSERT_NO_FATAL_FAILURE(Grow(store, "fork-", 2, fork));  // the store holds the fork's head
  ASSERT_NO_FATAL_FAILURE(Grow(dir_ + "/elsewhere", "real-", 3));  // the real log: a longer one
  const uint64_t before = LogSize();
  Outcome r = Prov(store, Org("victim"));
  EXPECT_EQ(r.rc, 3) << Describe(r);
  json j = Last(r);
  EXPECT_EQ(j["reason"], "FORK") << Describe(r);
  EXPECT_NE(r.out.find(SizeRoot(testlog::SizeAfterSingleCommits(2), Stored(store))),
            std::string::npos)
      << Describe(r);
  EXPECT_EQ(r.out.find("\"ok\":true"), std::string::npos) << Describe(r);
  EXPECT_EQ(LogSize(), before) << "a record was submitted past a fork";
  EXPECT_EQ(Stored(store).size, testlog::SizeAfterSingleCommits(2))
      << "the fork's head stays as evidence";
}

TEST_F(TrustStoreTest, ATamperedStoredNoteStopsACommandBeforeItSubmits) {
  const std::string store = dir_ + "/store";
  Outcome head = Prov(store, {"log", "checkpoint"});
  ASSERT_EQ(head.rc, 0) << Describe(head);
  const std::string file = LogDir(store) + "/checkpoint";
  std::string note = Slurp(file);
  // The root hash (line 3) changed by one character: the signature fails.
  size_t root_at = note.find('\n', note.find('\n') + 1) + 1;
  note[root_at] = note[root_at] == 'A' ? 'B' : 'A';
  Spit(file, note);
  const uint64_t before = LogSize();
  Outcome r = Prov(store, Org("victim"));
  EXPECT_EQ(r.rc, 3) << Describe(r);
  json j = Last(r);
  EXPECT_EQ(j["ok"], false) << Describe(r);
  EXPECT_NE(j.value("message", "").find(file), std::string::npos) << Describe(r);
  EXPECT_EQ(LogSize(), before) << "a record was submitted past a tampered trust store";
}

TEST_F(TrustStoreTest, AnUnusableStoreFailsWithTheReasonBeforeAnythingIsSent) {
  // Tests run as root, so permission bits stop nothing: a path through a
  // regular file gives ENOTDIR.
  Spit(dir_ + "/plain", "not a directory\n");
  const std::string store = dir_ + "/plain/state";
  const uint64_t before = LogSize();
  for (const auto& args : {Org("never"), std::vector<std::string>{"log", "checkpoint"}}) {
    Outcome r = Prov(store, args);
    EXPECT_EQ(r.rc, 5) << Describe(r);
    json j = Last(r);
    EXPECT_EQ(j["reason"], "TRUST_STORE") << Describe(r);
    EXPECT_NE(j.value("message", "")
                  .find("cannot use the trust store " + LogDir(store) + ": Not a directory"),
              std::string::npos)
        << Describe(r);
    EXPECT_EQ(r.out.find("\"ok\":true"), std::string::npos) << Describe(r);
  }
  EXPECT_EQ(LogSize(), before) << "a record was submitted without a usable trust store";
  // Text mode names the reason too.
  Outcome text = Exec({PROV_PATH, "--server", provd_->target(), "--vkey", vkey_file_, "--state-dir",
                       store, "log", "checkpoint"},
                      dir_);
  EXPECT_EQ(text.rc, 5) << Describe(text);
  EXPECT_NE(text.err.find("TRUST_STORE"), std::string::npos) << Describe(text);
  EXPECT_NE(text.err.find("Not a directory"), std::string::npos) << Describe(text);
}

TEST_F(TrustStoreTest, WithoutStateDirTheStoreIsUnderXdgStateHome) {
  const std::string xdg = dir_ + "/xdg";
  Outcome r =
      Prov("", {"log", "checkpoint"}, "", {{"XDG_STATE_HOME", xdg}, {"HOME", dir_ + "/home"}});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(Stored(xdg + "/prov").size, LogSize());
  EXPECT_FALSE(fs::exists(dir_ + "/home"));
  struct stat st;
  ASSERT_EQ(stat(LogDir(xdg + "/prov").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((xdg + "/prov").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // The next command is held to it.
  ASSERT_NO_FATAL_FAILURE(Grow("", "x-", 1));  // the exec helper's own XDG_STATE_HOME
  r = Prov("", Org("later"), "", {{"XDG_STATE_HOME", xdg}});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(Stored(xdg + "/prov").size, LogSize());
}

TEST_F(TrustStoreTest, WithoutXdgStateHomeTheStoreIsUnderHome) {
  const std::string home = dir_ + "/home";
  Outcome r = Prov("", Org("homed"), "", {{"XDG_STATE_HOME", std::nullopt}, {"HOME", home}});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(Stored(home + "/.local/state/prov").size, LogSize());
  // --state-dir (or PROV_STATE_DIR) wins over both.
  r = Prov("", {"log", "checkpoint"}, "", {{"PROV_STATE_DIR", dir_ + "/explicit"}, {"HOME", home}});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(Stored(dir_ + "/explicit").size, LogSize());
}

}  // namespace
