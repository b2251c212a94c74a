// provwitness serve --replay (witness/replay.h): a real provwitness process
// replaying a log's tlog-tiles through the rulebook before it cosigns. The
// logs are a real provd (--tiles-dir, --http-listen) and an in-process
// ledger whose store a test can tamper with (a rule-breaking entry that the
// log key signs), served by ledger::TileHttpServer.
#include "witness/replay.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "client/ledger_client.h"
#include "client/tiles_source.h"
#include "ledger/coding.h"
#include "ledger/ledger.h"
#include "ledger/tile_http.h"
#include "ledger/tree.h"
#include "tests/client/exec.h"
#include "tests/client/tiles_writer.h"
#include "tests/ledger/fixture.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "verifier/cosignature.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/rules.h"
#include "witness/client.h"

namespace witness {
namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using ledger_test::World;
using verifier::Hash;

const bool kCryptoReady = (verifier::InitCrypto(), true);

std::string MakeTempDir(const std::string& name) {
  std::string tmpl = "/tmp/prov-" + name + "-XXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

std::string Hex(std::string_view origin) { return verifier::HexEncode(verifier::Sha256(origin)); }

struct HttpAnswer {
  int status = -1;
  std::string body;
};

// A provwitness process (init + serve) in its own state directory.
class WitnessProcess {
 public:
  WitnessProcess(std::string dir, std::vector<std::string> serve_args)
      : dir_(std::move(dir)), args_(std::move(serve_args)) {
    fs::create_directories(dir_);
    auto init = testexec::Exec(
        {PROVWITNESS_PATH, "init", "--state-dir", state(), "--name", "w.example/replay"}, dir_);
    EXPECT_EQ(init.rc, 0) << testexec::Describe(init);
    auto w = verifier::ParseWitnessKey(init.out.substr(0, init.out.find('\n')));
    EXPECT_TRUE(w.ok()) << init.out;
    if (w.ok()) vkey_ = *w;
  }
  ~WitnessProcess() { Stop(); }

  std::string state() const { return dir_ + "/state"; }
  const verifier::WitnessVerifier& vkey() const { return vkey_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Start() {
    std::vector<std::string> argv = {PROVWITNESS_PATH, "serve",    "--state-dir",
                                     state(),          "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), args_.begin(), args_.end());
    proc_ = testexec::Start(argv, dir_);
    port_ = 0;
    const std::string banner = "provwitness: serving on 127.0.0.1:";
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::string out = testexec::Slurp(proc_.out);
      size_t at = out.find(banner);
      if (at != std::string::npos) {
        port_ = std::atoi(out.c_str() + at + banner.size());
        break;
      }
      if (::waitpid(proc_.pid, nullptr, WNOHANG) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GT(port_, 0) << testexec::Slurp(proc_.err);
  }
  // Stops the server; returns what it printed on stdout.
  std::string Stop() {
    if (proc_.pid < 0) return "";
    ::kill(proc_.pid, SIGTERM);
    auto o = testexec::Finish(proc_);
    proc_.pid = -1;
    return o.out;
  }
  std::string Stdout() const { return testexec::Slurp(proc_.out); }

  HttpAnswer Post(uint64_t old_size, const std::vector<Hash>& proof, const std::string& note) {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(30, 0);
    auto res = cli.Post("/add-checkpoint", FormatAddCheckpointRequest(old_size, proof, note),
                        "text/plain");
    if (!res) return {};
    return {res->status, res->body};
  }
  // Submits with witness::AddCheckpoint, which checks the cosignature.
  verifier::Status Cosign(uint64_t old_size, const std::vector<Hash>& proof,
                          const std::string& note) {
    AddCheckpointOptions o;
    o.timeout = std::chrono::milliseconds(30000);
    o.expect = vkey_;
    auto lines = AddCheckpoint(Url(), old_size, proof, note, o);
    if (!lines.ok()) return lines.status();
    if (lines->size() != 1) return verifier::Internal("LINES", "not one cosignature");
    return verifier::Status::Ok();
  }

  std::string StateFile(std::string_view origin) const { return state() + "/logs/" + Hex(origin); }
  std::string SnapshotFile(std::string_view origin) const {
    return state() + "/replay/" + Hex(origin);
  }
  uint64_t SnapshotSize(std::string_view origin) const {
    auto s = DecodeReplaySnapshot(testexec::Slurp(SnapshotFile(origin)));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->range.size() : 0;
  }

 private:
  std::string dir_;
  std::vector<std::string> args_;
  verifier::WitnessVerifier vkey_;
  testexec::Running proc_;
  int port_ = 0;
};

// ---------------------------------------------------------------------------
// The snapshot format.

TEST(ReplaySnapshot, RoundTripsAndDetectsDamage) {
  ReplaySnapshot s;
  s.origin = "log.example/x";
  for (int i = 0; i < 13; ++i)
    s.range.Append(verifier::LeafHash(verifier::AsBytes("e" + std::to_string(i))));
  verifier::MemoryState empty;
  verifier::StateOverlay o(&empty);
  o.Put("o/acme", std::string("\0\x01value", 7));
  o.Put("g/", "genesis");
  s.state.Apply(o);
  std::string bytes = EncodeReplaySnapshot(s);
  auto back = DecodeReplaySnapshot(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->origin, s.origin);
  EXPECT_EQ(back->range.size(), 13u);
  EXPECT_EQ(back->range.Root(), s.range.Root());
  EXPECT_EQ(back->state.size(), 2u);
  std::string v;
  ASSERT_TRUE(*back->state.Get("o/acme", &v));
  EXPECT_EQ(v, std::string("\0\x01value", 7));
  for (size_t at : {size_t{0}, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] ^= 1;
    auto d = DecodeReplaySnapshot(bad);
    ASSERT_FALSE(d.ok()) << "flipped byte " << at;
    EXPECT_EQ(d.status().reason(), "REPLAY_STATE_CORRUPT");
  }
  auto torn = DecodeReplaySnapshot(bytes.substr(0, bytes.size() - 5));
  EXPECT_EQ(torn.status().reason(), "REPLAY_STATE_CORRUPT");
}

// ---------------------------------------------------------------------------
// A real provd publishing tiles.

class ReplayProvdTest : public ::testing::Test {
 protected:
  static constexpr char kProvdOrigin[] = "prov.example/replay-log";

  void SetUp() override {
    dir_ = MakeTempDir("replay-provd");
    auto vkey = tools::InitLedger(PROVD_PATH, dir_ + "/data", kProvdOrigin,
                                  {{"a", authority_.public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    auto p = tools::ProvdProcess::Start(
        PROVD_PATH, dir_ + "/data",
        {"--tiles-dir", dir_ + "/tiles", "--http-listen", "127.0.0.1:0"});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    auto c = client::LedgerClient::Connect(provd_->target(), vkey_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
    ASSERT_TRUE(tools::Setup(*client_, authority_, mfr_, tools::UnixNow()).ok());
    testexec::Spit(dir_ + "/witness.conf", "log " + vkey_ + " " + provd_->tiles_url() + "\n");
  }
  void TearDown() override {
    client_.reset();
    if (provd_) provd_->Stop(SIGTERM);
    fs::remove_all(dir_);
  }

  // Submits `n` more device records; returns the log's size.
  uint64_t Grow(uint64_t n) {
    auto all = tools::PreSign(next_ + n, mfr_, tools::UnixNow());
    for (uint64_t i = next_; i < next_ + n; ++i) {
      pb::SignedRecord r;
      EXPECT_TRUE(r.ParseFromString(all[i]));
      auto a = client_->Submit(r);
      EXPECT_TRUE(a.ok()) << a.status().ToString();
    }
    next_ += n;
    auto h = client_->GetCheckpoint();
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->checkpoint.size : 0;
  }
  // The checkpoint note the tiles URL serves once it reaches `size`.
  std::string Served(uint64_t size) {
    httplib::Client c(provd_->tiles_url());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = c.Get("/checkpoint");
      if (r && r->status == 200) {
        auto cp = verifier::ParseCheckpoint(r->body.substr(0, r->body.find("\n\n") + 1));
        if (cp.ok() && cp->size == size) return r->body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "tiles never served size " << size;
    return "";
  }
  // A consistency proof old -> new read from the tiles.
  std::vector<Hash> Proof(uint64_t old_size, const std::string& new_note) {
    if (old_size == 0) return {};
    auto src = client::TilesSource::Open({.url = provd_->tiles_url()});
    EXPECT_TRUE(src.ok());
    auto cp = verifier::ParseCheckpoint(new_note.substr(0, new_note.find("\n\n") + 1));
    EXPECT_TRUE(cp.ok());
    auto p = (*src)->ConsistencyProof(old_size, cp->size, *cp);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : std::vector<Hash>{};
  }

  std::string dir_, vkey_;
  verifier::SigningKey authority_ = tools::SeededKey("replay-authority");
  std::vector<verifier::SigningKey> mfr_ = {tools::SeededKey("replay-mfr-0")};
  uint64_t next_ = 0;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<client::LedgerClient> client_;
};

TEST_F(ReplayProvdTest, CosignsAsTheLogGrowsAndARestartKeepsTheReplay) {
  WitnessProcess w(dir_ + "/w", {"--config", dir_ + "/witness.conf", "--replay"});
  ASSERT_NO_FATAL_FAILURE(w.Start());
  const uint64_t n1 = Grow(3);
  const std::string note1 = Served(n1);
  ASSERT_TRUE(w.Cosign(0, {}, note1).ok());
  EXPECT_EQ(w.SnapshotSize(kProvdOrigin), n1);
  EXPECT_EQ(testexec::Slurp(w.StateFile(kProvdOrigin)), note1);

  const uint64_t n2 = Grow(4);
  const std::string note2 = Served(n2);
  auto st = w.Cosign(n1, Proof(n1, note2), note2);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(w.SnapshotSize(kProvdOrigin), n2);
  std::string out = w.Stop();
  EXPECT_NE(out.find("replayed " + std::string(kProvdOrigin) + " entries [0, " +
                     std::to_string(n1) + ")"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("entries [" + std::to_string(n1) + ", " + std::to_string(n2) + ")"),
            std::string::npos)
      << out;

  // After a restart the replay resumes at n2: only [n2, n3) is read.
  ASSERT_NO_FATAL_FAILURE(w.Start());
  const uint64_t n3 = Grow(2);
  const std::string note3 = Served(n3);
  st = w.Cosign(n2, Proof(n2, note3), note3);
  ASSERT_TRUE(st.ok()) << st.ToString();
  out = w.Stop();
  EXPECT_NE(out.find("entries [" + std::to_string(n2) + ", " + std::to_string(n3) + ")"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("entries [0, "), std::string::npos) << out;
  EXPECT_EQ(w.SnapshotSize(kProvdOrigin), n3);
}

TEST_F(ReplayProvdTest, ReplayNeedsATilesUrlForEveryLog) {
  WitnessProcess w(dir_ + "/w", {"--log", vkey_, "--replay"});
  auto o = testexec::Exec({PROVWITNESS_PATH, "serve", "--state-dir", w.state(), "--listen",
                           "127.0.0.1:0", "--log", vkey_, "--replay"},
                          dir_);
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("REPLAY_NO_URL"), std::string::npos) << o.err;
  // Two keys of one origin (rotation) with different tiles URLs.
  const std::string other =
      verifier::FormatVerifierKey(kProvdOrigin, verifier::SigningKey::Generate().public_key());
  testexec::Spit(dir_ + "/two.conf",
                 "log " + vkey_ + " http://127.0.0.1:1\nlog " + other + " http://127.0.0.1:2\n");
  o = testexec::Exec({PROVWITNESS_PATH, "serve", "--state-dir", w.state(), "--listen",
                      "127.0.0.1:0", "--config", dir_ + "/two.conf", "--replay"},
                     dir_);
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("REPLAY_DUPLICATE_LOG"), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(w.state() + "/logs/" + Hex(kProvdOrigin)));
}

// ---------------------------------------------------------------------------
// An in-process ledger whose store the test writes into: the log key signs
// whatever the test appends, rule-breaking or not.

class ReplayTamperTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kGrown = 20;  // by the real ledger

  void SetUp() override {
    dir_ = MakeTempDir("replay-tamper");
    tiles_ = dir_ + "/tiles";
    fs::create_directories(tiles_);
    kv_ = std::make_shared<ledger::MemoryKvStore>();
    ASSERT_TRUE(ledger::Ledger::Init(kv_.get(), world_.log_key, world_.Genesis()).ok());
    {
      auto l =
          ledger::Ledger::Open(std::make_unique<ledger_test::SharedKvStore>(kv_), world_.log_key);
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      testtiles::Grow(**l, world_, kGrown, 0);
    }
    size_ = kGrown;
    ASSERT_TRUE(testtiles::Publish(*kv_, 0, kGrown, tiles_).ok());
    ASSERT_NO_FATAL_FAILURE(StartTiles(0));
    testexec::Spit(dir_ + "/witness.conf", "log " + vkey() + " " + url_ + "\n");
  }
  void TearDown() override {
    http_.reset();
    fs::remove_all(dir_);
  }

  void StartTiles(int port) {
    auto h = ledger::TileHttpServer::Start(tiles_, "127.0.0.1:" + std::to_string(port), false);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    http_ = std::move(h).value();
    url_ = "http://127.0.0.1:" + std::to_string(http_->port());
  }
  std::string vkey() const {
    return verifier::FormatVerifierKey(ledger_test::kOrigin, world_.log_key.public_key());
  }
  std::string Leaf(uint64_t i) const {
    std::string leaf;
    EXPECT_TRUE(*kv_->Get(ledger::coding::LeafKey(i), &leaf));
    return leaf;
  }
  std::string Note(uint64_t size) const { return *testtiles::NoteAt(*kv_, size); }
  std::vector<Hash> Proof(uint64_t from, uint64_t to) const {
    std::vector<Hash> hashes;
    for (uint64_t i = 0; i < to; ++i) hashes.push_back(ledger_test::LeafHashOf(Leaf(i)));
    return *verifier::MakeConsistencyProof(from, to, verifier::InMemorySubtrees(hashes));
  }
  // Appends `leaves` to the store as the log would in one commit (the
  // leaves, the log's index root, tiles, a checkpoint signed by the log
  // key), whatever the rulebook says, and publishes it. Returns the index of
  // the first leaf; with `forged_root`, the index root holds that root.
  uint64_t Commit(const std::vector<std::string>& leaves,
                  std::optional<Hash> forged_root = std::nullopt) {
    const uint64_t first = size_;
    verifier::Status st = testtiles::AppendCommit(*kv_, &size_, world_.log_key,
                                                  ledger_test::kOrigin, leaves, forged_root);
    EXPECT_TRUE(st.ok()) << st.ToString();
    st = testtiles::Publish(*kv_, first, size_, tiles_);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return first;
  }
  // Starts each witness and has it cosign the head of kGrown.
  void StartAtTheGrownHead(std::initializer_list<WitnessProcess*> witnesses) {
    for (WitnessProcess* w : witnesses) {
      ASSERT_NO_FATAL_FAILURE(w->Start());
      ASSERT_TRUE(w->Cosign(0, {}, Note(kGrown)).ok());
    }
  }
  // A device record signed by a key that is enrolled nowhere.
  std::string RogueDevice() const {
    return World::By(records::DeviceRecord(ledger_test::kT, ledger_test::kAcme, "SN-rogue", "C100",
                                          ledger_test::DeviceKey(999).public_key(),
                                          ledger_test::kT - 86400, "VN"),
                     ledger_test::KeyFromByte(77));
  }
  // An organisation record signed by the authority threshold (2 of 3).
  std::string LateOrg(const std::string& id = "late-org") const {
    return world_.Auth(records::OrganizationRecord(ledger_test::kT, id, "Late", "FR"));
  }
  // What the rulebook says of leaf `index` after leaves [0, index).
  verifier::Status RulebookVerdict(uint64_t index) const {
    verifier::MemoryState state;
    for (uint64_t i = 0; i <= index; ++i) {
      verifier::StateOverlay o(&state);
      verifier::Status st = verifier::ApplyRecord(o, Leaf(i), i);
      if (i == index) return st;
      EXPECT_TRUE(st.ok()) << st.ToString();
      state.Apply(o);
    }
    return verifier::Status::Ok();
  }

  World world_;
  std::shared_ptr<ledger::MemoryKvStore> kv_;
  std::string dir_, tiles_, url_;
  uint64_t size_ = 0;
  std::unique_ptr<ledger::TileHttpServer> http_;
};

TEST_F(ReplayTamperTest, RuleBreakingEntryIs422AndNeverCosigned) {
  WitnessProcess w(dir_ + "/w", {"--config", dir_ + "/witness.conf", "--replay"});
  WitnessProcess plain(dir_ + "/plain", {"--log", vkey()});
  ASSERT_NO_FATAL_FAILURE(StartAtTheGrownHead({&w, &plain}));

  const uint64_t rogue = Commit({RogueDevice()});
  const uint64_t bad_head = size_;
  verifier::Status verdict = RulebookVerdict(rogue);
  ASSERT_FALSE(verdict.ok());
  const std::string state_before = testexec::Slurp(w.StateFile(ledger_test::kOrigin));
  const std::string snap_before = testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin));
  const std::string entry = "entry #" + std::to_string(rogue);

  HttpAnswer a = w.Post(kGrown, Proof(kGrown, bad_head), Note(bad_head));
  EXPECT_EQ(a.status, 422) << a.body;
  EXPECT_NE(a.body.find("REPLAY_REJECTED: " + entry + " of " + std::string(ledger_test::kOrigin) +
                        " breaks the rules: " + verdict.reason()),
            std::string::npos)
      << a.body;
  EXPECT_EQ(testexec::Slurp(w.StateFile(ledger_test::kOrigin)), state_before);
  EXPECT_EQ(testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin)), snap_before);
  EXPECT_NE(testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin) + ".refused")
                .find("index " + std::to_string(rogue) + "\nstatus " + verdict.reason()),
            std::string::npos);
  // The witness still holds kGrown: a request from the bad head is told so.
  a = w.Post(bad_head, {}, Note(bad_head));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body, std::to_string(kGrown) + "\n");

  // The plain witness cosigns the same checkpoint: only replay sees it.
  EXPECT_TRUE(plain.Cosign(kGrown, Proof(kGrown, bad_head), Note(bad_head)).ok());

  // Nothing holding the rogue entry is cosigned later, even after a restart,
  // and without reading the tiles again (they are gone).
  Commit({LateOrg()});
  w.Stop();
  http_.reset();
  ASSERT_NO_FATAL_FAILURE(w.Start());
  a = w.Post(kGrown, Proof(kGrown, size_), Note(size_));
  EXPECT_EQ(a.status, 422) << a.body;
  EXPECT_NE(a.body.find("REPLAY_REFUSED: " + entry), std::string::npos) << a.body;
  EXPECT_NE(a.body.find(verdict.reason()), std::string::npos) << a.body;
  EXPECT_EQ(testexec::Slurp(w.StateFile(ledger_test::kOrigin)), state_before);
  EXPECT_EQ(testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin)), snap_before);
  // A checkpoint before the bad entry is still fine (same size, same root).
  EXPECT_TRUE(w.Cosign(kGrown, {}, Note(kGrown)).ok());
}

// A compromised operator logs a well-formed index root, in its place, whose
// root is not the index of the leaves before it: a witness that replays
// recomputes the index and refuses the head, naming the leaf.
TEST_F(ReplayTamperTest, ForgedIndexRootIs422AndNeverCosigned) {
  WitnessProcess w(dir_ + "/w", {"--config", dir_ + "/witness.conf", "--replay"});
  WitnessProcess plain(dir_ + "/plain", {"--log", vkey()});
  ASSERT_NO_FATAL_FAILURE(StartAtTheGrownHead({&w, &plain}));

  const uint64_t late = Commit({LateOrg()}, testtiles::ForgedIndexRoot());
  const uint64_t forged = size_ - 1;  // the commit's index root
  ASSERT_TRUE(RulebookVerdict(late).ok()) << "the record itself is fine";
  const std::string state_before = testexec::Slurp(w.StateFile(ledger_test::kOrigin));
  const std::string snap_before = testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin));

  HttpAnswer a = w.Post(kGrown, Proof(kGrown, size_), Note(size_));
  EXPECT_EQ(a.status, 422) << a.body;
  EXPECT_NE(a.body.find("REPLAY_REJECTED: entry #" + std::to_string(forged) + " of " +
                        std::string(ledger_test::kOrigin) + " breaks the rules: " +
                        "INDEX_ROOT_MISMATCH: the index root logged at #" +
                        std::to_string(forged) + " (" +
                        verifier::HexEncode(testtiles::ForgedIndexRoot()).substr(0, 16)),
            std::string::npos)
      << a.body;
  EXPECT_EQ(testexec::Slurp(w.StateFile(ledger_test::kOrigin)), state_before);
  EXPECT_EQ(testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin)), snap_before);
  EXPECT_NE(testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin) + ".refused")
                .find("index " + std::to_string(forged) + "\nstatus INDEX_ROOT_MISMATCH"),
            std::string::npos);
  // Only replay sees it: the checkpoint itself is consistent.
  EXPECT_TRUE(plain.Cosign(kGrown, Proof(kGrown, size_), Note(size_)).ok());
  // Nor is a later head holding it cosigned, even with honest commits after.
  Commit({LateOrg("later-org")});
  a = w.Post(kGrown, Proof(kGrown, size_), Note(size_));
  EXPECT_EQ(a.status, 422) << a.body;
  EXPECT_NE(a.body.find("REPLAY_REFUSED: entry #" + std::to_string(forged)), std::string::npos)
      << a.body;
  EXPECT_EQ(testexec::Slurp(w.StateFile(ledger_test::kOrigin)), state_before);
}

TEST_F(ReplayTamperTest, UnreachableTilesAre503AndChangeNothingThenRetrySucceeds) {
  WitnessProcess w(dir_ + "/w", {"--config", dir_ + "/witness.conf", "--replay"});
  ASSERT_NO_FATAL_FAILURE(w.Start());
  ASSERT_TRUE(w.Cosign(0, {}, Note(kGrown)).ok());
  Commit({LateOrg()});
  const std::string state_before = testexec::Slurp(w.StateFile(ledger_test::kOrigin));
  const std::string snap_before = testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin));
  const int port = http_->port();
  http_.reset();

  HttpAnswer a = w.Post(kGrown, Proof(kGrown, size_), Note(size_));
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_NE(a.body.find("REPLAY_FETCH_FAILED"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("UNREACHABLE"), std::string::npos) << a.body;
  EXPECT_EQ(testexec::Slurp(w.StateFile(ledger_test::kOrigin)), state_before);
  EXPECT_EQ(testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin)), snap_before);
  EXPECT_FALSE(fs::exists(w.SnapshotFile(ledger_test::kOrigin) + ".refused"));

  ASSERT_NO_FATAL_FAILURE(StartTiles(port));
  verifier::Status st = w.Cosign(kGrown, Proof(kGrown, size_), Note(size_));
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(w.SnapshotSize(ledger_test::kOrigin), size_);
}

TEST_F(ReplayTamperTest, TileNotMatchingTheCheckpointIs503AndChangesNothing) {
  WitnessProcess w(dir_ + "/w", {"--config", dir_ + "/witness.conf", "--replay"});
  ASSERT_NO_FATAL_FAILURE(w.Start());
  ASSERT_TRUE(w.Cosign(0, {}, Note(kGrown)).ok());
  Commit({LateOrg()});
  // The mirror serves a bundle whose last entry is not the signed leaf.
  const std::string bundle = tiles_ + "/tile/entries/000.p/" + std::to_string(size_);
  std::string bytes = testexec::Slurp(bundle);
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() - 3] ^= 1;
  testexec::Spit(bundle, bytes);
  const std::string state_before = testexec::Slurp(w.StateFile(ledger_test::kOrigin));
  const std::string snap_before = testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin));

  HttpAnswer a = w.Post(kGrown, Proof(kGrown, size_), Note(size_));
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_NE(a.body.find("REPLAY_FETCH_FAILED"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("BUNDLE_MISMATCH"), std::string::npos) << a.body;
  EXPECT_EQ(testexec::Slurp(w.StateFile(ledger_test::kOrigin)), state_before);
  EXPECT_EQ(testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin)), snap_before);
  EXPECT_FALSE(fs::exists(w.SnapshotFile(ledger_test::kOrigin) + ".refused"));
}

// The crash window: the snapshot is written before the witness state, so a
// crash between the two leaves the replay ahead of the witness (simulated by
// putting back the older witness state file). Checkpoints up to the replayed
// size are then checked as prefixes of the replayed tree, without replaying.
TEST_F(ReplayTamperTest, ReplayAheadOfTheWitnessChecksPrefixes) {
  WitnessProcess w(dir_ + "/w", {"--config", dir_ + "/witness.conf", "--replay"});
  ASSERT_NO_FATAL_FAILURE(w.Start());
  ASSERT_TRUE(w.Cosign(0, {}, Note(kGrown)).ok());
  const std::string state_grown = testexec::Slurp(w.StateFile(ledger_test::kOrigin));
  Commit({LateOrg()});
  const uint64_t middle = size_;
  Commit({LateOrg("later-org")});
  const uint64_t last = size_;
  ASSERT_TRUE(w.Cosign(kGrown, Proof(kGrown, last), Note(last)).ok());
  w.Stop();
  // "crash" before the state write
  testexec::Spit(w.StateFile(ledger_test::kOrigin), state_grown);
  ASSERT_EQ(w.SnapshotSize(ledger_test::kOrigin), last);

  ASSERT_NO_FATAL_FAILURE(w.Start());
  // A fork at `middle` signed by the log: consistent with the witness's
  // kGrown, but not a prefix of the replayed tree.
  std::vector<Hash> forked;
  for (uint64_t i = 0; i < kGrown; ++i) forked.push_back(ledger_test::LeafHashOf(Leaf(i)));
  while (forked.size() < middle) {
    forked.push_back(verifier::LeafHash(verifier::AsBytes("another leaf " + std::to_string(forked.size()))));
  }
  verifier::Checkpoint fc{ledger_test::kOrigin,
                          middle,
                          verifier::RootOf(forked),
                          {verifier::TimestampExtension(ledger_test::kT)}};
  const std::string fork_note =
      verifier::SignNote(verifier::FormatCheckpoint(fc), ledger_test::kOrigin, world_.log_key);
  HttpAnswer a = w.Post(
      kGrown, *verifier::MakeConsistencyProof(kGrown, middle, verifier::InMemorySubtrees(forked)),
      fork_note);
  EXPECT_EQ(a.status, 422) << a.body;
  EXPECT_NE(a.body.find("REPLAY_FORK"), std::string::npos) << a.body;
  EXPECT_EQ(testexec::Slurp(w.StateFile(ledger_test::kOrigin)), state_grown);

  // The real `middle` is a prefix of the replayed `last` (a consistency
  // proof from the tiles), and `last` is the replayed tree: both cosigned
  // without replaying.
  verifier::Status st = w.Cosign(kGrown, Proof(kGrown, middle), Note(middle));
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = w.Cosign(middle, Proof(middle, last), Note(last));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(w.SnapshotSize(ledger_test::kOrigin), last);
  std::string out = w.Stop();
  EXPECT_EQ(out.find("replayed"), std::string::npos) << out;
}

TEST_F(ReplayTamperTest, CorruptSnapshotRefusesToStart) {
  WitnessProcess w(dir_ + "/w", {"--config", dir_ + "/witness.conf", "--replay"});
  ASSERT_NO_FATAL_FAILURE(w.Start());
  ASSERT_TRUE(w.Cosign(0, {}, Note(kGrown)).ok());
  w.Stop();
  std::string bytes = testexec::Slurp(w.SnapshotFile(ledger_test::kOrigin));
  bytes[bytes.size() / 2] ^= 1;
  testexec::Spit(w.SnapshotFile(ledger_test::kOrigin), bytes);
  auto o = testexec::Exec({PROVWITNESS_PATH, "serve", "--state-dir", w.state(), "--listen",
                           "127.0.0.1:0", "--config", dir_ + "/witness.conf", "--replay"},
                          dir_);
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("REPLAY_STATE_CORRUPT"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace witness
