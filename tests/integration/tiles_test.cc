// Static tiles over real processes: provd serve --tiles-dir (and
// --http-listen), a real nginx with docs/nginx-tiles.conf, Go's reference
// tlog code (tests/interop/tlogcheck) reading both, and SIGKILLs of provd
// while it publishes. Every served byte is compared with the ledger's store.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "client/ledger_client.h"
#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "ledger/tree.h"
#include "tests/client/exec.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "verifier/note.h"
#include "verifier/index.h"
#include "verifier/tlog_tiles.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using Clock = std::chrono::steady_clock;
using testexec::Slurp;
using testexec::Spit;
using verifier::TileRef;

constexpr char kOrigin[] = "tiles.example/log";
constexpr char kTileCache[] = "public, max-age=31536000, immutable";

std::string gochecker;  // built once per run

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

// The tiles a tree of `size` is served from, at their current widths.
std::vector<TileRef> CurrentTiles(uint64_t size) {
  std::vector<TileRef> out;
  for (int level = verifier::kEntriesLevel;; ++level) {
    uint64_t n = level <= 0 ? size : size >> (8 * level);
    if (n == 0) break;
    for (uint64_t i = 0; i * 256 < n; ++i) {
      out.push_back({level, i, std::min<uint64_t>(256, n - i * 256)});
    }
  }
  return out;
}

// What the ledger's store says tile `t` holds.
std::string StoredBytes(const ledger::KvStore& kv, const TileRef& t) {
  std::string out, v;
  if (t.level == verifier::kEntriesLevel) {
    for (uint64_t i = t.index * 256; i < t.index * 256 + t.width; ++i) {
      EXPECT_TRUE(*kv.Get(ledger::coding::LeafKey(i), &v)) << "leaf " << i;
      EXPECT_TRUE(verifier::AppendBundleEntry(&out, v).ok());
    }
    return out;
  }
  EXPECT_TRUE(*kv.Get(ledger::coding::TileKey(t.level, t.index), &v));
  return v.substr(0, std::min<size_t>(v.size(), t.width * 32));
}

class Nginx {
 public:
  // Starts nginx with docs/nginx-tiles.conf serving `tiles_dir`.
  Nginx(const std::string& tiles_dir, const std::string& run_dir) : run_(run_dir) {
    fs::create_directories(run_);
    port_ = FreePort();
    std::string conf = Slurp(std::string(PROV_SOURCE_DIR) + "/docs/nginx-tiles.conf");
    for (auto [from, to] : {std::pair<std::string, std::string>{"@TILES_DIR@", tiles_dir},
                            {"@LISTEN@", "127.0.0.1:" + std::to_string(port_)},
                            {"@RUN_DIR@", run_}}) {
      for (size_t p; (p = conf.find(from)) != std::string::npos;) conf.replace(p, from.size(), to);
    }
    Spit(run_ + "/nginx.conf", conf);
    proc_ = testexec::Start(
        {NGINX_PATH, "-p", run_, "-c", run_ + "/nginx.conf", "-e", run_ + "/error.log"}, run_);
    httplib::Client c(url());
    for (int i = 0; i < 200 && !c.Get("/"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ~Nginx() {
    kill(proc_.pid, SIGTERM);
    testexec::Finish(proc_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return Slurp(run_ + "/error.log") + Slurp(proc_.err); }

 private:
  std::string run_;
  int port_ = 0;
  testexec::Running proc_;
};

class TilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    verifier::InitCrypto();
    if (!gochecker.empty()) return;
    char tmpl[] = "/tmp/tlogcheck-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    gochecker = std::string(tmpl) + "/tlogcheck";
    auto r = testexec::Exec({PROV_GO, "build", "-o", gochecker,
                             std::string(PROV_SOURCE_DIR) + "/tests/interop/tlogcheck/main.go"},
                            tmpl,
                            {{"GO111MODULE", "off"},
                             {"GOPATH", PROV_GOPATH},
                             {"GOCACHE", PROV_GOCACHE},
                             {"GOFLAGS", ""}});
    ASSERT_EQ(r.rc, 0) << "go build tlogcheck: " << testexec::Describe(r);
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    if (!gochecker.empty()) fs::remove_all(fs::path(gochecker).parent_path(), ec);
    gochecker.clear();
  }

  void SetUp() override {
    char tmpl[] = "/tmp/provd-tiles-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);  // nginx's workers read the tiles as www-data
    data_ = dir_ + "/data";
    tiles_ = dir_ + "/tiles";
    auto vkey = tools::InitLedger(PROVD_PATH, data_, kOrigin, {{"a", authority_.public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
  }

  void TearDown() override {
    client_.reset();
    if (provd_) EXPECT_EQ(provd_->Stop(SIGTERM), 0) << "provd did not exit cleanly";
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartProvd(bool http = true) {
    std::vector<std::string> extra = {"--tiles-dir", tiles_, "--checkpoint-refresh", "1"};
    if (http) extra.insert(extra.end(), {"--http-listen", "127.0.0.1:0"});
    auto p = tools::ProvdProcess::Start(PROVD_PATH, data_, extra);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    if (http) ASSERT_FALSE(provd_->tiles_url().empty());
    auto c = client::LedgerClient::Connect(provd_->target(), vkey_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }

  // Manufacturers, then `n` device records (each logged and proven).
  void Grow(uint64_t n) {
    auto mfr = std::vector<verifier::SigningKey>{tools::SeededKey("tiles-mfr-0")};
    ASSERT_TRUE(tools::Setup(*client_, authority_, mfr, tools::UnixNow()).ok());
    for (const std::string& leaf : tools::PreSign(n, mfr, tools::UnixNow())) {
      pb::SignedRecord r;
      ASSERT_TRUE(r.ParseFromString(leaf));
      auto a = client_->Submit(r);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
    }
  }

  uint64_t HeadSize() {
    auto h = client_->GetCheckpoint();
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->checkpoint.size : 0;
  }

  // Waits until `url`/checkpoint is at `size`; returns its note.
  std::string WaitServed(const std::string& url, uint64_t size) {
    httplib::Client c(url);
    auto deadline = Clock::now() + std::chrono::seconds(30);
    std::string body;
    while (Clock::now() < deadline) {
      auto r = c.Get("/checkpoint");
      if (r && r->status == 200) {
        body = r->body;
        auto parsed = verifier::ParseCheckpoint(body.substr(0, body.find("\n\n") + 1));
        if (parsed.ok() && parsed->size >= size) return body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << url << " never served size " << size << "; last: " << body;
    return body;
  }

  testexec::Outcome GoCheck(const std::string& url) {
    return testexec::Exec({gochecker, url, vkey_}, dir_);
  }

  // Every file the tiles directory serves (all but .lock and .staging/)
  // parses and holds exactly what the ledger's store says; the checkpoint
  // is the log's, at most the store's size, and all its tiles are there.
  // REQUIRES: provd is not running (the test opens its RocksDB).
  void ExpectDirMatchesStore() {
    auto kv = ledger::OpenRocksKvStore(data_ + "/db", /*create=*/false);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    std::string head;
    ASSERT_TRUE(*(*kv)->Get(ledger::coding::kLatestCheckpointKey, &head));
    auto v = *verifier::ParseVerifierKey(vkey_);
    auto head_c = verifier::VerifyCheckpoint(head, v, kOrigin);
    ASSERT_TRUE(head_c.ok());
    std::string note;
    if (!fs::exists(tiles_ + "/checkpoint")) return;  // killed before the first
    note = Slurp(tiles_ + "/checkpoint");
    auto c = verifier::VerifyCheckpoint(note, v, kOrigin);
    ASSERT_TRUE(c.ok()) << "served checkpoint: " << c.status().ToString() << "\n" << note;
    ASSERT_LE(c->size, head_c->size);
    ledger::TileReader reader(kv->get());
    EXPECT_EQ(*reader.RootAt(c->size), c->root);
    size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(tiles_)) {
      std::string rel = fs::relative(e.path(), tiles_).string();
      if (rel == ".staging" || rel.starts_with(".staging/")) continue;
      if (!e.is_regular_file() || rel == ".lock" || rel == "checkpoint") continue;
      if (verifier::IsIndexTilePath(rel)) continue;  // content-addressed (tile_publisher_test)
      auto t = verifier::ParseTilePath(rel);
      ASSERT_TRUE(t.ok()) << "served file that is not a tile: " << rel;
      ASSERT_TRUE(Slurp(e.path()) == StoredBytes(**kv, *t)) << rel << " differs from the ledger";
      ++files;
    }
    for (const TileRef& t : CurrentTiles(c->size)) {
      EXPECT_TRUE(fs::exists(tiles_ + "/" + verifier::TilePath(t)))
          << verifier::TilePath(t) << " missing for size " << c->size;
    }
    EXPECT_GT(files, 0u);
  }

  verifier::SigningKey authority_ = tools::SeededKey("tiles-authority");
  std::string dir_, data_, tiles_, vkey_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<client::LedgerClient> client_;
};

TEST_F(TilesTest, ProvdServesItsTilesOverHttpWithTheSpecsHeaders) {
  ASSERT_NO_FATAL_FAILURE(StartProvd());
  ASSERT_NO_FATAL_FAILURE(Grow(300));
  const uint64_t size = HeadSize();
  ASSERT_GT(size, 256u);
  const std::string url = provd_->tiles_url();
  std::string note = WaitServed(url, size);
  httplib::Client http(url);

  auto r = http.Get("/checkpoint");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=2");
  auto c = verifier::VerifyCheckpoint(r->body, *verifier::ParseVerifierKey(vkey_), kOrigin);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->size, size);

  // Every tile and bundle: the bytes on disk, the right headers; bundles
  // hold exactly the entries GetEntries returns.
  auto entries = client_->GetEntries(0, size);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  for (const TileRef& t : CurrentTiles(size)) {
    std::string path = "/" + verifier::TilePath(t);
    auto g = http.Get(path.c_str());
    ASSERT_TRUE(g) << path;
    ASSERT_EQ(g->status, 200) << path;
    EXPECT_EQ(g->get_header_value("Content-Type"), "application/octet-stream") << path;
    EXPECT_EQ(g->get_header_value("Cache-Control"), kTileCache) << path;
    EXPECT_TRUE(g->body == Slurp(tiles_ + path)) << path;
    if (t.level == verifier::kEntriesLevel) {
      auto parsed = verifier::ParseEntryBundle(g->body, t.width);
      ASSERT_TRUE(parsed.ok()) << path;
      for (uint64_t i = 0; i < t.width; ++i) {
        EXPECT_EQ((*parsed)[i], (*entries)[t.index * 256 + i]) << path << " entry " << i;
      }
    } else {
      EXPECT_EQ(g->body.size(), t.width * 32);
    }
    auto h = http.Head(path.c_str());
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    EXPECT_TRUE(h->body.empty());
  }
  // Nothing else: no listings, no dot files, no staging, no other methods.
  Spit(tiles_ + "/.staging/planted.tmp", "staged");
  for (const char* path : {"/", "/tile", "/tile/", "/tile/0", "/tile/0/", "/tile/0/000.p", "/.lock",
                           "/.staging/", "/.staging/planted.tmp", "/checkpoint/", "/checkpoint.tmp",
                           "/tile/0/0", "/tile/0/000.p/0", "/tile/0/../../.lock", "/tile/0/005.p/1",
                           "/tile/entries/x000/000", "/tile/64/000", "/tile/0/999"}) {
    auto g = http.Get(path);
    ASSERT_TRUE(g) << path;
    EXPECT_EQ(g->status, 404) << path;
    EXPECT_TRUE(g->body.empty() || g->body.find("staged") == std::string::npos);
  }
  auto post = http.Post("/checkpoint", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
  auto del = http.Delete("/tile/0/000");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 404);
  EXPECT_TRUE(fs::exists(tiles_ + "/tile/0/000"));

  // Go's sumdb/tlog proves every tile and bundle against the checkpoint.
  auto go = GoCheck(url);
  EXPECT_EQ(go.rc, 0) << testexec::Describe(go);
  EXPECT_NE(go.out.find("ok tiles.example/log size " + std::to_string(size)), std::string::npos)
      << go.out;
  (void)note;
}

TEST_F(TilesTest, NginxServesTheDirectoryAndGoVerifiesIt) {
  ASSERT_NO_FATAL_FAILURE(StartProvd(/*http=*/false));
  ASSERT_NO_FATAL_FAILURE(Grow(520));
  const uint64_t size = HeadSize();
  Nginx nginx(tiles_, dir_ + "/nginx");
  std::string note = WaitServed(nginx.url(), size);
  httplib::Client http(nginx.url());

  auto r = http.Get("/checkpoint");
  ASSERT_TRUE(r) << nginx.log();
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=2");
  for (const TileRef& t : CurrentTiles(size)) {
    std::string path = "/" + verifier::TilePath(t);
    auto g = http.Get(path.c_str());
    ASSERT_TRUE(g) << path;
    ASSERT_EQ(g->status, 200) << path;
    EXPECT_EQ(g->get_header_value("Content-Type"), "application/octet-stream") << path;
    EXPECT_EQ(g->get_header_value("Cache-Control"), kTileCache) << path;
    EXPECT_TRUE(g->body == Slurp(tiles_ + path)) << path;
  }
  // Bundles are gzipped for clients that ask, and decode to the same bytes.
  httplib::Headers gz = {{"Accept-Encoding", "gzip"}};
  auto b = http.Get("/tile/entries/000", gz);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->get_header_value("Content-Encoding"), "gzip");
  EXPECT_TRUE(b->body == Slurp(tiles_ + "/tile/entries/000"));  // httplib decompressed it

  Spit(tiles_ + "/.staging/planted.tmp", "staged");
  for (const char* path :
       {"/", "/tile/", "/tile/0/", "/.lock", "/.staging/", "/.staging/planted.tmp",
        "/%2estaging/planted.tmp", "/tile/0/../../.staging/planted.tmp", "/tile/0/000.p/",
        "/tile/0/0", "/checkpoint/"}) {
    auto g = http.Get(path);
    ASSERT_TRUE(g) << path;
    EXPECT_EQ(g->status, 404) << path;
    EXPECT_EQ(g->body.find("staged"), std::string::npos) << path;
  }
  fs::remove(tiles_ + "/.staging/planted.tmp");

  auto go = GoCheck(nginx.url());
  EXPECT_EQ(go.rc, 0) << testexec::Describe(go);

  // The checker fails on a tampered tile or entry (a test that can fail).
  provd_->Stop(SIGTERM);
  provd_.reset();
  // The level-1 tile is partial: the log has a few full level-0 tiles.
  const uint64_t level1 = verifier::PartialTileWidth(1, size);
  ASSERT_GT(level1, 1u);
  for (const std::string rel :
       {std::string("tile/0/001"), std::string("tile/entries/000"),
        "tile/1/000.p/" + std::to_string(level1)}) {
    std::string good = Slurp(tiles_ + "/" + rel);
    ASSERT_FALSE(good.empty()) << rel;
    std::string bad = good;
    bad[bad.size() - 1] ^= 1;
    Spit(tiles_ + "/" + rel, bad);
    auto failed = GoCheck(nginx.url());
    EXPECT_EQ(failed.rc, 1) << rel << ": " << testexec::Describe(failed);
    EXPECT_NE(failed.out.find("FAIL"), std::string::npos) << failed.out;
    Spit(tiles_ + "/" + rel, good);
  }
  EXPECT_EQ(GoCheck(nginx.url()).rc, 0);
  (void)note;
}

TEST_F(TilesTest, BadFlagsAndForeignDirectoriesAreRefused) {
  auto p = tools::ProvdProcess::Start(PROVD_PATH, data_, {"--http-listen", "127.0.0.1:0"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("--http-listen needs --tiles-dir"), std::string::npos)
      << p.status().ToString();
  p = tools::ProvdProcess::Start(PROVD_PATH, data_,
                                 {"--tiles-dir", tiles_, "--http-listen", "0.0.0.0:0"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("HTTP_NOT_LOOPBACK"), std::string::npos)
      << p.status().ToString();

  // Another log's directory: provd refuses to start and leaves it alone.
  fs::create_directories(tiles_);
  Spit(tiles_ + "/checkpoint", "other.example/log\n1\nAAAA\n\n— other.example/log AAAA\n");
  p = tools::ProvdProcess::Start(PROVD_PATH, data_, {"--tiles-dir", tiles_});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("TILES_DIR_NOT_OURS"), std::string::npos)
      << p.status().ToString();
  EXPECT_EQ(Slurp(tiles_ + "/checkpoint"),
            "other.example/log\n1\nAAAA\n\n— other.example/log AAAA\n");
  EXPECT_FALSE(fs::exists(tiles_ + "/tile"));
}

// SIGKILL provd at random moments while records stream in and tiles are
// published; after each kill the directory (as nginx serves it) holds only
// whole, correct files; after each restart it converges to the ledger's
// head and Go's checker passes. PROV_TILES_CRASH_ROUNDS=N for a longer run.
TEST_F(TilesTest, KillNineWhilePublishingNeverServesATornOrWrongFile) {
  int rounds = 4;
  if (const char* env = std::getenv("PROV_TILES_CRASH_ROUNDS")) rounds = std::atoi(env);
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::cout << "seed " << seed << "\n";

  ASSERT_NO_FATAL_FAILURE(StartProvd());
  auto mfr = std::vector<verifier::SigningKey>{tools::SeededKey("tiles-mfr-0")};
  ASSERT_TRUE(tools::Setup(*client_, authority_, mfr, tools::UnixNow()).ok());
  const auto leaves = tools::PreSign(60000, mfr, tools::UnixNow());
  Nginx nginx(tiles_, dir_ + "/nginx");
  uint64_t next = 0;  // the next record to stream

  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Stream records until provd dies under us.
    uint64_t acked = next;  // reader thread, then this one after the join
    std::string refused;
    std::thread streamer([&] {
      grpc::ClientContext ctx;
      auto stream = client_->stub().SubmitStream(&ctx);
      std::thread reader([&] {
        pb::StreamAck ack;
        while (stream->Read(&ack)) {
          if (ack.code() != 0 && refused.empty()) refused = ack.message();
          if (ack.code() == 0) acked = std::max<uint64_t>(acked, ack.sequence() + 1);
        }
      });
      pb::SubmitRequest req;
      for (uint64_t i = next; i < leaves.size(); ++i) {
        if (!req.mutable_record()->ParseFromString(leaves[i])) std::abort();
        req.set_sequence(i);
        if (!stream->Write(req)) break;
      }
      stream->WritesDone();
      reader.join();
      (void)stream->Finish();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    provd_->Stop(SIGKILL);
    provd_.reset();
    streamer.join();
    next = std::min<uint64_t>(acked, leaves.size() - 1);
    EXPECT_EQ(refused, "") << "a record was refused";

    // What is visible now, provd dead: whole files equal to the ledger's.
    ASSERT_NO_FATAL_FAILURE(ExpectDirMatchesStore());
    size_t staged = 0;
    for (const auto& e : fs::directory_iterator(tiles_ + "/.staging")) {
      ++staged;
      auto g =
          httplib::Client(nginx.url()).Get(("/.staging/" + e.path().filename().string()).c_str());
      ASSERT_TRUE(g);
      EXPECT_EQ(g->status, 404);
    }
    if (fs::exists(tiles_ + "/checkpoint")) {
      auto go = GoCheck(nginx.url());
      EXPECT_EQ(go.rc, 0) << "after the kill: " << testexec::Describe(go);
    }

    // Restarted, it catches up with the ledger's head.
    ASSERT_NO_FATAL_FAILURE(StartProvd());
    const uint64_t head = HeadSize();
    WaitServed(provd_->tiles_url(), head);
    WaitServed(nginx.url(), head);
    auto go = GoCheck(nginx.url());
    EXPECT_EQ(go.rc, 0) << "after restart: " << testexec::Describe(go);
    // prov audits the log from nginx's files alone and gets what it gets
    // from provd (nothing is appended meanwhile).
    auto audit = [&](const std::string& flag, const std::string& where) {
      return testexec::Exec({PROV_PATH, flag, where, "--plaintext", "--vkey", data_ + "/log.vkey",
                             "--state-dir", dir_ + "/audit" + std::to_string(round) + flag,
                             "audit"},
                            dir_);
    };
    auto from_tiles = audit("--tiles-url", nginx.url());
    auto from_provd = audit("--server", provd_->target());
    EXPECT_EQ(from_tiles.rc, 0) << testexec::Describe(from_tiles);
    EXPECT_EQ(from_provd.rc, 0) << testexec::Describe(from_provd);
    EXPECT_EQ(from_tiles.out, from_provd.out);
    std::cout << "round " << round << ": " << staged << " staging files at the kill; head " << head
              << ", " << go.out;
  }
}

}  // namespace
