#include "verifier/tlog_policy.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace verifier {
namespace {

constexpr std::string_view kNone = "none";

Status LineError(size_t line, std::string reason, std::string msg) {
  return InvalidArgument(std::move(reason), "line " + std::to_string(line) + ": " + msg);
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// What a name refers to while parsing.
enum class Kind { kWitness, kGroup };

// Evaluates a name: does it witness the checkpoint?
bool Witnessed(const TlogPolicy& p, const std::string& name,
               const std::set<std::string>& cosigned) {
  if (name == kNone) return true;
  for (const auto& g : p.groups) {
    if (g.name != name) continue;
    size_t n = 0;
    for (const auto& m : g.members) n += Witnessed(p, m, cosigned) ? 1 : 0;
    return n >= g.threshold;
  }
  return cosigned.count(name) > 0;
}

}  // namespace

Result<TlogPolicy> ParseTlogPolicy(std::string_view text, PolicyParseOptions options) {
  if (text.size() > kMaxPolicyBytes) {
    return InvalidArgument("POLICY_TOO_LARGE",
                           "policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
  }
  TlogPolicy p;
  std::map<std::string, Kind, std::less<>> names;
  std::set<std::string, std::less<>> members;  // every name listed as a member
  std::set<PublicKey> log_keys, witness_keys;
  size_t quorum_line = 0;
  size_t lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineno;
    for (char ch : line) {
      auto c = static_cast<unsigned char>(ch);
      if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return LineError(
            lineno, "POLICY_BAD_CHARACTER",
            "control character " + std::to_string(c) + " (only tab and newline are allowed)");
      }
    }
    auto f = Fields(line);
    if (f.empty() || f[0][0] == '#') continue;
    std::string_view kw = f[0];
    if (kw == "log") {
      if (f.size() < 2 || f.size() > 3) {
        return LineError(lineno, "POLICY_SYNTAX", "expected: log <vkey> [<url>]");
      }
      auto key = ParseVerifierKey(f[1]);
      if (!key.ok()) {
        return LineError(lineno, "POLICY_BAD_KEY",
                         "log key is not an Ed25519 (type 0x01) vkey: " + key.status().message());
      }
      if (!log_keys.insert(key->public_key).second) {
        return LineError(lineno, "POLICY_DUPLICATE_KEY", "log key listed twice");
      }
      if (p.logs.size() >= kMaxPolicyEntries) {
        return LineError(lineno, "POLICY_TOO_MANY",
                         "more than " + std::to_string(kMaxPolicyEntries) + " logs");
      }
      p.logs.push_back({*key, std::string(f[1]), f.size() == 3 ? std::string(f[2]) : ""});
    } else if (kw == "witness") {
      if (f.size() < 3 || f.size() > 4) {
        return LineError(lineno, "POLICY_SYNTAX", "expected: witness <name> <vkey> [<url>]");
      }
      std::string name(f[1]);
      if (name == kNone) {
        return LineError(lineno, "POLICY_RESERVED_NAME", "`none` is predefined");
      }
      if (names.count(name)) {
        return LineError(lineno, "POLICY_DUPLICATE_NAME", "name " + name + " is already defined");
      }
      auto key = ParseWitnessKey(f[2]);
      if (!key.ok()) {
        return LineError(lineno, "POLICY_BAD_KEY",
                         "witness " + name + ": " + key.status().message());
      }
      if (!witness_keys.insert(key->public_key).second) {
        return LineError(lineno, "POLICY_DUPLICATE_KEY",
                         "witness " + name + " has the key of an earlier witness");
      }
      if (p.witnesses.size() >= kMaxPolicyEntries) {
        return LineError(lineno, "POLICY_TOO_MANY",
                         "more than " + std::to_string(kMaxPolicyEntries) + " witnesses");
      }
      names.emplace(name, Kind::kWitness);
      p.witnesses.push_back(
          {name, *key, std::string(f[2]), f.size() == 4 ? std::string(f[3]) : ""});
    } else if (kw == "group") {
      if (f.size() < 4) {
        return LineError(lineno, "POLICY_SYNTAX", "expected: group <name> all|any|<k> <member>...");
      }
      PolicyGroup g;
      g.name = std::string(f[1]);
      if (g.name == kNone) {
        return LineError(lineno, "POLICY_RESERVED_NAME", "`none` is predefined");
      }
      if (names.count(g.name)) {
        return LineError(lineno, "POLICY_DUPLICATE_NAME", "name " + g.name + " is already defined");
      }
      std::set<std::string_view> here;
      for (size_t i = 3; i < f.size(); ++i) {
        std::string_view m = f[i];
        if (m == kNone) {
          return LineError(lineno, "POLICY_RESERVED_NAME", "`none` cannot be a group member");
        }
        if (m == g.name) {
          return LineError(lineno, "POLICY_CYCLE", "group " + g.name + " lists itself");
        }
        if (!names.count(m)) {
          return LineError(lineno, "POLICY_UNDEFINED_NAME",
                           "member " + std::string(m) + " is not defined on an earlier line");
        }
        if (!here.insert(m).second || members.count(m)) {
          return LineError(lineno, "POLICY_DUPLICATE_MEMBER",
                           std::string(m) + " is already listed as a group member");
        }
        g.members.emplace_back(m);
      }
      size_t n = g.members.size();
      std::string_view k = f[2];
      if (k == "all") {
        g.threshold = n;
      } else if (k == "any") {
        g.threshold = 1;
      } else {
        auto [ptr, ec] = std::from_chars(k.data(), k.data() + k.size(), g.threshold);
        if (ec != std::errc() || ptr != k.data() + k.size() || k[0] == '+') {
          return LineError(lineno, "POLICY_BAD_THRESHOLD",
                           "threshold " + std::string(k) + " is not all, any or a decimal");
        }
        if (g.threshold < 1 || g.threshold > n) {
          return LineError(lineno, "POLICY_BAD_THRESHOLD",
                           "threshold " + std::string(k) + " is not between 1 and " +
                               std::to_string(n) + " (the number of members)");
        }
      }
      if (p.groups.size() >= kMaxPolicyEntries) {
        return LineError(lineno, "POLICY_TOO_MANY",
                         "more than " + std::to_string(kMaxPolicyEntries) + " groups");
      }
      for (const auto& m : g.members) members.insert(m);
      names.emplace(g.name, Kind::kGroup);
      p.groups.push_back(std::move(g));
    } else if (kw == "quorum") {
      if (f.size() != 2) return LineError(lineno, "POLICY_SYNTAX", "expected: quorum <name>");
      if (quorum_line != 0) {
        return LineError(lineno, "POLICY_DUPLICATE_QUORUM",
                         "quorum already defined on line " + std::to_string(quorum_line));
      }
      if (f[1] != kNone && !names.count(f[1])) {
        return LineError(lineno, "POLICY_UNDEFINED_NAME",
                         "quorum " + std::string(f[1]) + " is not defined on an earlier line");
      }
      quorum_line = lineno;
      p.quorum = std::string(f[1]);
    } else {
      return LineError(
          lineno, "POLICY_UNKNOWN_KEYWORD",
          "unknown keyword " + std::string(kw) + " (expected log, witness, group or quorum)");
    }
  }
  if (options.require_quorum && quorum_line == 0) {
    return InvalidArgument("POLICY_NO_QUORUM",
                           "line " + std::to_string(lineno) + ": policy has no quorum line");
  }
  return p;
}

Result<PolicyVerdict> EvaluatePolicy(const TlogPolicy& policy, std::string_view note,
                                     const PolicyEvalOptions& options) {
  PROV_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  PolicyVerdict v;
  PROV_ASSIGN_OR_RETURN(v.checkpoint, ParseCheckpoint(parsed.text));
  std::vector<std::pair<NoteVerifier, std::string>> logs;
  for (const auto& l : policy.logs) logs.emplace_back(l.key, l.vkey);
  if (policy.logs.empty()) {
    for (const auto& k : options.extra_logs) {
      logs.emplace_back(k, FormatVerifierKey(k.name, k.public_key));
    }
  }
  Status last = InvalidArgument(
      "UNKNOWN_LOG", "no log key in the policy has the origin \"" + v.checkpoint.origin + "\"");
  for (const auto& [key, vkey] : logs) {
    if (key.name != v.checkpoint.origin) continue;
    auto text = OpenNote(note, key);
    if (text.ok()) {
      v.log_vkey = vkey;
      last = Status::Ok();
      break;
    }
    last = text.status();
  }
  PROV_RETURN_IF_ERROR(last);
  std::set<std::string> ok;
  for (const auto& w : policy.witnesses) {
    WitnessCosignature c{w.name, 0, ""};
    auto t = VerifyCosignature(parsed, w.key);
    if (!t.ok()) {
      c.problem = t.status().reason();
    } else if (*t > static_cast<uint64_t>(options.now + options.max_skew_seconds)) {
      c.problem = "FUTURE_COSIGNATURE";
      c.timestamp = *t;
    } else {
      c.timestamp = *t;
      ok.insert(w.name);
      v.cosigned.push_back(std::move(c));
      continue;
    }
    v.missing.push_back(std::move(c));
  }
  v.quorum_met = policy.quorum.empty() || Witnessed(policy, policy.quorum, ok);
  return v;
}

Status RequireQuorum(const PolicyVerdict& verdict) {
  if (verdict.quorum_met) return Status::Ok();
  std::string list;
  for (const auto& m : verdict.missing) {
    list += (list.empty() ? "" : ", ") + m.witness + " (" + m.problem + ")";
  }
  return FailedPrecondition(
      "QUORUM_NOT_MET",
      "checkpoint " + verdict.checkpoint.origin + " at size " +
          std::to_string(verdict.checkpoint.size) +
          " lacks a witness quorum; missing or bad: " + (list.empty() ? "none listed" : list));
}

}  // namespace verifier
