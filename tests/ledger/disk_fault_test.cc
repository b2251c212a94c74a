// Disk faults in a real provd: started under libfiu's `fiu-run -x` (Debian
// fiu-utils), a full disk (ENOSPC from write()) or a failing one (EIO from
// fsync()/fdatasync()) is switched on and off in the live process while
// records stream in. provd must acknowledge nothing it could not write,
// report the fault (UNAVAILABLE with the reason, gRPC health NOT_SERVING, one
// log line), keep serving reads, resume by itself once the fault clears, and
// keep every acknowledged record at its index with identical bytes;
// `provd verify` must pass afterwards.
//
// What the preload hits in practice: every write()/fdatasync() call of the
// process. That is RocksDB's WAL, tables, MANIFEST and info LOG (provd sends
// the latter to its own log: see docs/storage.md), and provd's probe file.
// gRPC's sockets (sendmsg), its wakeups (eventfd_write inside glibc) and
// spdlog's output (stdio: glibc-internal writes) are not affected.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "tests/client/exec.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"
#include "verifier/crypto.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using Clock = std::chrono::steady_clock;

constexpr char kWrite[] = "posix/io/rw/write";
constexpr char kFsync[] = "posix/io/sync/fsync";
constexpr char kFdatasync[] = "posix/io/sync/fdatasync";

// gRPC health of the server ("") and of the Ledger service, which must agree:
// 1 SERVING, 2 NOT_SERVING; -1 if the call failed or they differ.
int HealthStatus(const std::string& target) {
  const int server = tools::HealthStatus(target);
  const int ledger =
      tools::HealthStatus(target, transport::TlsFiles::Plaintext(), "provenance.v1.Ledger");
  return server == ledger ? server : -1;
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

struct Acked {
  uint64_t index;
  std::string note;
};

// Streams every record not yet acknowledged over SubmitStream, pass after
// pass, until stopped; keeps the acks and the refusals.
class Streamer {
 public:
  Streamer(client::LedgerClient* client, const std::vector<std::string>* leaves)
      : client_(client), leaves_(leaves) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Streamer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t acked() const {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  size_t refused() const { return refused_; }
  std::string last_refusal() const {
    std::lock_guard lock(mu_);
    return last_refusal_;
  }
  std::map<uint64_t, Acked> acks() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  // Acks that answered a record as already logged (it was durable although
  // its first submission was refused).
  size_t already_logged() const { return already_logged_; }

 private:
  void Run() {
    while (!stop_) {
      bool errors = false;
      grpc::ClientContext ctx;
      auto stream = client_->stub().SubmitStream(&ctx);
      std::atomic<int> inflight{0};
      std::atomic<bool> done{false};
      std::thread writer([&] {
        pb::SubmitRequest req;
        for (uint64_t i = 0; i < leaves_->size() && !done && !stop_; ++i) {
          {
            std::lock_guard lock(mu_);
            if (acked_.count(i)) continue;
          }
          while (inflight >= 512 && !done)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          if (!req.mutable_record()->ParseFromString((*leaves_)[i])) std::abort();
          req.set_sequence(i);
          ++inflight;
          if (!stream->Write(req)) break;
        }
        stream->WritesDone();
      });
      pb::StreamAck ack;
      while (stream->Read(&ack)) {
        --inflight;
        std::lock_guard lock(mu_);
        if (ack.code() == 0) {
          acked_[ack.sequence()] = {ack.index(), ack.checkpoint().note()};
          if (ack.already_logged()) ++already_logged_;
        } else {
          errors = true;
          ++refused_;
          last_refusal_ = std::to_string(ack.code()) + " " + ack.message();
          if (ack.code() != static_cast<int>(grpc::StatusCode::UNAVAILABLE)) {
            ADD_FAILURE() << "a submission was refused with " << last_refusal_;
          }
        }
      }
      done = true;
      writer.join();
      (void)stream->Finish();
      if (errors) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      bool all;
      {
        std::lock_guard lock(mu_);
        all = acked_.size() == leaves_->size();
      }
      if (all) break;
    }
  }

  client::LedgerClient* client_;
  const std::vector<std::string>* leaves_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<uint64_t, Acked> acked_;  // GUARDED_BY(mu_)
  std::string last_refusal_;         // GUARDED_BY(mu_)
  std::atomic<size_t> refused_{0};
  std::atomic<size_t> already_logged_{0};
  std::thread thread_;
};

class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    auto wrapper = tools::FiuControl::Wrapper("");
    ASSERT_TRUE(wrapper.ok()) << wrapper.status().ToString();
    std::string tmpl = "/tmp/disk-fault-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    data_ = dir_ + "/data";
    auto vkey = tools::InitLedger(PROVD_PATH, data_, "disk-fault-test.example/log",
                                  {{"authority", authority_.public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    ASSERT_NO_FATAL_FAILURE(StartProvd());
    std::vector<verifier::SigningKey> mfr;
    for (int m = 0; m < 2; ++m) mfr.push_back(tools::SeededKey("fault-mfr-" + std::to_string(m)));
    const int64_t now = tools::UnixNow();
    verifier::Status s = tools::Setup(*client_, authority_, mfr, now);
    ASSERT_TRUE(s.ok()) << s.ToString();
    setup_size_ = client_->latest()->checkpoint.size;
    leaves_ = tools::PreSign(20000, mfr, now);
  }

  void TearDown() override {
    if (provd_) provd_->Stop(SIGKILL);
    if (!HasFailure() && !getenv("DISK_FAULT_KEEP")) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    } else {
      std::printf("kept %s for inspection (provd.log in data/)\n", dir_.c_str());
    }
  }

  void StartProvd() {
    auto wrapper = tools::FiuControl::Wrapper(dir_ + "/fiu");
    ASSERT_TRUE(wrapper.ok());
    auto p = tools::ProvdProcess::Start(PROVD_PATH, data_, {}, *wrapper);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    fiu_ = std::make_unique<tools::FiuControl>(dir_ + "/fiu", provd_->pid());
    auto c = client::LedgerClient::Connect(provd_->target(), vkey_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    if (client_ && client_->latest()) (*c)->SetLatest(*client_->latest());
    client_ = std::move(c).value();
  }

  std::string Log() const { return testexec::Slurp(data_ + "/provd.log"); }
  size_t CountInLog(const std::string& needle) const {
    const std::string log = Log();
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  // A unary Submit of a record not yet in the log.
  grpc::Status SubmitOne(const std::string& leaf) {
    pb::SubmitRequest req;
    EXPECT_TRUE(req.mutable_record()->ParseFromString(leaf));
    pb::SubmitResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return client_->stub().Submit(&ctx, req, &resp);
  }

  // Every acknowledged record is in the tree at its acknowledged index with
  // identical bytes; every acknowledged checkpoint is consistent with the
  // head; the tree holds each record once, and nothing but ours after setup.
  void CheckAcknowledged(const std::map<uint64_t, Acked>& acks) {
    auto head = client_->GetCheckpoint();
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    const uint64_t size = head->checkpoint.size;
    auto entries = client_->GetEntries(0, size);  // proven against the head
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    ASSERT_EQ(entries->size(), size);
    std::map<std::string, uint64_t> seen;
    for (uint64_t i = 0; i < size; ++i) {
      ASSERT_TRUE(seen.emplace((*entries)[i], i).second) << "#" << i << " duplicates an entry";
    }
    std::set<std::string> ours(leaves_.begin(), leaves_.end());
    for (uint64_t i = setup_size_; i < size; ++i) {
      ASSERT_TRUE(ours.count((*entries)[i]) || tools::IsIndexRoot((*entries)[i]))
          << "#" << i << " is not a submitted record";
    }
    std::set<std::string> notes;
    for (const auto& [seq, a] : acks) {
      ASSERT_LT(a.index, size) << "acknowledged record " << seq << " is beyond the head";
      ASSERT_EQ((*entries)[a.index], leaves_[seq])
          << "acknowledged record " << seq << " is not at #" << a.index;
      notes.insert(a.note);
    }
    for (const auto& note : notes) {
      auto c = client_->VerifyNote(note);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      ASSERT_TRUE(client_->ProveConsistency(c->checkpoint, head->checkpoint).ok());
    }
  }

  // SIGTERM. Under fiu-run, libfiu's remote-control thread starts before
  // provd's main and does not block SIGTERM (provd blocks it in its own
  // threads and waits for it with sigwait), so the signal may land there and
  // end provd at once, as a crash would: exit 0 (drained) or 143.
  void Terminate() {
    const int rc = provd_->Stop(SIGTERM);
    EXPECT_TRUE(rc == 0 || rc == 128 + SIGTERM) << "provd exited " << rc << "\n" << Log();
    provd_.reset();
  }

  // Stops provd and runs `provd verify`.
  void StopAndVerify() {
    Terminate();
    testexec::Outcome v = testexec::Exec({PROVD_PATH, "verify", "--data-dir", data_}, dir_);
    EXPECT_EQ(v.rc, 0) << testexec::Describe(v);
    EXPECT_NE(v.out.find("ok: "), std::string::npos) << v.out;
  }

  // A fault on `points` (with `err`) under streaming load, then cleared.
  void FaultRound(const std::vector<std::string>& points, int err, const std::string& errname) {
    Streamer stream(client_.get(), &leaves_);
    ASSERT_TRUE(WaitFor([&] { return stream.acked() >= 500; }, std::chrono::seconds(60)))
        << "no load before the fault";
    ASSERT_EQ(HealthStatus(provd_->target()), 1);
    for (const auto& p : points) ASSERT_TRUE(fiu_->Enable(p, err).ok());
    const auto faulted = Clock::now();

    // Refused, with the reason, and reported.
    ASSERT_TRUE(WaitFor([&] { return stream.refused() > 0; }, std::chrono::seconds(30)))
        << "nothing refused under " << errname;
    const std::string refusal = stream.last_refusal();
    EXPECT_NE(refusal.find("storage unavailable"), std::string::npos) << refusal;
    EXPECT_NE(refusal.find(errname), std::string::npos) << refusal;
    EXPECT_TRUE(
        WaitFor([&] { return HealthStatus(provd_->target()) == 2; }, std::chrono::seconds(10)))
        << "health is not NOT_SERVING";
    std::printf("%s: refused and NOT_SERVING %.0f ms after the fault began\n", errname.c_str(),
                std::chrono::duration<double, std::milli>(Clock::now() - faulted).count());
    grpc::Status unary = SubmitOne(leaves_.back());
    EXPECT_EQ(unary.error_code(), grpc::StatusCode::UNAVAILABLE) << unary.error_message();
    EXPECT_NE(unary.error_message().find("STORAGE_ERROR: storage unavailable"), std::string::npos)
        << unary.error_message();

    // Nothing more is acknowledged while the fault lasts (once the acks
    // already on their way have arrived); reads go on.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const size_t acked_during = stream.acked();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(stream.acked(), acked_during) << "acknowledged while the disk failed";
    auto head = client_->GetCheckpoint();
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(HealthStatus(provd_->target()), 2);
    EXPECT_EQ(CountInLog("storage failed"), 1u) << Log();

    // The fault clears: provd resumes by itself.
    for (const auto& p : points) ASSERT_TRUE(fiu_->Disable(p).ok());
    const auto cleared = Clock::now();
    ASSERT_TRUE(
        WaitFor([&] { return HealthStatus(provd_->target()) == 1; }, std::chrono::seconds(30)))
        << "provd did not recover\n"
        << Log();
    const double recovered_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - cleared).count();
    ASSERT_TRUE(
        WaitFor([&] { return stream.acked() >= acked_during + 1000; }, std::chrono::seconds(60)))
        << "no acks after recovery";
    std::printf(
        "%s: SERVING again %.0f ms after the fault cleared; %zu acks, %zu refusals, %zu "
        "refused-then-found-logged\n",
        errname.c_str(), recovered_ms, stream.acked(), stream.refused(), stream.already_logged());
    EXPECT_EQ(CountInLog("storage recovered"), 1u) << Log();
    EXPECT_EQ(HealthStatus(provd_->target()), 1);
    stream.Stop();
    ASSERT_NO_FATAL_FAILURE(CheckAcknowledged(stream.acks()));
    StopAndVerify();
  }

  verifier::SigningKey authority_ = verifier::SigningKey::Generate();
  std::string dir_, data_, vkey_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<tools::FiuControl> fiu_;
  std::unique_ptr<client::LedgerClient> client_;
  std::vector<std::string> leaves_;
  uint64_t setup_size_ = 0;
};

TEST_F(DiskFaultTest, FullDiskRefusesWritesThenResumesWithEveryAckIntact) {
  FaultRound({kWrite}, ENOSPC, "ENOSPC");
}

TEST_F(DiskFaultTest, FailingFsyncRefusesWritesThenResumesWithEveryAckIntact) {
  FaultRound({kFdatasync, kFsync}, EIO, "EIO");
}

TEST_F(DiskFaultTest, AFaultThatNeverClearsAcknowledgesNothing) {
  auto before = client_->GetCheckpoint();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(fiu_->Enable(kWrite, ENOSPC).ok());
  {
    Streamer stream(client_.get(), &leaves_);
    ASSERT_TRUE(WaitFor([&] { return stream.refused() >= 1000; }, std::chrono::seconds(30)));
    std::this_thread::sleep_for(std::chrono::seconds(2));  // several recovery attempts
    stream.Stop();
    EXPECT_EQ(stream.acked(), 0u);
    EXPECT_NE(stream.last_refusal().find("ENOSPC"), std::string::npos) << stream.last_refusal();
  }
  EXPECT_EQ(HealthStatus(provd_->target()), 2);
  auto head = client_->GetCheckpoint();  // reads go on
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->checkpoint.size, before->checkpoint.size);
  EXPECT_EQ(CountInLog("storage failed"), 1u) << Log();
  EXPECT_EQ(CountInLog("storage recovered"), 0u) << Log();
  // Stopped while the disk is full, then started on a healthy one: the same
  // tree, which verifies.
  Terminate();
  ASSERT_NO_FATAL_FAILURE(StartProvd());
  head = client_->GetCheckpoint();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->checkpoint.size, before->checkpoint.size);
  StopAndVerify();
}

}  // namespace
