#include "client/cli.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace prov {

namespace fs = std::filesystem;

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

int Report(const Status& s, int rc) {
  if (G().json) {
    std::cout << json{{"ok", false}, {"reason", s.reason()}, {"message", s.message()}}.dump()
              << "\n";
  } else {
    std::fprintf(stderr, "prov: %s\n", s.ToString().c_str());
  }
  return rc;
}

int ReportSubmitError(const Status& s) {
  return Report(s, IsRefusal(s) ? kRejected : kCannotTell);
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

namespace {
// Trust store: the newest verified checkpoint lives in STATE_DIR/checkpoint.
std::string TrustFile() { return G().state_dir + "/checkpoint"; }
}  // namespace

Result<std::string> PinnedVkey() {
  if (G().vkey_file.empty()) {
    return verifier::InvalidArgument("NO_LOG_KEY",
                                     "--vkey FILE (the pinned log key) is required");
  }
  PROV_ASSIGN_OR_RETURN(std::string vkey, ReadFile(G().vkey_file));
  return Trim(vkey);
}

Result<std::unique_ptr<client::LedgerClient>> Connect() {
  PROV_ASSIGN_OR_RETURN(std::string vkey, PinnedVkey());
  PROV_ASSIGN_OR_RETURN(auto c, client::LedgerClient::Connect(G().server, vkey, G().tls));
  if (!G().state_dir.empty()) {
    auto note = ReadFile(TrustFile());
    if (note.ok()) {
      PROV_ASSIGN_OR_RETURN(auto pinned, c->VerifyNote(*note));
      c->SetLatest(std::move(pinned));
    }
  }
  return c;
}

Result<std::unique_ptr<client::LedgerClient>> ConnectVerified() {
  PROV_ASSIGN_OR_RETURN(auto c, Connect());
  PROV_RETURN_IF_ERROR(c->GetCheckpoint().status());
  return c;
}

Status SaveTrust(const client::LedgerClient& c) {
  if (G().state_dir.empty() || !c.latest()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(G().state_dir, ec);
  std::string tmp = TrustFile() + ".tmp";
  PROV_RETURN_IF_ERROR(WriteFile(tmp, c.latest()->note));
  fs::rename(tmp, TrustFile(), ec);
  if (ec) return verifier::FailedPrecondition("WRITE_FAILED", ec.message());
  return Status::Ok();
}

json HeadJson(const verifier::Checkpoint& c) {
  return {{"origin", c.origin}, {"size", c.size}, {"root", verifier::HexEncode(c.root)}};
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
