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
// With --fault-rounds N, provd then runs under libfiu's `fiu-run -x` (Debian
// fiu-utils) and N times, at a random moment of a stream, its write()s fail
// with ENOSPC (a full disk) or its fsync()s and fdatasync()s with EIO (a
// failing one) for a random while. Each round checks the same invariants,
// and that provd reported the fault (refusals UNAVAILABLE STORAGE_ERROR,
// health NOT_SERVING), acknowledged nothing meanwhile, and recovered by
// itself: the same process SERVING again within --recover-limit seconds and
// acknowledging records.
// Finally SIGTERM arrives during a stream: provd must drain and exit 0, and
// everything acknowledged before it must survive.
//
//   crashloop --provd build/ledger/provd --data-dir /tmp/crash --rounds 20
//   crashloop --provd build/ledger/provd --data-dir /tmp/faults --rounds 0 --fault-rounds 30
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
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
  int fault_rounds = 0;
  int fault_min_ms = 100, fault_max_ms = 3000;  // how long a disk fault lasts
  double recover_limit = 10;
  uint32_t seed = 0;  // 0: random
};

struct Acked {
  uint64_t index;
  std::string note;  // the checkpoint that came with the ack
};

class Loop {
 public:
  explicit Loop(const Options& o)
      : o_(o), seed_(o.seed ? o.seed : std::random_device{}()), rng_(seed_) {}

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
    std::printf(
        "crashloop: %d rounds of SIGKILL and %d disk faults under load, %llu pre-signed "
        "records, seed %u\n",
        o_.rounds, o_.fault_rounds, static_cast<unsigned long long>(o_.records), seed_);

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
    if (o_.fault_rounds > 0) {
      // Under fiu-run from here on (a SIGKILL and a restart first).
      provd_->Stop(SIGKILL);
      provd_.reset();
      faults_ = true;
      if (!Start() || !Check()) return 1;
      for (int round = 1; round <= o_.fault_rounds; ++round) {
        if (!FaultRound(round)) return 1;
      }
      // Back without libfiu for the SIGTERM check: its control thread,
      // started before provd's main, does not block SIGTERM.
      provd_->Stop(SIGKILL);
      provd_.reset();
      faults_ = false;
      if (!Start() || !Check()) return 1;
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
    const std::string faults = o_.fault_rounds > 0
                                   ? ", slowest recovery from a disk fault " +
                                         std::to_string(max_recovery_).substr(0, 4) + " s"
                                   : "";
    std::printf(
        "crashloop: ok — %d kills, %d disk faults, %zu acknowledged records all present "
        "with identical bytes, %zu acknowledged checkpoints consistent, slowest restart "
        "%.2f s%s\n",
        o_.rounds, o_.fault_rounds, acked_.size(), notes_checked_, max_restart_, faults.c_str());
    return 0;
  }

 private:
  int Fail(const std::string& why) {
    std::fprintf(stderr, "crashloop: FAILED: %s\n", why.c_str());
    return 1;
  }

  bool Start() {
    std::vector<std::string> wrapper;
    if (faults_) {
      auto w = tools::FiuControl::Wrapper(FiuPrefix());
      if (!w.ok()) return Fail(w.status().ToString()), false;
      wrapper = *w;
    }
    auto p = tools::ProvdProcess::Start(o_.provd, o_.data_dir, o_.tls.ProvdArgs(), wrapper);
    if (!p.ok()) return Fail("restart: " + p.status().ToString()), false;
    provd_ = std::move(p).value();
    auto c = client::LedgerClient::Connect(provd_->target(), vkey_, o_.tls.Client());
    if (!c.ok()) return Fail(c.status().ToString()), false;
    if (client_ && client_->latest()) (*c)->SetLatest(*client_->latest());
    client_ = std::move(c).value();
    return true;
  }

  // Streams every record not yet acknowledged, pass after pass, until the
  // stream breaks or `stop_stream_`; `disrupt` runs alongside (it kills or
  // stops provd, or fails its disk).
  void Stream(const std::function<void()>& disrupt) {
    stop_stream_ = false;
    std::thread killer(disrupt);
    grpc::ClientContext ctx;
    auto stream = client_->stub().SubmitStream(&ctx);
    std::atomic<int> inflight{0};
    std::atomic<bool> done{false};
    std::thread writer([&] {
      pb::SubmitRequest req;
      bool broken = false;
      while (!done && !stop_stream_ && !broken) {
        const uint64_t refused_before = refused_;
        bool sent = false;
        for (uint64_t i = 0; i < leaves_.size() && !done && !stop_stream_; ++i) {
          {
            std::lock_guard lock(acked_mu_);
            if (acked_.count(i)) continue;
          }
          sent = true;
          while (inflight >= 1024 && !done && !stop_stream_)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          if (!req.mutable_record()->ParseFromString(leaves_[i])) std::abort();
          req.set_sequence(i);
          ++inflight;
          if (!stream->Write(req)) {
            broken = true;
            break;
          }
        }
        // Refused records are retried in the next pass, after a pause.
        if (refused_ != refused_before || !sent) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!faults_) break;  // one pass: the kill rounds end it by a kill
      }
      stream->WritesDone();
    });
    pb::StreamAck ack;
    while (stream->Read(&ack)) {
      --inflight;
      if (ack.code() == 0) {
        std::lock_guard lock(acked_mu_);
        acked_[ack.sequence()] = {ack.index(), ack.checkpoint().note()};
      } else {
        ++refused_;
        std::lock_guard lock(acked_mu_);
        last_refusal_ = ack.message();
        if (ack.code() != static_cast<int>(grpc::StatusCode::UNAVAILABLE)) {
          unexpected_refusal_ = std::to_string(ack.code()) + " " + ack.message();
        }
      }
    }
    done = true;
    writer.join();
    (void)stream->Finish();
    killer.join();
  }

  size_t AckCount() {
    std::lock_guard lock(acked_mu_);
    return acked_.size();
  }

  std::string FiuPrefix() const { return o_.data_dir + ".fiu"; }

  // A disk fault at a random moment of a stream, for a random while; then
  // provd must recover by itself, and everything promised must hold.
  bool FaultRound(int round) {
    const bool full = std::bernoulli_distribution(0.5)(rng_);
    const std::vector<std::string> points =
        full ? std::vector<std::string>{"posix/io/rw/write"}
             : std::vector<std::string>{"posix/io/sync/fdatasync", "posix/io/sync/fsync"};
    const int err = full ? ENOSPC : EIO;
    const char* name = full ? "ENOSPC on write" : "EIO on fsync/fdatasync";
    const int delay = std::uniform_int_distribution<int>(o_.min_ms, o_.max_ms)(rng_);
    const int length = std::uniform_int_distribution<int>(o_.fault_min_ms, o_.fault_max_ms)(rng_);
    if (AckCount() + 20000 > leaves_.size()) {
      return Fail("too few records left for a disk fault under load: raise --records"), false;
    }
    tools::FiuControl fiu(FiuPrefix(), provd_->pid());
    const pid_t pid = provd_->pid();
    const size_t before = AckCount();
    const uint64_t refused_before = refused_;
    std::string failure;
    bool not_serving = false;
    size_t acked_when_reported = 0, acked_after_fault = 0;
    double recovery = -1;
    Stream([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      for (const auto& p : points) {
        if (auto s = fiu.Enable(p, err); !s.ok()) failure = s.ToString();
      }
      // Acks already on their way when the failure is reported may still
      // arrive: the count is taken once they have (300 ms later).
      const auto end = Clock::now() + std::chrono::milliseconds(length);
      Clock::time_point reported;
      bool counted = false;
      while (Clock::now() < end) {
        if (!not_serving && tools::HealthStatus(provd_->target(), o_.tls.Client()) == 2) {
          not_serving = true;
          reported = Clock::now();
        }
        if (not_serving && !counted && Clock::now() - reported > std::chrono::milliseconds(300)) {
          acked_when_reported = AckCount();
          counted = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      acked_after_fault = AckCount();
      if (!counted) acked_when_reported = acked_after_fault;  // too short a fault to tell
      for (const auto& p : points) {
        if (auto s = fiu.Disable(p); !s.ok()) failure = s.ToString();
      }
      const auto cleared = Clock::now();
      while (Clock::now() - cleared < std::chrono::duration<double>(o_.recover_limit)) {
        const int health = tools::HealthStatus(provd_->target(), o_.tls.Client());
        if (health == 2) not_serving = true;  // a failure late in a short fault
        if (health == 1 && not_serving) {
          recovery = std::chrono::duration<double>(Clock::now() - cleared).count();
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      // Acks must flow again before the stream ends.
      const size_t target = AckCount() + 200;
      const auto until = Clock::now() + std::chrono::seconds(10);
      while (recovery >= 0 && AckCount() < target && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      stop_stream_ = true;
    });
    const uint64_t refusals = refused_ - refused_before;
    if (!failure.empty()) return Fail("libfiu: " + failure), false;
    if (!unexpected_refusal_.empty()) {
      return Fail("a submission was refused with other than UNAVAILABLE: " + unexpected_refusal_),
             false;
    }
    if (provd_->pid() != pid || kill(pid, 0) != 0) return Fail("provd did not survive"), false;
    if (refusals == 0 || !not_serving) {
      return Fail(std::string(name) + " for " + std::to_string(length) + " ms: " +
                  (refusals == 0 ? "no submission was refused" : "health never NOT_SERVING")),
             false;
    }
    {
      std::lock_guard lock(acked_mu_);
      if (last_refusal_.find("storage unavailable") == std::string::npos) {
        return Fail("refusal without the reason: " + last_refusal_), false;
      }
    }
    // Once the failure was reported, nothing new is acknowledged until the
    // fault clears (acks of records already durable may still arrive: they
    // are checked below like every other).
    if (acked_after_fault != acked_when_reported) {
      return Fail(std::to_string(acked_after_fault - acked_when_reported) +
                  " records acknowledged while the disk failed"),
             false;
    }
    if (recovery < 0) {
      return Fail("provd was not SERVING again within " + std::to_string(o_.recover_limit) +
                  " s of the fault clearing"),
             false;
    }
    max_recovery_ = std::max(max_recovery_, recovery);
    const size_t after = AckCount();
    if (!Check()) return false;
    std::printf(
        "  fault %2d: %-22s at %4d ms for %4d ms: %5llu refused, NOT_SERVING, recovered in "
        "%.2f s without a restart, %6zu new acks (%zu in all), tree %llu, all checks pass\n",
        round, name, delay, length, static_cast<unsigned long long>(refusals), recovery,
        after - before, after, static_cast<unsigned long long>(size_));
    std::fflush(stdout);
    return true;
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
  uint32_t seed_;
  std::mt19937 rng_;
  std::string vkey_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<client::LedgerClient> client_;
  std::vector<std::string> leaves_;
  std::mutex acked_mu_;              // the stream's reader writes acked_, its writer reads it
  std::map<uint64_t, Acked> acked_;  // leaves_ index -> ack; GUARDED_BY(acked_mu_)
  std::string last_refusal_;         // GUARDED_BY(acked_mu_)
  std::string unexpected_refusal_;   // set by the stream's reader only
  std::atomic<uint64_t> refused_{0};
  std::atomic<bool> stop_stream_{false};
  bool faults_ = false;  // provd runs under fiu-run
  double max_recovery_ = 0;
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
  app.add_option("--fault-rounds", o.fault_rounds,
                 "then disk faults under libfiu's fiu-run (fiu-utils): ENOSPC on write() or EIO "
                 "on fsync()/fdatasync() at a random moment of a stream, each recovered from "
                 "without a restart")
      ->default_val(o.fault_rounds);
  app.add_option("--fault-min-ms", o.fault_min_ms, "shortest disk fault")
      ->default_val(o.fault_min_ms);
  app.add_option("--fault-max-ms", o.fault_max_ms, "longest disk fault")
      ->default_val(o.fault_max_ms);
  app.add_option("--recover-limit", o.recover_limit,
                 "seconds provd may take to serve writes again after a disk fault clears")
      ->default_val(o.recover_limit);
  app.add_option("--seed", o.seed, "random seed (0: random)");
  o.tls.AddOptions(app);
  CLI11_PARSE(app, argc, argv);
  return Loop(o).Run();
}
