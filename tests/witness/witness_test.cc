// Tests for witness/: the add-checkpoint request grammar and the auditor
// hook in process, then a real provwitness process on a loopback port,
// driven over HTTP (cpp-httplib, curl) and through witness::AddCheckpoint.
#include "witness/witness.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/client/exec.h"
#include "verifier/cosignature.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "witness/client.h"
#include "witness/server.h"

namespace witness {
namespace {

namespace fs = std::filesystem;
using verifier::Checkpoint;
using verifier::Hash;
using verifier::SigningKey;

const bool kCryptoReady = (verifier::InitCrypto(), true);
constexpr std::string_view kOrigin = "prov.example/witnessed-log";

fs::path TempDir(const char* what) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(what) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

uint64_t Now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// A log: leaves, its key, and signed checkpoints and proofs over them.
struct TestLog {
  SigningKey key = SigningKey::Generate();
  std::string origin = std::string(kOrigin);
  std::vector<Hash> leaves;
  TestLog() {
    for (int i = 0; i < 64; ++i)
      leaves.push_back(verifier::LeafHash(verifier::AsBytes("e" + std::to_string(i))));
  }
  std::string vkey() const { return verifier::FormatVerifierKey(origin, key.public_key()); }
  Hash Root(uint64_t size) const {
    return verifier::RootOf(std::span<const Hash>(leaves).first(size));
  }
  std::string Text(uint64_t size, std::optional<Hash> root = {}) const {
    Checkpoint c{origin, size, root ? *root : Root(size), {verifier::TimestampExtension(1)}};
    return verifier::FormatCheckpoint(c);
  }
  std::string Note(uint64_t size, std::optional<Hash> root = {}) const {
    return verifier::SignNote(Text(size, root), origin, key);
  }
  std::vector<Hash> Proof(uint64_t from, uint64_t to) const {
    if (from == 0 || from == to) return {};
    return *verifier::MakeConsistencyProof(from, to, verifier::InMemorySubtrees(leaves));
  }
  std::string Body(uint64_t from, uint64_t to) const {
    return FormatAddCheckpointRequest(from, Proof(from, to), Note(to));
  }
};

// ---------------------------------------------------------------------------
// The request grammar.

TEST(AddCheckpointRequest, RoundTrips) {
  TestLog log;
  auto req = ParseAddCheckpointRequest(log.Body(5, 13));
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->old_size, 5u);
  EXPECT_EQ(req->proof, log.Proof(5, 13));
  EXPECT_EQ(req->note, log.Note(13));
  auto zero = ParseAddCheckpointRequest(log.Body(0, 13));
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->proof.empty());
}

TEST(AddCheckpointRequest, RejectsMalformedBodies) {
  TestLog log;
  std::string note = log.Note(4);
  std::string h = verifier::Base64Encode(log.leaves[0]);
  std::string many;
  for (int i = 0; i < 64; ++i) many += h + "\n";
  std::string sixty_three;
  for (int i = 0; i < 63; ++i) sixty_three += h + "\n";
  EXPECT_TRUE(ParseAddCheckpointRequest("old 3\n" + sixty_three + "\n" + note).ok());
  for (const std::string& body : {
           std::string(""),
           std::string("old 3"),
           "old3\n\n" + note,
           "old  3\n\n" + note,
           "old 03\n\n" + note,
           "old -1\n\n" + note,
           "old 3 \n\n" + note,
           "old 18446744073709551616\n\n" + note,
           "Old 3\n\n" + note,
           "old 3\n" + note,
           "old 3\n" + h + "\n",
           "old 3\nnot base64\n\n" + note,
           "old 3\n" + verifier::Base64Encode(verifier::AsBytes("short")) + "\n\n" + note,
           "old 3\n" + many + "\n" + note,
           std::string("old 3\n\n"),
       }) {
    auto r = ParseAddCheckpointRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().reason(), "MALFORMED_REQUEST") << body;
  }
  EXPECT_EQ(ParseAddCheckpointRequest(std::string(kMaxBodyBytes + 1, 'x')).status().reason(),
            "TOO_LARGE");
}

// ---------------------------------------------------------------------------
// The decision in process: the auditor hook and the clock.

class RecordingAuditor : public CheckpointAuditor {
 public:
  Status Audit(const Checkpoint* previous, const Checkpoint& next, std::string_view) override {
    calls.push_back({previous ? previous->size : 0, next.size});
    return verdict;
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  Status verdict;
};

class WitnessInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("witness-unit");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<Witness> Open(CheckpointAuditor* auditor = nullptr) {
    WitnessOptions o;
    o.name = "w.example/unit";
    o.key = wkey_;
    o.logs = {*verifier::ParseVerifierKey(log_.vkey())};
    o.state_dir = dir_.string();
    o.clock = [] { return uint64_t{1234}; };
    o.auditor = auditor;
    auto w = Witness::Open(std::move(o));
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }
  fs::path dir_;
  TestLog log_;
  SigningKey wkey_ = SigningKey::Generate();
};

TEST_F(WitnessInProcessTest, AuditorSeesEachStepAndCanRefuse) {
  RecordingAuditor auditor;
  auto w = Open(&auditor);
  ASSERT_EQ(w->AddCheckpoint(log_.Body(0, 5)).status, 200);
  auditor.verdict = verifier::FailedPrecondition("RULE_BROKEN", "entry 6 breaks rule X");
  Response r = w->AddCheckpoint(log_.Body(5, 9));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("RULE_BROKEN"), std::string::npos);
  auditor.verdict = Status(verifier::Code::kUnavailable, "LOG_UNREACHABLE", "no entries");
  EXPECT_EQ(w->AddCheckpoint(log_.Body(5, 9)).status, 503);
  EXPECT_EQ(w->LatestSize(log_.origin), 5u);  // refusals changed nothing
  auditor.verdict = Status::Ok();
  EXPECT_EQ(w->AddCheckpoint(log_.Body(5, 9)).status, 200);
  EXPECT_EQ(auditor.calls,
            (std::vector<std::pair<uint64_t, uint64_t>>{{0, 5}, {5, 9}, {5, 9}, {5, 9}}));
}

TEST_F(WitnessInProcessTest, CosignsWithTheClockTime) {
  auto w = Open();
  Response r = w->AddCheckpoint(log_.Body(0, 5));
  ASSERT_EQ(r.status, 200) << r.body;
  auto note = verifier::AddSignatureLines(log_.Note(5), r.body);
  ASSERT_TRUE(note.ok());
  auto t = verifier::VerifyCosignature(*note, *verifier::ParseWitnessKey(w->vkey()));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, 1234u);
}

TEST_F(WitnessInProcessTest, FailedStateWriteCosignsNothing) {
  auto w = Open();
  ASSERT_EQ(w->AddCheckpoint(log_.Body(0, 5)).status, 200);
  // Replace the logs directory by a file: the next write must fail.
  fs::remove_all(dir_ / "logs");
  { std::ofstream(dir_ / "logs") << "x"; }
  Response r = w->AddCheckpoint(log_.Body(5, 9));
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("STATE_WRITE_FAILED"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\xe2\x80\x94"), std::string::npos);
  EXPECT_EQ(w->LatestSize(log_.origin), 5u);
}

TEST_F(WitnessInProcessTest, OpenRefusesBadOptions) {
  WitnessOptions o;
  o.name = "w";
  o.state_dir = dir_.string();
  o.logs = {*verifier::ParseVerifierKey(log_.vkey())};
  EXPECT_EQ(Witness::Open(o).status().reason(), "NO_KEY");
  o.key = wkey_;
  o.name = "bad name";
  EXPECT_EQ(Witness::Open(o).status().reason(), "BAD_NAME");
  o.name = "w";
  o.logs.clear();
  EXPECT_EQ(Witness::Open(o).status().reason(), "NO_LOGS");
}

TEST(Loopback, OnlyLoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("::"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("example.com"));
}

// ---------------------------------------------------------------------------
// A real provwitness process.

struct HttpAnswer {
  int status = -1;
  std::string content_type, body;
};

class ProvwitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("provwitness");
    ASSERT_FALSE(dir_.empty());
    state_ = (dir_ / "state").string();
    auto init = testexec::Exec(
        {PROVWITNESS_PATH, "init", "--state-dir", state_, "--name", "w.example/test"},
        dir_.string());
    ASSERT_EQ(init.rc, 0) << testexec::Describe(init);
    auto w = verifier::ParseWitnessKey(init.out.substr(0, init.out.find('\n')));
    ASSERT_TRUE(w.ok()) << init.out;
    wvkey_ = *w;
    StartServer();
  }
  void TearDown() override {
    StopServer();
    fs::remove_all(dir_);
  }

  testexec::Running Launch(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {PROVWITNESS_PATH, "serve",       "--state-dir", state_,
                                     "--listen",       "127.0.0.1:0", "--log",       log_.vkey()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testexec::Start(argv, dir_.string());
  }
  void StartServer() {
    proc_ = Launch();
    port_ = 0;
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::string out = testexec::Slurp(proc_.out);
      size_t at = out.find("provwitness: serving on 127.0.0.1:");
      if (at != std::string::npos) {
        port_ =
            std::atoi(out.c_str() + at + std::string("provwitness: serving on 127.0.0.1:").size());
        break;
      }
      if (::waitpid(proc_.pid, nullptr, WNOHANG) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GT(port_, 0) << testexec::Slurp(proc_.err);
  }
  int StopServer() {
    if (proc_.pid < 0) return -1;
    ::kill(proc_.pid, SIGTERM);
    int rc = testexec::Finish(proc_).rc;
    proc_.pid = -1;
    return rc;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  HttpAnswer Post(const std::string& body) const {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(10, 0);
    auto res = cli.Post("/add-checkpoint", body, "text/plain");
    if (!res) return {};
    return {res->status, res->get_header_value("Content-Type"), res->body};
  }
  std::string StateFile() const {
    return state_ + "/logs/" + verifier::HexEncode(verifier::Sha256(log_.origin));
  }
  // Checks a 200 answer: one cosignature line by the witness, recent.
  void ExpectCosigned(const HttpAnswer& a, uint64_t size) const {
    ASSERT_EQ(a.status, 200) << a.body;
    auto note = verifier::AddSignatureLines(log_.Note(size), a.body);
    ASSERT_TRUE(note.ok()) << a.body;
    auto t = verifier::VerifyCosignature(*note, wvkey_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_LE(*t, Now());
    EXPECT_GE(*t + 60, Now());
  }

  fs::path dir_;
  std::string state_;
  TestLog log_;
  verifier::WitnessVerifier wvkey_;
  testexec::Running proc_;
  int port_ = 0;
};

TEST_F(ProvwitnessTest, InitWritesAPrivateKeyAndRefusesToOverwrite) {
  struct stat st;
  ASSERT_EQ(::stat((state_ + "/witness.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string before = testexec::Slurp(state_ + "/witness.key");
  auto again = testexec::Exec(
      {PROVWITNESS_PATH, "init", "--state-dir", state_, "--name", "w.example/test"}, dir_.string());
  EXPECT_NE(again.rc, 0);
  EXPECT_NE(again.err.find("KEY_FILE"), std::string::npos) << again.err;
  EXPECT_EQ(testexec::Slurp(state_ + "/witness.key"), before);
  auto bad = testexec::Exec(
      {PROVWITNESS_PATH, "init", "--state-dir", (dir_ / "x").string(), "--name", "bad name"},
      dir_.string());
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.err.find("BAD_NAME"), std::string::npos) << bad.err;
}

TEST_F(ProvwitnessTest, FirstCheckpointThenGrowthWithAProof) {
  ExpectCosigned(Post(log_.Body(0, 5)), 5);
  EXPECT_EQ(testexec::Slurp(StateFile()), log_.Note(5));
  ExpectCosigned(Post(log_.Body(5, 13)), 13);
  ExpectCosigned(Post(log_.Body(13, 64)), 64);
  EXPECT_EQ(testexec::Slurp(StateFile()), log_.Note(64));
}

TEST_F(ProvwitnessTest, SameSizeSameRootIsCosignedAgain) {
  ExpectCosigned(Post(log_.Body(0, 5)), 5);
  ExpectCosigned(Post(log_.Body(5, 5)), 5);
}

TEST_F(ProvwitnessTest, SameSizeOtherRootIsAConflict) {
  ExpectCosigned(Post(log_.Body(0, 5)), 5);
  std::string before = testexec::Slurp(StateFile());
  auto a = Post(FormatAddCheckpointRequest(5, {}, log_.Note(5, verifier::Sha256("fork"))));
  EXPECT_EQ(a.status, 409);
  EXPECT_NE(a.body.find("ROOT_MISMATCH"), std::string::npos) << a.body;
  EXPECT_EQ(a.content_type.rfind("text/plain", 0), 0u);
  EXPECT_EQ(testexec::Slurp(StateFile()), before);
}

TEST_F(ProvwitnessTest, EmptyTreeNeedsTheEmptyRoot) {
  ExpectCosigned(Post(FormatAddCheckpointRequest(0, {}, log_.Note(0, verifier::EmptyRoot()))), 0);
  EXPECT_EQ(Post(FormatAddCheckpointRequest(0, {}, log_.Note(0, verifier::Sha256("x")))).status,
            409);
}

TEST_F(ProvwitnessTest, StaleOldSizeIs409WithTheStoredSize) {
  ExpectCosigned(Post(log_.Body(0, 5)), 5);
  for (uint64_t old : {0, 3, 6}) {
    auto a = Post(FormatAddCheckpointRequest(old, log_.Proof(old, 9), log_.Note(9)));
    EXPECT_EQ(a.status, 409) << old;
    EXPECT_EQ(a.content_type, "text/x.tlog.size");
    EXPECT_EQ(a.body, "5\n");
  }
  // Rollback: a smaller checkpoint, sent from the stored size, is a 400
  // (old size above the checkpoint's), from its own size a 409.
  EXPECT_EQ(Post(FormatAddCheckpointRequest(5, {}, log_.Note(3))).status, 400);
  EXPECT_EQ(Post(FormatAddCheckpointRequest(3, {}, log_.Note(3))).status, 409);
  EXPECT_EQ(testexec::Slurp(StateFile()), log_.Note(5));
}

TEST_F(ProvwitnessTest, BadProofIs422AndChangesNothing) {
  ExpectCosigned(Post(log_.Body(0, 5)), 5);
  auto proof = log_.Proof(5, 13);
  proof[0][0] ^= 1;
  auto a = Post(FormatAddCheckpointRequest(5, proof, log_.Note(13)));
  EXPECT_EQ(a.status, 422);
  EXPECT_NE(a.body.find("BAD_CONSISTENCY_PROOF"), std::string::npos) << a.body;
  // A proof for another size, a truncated proof, a proof between equal sizes.
  EXPECT_EQ(Post(FormatAddCheckpointRequest(5, log_.Proof(5, 12), log_.Note(13))).status, 422);
  auto shorter = log_.Proof(5, 13);
  shorter.pop_back();
  EXPECT_EQ(Post(FormatAddCheckpointRequest(5, shorter, log_.Note(13))).status, 422);
  EXPECT_EQ(Post(FormatAddCheckpointRequest(5, log_.Proof(4, 5), log_.Note(5))).status, 422);
  // A checkpoint whose root is not the tree's: the proof cannot verify.
  EXPECT_EQ(
      Post(FormatAddCheckpointRequest(5, log_.Proof(5, 13), log_.Note(13, verifier::Sha256("lie"))))
          .status,
      422);
  EXPECT_EQ(testexec::Slurp(StateFile()), log_.Note(5));
  ExpectCosigned(Post(log_.Body(5, 13)), 13);
}

TEST_F(ProvwitnessTest, MalformedIs400) {
  std::string note = log_.Note(5);
  for (const std::string& body :
       {std::string("hello"), "old 01\n\n" + note, "old 0\nxx\n\n" + note,
        "old 0\n" + verifier::Base64Encode(log_.leaves[0]) + "\n\n" + note,  // proof from 0
        "old 0\n\n" + log_.Text(5),                                          // unsigned
        "old 0\n\n" + verifier::SignNote("not\na checkpoint\n", log_.origin, log_.key)}) {
    auto a = Post(body);
    EXPECT_EQ(a.status, 400) << body << "\n" << a.body;
  }
  std::string many;
  for (int i = 0; i < 64; ++i) many += verifier::Base64Encode(log_.leaves[0]) + "\n";
  EXPECT_EQ(Post("old 1\n" + many + "\n" + note).status, 400);
  EXPECT_EQ(Post(FormatAddCheckpointRequest(6, {}, note)).status, 400);  // old > size
  EXPECT_FALSE(fs::exists(StateFile()));
}

TEST_F(ProvwitnessTest, UnknownOriginIs404) {
  TestLog other;
  other.origin = "other.example/log";
  auto a = Post(other.Body(0, 5));
  EXPECT_EQ(a.status, 404);
  EXPECT_NE(a.body.find("UNKNOWN_LOG"), std::string::npos);
}

TEST_F(ProvwitnessTest, UntrustedOrBadSignatureIs403) {
  TestLog impostor;  // same origin, another key
  auto a = Post(impostor.Body(0, 5));
  EXPECT_EQ(a.status, 403);
  EXPECT_NE(a.body.find("UNVERIFIED_NOTE"), std::string::npos) << a.body;
  // The trusted key's name and hash over a changed text.
  std::string note = log_.Note(5);
  note.replace(note.find("\n5\n"), 3, "\n6\n");
  auto b = Post(FormatAddCheckpointRequest(0, {}, note));
  EXPECT_EQ(b.status, 403);
  EXPECT_NE(b.body.find("BAD_NOTE_SIGNATURE"), std::string::npos) << b.body;
  EXPECT_FALSE(fs::exists(StateFile()));
  // Extra signatures by unknown keys are ignored.
  std::string extra = verifier::SignNote(log_.Text(5), "someone.else", SigningKey::Generate());
  auto lines = extra.substr(extra.find("\n\n") + 2);
  auto both = verifier::AddSignatureLines(log_.Note(5), lines);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(Post(FormatAddCheckpointRequest(0, {}, *both)).status, 200);
}

TEST_F(ProvwitnessTest, OversizedBodyIs413) {
  std::string body = log_.Body(0, 5) + std::string(kMaxBodyBytes, 'x');
  EXPECT_EQ(Post(body).status, 413);
  EXPECT_FALSE(fs::exists(StateFile()));
}

TEST_F(ProvwitnessTest, OtherPathsAre404) {
  httplib::Client cli("127.0.0.1", port_);
  auto res = cli.Get("/add-checkpoint");
  ASSERT_TRUE(res);
  EXPECT_NE(res->status, 200);
  auto other = cli.Post("/add-checkpoints", log_.Body(0, 5), "text/plain");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

TEST_F(ProvwitnessTest, RestartKeepsTheState) {
  ExpectCosigned(Post(log_.Body(0, 9)), 9);
  EXPECT_EQ(StopServer(), 0);
  StartServer();
  auto a = Post(log_.Body(0, 13));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body, "9\n");
  ExpectCosigned(Post(log_.Body(9, 13)), 13);
}

TEST_F(ProvwitnessTest, CorruptStateRefusesToStart) {
  ExpectCosigned(Post(log_.Body(0, 9)), 9);
  StopServer();
  std::string good = testexec::Slurp(StateFile());
  for (const std::string& bad :
       {std::string(""), std::string("garbage"), good.substr(0, good.size() - 5),
        TestLog().Note(9) /* signed by another key */}) {
    testexec::Spit(StateFile(), bad);
    auto r = testexec::Finish(Launch());
    EXPECT_NE(r.rc, 0) << bad;
    EXPECT_NE(r.err.find("STATE_CORRUPT"), std::string::npos) << r.err;
  }
  testexec::Spit(StateFile(), good);
  StartServer();
  EXPECT_EQ(Post(log_.Body(0, 9)).body, "9\n");
}

TEST_F(ProvwitnessTest, ServeRefusesNonLoopbackAndBadKeys) {
  auto pub = testexec::Exec({PROVWITNESS_PATH, "serve", "--state-dir", state_, "--listen",
                             "0.0.0.0:0", "--log", log_.vkey()},
                            dir_.string());
  EXPECT_NE(pub.rc, 0);
  EXPECT_NE(pub.err.find("NOT_LOOPBACK"), std::string::npos) << pub.err;
  auto badlog = testexec::Exec({PROVWITNESS_PATH, "serve", "--state-dir", state_, "--listen",
                                "127.0.0.1:0", "--log", "junk"},
                               dir_.string());
  EXPECT_NE(badlog.rc, 0);
  EXPECT_NE(badlog.err.find("MALFORMED_NOTE"), std::string::npos) << badlog.err;
  testexec::Spit(dir_.string() + "/bad.conf", "log " + log_.vkey() + "\nwitness x y\n");
  auto badconf = testexec::Exec({PROVWITNESS_PATH, "serve", "--state-dir", state_, "--listen",
                                 "127.0.0.1:0", "--config", dir_.string() + "/bad.conf"},
                                dir_.string());
  EXPECT_NE(badconf.rc, 0);
  EXPECT_NE(badconf.err.find("line 2: "), std::string::npos) << badconf.err;
  ::chmod((state_ + "/witness.key").c_str(), 0644);
  auto loose = testexec::Exec({PROVWITNESS_PATH, "serve", "--state-dir", state_, "--listen",
                               "127.0.0.1:0", "--log", log_.vkey()},
                              dir_.string());
  EXPECT_NE(loose.rc, 0);
  EXPECT_NE(loose.err.find("KEY_FILE_PERMISSIONS"), std::string::npos) << loose.err;
  ::chmod((state_ + "/witness.key").c_str(), 0600);
}

TEST_F(ProvwitnessTest, ConfigFileListsLogs) {
  StopServer();
  TestLog second;
  second.origin = "second.example/log";
  testexec::Spit(
      dir_.string() + "/logs.conf",
      "# logs\nlog " + log_.vkey() + " http://127.0.0.1:1/\nlog " + second.vkey() + "\n");
  proc_ = testexec::Start({PROVWITNESS_PATH, "serve", "--state-dir", state_, "--listen",
                           "127.0.0.1:0", "--config", dir_.string() + "/logs.conf"},
                          dir_.string());
  for (int i = 0; i < 200; ++i) {
    std::string out = testexec::Slurp(proc_.out);
    size_t at = out.find("127.0.0.1:");
    if (at != std::string::npos) {
      port_ = std::atoi(out.c_str() + at + 10);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ExpectCosigned(Post(log_.Body(0, 5)), 5);
  EXPECT_EQ(Post(second.Body(0, 7)).status, 200);
}

TEST_F(ProvwitnessTest, ConcurrentAddsFromOneSizeCosignExactlyOne) {
  ExpectCosigned(Post(log_.Body(0, 5)), 5);
  constexpr int kThreads = 12;
  std::vector<HttpAnswer> answers(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { answers[i] = Post(log_.Body(5, 6 + i)); });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  uint64_t winner = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (answers[i].status == 200) {
      ++ok;
      winner = 6 + i;
    } else {
      EXPECT_EQ(answers[i].status, 409) << answers[i].body;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(testexec::Slurp(StateFile()), log_.Note(winner));
  for (int i = 0; i < kThreads; ++i) {
    if (answers[i].status == 409) {
      EXPECT_EQ(answers[i].body, std::to_string(winner) + "\n");
    }
  }
}

TEST_F(ProvwitnessTest, ConcurrentChainsNeverRollBack) {
  // Many clients race to extend whatever the witness holds; every 200 is for
  // a size at least as large as every earlier 200.
  ExpectCosigned(Post(log_.Body(0, 1)), 1);
  std::atomic<uint64_t> max_ok{1};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        uint64_t held = 0;
        AddCheckpointOptions opts;
        opts.witness_size = &held;
        // Learn the size with a probe, then try to extend it.
        (void)AddCheckpoint(Url(), 0, {}, log_.Note(64), opts);
        uint64_t to = std::min<uint64_t>(64, held + 1 + (t + round) % 3);
        auto r = AddCheckpoint(Url(), held, log_.Proof(held, to), log_.Note(to));
        if (r.ok()) {
          uint64_t prev = max_ok.load();
          while (prev < to && !max_ok.compare_exchange_weak(prev, to)) {
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto probe = Post(log_.Body(0, 64));
  EXPECT_EQ(probe.body, std::to_string(max_ok.load()) + "\n");
}

TEST_F(ProvwitnessTest, CurlGetsACosignature) {
  ASSERT_EQ(std::system("command -v curl >/dev/null 2>&1"), 0)
      << "curl is missing (scripts/install-deps.sh installs it)";
  testexec::Spit(dir_.string() + "/body", log_.Body(0, 5));
  auto r = testexec::Exec({"/usr/bin/env", "curl", "-sS", "--fail", "--data-binary",
                           "@" + dir_.string() + "/body", Url() + "/add-checkpoint"},
                          dir_.string());
  ASSERT_EQ(r.rc, 0) << testexec::Describe(r);
  ExpectCosigned({200, "", r.out}, 5);
}

// ---------------------------------------------------------------------------
// witness::AddCheckpoint, the client provd uses, against the real server.

TEST_F(ProvwitnessTest, ClientMapsEveryAnswer) {
  AddCheckpointOptions opts;
  opts.expect = wvkey_;
  auto first = AddCheckpoint(Url(), 0, {}, log_.Note(5), opts);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_TRUE(
      verifier::VerifyCosignature(*verifier::AddSignatureLines(log_.Note(5), (*first)[0]), wvkey_)
          .ok());
  auto grown = AddCheckpoint(Url() + "/", 5, log_.Proof(5, 9), log_.Note(9), opts);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();

  uint64_t held = 0;
  AddCheckpointOptions with_size;
  with_size.witness_size = &held;
  auto stale = AddCheckpoint(Url(), 5, log_.Proof(5, 13), log_.Note(13), with_size);
  EXPECT_EQ(stale.status().reason(), "WITNESS_OLD_SIZE_MISMATCH");
  EXPECT_EQ(stale.status().code(), verifier::Code::kFailedPrecondition);
  EXPECT_EQ(held, 9u);

  auto proof = log_.Proof(9, 13);
  proof[1][3] ^= 0x40;
  EXPECT_EQ(AddCheckpoint(Url(), 9, proof, log_.Note(13)).status().reason(), "WITNESS_BAD_PROOF");
  EXPECT_EQ(AddCheckpoint(Url(), 9, {}, log_.Note(9, verifier::Sha256("fork"))).status().reason(),
            "WITNESS_CONFLICT");
  EXPECT_EQ(AddCheckpoint(Url(), 14, {}, log_.Note(13)).status().reason(), "WITNESS_BAD_REQUEST");
  EXPECT_EQ(AddCheckpoint(Url(), 0, {}, TestLog().Note(5)).status().reason(), "WITNESS_FORBIDDEN");
  TestLog other;
  other.origin = "other.example/log";
  EXPECT_EQ(AddCheckpoint(Url(), 0, {}, other.Note(5)).status().reason(), "WITNESS_UNKNOWN_LOG");
  std::string huge = log_.Note(13) + std::string(kMaxBodyBytes, 'x');
  EXPECT_EQ(AddCheckpoint(Url(), 9, {}, huge).status().reason(), "WITNESS_TOO_LARGE");
  // Expecting another witness's key: the lines are not its.
  AddCheckpointOptions wrong;
  wrong.expect = *verifier::ParseWitnessKey(
      verifier::FormatWitnessKey("w.example/test", SigningKey::Generate().public_key()));
  EXPECT_EQ(AddCheckpoint(Url(), 9, log_.Proof(9, 13), log_.Note(13), wrong).status().reason(),
            "WITNESS_BAD_RESPONSE");
  EXPECT_EQ(AddCheckpoint("https://127.0.0.1:1", 0, {}, log_.Note(5)).status().reason(),
            "WITNESS_URL_UNSUPPORTED");
  EXPECT_EQ(AddCheckpoint("ftp://x", 0, {}, log_.Note(5)).status().reason(),
            "WITNESS_URL_UNSUPPORTED");
  StopServer();
  AddCheckpointOptions quick;
  quick.timeout = std::chrono::milliseconds(500);
  auto down = AddCheckpoint(Url(), 9, {}, log_.Note(9), quick);
  EXPECT_EQ(down.status().reason(), "WITNESS_UNREACHABLE");
  EXPECT_EQ(down.status().code(), verifier::Code::kUnavailable);
}

// A hostile witness: answers that are not what the protocol allows.
TEST(HostileWitness, ClientRefusesMalformedAnswers) {
  httplib::Server svr;
  std::string status_body;
  int status = 200;
  std::string ctype = "text/plain";
  svr.Post("/add-checkpoint", [&](const httplib::Request&, httplib::Response& res) {
    res.status = status;
    res.set_content(status_body, ctype.c_str());
  });
  int port = svr.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { svr.listen_after_bind(); });
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  TestLog log;
  struct Case {
    int status;
    std::string ctype, body, reason;
  };
  std::string line = *verifier::CosignCheckpoint(log.Text(5), "w", SigningKey::Generate(), 1);
  for (const auto& c : std::vector<Case>{
           {200, "text/plain", "", "WITNESS_BAD_RESPONSE"},
           {200, "text/plain", "hello\n", "WITNESS_BAD_RESPONSE"},
           {200, "text/plain", line.substr(0, line.size() - 1), "WITNESS_BAD_RESPONSE"},
           {200, "text/plain", line + "\n", "WITNESS_BAD_RESPONSE"},
           {409, "text/x.tlog.size", "abc\n", "WITNESS_BAD_RESPONSE"},
           {409, "text/x.tlog.size", "", "WITNESS_BAD_RESPONSE"},
           {500, "text/plain", "oops", "WITNESS_HTTP_500"},
           {302, "text/plain", "", "WITNESS_HTTP_302"},
       }) {
    status = c.status;
    ctype = c.ctype;
    status_body = c.body;
    auto r = AddCheckpoint(url, 0, {}, log.Note(5));
    EXPECT_EQ(r.status().reason(), c.reason) << c.status << " " << c.body;
  }
  // With a key expected: a line by another key is dropped (none left), and
  // the expected key's line over another checkpoint does not verify.
  status = 200;
  status_body = line;
  SigningKey k = SigningKey::Generate();
  AddCheckpointOptions opts;
  opts.expect = *verifier::ParseWitnessKey(verifier::FormatWitnessKey("w", k.public_key()));
  EXPECT_EQ(AddCheckpoint(url, 0, {}, log.Note(5), opts).status().reason(), "WITNESS_BAD_RESPONSE");
  status_body = *verifier::CosignCheckpoint(log.Text(6), "w", k, 1);
  EXPECT_EQ(AddCheckpoint(url, 0, {}, log.Note(5), opts).status().reason(), "BAD_COSIGNATURE");
  status_body = *verifier::CosignCheckpoint(log.Text(5), "w", k, 1);
  EXPECT_TRUE(AddCheckpoint(url, 0, {}, log.Note(5), opts).ok());
  svr.stop();
  t.join();
}

}  // namespace
}  // namespace witness
