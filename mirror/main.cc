// provmirror: a verifying mirror of a C2SP tlog-tiles log (docs/mirror.md).
//   provmirror serve --source URL --vkey FILE --data-dir DIR --tiles-dir DIR
//                    [--http-listen HOST:PORT] [--interval-ms N]
//   provmirror sync --once --source URL --vkey FILE --data-dir DIR --tiles-dir DIR
// Exit codes (sync --once): 0 in step, 1 local error or usage, 3 a security
// failure (halted), 4 the source unreachable.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "config/yaml_options.h"
#include "ledger/tile_http.h"
#include "mirror/mirror.h"

namespace {

using verifier::Status;

struct Flags {
  std::string source, vkey_file, ca_file, data_dir, tiles_dir, http_listen;
  bool http_public = false;
  bool once = false;
  int interval_ms = 5000;
};

int Fail(const Status& s) {
  spdlog::error("{}", s.ToString());
  return mirror::kExitLocal;
}

verifier::Result<std::unique_ptr<mirror::Mirror>> OpenMirror(const Flags& f) {
  std::ifstream in(f.vkey_file);
  if (!in) return verifier::NotFound("NO_VKEY", "cannot read --vkey " + f.vkey_file);
  std::string vkey(std::istreambuf_iterator<char>(in), {});
  while (!vkey.empty() && (vkey.back() == '\n' || vkey.back() == '\r' || vkey.back() == ' ')) {
    vkey.pop_back();
  }
  mirror::MirrorOptions o;
  o.source.url = f.source;
  o.source.ca_file = f.ca_file;
  o.vkey = vkey;
  o.data_dir = f.data_dir;
  o.tiles_dir = f.tiles_dir;
  return mirror::Mirror::Open(std::move(o));
}

void Report(const mirror::Mirror& m) {
  if (Status s = m.WriteStatusFile(); !s.ok()) spdlog::warn("status file: {}", s.ToString());
}

int SyncOnce(const Flags& f) {
  auto m = OpenMirror(f);
  if (!m.ok()) return Fail(m.status());
  Status s = (*m)->SyncOnce();
  Report(**m);
  const auto& st = (*m)->state();
  if (s.ok()) {
    std::printf("provmirror: in step at size %llu\n",
                static_cast<unsigned long long>(st.good_size));
  } else if (st.health != mirror::Health::kHalted) {  // Halt() logged it already
    spdlog::error("{} ({}); last good size {}", s.ToString(), mirror::HealthName(st.health),
                  st.good_size);
  }
  return mirror::ExitCode(st.health);
}

int Serve(const Flags& f) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto m = OpenMirror(f);
  if (!m.ok()) return Fail(m.status());
  std::unique_ptr<ledger::TileHttpServer> http;
  if (!f.http_listen.empty()) {
    auto started = ledger::TileHttpServer::Start(f.tiles_dir, f.http_listen, f.http_public);
    if (!started.ok()) return Fail(started.status());
    http = std::move(started).value();
    std::printf("provmirror: tiles on http://%s:%d\n", http->host().c_str(), http->port());
  }
  std::printf("provmirror: mirroring %s into %s\n", f.source.c_str(), f.tiles_dir.c_str());
  std::fflush(stdout);

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: stopping", sig);
    std::lock_guard lock(mu);
    stop = true;
    cv.notify_all();
  });
  mirror::Health last = mirror::Health::kFollowing;
  uint64_t last_size = (*m)->state().good_size;
  Report(**m);
  for (;;) {
    Status s = (*m)->SyncOnce();
    const auto& st = (*m)->state();
    if (st.health != last || st.good_size != last_size) {
      if (!s.ok() && st.health != mirror::Health::kHalted) {
        spdlog::warn("{} ({}); serving size {}, retrying", s.ToString(),
                     mirror::HealthName(st.health), st.good_size);
      } else if (s.ok() && last != mirror::Health::kFollowing) {
        spdlog::info("following again at size {}", st.good_size);
      }
      Report(**m);
      last = st.health;
      last_size = st.good_size;
    }
    std::unique_lock lock(mu);
    // Halted: keep serving the last good state until stopped.
    if (st.health == mirror::Health::kHalted) {
      cv.wait(lock, [&] { return stop; });
    } else {
      cv.wait_for(lock, std::chrono::milliseconds(f.interval_ms), [&] { return stop; });
    }
    if (stop) break;
  }
  waiter.join();
  http.reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  // Log lines on stderr; stdout carries the lines scripts read.
  spdlog::set_default_logger(spdlog::stderr_color_mt("provmirror"));
  CLI::App app{"provmirror: a verifying mirror of a C2SP tlog-tiles log"};
  app.set_version_flag("--version", std::string("provmirror ") + PROV_VERSION);
  app.set_help_all_flag("--help-all", "every subcommand's options (the man page)");
  app.require_subcommand(1);
  Flags f;
  auto common = [&f](CLI::App* c) {
    c->add_option("--source", f.source, "the source log's tiles URL (http[s]://HOST[:PORT][/PATH])")
        ->required();
    c->add_option("--vkey", f.vkey_file, "file holding the log's C2SP verifier key")
        ->required()
        ->check(CLI::ExistingFile);
    c->add_option("--source-ca", f.ca_file, "PEM CA certificates for an https source");
    c->add_option("--data-dir", f.data_dir, "the mirror's store (db/, status.json)")->required();
    c->add_option("--tiles-dir", f.tiles_dir, "where the mirror publishes its tiles")->required();
  };
  auto* serve = app.add_subcommand("serve", "follow the source and publish, until SIGTERM");
  common(serve);
  serve->add_option("--http-listen", f.http_listen, "serve --tiles-dir over HTTP on HOST:PORT");
  serve->add_flag("--http-public", f.http_public, "allow a non-loopback --http-listen");
  serve->add_option("--interval-ms", f.interval_ms, "between polls of the source")
      ->check(CLI::Range(10, 3600 * 1000));
  auto* sync = app.add_subcommand("sync", "one round: catch up with the source, then exit");
  common(sync);
  sync->add_flag("--once", f.once, "one round (the only mode)")->required();
  // `--config FILE`: the same settings as YAML keys (docs/config.md).
  config::YamlOptions serve_config(serve), sync_config(sync);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : mirror::kExitLocal;
  }
  if (Status s = (*serve ? serve_config : sync_config).Apply(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return mirror::kExitLocal;
  }
  if (*serve) return Serve(f);
  return SyncOnce(f);
}
