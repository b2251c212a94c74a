// Shared plumbing of the `prov` subcommands: global options, exit codes,
// error reporting, files, the trust store, and registration of each group of
// subcommands (one source file per group).
//
// Exit codes: 0 ok / trusted; 1 rejected (by the ledger or by a check);
// 2 cannot tell (usage, connection, verification failure).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "client/ledger_client.h"
#include "proto/records.pb.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace prov {

using json = nlohmann::json;
using verifier::Result;
using verifier::Status;
namespace pb = provenance::v1;

inline constexpr int kOk = 0, kRejected = 1, kCannotTell = 2;

struct Globals {
  std::string server = "127.0.0.1:7400";
  std::string vkey_file;
  std::string state_dir;
  bool json = false;
  transport::TlsFiles tls;  // to provd: --tls-ca, --tls-cert, --tls-key, --plaintext
};
Globals& G();

// Runs `fn` when subcommand `sub` was given; its result is the exit code.
void OnRun(CLI::App* sub, std::function<int()> fn);
int& ExitCode();

// True for a rule violation (the ledger refused a record): exit code 1.
bool IsRefusal(const Status& s);
// Prints `s` (text to stderr, or a JSON object to stdout) and returns `rc`.
int Report(const Status& s, int rc = kCannotTell);
// kRejected for refusals, kCannotTell otherwise.
int ReportSubmitError(const Status& s);

Result<std::string> ReadFile(const std::string& path);
Status WriteFile(const std::string& path, const std::string& data);
std::string Trim(std::string s);

// Reads the pinned log key (--vkey); fails with NO_LOG_KEY without one.
Result<std::string> PinnedVkey();
// Connects with the pinned log key and opens the trust store
// (client/trust_store.h; --state-dir, else the XDG state directory) before
// anything is sent, failing with TRUST_STORE if it cannot be used; its
// checkpoint (if any) becomes the head every later checkpoint must be
// consistent with.
Result<std::unique_ptr<client::LedgerClient>> Connect();
// Connect, then fetch and verify the server's checkpoint (pinned key, trust
// store) before anything is sent: a server with another log key gets no
// records from us.
Result<std::unique_ptr<client::LedgerClient>> ConnectVerified();
// Saves the client's newest verified checkpoint to the trust store, safely
// against other prov processes sharing it: a head another one stored
// meanwhile must be consistent with ours (else FORK), and the store never
// moves backwards. Call it before printing a success.
Status SaveTrust(const client::LedgerClient& c);
// A failed SaveTrust `s`, its message naming the records (label, ack) that
// were logged all the same, whose successes are therefore not printed.
Status LoggedBefore(
    const Status& s,
    const std::vector<std::pair<std::string, client::LedgerClient::Appended>>& logged);

json HeadJson(const verifier::Checkpoint& c);
// Prints one acknowledged submission: `LABEL logged at #N (inclusion in tree
// of size S verified)`, or with --json {"ok", FIELD: LABEL, "index",
// "already_logged", "checkpoint"}.
void PrintAppended(const std::string& field, const std::string& label,
                   const client::LedgerClient::Appended& r);
std::string RecordJson(const google::protobuf::Message& r);

// Loads a signing key file (0600) given with --key.
Result<verifier::SigningKey> LoadKey(const std::string& path);

// Subcommand groups.
void AddKeyCommands(CLI::App& app);       // prov.cc: key
void AddRecordCommands(CLI::App& app);    // prov.cc: record, submit
void AddLogCommands(CLI::App& app);       // prov.cc: log, audit
void AddRegistryCommands(CLI::App& app);  // prov_registry.cc: authority, manufacturer, transfer, status
void AddCheckCommands(CLI::App& app);     // prov_check.cc: check, scan, delivery, bundle

}  // namespace prov
