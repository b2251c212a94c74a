// `prov --witness-policy` (client/witness_policy.h) over real processes: a
// real provd, its tiles served by a real nginx, three real provwitness
// processes cosigning the checkpoint provd serves (witness::AddCheckpoint),
// and the cosigned note served as the mirror's `checkpoint`. Quorum met and
// not, bad and foreign cosignatures, policies for another log, malformed
// policy files, the trust store keeping the best-cosigned note, tlog-proofs
// verified offline, and bundles judged under the policy.
#include "client/witness_policy.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "client/trust_store.h"
#include "ledger/ledger.h"
#include "proto/ledger.pb.h"
#include "tests/client/exec.h"
#include "tests/client/nginx.h"
#include "tests/client/index_layout.h"
#include "tests/client/tiles_writer.h"
#include "tests/ledger/fixture.h"
#include "tools/provd_process.h"
#include "verifier/cosignature.h"
#include "verifier/note.h"
#include "verifier/tlog_proof.h"
#include "witness/client.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using testexec::Spit;

// A provwitness process trusting the log `log_vkey`.
class RealWitness {
 public:
  RealWitness(const std::string& dir, const std::string& name, const std::string& log_vkey)
      : dir_(dir + "/" + name) {
    fs::create_directories(dir_);
    auto init = Exec({PROVWITNESS_PATH, "init", "--state-dir", dir_ + "/s", "--name", name}, dir_);
    vkey_ = init.out.substr(0, init.out.find('\n'));
    proc_ = testexec::Start({PROVWITNESS_PATH, "serve", "--state-dir", dir_ + "/s", "--listen",
                             "127.0.0.1:0", "--log", log_vkey},
                            dir_);
    const std::string marker = "provwitness: serving on 127.0.0.1:";
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::string out = Slurp(proc_.out);
      if (size_t at = out.find(marker); at != std::string::npos) {
        port_ = std::atoi(out.c_str() + at + marker.size());
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  ~RealWitness() {
    ::kill(proc_.pid, SIGTERM);
    testexec::Finish(proc_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& vkey() const { return vkey_; }

 private:
  std::string dir_, vkey_;
  testexec::Running proc_;
  int port_ = 0;
};

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l;
  return out;
}

// `line` ("— name base64\n") with one byte of its signature flipped.
std::string FlipSignatureByte(const std::string& line) {
  const size_t sp = line.rfind(' ');
  auto raw = verifier::Base64Decode(line.substr(sp + 1, line.size() - sp - 2));
  EXPECT_TRUE(raw.ok());
  std::string bytes(raw->begin(), raw->end());
  bytes[bytes.size() - 5] ^= 0x01;
  return line.substr(0, sp + 1) + verifier::Base64Encode(verifier::AsBytes(bytes)) + "\n";
}

class WitnessPolicyTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kSize = 40;
  // A device of the log: testtiles::Grow logs device SN-i at leaf i.
  static constexpr uint64_t kDevice = 30;
  static std::string DeviceSerial() { return "SN-" + std::to_string(kDevice); }

  static void SetUpTestSuite() {
    verifier::InitCrypto();
    setenv("PROV_PLAINTEXT", "1", 1);
    for (const char* v : {"PROV_SERVER", "PROV_TILES_URL", "PROV_WITNESS_POLICY"}) unsetenv(v);
    std::string tmpl = "/tmp/prov-wpolicy-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    const std::string& d = *dir_;
    ledger_test::World w;
    auto vkey = tools::InitLedger(PROVD_PATH, d + "/ledger", ledger_test::kOrigin,
                                  {{"auth-0", w.auth0.public_key()},
                                   {"auth-1", w.auth1.public_key()},
                                   {"auth-2", w.auth2.public_key()}},
                                  2);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = new std::string(*vkey);
    Spit(d + "/log.vkey", *vkey + "\n");
    {
      auto key = verifier::ReadKeyFile(d + "/ledger/log.key");
      ASSERT_TRUE(key.ok()) << key.status().ToString();
      auto kv = ledger::OpenRocksKvStore(d + "/ledger/db", false, {.sync = false});
      ASSERT_TRUE(kv.ok()) << kv.status().ToString();
      ledger::KvStore* store = kv->get();
      auto l = ledger::Ledger::Open(std::move(kv).value(), *key);
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      testtiles::Grow(**l, w, kSize, 0);
      old_note_ = new std::string(*testtiles::NoteAt(*store, 20));
      ASSERT_TRUE(testtiles::Publish(*store, 0, kSize, d + "/www/log").ok());
    }
    auto p = tools::ProvdProcess::Start(PROVD_PATH, d + "/ledger");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = p->release();
    Outcome head =
        Prov({"--server", provd_->target(), "--state-dir", d + "/s0", "log", "checkpoint"});
    ASSERT_EQ(head.rc, 0) << Describe(head);
    note_ = new std::string(head.out);
    // Three witnesses cosign the note provd serves.
    lines_ = new std::vector<std::string>;
    for (const char* name : {"a.example", "b.example", "c.example"}) {
      witnesses_.push_back(new RealWitness(d + "/witnesses", name, *vkey_));
      auto got = witness::AddCheckpoint(witnesses_.back()->url(), 0, {}, *note_);
      ASSERT_TRUE(got.ok()) << name << ": " << got.status().ToString();
      ASSERT_EQ(got->size(), 1u);
      lines_->push_back(got->front());
    }
    std::string error;
    nginx_ = testnginx::Nginx::Start(d + "/www", d + "/nginx", &error).release();
    ASSERT_NE(nginx_, nullptr) << "nginx did not start: " << error;
  }
  static void TearDownTestSuite() {
    delete nginx_;
    for (auto* w : witnesses_) delete w;
    witnesses_.clear();
    delete provd_;
    if (dir_) fs::remove_all(*dir_);
    for (auto* s : {dir_, vkey_, note_, old_note_}) delete s;
    delete lines_;
  }

  static Outcome Prov(std::vector<std::string> args) {
    std::vector<std::string> argv = {PROV_PATH, "--vkey", *dir_ + "/log.vkey"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, *dir_);
  }
  // The note with the cosignatures of the witnesses `which` (0 = a, 1 = b, 2 = c).
  static std::string Cosigned(std::vector<int> which, std::string extra = "") {
    std::string lines;
    for (int i : which) lines += (*lines_)[i];
    auto note = verifier::AddSignatureLines(*note_, lines + extra);
    EXPECT_TRUE(note.ok()) << note.status().ToString();
    return note.ok() ? *note : "";
  }
  // A policy file: the log, the three witnesses, and `quorum` lines.
  std::string PolicyFile(const std::string& name, const std::string& quorum, bool with_log = true) {
    std::string text = with_log ? "log " + *vkey_ + "\n" : "";
    const char* names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; ++i) {
      text += std::string("witness ") + names[i] + " " + witnesses_[i]->vkey() + "\n";
    }
    text += quorum;
    const std::string path = *dir_ + "/" + name;
    Spit(path, text);
    return path;
  }
  std::string TwoOfThree() { return PolicyFile("two.policy", "group g 2 a b c\nquorum g\n"); }
  std::string AllThree() { return PolicyFile("all.policy", "group g all a b c\nquorum g\n"); }
  std::string AnyOne() { return PolicyFile("any.policy", "group g any a b c\nquorum g\n"); }

  void Serve(const std::string& checkpoint) { Spit(*dir_ + "/www/log/checkpoint", checkpoint); }
  std::string Url() const { return nginx_->Url() + "/log"; }
  std::string State(const std::string& name) const { return *dir_ + "/state-" + name; }
  std::string Stored(const std::string& state) const {
    return Slurp(state + "/" + client::TrustStore::LogDirName(*verifier::ParseVerifierKey(*vkey_)) +
                 "/checkpoint");
  }
  void Store(const std::string& state, const std::string& note) {
    const std::string d =
        state + "/" + client::TrustStore::LogDirName(*verifier::ParseVerifierKey(*vkey_));
    fs::create_directories(d);
    Spit(d + "/checkpoint", note);
  }
  // prov over the tiles mirror with a policy and a trust store.
  Outcome Tiles(const std::string& policy, const std::string& state,
                std::vector<std::string> args) {
    std::vector<std::string> argv = {"--tiles-url", Url(), "--state-dir", state};
    if (!policy.empty()) argv.insert(argv.end(), {"--witness-policy", policy});
    argv.insert(argv.end(), args.begin(), args.end());
    return Prov(argv);
  }

  static std::string* dir_;
  static std::string *vkey_, *note_, *old_note_;
  static std::vector<std::string>* lines_;
  static std::vector<RealWitness*> witnesses_;
  static tools::ProvdProcess* provd_;
  static testnginx::Nginx* nginx_;
};
std::string* WitnessPolicyTest::dir_ = nullptr;
std::string* WitnessPolicyTest::vkey_ = nullptr;
std::string* WitnessPolicyTest::note_ = nullptr;
std::string* WitnessPolicyTest::old_note_ = nullptr;
std::vector<std::string>* WitnessPolicyTest::lines_ = nullptr;
std::vector<RealWitness*> WitnessPolicyTest::witnesses_;
tools::ProvdProcess* WitnessPolicyTest::provd_ = nullptr;
testnginx::Nginx* WitnessPolicyTest::nginx_ = nullptr;

#define EXPECT_HAS(text, needle) \
  EXPECT_NE((text).find(needle), std::string::npos) << "no \"" << (needle) << "\" in " << (text)

TEST_F(WitnessPolicyTest, QuorumMetOverTilesIsTrustedAndStoredAsReceived) {
  const std::string cosigned = Cosigned({0, 2});
  Serve(cosigned);
  const std::string state = State("met");
  Store(state, *old_note_);  // size 20: the new head must extend it
  for (const std::vector<std::string>& cmd : {std::vector<std::string>{"log", "checkpoint"},
                                              {"log", "entries", "--start", "30", "--end", "35"},
                                              {"log", "proof", "--index", "7"},
                                              {"audit"}}) {
    Outcome r = Tiles(TwoOfThree(), state, cmd);
    EXPECT_EQ(r.rc, 0) << Describe(r);
  }
  EXPECT_EQ(Stored(state), cosigned);  // with the cosignatures, byte for byte
  // The env variable works as the option does.
  Outcome env = Exec({PROV_PATH, "--vkey", *dir_ + "/log.vkey", "--tiles-url", Url(), "--state-dir",
                      state, "log", "checkpoint"},
                     *dir_, {{"PROV_WITNESS_POLICY", AllThree()}});
  EXPECT_EQ(env.rc, 2) << Describe(env);
  EXPECT_HAS(env.err, "QUORUM_NOT_MET");
}

TEST_F(WitnessPolicyTest, OneShortIsUnverifiedNamingTheMissingWitnessAndStoresNothing) {
  Serve(Cosigned({0}));
  const std::string state = State("short");
  Store(state, *old_note_);
  for (const std::vector<std::string>& cmd : {std::vector<std::string>{"log", "checkpoint"},
                                              {"log", "entries", "--start", "0", "--end", "3"},
                                              {"log", "proof", "--index", "3"},
                                              {"audit"},
                                              {"org", "list"}}) {
    Outcome r = Tiles(TwoOfThree(), state, cmd);
    EXPECT_EQ(r.rc, 2) << Describe(r);
    EXPECT_HAS(r.err, "QUORUM_NOT_MET");
    EXPECT_HAS(r.err, "b (NO_COSIGNATURE)");
    EXPECT_HAS(r.err, "c (NO_COSIGNATURE)");
    EXPECT_EQ(r.err.find("a ("), std::string::npos) << r.err;
    EXPECT_EQ(Stored(state), *old_note_);
  }
  // Without a policy the same mirror is trusted.
  Outcome plain = Tiles("", state, {"log", "checkpoint"});
  EXPECT_EQ(plain.rc, 0) << Describe(plain);
  // No cosignature at all: none of the three.
  Serve(*note_);
  Outcome none = Tiles(AnyOne(), State("none"), {"--json", "log", "checkpoint"});
  EXPECT_EQ(none.rc, 2) << Describe(none);
  EXPECT_HAS(none.out, "\"reason\":\"QUORUM_NOT_MET\"");
  EXPECT_FALSE(fs::exists(State("none") + "/" +
                          client::TrustStore::LogDirName(*verifier::ParseVerifierKey(*vkey_)) +
                          "/checkpoint"));
}

TEST_F(WitnessPolicyTest, BadAndForeignCosignaturesDoNotCount) {
  auto text = verifier::ParseNote(*note_);
  ASSERT_TRUE(text.ok());
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  auto foreign =
      verifier::CosignCheckpoint(text->text, "d.example", verifier::SigningKey::Generate(), now);
  auto impostor =
      verifier::CosignCheckpoint(text->text, "b.example", verifier::SigningKey::Generate(), now);
  ASSERT_TRUE(foreign.ok() && impostor.ok());
  struct Case {
    std::string name, checkpoint, problem;
  } cases[] = {
      {"flipped", Cosigned({0}, FlipSignatureByte((*lines_)[1])), "b (BAD_COSIGNATURE)"},
      {"foreign", Cosigned({0}, *foreign), "b (NO_COSIGNATURE)"},
      {"impostor", Cosigned({0}, *impostor), "b (NO_COSIGNATURE)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Serve(c.checkpoint);
    const std::string state = State("bad-" + c.name);
    Store(state, *old_note_);
    Outcome r = Tiles(TwoOfThree(), state, {"log", "checkpoint"});
    EXPECT_EQ(r.rc, 2) << Describe(r);
    EXPECT_HAS(r.err, "QUORUM_NOT_MET");
    EXPECT_HAS(r.err, c.problem);
    EXPECT_EQ(Stored(state), *old_note_);
  }
  // The flipped note still carries a's good cosignature: it meets `any`.
  Serve(cases[0].checkpoint);
  Outcome any = Tiles(AnyOne(), State("bad-any"), {"log", "checkpoint"});
  EXPECT_EQ(any.rc, 0) << Describe(any);
}

TEST_F(WitnessPolicyTest, GrpcHeadsWithoutCosignaturesFailClosed) {
  const std::string state = State("grpc");
  Store(state, *old_note_);
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"log", "checkpoint"},
        {"check", "--manufacturer", "acme-cam", "--serial", DeviceSerial()},
        {"bundle", "export", "--manufacturer", "acme-cam", "--serial", DeviceSerial(), "--out",
         *dir_ + "/grpc.bundle"}}) {
    Outcome r = Prov([&] {
      std::vector<std::string> a = {"--server", provd_->target(),   "--state-dir",
                                    state,      "--witness-policy", AnyOne()};
      a.insert(a.end(), cmd.begin(), cmd.end());
      return a;
    }());
    EXPECT_EQ(r.rc, 2) << Describe(r);
    EXPECT_HAS(r.err, "QUORUM_NOT_MET");
    EXPECT_EQ(Stored(state), *old_note_);
  }
  EXPECT_FALSE(fs::exists(*dir_ + "/grpc.bundle"));
}

TEST_F(WitnessPolicyTest, PolicyForAnotherLogIsAUsageError) {
  Serve(Cosigned({0, 1, 2}));
  const std::string other = verifier::FormatVerifierKey(
      ledger_test::kOrigin, verifier::SigningKey::Generate().public_key());
  Spit(*dir_ + "/other.policy",
       "log " + other + "\nwitness a " + witnesses_[0]->vkey() + "\nquorum a\n");
  const std::string state = State("other");
  Outcome r = Tiles(*dir_ + "/other.policy", state, {"log", "checkpoint"});
  EXPECT_EQ(r.rc, 64) << Describe(r);
  EXPECT_HAS(r.err, "WITNESS_POLICY_OTHER_LOG");
  EXPECT_HAS(r.err, *dir_ + "/other.policy");
  EXPECT_FALSE(fs::exists(state));  // refused before the trust store was opened
  // No log lines: the pinned key is the log.
  Outcome nolog =
      Tiles(PolicyFile("nolog.policy", "quorum a\n", false), State("nolog"), {"log", "checkpoint"});
  EXPECT_EQ(nolog.rc, 0) << Describe(nolog);
}

TEST_F(WitnessPolicyTest, MalformedPolicyFilesAreUsageErrorsWithTheLine) {
  Serve(Cosigned({0, 1, 2}));
  const std::string a = "witness a " + witnesses_[0]->vkey() + "\n";
  const std::string b = "witness b " + witnesses_[1]->vkey() + "\n";
  std::string many;
  for (int i = 0; i < 257; ++i) {
    many += "witness w" + std::to_string(i) + " " +
            verifier::FormatWitnessKey("w" + std::to_string(i) + ".example",
                                       verifier::SigningKey::Generate().public_key()) +
            "\n";
  }
  struct Case {
    std::string reason, text, line;
  } cases[] = {
      {"POLICY_TOO_LARGE", std::string(70000, '#'), ""},
      {"POLICY_BAD_CHARACTER", a + "quorum a\x01\n", "line 2"},
      {"POLICY_UNKNOWN_KEYWORD", a + "witnes b x\nquorum a\n", "line 2"},
      {"POLICY_SYNTAX", a + "quorum\n", "line 2"},
      {"POLICY_BAD_KEY", "witness a " + *vkey_ + "\nquorum a\n", "line 1"},
      {"POLICY_DUPLICATE_KEY", a + "witness b " + witnesses_[0]->vkey() + "\nquorum a\n", "line 2"},
      {"POLICY_DUPLICATE_NAME", a + "witness a " + witnesses_[1]->vkey() + "\nquorum a\n",
       "line 2"},
      {"POLICY_RESERVED_NAME", "witness none " + witnesses_[0]->vkey() + "\nquorum none\n",
       "line 1"},
      {"POLICY_UNDEFINED_NAME", a + "quorum z\n", "line 2"},
      {"POLICY_CYCLE", a + "group g 1 g a\nquorum g\n", "line 2"},
      {"POLICY_DUPLICATE_MEMBER", a + b + "group g 1 a a\nquorum g\n", "line 3"},
      {"POLICY_BAD_THRESHOLD", a + b + "group g 3 a b\nquorum g\n", "line 3"},
      {"POLICY_TOO_MANY", many + "quorum w0\n", "line 257"},
      {"POLICY_DUPLICATE_QUORUM", a + "quorum a\nquorum a\n", "line 3"},
      {"POLICY_NO_QUORUM", a + b, "line"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.reason);
    const std::string path = *dir_ + "/bad-" + c.reason + ".policy";
    Spit(path, c.text);
    const std::string state = State("malformed");
    Outcome r = Tiles(path, state, {"log", "checkpoint"});
    EXPECT_EQ(r.rc, 64) << Describe(r);
    EXPECT_HAS(r.err, c.reason);
    EXPECT_HAS(r.err, path + ": " + c.line);
    EXPECT_FALSE(fs::exists(state));  // nothing was read, nothing stored
  }
  Outcome missing = Tiles(*dir_ + "/no-such.policy", State("malformed"), {"log", "checkpoint"});
  EXPECT_EQ(missing.rc, 64) << Describe(missing);
  EXPECT_HAS(missing.err, "no-such.policy");
}

TEST_F(WitnessPolicyTest, TrustStoreKeepsTheBetterCosignedNoteOfTheSameTree) {
  const std::string state = State("better");
  Serve(Cosigned({0}));
  ASSERT_EQ(Tiles(AnyOne(), state, {"log", "checkpoint"}).rc, 0);
  EXPECT_EQ(Stored(state), Cosigned({0}));
  Serve(Cosigned({0, 1, 2}));
  ASSERT_EQ(Tiles(AnyOne(), state, {"log", "checkpoint"}).rc, 0);
  EXPECT_EQ(Stored(state), Cosigned({0, 1, 2}));
  Serve(Cosigned({1}));  // fewer: the stored note stays
  ASSERT_EQ(Tiles(AnyOne(), state, {"log", "checkpoint"}).rc, 0);
  EXPECT_EQ(Stored(state), Cosigned({0, 1, 2}));
  // A bad cosignature is not a better one.
  Serve(Cosigned({0, 1}, FlipSignatureByte((*lines_)[2])));
  ASSERT_EQ(Tiles(AnyOne(), state, {"log", "checkpoint"}).rc, 0);
  EXPECT_EQ(Stored(state), Cosigned({0, 1, 2}));
  // Without a policy cosignatures cannot be told: the first note stays.
  const std::string plain = State("better-plain");
  Serve(Cosigned({0}));
  ASSERT_EQ(Tiles("", plain, {"log", "checkpoint"}).rc, 0);
  Serve(Cosigned({0, 1, 2}));
  ASSERT_EQ(Tiles("", plain, {"log", "checkpoint"}).rc, 0);
  EXPECT_EQ(Stored(plain), Cosigned({0}));
}

TEST_F(WitnessPolicyTest, TlogProofRoundTripOfflineAndTampering) {
  Serve(Cosigned({0, 1}));
  const std::string proof = *dir_ + "/device.tlog-proof";
  Outcome made = Tiles(TwoOfThree(), State("proof"),
                       {"log", "proof", "--index", std::to_string(kDevice), "--format", "tlog-proof", "--out", proof});
  ASSERT_EQ(made.rc, 0) << Describe(made);
  const std::string text = Slurp(proof);
  auto parsed = verifier::ParseTlogProof(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->checkpoint_note, Cosigned({0, 1}));
  EXPECT_EQ(parsed->index, kDevice);
  // Offline: a server address nobody listens on, no tiles.
  auto verify = [&](const std::string& file, const std::string& policy) {
    std::vector<std::string> a = {"--server", "127.0.0.1:1", "log", "verify-proof", file};
    if (!policy.empty()) a.insert(a.begin(), {"--witness-policy", policy});
    return Prov(a);
  };
  Outcome ok = verify(proof, TwoOfThree());
  EXPECT_EQ(ok.rc, 0) << Describe(ok);
  EXPECT_HAS(ok.out, "#" + std::to_string(kDevice) + " device ");
  EXPECT_HAS(ok.out, DeviceSerial());
  EXPECT_HAS(ok.err, "quorum met");
  EXPECT_EQ(verify(proof, "").rc, 0);
  // Missing quorum: all three are required, c never cosigned.
  Outcome short_ = verify(proof, AllThree());
  EXPECT_EQ(short_.rc, 2) << Describe(short_);
  EXPECT_HAS(short_.err, "QUORUM_NOT_MET");
  EXPECT_HAS(short_.err, "c (NO_COSIGNATURE)");
  // Tampered: another record, a proof hash, the checkpoint.
  auto write = [&](const std::string& name, verifier::TlogProof p) {
    Spit(*dir_ + "/" + name, verifier::FormatTlogProof(p));
    return *dir_ + "/" + name;
  };
  verifier::TlogProof record = *parsed;
  (*record.extra)[record.extra->size() / 2] ^= 0x01;
  verifier::TlogProof hash = *parsed;
  ASSERT_FALSE(hash.proof.empty());
  hash.proof[0][3] ^= 0x01;
  verifier::TlogProof index = *parsed;
  index.index = kDevice + 1;
  verifier::TlogProof checkpoint = *parsed;
  const size_t root_line =
      checkpoint.checkpoint_note.find('\n', checkpoint.checkpoint_note.find('\n') + 1) + 1;
  checkpoint.checkpoint_note[root_line + 2] =
      checkpoint.checkpoint_note[root_line + 2] == 'A' ? 'B' : 'A';
  for (const auto& [name, p] : {std::pair{"record", record},
                                {"hash", hash},
                                {"index", index},
                                {"checkpoint", checkpoint}}) {
    SCOPED_TRACE(name);
    Outcome r = verify(write(std::string("tampered-") + name, p), TwoOfThree());
    EXPECT_EQ(r.rc, 3) << Describe(r);
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // Not a tlog-proof at all: a usage error naming the file.
  Spit(*dir_ + "/junk.tlog-proof", "hello\n");
  Outcome junk = verify(*dir_ + "/junk.tlog-proof", "");
  EXPECT_EQ(junk.rc, 64) << Describe(junk);
  EXPECT_HAS(junk.err, "MALFORMED_TLOG_PROOF");
  // Exporting under a policy the head does not meet writes nothing.
  Serve(Cosigned({2}));
  const std::string none = *dir_ + "/none.tlog-proof";
  Outcome refused =
      Tiles(TwoOfThree(), State("proof2"),
            {"log", "proof", "--index", std::to_string(kDevice), "--format", "tlog-proof", "--out", none});
  EXPECT_EQ(refused.rc, 2) << Describe(refused);
  EXPECT_FALSE(fs::exists(none));
}

TEST_F(WitnessPolicyTest, BundlesNeedTheQuorumOfflineUnderAPolicy) {
  const std::string plain = *dir_ + "/plain.bundle";
  Outcome made =
      Prov({"--server", provd_->target(), "--state-dir", State("bundle"), "bundle", "export",
            "--manufacturer", "acme-cam", "--serial", DeviceSerial(), "--out", plain});
  ASSERT_EQ(made.rc, 0) << Describe(made);
  provenance::v1::Evidence ev;
  ASSERT_TRUE(ev.ParseFromString(Slurp(plain)));
  ASSERT_EQ(ev.checkpoint().note(), *note_);  // provd has not moved
  auto with_note = [&](const std::string& name, const std::string& note) {
    provenance::v1::Evidence copy = ev;
    copy.mutable_checkpoint()->set_note(note);
    Spit(*dir_ + "/" + name, copy.SerializeAsString());
    return *dir_ + "/" + name;
  };
  const std::string cosigned = with_note("cosigned.bundle", Cosigned({1, 2}));
  const std::string flipped =
      with_note("flipped.bundle", Cosigned({1}, FlipSignatureByte((*lines_)[2])));
  auto offline = [&](std::vector<std::string> args) {
    std::vector<std::string> a = {"--server", "127.0.0.1:1", "--witness-policy", TwoOfThree()};
    a.insert(a.end(), args.begin(), args.end());
    return Prov(a);
  };
  Outcome ok = offline({"bundle", "show", cosigned});
  EXPECT_EQ(ok.rc, 0) << Describe(ok);
  // The verdict on the cosigned bundle under the policy is the one on the
  // plain bundle without a policy.
  Outcome check =
      offline({"check", "--manufacturer", "acme-cam", "--serial", DeviceSerial(), "--bundle", cosigned});
  Outcome unpoliced = Prov({"--server", "127.0.0.1:1", "check", "--manufacturer", "acme-cam",
                            "--serial", DeviceSerial(), "--bundle", plain});
  EXPECT_EQ(check.rc, unpoliced.rc) << Describe(check) << Describe(unpoliced);
  EXPECT_EQ(check.out, unpoliced.out);
  EXPECT_HAS(check.out, DeviceSerial());
  for (const auto& [file, problem] : {std::pair{plain, std::string("b (NO_COSIGNATURE)")},
                                      {flipped, std::string("c (BAD_COSIGNATURE)")}}) {
    SCOPED_TRACE(file);
    for (const std::vector<std::string>& cmd :
         {std::vector<std::string>{"bundle", "show", file},
          {"check", "--manufacturer", "acme-cam", "--serial", DeviceSerial(), "--bundle", file}}) {
      Outcome r = offline(cmd);
      EXPECT_EQ(r.rc, 2) << Describe(r);
      EXPECT_HAS(r.err, "QUORUM_NOT_MET");
      EXPECT_HAS(r.err, problem);
      EXPECT_HAS(r.err, file);
    }
  }
  // Without a policy the plain bundle is fine, as before.
  Outcome old = Prov({"--server", "127.0.0.1:1", "bundle", "show", plain});
  EXPECT_EQ(old.rc, 0) << Describe(old);
}

// Last: it grows provd's log (ctest runs each test in a fresh suite anyway).
TEST_F(WitnessPolicyTest, SubmitAckProvesInclusionButIsNotAdoptedUnderAPolicy) {
  auto log = verifier::ParseVerifierKey(*vkey_);
  ASSERT_TRUE(log.ok());
  auto policy = client::ParseWitnessPolicy("two.policy", Slurp(TwoOfThree()), *log);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  auto c = client::LedgerClient::Connect(provd_->target(), *vkey_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  (*c)->SetWitnessPolicy(std::make_shared<const verifier::TlogPolicy>(*policy));
  const std::string head = Cosigned({0, 1});
  auto pinned = (*c)->VerifyNote(head);
  ASSERT_TRUE(pinned.ok()) << pinned.status().ToString();
  (*c)->SetLatest(*pinned);
  // provd's own head is not cosigned: not adopted.
  auto served = (*c)->GetCheckpoint();
  EXPECT_EQ(served.status().reason(), "QUORUM_NOT_MET") << served.status().ToString();
  EXPECT_EQ((*c)->latest()->note, head);

  ledger_test::World w;
  provenance::v1::SignedRecord record;
  ASSERT_TRUE(record.ParseFromString(w.Device(5000)));
  auto ack = (*c)->Submit(record);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->index, kSize);
  EXPECT_EQ(ack->checkpoint.checkpoint.size, testlog::SizeAfterCommit(kSize));
  EXPECT_FALSE(ack->checkpoint_adopted);
  EXPECT_EQ((*c)->latest()->note, head);  // the trusted head is still the cosigned one
  // Without a policy the same kind of ack becomes the head.
  auto plain = client::LedgerClient::Connect(provd_->target(), *vkey_);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(record.ParseFromString(w.Device(5001)));
  auto ack2 = (*plain)->Submit(record);
  ASSERT_TRUE(ack2.ok()) << ack2.status().ToString();
  EXPECT_TRUE(ack2->checkpoint_adopted);
  EXPECT_EQ((*plain)->latest()->checkpoint.size,
            testlog::SizeAfterCommit(testlog::SizeAfterCommit(kSize)));
}

}  // namespace
