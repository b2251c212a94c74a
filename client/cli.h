// Shared plumbing of the `prov` subcommands: global options, exit codes,
// error reporting, files, the trust store, and registration of each group of
// subcommands (one source file per group).
//
// Exit codes (README "Exit codes", docs/json.md): 0 ok / TRUSTED;
// 1 REJECTED (by a check) or refused by the ledger's rules; 2 UNVERIFIED
// (cannot tell); 3 security failure (fork, rollback, tampered evidence, bad
// proof, wrong log key: an incident, do not retry); 4 unavailable (no
// server answered: retry); 5 local failure (cannot write a file or the
// trust store); 64 usage (bad command line, unknown id, bad input file).
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
#include "verifier/tlog_policy.h"

namespace prov {

using json = nlohmann::json;
using verifier::Result;
using verifier::Status;
namespace pb = provenance::v1;

inline constexpr int kOk = 0, kRejected = 1, kUnverified = 2, kSecurity = 3, kUnavailable = 4,
                     kLocalError = 5, kUsage = 64;

// The exit code a failure maps to (the one place that decides): DATA_LOSS
// (did not verify) -> kSecurity; UNAVAILABLE / DEADLINE_EXCEEDED /
// UNREACHABLE -> kUnavailable; TRUST_STORE / WRITE_FAILED -> kLocalError;
// INVALID_ARGUMENT / NOT_FOUND / OUT_OF_RANGE (local input) -> kUsage;
// anything else -> kUnverified. Refusals of a submission are mapped by
// ReportSubmitError instead.
int ExitFor(const Status& s);

struct Globals {
  std::string server = "127.0.0.1:7400";
  std::string vkey_file;
  std::string state_dir;
  bool json = false;
  transport::TlsFiles tls;  // to provd: --tls-ca, --tls-cert, --tls-key, --plaintext
  // A C2SP tlog-tiles mirror of the log (--tiles-url, --tiles-ca): reads
  // only (ConnectReader). `server_given`: --server on the command line or
  // PROV_SERVER; `server_on_command_line`: the former.
  std::string tiles_url, tiles_ca;
  double tiles_timeout = 10;  // seconds, connect and read (--tiles-timeout)
  bool server_given = false, server_on_command_line = false;
  std::string command;  // "prov log entries": the subcommand given (for messages)
  // C2SP tlog-policy file (--witness-policy, PROV_WITNESS_POLICY); empty: none.
  std::string witness_policy_file;
};
Globals& G();

// Runs `fn` when subcommand `sub` was given; its result is the exit code.
void OnRun(CLI::App* sub, std::function<int()> fn);
int& ExitCode();

// True for a rule violation (the ledger refused a record): exit code 1.
bool IsRefusal(const Status& s);
// Prints `s` (text to stderr, or a JSON object to stdout) and returns `rc`
// (by default ExitFor(s)). The JSON object is {"ok": false, "reason",
// "message", "exit_code"}.
int Report(const Status& s, int rc = -1);
// kRejected for the ledger's refusals, ExitFor(s) otherwise.
int ReportSubmitError(const Status& s);

Result<std::string> ReadFile(const std::string& path);
Status WriteFile(const std::string& path, const std::string& data);
std::string Trim(std::string s);

// Reads the pinned log key (--vkey); fails with NO_LOG_KEY without one.
Result<std::string> PinnedVkey();
// The witness policy of --witness-policy, parsed once against the pinned
// log key (client/witness_policy.h; a bad file is a usage error naming the
// file and line); null without the option. Connect() and ConnectReader()
// give it to the client, so every head it adopts meets the quorum.
Result<std::shared_ptr<const verifier::TlogPolicy>> WitnessPolicy();
// Connects with the pinned log key and opens the trust store
// (client/trust_store.h; --state-dir, else the XDG state directory) before
// anything is sent, failing with TRUST_STORE if it cannot be used; its
// checkpoint (if any) becomes the head every later checkpoint must be
// consistent with.
Result<std::unique_ptr<client::LedgerClient>> Connect();
// The client for reading the log: over tiles when --tiles-url is given
// (--server on the command line as well is a USAGE error), else Connect().
// The same trust store either way.
Result<std::unique_ptr<client::LedgerClient>> ConnectReader();
// Connect() and ConnectVerified() need provd: with --tiles-url and no
// --server (nor PROV_SERVER) they fail with InvalidArgument NEEDS_SERVER
// (exit 64), naming the command. RequireServer() is that check alone, for
// commands that would do other work (scan a camera) before connecting.
Status RequireServer();
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

// Signs each record with every key file; writes them to `out` (FILE, or
// FILE.1, FILE.2, ... for several) or, when `out` is empty, submits each and
// proves its inclusion. Returns the exit code (prov_registry.cc).
int SignAndSubmit(const std::vector<pb::Record>& records, const std::vector<std::string>& key_files,
                  const std::string& out);
// Adds --key (required; repeatable when `cosignable`) and --out to `sub`.
void SigningOptions(CLI::App* sub, std::vector<std::string>& keys, std::string& out,
                    bool cosignable);

// Subcommand groups.
void AddKeyCommands(CLI::App& app);       // prov.cc: key
void AddRecordCommands(CLI::App& app);    // prov.cc: record, submit
void AddLogCommands(CLI::App& app);       // prov.cc: log, audit
void AddRegistryCommands(CLI::App& app);  // prov_registry.cc: authority, manufacturer, transfer, status
void AddImportCommands(
    CLI::App& app);  // prov_import.cc: authority import (after AddRegistryCommands)
void AddCheckCommands(CLI::App& app);     // prov_check.cc: check, delivery, bundle
void AddScanCommands(CLI::App& app);      // prov_scan.cc: scan
void AddDirectoryCommands(CLI::App& app); // prov.cc: org list, law list
void AddDiscoverCommands(CLI::App& app);  // prov_discover.cc: discover
// prov_hbom.cc: manufacturer import-hbom, model export-hbom (after AddRegistryCommands)
void AddHbomCommands(CLI::App& app);

}  // namespace prov
