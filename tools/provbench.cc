// provbench: the end-to-end load benchmark. It creates a fresh ledger, starts
// a real `provd` on it, registers M manufacturers, pre-signs N device records
// (one device key each), streams them over S SubmitStream calls and reports:
//   appends/s (overall and per interval), ack latency p50/p99, inclusion-proof
//   latency p50/p99 (every proof verified), database bytes per entry, the
//   server's peak RSS, and the machine's Ed25519 verification ceiling.
//
//   provbench --provd build/ledger/provd --data-dir /tmp/bench --records 1000000
//
// With --metrics, provd serves /metrics (--metrics-listen 127.0.0.1:0) and
// provbench scrapes it every --metrics-scrape-ms during the run, so the
// figures can be set side by side with a run without.
//
// Exit codes: 0 every record acknowledged and every proof verified (targets
// are reported, and enforced only with --require-targets); 1 otherwise.
#include <httplib.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "records/records.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "tools/tls_options.h"
#include "verifier/merkle.h"

namespace {

namespace pb = provenance::v1;
using tools::MfrId;
using tools::PreSign;
using tools::Quantile;
using tools::SeededKey;
using tools::Setup;
using Clock = std::chrono::steady_clock;
using verifier::Status;

struct Options {
  std::string provd;
  std::string data_dir;
  tools::ToolTls tls;
  uint64_t records = 100000;
  int manufacturers = 4;
  int streams = 2;
  int window = 2048;  // unacknowledged records per stream
  int proofs = 2000;
  int max_batch = 0;  // 0: provd's default
  bool smoke = false;
  bool require_targets = false;
  std::string json;
  std::string prov;           // path to `prov`, for the delivery-check run
  uint64_t delivery = 10000;  // manifest rows for `prov delivery check`
  bool tiles = false;         // provd publishes static tiles
  int witnesses = 0;          // local provwitness processes cosigning (implies tiles)
  std::string provwitness;    // path to provwitness
  bool metrics = false;       // provd --metrics-listen, scraped while streaming
  int metrics_scrape_ms = 1000;
};

// Scrapes `url` (http://HOST:PORT/metrics) every `every` until destroyed;
// keeps the last body.
class Scraper {
 public:
  Scraper(const std::string& url, std::chrono::milliseconds every)
      : base_(url.substr(0, url.rfind('/'))), thread_([this, every] {
          httplib::Client http(base_);
          std::unique_lock lock(mu_);
          for (;;) {  // at least one scrape, even if stopped at once
            lock.unlock();
            auto res = http.Get("/metrics");
            lock.lock();
            if (res && res->status == 200) {
              ++scrapes_;
              last_ = res->body;
            } else {
              ++failures_;
            }
            if (cv_.wait_for(lock, every, [this] { return stop_; })) break;
          }
        }) {}
  ~Scraper() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // The value of an unlabelled sample in the last scrape; -1 if absent.
  double Value(const std::string& name) {
    std::lock_guard lock(mu_);
    size_t p = last_.find("\n" + name + " ");
    return p == std::string::npos ? -1 : std::strtod(last_.c_str() + p + name.size() + 2, nullptr);
  }
  uint64_t scrapes() {
    std::lock_guard lock(mu_);
    return scrapes_;
  }
  uint64_t failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  std::string base_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;      // GUARDED_BY(mu_)
  uint64_t scrapes_ = 0;   // GUARDED_BY(mu_)
  uint64_t failures_ = 0;  // GUARDED_BY(mu_)
  std::string last_;       // GUARDED_BY(mu_)
  std::thread thread_;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Single-core Ed25519 verifications per second (libsodium), the ceiling on
// how fast any one core can admit signed records.
double Ed25519VerifyRate() {
  auto key = verifier::SigningKey::Generate();
  std::string msg(300, 'x');
  auto sig = key.Sign(verifier::AsBytes(msg));
  int n = 0;
  const auto start = Clock::now();
  while (Seconds(Clock::now() - start) < 1.0) {
    for (int i = 0; i < 500; ++i) {
      if (!verifier::VerifySignature(key.public_key(), verifier::AsBytes(msg), sig)) std::abort();
    }
    n += 500;
  }
  return n / Seconds(Clock::now() - start);
}

struct StreamResult {
  std::vector<double> latency_ms;  // per acknowledged record
  uint64_t errors = 0;
  std::string first_error;
};

// Streams leaves s, s+S, s+2S, ... over one SubmitStream, at most `window`
// unacknowledged at a time; records each ack's index and latency.
StreamResult RunStream(pb::Ledger::Stub& stub, const std::vector<std::string>& leaves, int s,
                       int streams, int window, std::vector<uint64_t>& index,
                       const std::function<void()>& on_ack) {
  StreamResult out;
  std::vector<Clock::time_point> sent(leaves.size());
  std::mutex mu;
  std::condition_variable cv;
  int inflight = 0;
  bool failed = false;

  grpc::ClientContext ctx;
  auto stream = stub.SubmitStream(&ctx);
  std::thread writer([&] {
    pb::SubmitRequest req;
    for (uint64_t i = s; i < leaves.size(); i += streams) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return inflight < window || failed; });
        if (failed) break;
        ++inflight;
      }
      if (!req.mutable_record()->ParseFromString(leaves[i])) std::abort();
      req.set_sequence(i);
      sent[i] = Clock::now();
      if (!stream->Write(req)) break;
    }
    stream->WritesDone();
  });
  pb::StreamAck ack;
  while (stream->Read(&ack)) {
    const auto now = Clock::now();
    const uint64_t i = ack.sequence();
    if (i >= leaves.size()) std::abort();
    if (ack.code() != 0) {
      if (out.errors++ == 0) out.first_error = ack.message();
    } else {
      index[i] = ack.index();
      out.latency_ms.push_back(std::chrono::duration<double, std::milli>(now - sent[i]).count());
    }
    on_ack();
    {
      std::lock_guard lock(mu);
      --inflight;
    }
    cv.notify_one();
  }
  {
    std::lock_guard lock(mu);
    failed = true;
  }
  cv.notify_one();
  writer.join();
  grpc::Status st = stream->Finish();
  if (!st.ok()) {
    if (out.errors++ == 0) out.first_error = "stream: " + st.error_message();
  }
  return out;
}

int Run(const Options& o) {
  nlohmann::json report;
  report["records"] = o.records;
  report["manufacturers"] = o.manufacturers;
  report["streams"] = o.streams;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());

  const double verify_rate = Ed25519VerifyRate();
  std::printf("Ed25519 verify: %.0f/s per core, %u cores: ceiling %.0f/s\n", verify_rate, cores,
              verify_rate * cores);

  std::error_code ec;
  if (std::filesystem::exists(o.data_dir + "/db", ec)) {
    std::fprintf(stderr, "provbench: %s already holds a ledger; give a fresh --data-dir\n",
                 o.data_dir.c_str());
    return 2;
  }
  auto authority = verifier::SigningKey::Generate();
  auto vkey = tools::InitLedger(o.provd, o.data_dir, "provbench.example/log",
                                {{"bench-authority", authority.public_key()}}, 1);
  if (!vkey.ok()) {
    std::fprintf(stderr, "provbench: %s\n", vkey.status().ToString().c_str());
    return 1;
  }
  std::vector<std::string> extra = o.tls.ProvdArgs();
  if (o.max_batch > 0) extra.insert(extra.end(), {"--max-batch", std::to_string(o.max_batch)});
  if (o.metrics) extra.insert(extra.end(), {"--metrics-listen", "127.0.0.1:0"});
  // Witnesses: local provwitness processes and a tlog-policy naming them.
  std::vector<std::unique_ptr<tools::WitnessProcess>> witnesses;
  if (o.tiles || o.witnesses > 0) extra.insert(extra.end(), {"--tiles-dir", o.data_dir + "/tiles"});
  if (o.witnesses > 0) {
    std::string policy = "log " + *vkey + "\n";
    for (int i = 0; i < o.witnesses; ++i) {
      auto w =
          tools::WitnessProcess::Start(o.provwitness, o.data_dir + "/witness" + std::to_string(i),
                                       "w" + std::to_string(i) + ".provbench.example", *vkey);
      if (!w.ok()) {
        std::fprintf(stderr, "provbench: %s\n", w.status().ToString().c_str());
        return 1;
      }
      policy += "witness w" + std::to_string(i) + " " + (*w)->vkey() + " " + (*w)->url() + "\n";
      witnesses.push_back(std::move(w).value());
    }
    policy += "quorum none\n";
    std::ofstream(o.data_dir + "/witnesses.policy") << policy;
    extra.insert(extra.end(), {"--witness-policy", o.data_dir + "/witnesses.policy"});
    std::printf("%d witnesses cosigning published heads\n", o.witnesses);
  }
  auto provd = tools::ProvdProcess::Start(o.provd, o.data_dir, extra);
  if (!provd.ok()) {
    std::fprintf(stderr, "provbench: %s\n", provd.status().ToString().c_str());
    return 1;
  }
  std::printf("provd serving on %s (data in %s)\n", (*provd)->target().c_str(), o.data_dir.c_str());
  std::unique_ptr<Scraper> scraper;
  if (o.metrics) {
    std::printf("metrics on: %s scraped every %d ms\n", (*provd)->metrics_url().c_str(),
                o.metrics_scrape_ms);
    scraper = std::make_unique<Scraper>(
        (*provd)->metrics_url(), std::chrono::milliseconds(std::max(1, o.metrics_scrape_ms)));
  }

  auto connected = client::LedgerClient::Connect((*provd)->target(), *vkey, o.tls.Client());
  if (!connected.ok()) {
    std::fprintf(stderr, "provbench: %s\n", connected.status().ToString().c_str());
    return 1;
  }
  client::LedgerClient& ledger = **connected;  // valid until the reset below
  const int64_t now = tools::UnixNow();
  std::vector<verifier::SigningKey> mfr_keys;
  for (int m = 0; m < o.manufacturers; ++m) {
    mfr_keys.push_back(SeededKey("provbench-mfr-" + std::to_string(m)));
  }
  if (Status s = Setup(ledger, authority, mfr_keys, now); !s.ok()) {
    std::fprintf(stderr, "provbench: setup: %s\n", s.ToString().c_str());
    return 1;
  }
  const uint64_t base = ledger.latest()->checkpoint.size;

  auto t0 = Clock::now();
  const std::vector<std::string> leaves = PreSign(o.records, mfr_keys, now);
  const double presign_s = Seconds(Clock::now() - t0);
  uint64_t leaf_bytes = 0;
  for (const auto& l : leaves) leaf_bytes += l.size();
  std::printf("pre-signed %llu device records from %d manufacturers in %.1f s (%.0f B each)\n",
              static_cast<unsigned long long>(o.records), o.manufacturers, presign_s,
              o.records ? static_cast<double>(leaf_bytes) / o.records : 0.0);

  // Stream. Interval rates are taken every `interval` acknowledgements.
  const uint64_t interval = std::max<uint64_t>(1000, o.records / 10);
  std::atomic<uint64_t> acked{0};
  std::mutex marks_mu;
  std::vector<std::pair<uint64_t, Clock::time_point>> marks;
  std::vector<uint64_t> index(o.records, UINT64_MAX);
  auto start = Clock::now();
  marks.emplace_back(0, start);
  auto on_ack = [&] {
    uint64_t n = acked.fetch_add(1) + 1;
    if (n % interval == 0 || n == o.records) {
      auto t = Clock::now();
      std::lock_guard lock(marks_mu);
      const auto& [n0, t_prev] = marks.back();
      std::printf("  %10llu acknowledged  %9.0f appends/s over the last %llu\n",
                  static_cast<unsigned long long>(n), (n - n0) / Seconds(t - t_prev),
                  static_cast<unsigned long long>(n - n0));
      std::fflush(stdout);
      marks.emplace_back(n, t);
    }
  };
  std::vector<StreamResult> results(o.streams);
  {
    std::vector<std::thread> threads;
    for (int s = 0; s < o.streams; ++s) {
      threads.emplace_back([&, s] {
        results[s] = RunStream(ledger.stub(), leaves, s, o.streams, o.window, index, on_ack);
      });
    }
    for (auto& t : threads) t.join();
  }
  const double stream_s = Seconds(Clock::now() - start);

  std::vector<double> latency;
  uint64_t errors = 0;
  std::string first_error;
  for (auto& r : results) {
    latency.insert(latency.end(), r.latency_ms.begin(), r.latency_ms.end());
    if (r.errors && first_error.empty()) first_error = r.first_error;
    errors += r.errors;
  }
  const double rate = static_cast<double>(latency.size()) / stream_s;
  const double first_rate = marks.size() > 1 ? (marks[1].first - marks[0].first) /
                                                   Seconds(marks[1].second - marks[0].second)
                                             : rate;
  const double last_rate = marks.size() > 1
                               ? (marks.back().first - marks[marks.size() - 2].first) /
                                     Seconds(marks.back().second - marks[marks.size() - 2].second)
                               : rate;
  const double ack_p50 = Quantile(latency, 0.50), ack_p99 = Quantile(latency, 0.99);
  std::printf("appended %zu records in %.2f s: %.0f appends/s (%.0f%% of the Ed25519 ceiling)\n",
              latency.size(), stream_s, rate, 100 * rate / (verify_rate * cores));
  std::printf("first interval %.0f/s, last interval %.0f/s (ratio %.2f)\n", first_rate, last_rate,
              last_rate / first_rate);
  std::printf("ack latency p50 %.1f ms, p99 %.1f ms (window %d per stream)\n", ack_p50, ack_p99,
              o.window);
  if (errors) {
    std::printf("ERROR: %llu records not appended; first: %s\n",
                static_cast<unsigned long long>(errors), first_error.c_str());
  }

  // The final head, verified and proven consistent with the setup's head.
  bool ok = errors == 0;
  auto head = ledger.GetCheckpoint();
  if (!head.ok()) {
    std::printf("ERROR: checkpoint: %s\n", head.status().ToString().c_str());
    return 1;
  }
  const uint64_t size = head->checkpoint.size;
  // Every commit batch ends with the log's index root.
  auto roots = tools::CountIndexRoots(ledger, base, size);
  if (!roots.ok()) {
    std::printf("ERROR: entries: %s\n", roots.status().ToString().c_str());
    return 1;
  }
  if (size != base + o.records + *roots || (o.records > 0 && *roots == 0)) {
    std::printf("ERROR: tree size %llu, expected %llu records and %llu index roots after %llu\n",
                static_cast<unsigned long long>(size), static_cast<unsigned long long>(o.records),
                static_cast<unsigned long long>(*roots), static_cast<unsigned long long>(base));
    ok = false;
  }

  // Inclusion proofs for random records at the final size, each verified.
  std::vector<double> proof_ms;
  uint64_t bad_proofs = 0;
  std::mt19937_64 rng(42);
  for (int p = 0; p < o.proofs && o.records > 0; ++p) {
    const uint64_t i = rng() % o.records;
    if (index[i] == UINT64_MAX) continue;
    pb::GetInclusionProofRequest req;
    req.set_index(index[i]);
    req.set_tree_size(size);
    pb::GetInclusionProofResponse resp;
    grpc::ClientContext ctx;
    const auto t = Clock::now();
    grpc::Status st = ledger.stub().GetInclusionProof(&ctx, req, &resp);
    proof_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    auto hashes = client::ParseHashes(resp.proof().hashes());
    if (!st.ok() || !hashes.ok() ||
        !verifier::VerifyInclusion(index[i], size, verifier::LeafHash(verifier::AsBytes(leaves[i])),
                                   *hashes, head->checkpoint.root)
             .ok()) {
      ++bad_proofs;
    }
  }
  const size_t proofs_done = proof_ms.size();
  const double proof_p50 = Quantile(proof_ms, 0.50), proof_p99 = Quantile(proof_ms, 0.99);
  std::printf("inclusion proofs at size %llu: %zu verified, %llu bad; p50 %.3f ms, p99 %.3f ms\n",
              static_cast<unsigned long long>(size), proofs_done - bad_proofs,
              static_cast<unsigned long long>(bad_proofs), proof_p50, proof_p99);
  if (bad_proofs) ok = false;

  // Procurement: `prov delivery check` of a manifest of registered devices.
  double delivery_s = 0;
  uint64_t delivery_rows = 0;
  if (!o.prov.empty() && o.delivery > 0) {
    const std::string manifest = o.data_dir + "/manifest.csv";
    std::ofstream out(manifest);
    out << "manufacturer,serial,model\n";
    for (uint64_t i = 0; i < o.records && delivery_rows < o.delivery; i += o.manufacturers) {
      char serial[32];
      std::snprintf(serial, sizeof serial, "SN%010llu", static_cast<unsigned long long>(i));
      out << MfrId(0) << "," << serial << ",CAM-1\n";
      ++delivery_rows;
    }
    out.close();
    const std::string log = o.data_dir + "/delivery.json";
    const auto t = Clock::now();
    std::vector<std::string> argv = {o.prov};
    for (const std::string& a : o.tls.ProvArgs()) argv.push_back(a);
    argv.insert(argv.end(), {"--server", (*provd)->target(), "--vkey", o.data_dir + "/log.vkey",
                             "--state-dir", o.data_dir + "/trust", "--json", "delivery", "check",
                             manifest, "--buyer", MfrId(0)});
    int rc = tools::RunCommand(argv, log);
    delivery_s = Seconds(Clock::now() - t);
    std::ifstream in(log);
    std::string last, line;
    while (std::getline(in, line)) last = line;
    auto result = nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
    const bool delivered =
        rc == 0 && result.is_object() && result.value("trusted", uint64_t{0}) == delivery_rows;
    std::printf("prov delivery check of %llu devices: %.2f s (%s)\n",
                static_cast<unsigned long long>(delivery_rows), delivery_s,
                delivered ? "all TRUSTED" : ("FAILED, exit " + std::to_string(rc)).c_str());
    if (!delivered) ok = false;
    report["delivery_check"] = {{"rows", delivery_rows}, {"seconds", delivery_s}};
  }

  const uint64_t db_bytes = tools::DirectoryBytes(o.data_dir + "/db");
  const double bytes_per_entry = size ? static_cast<double>(db_bytes) / size : 0;
  const uint64_t rss = (*provd)->PeakRssBytes();
  std::printf("database %.1f MiB: %.0f bytes per entry (leaf %.0f B); provd peak RSS %.1f MiB\n",
              db_bytes / 1048576.0, bytes_per_entry,
              o.records ? static_cast<double>(leaf_bytes) / o.records : 0.0, rss / 1048576.0);

  if (scraper) {
    scraper->Stop();
    Scraper last((*provd)->metrics_url(), std::chrono::hours(1));  // one final scrape
    last.Stop();
    const double appends = last.Value("provd_appends_total");
    std::printf(
        "metrics: %llu scrapes (%llu failed); provd_appends_total %.0f, "
        "provd_batch_records_count %.0f, process_resident_memory_bytes %.0f\n",
        static_cast<unsigned long long>(scraper->scrapes()),
        static_cast<unsigned long long>(scraper->failures()), appends,
        last.Value("provd_batch_records_count"), last.Value("process_resident_memory_bytes"));
    if (appends < static_cast<double>(o.records)) {
      std::printf("ERROR: provd_appends_total %.0f < %llu records appended\n", appends,
                  static_cast<unsigned long long>(o.records));
      ok = false;
    }
    report["metrics"] = {{"scrapes", scraper->scrapes()},
                         {"scrape_failures", scraper->failures()},
                         {"appends_total", appends}};
  }
  connected->reset();  // close the channel before asking provd to drain
  const int exit_code = (*provd)->Stop(SIGTERM);
  if (exit_code != 0) {
    std::printf("ERROR: provd exited %d after SIGTERM\n", exit_code);
    ok = false;
  }

  report["appends_per_s"] = rate;
  report["first_interval_per_s"] = first_rate;
  report["last_interval_per_s"] = last_rate;
  report["ack_latency_ms"] = {{"p50", ack_p50}, {"p99", ack_p99}};
  report["proof_latency_ms"] = {{"p50", proof_p50}, {"p99", proof_p99}, {"count", proofs_done}};
  report["tree_size"] = size;
  report["db_bytes"] = db_bytes;
  report["bytes_per_entry"] = bytes_per_entry;
  report["provd_peak_rss_bytes"] = rss;
  report["ed25519_verify_per_core_per_s"] = verify_rate;
  report["cores"] = cores;
  report["fraction_of_ed25519_ceiling"] = rate / (verify_rate * cores);
  report["errors"] = errors + bad_proofs;

  bool targets = true;
  if (!o.smoke) {
    auto target = [&](const char* name, bool met) {
      std::printf("target %-42s %s\n", name, met ? "met" : "MISSED");
      report["targets"][name] = met;
      targets &= met;
    };
    target(">= 10,000 appends/s", rate >= 10000);
    target("last interval within 20% of the first", last_rate >= 0.8 * first_rate);
    target("inclusion proof p99 < 1 ms", proof_p99 < 1.0);
    target("provd peak RSS < 1 GiB", rss > 0 && rss < (1ull << 30));
    if (delivery_rows >= 10000) target("delivery check of 10,000 devices < 10 s", delivery_s < 10);
  }
  if (!o.json.empty()) std::ofstream(o.json) << report.dump(2) << "\n";
  std::printf("%s\n", ok ? "provbench: ok" : "provbench: FAILED");
  if (!ok) return 1;
  return o.require_targets && !targets ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  CLI::App app{"provbench: streams pre-signed device records into a real provd and measures it"};
  Options o;
  app.add_option("--provd", o.provd, "path to the provd binary")->required();
  app.add_option("--data-dir", o.data_dir, "fresh directory for the ledger")->required();
  app.add_option("--records", o.records, "device records to stream")->default_val(o.records);
  app.add_option("--manufacturers", o.manufacturers, "manufacturers signing them")
      ->default_val(o.manufacturers)
      ->check(CLI::Range(1, 1000));
  app.add_option("--streams", o.streams, "concurrent SubmitStream calls")
      ->default_val(o.streams)
      ->check(CLI::Range(1, 64));
  app.add_option("--window", o.window, "unacknowledged records per stream")
      ->default_val(o.window)
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--proofs", o.proofs, "inclusion proofs to fetch and verify")
      ->default_val(o.proofs);
  app.add_option("--max-batch", o.max_batch, "passed to provd serve (0: its default)");
  app.add_flag("--smoke", o.smoke, "a quick run (2,000 records, 200 proofs); targets not judged");
  app.add_flag("--require-targets", o.require_targets, "exit 1 if a target is missed");
  app.add_option("--json", o.json, "also write the figures to this JSON file");
  app.add_option("--prov", o.prov, "path to prov: also time `prov delivery check`");
  app.add_option("--delivery", o.delivery, "manifest rows for the delivery check")
      ->default_val(o.delivery);
  app.add_flag("--tiles", o.tiles, "provd also publishes static tiles (--tiles-dir)");
  app.add_option("--witnesses", o.witnesses,
                 "start N local provwitness processes and have provd gather their cosignatures "
                 "on every published head (implies --tiles; needs --provwitness)")
      ->check(CLI::Range(0, 16));
  app.add_option("--provwitness", o.provwitness, "path to the provwitness binary");
  app.add_flag("--metrics", o.metrics,
               "provd serves Prometheus metrics (--metrics-listen 127.0.0.1:0), scraped while "
               "streaming");
  app.add_option("--metrics-scrape-ms", o.metrics_scrape_ms, "with --metrics: scrape interval")
      ->default_val(o.metrics_scrape_ms);
  o.tls.AddOptions(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.smoke) {
    o.records = std::min<uint64_t>(o.records, 2000);
    o.proofs = 200;
    o.delivery = std::min<uint64_t>(o.delivery, 300);
  }
  o.provd = std::filesystem::absolute(o.provd).string();
  if (!o.prov.empty()) o.prov = std::filesystem::absolute(o.prov).string();
  if (o.witnesses > 0 && o.provwitness.empty()) {
    std::fprintf(stderr, "provbench: --witnesses needs --provwitness\n");
    return 2;
  }
  if (!o.provwitness.empty()) o.provwitness = std::filesystem::absolute(o.provwitness).string();
  return Run(o);
}
