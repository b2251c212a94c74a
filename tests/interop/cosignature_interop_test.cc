// verifier/cosignature.h against an independent Go implementation of C2SP
// tlog-cosignature v1 (cosignature_interop.go, written from the spec with
// crypto/ed25519 and golang.org/x/mod/sumdb/note): Go's lines equal ours
// byte for byte (Ed25519 is deterministic), Go's note.Open accepts our
// cosigned checkpoints and refuses tampered ones. No Go is a failure.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "verifier/cosignature.h"
#include "verifier/crypto.h"
#include "verifier/merkle.h"
#include "verifier/note.h"

namespace verifier {
namespace {

namespace fs = std::filesystem;

const bool kCryptoReady = (InitCrypto(), true);

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct RunResult {
  int status = -1;
  std::string out;
};

RunResult Sh(const std::vector<std::string>& argv) {
  std::string cmd =
      "env GO111MODULE=off GOFLAGS= GOENV=off GOTOOLCHAIN=local GOPATH=" + Quote(PROV_GOPATH) +
      " GOCACHE=" + Quote(PROV_GOCACHE);
  for (const auto& a : argv) cmd += " " + Quote(a);
  cmd += " 2>&1";
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

class CosignatureInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "prov-cosig-go-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = new fs::path(tmpl);
    ASSERT_FALSE(std::string(PROV_GO).empty()) << "go not found at configure time";
    binary_ = new std::string((*dir_ / "cosignature_interop").string());
    RunResult r = Sh({PROV_GO, "build", "-o", *binary_, PROV_GO_SOURCE});
    ASSERT_EQ(r.status, 0) << r.out;
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
    delete binary_;
  }
  std::string Write(const std::string& name, const std::string& data) {
    std::string p = (*dir_ / name).string();
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  static fs::path* dir_;
  static std::string* binary_;
};
fs::path* CosignatureInterop::dir_ = nullptr;
std::string* CosignatureInterop::binary_ = nullptr;

TEST_F(CosignatureInterop, GoLinesEqualOursByteForByte) {
  std::mt19937_64 rng(20240601);
  std::printf("seed 20240601\n");
  for (int i = 0; i < 8; ++i) {
    Bytes seed(32);
    for (auto& b : seed) b = static_cast<uint8_t>(rng());
    SigningKey key = *SigningKey::FromSeed(seed);
    Checkpoint c{
        "prov.example/log-" + std::to_string(i), rng() % 100000, Sha256(std::to_string(i)), {}};
    if (i % 2) c.extensions = {TimestampExtension(1'700'000'000'000'000'000 + i)};
    std::string text = FormatCheckpoint(c);
    uint64_t t = i == 7 ? kMaxCosignatureTime : rng() % 4'000'000'000;
    std::string name = "w.example/" + std::to_string(i);
    RunResult r =
        Sh({*binary_, "cosign", HexEncode(seed), name, std::to_string(t), Write("text", text)});
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, FormatWitnessKey(name, key.public_key()) + "\n" +
                         *CosignCheckpoint(text, name, key, t));
  }
}

TEST_F(CosignatureInterop, GoOpensOurCosignedCheckpoint) {
  SigningKey log = SigningKey::Generate(), w = SigningKey::Generate();
  Checkpoint c{"prov.example/log", 42, Sha256("r"), {TimestampExtension(5)}};
  std::string text = FormatCheckpoint(c);
  std::string note = *AddSignatureLines(SignNote(text, c.origin, log),
                                        *CosignCheckpoint(text, "w.example/x", w, 1700000123));
  std::string vkey = FormatWitnessKey("w.example/x", w.public_key());
  RunResult ok = Sh({*binary_, "verify", vkey, Write("note", note)});
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_EQ(ok.out, "OK 1700000123\n");
  // Go refuses what we refuse: another extension line, another witness key.
  std::string changed = note;
  changed.replace(changed.find("Timestamp: 5"), 12, "Timestamp: 6");
  EXPECT_EQ(VerifyCosignature(changed, *ParseWitnessKey(vkey)).status().reason(),
            "BAD_COSIGNATURE");
  RunResult bad = Sh({*binary_, "verify", vkey, Write("changed", changed)});
  EXPECT_EQ(bad.status, 1) << bad.out;
  RunResult other =
      Sh({*binary_, "verify", FormatWitnessKey("w.example/x", SigningKey::Generate().public_key()),
          Write("note2", note)});
  EXPECT_EQ(other.status, 1) << other.out;
}

}  // namespace
}  // namespace verifier
