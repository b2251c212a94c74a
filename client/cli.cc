#include "client/cli.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "client/trust_store.h"
#include "client/witness_policy.h"

namespace prov {

Globals& G() {
  static Globals g;
  return g;
}

int& ExitCode() {
  static int rc = kOk;
  return rc;
}

void OnRun(CLI::App* sub, std::function<int()> fn) {
  sub->callback([fn = std::move(fn)] { ExitCode() = fn(); });
}

bool IsRefusal(const Status& s) {
  if (s.reason() == "TRUST_STORE" || s.reason() == "WRITE_FAILED") return false;
  switch (s.code()) {
    case verifier::Code::kInvalidArgument:
    case verifier::Code::kAlreadyExists:
    case verifier::Code::kPermissionDenied:
    case verifier::Code::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

int ExitFor(const Status& s) {
  using verifier::Code;
  const std::string& r = s.reason();
  if (r == "UNREACHABLE") return kUnavailable;
  if (r == "TRUST_STORE" || r == "WRITE_FAILED") return kLocalError;
  if (r.rfind("KEY_FILE", 0) == 0) return kUsage;  // a missing, unsafe or malformed key file
  switch (s.code()) {
    case Code::kOk: return kOk;
    case Code::kDataLoss: return kSecurity;
    case Code::kUnavailable:
    case Code::kDeadlineExceeded: return kUnavailable;
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kOutOfRange:
    case Code::kUnauthenticated: return kUsage;  // e.g. a write without --tls-cert
    default: return kUnverified;
  }
}

int Report(const Status& s, int rc) {
  if (rc < 0) rc = ExitFor(s);
  if (G().json) {
    std::cout << json{{"ok", false},
                      {"reason", s.reason()},
                      {"message", s.message()},
                      {"exit_code", rc}}
                     .dump()
              << "\n";
  } else {
    std::fprintf(stderr, "prov: %s\n", s.ToString().c_str());
  }
  return rc;
}

int ReportSubmitError(const Status& s) {
  return Report(s, IsRefusal(s) ? kRejected : ExitFor(s));
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return verifier::NotFound("NO_FILE", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) return verifier::FailedPrecondition("WRITE_FAILED", "cannot write " + path);
  return Status::Ok();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

Result<std::string> PinnedVkey() {
  if (G().vkey_file.empty()) {
    return verifier::InvalidArgument("NO_LOG_KEY",
                                     "--vkey FILE (the pinned log key) is required");
  }
  PROV_ASSIGN_OR_RETURN(std::string vkey, ReadFile(G().vkey_file));
  vkey = Trim(vkey);
  if (auto parsed = verifier::ParseVerifierKey(vkey); !parsed.ok()) {
    const bool private_key = vkey.size() == 64 && verifier::HexDecode(vkey).ok();
    return verifier::InvalidArgument(
        "BAD_VKEY",
        private_key ? G().vkey_file +
                          " holds a private signing key (like DATA_DIR/log.key), not a verifier "
                          "key: give --vkey DATA_DIR/log.vkey, the public key `provd init` wrote "
                          "beside it, and keep the private key private"
                    : G().vkey_file + " is not a log verifier key (NAME+HASH+KEY, as `provd "
                                      "init` writes to DATA_DIR/log.vkey): " +
                          parsed.status().message());
  }
  return vkey;
}

Result<std::shared_ptr<const verifier::TlogPolicy>> WitnessPolicy() {
  static std::shared_ptr<const verifier::TlogPolicy> loaded;
  if (G().witness_policy_file.empty() || loaded) return loaded;
  PROV_ASSIGN_OR_RETURN(std::string vkey, PinnedVkey());
  PROV_ASSIGN_OR_RETURN(auto log, verifier::ParseVerifierKey(vkey));
  PROV_ASSIGN_OR_RETURN(std::string text, ReadFile(G().witness_policy_file));
  PROV_ASSIGN_OR_RETURN(verifier::TlogPolicy policy,
                        client::ParseWitnessPolicy(G().witness_policy_file, text, log));
  loaded = std::make_shared<const verifier::TlogPolicy>(std::move(policy));
  return loaded;
}

namespace {
// The trust store of this process's log (opened by the first Connect), and
// the stored note each client was connected with: its heads are proven
// consistent with that note, and SaveTrust re-checks only a newer one.
struct Trust {
  std::unique_ptr<client::TrustStore> store;
  std::map<const client::LedgerClient*, std::optional<std::string>> loaded;
};
Trust& TrustState() {
  static Trust t;
  return t;
}

Result<client::TrustStore*> OpenTrustStore(const verifier::NoteVerifier& v) {
  Trust& t = TrustState();
  if (!t.store) {
    PROV_ASSIGN_OR_RETURN(std::string root, client::TrustStore::Root(G().state_dir));
    PROV_ASSIGN_OR_RETURN(t.store, client::TrustStore::Open(root, v));
  }
  return t.store.get();
}
}  // namespace

namespace {
// Opens the trust store for `c` and pins its head, before anything is read.
Status PinTrust(client::LedgerClient& c);
}  // namespace

Status RequireServer() {
  if (!G().tiles_url.empty() && !G().server_given) {
    return verifier::InvalidArgument(
        "NEEDS_SERVER",
        (G().command.empty() ? std::string("this command") : "`" + G().command + "`") +
            " needs provd: give --server HOST:PORT (or PROV_SERVER). --tiles-url "
            "reads a static copy of the log, which serves `prov log`, `prov audit`, "
            "`prov org list`, `prov law list`, `prov check`, `prov delivery check`, "
            "`prov scan` and `prov bundle export`");
  }
  return Status::Ok();
}

Result<std::unique_ptr<client::LedgerClient>> Connect() {
  PROV_RETURN_IF_ERROR(RequireServer());
  PROV_ASSIGN_OR_RETURN(std::string vkey, PinnedVkey());
  PROV_ASSIGN_OR_RETURN(auto policy, WitnessPolicy());
  PROV_ASSIGN_OR_RETURN(auto c, client::LedgerClient::Connect(G().server, vkey, G().tls));
  c->SetWitnessPolicy(std::move(policy));
  PROV_RETURN_IF_ERROR(PinTrust(*c));
  return c;
}

Result<std::unique_ptr<client::LedgerClient>> ConnectReader() {
  if (G().tiles_url.empty()) return Connect();
  if (G().server_on_command_line) {
    return verifier::InvalidArgument(
        "USAGE", "--server and --tiles-url are mutually exclusive for reading the log: give one");
  }
  PROV_ASSIGN_OR_RETURN(std::string vkey, PinnedVkey());
  client::TilesOptions options;
  options.url = G().tiles_url;
  options.ca_file = G().tiles_ca;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(G().tiles_timeout * 1000));
  options.connect_timeout = timeout;
  options.read_timeout = timeout;
  PROV_ASSIGN_OR_RETURN(auto policy, WitnessPolicy());
  PROV_ASSIGN_OR_RETURN(auto c, client::LedgerClient::ConnectTiles(std::move(options), vkey));
  c->SetWitnessPolicy(std::move(policy));
  PROV_RETURN_IF_ERROR(PinTrust(*c));
  return c;
}

namespace {
Status PinTrust(client::LedgerClient& c) {
  // The store must be usable before anything is sent: no record is logged
  // whose trust-store update cannot happen. (Connecting sends nothing yet.)
  PROV_ASSIGN_OR_RETURN(client::TrustStore * store, OpenTrustStore(c.verifier()));
  PROV_ASSIGN_OR_RETURN(std::optional<std::string> note, store->Load());
  if (note) {
    auto pinned = c.VerifyNote(*note);
    if (!pinned.ok()) {
      return Status(pinned.status().code(), pinned.status().reason(),
                    "the trust store's checkpoint " + store->checkpoint_file() +
                        " does not verify with the pinned log key: " + pinned.status().message());
    }
    c.SetLatest(std::move(pinned).value());
  }
  TrustState().loaded[&c] = std::move(note);
  return Status::Ok();
}
}  // namespace

Result<std::unique_ptr<client::LedgerClient>> ConnectVerified() {
  PROV_ASSIGN_OR_RETURN(auto c, Connect());
  PROV_RETURN_IF_ERROR(c->GetCheckpoint().status());
  return c;
}

Status SaveTrust(const client::LedgerClient& c) {
  if (!c.latest()) return Status::Ok();
  PROV_ASSIGN_OR_RETURN(client::TrustStore * store, OpenTrustStore(c.verifier()));
  const auto& loaded = TrustState().loaded;
  auto it = loaded.find(&c);
  // A client not made by Connect has checked nothing: any stored note is new to it.
  return store->Save(c, it != loaded.end() ? it->second : std::nullopt);
}

Status LoggedBefore(
    const Status& s,
    const std::vector<std::pair<std::string, client::LedgerClient::Appended>>& logged) {
  if (logged.empty()) return s;
  std::string list;
  for (const auto& [label, r] : logged) {
    list += (list.empty() ? "" : ", ") + label + " at #" + std::to_string(r.index);
  }
  return Status(s.code(), s.reason(),
                s.message() + " (logged all the same, inclusion verified: " + list + ")");
}

json HeadJson(const verifier::Checkpoint& c) {
  auto t = verifier::CheckpointTime(c);
  return {{"origin", c.origin},
          {"size", c.size},
          {"root", verifier::HexEncode(c.root)},
          {"time", t.ok() && *t ? json(*t) : json(nullptr)}};
}

void PrintAppended(const std::string& field, const std::string& label,
                   const client::LedgerClient::Appended& r) {
  if (G().json) {
    std::cout << json{{"ok", true},
                      {field, label},
                      {"index", r.index},
                      {"already_logged", r.already_logged},
                      {"checkpoint", HeadJson(r.checkpoint.checkpoint)}}
                     .dump()
              << "\n";
  } else {
    std::printf("%s logged at #%llu (%sinclusion in tree of size %llu verified)\n", label.c_str(),
                static_cast<unsigned long long>(r.index),
                r.already_logged ? "already logged; " : "",
                static_cast<unsigned long long>(r.checkpoint.checkpoint.size));
  }
}

std::string RecordJson(const google::protobuf::Message& r) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(r, &out, o);
  return out;
}

Result<verifier::SigningKey> LoadKey(const std::string& path) {
  return verifier::ReadKeyFile(path);
}

}  // namespace prov
