// The tlog-tiles client (client/tiles_source.h, `prov --tiles-url`): a real
// ledger's tiles, bundles and checkpoints written by a test-side publisher
// (tests/client/tiles_writer.h) and served by a real nginx; the same log
// served by a real provd for comparison; hostile servers (cpp-httplib in
// this process) that send wrong bytes on purpose. Randomised tests print
// their seed.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "client/tiles_source.h"
#include "client/trust_store.h"
#include "ledger/coding.h"
#include "ledger/ledger.h"
#include "tests/client/exec.h"
#include "tests/client/index_layout.h"
#include "tests/client/nginx.h"
#include "tests/client/tiles_writer.h"
#include "tests/ledger/fixture.h"
#include "tools/provd_process.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/tlog_tiles.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ledger_test::World;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using testexec::Spit;
using verifier::Code;
using verifier::Hash;
using verifier::Status;

std::string MakeTempDir(const std::string& name) {
  std::string tmpl = "/tmp/prov-" + name + "-XXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

std::vector<std::string> LeavesOf(const ledger::Ledger& l, uint64_t start, uint64_t end) {
  std::vector<std::string> out;
  auto entries = l.GetEntries(start, end);
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  if (entries.ok()) {
    for (const auto& e : *entries) out.push_back(e.signed_record());
  }
  return out;
}

// ---------------------------------------------------------------------------
// The library over nginx: one in-memory ledger of 600 leaves, and "another
// log" with the same key and origin whose leaves differ (its devices, and
// the times in its index roots). Both commit one record at a time, so every
// even size has a checkpoint.

class TilesReadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    verifier::InitCrypto();
    world_ = new World;
    for (auto [kv, l, size, first] :
         {std::tuple(&kv_, &ledger_, 600, 0u), std::tuple(&other_kv_, &other_, 700, 100000u)}) {
      *kv = new std::shared_ptr<ledger::MemoryKvStore>(std::make_shared<ledger::MemoryKvStore>());
      ASSERT_TRUE(ledger::Ledger::Init((*kv)->get(), world_->log_key, world_->Genesis()).ok());
      auto opened =
          ledger::Ledger::Open(std::make_unique<ledger_test::SharedKvStore>(**kv), world_->log_key);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      *l = opened->release();
      testtiles::Grow(**l, *world_, size, first);
    }
  }
  static void TearDownTestSuite() {
    delete ledger_;
    delete other_;
    delete kv_;
    delete other_kv_;
    delete world_;
  }

  void SetUp() override {
    dir_ = MakeTempDir("tiles-read");
    fs::create_directories(LogDir());
    std::string error;
    nginx_ = testnginx::Nginx::Start(dir_ + "/www", dir_ + "/nginx", &error);
    ASSERT_NE(nginx_, nullptr) << "nginx did not start: " << error;
  }
  void TearDown() override {
    nginx_.reset();
    fs::remove_all(dir_);
  }

  std::string LogDir() const { return dir_ + "/www/log"; }
  std::string Url() const { return nginx_->Url() + "/log"; }
  const ledger::KvStore& kv() const { return **kv_; }

  std::unique_ptr<client::LedgerClient> Client(const std::string& url) {
    client::TilesOptions options;
    options.url = url;
    auto c = client::LedgerClient::ConnectTiles(std::move(options), ledger_->verifier_key());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  static client::TilesSource& Tiles(client::LedgerClient& c) {
    return dynamic_cast<client::TilesSource&>(c.source());
  }

  static World* world_;
  static std::shared_ptr<ledger::MemoryKvStore>*kv_, *other_kv_;
  static ledger::Ledger *ledger_, *other_;
  std::string dir_;
  std::unique_ptr<testnginx::Nginx> nginx_;
};
World* TilesReadTest::world_ = nullptr;
std::shared_ptr<ledger::MemoryKvStore>* TilesReadTest::kv_ = nullptr;
std::shared_ptr<ledger::MemoryKvStore>* TilesReadTest::other_kv_ = nullptr;
ledger::Ledger* TilesReadTest::ledger_ = nullptr;
ledger::Ledger* TilesReadTest::other_ = nullptr;

TEST_F(TilesReadTest, GrowingLogReadsLikeTheLedgerAcrossBundleBoundaries) {
  auto c = Client(Url());
  ASSERT_NE(c, nullptr);
  // The smallest log, then a partial tile, a full one and one more.
  const std::vector<uint64_t> sizes = {testlog::kNewSize, 254, 256, 258, 600};
  uint64_t prev = 0;
  for (uint64_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    ASSERT_TRUE(testtiles::Publish(kv(), prev, size, LogDir()).ok());
    auto head = c->GetCheckpoint();  // consistent with the previous size
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->checkpoint.size, size);
    EXPECT_EQ(head->note, *testtiles::NoteAt(kv(), size));
    auto all = c->GetEntries(0, size);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(*all, LeavesOf(*ledger_, 0, size));
    for (auto [a, b] : {std::pair<uint64_t, uint64_t>{250, 257}, {255, 256}, {256, 600}}) {
      if (b > size) continue;
      auto part = c->GetEntries(a, b);
      ASSERT_TRUE(part.ok()) << part.status().ToString();
      EXPECT_EQ(*part, LeavesOf(*ledger_, a, b)) << "[" << a << ", " << b << ")";
    }
    for (uint64_t i : {uint64_t{0}, size / 2, size - 1}) {
      Status s = c->ProveInclusion(i, LeavesOf(*ledger_, i, i + 1)[0], *head);
      EXPECT_TRUE(s.ok()) << "leaf " << i << ": " << s.ToString();
    }
    prev = size;
  }
  // Partial tiles only at widths a verified checkpoint required.
  for (const std::string& path : Tiles(*c).requested()) {
    if (path == "checkpoint") continue;
    auto ref = verifier::ParseTilePath(path);
    ASSERT_TRUE(ref.ok()) << path;
    if (ref->full()) continue;
    bool required = false;
    for (uint64_t size : sizes) {
      const int level = std::max(ref->level, 0);
      required |= verifier::PartialTileWidth(level, size) == ref->width &&
                  (size >> (8 * level)) / 256 == ref->index;
    }
    EXPECT_TRUE(required) << path << " is not required by any verified checkpoint";
  }
}

TEST_F(TilesReadTest, ProofsEqualTheLedgersForRandomSizes) {
  ASSERT_TRUE(testtiles::Publish(kv(), 0, 600, LogDir()).ok());
  auto c = Client(Url());
  ASSERT_NE(c, nullptr);
  auto head = c->GetCheckpoint();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  const uint32_t seed = std::random_device{}();
  std::cout << "[ seed ] " << seed << "\n";
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t lo, uint64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  client::TilesSource& tiles = Tiles(*c);
  for (int i = 0; i < 300; ++i) {
    const uint64_t size = pick(1, 600), index = pick(0, size - 1);
    auto mine = tiles.InclusionProof(index, size, head->checkpoint);
    auto want = ledger_->InclusionProof(index, size);
    ASSERT_TRUE(mine.ok() && want.ok()) << index << "/" << size << ": " << mine.status().ToString();
    EXPECT_EQ(*mine, ledger_test::ToHashes(want->hashes())) << "inclusion " << index << "/" << size;

    const uint64_t b = pick(1, 600), a = pick(1, b);
    auto cons = tiles.ConsistencyProof(a, b, head->checkpoint);
    auto want_cons = ledger_->ConsistencyProof(a, b);
    ASSERT_TRUE(cons.ok() && want_cons.ok()) << a << "->" << b << ": " << cons.status().ToString();
    EXPECT_EQ(*cons, ledger_test::ToHashes(want_cons->hashes()))
        << "consistency " << a << "->" << b;
  }
  // Four tiles make the tree of 600 (0/000, 0/001, 0/002.p/88, 1/000.p/2):
  // each was fetched once.
  std::multiset<std::string> fetched(tiles.requested().begin(), tiles.requested().end());
  for (const auto& p : fetched) EXPECT_EQ(fetched.count(p), 1u) << p << " fetched again";
  EXPECT_LE(fetched.size(), 5u);
  // A request beyond the verified tree is refused, not fetched.
  auto beyond = tiles.InclusionProof(3, 601, head->checkpoint);
  EXPECT_EQ(beyond.status().reason(), "BEYOND_CHECKPOINT");
}

TEST_F(TilesReadTest, PartialTileGoneReadsTheFullTile) {
  // The tree grew to 600 in one step, so tile/0/000.p/254 never existed;
  // a mirror still serving the checkpoint of 254 must be read from the full tiles.
  ASSERT_TRUE(testtiles::Publish(kv(), 0, 600, LogDir()).ok());
  Spit(LogDir() + "/checkpoint", *testtiles::NoteAt(kv(), 254));
  auto c = Client(Url());
  ASSERT_NE(c, nullptr);
  auto head = c->GetCheckpoint();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  auto entries = c->GetEntries(0, 254);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(*entries, LeavesOf(*ledger_, 0, 254));
  const auto& req = Tiles(*c).requested();
  auto after = [&](const std::string& a, const std::string& b) {
    auto i = std::find(req.begin(), req.end(), a);
    return i != req.end() && i + 1 != req.end() && *(i + 1) == b;
  };
  EXPECT_TRUE(after("tile/entries/000.p/254", "tile/entries/000"));
  EXPECT_TRUE(after("tile/0/000.p/254", "tile/0/000"));
}

TEST_F(TilesReadTest, RollbackForkAndForeignKeyAreRefusedAndTheHeadKept) {
  ASSERT_TRUE(testtiles::Publish(kv(), 0, 600, LogDir()).ok());
  auto c = Client(Url());
  ASSERT_NE(c, nullptr);
  auto head = c->GetCheckpoint();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  auto still = [&] {
    ASSERT_TRUE(c->latest().has_value());
    EXPECT_EQ(c->latest()->note, head->note);
  };

  // Rollback: the mirror serves an older checkpoint of the same log.
  Spit(LogDir() + "/checkpoint", *testtiles::NoteAt(kv(), 300));
  auto rolled = c->GetCheckpoint();
  EXPECT_EQ(rolled.status().reason(), "ROLLBACK") << rolled.status().ToString();
  EXPECT_EQ(rolled.status().code(), Code::kDataLoss);
  still();

  // Fork: the other log (same key and origin) at the same size, and larger.
  const std::string other_dir = dir_ + "/www/other";
  ASSERT_TRUE(testtiles::Publish(**other_kv_, 0, 600, other_dir).ok());
  c = Client(nginx_->Url() + "/other");
  c->SetLatest(*head);
  auto same_size = c->GetCheckpoint();
  EXPECT_EQ(same_size.status().reason(), "FORK") << same_size.status().ToString();
  still();
  ASSERT_TRUE(testtiles::Publish(**other_kv_, 600, 700, other_dir).ok());
  auto larger = c->GetCheckpoint();
  EXPECT_EQ(larger.status().reason(), "FORK") << larger.status().ToString();
  EXPECT_EQ(larger.status().code(), Code::kDataLoss);
  still();

  // A checkpoint of this origin signed by another key.
  verifier::Checkpoint fake = head->checkpoint;
  fake.size = 601;
  Spit(LogDir() + "/checkpoint",
       verifier::SignNote(verifier::FormatCheckpoint(fake), ledger_test::kOrigin,
                          ledger_test::KeyFromByte(201)));
  c = Client(Url());
  c->SetLatest(*head);
  auto foreign = c->GetCheckpoint();
  EXPECT_EQ(foreign.status().code(), Code::kDataLoss) << foreign.status().ToString();
  still();
}

// ---------------------------------------------------------------------------
// `prov --tiles-url` against `prov --server` on the same log: a real provd,
// its store grown in this process, its tiles served by nginx.

class ProvTilesTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kSize = 300;

  void SetUp() override {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);
    unsetenv("PROV_SERVER");
    unsetenv("PROV_TILES_URL");
    dir_ = MakeTempDir("tiles-prov");
    World w;
    auto vkey = tools::InitLedger(PROVD_PATH, dir_ + "/ledger", ledger_test::kOrigin,
                                  {{"auth-0", w.auth0.public_key()},
                                   {"auth-1", w.auth1.public_key()},
                                   {"auth-2", w.auth2.public_key()}},
                                  2);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    vkey_file_ = dir_ + "/log.vkey";
    Spit(vkey_file_, *vkey + "\n");
    {
      auto key = verifier::ReadKeyFile(dir_ + "/ledger/log.key");
      ASSERT_TRUE(key.ok()) << key.status().ToString();
      auto kv = ledger::OpenRocksKvStore(dir_ + "/ledger/db", false, {.sync = false});
      ASSERT_TRUE(kv.ok()) << kv.status().ToString();
      ledger::KvStore* store = kv->get();
      auto l = ledger::Ledger::Open(std::move(kv).value(), *key);
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      testtiles::Grow(**l, w, kSize, 0);
      old_note_ = *testtiles::NoteAt(*store, 100);
      ASSERT_TRUE(testtiles::Publish(*store, 0, kSize, dir_ + "/www/log").ok());
    }
    auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/ledger");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    // The mirror's checkpoint is the one provd serves.
    Outcome head =
        Prov({"--server", provd_->target(), "--state-dir", dir_ + "/s0", "log", "checkpoint"});
    ASSERT_EQ(head.rc, 0) << Describe(head);
    Spit(dir_ + "/www/log/checkpoint", head.out);
    std::string error;
    nginx_ = testnginx::Nginx::Start(dir_ + "/www", dir_ + "/nginx", &error);
    ASSERT_NE(nginx_, nullptr) << "nginx did not start: " << error;
  }
  void TearDown() override {
    nginx_.reset();
    provd_.reset();
    fs::remove_all(dir_);
  }

  Outcome Prov(std::vector<std::string> args) {
    std::vector<std::string> argv = {PROV_PATH, "--vkey", vkey_file_};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, dir_);
  }
  std::string Url() const { return nginx_->Url() + "/log"; }
  // The same command over gRPC and over tiles, each with a fresh trust store.
  void ExpectSameOutput(const std::vector<std::string>& command) {
    SCOPED_TRACE(json(command).dump());
    static int n = 0;
    const std::string a = dir_ + "/grpc" + std::to_string(++n),
                      b = dir_ + "/tiles" + std::to_string(n);
    std::vector<std::string> over_grpc = {"--server", provd_->target(), "--state-dir", a};
    std::vector<std::string> over_tiles = {"--tiles-url", Url(), "--state-dir", b};
    over_grpc.insert(over_grpc.end(), command.begin(), command.end());
    over_tiles.insert(over_tiles.end(), command.begin(), command.end());
    Outcome g = Prov(over_grpc), t = Prov(over_tiles);
    ASSERT_EQ(g.rc, 0) << Describe(g);
    ASSERT_EQ(t.rc, 0) << Describe(t);
    EXPECT_EQ(t.out, g.out);
    EXPECT_FALSE(t.out.empty());
    EXPECT_EQ(Slurp(b + "/" + StoreDirName() + "/checkpoint"),
              Slurp(a + "/" + StoreDirName() + "/checkpoint"));
  }
  std::string StoreDirName() const {
    return client::TrustStore::LogDirName(*verifier::ParseVerifierKey(vkey_));
  }
  // A ledger in memory under this log's key and origin (its operator's, or
  // a thief's), grown by testtiles::Grow to each (size, first device) in turn.
  void LedgerWithTheLogKey(const std::vector<std::pair<uint64_t, uint32_t>>& growth,
                           std::shared_ptr<ledger::MemoryKvStore>* kv) {
    auto key = verifier::ReadKeyFile(dir_ + "/ledger/log.key");
    ASSERT_TRUE(key.ok());
    World w;
    *kv = std::make_shared<ledger::MemoryKvStore>();
    ASSERT_TRUE(ledger::Ledger::Init(kv->get(), *key, w.Genesis()).ok());
    auto l = ledger::Ledger::Open(std::make_unique<ledger_test::SharedKvStore>(*kv), *key);
    ASSERT_TRUE(l.ok());
    for (const auto& [size, first] : growth) testtiles::Grow(**l, w, size, first);
  }

  std::string dir_, vkey_, vkey_file_, old_note_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<testnginx::Nginx> nginx_;
};

TEST_F(ProvTilesTest, LogCommandsAndAuditPrintTheSameAsOverGrpc) {
  Spit(dir_ + "/old.note", old_note_);
  ExpectSameOutput({"log", "checkpoint"});
  ExpectSameOutput({"log", "entries", "--start", "250", "--end", "260"});
  ExpectSameOutput({"log", "proof", "--index", "123"});
  ExpectSameOutput({"log", "consistency", "--from-note", dir_ + "/old.note"});
  ExpectSameOutput({"audit"});
  ExpectSameOutput({"--json", "audit"});
  ExpectSameOutput({"org", "list"});
}

TEST_F(ProvTilesTest, CommandsThatNeedTheServerSaySoWithTilesOnly) {
  Spit(dir_ + "/rec.bin", "x");
  Spit(dir_ + "/manifest.csv", "manufacturer,serial,model\nacme-cam,SN-1,C100\n");
  // Writes need provd.
  {
    Outcome r = Prov({"--tiles-url", Url(), "--state-dir", dir_ + "/s", "submit", dir_ + "/rec.bin"});
    EXPECT_EQ(r.rc, 64) << Describe(r);
    EXPECT_NE(r.err.find("NEEDS_SERVER"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("--server"), std::string::npos) << Describe(r);
  }
  // Judging reads the static files, and this copy has no index tiles: the
  // evidence cannot be assembled (unavailable, exit 4), never judged.
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"check", "--manufacturer", "acme-cam", "--serial", "SN-1"},
        std::vector<std::string>{"delivery", "check", dir_ + "/manifest.csv", "--buyer", "dist-co"},
        std::vector<std::string>{"bundle", "export", "--out", dir_ + "/b.bin", "--manufacturer",
                                 "acme-cam", "--serial", "SN-1"}}) {
    std::vector<std::string> args = {"--tiles-url", Url(), "--state-dir", dir_ + "/s"};
    args.insert(args.end(), command.begin(), command.end());
    Outcome r = Prov(args);
    EXPECT_EQ(r.rc, 4) << Describe(r);
    EXPECT_NE(r.err.find("TILE_MISSING"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("/index/"), std::string::npos) << Describe(r);
  }
  EXPECT_FALSE(fs::exists(dir_ + "/b.bin"));
  // Both for a read: which one?
  Outcome both = Prov({"--server", provd_->target(), "--tiles-url", Url(), "log", "checkpoint"});
  EXPECT_EQ(both.rc, 64) << Describe(both);
  EXPECT_NE(both.err.find("mutually exclusive"), std::string::npos) << Describe(both);
  // A URL that is not one.
  Outcome bad =
      Prov({"--tiles-url", "ftp://x/log", "--state-dir", dir_ + "/s", "log", "checkpoint"});
  EXPECT_EQ(bad.rc, 64) << Describe(bad);
  EXPECT_NE(bad.err.find("BAD_TILES_URL"), std::string::npos) << Describe(bad);
}

TEST_F(ProvTilesTest, RollbackAndForkOverTilesLeaveTheTrustStoreAsItWas) {
  const std::string state = dir_ + "/s";
  Outcome first = Prov({"--tiles-url", Url(), "--state-dir", state, "log", "checkpoint"});
  ASSERT_EQ(first.rc, 0) << Describe(first);
  const std::string stored = state + "/" + StoreDirName() + "/checkpoint";
  const std::string before = Slurp(stored);
  ASSERT_EQ(before, first.out);

  Spit(dir_ + "/www/log/checkpoint", old_note_);  // size 100: a rollback
  Outcome rolled = Prov({"--tiles-url", Url(), "--state-dir", state, "audit"});
  EXPECT_EQ(rolled.rc, 3) << Describe(rolled);
  EXPECT_NE(rolled.err.find("ROLLBACK"), std::string::npos) << Describe(rolled);
  EXPECT_EQ(Slurp(stored), before);

  // Same key, same origin, the leaf at 200 rewritten: rebuild the tree at
  // size 300 with another device there and re-sign with the log's key.
  std::shared_ptr<ledger::MemoryKvStore> kv;
  ASSERT_NO_FATAL_FAILURE(LedgerWithTheLogKey({{200, 0}, {kSize + 10, 5000}}, &kv));
  fs::remove_all(dir_ + "/www/log");
  ASSERT_TRUE(testtiles::Publish(*kv, 0, kSize + 10, dir_ + "/www/log").ok());
  Outcome forked = Prov({"--tiles-url", Url(), "--state-dir", state, "log", "checkpoint"});
  EXPECT_EQ(forked.rc, 3) << Describe(forked);
  EXPECT_NE(forked.err.find("FORK"), std::string::npos) << Describe(forked);
  EXPECT_EQ(Slurp(stored), before);
}

// A compromised operator signs a head whose last leaf, an index root, is
// well formed and in its place but does not hold the index of the leaves
// before it: the audit recomputes the index and names that leaf.
TEST_F(ProvTilesTest, AuditOverTilesNamesAForgedIndexRoot) {
  std::shared_ptr<ledger::MemoryKvStore> kv;
  ASSERT_NO_FATAL_FAILURE(LedgerWithTheLogKey({{40, 0}}, &kv));
  auto key = verifier::ReadKeyFile(dir_ + "/ledger/log.key");
  ASSERT_TRUE(key.ok());
  World w;
  uint64_t size = 40;
  ASSERT_TRUE(testtiles::AppendCommit(*kv, &size, *key, ledger_test::kOrigin, {w.Device(7000)},
                                      testtiles::ForgedIndexRoot())
                  .ok());
  const uint64_t forged = size - 1;  // the commit's index root
  ASSERT_TRUE(testtiles::Publish(*kv, 0, size, dir_ + "/www/forged").ok());

  Outcome r = Prov({"--tiles-url", nginx_->Url() + "/forged", "--state-dir", dir_ + "/s", "--json",
                    "audit"});
  EXPECT_EQ(r.rc, 3) << Describe(r);
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << Describe(r);
  EXPECT_EQ(j.value("reason", ""), "INDEX_ROOT_MISMATCH") << Describe(r);
  EXPECT_NE(j.value("message", "").find("the index root logged at #" + std::to_string(forged) +
                                        " (" + verifier::HexEncode(testtiles::ForgedIndexRoot())
                                                   .substr(0, 16)),
            std::string::npos)
      << Describe(r);
}

TEST_F(ProvTilesTest, HttpsVerifiesTheMirrorsCertificate) {
  const std::string pki = dir_ + "/pki";
  Outcome certs = Exec({"/bin/bash", PROV_SOURCE_DIR "/scripts/make-test-certs.sh", pki}, dir_);
  ASSERT_EQ(certs.rc, 0) << Describe(certs);
  testnginx::Nginx::Tls tls{pki + "/server.pem", pki + "/server.key"};
  std::string error;
  auto https = testnginx::Nginx::Start(dir_ + "/www", dir_ + "/nginx-tls", &error, &tls);
  ASSERT_NE(https, nullptr) << "nginx (TLS) did not start: " << error;
  const std::string url = https->Url(/*https=*/true) + "/log";
  Outcome ok = Prov(
      {"--tiles-url", url, "--tiles-ca", pki + "/ca.pem", "--state-dir", dir_ + "/s1", "audit"});
  EXPECT_EQ(ok.rc, 0) << Describe(ok);
  for (const std::vector<std::string>& ca :
       {std::vector<std::string>{"--tiles-ca", pki + "/other-ca.pem"},
        std::vector<std::string>{}}) {  // the system store does not know the test CA
    std::vector<std::string> args = {"--tiles-url", url, "--state-dir", dir_ + "/s2"};
    args.insert(args.end(), ca.begin(), ca.end());
    args.push_back("log");
    args.push_back("checkpoint");
    Outcome r = Prov(args);
    EXPECT_EQ(r.rc, 3) << Describe(r);
    EXPECT_NE(r.err.find("TLS_UNTRUSTED_PEER"), std::string::npos) << Describe(r);
    EXPECT_FALSE(fs::exists(dir_ + "/s2/" + StoreDirName() + "/checkpoint"));
  }
  Outcome plain_ca = Prov({"--tiles-url", Url(), "--tiles-ca", pki + "/ca.pem", "--state-dir",
                           dir_ + "/s3", "log", "checkpoint"});
  EXPECT_EQ(plain_ca.rc, 64) << Describe(plain_ca);
  EXPECT_NE(plain_ca.err.find("BAD_TILES_CA"), std::string::npos) << Describe(plain_ca);
}

// ---------------------------------------------------------------------------
// Hostile mirrors: a cpp-httplib server serving the honest files of a log of
// 600 leaves, except what a test changes. Every case starts from a trust
// store at size 300 and must leave it there.

class HostileServer {
 public:
  using Behaviour = std::function<void(httplib::Response&)>;
  explicit HostileServer(std::map<std::string, std::string> files) : files_(std::move(files)) {
    server_.Get(R"(/log/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string path = req.matches[1];
      Behaviour b;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto o = overrides_.find(path);
        if (o != overrides_.end()) b = o->second;
        auto f = files_.find(path);
        if (f == files_.end()) {
          res.status = 404;
        } else {
          res.set_content(f->second, "application/octet-stream");
        }
      }
      if (b) b(res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port listens: connections queue until the loop accepts.
  }
  ~HostileServer() {
    server_.stop();
    thread_.join();
  }
  void Override(const std::string& path, Behaviour b) {
    std::lock_guard<std::mutex> lock(mu_);
    overrides_[path] = std::move(b);
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    overrides_.clear();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/log"; }

 private:
  httplib::Server server_;
  std::map<std::string, std::string> files_;
  std::mutex mu_;
  std::map<std::string, Behaviour> overrides_;  // GUARDED_BY(mu_)
  int port_ = 0;
  std::thread thread_;
};

std::map<std::string, std::string> FilesUnder(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = Slurp(e.path());
  }
  return out;
}

class HostileTilesTest : public TilesReadTest {
 protected:
  void SetUp() override {
    TilesReadTest::SetUp();
    ASSERT_TRUE(testtiles::Publish(kv(), 0, 600, LogDir()).ok());
    ASSERT_TRUE(testtiles::Publish(**other_kv_, 0, 600, dir_ + "/other").ok());
    honest_ = FilesUnder(LogDir());
    other_files_ = FilesUnder(dir_ + "/other");
    server_ = std::make_unique<HostileServer>(honest_);
    vkey_file_ = dir_ + "/log.vkey";
    Spit(vkey_file_, ledger_->verifier_key() + "\n");
    state_ = dir_ + "/state";
    // The store holds the checkpoint of 300 (from an honest mirror).
    Spit(LogDir() + "/checkpoint", *testtiles::NoteAt(kv(), 300));
    Outcome seed = Run({"log", "checkpoint"}, Url());
    ASSERT_EQ(seed.rc, 0) << Describe(seed);
    stored_ = state_ + "/" +
              client::TrustStore::LogDirName(*verifier::ParseVerifierKey(ledger_->verifier_key())) +
              "/checkpoint";
    before_ = Slurp(stored_);
    ASSERT_EQ(before_, *testtiles::NoteAt(kv(), 300));
  }
  void TearDown() override {
    server_.reset();
    TilesReadTest::TearDown();
  }
  Outcome Run(const std::vector<std::string>& command, const std::string& url,
              const std::string& timeout = "5") {
    std::vector<std::string> argv = {PROV_PATH, "--vkey",      vkey_file_, "--state-dir",
                                     state_,    "--tiles-url", url,        "--tiles-timeout",
                                     timeout};
    argv.insert(argv.end(), command.begin(), command.end());
    return Exec(argv, dir_);
  }
  // Runs `prov log entries --start 0 --end 600` against the hostile server;
  // expects exit `rc`, `reason` and `needle` in the error, the store unchanged.
  void ExpectRefused(int rc, const std::string& reason, const std::string& needle,
                     const std::string& timeout = "5") {
    Outcome r =
        Run({"--json", "log", "entries", "--start", "0", "--end", "600"}, server_->Url(), timeout);
    EXPECT_EQ(r.rc, rc) << Describe(r);
    json j = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << Describe(r);
    EXPECT_EQ(j.value("reason", ""), reason) << Describe(r);
    EXPECT_NE(j.value("message", "").find(needle), std::string::npos) << Describe(r);
    EXPECT_EQ(Slurp(stored_), before_) << "the trust store moved";
  }
  static HostileServer::Behaviour Body(std::string bytes) {
    return [bytes](httplib::Response& res) { res.body = bytes; };
  }

  std::map<std::string, std::string> honest_, other_files_;
  std::unique_ptr<HostileServer> server_;
  std::string vkey_file_, state_, stored_, before_;
};

TEST_F(HostileTilesTest, HonestMirrorIsReadAndAdvancesTheStore) {
  // The control: the same run with nothing changed succeeds.
  Outcome r = Run({"log", "entries", "--start", "0", "--end", "600"}, server_->Url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(Slurp(stored_), *testtiles::NoteAt(kv(), 600));
}

TEST_F(HostileTilesTest, TileOfTheWrongLength) {
  server_->Override("tile/0/001", Body(honest_["tile/0/001"].substr(0, 8160)));
  ExpectRefused(3, "MALFORMED_TILE", "tile/0/001");
  server_->Override("tile/0/001", Body(honest_["tile/0/001"] + std::string(32, 'x')));
  ExpectRefused(3, "MALFORMED_TILE", "tile/0/001");
}

TEST_F(HostileTilesTest, TileWithAWrongHash) {
  std::string bad = honest_["tile/0/001"];
  bad[100] ^= 1;
  server_->Override("tile/0/001", Body(bad));
  ExpectRefused(3, "TILE_MISMATCH", "tile/0/001");
  server_->Clear();
  bad = honest_["tile/1/000.p/2"];
  bad[5] ^= 1;
  server_->Override("tile/1/000.p/2", Body(bad));
  ExpectRefused(3, "TILE_MISMATCH", "tile/1/000.p/2");
}

TEST_F(HostileTilesTest, TileFromAnotherLog) {
  ASSERT_NE(other_files_["tile/0/000"], honest_["tile/0/000"]);
  server_->Override("tile/0/000", Body(other_files_["tile/0/000"]));
  ExpectRefused(3, "TILE_MISMATCH", "tile/0/000");
}

TEST_F(HostileTilesTest, TruncatedOrExtendedBundle) {
  const std::string b = honest_["tile/entries/001"];
  server_->Override("tile/entries/001", Body(b.substr(0, b.size() - 3)));
  ExpectRefused(3, "MALFORMED_BUNDLE", "tile/entries/001: truncated entry");
  server_->Override("tile/entries/001", Body(b + std::string("\x00\x01x", 3)));
  ExpectRefused(3, "MALFORMED_BUNDLE", "tile/entries/001: entry bundle has bytes after");
  server_->Clear();
  server_->Override("tile/entries/002.p/88",
                    Body(honest_["tile/entries/002.p/88"] + std::string(1, '\0')));
  ExpectRefused(3, "MALFORMED_BUNDLE", "tile/entries/002.p/88");
}

TEST_F(HostileTilesTest, BundleWhoseEntriesDoNotHashToTheTile) {
  server_->Override("tile/entries/001", Body(other_files_["tile/entries/001"]));
  ExpectRefused(3, "BUNDLE_MISMATCH", "entry 0 of " + server_->Url() + "/tile/entries/001");
}

TEST_F(HostileTilesTest, OversizedBodies) {
  server_->Override("checkpoint", Body(std::string(200 * 1024, 'a')));
  ExpectRefused(3, "RESPONSE_TOO_LARGE", "/checkpoint is larger than 65536 bytes");
  server_->Clear();
  server_->Override("tile/0/000", Body(std::string(1 << 20, 'a')));
  ExpectRefused(3, "RESPONSE_TOO_LARGE", "tile/0/000 is larger than");
}

TEST_F(HostileTilesTest, ServerErrorsTimeoutsAndMissingTiles) {
  server_->Override("tile/0/001", [](httplib::Response& res) {
    res.status = 500;
    res.body = "oops";
  });
  ExpectRefused(4, "HTTP_SERVER_ERROR", "tile/0/001: HTTP 500");
  server_->Clear();
  server_->Override("tile/entries/000", [](httplib::Response&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  });
  ExpectRefused(4, "HTTP_TIMEOUT", "tile/entries/000", "0.3");
  server_->Clear();
  server_->Override("tile/0/002.p/88", [](httplib::Response& res) { res.status = 404; });
  server_->Override("tile/0/002", [](httplib::Response& res) { res.status = 404; });
  ExpectRefused(4, "TILE_MISSING", "tile/0/002.p/88 nor tile/0/002");
  server_->Clear();
  server_->Override("checkpoint", [](httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", "http://elsewhere.example/log/checkpoint");
  });
  ExpectRefused(64, "HTTP_REDIRECT", "elsewhere.example");
  server_->Override("checkpoint", [](httplib::Response& res) { res.status = 404; });
  ExpectRefused(64, "NO_CHECKPOINT", "is --tiles-url the log's prefix?");
  // Nobody listening.
  const int port = testnginx::FreePort();
  Outcome r = Run({"--json", "audit"}, "http://127.0.0.1:" + std::to_string(port) + "/log");
  EXPECT_EQ(r.rc, 4) << Describe(r);
  EXPECT_EQ(json::parse(r.out, nullptr, false).value("reason", ""), "UNREACHABLE") << Describe(r);
  EXPECT_EQ(Slurp(stored_), before_);
}

}  // namespace
