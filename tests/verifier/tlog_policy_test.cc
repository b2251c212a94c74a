// Tests for verifier/tlog_policy.h: the C2SP tlog-policy grammar (every
// error, with its line), and quorum evaluation over real cosignatures.
#include "verifier/tlog_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "verifier/cosignature.h"
#include "verifier/note.h"

namespace verifier {
namespace {

const bool kCryptoReady = (InitCrypto(), true);

constexpr std::string_view kOrigin = "prov.example/log";
constexpr int64_t kNow = 1'700'000'000;

// A log key and named witness keys, fixed for one test.
struct Keys {
  SigningKey log = SigningKey::Generate();
  std::map<std::string, SigningKey> witness;

  std::string LogVkey() const { return FormatVerifierKey(kOrigin, log.public_key()); }
  std::string W(const std::string& name) {
    auto it = witness.find(name);
    if (it == witness.end()) it = witness.emplace(name, SigningKey::Generate()).first;
    return FormatWitnessKey("w.example/" + name, it->second.public_key());
  }
  // A checkpoint note signed by the log and cosigned by `names` at `time`.
  std::string Note(const std::vector<std::string>& names, uint64_t time = kNow - 5) {
    Checkpoint c;
    c.origin = std::string(kOrigin);
    c.size = 10;
    c.root = Sha256("root");
    std::string text = FormatCheckpoint(c);
    std::string note = SignNote(text, kOrigin, log);
    std::string lines;
    for (const auto& n : names) {
      W(n);
      lines += *CosignCheckpoint(text, "w.example/" + n, witness.at(n), time);
    }
    return lines.empty() ? note : *AddSignatureLines(note, lines);
  }
};

Status ParseError(const std::string& text) { return ParseTlogPolicy(text).status(); }

TEST(TlogPolicyParse, SpecExampleWithGroupsOfGroups) {
  Keys k;
  std::string text = "log " + k.LogVkey() + "\n\n" +                         //
                     "witness X1 " + k.W("X1") + "\n" +                      //
                     "witness X2 " + k.W("X2") + " https://x2.example/\n" +  //
                     "witness X3 " + k.W("X3") + "\n" +                      //
                     "group X-witnesses 2 X1 X2 X3\n\n" +                    //
                     "  # a comment\n\t\n" +                                 //
                     "witness Y1 " + k.W("Y1") + "\n" +                      //
                     "witness Y2 " + k.W("Y2") + "\n" +                      //
                     "witness\tY3  " + k.W("Y3") + " \n" +                   //
                     "group Y-witnesses any Y1 Y2 Y3\n" +                    //
                     "group X-and-Y all X-witnesses Y-witnesses\n" +         //
                     "quorum X-and-Y\n";
  auto p = ParseTlogPolicy(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->logs.size(), 1u);
  EXPECT_EQ(p->logs[0].key.name, kOrigin);
  ASSERT_EQ(p->witnesses.size(), 6u);
  EXPECT_EQ(p->witnesses[1].url, "https://x2.example/");
  EXPECT_EQ(p->witnesses[5].name, "Y3");
  ASSERT_EQ(p->groups.size(), 3u);
  EXPECT_EQ(p->groups[0].threshold, 2u);
  EXPECT_EQ(p->groups[1].threshold, 1u);
  EXPECT_EQ(p->groups[2].threshold, 2u);
  EXPECT_EQ(p->quorum, "X-and-Y");
}

TEST(TlogPolicyParse, QuorumNoneAndNoLogs) {
  auto p = ParseTlogPolicy("quorum none\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->quorum, "none");
  // No final newline is fine too.
  EXPECT_TRUE(ParseTlogPolicy("quorum none").ok());
}

TEST(TlogPolicyParse, WitnessConfigNeedsNoQuorum) {
  Keys k;
  auto p = ParseTlogPolicy("log " + k.LogVkey() + " http://127.0.0.1:1/\n",
                           PolicyParseOptions{.require_quorum = false});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->logs[0].url, "http://127.0.0.1:1/");
  EXPECT_TRUE(p->quorum.empty());
}

struct BadCase {
  std::string name, text, reason;
  size_t line;
};

TEST(TlogPolicyParse, EveryErrorNamesItsLine) {
  Keys k;
  std::string a = "witness A " + k.W("A") + "\n";
  std::string b = "witness B " + k.W("B") + "\n";
  std::string c = "witness C " + k.W("C") + "\n";
  std::vector<BadCase> cases = {
      {"unknown keyword", a + "witnes B " + k.W("B") + "\n", "POLICY_UNKNOWN_KEYWORD", 2},
      {"keyword case matters", "Quorum none\n", "POLICY_UNKNOWN_KEYWORD", 1},
      {"log without key", "log\n", "POLICY_SYNTAX", 1},
      {"log with extra field", "log " + k.LogVkey() + " u extra\n", "POLICY_SYNTAX", 1},
      {"witness without key", "witness A\n", "POLICY_SYNTAX", 1},
      {"witness extra field", "witness A " + k.W("A") + " u extra\n", "POLICY_SYNTAX", 1},
      {"group without members", a + "group G any\n", "POLICY_SYNTAX", 2},
      {"quorum with two names", a + b + "quorum A B\n", "POLICY_SYNTAX", 3},
      {"quorum without name", "quorum\n", "POLICY_SYNTAX", 1},
      {"log key of witness type", "log " + k.W("A") + "\n", "POLICY_BAD_KEY", 1},
      {"witness key of log type", "witness A " + k.LogVkey() + "\n", "POLICY_BAD_KEY", 1},
      {"garbage key", "\n\nwitness A A+00000000+AAAA\n", "POLICY_BAD_KEY", 3},
      {"duplicate log key", "log " + k.LogVkey() + "\nlog " + k.LogVkey() + "\n",
       "POLICY_DUPLICATE_KEY", 2},
      {"duplicate witness key (other name)",
       a + "witness A2 " + FormatWitnessKey("other.example", k.witness.at("A").public_key()) + "\n",
       "POLICY_DUPLICATE_KEY", 2},
      {"duplicate witness name", a + "witness A " + k.W("B") + "\n", "POLICY_DUPLICATE_NAME", 2},
      {"group named as a witness", a + b + "group A any B\n", "POLICY_DUPLICATE_NAME", 3},
      {"witness named none", "witness none " + k.W("A") + "\n", "POLICY_RESERVED_NAME", 1},
      {"group named none", a + "group none any A\n", "POLICY_RESERVED_NAME", 2},
      {"none as a member", a + "group G any A none\n", "POLICY_RESERVED_NAME", 2},
      {"undefined member", a + "group G any A B\n", "POLICY_UNDEFINED_NAME", 2},
      {"forward reference", a + "group G any A H\ngroup H any A\n", "POLICY_UNDEFINED_NAME", 2},
      {"undefined quorum", a + "quorum B\n", "POLICY_UNDEFINED_NAME", 2},
      {"quorum before definition", "quorum A\n" + a, "POLICY_UNDEFINED_NAME", 1},
      {"group lists itself", a + "group G any A G\n", "POLICY_CYCLE", 2},
      {"member twice in a group", a + b + "group G 1 A B A\n", "POLICY_DUPLICATE_MEMBER", 3},
      {"member of two groups", a + b + c + "group G any A B\ngroup H any A C\n",
       "POLICY_DUPLICATE_MEMBER", 5},
      {"k > n", a + b + "group G 3 A B\n", "POLICY_BAD_THRESHOLD", 3},
      {"k = 0", a + "group G 0 A\n", "POLICY_BAD_THRESHOLD", 2},
      {"k negative", a + "group G -1 A\n", "POLICY_BAD_THRESHOLD", 2},
      {"k with sign", a + "group G +1 A\n", "POLICY_BAD_THRESHOLD", 2},
      {"k not a number", a + "group G most A\n", "POLICY_BAD_THRESHOLD", 2},
      {"k overflow", a + "group G 99999999999999999999999 A\n", "POLICY_BAD_THRESHOLD", 2},
      {"two quorums", a + "quorum A\nquorum none\n", "POLICY_DUPLICATE_QUORUM", 3},
      {"no quorum", a + b, "POLICY_NO_QUORUM", 2},
      {"empty file", "", "POLICY_NO_QUORUM", 0},
      {"carriage return", "quorum none\r\n", "POLICY_BAD_CHARACTER", 1},
      {"NUL byte", a + std::string("quorum\0none\n", 12), "POLICY_BAD_CHARACTER", 2},
      {"DEL byte", "# \x7f\nquorum none\n", "POLICY_BAD_CHARACTER", 1},
  };
  for (const auto& tc : cases) {
    Status st = ParseError(tc.text);
    ASSERT_FALSE(st.ok()) << tc.name;
    EXPECT_EQ(st.reason(), tc.reason) << tc.name << ": " << st.ToString();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << tc.name;
    EXPECT_EQ(st.message().rfind("line " + std::to_string(tc.line) + ": ", 0), 0u)
        << tc.name << ": " << st.ToString();
  }
}

TEST(TlogPolicyParse, HighBitOctetsAreOpaqueNames) {
  Keys k;
  // "K" and the Kelvin sign are different names.
  std::string text = "witness K " + k.W("K") + "\nwitness \xe2\x84\xaa " + k.W("kelvin") +
                     "\ngroup G all K \xe2\x84\xaa\nquorum G\n";
  auto p = ParseTlogPolicy(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->groups[0].members.size(), 2u);
}

TEST(TlogPolicyParse, Limits) {
  EXPECT_EQ(ParseError(std::string(kMaxPolicyBytes + 1, '#')).reason(), "POLICY_TOO_LARGE");
  Keys k;
  std::string text;
  for (size_t i = 0; i <= kMaxPolicyEntries; ++i)
    text += "witness w" + std::to_string(i) + " " + k.W(std::to_string(i)) + "\n";
  // Either limit may trip first; both are refusals, never a silent cut.
  Status st = ParseError(text + "quorum none\n");
  EXPECT_TRUE(st.reason() == "POLICY_TOO_MANY" || st.reason() == "POLICY_TOO_LARGE")
      << st.ToString();
  // 32 of each (the spec's recommended minimum) is accepted.
  std::string ok;
  for (int i = 0; i < 32; ++i)
    ok += "witness w" + std::to_string(i) + " " + k.W(std::to_string(i)) + "\n";
  for (int i = 0; i < 32; ++i)
    ok += "group g" + std::to_string(i) + " any w" + std::to_string(i) + "\n";
  EXPECT_TRUE(ParseTlogPolicy(ok + "quorum g0\n").ok());
}

// ---------------------------------------------------------------------------
// Evaluation.

class TlogPolicyEval : public ::testing::Test {
 protected:
  TlogPolicy Policy(const std::string& body) {
    auto p = ParseTlogPolicy("log " + k_.LogVkey() + "\n" + body);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : TlogPolicy{};
  }
  std::string ABC() {
    return "witness A " + k_.W("A") + "\nwitness B " + k_.W("B") + "\nwitness C " + k_.W("C") +
           "\n";
  }
  PolicyEvalOptions Opts() const {
    PolicyEvalOptions o;
    o.now = kNow;
    return o;
  }
  Keys k_;
};

TEST_F(TlogPolicyEval, TwoOfThreeMet) {
  auto p = Policy(ABC() + "group G 2 A B C\nquorum G\n");
  auto v = EvaluatePolicy(p, k_.Note({"A", "C"}), Opts());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->quorum_met);
  ASSERT_EQ(v->cosigned.size(), 2u);
  EXPECT_EQ(v->cosigned[0].witness, "A");
  EXPECT_EQ(v->cosigned[0].timestamp, static_cast<uint64_t>(kNow - 5));
  ASSERT_EQ(v->missing.size(), 1u);
  EXPECT_EQ(v->missing[0].witness, "B");
  EXPECT_EQ(v->missing[0].problem, "NO_COSIGNATURE");
  EXPECT_EQ(v->checkpoint.size, 10u);
  EXPECT_EQ(v->log_vkey, k_.LogVkey());
  EXPECT_TRUE(RequireQuorum(*v).ok());
}

TEST_F(TlogPolicyEval, OneOfThreeNotMetNamesTheMissing) {
  auto p = Policy(ABC() + "group G 2 A B C\nquorum G\n");
  auto v = EvaluatePolicy(p, k_.Note({"B"}), Opts());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->quorum_met);
  Status st = RequireQuorum(*v);
  EXPECT_EQ(st.reason(), "QUORUM_NOT_MET");
  EXPECT_NE(st.message().find("A (NO_COSIGNATURE), C (NO_COSIGNATURE)"), std::string::npos)
      << st.message();
}

TEST_F(TlogPolicyEval, NestedGroups) {
  auto p = Policy(ABC() + "witness D " + k_.W("D") + "\nwitness E " + k_.W("E") +
                  "\ngroup X 2 A B C\ngroup Y any D E\ngroup XY all X Y\nquorum XY\n");
  EXPECT_TRUE(EvaluatePolicy(p, k_.Note({"A", "B", "E"}), Opts())->quorum_met);
  EXPECT_FALSE(EvaluatePolicy(p, k_.Note({"A", "B"}), Opts())->quorum_met);
  EXPECT_FALSE(EvaluatePolicy(p, k_.Note({"A", "D", "E"}), Opts())->quorum_met);
}

TEST_F(TlogPolicyEval, SingleWitnessAndNone) {
  auto single = Policy(ABC() + "quorum B\n");
  EXPECT_TRUE(EvaluatePolicy(single, k_.Note({"B"}), Opts())->quorum_met);
  EXPECT_FALSE(EvaluatePolicy(single, k_.Note({"A", "C"}), Opts())->quorum_met);
  auto none = Policy("quorum none\n");
  EXPECT_TRUE(EvaluatePolicy(none, k_.Note({}), Opts())->quorum_met);
}

TEST_F(TlogPolicyEval, BadCosignatureIsNamedAndDoesNotCount) {
  auto p = Policy(ABC() + "group G 2 A B C\nquorum G\n");
  std::string note = k_.Note({"A", "B"});
  // Re-sign B's line over another size: a bad signature under B's key hash.
  auto parsed = *ParseNote(note);
  std::string other = parsed.text;
  other.replace(other.find("\n10\n"), 4, "\n11\n");
  std::string bad_b = *CosignCheckpoint(other, "w.example/B", k_.witness.at("B"), kNow);
  std::string lines;
  for (const auto& s : parsed.signatures) {
    if (s.name != "w.example/B") lines += FormatSignatureLine(s);
  }
  std::string tampered = parsed.text + "\n" + lines + bad_b;
  auto v = EvaluatePolicy(p, tampered, Opts());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->quorum_met);
  ASSERT_EQ(v->missing.size(), 2u);
  EXPECT_EQ(v->missing[0].witness, "B");
  EXPECT_EQ(v->missing[0].problem, "BAD_COSIGNATURE");
}

TEST_F(TlogPolicyEval, FutureCosignatureRejectedBeyondSkew) {
  auto p = Policy(ABC() + "quorum A\n");
  auto within = EvaluatePolicy(p, k_.Note({"A"}, kNow + 60), Opts());
  EXPECT_TRUE(within->quorum_met);
  auto beyond = EvaluatePolicy(p, k_.Note({"A"}, kNow + 61), Opts());
  ASSERT_TRUE(beyond.ok());
  EXPECT_FALSE(beyond->quorum_met);
  EXPECT_EQ(beyond->missing[0].problem, "FUTURE_COSIGNATURE");
  EXPECT_EQ(beyond->missing[0].timestamp, static_cast<uint64_t>(kNow + 61));
}

TEST_F(TlogPolicyEval, LogSignatureRequired) {
  auto p = Policy(ABC() + "quorum A\n");
  // Signed by another key with the same origin.
  Keys other;
  other.witness = k_.witness;
  auto r = EvaluatePolicy(p, other.Note({"A"}), Opts());
  EXPECT_EQ(r.status().reason(), "UNVERIFIED_NOTE") << r.status().ToString();
  // Another origin.
  Checkpoint c{"other.example/log", 1, Sha256("x"), {}};
  std::string foreign = SignNote(FormatCheckpoint(c), "other.example/log", k_.log);
  EXPECT_EQ(EvaluatePolicy(p, foreign, Opts()).status().reason(), "UNKNOWN_LOG");
  // Not a note, not a checkpoint.
  EXPECT_EQ(EvaluatePolicy(p, "junk", Opts()).status().reason(), "MALFORMED_NOTE");
  std::string not_cp = SignNote("hello\n", kOrigin, k_.log);
  EXPECT_EQ(EvaluatePolicy(p, not_cp, Opts()).status().reason(), "MALFORMED_CHECKPOINT");
  // A policy without logs uses the caller's.
  auto nolog = ParseTlogPolicy(ABC() + "quorum A\n");
  ASSERT_TRUE(nolog.ok());
  EXPECT_EQ(EvaluatePolicy(*nolog, k_.Note({"A"}), Opts()).status().reason(), "UNKNOWN_LOG");
  PolicyEvalOptions with = Opts();
  with.extra_logs.push_back(*ParseVerifierKey(k_.LogVkey()));
  EXPECT_TRUE(EvaluatePolicy(*nolog, k_.Note({"A"}), with)->quorum_met);
}

}  // namespace
}  // namespace verifier
