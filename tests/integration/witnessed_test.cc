// A witnessed log over real processes: provd serve --tiles-dir
// --witness-policy sends each published head to real provwitness processes
// and serves it (gRPC and the tiles' checkpoint) with their cosignatures; a
// dead witness costs at most the stated bound; and a split view — one log
// key showing two histories — gets a quorum for one history only.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <thread>

#include "client/ledger_client.h"
#include "tests/client/exec.h"
#include "tests/witness/real_witness.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "verifier/note.h"
#include "verifier/tlog_policy.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using Clock = std::chrono::steady_clock;
using witness::RealWitness;

constexpr char kOrigin[] = "witnessed.example/log";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class WitnessedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    char tmpl[] = "/tmp/witnessed-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto vkey =
        tools::InitLedger(PROVD_PATH, dir_ + "/a", kOrigin, {{"auth", authority_.public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    for (const char* name : {"w1", "w2", "w3"}) {
      witnesses_.push_back(std::make_unique<RealWitness>(dir_, name, vkey_));
      ASSERT_GT(witnesses_.back()->port(), 0) << name;
    }
  }
  void TearDown() override {
    witnesses_.clear();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A policy file naming the witnesses `urls` (by index) with URLs and the
  // others without; the quorum is 2 of all three.
  std::string PolicyFile(const std::string& name, const std::vector<int>& urls) {
    std::string text = "log " + vkey_ + "\n";
    for (int i = 0; i < 3; ++i) {
      const auto& w = *witnesses_[i];
      bool with_url = std::find(urls.begin(), urls.end(), i) != urls.end();
      text += with_url ? w.PolicyLine("w" + std::to_string(i + 1))
                       : "witness w" + std::to_string(i + 1) + " " + w.vkey() + "\n";
    }
    text += "group two 2 w1 w2 w3\nquorum two\n";
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::unique_ptr<tools::ProvdProcess> StartProvd(const std::string& data,
                                                  const std::string& policy) {
    auto p = tools::ProvdProcess::Start(
        PROVD_PATH, data,
        {"--tiles-dir", data + "/tiles", "--http-listen", "127.0.0.1:0", "--witness-policy", policy,
         "--witness-timeout-ms", "1500", "--checkpoint-refresh", "1", "--metrics-listen",
         "127.0.0.1:0"});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // Logs `n` more devices of the maker whose key is seeded by `maker`
  // through `provd` (registering the maker first if this provd has not);
  // returns the size of the last ack's checkpoint. Two provds given makers
  // of different keys log different histories.
  uint64_t Grow(tools::ProvdProcess& provd, const std::string& maker, uint64_t n) {
    auto c = client::LedgerClient::Connect(provd.target(), vkey_);
    EXPECT_TRUE(c.ok());
    auto mfr = std::vector<verifier::SigningKey>{tools::SeededKey(maker)};
    uint64_t& done = logged_[maker];  // each maker logs through one data directory
    if (done == 0) EXPECT_TRUE(tools::Setup(**c, authority_, mfr, tools::UnixNow()).ok());
    auto leaves = tools::PreSign(done + n, mfr, tools::UnixNow());
    uint64_t size = 0;
    for (const std::string& leaf : std::span(leaves).subspan(done)) {
      pb::SignedRecord r;
      EXPECT_TRUE(r.ParseFromString(leaf));
      auto a = (*c)->Submit(r);
      EXPECT_TRUE(a.ok()) << a.status().ToString();
      if (a.ok()) size = a->checkpoint.checkpoint.size;
    }
    done += n;
    return size;
  }

  // The cosigned head provd serves over gRPC once it is at least `size`.
  std::string ServedHead(tools::ProvdProcess& provd, uint64_t size) {
    auto stub = pb::Ledger::NewStub(
        grpc::CreateChannel(provd.target(), grpc::InsecureChannelCredentials()));
    for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline;) {
      grpc::ClientContext ctx;
      pb::SignedCheckpoint c;
      pb::GetCheckpointRequest req;
      req.set_witnessed(true);
      if (stub->GetCheckpoint(&ctx, req, &c).ok() && c.size() >= size) {
        return c.note();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "provd never served a head of size " << size;
    return "";
  }

  // The head provd serves once it is at least `size` and cosigned by at
  // least `n` witnesses (heads are published a round after they are signed).
  std::string CosignedHead(tools::ProvdProcess& provd, uint64_t size, size_t n) {
    std::string note = ServedHead(provd, size);
    for (auto deadline = Clock::now() + std::chrono::seconds(20);
         Judge(note).cosigned.size() < n && Clock::now() < deadline;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      note = ServedHead(provd, size);
    }
    return note;
  }

  verifier::PolicyVerdict Judge(const std::string& note) {
    std::ifstream in(PolicyFile("client.policy", {}));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto policy = verifier::ParseTlogPolicy(text);
    EXPECT_TRUE(policy.ok()) << policy.status().ToString();
    auto v = verifier::EvaluatePolicy(*policy, note, {.now = Now()});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : verifier::PolicyVerdict{};
  }
  static std::vector<std::string> Names(const std::vector<verifier::WitnessCosignature>& ws) {
    std::vector<std::string> out;
    for (const auto& w : ws) out.push_back(w.witness);
    return out;
  }

  std::string dir_, vkey_;
  verifier::SigningKey authority_ = tools::SeededKey("witnessed-authority");
  std::vector<std::unique_ptr<RealWitness>> witnesses_;
  std::map<std::string, uint64_t> logged_;  // maker -> devices logged
};

TEST_F(WitnessedLogTest, HeadsAreServedWithTheirCosignaturesAndADeadWitnessCostsTheBound) {
  auto provd = StartProvd(dir_ + "/a", PolicyFile("provd.policy", {0, 1, 2}));
  ASSERT_TRUE(provd);
  uint64_t size = Grow(*provd, "maker-a", 12);
  std::string note = CosignedHead(*provd, size, 3);
  auto v = Judge(note);
  EXPECT_TRUE(v.quorum_met);
  EXPECT_EQ(Names(v.cosigned), (std::vector<std::string>{"w1", "w2", "w3"}));
  httplib::Client http(provd->tiles_url());
  auto file = http.Get("/checkpoint");
  ASSERT_TRUE(file && file->status == 200);
  EXPECT_EQ(Judge(file->body).cosigned.size(), 3u) << file->body;

  // w3 dies: heads keep coming within the bound, cosigned by the other two.
  witnesses_[2]->Stop();
  auto t0 = Clock::now();
  size = Grow(*provd, "maker-a", 3);
  note = CosignedHead(*provd, size, 2);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  v = Judge(note);
  EXPECT_TRUE(v.quorum_met);
  EXPECT_EQ(Names(v.cosigned), (std::vector<std::string>{"w1", "w2"}));
  EXPECT_EQ(Names(v.missing), (std::vector<std::string>{"w3"}));

  // /metrics counts each witness's answers: w1 cosigned, w3 failed at least once.
  const std::string url = provd->metrics_url();
  ASSERT_FALSE(url.empty());
  httplib::Client mhttp(url.substr(0, url.rfind('/')));
  auto scraped = mhttp.Get("/metrics");
  ASSERT_TRUE(scraped && scraped->status == 200);
  auto counted = [&](const std::string& labels) {
    const std::string key = "provd_witness_answers_total{" + labels + "} ";
    size_t p = scraped->body.find(key);
    return p == std::string::npos ? 0.0
                                  : std::strtod(scraped->body.c_str() + p + key.size(), nullptr);
  };
  EXPECT_GE(counted("outcome=\"cosigned\",witness=\"w1\""), 2) << scraped->body;
  EXPECT_EQ(scraped->body.find("outcome=\"cosigned\",witness=\"w3\"} 0"), std::string::npos);
  EXPECT_NE(scraped->body.find(",witness=\"w3\"}"), std::string::npos) << scraped->body;
  EXPECT_NE(scraped->body.find("provd_witness_answers_total{outcome=\"WITNESS_"), std::string::npos)
      << scraped->body;

  // An evidence bundle exported with no policy carries the cosigned head,
  // so a site applying the policy offline later accepts it.
  const std::string bundle = dir_ + "/site.bundle";
  auto exported = testexec::Exec(
      {PROV_PATH, "--server", provd->target(), "--plaintext", "--vkey", dir_ + "/a/log.vkey",
       "--state-dir", dir_ + "/trust-export", "bundle", "export", "--manufacturer", tools::MfrId(0),
       "--serial", "SN0000000001", "--out", bundle},
      dir_);
  ASSERT_EQ(exported.rc, 0) << testexec::Describe(exported);
  auto offline =
      testexec::Exec({PROV_PATH, "--server", "127.0.0.1:1", "--vkey", dir_ + "/a/log.vkey",
                      "--state-dir", dir_ + "/trust-site", "--witness-policy",
                      PolicyFile("client.policy", {}), "bundle", "show", bundle},
                     dir_);
  EXPECT_EQ(offline.rc, 0) << testexec::Describe(offline);
  EXPECT_EQ(provd->Stop(SIGTERM), 0);
}

TEST_F(WitnessedLogTest, ASplitViewGetsAQuorumForOneHistoryOnly) {
  // One log key, two histories: B is a copy of A's data made before either
  // logged anything.
  fs::copy(dir_ + "/a", dir_ + "/b", fs::copy_options::recursive);
  // B shows its history to w3 only; then A shows its own to all three.
  auto b = StartProvd(dir_ + "/b", PolicyFile("b.policy", {2}));
  ASSERT_TRUE(b);
  uint64_t b_size = Grow(*b, "maker-b", 4);
  ASSERT_EQ(Judge(CosignedHead(*b, b_size, 1)).cosigned.size(), 1u);
  auto a = StartProvd(dir_ + "/a", PolicyFile("a.policy", {0, 1, 2}));
  ASSERT_TRUE(a);
  uint64_t a_size = Grow(*a, "maker-a", 7);
  auto va = Judge(CosignedHead(*a, a_size, 2));
  EXPECT_TRUE(va.quorum_met);
  EXPECT_EQ(Names(va.cosigned), (std::vector<std::string>{"w1", "w2"}));  // w3 holds B

  // B now asks all three: w1 and w2 hold A's history and refuse it.
  ASSERT_EQ(b->Stop(SIGTERM), 0);
  b = StartProvd(dir_ + "/b", PolicyFile("b.policy", {0, 1, 2}));
  ASSERT_TRUE(b);
  b_size = Grow(*b, "maker-b", 2);
  CosignedHead(*b, b_size, 1);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // every answer is in
  auto vb = Judge(ServedHead(*b, b_size));
  EXPECT_FALSE(vb.quorum_met);
  EXPECT_EQ(Names(vb.cosigned), (std::vector<std::string>{"w3"}));
  auto refused = verifier::RequireQuorum(vb);
  EXPECT_EQ(refused.reason(), "QUORUM_NOT_MET");
  EXPECT_NE(refused.message().find("w1"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("w2"), std::string::npos) << refused.message();
  // A is still the one history with a quorum.
  EXPECT_TRUE(Judge(ServedHead(*a, a_size)).quorum_met);

  // Two clients with the same 2-of-3 policy, each shown one history: the
  // one shown A trusts it (and remembers the cosigned head), the one shown B
  // refuses it, naming the witnesses missing, and remembers nothing.
  const std::string policy = PolicyFile("client.policy", {});
  auto prov = [&](tools::ProvdProcess& provd, const std::string& state) {
    return testexec::Exec(
        {PROV_PATH, "--server", provd.target(), "--plaintext", "--vkey", dir_ + "/a/log.vkey",
         "--state-dir", dir_ + "/" + state, "--witness-policy", policy, "log", "checkpoint"},
        dir_);
  };
  auto shown_a = prov(*a, "trust-a");
  EXPECT_EQ(shown_a.rc, 0) << testexec::Describe(shown_a);
  std::string stored;
  for (const auto& e : fs::recursive_directory_iterator(dir_ + "/trust-a")) {
    if (e.path().filename() == "checkpoint") stored = testexec::Slurp(e.path().string());
  }
  EXPECT_TRUE(Judge(stored).quorum_met) << stored;
  auto shown_b = prov(*b, "trust-b");
  EXPECT_EQ(shown_b.rc, 2) << testexec::Describe(shown_b);
  EXPECT_NE(shown_b.err.find("QUORUM_NOT_MET"), std::string::npos) << shown_b.err;
  EXPECT_NE(shown_b.err.find("w1"), std::string::npos) << shown_b.err;
  EXPECT_NE(shown_b.err.find("w2"), std::string::npos) << shown_b.err;
  for (const auto& e : fs::recursive_directory_iterator(dir_ + "/trust-b")) {
    EXPECT_NE(e.path().filename(), "checkpoint") << "a refused head was stored";
  }
  // The client that trusts A, shown B, refuses it (the quorum is checked
  // first: exit 2) and keeps A's head.
  auto a_then_b = prov(*b, "trust-a");
  EXPECT_EQ(a_then_b.rc, 2) << testexec::Describe(a_then_b);
  for (const auto& e : fs::recursive_directory_iterator(dir_ + "/trust-a")) {
    if (e.path().filename() == "checkpoint") {
      EXPECT_EQ(testexec::Slurp(e.path().string()), stored);
    }
  }
  EXPECT_EQ(a->Stop(SIGTERM), 0);
  EXPECT_EQ(b->Stop(SIGTERM), 0);
}

// The log key rotated under its witnesses: the next key is prepared while
// provd serves and given to the witnesses, which then accept either key;
// after `provd rotate-log-key` the new key's heads are cosigned by all of
// them, consistent with the heads they cosigned under the old key.
TEST_F(WitnessedLogTest, ALogKeyRotationKeepsItsWitnesses) {
  const std::string data = dir_ + "/a";
  auto prepared = testexec::Exec({PROVD_PATH, "rotate-log-key", "--prepare", "--data-dir", data}, dir_);
  ASSERT_EQ(prepared.rc, 0) << testexec::Describe(prepared);
  const std::string next = prepared.out.substr(0, prepared.out.find('\n'));
  ASSERT_NE(next, vkey_);
  witnesses_.clear();  // witnesses that know the log by both keys
  for (const char* name : {"r1", "r2", "r3"}) {
    witnesses_.push_back(
        std::make_unique<RealWitness>(dir_, name, std::vector<std::string>{vkey_, next}));
    ASSERT_GT(witnesses_.back()->port(), 0) << name;
  }
  auto provd = StartProvd(data, PolicyFile("before.policy", {0, 1, 2}));
  ASSERT_TRUE(provd);
  uint64_t size = Grow(*provd, "maker-a", 5);
  EXPECT_EQ(Judge(CosignedHead(*provd, size, 3)).cosigned.size(), 3u);
  ASSERT_EQ(provd->Stop(SIGTERM), 0);

  auto rotated = testexec::Exec({PROVD_PATH, "rotate-log-key", "--data-dir", data}, dir_);
  ASSERT_EQ(rotated.rc, 0) << testexec::Describe(rotated);
  EXPECT_EQ(rotated.out.substr(0, rotated.out.find('\n')), next);  // the prepared key
  vkey_ = next;
  provd = StartProvd(data, PolicyFile("after.policy", {0, 1, 2}));
  ASSERT_TRUE(provd);
  size = Grow(*provd, "maker-a", 5);
  std::string note = CosignedHead(*provd, size, 3);
  auto v = Judge(note);
  EXPECT_TRUE(v.quorum_met) << note;
  EXPECT_EQ(v.cosigned.size(), 3u) << note;
  EXPECT_EQ(provd->Stop(SIGTERM), 0);
}

}  // namespace
