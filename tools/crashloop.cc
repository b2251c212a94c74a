// crashloop: crash safety, proven. Runs a real provd under streaming load
// (provbench's pre-signed device records over SubmitStream), kills it with
// SIGKILL at a random moment, restarts it, and checks after every restart:
//   * every acknowledged record is in the tree at its acknowledged index,
//     with identical bytes;
//   * every acknowledged checkpoint is consistent with the recovered tree
//     (the consistency proof verifies against both signed heads);
//   * no gaps and no duplicates: the tree's entries are exactly genesis, the
//     setup records and distinct device records;
//   * the server serves again within --restart-limit seconds.
// Finally SIGTERM arrives during a stream: provd must drain and exit 0, and
// everything acknowledged before it must survive.
//
//   crashloop --provd build/ledger/provd --data-dir /tmp/crash --rounds 20
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "client/ledger_client.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "tools/tls_options.h"
#include "verifier/merkle.h"

namespace {

namespace pb = provenance::v1;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string provd, data_dir;
  tools::ToolTls tls;
  int rounds = 20;
  uint64_t records = 400000;
  int min_ms = 50, max_ms = 1500;  // when the kill comes, after the stream starts
  double restart_limit = 10;
  uint32_t seed = 0;  // 0: random
};

struct Acked {
  uint64_t index;
  std::string note;  // the checkpoint that came with the ack
};

class Loop {
 public:
  explicit Loop(const Options& o) : o_(o), rng_(o.seed ? o.seed : std::random_device{}()) {}

  int Run() {
    auto authority = verifier::SigningKey::Generate();
    auto vkey = tools::InitLedger(o_.provd, o_.data_dir, "crashloop.example/log",
                                  {{"a", authority.public_key()}}, 1);
    if (!vkey.ok()) return Fail("init: " + vkey.status().ToString());
    vkey_ = *vkey;
    if (!Start()) return 1;
    const int64_t now = tools::UnixNow();
    std::vector<verifier::SigningKey> mfr;
    for (int m = 0; m < 4; ++m) mfr.push_back(tools::SeededKey("crashloop-mfr-" + std::to_string(m)));
    if (auto s = tools::Setup(*client_, authority, mfr, now); !s.ok()) return Fail("setup: " + s.ToString());
    setup_size_ = client_->latest()->checkpoint.size;
    leaves_ = tools::PreSign(o_.records, mfr, now);
    std::printf("crashloop: %d rounds of SIGKILL under load, %llu pre-signed records\n", o_.rounds,
                static_cast<unsigned long long>(o_.records));

    for (int round = 1; round <= o_.rounds; ++round) {
      const int delay = std::uniform_int_distribution<int>(o_.min_ms, o_.max_ms)(rng_);
      const size_t before = acked_.size();
      Stream([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        provd_->Stop(SIGKILL);
      });
      provd_.reset();
      const auto t = Clock::now();
      if (!Start()) return 1;
      const double restart = std::chrono::duration<double>(Clock::now() - t).count();
      max_restart_ = std::max(max_restart_, restart);
      if (!Check()) return 1;
      std::printf("  round %2d: killed after %4d ms, %6zu new acks (%zu in all), tree %llu, "
                  "restarted in %.2f s, all checks pass\n",
                  round, delay, acked_.size() - before, acked_.size(),
                  static_cast<unsigned long long>(size_), restart);
      std::fflush(stdout);
      if (restart > o_.restart_limit) return Fail("restart took longer than the limit");
    }
    // SIGTERM during a stream: drain and exit cleanly.
    int term_rc = -1;
    const size_t before = acked_.size();
    Stream([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      term_rc = provd_->Stop(SIGTERM);
    });
    provd_.reset();
    if (term_rc != 0) return Fail("SIGTERM: provd exited " + std::to_string(term_rc) + ", not 0");
    if (!Start() || !Check()) return 1;
    std::printf("  SIGTERM during a stream: exit 0, %zu acks before it all present\n",
                acked_.size() - before);
    std::printf("crashloop: ok — %d kills, %zu acknowledged records all present with identical "
                "bytes, %zu acknowledged checkpoints consistent, slowest restart %.2f s\n",
                o_.rounds, acked_.size(), notes_checked_, max_restart_);
    return 0;
  }

 private:
  int Fail(const std::string& why) {
    std::fprintf(stderr, "crashloop: FAILED: %s\n", why.c_str());
    return 1;
  }

  bool Start() {
    auto p = tools::ProvdProcess::Start(o_.provd, o_.data_dir, o_.tls.ProvdArgs());
    if (!p.ok()) return Fail("restart: " + p.status().ToString()), false;
    provd_ = std::move(p).value();
    auto c = client::LedgerClient::Connect(provd_->target(), vkey_, o_.tls.Client());
    if (!c.ok()) return Fail(c.status().ToString()), false;
    if (client_ && client_->latest()) (*c)->SetLatest(*client_->latest());
    client_ = std::move(c).value();
    return true;
  }

  // Streams every record not yet acknowledged until the stream breaks;
  // `disrupt` runs alongside (it kills or stops provd).
  void Stream(const std::function<void()>& disrupt) {
    std::thread killer(disrupt);
    grpc::ClientContext ctx;
    auto stream = client_->stub().SubmitStream(&ctx);
    std::atomic<int> inflight{0};
    std::atomic<bool> done{false};
    std::thread writer([&] {
      pb::SubmitRequest req;
      for (uint64_t i = 0; i < leaves_.size() && !done; ++i) {
        if (acked_.count(i)) continue;
        while (inflight >= 1024 && !done) std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (!req.mutable_record()->ParseFromString(leaves_[i])) std::abort();
        req.set_sequence(i);
        ++inflight;
        if (!stream->Write(req)) break;
      }
      stream->WritesDone();
    });
    pb::StreamAck ack;
    while (stream->Read(&ack)) {
      --inflight;
      if (ack.code() == 0) acked_[ack.sequence()] = {ack.index(), ack.checkpoint().note()};
    }
    done = true;
    writer.join();
    (void)stream->Finish();
    killer.join();
  }

  // Everything promised before the crash is still true.
  bool Check() {
    auto head = client_->GetCheckpoint();  // proven consistent with the last head seen
    if (!head.ok()) return Fail("checkpoint after restart: " + head.status().ToString()), false;
    size_ = head->checkpoint.size;
    // Every entry, each page proven against the head.
    std::vector<std::string> entries;
    for (uint64_t start = 0; start < size_; start += 1000) {
      auto page = client_->GetEntries(start, std::min(size_, start + 1000));
      if (!page.ok()) return Fail("entries: " + page.status().ToString()), false;
      entries.insert(entries.end(), page->begin(), page->end());
    }
    if (entries.size() != size_) return Fail("entry count differs from the tree size"), false;
    std::map<std::string, uint64_t> seen;  // leaf bytes -> index
    for (uint64_t i = 0; i < entries.size(); ++i) {
      if (!seen.emplace(entries[i], i).second) {
        return Fail("duplicate: entries #" + std::to_string(seen[entries[i]]) + " and #" +
                    std::to_string(i) + " are the same record"), false;
      }
    }
    // After the setup records, only our device records and the log's index
    // roots that end its commit batches (no strays, no gaps: the entries are
    // exactly [0, size)).
    if (ours_.empty()) ours_.insert(leaves_.begin(), leaves_.end());
    for (uint64_t i = setup_size_; i < entries.size(); ++i) {
      if (!ours_.count(entries[i]) && !tools::IsIndexRoot(entries[i])) return Fail("entry #" + std::to_string(i) + " is not a submitted record"), false;
    }
    for (const auto& [seq, a] : acked_) {
      if (a.index >= size_ || entries[a.index] != leaves_[seq]) {
        return Fail("acknowledged record " + std::to_string(seq) + " at #" + std::to_string(a.index) +
                    " is missing or changed after the restart"), false;
      }
    }
    // Every acknowledged checkpoint is consistent with the recovered tree.
    std::set<std::string> notes;
    for (const auto& [seq, a] : acked_) notes.insert(a.note);
    for (const auto& note : notes) {
      if (checked_notes_.count(note)) continue;
      auto c = client_->VerifyNote(note);
      if (!c.ok()) return Fail("an acknowledged checkpoint does not verify"), false;
      if (c->checkpoint.size > size_) {
        return Fail("acknowledged tree size " + std::to_string(c->checkpoint.size) +
                    " exceeds the recovered size " + std::to_string(size_)), false;
      }
      if (auto s = client_->ProveConsistency(c->checkpoint, head->checkpoint); !s.ok()) {
        return Fail("acknowledged checkpoint of size " + std::to_string(c->checkpoint.size) +
                    " is not consistent with the recovered tree: " + s.ToString()), false;
      }
      checked_notes_.insert(note);
      ++notes_checked_;
    }
    return true;
  }

  Options o_;
  std::mt19937 rng_;
  std::string vkey_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<client::LedgerClient> client_;
  std::vector<std::string> leaves_;
  std::map<uint64_t, Acked> acked_;  // leaves_ index -> ack
  std::set<std::string> ours_;  // leaves_ as a set
  std::set<std::string> checked_notes_;
  size_t notes_checked_ = 0;
  uint64_t setup_size_ = 0, size_ = 0;
  double max_restart_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  Options o;
  CLI::App app{"crashloop: SIGKILL a provd under load, restart, and prove nothing acknowledged was lost"};
  app.add_option("--provd", o.provd, "path to provd")->required();
  app.add_option("--data-dir", o.data_dir, "fresh directory for the ledger")->required();
  app.add_option("--rounds", o.rounds, "SIGKILLs (each followed by a restart)")->default_val(o.rounds);
  app.add_option("--records", o.records, "pre-signed records available")->default_val(o.records);
  app.add_option("--min-ms", o.min_ms, "earliest kill after a stream starts")->default_val(o.min_ms);
  app.add_option("--max-ms", o.max_ms, "latest kill")->default_val(o.max_ms);
  app.add_option("--restart-limit", o.restart_limit, "seconds a restart may take")
      ->default_val(o.restart_limit);
  app.add_option("--seed", o.seed, "random seed (0: random)");
  o.tls.AddOptions(app);
  CLI11_PARSE(app, argc, argv);
  return Loop(o).Run();
}
