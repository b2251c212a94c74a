// provmirror over real processes: a real provd publishing tiles over HTTP,
// records submitted over gRPC, the real provmirror (sync --once and serve)
// and prov reading the mirror. Hostile sources: a fork (a second provd with
// the same key and origin), a rule-breaking entry signed by the log key, a
// tampered tile, and a source that is down.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "ledger/tile_http.h"
#include "ledger/tile_publisher.h"
#include "ledger/tree.h"
#include "tests/client/exec.h"
#include "tests/client/tiles_writer.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "verifier/note.h"
#include "verifier/tlog_tiles.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using json = nlohmann::json;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using Clock = std::chrono::steady_clock;

constexpr char kOrigin[] = "mirror.test/log";

// Every regular file under `dir` (relative path -> bytes), dot files skipped.
std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string rel = fs::relative(it->path(), dir).string();
    if (rel[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out[rel] = Slurp(it->path().string());
  }
  return out;
}

uint64_t NoteSize(const std::string& note) {
  auto c = verifier::ParseCheckpoint(note.substr(0, note.find("\n\n") + 1));
  return c.ok() ? c->size : 0;
}

class MirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);
    unsetenv("PROV_SERVER");
    unsetenv("PROV_TILES_URL");
    char tmpl[] = "/tmp/provmirror-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto vkey =
        tools::InitLedger(PROVD_PATH, Data("a"), kOrigin, {{"a", authority_.public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    vkey_file_ = Data("a") + "/log.vkey";
    ASSERT_EQ(Trimmed(Slurp(vkey_file_)), vkey_);
  }

  void TearDown() override {
    for (auto& [name, p] : provd_) {
      if (p) EXPECT_EQ(p->Stop(SIGTERM), 0) << "provd " << name << " did not exit cleanly";
    }
    provd_.clear();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string Trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  std::string Data(const std::string& name) const { return dir_ + "/data-" + name; }
  std::string Tiles(const std::string& name) const { return dir_ + "/tiles-" + name; }
  std::string MirrorData() const { return dir_ + "/mirror-data"; }
  std::string MirrorTiles() const { return dir_ + "/mirror-tiles"; }

  void StartProvd(const std::string& name) {
    auto p = tools::ProvdProcess::Start(
        PROVD_PATH, Data(name), {"--tiles-dir", Tiles(name), "--http-listen", "127.0.0.1:0"});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_[name] = std::move(p).value();
    auto c = client::LedgerClient::Connect(provd_[name]->target(), vkey_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_[name] = std::move(c).value();
  }

  // Manufacturer `mfr_label` (registered on first use), then `n` devices.
  // Waits until provd's tiles dir serves the new head; returns its size.
  uint64_t Grow(const std::string& name, uint64_t n, const std::string& mfr_label = "mfr-0") {
    auto& c = *client_[name];
    std::vector<verifier::SigningKey> mfr = {tools::SeededKey("mirror-" + mfr_label)};
    if (!setup_done_.count(name + mfr_label)) {
      EXPECT_TRUE(tools::Setup(c, authority_, mfr, tools::UnixNow()).ok());
      setup_done_.insert(name + mfr_label);
    }
    auto leaves = tools::PreSign(n + devices_[name], mfr, tools::UnixNow());
    for (uint64_t i = devices_[name]; i < leaves.size(); ++i) {
      pb::SignedRecord r;
      EXPECT_TRUE(r.ParseFromString(leaves[i]));
      auto a = c.Submit(r);
      EXPECT_TRUE(a.ok()) << a.status().ToString();
    }
    devices_[name] += n;
    auto head = c.GetCheckpoint();
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    const uint64_t size = head.ok() ? head->checkpoint.size : 0;
    WaitForCheckpoint(Tiles(name), size);
    return size;
  }

  static void WaitForCheckpoint(const std::string& tiles_dir, uint64_t size) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (NoteSize(Slurp(tiles_dir + "/checkpoint")) != size && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(NoteSize(Slurp(tiles_dir + "/checkpoint")), size) << tiles_dir;
  }

  std::vector<std::string> MirrorArgs(const std::string& source) const {
    return {"--source",   source,       "--vkey",      vkey_file_,
            "--data-dir", MirrorData(), "--tiles-dir", MirrorTiles()};
  }
  Outcome SyncOnce(const std::string& source) {
    std::vector<std::string> argv = {PROVMIRROR_PATH, "sync", "--once"};
    for (auto& a : MirrorArgs(source)) argv.push_back(a);
    return Exec(argv, dir_);
  }
  Outcome Prov(std::vector<std::string> args) {
    args.insert(args.begin(), {PROV_PATH, "--vkey", vkey_file_});
    return Exec(args, dir_);
  }
  json Status() const { return json::parse(Slurp(MirrorData() + "/status.json")); }

  // The mirror's tiles are the source's: the same checkpoint note, every
  // file the mirror serves has the source's bytes, and every tile and
  // bundle the head needs is there. (The source may also hold partial
  // tiles of sizes the mirror skipped, and the mirror ones of sizes the
  // source's publisher skipped.)
  void ExpectSameTiles(const std::string& source_dir) {
    auto mine = Files(MirrorTiles()), theirs = Files(source_dir);
    ASSERT_TRUE(mine.count("checkpoint"));
    EXPECT_EQ(mine["checkpoint"], theirs["checkpoint"]);
    const uint64_t size = NoteSize(mine["checkpoint"]);
    ASSERT_GT(size, 0u);
    for (const auto& t : verifier::TilesToPublish(0, size)) {
      const std::string path = verifier::TilePath(t);
      ASSERT_TRUE(mine.count(path)) << "mirror lacks " << path;
      EXPECT_EQ(mine[path], theirs[path]) << path;
    }
    for (const auto& [path, bytes] : mine) {
      if (theirs.count(path)) {
        EXPECT_EQ(bytes, theirs[path]) << path;
      } else {
        EXPECT_NE(path.find(".p/"), std::string::npos) << path << " is not the source's";
      }
    }
  }

  // Grows A by three devices, syncs the mirror to it, stops A and copies its
  // store to C, which a test then extends as a compromised log would (with
  // the real log key). `size` gets A's size, `before` the mirror's files.
  void MirrorAThenCopyItToC(uint64_t* size, std::map<std::string, std::string>* before) {
    StartProvd("a");
    *size = Grow("a", 3);
    ASSERT_EQ(SyncOnce(provd_["a"]->tiles_url()).rc, 0);
    *before = Files(MirrorTiles());
    ASSERT_EQ(provd_["a"]->Stop(SIGTERM), 0);
    provd_.erase("a");
    client_.erase("a");
    fs::copy(Data("a"), Data("c"), fs::copy_options::recursive);
  }

  verifier::SigningKey authority_ = tools::SeededKey("mirror-authority");
  std::string dir_, vkey_, vkey_file_;
  std::map<std::string, std::unique_ptr<tools::ProvdProcess>> provd_;
  std::map<std::string, std::unique_ptr<client::LedgerClient>> client_;
  std::map<std::string, uint64_t> devices_;
  std::set<std::string> setup_done_;
};

TEST_F(MirrorTest, SyncOnceCatchesUpAndServesTheSourcesBytes) {
  StartProvd("a");
  uint64_t size = Grow("a", 3);
  Outcome r = SyncOnce(provd_["a"]->tiles_url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.out.find("in step at size " + std::to_string(size)), std::string::npos) << r.out;
  ExpectSameTiles(Tiles("a"));
  EXPECT_EQ(Status()["state"], "following");
  EXPECT_EQ(Status()["good_size"], size);

  // Across a full tile and bundle (256), from the stored head.
  size = Grow("a", 300);
  r = SyncOnce(provd_["a"]->tiles_url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.err.find("advanced from size"), std::string::npos) << r.err;
  ExpectSameTiles(Tiles("a"));
  EXPECT_EQ(Status()["good_size"], size);

  // In step: nothing changes.
  auto before = Files(MirrorTiles());
  r = SyncOnce(provd_["a"]->tiles_url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(r.err.find("advanced"), std::string::npos) << r.err;
  EXPECT_EQ(Files(MirrorTiles()), before);

  // The store is this log's: another key with the same origin is refused
  // before the source is asked, and nothing changes.
  const std::string other = dir_ + "/other.vkey";
  testexec::Spit(
      other, verifier::FormatVerifierKey(kOrigin, verifier::SigningKey::Generate().public_key()));
  r = Exec({PROVMIRROR_PATH, "sync", "--once", "--source", provd_["a"]->tiles_url(), "--vkey",
            other, "--data-dir", MirrorData(), "--tiles-dir", MirrorTiles()},
           dir_);
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("MIRROR_OTHER_LOG"), std::string::npos) << r.err;
  EXPECT_EQ(Files(MirrorTiles()), before);
}

TEST_F(MirrorTest, ServeFollowsResumesAndProvReadsTheMirror) {
  StartProvd("a");
  Grow("a", 5);
  std::vector<std::string> argv = {PROVMIRROR_PATH, "serve",         "--http-listen",
                                   "127.0.0.1:0",   "--interval-ms", "100"};
  for (auto& a : MirrorArgs(provd_["a"]->tiles_url())) argv.push_back(a);
  auto serve = testexec::Start(argv, dir_);
  std::string url;
  for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline;) {
    std::string out = Slurp(serve.out);
    auto at = out.find("tiles on ");
    if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
      url = out.substr(at + 9, out.find('\n', at) - at - 9);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(url.empty()) << Slurp(serve.err);
  const uint64_t size = Grow("a", 280);
  WaitForCheckpoint(MirrorTiles(), size);
  ExpectSameTiles(Tiles("a"));

  // prov reads the mirror as it reads provd.
  Outcome head = Prov({"--tiles-url", url, "--state-dir", dir_ + "/s1", "log", "checkpoint"});
  ASSERT_EQ(head.rc, 0) << Describe(head);
  EXPECT_NE(head.out.find(std::to_string(size)), std::string::npos) << head.out;
  Outcome audit = Prov({"--tiles-url", url, "--state-dir", dir_ + "/s1", "audit"});
  ASSERT_EQ(audit.rc, 0) << Describe(audit);
  Outcome direct = Prov({"--server", provd_["a"]->target(), "--state-dir", dir_ + "/s2", "audit"});
  ASSERT_EQ(direct.rc, 0) << Describe(direct);
  EXPECT_EQ(audit.out, direct.out);

  kill(serve.pid, SIGTERM);
  Outcome stopped = testexec::Finish(serve);
  EXPECT_EQ(stopped.rc, 0) << Describe(stopped);

  // Restart resumes from the store: only the new entries are fetched.
  const uint64_t more = Grow("a", 4);
  Outcome r = SyncOnce(provd_["a"]->tiles_url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(
      r.err.find("advanced from size " + std::to_string(size) + " to size " + std::to_string(more)),
      std::string::npos)
      << r.err;
  ExpectSameTiles(Tiles("a"));
}

TEST_F(MirrorTest, ForkedSourceIsRefusedAndTheGoodHeadKept) {
  // B: the same key and origin, a copy of A's store from before any record.
  fs::copy(Data("a"), Data("b"), fs::copy_options::recursive);
  StartProvd("a");
  StartProvd("b");
  const uint64_t a_size = Grow("a", 3, "mfr-a");
  const uint64_t b_size = Grow("b", 6, "mfr-b");
  Outcome r = SyncOnce(provd_["a"]->tiles_url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  auto before = Files(MirrorTiles());

  r = SyncOnce(provd_["b"]->tiles_url());
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_NE(r.err.find("FORK"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("size " + std::to_string(b_size)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("size " + std::to_string(a_size)), std::string::npos) << r.err;
  json st = Status();
  EXPECT_EQ(st["state"], "halted");
  EXPECT_EQ(st["reason"], "FORK");
  EXPECT_EQ(st["good_size"], a_size);
  EXPECT_EQ(st["offending_checkpoint"], Slurp(Tiles("b") + "/checkpoint"));
  EXPECT_EQ(Files(MirrorTiles()), before);

  // A is still followed.
  Grow("a", 2, "mfr-a");
  r = SyncOnce(provd_["a"]->tiles_url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  ExpectSameTiles(Tiles("a"));
}

// A source that serves a directory (a hostile copy) on a loopback port.
struct StaticSource {
  std::unique_ptr<ledger::TileHttpServer> server;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
};
StaticSource Serve(const std::string& dir, int port = 0) {
  auto s = ledger::TileHttpServer::Start(dir, "127.0.0.1:" + std::to_string(port), false);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return {s.ok() ? std::move(s).value() : nullptr};
}

TEST_F(MirrorTest, RuleBreakingEntrySignedByTheLogHaltsNamingTheIndex) {
  uint64_t size = 0;
  std::map<std::string, std::string> before;
  ASSERT_NO_FATAL_FAILURE(MirrorAThenCopyItToC(&size, &before));

  // C: a copy of A's store with one more leaf, a device record of a
  // registered manufacturer signed by a key it never enrolled, appended and
  // checkpointed with the real log key.
  auto key = verifier::ReadKeyFile(Data("c") + "/log.key");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto kv = ledger::OpenRocksKvStore(Data("c") + "/db", false);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  const std::string leaf =
      tools::PreSign(1, {tools::SeededKey("mirror-not-enrolled")}, tools::UnixNow())[0];
  {
    ledger::TileReader reader(kv->get());
    auto writer = ledger::TreeWriter::Open(reader, kv->get(), size);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ledger::KvBatch batch;
    batch.Put(ledger::coding::LeafKey(size), leaf);
    const verifier::Hash h = verifier::LeafHash(verifier::AsBytes(leaf));
    std::string idx;
    ledger::coding::PutBigEndian64(&idx, size);
    batch.Put(ledger::coding::LeafHashKey(h), idx);
    writer->Append(h);
    writer->FlushTiles(&batch);
    const std::string note = verifier::SignNote(
        verifier::FormatCheckpoint({kOrigin, size + 1, writer->Root(), {}}), kOrigin, *key);
    batch.Put(ledger::coding::CheckpointKey(size + 1), note);
    batch.Put(std::string(ledger::coding::kLatestCheckpointKey), note);
    ASSERT_TRUE((*kv)->Write(batch).ok());
    auto pub = ledger::TilePublisher::Open(Tiles("c"), kv->get(), vkey_, size + 1);
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    ASSERT_TRUE((*pub)->Publish(note).ok());
  }
  StaticSource c = Serve(Tiles("c"));

  Outcome r = SyncOnce(c.url());
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_NE(r.err.find("ENTRY_REJECTED"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("entry #" + std::to_string(size) + " "), std::string::npos) << r.err;
  json st = Status();
  EXPECT_EQ(st["state"], "halted");
  EXPECT_EQ(st["reason"], "ENTRY_REJECTED");
  EXPECT_NE(st["message"].get<std::string>().find("UNKNOWN_SIGNER"), std::string::npos)
      << st.dump();
  EXPECT_EQ(st["index"], size);
  EXPECT_EQ(st["good_size"], size);
  EXPECT_EQ(Files(MirrorTiles()), before);

  // A fresh mirror replaying from genesis stops at the same entry, and
  // publishes nothing.
  std::vector<std::string> argv = {PROVMIRROR_PATH,
                                   "sync",
                                   "--once",
                                   "--source",
                                   c.url(),
                                   "--vkey",
                                   vkey_file_,
                                   "--data-dir",
                                   dir_ + "/fresh",
                                   "--tiles-dir",
                                   dir_ + "/fresh-tiles"};
  r = Exec(argv, dir_);
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_NE(r.err.find("entry #" + std::to_string(size) + " "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/fresh-tiles/checkpoint"));
}

// A compromised operator commits a valid record and then an index root, in
// its place and well formed, whose root is not the index of the leaves
// before it: the mirror recomputes the index and halts naming that leaf.
TEST_F(MirrorTest, ForgedIndexRootSignedByTheLogHaltsNamingTheIndex) {
  uint64_t good = 0;
  std::map<std::string, std::string> before;
  ASSERT_NO_FATAL_FAILURE(MirrorAThenCopyItToC(&good, &before));

  // C: a copy of A's store with one more commit: the next device of the
  // enrolled manufacturer, then an index root holding a forged root.
  auto key = verifier::ReadKeyFile(Data("c") + "/log.key");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto kv = ledger::OpenRocksKvStore(Data("c") + "/db", false);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  const std::string device = tools::PreSign(4, {tools::SeededKey("mirror-mfr-0")},
                                            tools::UnixNow())[3];
  uint64_t size = good;
  ASSERT_TRUE(testtiles::AppendCommit(**kv, &size, *key, kOrigin, {device},
                                      testtiles::ForgedIndexRoot())
                  .ok());
  const uint64_t forged = size - 1;  // the commit's index root
  {
    // provd's own publisher refuses to publish an index its histories do not
    // give (INDEX_CORRUPT); the compromised operator publishes with its own.
    auto note = testtiles::NoteAt(**kv, size);
    ASSERT_TRUE(note.ok()) << note.status().ToString();
    auto pub = ledger::TilePublisher::Open(Tiles("c"), kv->get(), vkey_, size);
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    EXPECT_EQ((*pub)->Publish(*note).reason(), "INDEX_CORRUPT");
    pub->reset();
    ASSERT_TRUE(testtiles::Publish(**kv, good, size, Tiles("c")).ok());
  }
  StaticSource c = Serve(Tiles("c"));

  Outcome r = SyncOnce(c.url());
  EXPECT_EQ(r.rc, 3) << Describe(r);
  EXPECT_NE(r.err.find("entry #" + std::to_string(forged) + " "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("INDEX_ROOT_MISMATCH"), std::string::npos) << r.err;
  json st = Status();
  EXPECT_EQ(st["state"], "halted");
  EXPECT_EQ(st["index"], forged);
  EXPECT_NE(st["message"].get<std::string>().find(
                "INDEX_ROOT_MISMATCH: the index root logged at #" + std::to_string(forged)),
            std::string::npos)
      << st.dump();
  EXPECT_EQ(st["good_size"], good);
  EXPECT_EQ(Files(MirrorTiles()), before);
}

TEST_F(MirrorTest, TamperedTileOrBundleHaltsAndKeepsTheLastGoodState) {
  StartProvd("a");
  const uint64_t size = Grow("a", 3);
  ASSERT_EQ(SyncOnce(provd_["a"]->tiles_url()).rc, 0);
  auto before = Files(MirrorTiles());
  const uint64_t grown = Grow("a", 4);
  const std::string tile = "tile/0/000.p/" + std::to_string(grown);
  const std::string bundle = "tile/entries/000.p/" + std::to_string(grown);
  for (const auto& [path, reason] :
       {std::pair<std::string, std::string>{tile, "TILE_MISMATCH"}, {bundle, "BUNDLE_MISMATCH"}}) {
    SCOPED_TRACE(path);
    const std::string copy = dir_ + "/tampered";
    fs::remove_all(copy);
    fs::copy(Tiles("a"), copy, fs::copy_options::recursive);
    std::string bytes = Slurp(copy + "/" + path);
    ASSERT_GT(bytes.size(), 40u);
    bytes[bytes.size() - 5] ^= 0x01;  // in the newest entry or hash
    testexec::Spit(copy + "/" + path, bytes);
    StaticSource bad = Serve(copy);
    Outcome r = SyncOnce(bad.url());
    EXPECT_EQ(r.rc, 3) << Describe(r);
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    json st = Status();
    EXPECT_EQ(st["state"], "halted");
    EXPECT_EQ(st["reason"], reason);
    EXPECT_EQ(st["good_size"], size);
    EXPECT_EQ(Files(MirrorTiles()), before);
  }
  // The honest source still works.
  Outcome r = SyncOnce(provd_["a"]->tiles_url());
  ASSERT_EQ(r.rc, 0) << Describe(r);
  ExpectSameTiles(Tiles("a"));
}

TEST_F(MirrorTest, CheckpointNotSignedByThePinnedKeyHalts) {
  StartProvd("a");
  const uint64_t size = Grow("a", 3);
  ASSERT_EQ(SyncOnce(provd_["a"]->tiles_url()).rc, 0);
  auto before = Files(MirrorTiles());
  const uint64_t grown = Grow("a", 2);
  const std::string note = Slurp(Tiles("a") + "/checkpoint");
  ASSERT_EQ(NoteSize(note), grown);
  const std::string body = note.substr(0, note.find("\n\n") + 1);
  // The body signed by another key of the same origin; the log's own
  // signature with one bit flipped (the key hash kept).
  std::string flipped = note;
  flipped[flipped.size() - 4] = flipped[flipped.size() - 4] == 'A' ? 'B' : 'A';
  for (const auto& [bad, reason] :
       {std::pair<std::string, std::string>{
            verifier::SignNote(body, kOrigin, verifier::SigningKey::Generate()), "UNVERIFIED_NOTE"},
        {flipped, "BAD_NOTE_SIGNATURE"}}) {
    SCOPED_TRACE(reason);
    const std::string copy = dir_ + "/badsig";
    fs::remove_all(copy);
    fs::copy(Tiles("a"), copy, fs::copy_options::recursive);
    testexec::Spit(copy + "/checkpoint", bad);
    StaticSource src = Serve(copy);
    Outcome r = SyncOnce(src.url());
    EXPECT_EQ(r.rc, 3) << Describe(r);
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    json st = Status();
    EXPECT_EQ(st["state"], "halted");
    EXPECT_EQ(st["reason"], reason);
    EXPECT_EQ(st["good_size"], size);
    EXPECT_EQ(st["offending_checkpoint"], bad);
    EXPECT_EQ(Files(MirrorTiles()), before);
  }
}

TEST_F(MirrorTest, SourceDownKeepsServingAndRetries) {
  StartProvd("a");
  const uint64_t size = Grow("a", 3);
  // Nothing listens here.
  Outcome r = SyncOnce("http://127.0.0.1:1");
  EXPECT_EQ(r.rc, 4) << Describe(r);
  EXPECT_EQ(Status()["state"], "source_unreachable");
  EXPECT_EQ(Status()["reason"], "UNREACHABLE");

  // serve, against a source (A's tiles dir) that goes away and comes back
  // on the same port.
  StaticSource src = Serve(Tiles("a"));
  const int port = src.server->port();
  const std::string url = src.url();
  std::vector<std::string> argv = {PROVMIRROR_PATH, "serve",         "--http-listen",
                                   "127.0.0.1:0",   "--interval-ms", "100"};
  for (auto& a : MirrorArgs(url)) argv.push_back(a);
  auto serve = testexec::Start(argv, dir_);
  WaitForCheckpoint(MirrorTiles(), size);
  std::string mirror_url;
  {
    std::string out = Slurp(serve.out);
    auto at = out.find("tiles on ");
    ASSERT_NE(at, std::string::npos) << out;
    mirror_url = out.substr(at + 9, out.find('\n', at) - at - 9);
  }
  src.server.reset();
  const uint64_t grown = Grow("a", 2);
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Slurp(MirrorData() + "/status.json").find("source_unreachable") == std::string::npos &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Status()["state"], "source_unreachable");
  EXPECT_EQ(Status()["good_size"], size);
  // Still serving the last good head.
  httplib::Client mc(mirror_url);
  auto got = mc.Get("/checkpoint");
  ASSERT_TRUE(got) << mirror_url;
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(NoteSize(got->body), size);

  src = Serve(Tiles("a"), port);
  ASSERT_NE(src.server, nullptr);
  WaitForCheckpoint(MirrorTiles(), grown);
  deadline = Clock::now() + std::chrono::seconds(30);
  while (Slurp(MirrorData() + "/status.json").find("following") == std::string::npos &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Status()["state"], "following");
  ExpectSameTiles(Tiles("a"));
  kill(serve.pid, SIGTERM);
  Outcome stopped = testexec::Finish(serve);
  EXPECT_EQ(stopped.rc, 0) << Describe(stopped);
  EXPECT_NE(stopped.err.find("following again"), std::string::npos) << stopped.err;
}

}  // namespace
