// TilePublisher against real RocksDB stores: a log grown with the ledger's
// own TreeWriter (small leaves, so level-1 and level-2 boundaries are cheap)
// and a running Ledger. Every file is checked against tiles recomputed here
// from the leaves (not read from the store), and every refusal leaves the
// directory exactly as it was.
#include "ledger/tile_publisher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "ledger/coding.h"
#include "ledger/ledger.h"
#include "tests/ledger/fixture.h"
#include "verifier/index.h"
#include "verifier/merkle.h"
#include "verifier/tlog_tiles.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using ledger_test::KeyFromByte;
using ledger_test::TempDir;
using verifier::Code;
using verifier::Hash;
using verifier::Result;
using verifier::Status;
using verifier::TileRef;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Every regular file under `dir` (relative path -> bytes), dot files too.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = Slurp(e.path());
  }
  return out;
}

// The Merkle tree hash of 2^k hashes.
Hash Mth(std::vector<Hash> h) {
  while (h.size() > 1) {
    for (size_t i = 0; i < h.size() / 2; ++i) h[i] = verifier::NodeHash(h[2 * i], h[2 * i + 1]);
    h.resize(h.size() / 2);
  }
  return h[0];
}

// A log's leaves, with tiles and bundles recomputed from them (the
// reference), kept in a RocksDB store the way the ledger keeps it.
class SyntheticLog {
 public:
  SyntheticLog(const std::string& db, uint8_t key_byte, std::string origin, std::string salt = "")
      : key_(KeyFromByte(key_byte)), origin_(std::move(origin)), salt_(std::move(salt)) {
    auto kv = OpenRocksKvStore(db, /*create=*/true, {.sync = false});
    EXPECT_TRUE(kv.ok()) << kv.status().ToString();
    kv_ = std::move(kv).value();
    reader_ = std::make_unique<TileReader>(kv_.get());
    auto w = TreeWriter::Open(*reader_, kv_.get(), 0);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::make_unique<TreeWriter>(std::move(w).value());
  }

  // Appends leaves until there are `size`.
  void GrowTo(uint64_t size) {
    KvBatch batch;
    while (leaves_.size() < size) {
      std::string leaf = salt_ + "leaf " + std::to_string(leaves_.size());
      if (leaves_.size() % 97 == 5) leaf.append(300, 'x');  // some longer entries
      batch.Put(coding::LeafKey(leaves_.size()), leaf);
      writer_->Append(verifier::LeafHash(verifier::AsBytes(leaf)));
      leaves_.push_back(std::move(leaf));
    }
    writer_->FlushTiles(&batch);
    ASSERT_TRUE(kv_->Write(batch).ok());
  }

  std::string Note(uint64_t size, const std::vector<std::string>& ext = {}) const {
    auto root = reader_->RootAt(size);
    EXPECT_TRUE(root.ok());
    verifier::Checkpoint c{origin_, size, *root, ext};
    return verifier::SignNote(verifier::FormatCheckpoint(c), origin_, key_);
  }
  std::string vkey() const { return verifier::FormatVerifierKey(origin_, key_.public_key()); }
  const KvStore* kv() const { return kv_.get(); }
  const verifier::SigningKey& key() const { return key_; }
  const std::string& origin() const { return origin_; }
  const std::vector<std::string>& leaves() const { return leaves_; }

 private:
  verifier::SigningKey key_;
  std::string origin_, salt_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<TileReader> reader_;
  std::unique_ptr<TreeWriter> writer_;
  std::vector<std::string> leaves_;
};

// Reference tiles for `leaves[0, size)`: every level's stored hashes.
class Reference {
 public:
  Reference(const std::vector<std::string>& leaves, uint64_t size) : leaves_(leaves) {
    levels_.emplace_back();
    for (uint64_t i = 0; i < size; ++i) {
      levels_[0].push_back(verifier::LeafHash(verifier::AsBytes(leaves[i])));
    }
    while (levels_.back().size() >= 256) {
      const auto& below = levels_.back();
      std::vector<Hash> up;
      for (size_t j = 0; j + 256 <= below.size(); j += 256) {
        up.push_back(Mth({below.begin() + j, below.begin() + j + 256}));
      }
      levels_.push_back(std::move(up));
    }
  }
  std::string Bytes(const TileRef& t) const {
    std::string out;
    for (uint64_t i = t.index * 256; i < t.index * 256 + t.width; ++i) {
      if (t.level == verifier::kEntriesLevel) {
        EXPECT_TRUE(verifier::AppendBundleEntry(&out, leaves_[i]).ok());
      } else {
        out.append(reinterpret_cast<const char*>(levels_[t.level][i].data()), 32);
      }
    }
    return out;
  }
  // The tiles a tree of this size is served from, at their current widths.
  std::vector<TileRef> Current() const {
    std::vector<TileRef> out;
    for (int level = verifier::kEntriesLevel; level < static_cast<int>(levels_.size()); ++level) {
      uint64_t n = levels_[level < 0 ? 0 : level].size();
      for (uint64_t i = 0; i * 256 < n; ++i)
        out.push_back({level, i, std::min<uint64_t>(256, n - i * 256)});
    }
    return out;
  }

 private:
  const std::vector<std::string>& leaves_;
  std::vector<std::vector<Hash>> levels_;
};

// The directory serves exactly a tree of `size` leaves of `leaves` under
// `note`: every current tile and bundle with the reference bytes; nothing
// else but older partials of still-partial tiles (with their reference
// bytes), the lock file and an empty staging directory.
void ExpectServes(const std::string& dir, const std::vector<std::string>& leaves, uint64_t size,
                  const std::string& note) {
  Reference ref(leaves, size);
  std::map<std::pair<int, uint64_t>, uint64_t> width;  // current width per tile
  auto files = Snapshot(dir);
  for (const TileRef& t : ref.Current()) {
    width[{t.level, t.index}] = t.width;
    std::string path = verifier::TilePath(t);
    ASSERT_TRUE(files.count(path)) << "missing " << path << " at size " << size;
    EXPECT_TRUE(files[path] == ref.Bytes(t)) << path << " differs at size " << size;
    files.erase(path);
  }
  EXPECT_EQ(files["checkpoint"], note);
  files.erase("checkpoint");
  files.erase(".lock");
  for (const auto& [path, bytes] : files) {
    if (path.rfind("index/", 0) == 0) {
      // An index tile, named by its hash (the walk below checks those on
      // the paths it takes; those of older heads stay, immutable).
      auto h = verifier::HexDecode(path.substr(path.rfind('/') + 1));
      ASSERT_TRUE(h.ok() && h->size() == 32) << path;
      EXPECT_EQ(path, verifier::IndexTilePath(*verifier::ToHash(*h)));
      EXPECT_FALSE(bytes.empty()) << path;
      continue;
    }
    auto t = verifier::ParseTilePath(path);
    ASSERT_TRUE(t.ok()) << "unexpected file " << path;
    auto it = width.find({t->level, t->index});
    ASSERT_TRUE(it != width.end()) << "tile beyond the tree: " << path;
    EXPECT_LT(t->width, it->second) << "a partial of a full tile was kept: " << path;
    EXPECT_TRUE(bytes == ref.Bytes(*t)) << path;
  }
  EXPECT_TRUE(fs::is_empty(dir + "/.staging"));
}

class TilePublisherTest : public ::testing::Test {
 protected:
  void SetUp() override { verifier::InitCrypto(); }
  std::string Tiles(const std::string& name = "tiles") const { return tmp_.path() + "/" + name; }
  TempDir tmp_;
};

TEST_F(TilePublisherTest, GrowingAcrossTileBoundariesServesExactlyTheTree) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 0);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  for (uint64_t size : {1, 2, 255, 256, 257, 512, 700, 65535, 65536, 65536 + 3, 65536 + 256 + 1}) {
    SCOPED_TRACE("size " + std::to_string(size));
    log.GrowTo(size);
    std::string note = log.Note(size);
    ASSERT_TRUE((*p)->Publish(note).ok());
    EXPECT_EQ((*p)->published_size(), size);
    ASSERT_NO_FATAL_FAILURE(ExpectServes(Tiles(), log.leaves(), size, note));
  }
  // The spec's shape: level 1 has a full tile, level 2 a partial of width 1.
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/1/000"));
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/2/000.p/1"));
  EXPECT_FALSE(fs::exists(Tiles() + "/tile/1/000.p"));
  EXPECT_FALSE(fs::exists(Tiles() + "/tile/0/000.p"));
  EXPECT_FALSE(fs::exists(Tiles() + "/tile/entries/000.p"));
  // Published at once, the same size gives the same files.
  auto fresh = TilePublisher::Open(Tiles("fresh"), log.kv(), log.vkey(), log.leaves().size());
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE((*fresh)->Publish(log.Note(65536 + 256 + 1)).ok());
  auto a = Snapshot(Tiles()), b = Snapshot(Tiles("fresh"));
  a.erase("checkpoint");
  b.erase("checkpoint");
  EXPECT_TRUE(a == b);
}

TEST_F(TilePublisherTest, OlderPartialsStayUntilTheirTileIsFull) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 0);
  ASSERT_TRUE(p.ok());
  for (uint64_t size : {3, 10}) {
    log.GrowTo(size);
    ASSERT_TRUE((*p)->Publish(log.Note(size)).ok());
  }
  // A client holding the size-3 checkpoint can still fetch its partials.
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/0/000.p/3"));
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/entries/000.p/3"));
  log.GrowTo(256);
  ASSERT_TRUE((*p)->PublishTiles(256).ok());
  // Tiles alone do not supersede: the checkpoint does.
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/0/000.p/3"));
  ASSERT_TRUE((*p)->PublishCheckpoint(log.Note(256)).ok());
  EXPECT_FALSE(fs::exists(Tiles() + "/tile/0/000.p"));
  EXPECT_FALSE(fs::exists(Tiles() + "/tile/entries/000.p"));
}

TEST_F(TilePublisherTest, RepublishingIsIdempotentAndRewritesNoTile) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  log.GrowTo(300);
  {
    auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 300);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE((*p)->Publish(log.Note(300)).ok());
  }
  struct stat before;
  ASSERT_EQ(stat((Tiles() + "/tile/0/000").c_str(), &before), 0);
  auto snapshot = Snapshot(Tiles());
  {
    // Reopened: resumes at 300; the same note again changes nothing.
    auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 300);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ((*p)->published_size(), 300u);
    ASSERT_TRUE((*p)->Publish(snapshot["checkpoint"]).ok());
    ASSERT_TRUE((*p)->PublishTiles(300).ok());
    ASSERT_TRUE((*p)->PublishTiles(10).ok());
  }
  EXPECT_TRUE(Snapshot(Tiles()) == snapshot);
  {
    // Without the checkpoint file it starts from 0 and compares every file.
    fs::remove(Tiles() + "/checkpoint");
    auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 300);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)->published_size(), 0u);
    ASSERT_TRUE((*p)->Publish(snapshot["checkpoint"]).ok());
  }
  EXPECT_TRUE(Snapshot(Tiles()) == snapshot);
  struct stat after;
  ASSERT_EQ(stat((Tiles() + "/tile/0/000").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "a full tile was rewritten";
  // A re-signed head of the same size replaces the checkpoint only.
  auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 300);
  ASSERT_TRUE(p.ok());
  std::string resigned = log.Note(300, {verifier::TimestampExtension(42)});
  ASSERT_TRUE((*p)->Publish(resigned).ok());
  auto now = Snapshot(Tiles());
  EXPECT_EQ(now["checkpoint"], resigned);
  now["checkpoint"] = snapshot["checkpoint"];
  EXPECT_TRUE(now == snapshot);
}

TEST_F(TilePublisherTest, AnotherLogsDirectoryIsRefusedAndLeftAlone) {
  SyntheticLog ours(tmp_.db(), 9, "tiles.example/log");
  SyntheticLog theirs(tmp_.path() + "/db2", 10, "other.example/log", "other ");
  ours.GrowTo(5);
  theirs.GrowTo(5);
  {
    auto p = TilePublisher::Open(Tiles(), theirs.kv(), theirs.vkey(), 5);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE((*p)->Publish(theirs.Note(5)).ok());
  }
  auto before = Snapshot(Tiles());
  auto p = TilePublisher::Open(Tiles(), ours.kv(), ours.vkey(), 5);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(p.status().reason(), "TILES_DIR_NOT_OURS") << p.status().ToString();
  EXPECT_NE(p.status().message().find("other"), std::string::npos) << p.status().ToString();
  EXPECT_TRUE(Snapshot(Tiles()) == before);

  // Same key and origin, a different tree: a fork.
  SyntheticLog fork(tmp_.path() + "/db3", 10, "other.example/log", "fork ");
  fork.GrowTo(5);
  p = TilePublisher::Open(Tiles(), fork.kv(), fork.vkey(), 5);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kDataLoss);
  EXPECT_EQ(p.status().reason(), "TILES_FORK");
  // Our log, but the ledger is behind the published checkpoint.
  p = TilePublisher::Open(Tiles(), theirs.kv(), theirs.vkey(), 4);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "TILES_AHEAD_OF_LEDGER");
  EXPECT_TRUE(Snapshot(Tiles()) == before);

  // Without a checkpoint, its tiles are caught when compared.
  fs::remove(Tiles() + "/checkpoint");
  before = Snapshot(Tiles());
  auto q = TilePublisher::Open(Tiles(), ours.kv(), ours.vkey(), 5);
  ASSERT_TRUE(q.ok());
  Status s = (*q)->Publish(ours.Note(5));
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_EQ(s.reason(), "TILE_MISMATCH") << s.ToString();
  EXPECT_TRUE(Snapshot(Tiles()) == before);
  EXPECT_TRUE(fs::is_empty(Tiles() + "/.staging"));
}

TEST_F(TilePublisherTest, ForeignFilesAndASecondPublisherAreRefused) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  log.GrowTo(2);
  fs::create_directories(Tiles());
  Spit(Tiles() + "/index.html", "hello");
  auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 2);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "TILES_DIR_NOT_OURS");
  EXPECT_NE(p.status().message().find("index.html"), std::string::npos);
  EXPECT_EQ(Snapshot(Tiles()).size(), 1u);
  fs::remove(Tiles() + "/index.html");

  auto first = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 2);
  ASSERT_TRUE(first.ok());
  auto second = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 2);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().reason(), "TILES_DIR_LOCKED");
  first->reset();
  EXPECT_TRUE(TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 2).ok());

  // A file where the directory should be.
  Spit(tmp_.path() + "/plain", "x");
  p = TilePublisher::Open(tmp_.path() + "/plain", log.kv(), log.vkey(), 2);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "TILES_DIR_NOT_OURS");
  EXPECT_FALSE(TilePublisher::Open(Tiles(), log.kv(), "not a vkey", 2).ok());
}

TEST_F(TilePublisherTest, ATamperedFullTileIsDataLossAndNotOverwritten) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  log.GrowTo(600);
  {
    auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 600);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE((*p)->Publish(log.Note(300)).ok());
  }
  for (const std::string rel : {"tile/0/000", "tile/entries/000"}) {  // full at size 300
    SCOPED_TRACE(rel);
    std::string good = Slurp(Tiles() + "/" + rel);
    ASSERT_GT(good.size(), 100u);
    std::string bad = good;
    bad[100] ^= 1;
    Spit(Tiles() + "/" + rel, bad);
    fs::remove(Tiles() + "/checkpoint");  // so it is compared again
    auto before = Snapshot(Tiles());
    auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 600);
    ASSERT_TRUE(p.ok());
    Status s = (*p)->Publish(log.Note(600));
    EXPECT_EQ(s.code(), Code::kDataLoss);
    EXPECT_EQ(s.reason(), "TILE_MISMATCH") << s.ToString();
    EXPECT_NE(s.message().find(rel), std::string::npos) << s.ToString();
    EXPECT_FALSE(fs::exists(Tiles() + "/checkpoint"));
    p->reset();
    auto after = Snapshot(Tiles());
    after.erase(".lock");
    before.erase(".lock");
    // Tiles of the round before the mismatch may have been added; nothing
    // that existed changed.
    for (const auto& [path, bytes] : before) EXPECT_TRUE(after[path] == bytes) << path;
    Spit(Tiles() + "/" + rel, good);
  }
}

TEST_F(TilePublisherTest, StagingLeftoversAreRemovedOnOpen) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  log.GrowTo(3);
  fs::create_directories(Tiles() + "/.staging/sub");
  Spit(Tiles() + "/.staging/7.tmp", "torn");
  Spit(Tiles() + "/.staging/sub/x", "y");
  auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 3);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(fs::is_empty(Tiles() + "/.staging"));
  ASSERT_TRUE((*p)->Publish(log.Note(3)).ok());
  EXPECT_TRUE(fs::is_empty(Tiles() + "/.staging"));
}

TEST_F(TilePublisherTest, CheckpointsThatDoNotFitAreRefusedAndChangeNothing) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  log.GrowTo(20);
  auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 20);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->Publish(log.Note(10)).ok());
  auto before = Snapshot(Tiles());

  Status s = (*p)->PublishCheckpoint(log.Note(5));
  EXPECT_EQ(s.reason(), "CHECKPOINT_OLDER");
  s = (*p)->PublishCheckpoint(log.Note(20));
  EXPECT_EQ(s.reason(), "TILES_NOT_WRITTEN");
  // Signed by another key, or by ours over a root that is not the tree's.
  auto other = KeyFromByte(77);
  auto root = verifier::Sha256(std::string_view("not the root"));
  std::string body = verifier::FormatCheckpoint({log.origin(), 10, root, {}});
  s = (*p)->PublishCheckpoint(verifier::SignNote(body, log.origin(), other));
  EXPECT_FALSE(s.ok());
  s = (*p)->PublishCheckpoint(verifier::SignNote(body, log.origin(), log.key()));
  EXPECT_EQ(s.reason(), "CHECKPOINT_ROOT_MISMATCH");
  s = (*p)->PublishCheckpoint("garbage\n");
  EXPECT_FALSE(s.ok());
  s = (*p)->Publish(verifier::SignNote(body, log.origin(), other));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Snapshot(Tiles()) == before);
  EXPECT_EQ((*p)->published_size(), 10u);
}

TEST_F(TilePublisherTest, TheHookSeesDurableTilesAndMayOnlyAddSignatures) {
  SyntheticLog log(tmp_.db(), 9, "tiles.example/log");
  log.GrowTo(40);
  auto p = TilePublisher::Open(Tiles(), log.kv(), log.vkey(), 40);
  ASSERT_TRUE(p.ok());
  auto witness = KeyFromByte(55);
  std::string note = log.Note(10);
  // A cosignature line added by the hook is published.
  std::string cosigned;
  ASSERT_TRUE((*p)->Publish(note,
                            [&](const std::string& n, uint64_t size) -> Result<std::string> {
                              EXPECT_EQ(size, 10u);
                              EXPECT_TRUE(fs::exists(Tiles() + "/tile/0/000.p/10"));
                              EXPECT_FALSE(fs::exists(Tiles() + "/checkpoint"));
                              std::string w = verifier::SignNote(n.substr(0, n.find("\n\n") + 1),
                                                                 "witness.example", witness);
                              cosigned = n + w.substr(w.find("\n\n") + 2);
                              return cosigned;
                            })
                  .ok());
  EXPECT_EQ(Slurp(Tiles() + "/checkpoint"), cosigned);
  EXPECT_NE(cosigned, note);

  auto before = Snapshot(Tiles());
  // A failing hook: the tiles are written, the checkpoint is not.
  Status s = (*p)->Publish(log.Note(20), [](const std::string&, uint64_t) -> Result<std::string> {
    return verifier::Status(Code::kUnavailable, "WITNESS_DOWN", "no witness answered");
  });
  EXPECT_EQ(s.reason(), "WITNESS_DOWN");
  EXPECT_EQ(Slurp(Tiles() + "/checkpoint"), cosigned);
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/0/000.p/20"));
  // A hook that changes the body (even signed by the log) or drops the
  // log's signature is refused.
  std::string other_body = log.Note(20, {"Timestamp: 1"});
  s = (*p)->Publish(log.Note(20), [&](const std::string&, uint64_t) -> Result<std::string> {
    return other_body;
  });
  EXPECT_EQ(s.reason(), "HOOK_CHANGED_CHECKPOINT");
  s = (*p)->Publish(log.Note(20), [&](const std::string& n, uint64_t) -> Result<std::string> {
    return verifier::SignNote(n.substr(0, n.find("\n\n") + 1), "witness.example", witness);
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Slurp(Tiles() + "/checkpoint"), cosigned);
  EXPECT_EQ((*p)->published_size(), 10u);
}

// A running ledger on RocksDB, followed by provd's publisher thread.
TEST_F(TilePublisherTest, FollowerPublishesARunningLedgersCheckpoints) {
  ledger_test::World w;
  {
    auto kv = OpenRocksKvStore(tmp_.db(), /*create=*/true);
    ASSERT_TRUE(kv.ok());
    ASSERT_TRUE(Ledger::Init(kv->get(), w.log_key, w.Genesis()).ok());
  }
  auto kv = OpenRocksKvStore(tmp_.db(), /*create=*/false);
  ASSERT_TRUE(kv.ok());
  LedgerOptions options;
  options.checkpoint_refresh = std::chrono::seconds(1);
  auto opened = Ledger::Open(std::move(kv).value(), w.log_key, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Ledger> l = std::move(opened).value();
  auto publisher = TilePublisher::Open(Tiles(), *l);
  ASSERT_TRUE(publisher.ok());
  std::mutex mu;
  std::vector<std::string> errors;
  TileFollower follower(l.get(), std::move(publisher).value(), {}, [&](const Status& s) {
    std::lock_guard lock(mu);
    errors.push_back(s.ToString());
  });
  auto deadline = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(20); };
  ASSERT_TRUE(follower.WaitForPublished(1, deadline()));

  // Just past the first full tile (each record alone: it and its batch's
  // index root).
  std::vector<std::string> leaves;
  for (auto& leaf : w.Setup()) ASSERT_TRUE(l->SubmitAndWait(leaf).status.ok());
  for (uint32_t i = 0; l->Checkpoint()->size() <= 256; ++i) {
    const uint64_t want = l->Checkpoint()->size();
    Ack a = l->SubmitAndWait(w.Device(i));
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    ASSERT_EQ(a.index, want);
    ASSERT_EQ(a.checkpoint->size(), want + 2);
  }
  const uint64_t size = l->Checkpoint()->size();
  ASSERT_EQ(size, 258u);
  ASSERT_TRUE(follower.WaitForPublished(size, deadline()));
  for (uint64_t i = 0; i < size; ++i) leaves.push_back(*l->GetLeaf(i));
  // The checkpoint file is the ledger's (or a newer re-signed one).
  std::string note = Slurp(Tiles() + "/checkpoint");
  auto c =
      verifier::VerifyCheckpoint(note, *verifier::ParseVerifierKey(l->verifier_key()), l->origin());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size, size);
  ASSERT_NO_FATAL_FAILURE(ExpectServes(Tiles(), leaves, size, note));
  // The index tiles prove every device's whole history against the head's
  // index root (its last leaf), with no server: the files alone.
  pb::SignedRecord last_sr;
  pb::Record last;
  ASSERT_TRUE(last_sr.ParseFromString(leaves.back()) && last.ParseFromString(last_sr.record()));
  ASSERT_TRUE(last.has_index_root());
  const Hash index_root = *verifier::ToHash(verifier::AsBytes(last.index_root().root()));
  std::map<verifier::Subject, std::vector<uint64_t>> want;
  for (uint64_t i = 0; i + 1 < size; ++i) {
    pb::SignedRecord sr;
    pb::Record r;
    ASSERT_TRUE(sr.ParseFromString(leaves[i]) && r.ParseFromString(sr.record()));
    for (const auto& s : verifier::SubjectsOf(r)) want[s].push_back(i);
  }
  want[verifier::subject::Device("nobody", "none")];  // absent: an empty history
  for (const auto& [subject, history] : want) {
    auto proof = verifier::ProveFromTiles(index_root, subject, [&](const Hash& h) {
      return Result<std::string>(Slurp(Tiles() + "/" + verifier::IndexTilePath(h)));
    });
    ASSERT_TRUE(proof.ok()) << subject.Name() << ": " << proof.status().ToString();
    EXPECT_EQ(std::vector<uint64_t>(proof->history().begin(), proof->history().end()), history)
        << subject.Name();
    auto parsed = verifier::ParseIndexProof(*proof);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(verifier::VerifyIndexProof(index_root, verifier::SubjectKey(subject), history,
                                           *parsed)
                    .ok())
        << subject.Name();
  }
  // The idle head is re-signed every second; the file follows.
  auto until = deadline();
  while (Slurp(Tiles() + "/checkpoint") == note && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(Slurp(Tiles() + "/checkpoint"), note);
  std::lock_guard lock(mu);
  EXPECT_TRUE(errors.empty()) << errors.front();
}

}  // namespace
}  // namespace ledger
