// witness::Cosigner, provd's side of witnessing, against real provwitness
// processes on loopback ports, a port nobody listens on and a listener that
// never answers.
#include "witness/cosigner.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/client/exec.h"
#include "tests/witness/real_witness.h"
#include "verifier/cosignature.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/tlog_policy.h"
#include "witness/client.h"

namespace witness {
namespace {

namespace fs = std::filesystem;
using verifier::Hash;
using namespace std::chrono_literals;

const bool kCryptoReady = (verifier::InitCrypto(), true);
constexpr std::string_view kOrigin = "prov.example/cosigned-log";

struct Log {
  verifier::SigningKey key = verifier::SigningKey::Generate();
  std::vector<Hash> leaves;
  Log() {
    for (int i = 0; i < 64; ++i) {
      leaves.push_back(verifier::LeafHash(verifier::AsBytes("e" + std::to_string(i))));
    }
  }
  std::string vkey() const { return verifier::FormatVerifierKey(kOrigin, key.public_key()); }
  std::string Note(uint64_t size) const {
    verifier::Checkpoint c{std::string(kOrigin), size,
                           verifier::RootOf(std::span<const Hash>(leaves).first(size)),
                           {verifier::TimestampExtension(1)}};
    return verifier::SignNote(verifier::FormatCheckpoint(c), kOrigin, key);
  }
  Cosigner::ConsistencyFn Consistency() const {
    return [this](uint64_t a, uint64_t b) {
      return verifier::MakeConsistencyProof(a, b, verifier::InMemorySubtrees(leaves));
    };
  }
};

// Accepts connections and never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

int ClosedPort() {
  SilentListener l;  // bound, then closed: nobody listens there any more
  return l.port();
}

class CosignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "cosigner-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  verifier::TlogPolicy PolicyOf(const std::vector<verifier::PolicyWitness>& ws, size_t k) {
    std::string text = "log " + log_.vkey() + "\n";
    std::string members;
    for (const auto& w : ws) {
      text += "witness " + w.name + " " + w.vkey + "\n";
      members += " " + w.name;
    }
    text += "group g " + std::to_string(k) + members + "\nquorum g\n";
    return *verifier::ParseTlogPolicy(text);
  }
  static const verifier::Status* StatusOf(const std::vector<Cosigner::Outcome>& out,
                                          const std::string& name) {
    for (const auto& o : out) {
      if (o.witness == name) return &o.status;
    }
    return nullptr;
  }

  fs::path dir_;
  Log log_;
};

TEST_F(CosignerTest, ThreeWitnessesCosignAndAQuorumOfThreeIsMet) {
  RealWitness a(dir_, "a.example", log_.vkey()), b(dir_, "b.example", log_.vkey()),
      c(dir_, "c.example", log_.vkey());
  std::vector<verifier::PolicyWitness> ws{a.Policy("a"), b.Policy("b"), c.Policy("c")};
  Cosigner cosigner(ws, log_.Consistency(), 5000ms);
  for (uint64_t size : {10, 20, 20, 33}) {
    std::vector<Cosigner::Outcome> out;
    std::string note = cosigner.Cosign(log_.Note(size), size, &out);
    ASSERT_EQ(out.size(), 3u);
    for (const auto& o : out) EXPECT_TRUE(o.status.ok()) << o.witness << ": " << o.status.ToString();
    auto verdict = verifier::EvaluatePolicy(PolicyOf(ws, 3), note, {.now = 2'000'000'000});
    ASSERT_TRUE(verdict.ok()) << verdict.status().ToString();
    EXPECT_TRUE(verdict->quorum_met) << size;
    EXPECT_EQ(verdict->cosigned.size(), 3u);
  }
}

TEST_F(CosignerTest, DeadAndSilentWitnessesCostAtMostTheTimeout) {
  RealWitness good(dir_, "good.example", log_.vkey());
  SilentListener silent;
  std::vector<verifier::PolicyWitness> ws{
      good.Policy("good"),
      good.Policy("dead", "http://127.0.0.1:" + std::to_string(ClosedPort())),
      good.Policy("silent", "http://127.0.0.1:" + std::to_string(silent.port()))};
  // The dead and silent ones carry keys of their own.
  for (size_t i : {1, 2}) {
    ws[i].vkey = verifier::FormatWitnessKey(ws[i].name + ".example",
                                            verifier::SigningKey::Generate().public_key());
    ws[i].key = *verifier::ParseWitnessKey(ws[i].vkey);
  }
  Cosigner cosigner(ws, log_.Consistency(), 600ms);
  std::vector<Cosigner::Outcome> out;
  auto t0 = std::chrono::steady_clock::now();
  std::string note = cosigner.Cosign(log_.Note(12), 12, &out);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1500ms);
  EXPECT_TRUE(StatusOf(out, "good")->ok());
  EXPECT_EQ(StatusOf(out, "dead")->reason(), "WITNESS_UNREACHABLE");
  EXPECT_EQ(StatusOf(out, "silent")->reason(), "WITNESS_TIMEOUT");
  auto verdict = verifier::EvaluatePolicy(PolicyOf(ws, 2), note, {.now = 2'000'000'000});
  ASSERT_TRUE(verdict.ok());
  EXPECT_FALSE(verdict->quorum_met);
  EXPECT_EQ(verdict->cosigned.size(), 1u);
  // The silent one is still busy: the next checkpoint does not wait for it.
  out.clear();
  t0 = std::chrono::steady_clock::now();
  cosigner.Cosign(log_.Note(13), 13, &out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  EXPECT_TRUE(StatusOf(out, "good")->ok()) << StatusOf(out, "good")->ToString();
  const auto* s = StatusOf(out, "silent");
  EXPECT_TRUE(s->reason() == "WITNESS_BUSY" || s->reason() == "WITNESS_TIMEOUT") << s->ToString();
}

TEST_F(CosignerTest, AWitnessThatHoldsALaterSizeIsCaughtUpFromIt) {
  RealWitness w(dir_, "w.example", log_.vkey());
  // Someone (an earlier provd) already brought the witness to size 30.
  auto first = AddCheckpoint("http://127.0.0.1:" + std::to_string(w.port()), 0, {}, log_.Note(30));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Cosigner fresh({w.Policy("w")}, log_.Consistency(), 5000ms);  // thinks it holds nothing
  std::vector<Cosigner::Outcome> out;
  std::string note = fresh.Cosign(log_.Note(40), 40, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].status.ok()) << out[0].status.ToString();
  EXPECT_TRUE(verifier::VerifyCosignature(note, *verifier::ParseWitnessKey(w.vkey())).ok());
}

TEST_F(CosignerTest, ALineByAnotherKeyThanThePolicysIsNotAdded) {
  RealWitness w(dir_, "w.example", log_.vkey());
  auto impostor = w.Policy("w");
  impostor.key = *verifier::ParseWitnessKey(
      verifier::FormatWitnessKey("w.example", verifier::SigningKey::Generate().public_key()));
  Cosigner cosigner({impostor}, log_.Consistency(), 5000ms);
  std::vector<Cosigner::Outcome> out;
  std::string note = cosigner.Cosign(log_.Note(5), 5, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].status.ok());
  EXPECT_EQ(note, log_.Note(5).substr(0, note.size()));
  EXPECT_FALSE(verifier::VerifyCosignature(note, *verifier::ParseWitnessKey(w.vkey())).ok());
}

TEST_F(CosignerTest, WitnessesWithoutAUrlAreSkipped) {
  verifier::PolicyWitness offline{"offline", *verifier::ParseWitnessKey(verifier::FormatWitnessKey(
                                                 "o.example", verifier::SigningKey::Generate().public_key())),
                                  "", ""};
  Cosigner cosigner({offline}, log_.Consistency(), 100ms);
  EXPECT_EQ(cosigner.witnesses(), 0u);
  EXPECT_EQ(cosigner.Cosign(log_.Note(3), 3), log_.Note(3));
}

}  // namespace
}  // namespace witness
