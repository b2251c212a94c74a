// provwitness: a C2SP tlog-witness server.
//
//   provwitness init  --state-dir DIR --name NAME
//   provwitness serve --state-dir DIR --listen HOST:PORT
//                     (--log VKEY ... | --config FILE) [--public]
//                     [--replay [--tiles-ca FILE]]
//
// DIR holds witness.key (the Ed25519 seed, hex, mode 0600), witness.vkey and
// logs/ (the latest cosigned checkpoint of each log) and, with --replay,
// replay/ (the replayed state of each log). docs/witness.md,
// docs/witness-replay.md.
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "transport/host_port.h"
#include "verifier/cosignature.h"
#include "verifier/crypto.h"
#include "verifier/note.h"
#include "verifier/tlog_policy.h"
#include "witness/replay.h"
#include "witness/server.h"
#include "witness/witness.h"

namespace {

namespace fs = std::filesystem;
using verifier::Status;

int Fail(const Status& st) {
  std::fprintf(stderr, "provwitness: %s\n", st.ToString().c_str());
  return 1;
}

std::string ReadAll(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int Init(const std::string& dir, const std::string& name) {
  if (!verifier::IsValidKeyName(name)) {
    return Fail(verifier::InvalidArgument(
        "BAD_NAME", "witness name must be non-empty with no spaces or '+' (e.g. example.com/w1)"));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Fail(verifier::Internal("STATE_DIR", "cannot create " + dir + ": " + ec.message()));
  ::chmod(dir.c_str(), 0700);
  verifier::SigningKey key = verifier::SigningKey::Generate();
  Status st = verifier::WriteKeyFile(dir + "/witness.key", key);
  if (!st.ok()) return Fail(st);
  std::string vkey = verifier::FormatWitnessKey(name, key.public_key());
  st = witness::WriteFileDurably(dir + "/witness.vkey", vkey + "\n");
  if (!st.ok()) return Fail(st);
  std::printf("%s\n", vkey.c_str());
  return 0;
}

int Serve(const std::string& dir, const std::string& listen,
          const std::vector<std::string>& log_vkeys, const std::string& config, bool allow_public,
          bool replay, const std::string& tiles_ca) {
  witness::WitnessOptions opts;
  opts.state_dir = dir;
  auto key = verifier::ReadKeyFile(dir + "/witness.key");
  if (!key.ok()) return Fail(key.status());
  bool ok = false;
  std::string vkey_text = Trim(ReadAll(dir + "/witness.vkey", &ok));
  auto vkey = verifier::ParseWitnessKey(vkey_text);
  if (!ok || !vkey.ok()) {
    return Fail(verifier::DataLoss("STATE_CORRUPT", dir + "/witness.vkey is missing or not a "
                                                          "witness key (run provwitness init)"));
  }
  if (vkey->public_key != key->public_key()) {
    return Fail(
        verifier::DataLoss("STATE_CORRUPT", dir + "/witness.vkey does not match witness.key"));
  }
  opts.name = vkey->name;
  opts.key = *key;
  // origin -> tiles URL ("" when none is given), for --replay.
  std::map<std::string, std::string> urls;
  for (const auto& v : log_vkeys) {
    auto k = verifier::ParseVerifierKey(v);
    if (!k.ok()) return Fail(k.status());
    opts.logs.push_back(*k);
    urls.emplace(k->name, "");
  }
  if (!config.empty()) {
    std::string text = ReadAll(config, &ok);
    if (!ok) return Fail(verifier::NotFound("CONFIG", "cannot read " + config));
    auto p = verifier::ParseTlogPolicy(text, {.require_quorum = false});
    if (!p.ok())
      return Fail(
          Status(p.status().code(), p.status().reason(), config + ": " + p.status().message()));
    for (const auto& l : p->logs) {
      opts.logs.push_back(l.key);
      std::string& url = urls[l.key.name];
      if (!url.empty() && !l.url.empty() && url != l.url) {
        return Fail(verifier::InvalidArgument("REPLAY_DUPLICATE_LOG",
                                              config + ": two URLs for the log " + l.key.name));
      }
      if (!l.url.empty()) url = l.url;
    }
  }
  std::unique_ptr<witness::ReplayAuditor> auditor;
  if (replay) {
    witness::ReplayOptions ropts;
    ropts.state_dir = dir;
    ropts.ca_file = tiles_ca;
    ropts.on_replayed = [](const std::string& origin, uint64_t begin, uint64_t end) {
      std::printf("provwitness: replayed %s entries [%llu, %llu)\n", origin.c_str(),
                  static_cast<unsigned long long>(begin), static_cast<unsigned long long>(end));
      std::fflush(stdout);
    };
    for (const auto& [origin, url] : urls) {
      if (url.empty()) {
        return Fail(verifier::InvalidArgument("REPLAY_NO_URL",
                                              "--replay needs the tiles URL of " + origin +
                                                  ": give it as `log <vkey> <url>` in --config"));
      }
      ropts.logs.push_back({origin, url});
    }
    auto a = witness::ReplayAuditor::Open(std::move(ropts));
    if (!a.ok()) return Fail(a.status());
    auditor = std::move(a).value();
    opts.auditor = auditor.get();
  }
  auto host_port = transport::SplitHostPort(listen);
  if (!host_port) {
    return Fail(verifier::InvalidArgument("BAD_LISTEN", "--listen must be HOST:PORT"));
  }
  auto [host, port] = *host_port;
  auto w = witness::Witness::Open(std::move(opts));
  if (!w.ok()) return Fail(w.status());
  auto server = witness::HttpServer::Bind(w->get(), host, port, allow_public);
  if (!server.ok()) return Fail(server.status());

  // SIGINT/SIGTERM stop the server; blocked here so the server's threads
  // inherit the mask and only the waiter sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  witness::HttpServer* srv = server->get();
  std::thread waiter([set, srv]() mutable {
    int sig = 0;
    sigwait(&set, &sig);
    srv->Stop();
  });
  waiter.detach();
  std::printf("provwitness: serving on %s:%d as %s\n", host.c_str(), (*server)->port(),
              (*w)->vkey().c_str());
  std::fflush(stdout);
  bool served = (*server)->Serve();
  std::fprintf(stderr, "provwitness: stopped\n");
  return served ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  CLI::App app{"provwitness: a C2SP tlog-witness (docs/witness.md)"};
  app.set_version_flag("--version", std::string("provwitness ") + PROV_VERSION);
  app.set_help_all_flag("--help-all", "every subcommand's options (the man page)");
  app.require_subcommand(1);
  std::string dir, name, listen, config, tiles_ca;
  std::vector<std::string> logs;
  bool allow_public = false, replay = false;
  auto* init = app.add_subcommand("init", "create the witness key and print its vkey");
  init->add_option("--state-dir", dir, "state directory")->required();
  init->add_option("--name", name, "witness key name, e.g. example.com/w1")->required();
  auto* serve = app.add_subcommand("serve", "serve POST /add-checkpoint");
  serve->add_option("--state-dir", dir, "state directory")->required();
  serve->add_option("--listen", listen, "HOST:PORT (port 0: any)")->required();
  serve->add_option("--log", logs, "a log's verifier key (repeatable)");
  serve->add_option("--config", config, "file of `log <vkey> [url]` lines (tlog-policy syntax)");
  serve->add_flag("--public", allow_public, "allow a non-loopback address (plaintext HTTP)");
  serve->add_flag("--replay", replay,
                  "audit: replay each log's entries from its tiles URL (--config) through the "
                  "rulebook before cosigning");
  serve->add_option("--tiles-ca", tiles_ca, "with --replay: PEM CA file for https tiles URLs");
  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) return Init(dir, name);
  return Serve(dir, listen, logs, config, allow_public, replay, tiles_ca);
}
