// provd: the provenance ledger server.
//   provd init  --data-dir DIR --origin NAME --authority NAME=PUBHEX... --threshold N
//   provd serve --data-dir DIR --listen HOST:PORT [--tiles-dir DIR [--http-listen HOST:PORT]]
//               [--metrics-listen HOST:PORT] [--log-format text|json]
//   provd backup --data-dir DIR --to BACKUP_DIR      (online or offline)
//   provd restore --from BACKUP_DIR --data-dir DIR [--force]
// The data directory holds db/ (RocksDB), log.key (0600) and log.vkey; while
// serving, also admin.sock (0600), through which `provd backup` asks for a
// consistent checkpoint.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "config/yaml_options.h"
#include "ledger/admin_socket.h"
#include "ledger/backup.h"
#include "ledger/json_log.h"
#include "ledger/ledger.h"
#include "ledger/log_key_rotation.h"
#include "ledger/metrics.h"
#include "ledger/service.h"
#include "ledger/tile_http.h"
#include "ledger/tile_publisher.h"
#include "ledger/verify_store.h"
#include "records/records.h"
#include "transport/credentials.h"
#include "verifier/tlog_policy.h"
#include "witness/cosigner.h"

namespace {

namespace fs = std::filesystem;
using verifier::Result;
using verifier::Status;

constexpr int kExitUsage = 2;

std::string DbPath(const std::string& dir) { return dir + "/db"; }
std::string KeyPath(const std::string& dir) { return dir + "/log.key"; }
std::string VkeyPath(const std::string& dir) { return dir + "/log.vkey"; }

int Fail(const Status& s) {
  spdlog::error("{}", s.ToString());
  return 1;
}

// The exit code of a failed backup or restore: 3 when the data does not
// verify (DATA_LOSS, as `provd verify`), 1 for every refusal.
int BackupExitCode(const Status& s) { return s.code() == verifier::Code::kDataLoss ? 3 : 1; }

int FailBackup(const Status& s) {
  spdlog::error("{}", s.ToString());
  return BackupExitCode(s);
}

int Init(const std::string& dir, const std::string& origin,
         const std::vector<std::string>& authorities, uint32_t threshold) {
  std::vector<std::pair<std::string, verifier::PublicKey>> keys;
  for (const auto& a : authorities) {
    auto eq = a.find('=');
    auto pk = verifier::HexDecode(eq == std::string::npos ? "" : a.substr(eq + 1));
    if (eq == std::string::npos || !pk.ok() || pk->size() != 32) {
      spdlog::error("--authority must be NAME=<64 hex digits of an Ed25519 public key>: {}", a);
      return kExitUsage;
    }
    verifier::PublicKey key;
    std::copy(pk->begin(), pk->end(), key.begin());
    keys.emplace_back(a.substr(0, eq), key);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(verifier::FailedPrecondition("DATA_DIR", dir + ": " + ec.message()));
  if (fs::exists(DbPath(dir))) {
    return Fail(verifier::AlreadyExists("LEDGER_EXISTS", "a ledger already exists in " + dir));
  }
  verifier::SigningKey log_key = verifier::SigningKey::Generate();
  if (Status s = verifier::WriteKeyFile(KeyPath(dir), log_key); !s.ok()) return Fail(s);
  auto kv = ledger::OpenRocksKvStore(DbPath(dir), /*create=*/true);
  if (!kv.ok()) return Fail(kv.status());
  auto genesis = records::GenesisRecord(origin, keys, threshold);
  if (Status s = ledger::Ledger::Init(kv->get(), log_key, genesis); !s.ok()) return Fail(s);
  std::string vkey = verifier::FormatVerifierKey(origin, log_key.public_key());
  std::ofstream(VkeyPath(dir)) << vkey << "\n";
  std::printf("%s\n", vkey.c_str());
  spdlog::info("created ledger {} in {}; pin the log key above (also in {})", origin, dir,
               VkeyPath(dir));
  return 0;
}

struct ServeOptions {
  std::string listen = "127.0.0.1:7400";
  size_t max_batch = 4096;
  int64_t checkpoint_refresh = 60;
  transport::TlsFiles tls;
  bool writes_need_client_cert = false;
  std::string tiles_dir;       // publish C2SP tlog-tiles there (docs/tiles.md)
  std::string http_listen;     // serve tiles_dir over plain HTTP
  bool http_public = false;    // allow a non-loopback http_listen
  std::string witness_policy;  // tlog-policy: witnesses to send checkpoints to
  int64_t witness_timeout_ms = 3000;
  int64_t publish_interval_ms = 500;
  std::string metrics_listen;   // serve GET /metrics there (off when empty)
  bool metrics_public = false;  // allow a non-loopback metrics_listen
  std::string log_format = "text";
};

// The ledger's storage status as logs and gRPC health ("" and
// provenance.v1.Ledger): SERVING while writes are taken, NOT_SERVING after a failed write
// until the disk takes writes again. Thread-safe.
class StorageHealth {
 public:
  // The sequencer thread, at each change.
  void Changed(const Status& s) {
    if (s.ok()) {
      spdlog::info(
          "storage recovered: the durable head was reloaded and verified; taking writes "
          "again (health SERVING)");
    } else {
      spdlog::error("storage failed, refusing writes (health NOT_SERVING) until it recovers: {}",
                    s.ToString());
    }
    std::lock_guard lock(mu_);
    ok_ = s.ok();
    Set();
  }
  // Sets `service` (nullptr: none) to the current status and follows it.
  void Follow(grpc::HealthCheckServiceInterface* service) {
    std::lock_guard lock(mu_);
    service_ = service;
    Set();
  }

 private:
  void Set() {  // REQUIRES: mu_ held
    if (!service_) return;
    service_->SetServingStatus(ok_);  // "" (the server)
    service_->SetServingStatus(provenance::v1::Ledger::service_full_name(), ok_);
  }

  std::mutex mu_;
  bool ok_ = true;                                        // GUARDED_BY(mu_)
  grpc::HealthCheckServiceInterface* service_ = nullptr;  // GUARDED_BY(mu_)
};

// The witnesses of a C2SP tlog-policy file that provd sends its checkpoints
// to (those with a URL). The policy's `log` lines, if any, must include this
// log.
Result<std::vector<verifier::PolicyWitness>> LoadWitnesses(const std::string& path,
                                                           const std::string& vkey) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return verifier::InvalidArgument("BAD_FLAGS", "cannot read --witness-policy " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto policy = verifier::ParseTlogPolicy(text);
  if (!policy.ok()) {
    return verifier::InvalidArgument(policy.status().reason(),
                                     path + ": " + policy.status().message());
  }
  if (!policy->logs.empty() &&
      std::none_of(policy->logs.begin(), policy->logs.end(),
                   [&](const verifier::PolicyLog& l) { return l.vkey == vkey; })) {
    return verifier::InvalidArgument("POLICY_OTHER_LOG",
                                     path + " lists logs, but not this one (" + vkey + ")");
  }
  std::vector<verifier::PolicyWitness> out;
  for (const auto& w : policy->witnesses) {
    if (!w.url.empty()) out.push_back(w);
  }
  if (out.empty()) {
    return verifier::InvalidArgument("POLICY_NO_WITNESS_URL",
                                     path + " names no witness with a URL to send checkpoints to");
  }
  return out;
}

int Serve(const std::string& dir, const ServeOptions& o) {
  const std::string& listen = o.listen;
  // Block termination signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // After the mask: creating credentials starts gRPC's threads.
  auto creds = transport::ServerCredentials(o.tls, listen);
  if (!creds.ok()) return Fail(creds.status());
  if (o.writes_need_client_cert && o.tls.ca.empty()) {
    return Fail(verifier::InvalidArgument(
        "BAD_FLAGS", "--writes-need-client-cert needs --tls-client-ca (and --tls-cert/--tls-key)"));
  }

  auto key = verifier::ReadKeyFile(KeyPath(dir));
  if (!key.ok()) return Fail(key.status());
  auto kv = ledger::OpenRocksKvStore(DbPath(dir), /*create=*/false);
  if (!kv.ok()) return Fail(kv.status());
  if (!o.witness_policy.empty() && o.tiles_dir.empty()) {
    return Fail(verifier::InvalidArgument(
        "BAD_FLAGS", "--witness-policy needs --tiles-dir (witnesses cosign published heads)"));
  }
  // Metrics: only with --metrics-listen (nothing is counted otherwise).
  std::unique_ptr<ledger::Metrics> metrics;
  if (!o.metrics_listen.empty()) metrics = std::make_unique<ledger::Metrics>();
  // A failed write stops writes until the disk takes them again: logged once
  // per change, and the gRPC health status follows (NOT_SERVING meanwhile).
  StorageHealth health;
  ledger::LedgerOptions options;
  options.on_storage_change = [&health](const Status& s) { health.Changed(s); };
  options.metrics = metrics.get();
  options.max_batch = o.max_batch;
  options.checkpoint_refresh = std::chrono::seconds(std::max<int64_t>(1, o.checkpoint_refresh));
  auto opened = ledger::Ledger::Open(std::move(kv).value(), *key, options);
  if (!opened.ok()) {
    spdlog::critical("refusing to serve: {}", opened.status().ToString());
    return 3;
  }
  std::unique_ptr<ledger::Ledger> ledger = std::move(opened).value();
  // `provd backup` asks this process for checkpoints: it holds the database.
  auto started_admin = ledger::AdminSocket::Start(ledger::DataDirAdminSocket(dir), &ledger->kv());
  std::unique_ptr<ledger::AdminSocket> admin;
  if (started_admin.ok()) {
    admin = std::move(started_admin).value();
  } else if (started_admin.status().reason() == "SOCKET_PATH_TOO_LONG") {
    spdlog::warn("no online backups: {}", started_admin.status().ToString());
  } else {
    return Fail(started_admin.status());
  }
  std::unique_ptr<ledger::MetricsHttpServer> metrics_http;  // stopped before `ledger` goes
  if (metrics) {
    const ledger::Ledger* l = ledger.get();
    metrics->SetStorageOk([l] { return l->StorageStatus().ok(); });
    metrics->SetTreeSize([l] { return l->Checkpoint()->size(); },
                         [l] { return l->Head(/*published=*/true)->size(); });
    metrics->SetKvStore(&ledger->kv());
    auto started =
        ledger::MetricsHttpServer::Start(metrics.get(), o.metrics_listen, o.metrics_public);
    if (!started.ok()) return Fail(started.status());
    metrics_http = std::move(started).value();
  }

  // Static tiles: a publisher thread behind the sequencer, and optionally an
  // HTTP server for the directory.
  std::unique_ptr<witness::Cosigner> cosigner;  // outlives `tiles`, which calls it
  std::unique_ptr<ledger::TileFollower> tiles;
  std::unique_ptr<ledger::TileHttpServer> http;
  if (!o.http_listen.empty() && o.tiles_dir.empty()) {
    return Fail(verifier::InvalidArgument("BAD_FLAGS", "--http-listen needs --tiles-dir"));
  }
  if (!o.tiles_dir.empty()) {
    if (!o.http_listen.empty()) {
      auto started = ledger::TileHttpServer::Start(o.tiles_dir, o.http_listen, o.http_public);
      if (!started.ok()) return Fail(started.status());
      http = std::move(started).value();
    }
    auto publisher = ledger::TilePublisher::Open(o.tiles_dir, *ledger);
    if (!publisher.ok()) {
      spdlog::critical("refusing to publish tiles in {}: {}", o.tiles_dir,
                       publisher.status().ToString());
      return 3;
    }
    // Between "tiles durable" and "checkpoint written", the witnesses cosign
    // (each bounded by --witness-timeout-ms); the note is published with the
    // cosignatures that came back, and readers are served that note.
    ledger::CheckpointHook hook;
    if (!o.witness_policy.empty()) {
      auto witnesses = LoadWitnesses(o.witness_policy, ledger->verifier_key());
      if (!witnesses.ok()) return Fail(witnesses.status());
      const ledger::Ledger* l = ledger.get();
      cosigner = std::make_unique<witness::Cosigner>(
          std::move(witnesses).value(),
          [l](uint64_t a, uint64_t b) { return l->ConsistencyHashes(a, &b); },
          std::chrono::milliseconds(std::max<int64_t>(1, o.witness_timeout_ms)));
      hook = [c = cosigner.get(), m = metrics.get()](const std::string& note,
                                                     uint64_t size) -> Result<std::string> {
        std::vector<witness::Cosigner::Outcome> outcomes;
        std::string cosigned = c->Cosign(note, size, &outcomes);
        for (const auto& out : outcomes) {
          if (m)
            m->RecordWitnessAnswer(out.witness, out.status.ok() ? "cosigned" : out.status.reason());
          if (!out.status.ok()) {
            spdlog::warn("witness {} did not cosign size {}: {}", out.witness, size,
                         out.status.ToString());
          }
        }
        return cosigned;
      };
      spdlog::info("witnessing: {} witnesses, {} ms each at most", cosigner->witnesses(),
                   o.witness_timeout_ms);
    }
    ledger::Ledger* l = ledger.get();
    tiles = std::make_unique<ledger::TileFollower>(
        ledger.get(), std::move(publisher).value(), std::move(hook),
        [](const Status& s) { spdlog::error("publishing tiles: {}", s.ToString()); },
        [l](const std::string& note) {
          if (Status s = l->SetPublished(note); !s.ok()) {
            spdlog::error("published head refused: {}", s.ToString());
          }
        },
        std::chrono::milliseconds(std::max<int64_t>(0, o.publish_interval_ms)));
  }
  ledger::ServiceOptions service_options;
  service_options.writes_need_client_cert = o.writes_need_client_cert;
  service_options.metrics = metrics.get();
  ledger::LedgerService service(ledger.get(), service_options);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, *creds, &port);
  builder.SetMaxReceiveMessageSize(256 * 1024);
  builder.SetMaxSendMessageSize(8 * 1024 * 1024);
  grpc::ResourceQuota quota("provd");
  quota.SetMaxThreads(256);
  builder.SetResourceQuota(quota);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::critical("cannot listen on {}", listen);
    return 1;
  }
  health.Follow(server->GetHealthCheckService());
  auto ckpt = ledger->Checkpoint();
  std::string host = listen.substr(0, listen.rfind(':'));
  if (http) {
    // Before the "serving" line, which scripts wait for.
    std::printf("provd: tiles on http://%s:%d\n", http->host().c_str(), http->port());
  }
  if (metrics_http) {
    std::printf("provd: metrics on http://%s:%d/metrics\n", metrics_http->host().c_str(),
                metrics_http->port());
  }
  // Scripts and tests read this line for the port.
  std::printf("provd: serving %s (size %llu) on %s:%d\n", ledger->origin().c_str(),
              static_cast<unsigned long long>(ckpt->size()), host.c_str(), port);
  spdlog::info("transport: {}", o.tls.cert.empty() ? "plaintext (loopback only)"
                                : o.writes_need_client_cert
                                    ? "TLS; writes need a client certificate"
                                : o.tls.ca.empty() ? "TLS"
                                                   : "TLS; client certificates verified");
  std::fflush(stdout);
  spdlog::info("log key {}", ledger->verifier_key());

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: draining and shutting down", sig);
    service.StopWatchers();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  });
  server->Wait();
  waiter.join();
  admin.reset();  // the backup in progress finishes first
  metrics_http.reset();
  http.reset();
  tiles.reset();     // after the round in progress
  cosigner.reset();  // no witness request reads the ledger after this
  ledger.reset();    // drains queued submissions
  health.Follow(nullptr);
  spdlog::info("stopped");
  return 0;
}

int Verify(const std::string& dir) {
  auto key = verifier::ReadKeyFile(KeyPath(dir));
  if (!key.ok()) return Fail(key.status());
  auto kv = ledger::OpenRocksKvStore(DbPath(dir), /*create=*/false);
  if (!kv.ok()) return Fail(kv.status());
  auto report = ledger::VerifyStore(**kv, key->public_key(),
                                    [](uint64_t n) { spdlog::info("verified {} entries", n); });
  if (!report.ok()) {
    spdlog::critical("{}", report.status().ToString());
    return 3;
  }
  std::printf("ok: %llu entries, root %s, %llu state entries match a full replay\n",
              static_cast<unsigned long long>(report->size),
              verifier::HexEncode(report->root).c_str(),
              static_cast<unsigned long long>(report->state_entries));
  return 0;
}

int Backup(const std::string& dir, const std::string& to) {
  auto live = ledger::DatabaseInUse(ledger::DataDirDb(dir));
  if (!live.ok()) return FailBackup(live.status());
  std::unique_ptr<ledger::KvStore> kv;  // offline: this process holds the database
  auto checkpoint = [&](const std::string& db) -> Status {
    if (*live) return ledger::RequestCheckpoint(ledger::DataDirAdminSocket(dir), db);
    auto opened = ledger::OpenRocksKvStore(ledger::DataDirDb(dir), /*create=*/false);
    if (!opened.ok()) return opened.status();
    kv = std::move(opened).value();
    return kv->CreateCheckpoint(db);
  };
  auto start = std::chrono::steady_clock::now();
  auto info = ledger::MakeBackup(dir, to, checkpoint);
  if (!info.ok()) return FailBackup(info.status());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("backup: %s size %llu root %s in %s (%s, %.2f s)\n", info->origin.c_str(),
              static_cast<unsigned long long>(info->size), verifier::HexEncode(info->root).c_str(),
              to.c_str(), *live ? "online, from the running provd" : "offline", secs);
  return 0;
}

int RotateLogKey(const std::string& dir, bool prepare) {
  if (prepare) {
    auto next = ledger::PrepareLogKey(dir);
    if (!next.ok()) return Fail(next.status());
    spdlog::info("the next log key is ready in {}: give its verifier key (above) to the witnesses "
                 "(they accept either key), then stop provd and run rotate-log-key again",
                 ledger::DataDirNextKey(dir));
    std::printf("%s\n", next->c_str());
    return 0;
  }
  auto r = ledger::RotateLogKey(dir);
  if (!r.ok()) return Fail(r.status());
  if (r->finished) {
    spdlog::info("finished an interrupted rotation: the log key is now the one it rotated to");
  } else {
    spdlog::info("log key rotated at #{}: checkpoints from size {} on are signed by the new key",
                 r->index, r->index + 1);
  }
  spdlog::info("old key {}", r->old_vkey);
  spdlog::info(
      "clients that pinned the old key follow the rotation; pin the new key above "
      "for new clients (also in {})",
      VkeyPath(dir));
  std::printf("%s\n", r->new_vkey.c_str());
  return 0;
}

int Restore(const std::string& from, const std::string& dir, bool force) {
  auto start = std::chrono::steady_clock::now();
  auto report =
      ledger::Restore(from, dir, force, [](uint64_t n) { spdlog::info("verified {} entries", n); });
  if (!report.ok()) return FailBackup(report.status());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "restored: %llu entries, root %s, %llu state entries match a full replay, into %s "
      "(%.2f s)\n",
      static_cast<unsigned long long>(report->size), verifier::HexEncode(report->root).c_str(),
      static_cast<unsigned long long>(report->state_entries), dir.c_str(), secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  CLI::App app{"provd: the provenance ledger server for security cameras"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("provd ") + PROV_VERSION);
  app.set_help_all_flag("--help-all", "every subcommand's options (the man page)");

  std::string dir, origin;
  ServeOptions so;
  std::vector<std::string> authorities;
  uint32_t threshold = 1;

  auto* init = app.add_subcommand("init", "create a ledger: log key, genesis record");
  init->add_option("--data-dir", dir, "directory for the database and log key")->required();
  init->add_option("--origin", origin, "log origin, e.g. camera-provenance.example/log")
      ->required();
  init->add_option("--authority", authorities, "authority key NAME=PUBHEX (repeatable)")
      ->required();
  init->add_option("--threshold", threshold, "authority signatures needed")->default_val(1);

  auto* serve = app.add_subcommand("serve", "serve the ledger over gRPC");
  serve->add_option("--data-dir", dir, "directory made by `provd init`")->required();
  serve->add_option("--listen", so.listen, "HOST:PORT (port 0 picks a free one)")
      ->default_val(so.listen);
  serve->add_option("--max-batch", so.max_batch, "records per commit")
      ->check(CLI::Range(1, 1 << 20))
      ->default_val(4096);
  serve
      ->add_option("--checkpoint-refresh", so.checkpoint_refresh,
                   "seconds after which an idle head is re-signed with a fresh Timestamp line")
      ->check(CLI::Range(1, 86400))
      ->default_val(60);
  serve->add_option("--tls-cert", so.tls.cert, "PEM server certificate chain (TLS)");
  serve->add_option("--tls-key", so.tls.key, "PEM private key of --tls-cert");
  serve->add_option("--tls-client-ca", so.tls.ca,
                    "PEM CA: verify client certificates (mTLS) when presented");
  serve->add_flag("--writes-need-client-cert", so.writes_need_client_cert,
                  "Submit/SubmitStream only with a verified client certificate");
  serve->add_flag("--plaintext", so.tls.plaintext, "no TLS (only on a loopback --listen)");
  serve->add_option("--tiles-dir", so.tiles_dir,
                    "publish the log there as C2SP tlog-tiles static files (docs/tiles.md)");
  serve->add_option("--http-listen", so.http_listen,
                    "HOST:PORT: serve --tiles-dir over plain HTTP (port 0 picks a free one)");
  serve
      ->add_option("--publish-interval-ms", so.publish_interval_ms,
                   "with --tiles-dir: at most one published head per interval (under load each "
                   "then covers many commits; an idle log's new head is published at once)")
      ->check(CLI::Range(0, 3600 * 1000))
      ->default_val(so.publish_interval_ms);
  serve->add_option(
      "--witness-policy", so.witness_policy,
      "C2SP tlog-policy file: send each published checkpoint to its witnesses "
      "(those with a URL) and publish it with their cosignatures (needs --tiles-dir)");
  serve
      ->add_option("--witness-timeout-ms", so.witness_timeout_ms,
                   "how long a checkpoint waits for its witnesses before it is published "
                   "with the cosignatures gathered")
      ->check(CLI::Range(1, 600 * 1000))
      ->default_val(so.witness_timeout_ms);
  serve->add_flag("--http-public", so.http_public,
                  "allow a non-loopback --http-listen (plain HTTP; prefer nginx or a CDN)");
  serve->add_option("--metrics-listen", so.metrics_listen,
                    "HOST:PORT: serve Prometheus metrics at http://HOST:PORT/metrics (loopback "
                    "only unless --metrics-public; off by default)");
  serve->add_flag("--metrics-public", so.metrics_public,
                  "allow a non-loopback --metrics-listen (plain HTTP, no authentication)");
  serve->add_option("--log-format", so.log_format, "log lines as text or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val(so.log_format);
  // `--config FILE`: the same settings as YAML keys (docs/config.md); last,
  // so that it sees every serve option.
  config::YamlOptions serve_config(serve);

  auto* verify = app.add_subcommand(
      "verify", "offline full check: re-hash and replay every leaf, compare tree and state");
  verify->add_option("--data-dir", dir, "directory made by `provd init`")->required();

  auto* rotate = app.add_subcommand(
      "rotate-log-key",
      "with provd stopped: a new log key, announced in the log by a record the old key signs");
  rotate->add_option("--data-dir", dir, "directory made by `provd init`")->required();
  bool prepare = false;
  rotate->add_flag("--prepare", prepare,
                   "only make the next key (log.key.next) and print its verifier key, for the "
                   "witnesses; works while provd serves");

  std::string to, from;
  bool force = false;
  auto* backup = app.add_subcommand(
      "backup", "consistent copy of the ledger (also while provd serves it): db, log key, vkey");
  backup->add_option("--data-dir", dir, "directory made by `provd init`")->required();
  backup->add_option("--to", to, "new (or empty) directory for the backup, outside --data-dir")
      ->required();
  auto* restore = app.add_subcommand(
      "restore", "restore a backup into a data directory, then verify it as `provd verify` does");
  restore->add_option("--from", from, "directory made by `provd backup`")->required();
  restore->add_option("--data-dir", dir, "directory to restore into (missing or empty)")
      ->required();
  restore->add_flag("--force", force,
                    "replace a non-empty --data-dir (never one a provd is serving)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  // A bad config file is a usage error like a bad flag: refused before
  // anything is opened.
  if (*serve) {
    if (Status s = serve_config.Apply(); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return kExitUsage;
    }
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ provd: %v");
  if (*serve && so.log_format == "json") ledger::UseJsonLogLines();
  if (*init) return Init(dir, origin, authorities, threshold);
  if (*verify) return Verify(dir);
  if (*rotate) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("provd-stderr"));  // stdout: the new key
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ provd: %v");
    return RotateLogKey(dir, prepare);
  }
  if (*backup || *restore) {
    // The result line on stdout, every diagnostic on stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("provd-stderr"));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ provd: %v");
  }
  if (*backup) return Backup(dir, to);
  if (*restore) return Restore(from, dir, force);
  return Serve(dir, so);
}
