// `provd backup` and `provd restore` over real processes: an online backup
// of a provd under streaming appends, restored, served and checked with
// `provd verify`; the restored (older) head proven consistent with the live
// one and refused as a ROLLBACK by a client that saw the live head; and every
// refusal with its exit code, its message and nothing changed.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "client/submit_many.h"
#include "tests/client/exec.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;

// Every file below `dir` with its size and bytes' hash, to show that a
// refused command changed nothing.
std::map<std::string, std::string> Listing(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_regular_file()) {
      std::string data = testexec::Slurp(e.path().string());
      out[rel] = std::to_string(data.size()) + ":" + std::to_string(std::hash<std::string>{}(data));
    } else {
      out[rel] = e.is_directory() ? "dir" : "other";
    }
  }
  return out;
}

// Entries of `parent` whose names contain `part` (leftover staging dirs).
std::vector<std::string> EntriesContaining(const std::string& parent, const std::string& part) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(parent)) {
    if (e.path().filename().string().find(part) != std::string::npos) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);
    std::string tmpl = "/tmp/backup-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    live_ = dir_ + "/live";
    authority_ = verifier::SigningKey::Generate();
    auto vkey = tools::InitLedger(PROVD_PATH, live_, "backup-test.example/log",
                                  {{"authority", authority_.public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    vkey_file_ = dir_ + "/log.vkey";
    testexec::Spit(vkey_file_, vkey_ + "\n");
  }

  void TearDown() override {
    for (auto* p : {&live_provd_, &restored_provd_}) {
      if (*p) {
        EXPECT_EQ((*p)->Stop(SIGTERM), 0) << "provd did not exit cleanly";
      }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartLive(std::vector<std::string> extra = {}) {
    auto p = tools::ProvdProcess::Start(PROVD_PATH, live_, std::move(extra));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    live_provd_ = std::move(p).value();
  }

  std::unique_ptr<client::LedgerClient> Connect(const tools::ProvdProcess& p) {
    auto c = client::LedgerClient::Connect(p.target(), vkey_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // Registers manufacturers and returns `n` pre-signed device records.
  std::vector<std::string> Records(client::LedgerClient& c, uint64_t n) {
    std::vector<verifier::SigningKey> mfr;
    for (int m = 0; m < 2; ++m) mfr.push_back(tools::SeededKey("backup-mfr-" + std::to_string(m)));
    const int64_t now = tools::UnixNow();
    verifier::Status s = tools::Setup(c, authority_, mfr, now);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return tools::PreSign(n, mfr, now);
  }

  // Waits (up to 10 s) until the tiles in `tiles` are published at `size`.
  static testing::AssertionResult Published(const std::string& tiles, uint64_t size) {
    const std::string size_line = "\n" + std::to_string(size) + "\n";
    for (int i = 0; i < 200; ++i) {
      if (testexec::Slurp(tiles + "/checkpoint").find(size_line) != std::string::npos) {
        return testing::AssertionSuccess();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return testing::AssertionFailure() << "no checkpoint of size " << size << " in " << tiles;
  }

  Outcome Provd(std::vector<std::string> args) {
    args.insert(args.begin(), PROVD_PATH);
    return Exec(args, dir_);
  }
  Outcome Prov(const std::string& server, std::vector<std::string> args) {
    std::vector<std::string> argv = {PROV_PATH,  "--server",    server,         "--vkey",
                                     vkey_file_, "--state-dir", dir_ + "/trust"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  }

  std::string dir_, live_, vkey_, vkey_file_;
  verifier::SigningKey authority_ = verifier::SigningKey::Generate();
  std::unique_ptr<tools::ProvdProcess> live_provd_, restored_provd_;
};

client::SubmitManyOptions options_for(std::atomic<uint64_t>& acked) {
  client::SubmitManyOptions options;
  options.window = 256;
  options.on_ack = [&acked](uint64_t done) { acked = done; };
  return options;
}

TEST_F(BackupTest, OnlineBackupUnderAppendsRestoresVerifiesAndIsARollback) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  auto setup = Connect(*live_provd_);
  ASSERT_NE(setup, nullptr);
  ASSERT_TRUE(setup->GetCheckpoint().ok());
  const std::vector<std::string> leaves = Records(*setup, 10000);

  // Stream the records on a connection of their own while the backup runs.
  std::atomic<uint64_t> acked{0};
  std::atomic<bool> finished{false};
  client::SubmitManyResult streamed;
  std::thread writer([&] {
    auto c = Connect(*live_provd_);
    std::vector<client::Submission> items(leaves.size());
    for (size_t i = 0; i < leaves.size(); ++i) {
      items[i].sequence = i;
      items[i].leaf = leaves[i];
    }
    if (c && c->GetCheckpoint().ok()) streamed = client::SubmitMany(*c, items, options_for(acked));
    finished = true;
  });
  while (acked < 2000 && !finished) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string backup = dir_ + "/backup";
  Outcome b = Provd({"backup", "--data-dir", live_, "--to", backup});
  const uint64_t acked_after_backup = acked;
  writer.join();
  ASSERT_EQ(b.rc, 0) << Describe(b);
  EXPECT_NE(b.out.find("online, from the running provd"), std::string::npos) << b.out;
  ASSERT_TRUE(streamed.fatal.ok()) << streamed.fatal.ToString();
  EXPECT_EQ(streamed.appended, leaves.size());
  EXPECT_LT(acked_after_backup, leaves.size()) << "the stream ended before the backup";

  struct stat st {};
  ASSERT_EQ(stat((backup + "/log.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Restore into a new directory: verified before the command says so.
  const std::string restored = dir_ + "/restored";
  Outcome r = Provd({"restore", "--from", backup, "--data-dir", restored});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.out.find("restored: "), std::string::npos) << r.out;
  ASSERT_EQ(stat((restored + "/log.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Outcome v = Provd({"verify", "--data-dir", restored});
  ASSERT_EQ(v.rc, 0) << Describe(v);
  EXPECT_NE(v.out.find("ok: "), std::string::npos) << v.out;

  // The restored log serves an older head of the same history.
  auto p = tools::ProvdProcess::Start(PROVD_PATH, restored);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  restored_provd_ = std::move(p).value();
  auto live_client = Connect(*live_provd_);
  auto restored_client = Connect(*restored_provd_);
  ASSERT_TRUE(live_client && restored_client);
  auto live_head = live_client->GetCheckpoint();
  auto old_head = restored_client->GetCheckpoint();
  ASSERT_TRUE(live_head.ok() && old_head.ok());
  EXPECT_LT(old_head->checkpoint.size, live_head->checkpoint.size);
  verifier::Status consistent =
      live_client->ProveConsistency(old_head->checkpoint, live_head->checkpoint);
  EXPECT_TRUE(consistent.ok()) << consistent.ToString();

  // A client that saw the live head calls the restored one a rollback.
  Outcome seen = Prov(live_provd_->target(), {"log", "checkpoint"});
  ASSERT_EQ(seen.rc, 0) << Describe(seen);
  Outcome rolled = Prov(restored_provd_->target(), {"log", "checkpoint"});
  EXPECT_EQ(rolled.rc, 3) << Describe(rolled);
  EXPECT_NE(rolled.err.find("ROLLBACK"), std::string::npos) << Describe(rolled);

  // Stopped, the live data directory verifies too.
  EXPECT_EQ(live_provd_->Stop(SIGTERM), 0);
  live_provd_.reset();
  Outcome lv = Provd({"verify", "--data-dir", live_});
  EXPECT_EQ(lv.rc, 0) << Describe(lv);
}

TEST_F(BackupTest, OfflineBackupRestoresAndVerifies) {
  const std::string backup = dir_ + "/backup";
  Outcome b = Provd({"backup", "--data-dir", live_, "--to", backup});
  ASSERT_EQ(b.rc, 0) << Describe(b);
  EXPECT_NE(b.out.find("offline"), std::string::npos) << b.out;
  // An empty existing directory is a fine target for a restore.
  const std::string restored = dir_ + "/restored";
  fs::create_directory(restored);
  Outcome r = Provd({"restore", "--from", backup, "--data-dir", restored});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  Outcome v = Provd({"verify", "--data-dir", restored});
  EXPECT_EQ(v.rc, 0) << Describe(v);
  auto p = tools::ProvdProcess::Start(PROVD_PATH, restored);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  restored_provd_ = std::move(p).value();
}

TEST_F(BackupTest, BackupToANonEmptyOrInsideDirectoryIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartLive());
  const std::string target = dir_ + "/taken";
  fs::create_directory(target);
  testexec::Spit(target + "/notes.txt", "someone's files\n");
  const auto before = Listing(target);
  Outcome b = Provd({"backup", "--data-dir", live_, "--to", target});
  EXPECT_EQ(b.rc, 1) << Describe(b);
  EXPECT_NE(b.err.find("BAD_BACKUP_TARGET: " + target + " exists and is not an empty directory"),
            std::string::npos)
      << Describe(b);
  EXPECT_EQ(Listing(target), before);

  Outcome inside = Provd({"backup", "--data-dir", live_, "--to", live_ + "/backup"});
  EXPECT_EQ(inside.rc, 1) << Describe(inside);
  EXPECT_NE(inside.err.find("is inside the data directory"), std::string::npos) << Describe(inside);
  EXPECT_FALSE(fs::exists(live_ + "/backup"));
}

TEST_F(BackupTest, RestoreFromADirectoryThatIsNotABackupIsRefused) {
  const std::string restored = dir_ + "/restored";
  // A data directory is not a backup: it has no manifest.
  Outcome r = Provd({"restore", "--from", live_, "--data-dir", restored});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("NOT_A_BACKUP: " + live_ + " is not a provd backup: missing BACKUP"),
            std::string::npos)
      << Describe(r);
  const std::string empty = dir_ + "/empty";
  fs::create_directory(empty);
  Outcome e = Provd({"restore", "--from", empty, "--data-dir", restored});
  EXPECT_EQ(e.rc, 1) << Describe(e);
  EXPECT_NE(e.err.find("missing BACKUP, db/CURRENT, log.key, log.vkey"), std::string::npos)
      << Describe(e);
  Outcome none = Provd({"restore", "--from", dir_ + "/nowhere", "--data-dir", restored});
  EXPECT_EQ(none.rc, 1) << Describe(none);
  EXPECT_NE(none.err.find("no such directory"), std::string::npos) << Describe(none);
  EXPECT_FALSE(fs::exists(restored));
  EXPECT_TRUE(EntriesContaining(dir_, ".restore-").empty());
}

TEST_F(BackupTest, RestoreOverALiveProvdIsRefusedEvenWithForce) {
  const std::string backup = dir_ + "/backup";
  ASSERT_EQ(Provd({"backup", "--data-dir", live_, "--to", backup}).rc, 0);
  ASSERT_NO_FATAL_FAILURE(StartLive());
  auto c = Connect(*live_provd_);
  ASSERT_NE(c, nullptr);
  auto head = c->GetCheckpoint();
  ASSERT_TRUE(head.ok());
  auto before = Listing(live_ + "/db");
  for (bool force : {false, true}) {
    std::vector<std::string> args = {"restore", "--from", backup, "--data-dir", live_};
    if (force) args.push_back("--force");
    Outcome r = Provd(args);
    EXPECT_EQ(r.rc, 1) << Describe(r);
    EXPECT_NE(r.err.find("LEDGER_LIVE: a provd holds " + live_ + "/db open; stop it first"),
              std::string::npos)
        << Describe(r);
  }
  EXPECT_EQ(Listing(live_ + "/db"), before);
  EXPECT_TRUE(EntriesContaining(dir_, ".live.").empty());
  auto after = c->GetCheckpoint();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->checkpoint.root, head->checkpoint.root);
}

TEST_F(BackupTest, RestoreIntoANonEmptyDirectoryNeedsForce) {
  const std::string backup = dir_ + "/backup";
  ASSERT_EQ(Provd({"backup", "--data-dir", live_, "--to", backup}).rc, 0);
  const std::string target = dir_ + "/other";
  fs::create_directory(target);
  testexec::Spit(target + "/notes.txt", "someone's files\n");
  const auto before = Listing(target);
  Outcome r = Provd({"restore", "--from", backup, "--data-dir", target});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("DATA_DIR_NOT_EMPTY: " + target + " is not empty"), std::string::npos)
      << Describe(r);
  EXPECT_EQ(Listing(target), before);
  // With --force on a stopped directory it is replaced, once the copy verifies.
  Outcome f = Provd({"restore", "--from", backup, "--data-dir", target, "--force"});
  ASSERT_EQ(f.rc, 0) << Describe(f);
  EXPECT_FALSE(fs::exists(target + "/notes.txt"));
  EXPECT_EQ(Provd({"verify", "--data-dir", target}).rc, 0);
  EXPECT_TRUE(EntriesContaining(dir_, ".other.").empty());
}

TEST_F(BackupTest, ABackupThatDoesNotVerifyLeavesNothingBehind) {
  const std::string backup = dir_ + "/backup";
  ASSERT_EQ(Provd({"backup", "--data-dir", live_, "--to", backup}).rc, 0);
  // The manifest claims another tree than the database holds.
  std::string manifest = testexec::Slurp(backup + "/BACKUP");
  size_t at = manifest.find("size ");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, manifest.find('\n', at) - at, "size 999");
  testexec::Spit(backup + "/BACKUP", manifest);
  const std::string target = dir_ + "/other";
  fs::create_directory(target);
  testexec::Spit(target + "/notes.txt", "someone's files\n");
  const auto before = Listing(target);
  Outcome r = Provd({"restore", "--from", backup, "--data-dir", target, "--force"});
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_NE(r.err.find("BACKUP_MISMATCH"), std::string::npos) << Describe(r);
  EXPECT_EQ(Listing(target), before);
  EXPECT_TRUE(EntriesContaining(dir_, ".other.").empty());
}

// The published tiles are ahead of a restored ledger: provd refuses to serve
// them rather than publish another history over them.
TEST_F(BackupTest, ARestoredLedgerBehindItsPublishedTilesIsNotServed) {
  const std::string backup = dir_ + "/backup";
  ASSERT_EQ(Provd({"backup", "--data-dir", live_, "--to", backup}).rc, 0);
  const std::string tiles = dir_ + "/tiles";
  ASSERT_NO_FATAL_FAILURE(StartLive({"--tiles-dir", tiles}));
  auto c = Connect(*live_provd_);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->GetCheckpoint().ok());
  Records(*c, 0);
  ASSERT_TRUE(Published(tiles, c->latest()->checkpoint.size));
  EXPECT_EQ(live_provd_->Stop(SIGTERM), 0);
  live_provd_.reset();

  const std::string restored = dir_ + "/restored";
  ASSERT_EQ(Provd({"restore", "--from", backup, "--data-dir", restored}).rc, 0);
  auto refused = tools::ProvdProcess::Start(PROVD_PATH, restored, {"--tiles-dir", tiles});
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(testexec::Slurp(restored + "/provd.log").find("TILES_AHEAD_OF_LEDGER"),
            std::string::npos)
      << testexec::Slurp(restored + "/provd.log");
}

// A static file server for a tiles directory: Python's http.server, a real
// HTTP server that knows nothing of the log.
class StaticFiles {
 public:
  explicit StaticFiles(const std::string& dir)
      : proc_(testexec::Start({"/usr/bin/python3", "-u", "-m", "http.server", "--bind", "127.0.0.1",
                               "--directory", dir, "0"},
                              fs::path(dir).parent_path().string())) {  // its output beside
    const std::string marker = "port ";
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::string out = testexec::Slurp(proc_.out);
      if (size_t at = out.find(marker); at != std::string::npos) {
        port_ = std::atoi(out.c_str() + at + marker.size());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~StaticFiles() {
    ::kill(proc_.pid, SIGTERM);
    testexec::Finish(proc_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  testexec::Running proc_;
  int port_ = 0;
};

TEST_F(BackupTest, LostLeavesAreAppendedAgainFromThePublishedTiles) {
  const std::string tiles = dir_ + "/tiles";
  ASSERT_NO_FATAL_FAILURE(StartLive({"--tiles-dir", tiles}));
  auto c = Connect(*live_provd_);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->GetCheckpoint().ok());
  const std::vector<std::string> leaves = Records(*c, 600);
  auto submit = [&](size_t from, size_t to) {
    std::vector<client::Submission> items;
    for (size_t i = from; i < to; ++i) items.push_back({i, leaves[i]});
    std::atomic<uint64_t> acked{0};
    auto r = client::SubmitMany(*c, items, options_for(acked));
    ASSERT_TRUE(r.fatal.ok()) << r.fatal.ToString();
    ASSERT_EQ(r.appended, to - from);
  };
  ASSERT_NO_FATAL_FAILURE(submit(0, 200));
  const std::string backup = dir_ + "/backup";
  ASSERT_EQ(Provd({"backup", "--data-dir", live_, "--to", backup}).rc, 0);
  ASSERT_NO_FATAL_FAILURE(submit(200, 600));  // lost with the live directory, but published
  ASSERT_TRUE(c->GetCheckpoint().ok());
  const auto head = c->latest()->checkpoint;
  ASSERT_TRUE(Published(tiles, head.size));
  ASSERT_EQ(Prov(live_provd_->target(), {"log", "checkpoint"}).rc, 0);  // a client saw it
  EXPECT_EQ(live_provd_->Stop(SIGTERM), 0);
  live_provd_.reset();

  // The disk is lost; the backup and the published tiles are not.
  fs::remove_all(live_);
  const std::string restored = dir_ + "/restored";
  ASSERT_EQ(Provd({"restore", "--from", backup, "--data-dir", restored}).rc, 0);
  StaticFiles copy(tiles);
  ASSERT_GT(copy.port(), 0);

  // Not while provd serves it; not from nowhere.
  auto p = tools::ProvdProcess::Start(PROVD_PATH, restored);
  ASSERT_TRUE(p.ok());
  Outcome r = Exec({PROVRECOVER_PATH, "--data-dir", restored, "--from", copy.url()}, dir_);
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("DATABASE_IN_USE"), std::string::npos) << Describe(r);
  EXPECT_EQ((*p)->Stop(SIGTERM), 0);
  r = Exec({PROVRECOVER_PATH, "--data-dir", restored, "--from", "http://127.0.0.1:1"}, dir_);
  EXPECT_EQ(r.rc, 4) << Describe(r);

  r = Exec({PROVRECOVER_PATH, "--data-dir", restored, "--from", copy.url()}, dir_);
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.out.find("the head of size " + std::to_string(head.size) +
                       " has the published root " + verifier::HexEncode(head.root)),
            std::string::npos)
      << Describe(r);
  EXPECT_EQ(Provd({"verify", "--data-dir", restored}).rc, 0);
  r = Exec({PROVRECOVER_PATH, "--data-dir", restored, "--from", copy.url()}, dir_);
  EXPECT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.out.find("nothing to recover"), std::string::npos) << Describe(r);

  // It serves beside its published tiles again, and the client that saw the
  // lost head finds no rollback: the same tree.
  p = tools::ProvdProcess::Start(PROVD_PATH, restored, {"--tiles-dir", tiles});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  restored_provd_ = std::move(p).value();
  r = Prov(restored_provd_->target(), {"log", "checkpoint"});
  EXPECT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(Prov(restored_provd_->target(), {"audit"}).rc, 0);
}

TEST_F(BackupTest, RecoveryFromACopyThatIsNotThisLedgersExtensionIsRefused) {
  StartLive();
  auto c = Connect(*live_provd_);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->GetCheckpoint().ok());
  const std::vector<std::string> leaves = Records(*c, 50);
  const std::string backup = dir_ + "/backup";
  ASSERT_EQ(Provd({"backup", "--data-dir", live_, "--to", backup}).rc, 0);
  for (size_t i = 0; i < 25; ++i) {
    pb::SignedRecord rec;
    ASSERT_TRUE(rec.ParseFromString(leaves[i]));
    ASSERT_TRUE(c->Submit(rec).ok());
  }
  EXPECT_EQ(live_provd_->Stop(SIGTERM), 0);
  live_provd_.reset();
  // A second history from the same backup, published as tiles: a fork.
  const std::string other = dir_ + "/other", tiles = dir_ + "/other-tiles";
  ASSERT_EQ(Provd({"restore", "--from", backup, "--data-dir", other}).rc, 0);
  auto p = tools::ProvdProcess::Start(PROVD_PATH, other, {"--tiles-dir", tiles});
  ASSERT_TRUE(p.ok());
  auto oc = Connect(**p);
  ASSERT_NE(oc, nullptr);
  ASSERT_TRUE(oc->GetCheckpoint().ok());
  for (size_t i = 25; i < 50; ++i) {
    pb::SignedRecord rec;
    ASSERT_TRUE(rec.ParseFromString(leaves[i]));
    ASSERT_TRUE(oc->Submit(rec).ok());
  }
  ASSERT_TRUE(oc->GetCheckpoint().ok());
  ASSERT_TRUE(Published(tiles, oc->latest()->checkpoint.size));
  EXPECT_EQ((*p)->Stop(SIGTERM), 0);
  StaticFiles fork(tiles);
  const auto before = Listing(live_ + "/db");
  Outcome r = Exec({PROVRECOVER_PATH, "--data-dir", live_, "--from", fork.url()}, dir_);
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_NE(r.err.find("FORK"), std::string::npos) << Describe(r);
  Outcome v = Provd({"verify", "--data-dir", live_});
  EXPECT_EQ(v.rc, 0) << Describe(v);
  // Nothing appended: the same number of entries as before.
  EXPECT_NE(v.out.find("ok: " + std::to_string(c->latest()->checkpoint.size) + " entries"),
            std::string::npos)
      << Describe(v);
}

}  // namespace
