// loadtest: many concurrent clients against one provd. Each client has its
// own channel and, until the time is up, submits pre-signed device records
// one at a time (Submit, then the inclusion proof of the acknowledged index
// verified against the returned checkpoint) and reads and verifies proofs of
// records other clients appended. At the end a full audit replays the log
// and every acknowledged record must be at its acknowledged index.
//
//   loadtest --provd build/ledger/provd --data-dir /tmp/load --clients 32 --seconds 60
//
// Exit 0 only with no errors, no lost acknowledgement and a matching audit.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "client/ledger_client.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "tools/tls_options.h"

namespace {

namespace pb = provenance::v1;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string provd, data_dir;
  tools::ToolTls tls;
  int clients = 32;
  double seconds = 60;
  uint64_t records = 300000;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct ClientStats {
  std::vector<double> submit_ms, proof_ms;
  std::vector<std::pair<uint64_t, uint64_t>> acked;  // record -> ledger index
  uint64_t errors = 0;
  std::string first_error;
  void Error(const std::string& e) {
    if (errors++ == 0) first_error = e;
  }
};

int Run(const Options& o) {
  auto authority = verifier::SigningKey::Generate();
  auto vkey = tools::InitLedger(o.provd, o.data_dir, "loadtest.example/log",
                                {{"a", authority.public_key()}}, 1);
  if (!vkey.ok()) return std::fprintf(stderr, "loadtest: %s\n", vkey.status().ToString().c_str()), 1;
  auto provd = tools::ProvdProcess::Start(o.provd, o.data_dir, o.tls.ProvdArgs());
  if (!provd.ok()) return std::fprintf(stderr, "loadtest: %s\n", provd.status().ToString().c_str()), 1;
  auto admin = client::LedgerClient::Connect((*provd)->target(), *vkey, o.tls.Client());
  if (!admin.ok()) return 1;
  const int64_t now = tools::UnixNow();
  std::vector<verifier::SigningKey> mfr;
  for (int m = 0; m < 4; ++m) mfr.push_back(tools::SeededKey("loadtest-mfr-" + std::to_string(m)));
  if (auto s = tools::Setup(**admin, authority, mfr, now); !s.ok()) {
    return std::fprintf(stderr, "loadtest: setup: %s\n", s.ToString().c_str()), 1;
  }
  const std::vector<std::string> leaves = tools::PreSign(o.records, mfr, now);
  std::printf("loadtest: %d clients for %.0f s against provd on %s\n", o.clients, o.seconds,
              (*provd)->target().c_str());
  std::fflush(stdout);

  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> latest_index{0};
  std::vector<ClientStats> stats(o.clients);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(o.seconds));
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      ClientStats& st = stats[c];
      std::mt19937_64 rng(c);
      auto conn = client::LedgerClient::Connect((*provd)->target(), *vkey, o.tls.Client());
      if (!conn.ok()) return st.Error(conn.status().ToString());
      client::LedgerClient& lc = **conn;
      while (Clock::now() < deadline) {
        const uint64_t i = next.fetch_add(1);
        if (i >= leaves.size()) break;
        pb::SignedRecord rec;
        if (!rec.ParseFromString(leaves[i])) std::abort();
        auto t = Clock::now();
        auto appended = lc.Submit(rec);  // includes the verified inclusion proof
        if (!appended.ok()) {
          st.Error("submit: " + appended.status().ToString());
          continue;
        }
        st.submit_ms.push_back(Ms(Clock::now() - t));
        st.acked.emplace_back(i, appended->index);
        uint64_t seen = latest_index.load();
        while (appended->index > seen && !latest_index.compare_exchange_weak(seen, appended->index)) {
        }
        // A reader's job too: prove a random earlier entry against our head.
        const uint64_t j = std::uniform_int_distribution<uint64_t>(0, appended->index)(rng);
        t = Clock::now();
        auto page = lc.GetEntries(j, j + 1);  // fetches and proves against lc.latest()
        if (!page.ok()) {
          st.Error("proof: " + page.status().ToString());
          continue;
        }
        st.proof_ms.push_back(Ms(Clock::now() - t));
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> submit, proof;
  std::vector<std::pair<uint64_t, uint64_t>> acked;
  uint64_t errors = 0;
  std::string first_error;
  for (auto& s : stats) {
    submit.insert(submit.end(), s.submit_ms.begin(), s.submit_ms.end());
    proof.insert(proof.end(), s.proof_ms.begin(), s.proof_ms.end());
    acked.insert(acked.end(), s.acked.begin(), s.acked.end());
    if (s.errors && first_error.empty()) first_error = s.first_error;
    errors += s.errors;
  }
  std::printf("  %zu records acknowledged in %.1f s: %.0f submits/s; submit p50 %.1f ms p99 %.1f ms\n",
              acked.size(), elapsed, acked.size() / elapsed, tools::Quantile(submit, 0.5),
              tools::Quantile(submit, 0.99));
  std::printf("  %zu proofs read and verified: p50 %.2f ms p99 %.2f ms\n", proof.size(),
              tools::Quantile(proof, 0.5), tools::Quantile(proof, 0.99));
  if (errors) std::printf("  ERROR: %llu errors; first: %s\n", static_cast<unsigned long long>(errors), first_error.c_str());

  // The audit: replay everything, the root must match; every ack must hold.
  bool ok = errors == 0;
  auto head = (*admin)->GetCheckpoint();
  if (!head.ok()) return std::fprintf(stderr, "loadtest: %s\n", head.status().ToString().c_str()), 1;
  auto audit = client::Audit(**admin, *head);
  if (!audit.ok()) {
    std::printf("  ERROR: audit: %s\n", audit.status().ToString().c_str());
    ok = false;
  } else {
    std::printf("  audit: %llu entries replayed, root matches the signed checkpoint\n",
                static_cast<unsigned long long>(audit->size));
  }
  uint64_t lost = 0;
  if (ok) {
    std::vector<std::string> entries;
    for (uint64_t start = 0; start < head->checkpoint.size; start += 1000) {
      auto page = (*admin)->GetEntries(start, std::min(head->checkpoint.size, start + 1000));
      if (!page.ok()) break;
      entries.insert(entries.end(), page->begin(), page->end());
    }
    for (const auto& [i, index] : acked) {
      if (index >= entries.size() || entries[index] != leaves[i]) ++lost;
    }
  }
  if (lost) {
    std::printf("  ERROR: %llu acknowledged records are not at their index\n",
                static_cast<unsigned long long>(lost));
    ok = false;
  } else if (ok) {
    std::printf("  every acknowledged record is at its acknowledged index\n");
  }
  admin->reset();
  if (int rc = (*provd)->Stop(SIGTERM); rc != 0) {
    std::printf("  ERROR: provd exited %d after SIGTERM\n", rc);
    ok = false;
  }
  std::printf("%s\n", ok ? "loadtest: ok" : "loadtest: FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  Options o;
  CLI::App app{"loadtest: concurrent clients submitting and reading proofs against one provd"};
  app.add_option("--provd", o.provd, "path to provd")->required();
  app.add_option("--data-dir", o.data_dir, "fresh directory for the ledger")->required();
  app.add_option("--clients", o.clients, "concurrent clients (one channel each)")->default_val(o.clients);
  app.add_option("--seconds", o.seconds, "how long they run")->default_val(o.seconds);
  app.add_option("--records", o.records, "pre-signed records available")->default_val(o.records);
  o.tls.AddOptions(app);
  CLI11_PARSE(app, argc, argv);
  return Run(o);
}
