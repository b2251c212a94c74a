// Our signed notes, checkpoints and Merkle proofs against Go's reference
// implementations, in both directions: Go (note_interop.go, built once per
// process with the go toolchain) verifies what C++ produced and signs what
// C++ then verifies. No Go toolchain is a failure, not a skip.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "verifier/crypto.h"
#include "verifier/merkle.h"
#include "verifier/note.h"

namespace verifier {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const bool kCryptoReady = (InitCrypto(), true);

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct RunResult {
  int status = -1;     // exit status, or -1 if it did not exit normally
  std::string output;  // stdout and stderr
};

// Runs argv with the Go environment for GOPATH mode.
RunResult RunCommand(const std::vector<std::string>& argv) {
  std::string cmd = "env GO111MODULE=off GOFLAGS= GOENV=off GOTOOLCHAIN=local GOPATH=" +
                    Quote(PROV_GOPATH) + " GOCACHE=" + Quote(PROV_GOCACHE);
  for (const auto& a : argv) cmd += " " + Quote(a);
  cmd += " 2>&1";
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

fs::path MakeTempDir(const char* what) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(what) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// The Go helper, built once per process into a private directory (ctest may
// run the discovered tests as parallel processes).
class GoHelper {
 public:
  static GoHelper& Get() {
    static GoHelper h;
    return h;
  }
  bool ok() const { return !binary_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& binary() const { return binary_; }
  ~GoHelper() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

 private:
  GoHelper() {
    if (std::string(PROV_GO).empty()) {
      error_ = "the go toolchain was not found at configure time; install golang-go and "
               "golang-golang-x-mod-dev (scripts/install-deps.sh) and re-run cmake";
      return;
    }
    dir_ = MakeTempDir("prov-interop-go");
    if (dir_.empty()) {
      error_ = "cannot create a temporary directory";
      return;
    }
    std::string out = (dir_ / "note_interop").string();
    RunResult r = RunCommand({PROV_GO, "build", "-o", out, PROV_GO_SOURCE});
    if (r.status != 0) {
      error_ = "go build " PROV_GO_SOURCE " failed (is golang-golang-x-mod-dev installed "
               "under " PROV_GOPATH "?):\n" + r.output;
      return;
    }
    binary_ = out;
  }
  fs::path dir_;
  std::string binary_;
  std::string error_;
};

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GoHelper::Get().ok()) << GoHelper::Get().error();
    dir_ = MakeTempDir("prov-interop");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, std::string_view content) const {
    std::string p = Path(name);
    std::ofstream out(p, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return p;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static RunResult Go(std::vector<std::string> args) {
    args.insert(args.begin(), GoHelper::Get().binary());
    return RunCommand(args);
  }

  // Asks Go to open a checkpoint note with a verifier key.
  RunResult GoVerify(std::string_view vkey, std::string_view note,
                     std::string_view origin) const {
    return Go({"verify", Write("log.vkey", vkey), Write("note", note), std::string(origin)});
  }

  fs::path dir_;
};

constexpr std::string_view kOrigin = "prov.example/interop-log";

std::vector<Hash> Leaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(LeafHash(AsBytes("leaf-" + std::to_string(i))));
  }
  return out;
}

Checkpoint SampleCheckpoint(uint64_t size = 37) {
  auto leaves = Leaves(size);
  Checkpoint c;
  c.origin = std::string(kOrigin);
  c.size = size;
  c.root = RootOf(leaves);
  return c;
}

std::string GoOk(const Checkpoint& c) {
  return "OK " + c.origin + " " + std::to_string(c.size) + " " + Base64Encode(c.root) + "\n";
}

TEST(Interop, GoToolchainBuildsTheHelper) {
  EXPECT_TRUE(GoHelper::Get().ok()) << GoHelper::Get().error();
}

// (a) C++ signs, Go verifies.
TEST_F(InteropTest, GoVerifiesCppCheckpoint) {
  SigningKey key = SigningKey::Generate();
  std::string vkey = FormatVerifierKey(kOrigin, key.public_key());
  Checkpoint c = SampleCheckpoint();
  RunResult r = GoVerify(vkey, SignNote(FormatCheckpoint(c), kOrigin, key), kOrigin);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, GoOk(c));

  // With extension lines, an empty tree and the largest size Go parses.
  c.extensions = {"extension one", "another"};
  r = GoVerify(vkey, SignNote(FormatCheckpoint(c), kOrigin, key), kOrigin);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, GoOk(c));
  Checkpoint empty{std::string(kOrigin), 0, EmptyRoot(), {}};
  r = GoVerify(vkey, SignNote(FormatCheckpoint(empty), kOrigin, key), kOrigin);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, GoOk(empty));
}

TEST_F(InteropTest, GoRejectsTamperedCppNotes) {
  SigningKey key = SigningKey::Generate();
  std::string vkey = FormatVerifierKey(kOrigin, key.public_key());
  Checkpoint c = SampleCheckpoint();
  const std::string note = SignNote(FormatCheckpoint(c), kOrigin, key);
  RunResult good = GoVerify(vkey, note, kOrigin);
  ASSERT_EQ(good.status, 0) << good.output;  // so the rejections below mean something

  std::vector<std::pair<std::string, std::string>> bad;
  {
    std::string n = note;
    n.replace(n.find("\n37\n"), 4, "\n38\n");
    bad.emplace_back("size changed", n);
  }
  {
    std::string n = note;
    size_t at = n.find('\n', n.find('\n') + 1) + 1;  // first byte of the root
    n[at] = n[at] == 'A' ? 'B' : 'A';
    bad.emplace_back("root changed", n);
  }
  {
    std::string n = note;
    size_t at = n.rfind(' ') + 10;  // inside the signature, past the key hash
    n[at] = n[at] == 'A' ? 'B' : 'A';
    bad.emplace_back("signature changed", n);
  }
  bad.emplace_back("line added", "x\n" + note);
  bad.emplace_back("origin changed", "prov.example/other-log" + note.substr(kOrigin.size()));
  bad.emplace_back("no signature", FormatCheckpoint(c));
  bad.emplace_back("truncated", note.substr(0, note.size() - 1));
  for (const auto& [what, n] : bad) {
    // C++ refuses each of them too.
    auto v = ParseVerifierKey(vkey);
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(VerifyCheckpoint(n, *v, kOrigin).ok()) << what;
    RunResult r = GoVerify(vkey, n, kOrigin);
    EXPECT_NE(r.status, 0) << what << ": Go accepted\n" << r.output;
    EXPECT_NE(r.output.find("FAIL"), std::string::npos) << what << ": " << r.output;
  }
  // Another key under the same name, and the right key for another origin.
  SigningKey other = SigningKey::Generate();
  RunResult r = GoVerify(FormatVerifierKey(kOrigin, other.public_key()), note, kOrigin);
  EXPECT_NE(r.status, 0) << r.output;
  r = GoVerify(vkey, note, "prov.example/other-log");
  EXPECT_NE(r.status, 0) << r.output;
}

// (b) Go signs, C++ verifies: first with a key C++ made, then with one Go made.
TEST_F(InteropTest, CppVerifiesGoSignedNote) {
  SigningKey key = SigningKey::Generate();
  Checkpoint c = SampleCheckpoint(1000);
  std::string text = FormatCheckpoint(c);
  RunResult r = Go({"sign", Write("log.skey", FormatSignerKey(kOrigin, key) + "\n"),
                    Write("text", text), Path("note")});
  ASSERT_EQ(r.status, 0) << r.output;
  std::string note = Read(Path("note"));
  // Ed25519 is deterministic: Go's note is byte for byte ours.
  EXPECT_EQ(note, SignNote(text, kOrigin, key));

  auto v = ParseVerifierKey(FormatVerifierKey(kOrigin, key.public_key()));
  ASSERT_TRUE(v.ok());
  auto got = VerifyCheckpoint(note, *v, kOrigin);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size, c.size);
  EXPECT_EQ(got->root, c.root);

  std::string tampered = note;
  tampered.replace(tampered.find("\n1000\n"), 6, "\n1001\n");
  EXPECT_FALSE(VerifyCheckpoint(tampered, *v, kOrigin).ok());
}

TEST_F(InteropTest, GoGeneratedKeysWorkBothWays) {
  RunResult r = Go({"genkey", std::string(kOrigin), Path("go.skey"), Path("go.vkey")});
  ASSERT_EQ(r.status, 0) << r.output;
  std::string skey = Read(Path("go.skey")), vkey = Read(Path("go.vkey"));
  ASSERT_FALSE(skey.empty());
  ASSERT_EQ(skey.back(), '\n');
  ASSERT_EQ(vkey.back(), '\n');
  skey.pop_back();
  vkey.pop_back();

  // Go's key formats parse here and format back identically.
  auto v = ParseVerifierKey(vkey);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto s = ParseSignerKey(skey);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->first, kOrigin);
  EXPECT_EQ(s->second.public_key(), v->public_key);
  EXPECT_EQ(FormatVerifierKey(kOrigin, v->public_key), vkey);
  EXPECT_EQ(FormatSignerKey(kOrigin, s->second), skey);

  // Go signs with its key, C++ verifies.
  Checkpoint c = SampleCheckpoint(5);
  r = Go({"sign", Path("go.skey"), Write("text", FormatCheckpoint(c)), Path("go.note")});
  ASSERT_EQ(r.status, 0) << r.output;
  std::string go_note = Read(Path("go.note"));
  auto got = VerifyCheckpoint(go_note, *v, kOrigin);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->root, c.root);
  std::string tampered = go_note;
  tampered[0] = 'q';
  EXPECT_FALSE(VerifyCheckpoint(tampered, *v, "q" + std::string(kOrigin.substr(1))).ok());

  // C++ signs with Go's key, Go verifies.
  r = GoVerify(vkey, SignNote(FormatCheckpoint(c), kOrigin, s->second), kOrigin);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, GoOk(c));
}

// (c) Go's tlog checks C++'s inclusion and consistency proofs, and compares
// them with the proofs it builds itself over the same leaves.
TEST_F(InteropTest, GoChecksCppMerkleProofs) {
  constexpr size_t kLeaves = 70;
  const auto leaves = Leaves(kLeaves);
  auto fn = InMemorySubtrees(leaves);
  auto root = [&](uint64_t n) { return RootOf(std::span<const Hash>(leaves).first(n)); };
  auto b64 = [](const std::vector<Hash>& hs) {
    json out = json::array();
    for (const auto& h : hs) out.push_back(Base64Encode(h));
    return out;
  };
  auto flip = [](Hash h) {
    h[7] ^= 0x10;
    return h;
  };

  json cases = json::array();
  int want_ok = 0, want_bad = 0;
  auto inclusion = [&](uint64_t n, uint64_t i, const std::vector<Hash>& proof,
                       const Hash& leaf, const Hash& r, bool ok) {
    // C++ judges every case the way we tell Go to.
    EXPECT_EQ(VerifyInclusion(i, n, leaf, proof, r).ok(), ok) << i << "/" << n;
    cases.push_back({{"kind", "inclusion"}, {"size", n}, {"index", i},
                     {"leaf", Base64Encode(leaf)}, {"root", Base64Encode(r)},
                     {"proof", b64(proof)}, {"want_ok", ok}});
    (ok ? want_ok : want_bad)++;
  };
  auto consistency = [&](uint64_t m, uint64_t n, const std::vector<Hash>& proof,
                         const Hash& r1, const Hash& r2, bool ok) {
    EXPECT_EQ(VerifyConsistency(m, n, proof, r1, r2).ok(), ok) << m << "->" << n;
    cases.push_back({{"kind", "consistency"}, {"old_size", m}, {"size", n},
                     {"old_root", Base64Encode(r1)}, {"root", Base64Encode(r2)},
                     {"proof", b64(proof)}, {"want_ok", ok}});
    (ok ? want_ok : want_bad)++;
  };

  for (uint64_t n : {1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70}) {
    for (uint64_t i = 0; i < n; ++i) {
      auto p = MakeInclusionProof(i, n, fn);
      ASSERT_TRUE(p.ok());
      inclusion(n, i, *p, leaves[i], root(n), true);
      if (i % 3 == 0) {
        inclusion(n, i, *p, leaves[i], flip(root(n)), false);
        if (n > 1) inclusion(n, (i + 1) % n, *p, leaves[i], root(n), false);
        if (!p->empty()) {
          auto bad = *p;
          bad[i % bad.size()] = flip(bad[i % bad.size()]);
          inclusion(n, i, bad, leaves[i], root(n), false);
          bad = *p;
          bad.pop_back();
          inclusion(n, i, bad, leaves[i], root(n), false);
        }
        auto longer = *p;
        longer.push_back(root(n));
        inclusion(n, i, longer, leaves[i], root(n), false);
      }
    }
  }
  for (uint64_t n : {1, 2, 3, 7, 8, 9, 16, 17, 33, 64, 70}) {
    for (uint64_t m = 1; m <= n; ++m) {
      auto p = MakeConsistencyProof(m, n, fn);
      ASSERT_TRUE(p.ok());
      consistency(m, n, *p, root(m), root(n), true);
      if (m % 2 == 1) {
        consistency(m, n, *p, flip(root(m)), root(n), false);
        consistency(m, n, *p, root(m), flip(root(n)), false);
        if (!p->empty()) {
          auto bad = *p;
          bad[m % bad.size()] = flip(bad[m % bad.size()]);
          consistency(m, n, bad, root(m), root(n), false);
          bad = *p;
          bad.pop_back();
          consistency(m, n, bad, root(m), root(n), false);
        }
        auto longer = *p;
        longer.push_back(root(n));
        consistency(m, n, longer, root(m), root(n), false);
      }
    }
  }
  ASSERT_GT(want_ok, 400);
  ASSERT_GT(want_bad, 200);

  json in = {{"leaves", b64(leaves)}, {"cases", cases}};
  RunResult r = Go({"tlog", Write("proofs.json", in.dump())});
  EXPECT_EQ(r.status, 0) << r.output.substr(0, 2000);
  EXPECT_EQ(r.output, "PASS " + std::to_string(cases.size()) + "\n")
      << r.output.substr(0, 2000);
}

}  // namespace
}  // namespace verifier
