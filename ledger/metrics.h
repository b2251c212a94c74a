// provd's Prometheus metrics (README "Metrics and logs" lists every one).
//
// Metrics owns a prometheus-cpp registry of counters plus lock-free
// histograms of its own (prometheus-cpp 1.0's Histogram takes a mutex on
// every Observe), and renders everything in the Prometheus text format
// (0.0.4) with prometheus-cpp's TextSerializer. Figures that are cheap to
// read when asked (tree size, RocksDB properties, /proc/self) are sampled at
// scrape time only, so they cost the sequencer nothing.
//
// Thread-safety: every method may be called from any thread. The calls on
// the append path (RecordBatch, RecordDuplicate) are atomic adds only; a
// rejection or a witness answer with a label value not seen before takes a
// short lock once to create its counter.
//
// MetricsHttpServer serves Metrics::Render() as GET /metrics on its own
// listener (cpp-httplib), loopback unless explicitly allowed.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "verifier/status.h"

namespace httplib {
class Server;
}
namespace prometheus {
class Counter;
template <typename T>
class Family;
class Registry;
struct MetricFamily;
}  // namespace prometheus

namespace ledger {

class KvStore;

// A histogram whose Observe is a few relaxed atomic adds (no lock). Bounds
// are upper bucket limits, ascending; +Inf is implicit. A read concurrent
// with Observe may see a bucket count without its sum (or the reverse); the
// count is always the sum of the buckets, so _count == the +Inf bucket.
class AtomicHistogram {
 public:
  explicit AtomicHistogram(std::vector<double> bounds);
  AtomicHistogram(const AtomicHistogram&) = delete;
  AtomicHistogram& operator=(const AtomicHistogram&) = delete;

  void Observe(double value);
  // Cumulative counts per bound, then +Inf (== count); and the sum.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

class Metrics {
 public:
  // Label values outside [A-Za-z0-9_.:-]{1,64}, or past kMaxLabelValues
  // distinct ones per metric, are counted as "OTHER" (so a metric has at
  // most kMaxLabelValues + 1 series).
  static constexpr size_t kMaxLabelValues = 64;

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Sequencer: a committed batch of `records` submissions, `appended` of
  // them new leaves (the log's own index-root leaf not counted), that took
  // `seconds` from its first rule check to the durable write.
  void RecordBatch(size_t records, uint64_t appended, double seconds);
  // A submission answered "already logged".
  void RecordDuplicate() { duplicates_.fetch_add(1, std::memory_order_relaxed); }
  // A submission refused or failed, by its Status reason (e.g. DUPLICATE_SERIAL).
  void RecordRejection(std::string_view reason);
  // A proof or evidence RPC answered OK; `rpc` is the method name.
  void RecordProof(std::string_view rpc);
  void RecordEvidence(std::string_view rpc);
  // One witness's answer to a checkpoint: outcome "cosigned" or its reason
  // (e.g. WITNESS_TIMEOUT).
  void RecordWitnessAnswer(std::string_view witness, std::string_view outcome);

  // Sequencer: a write failed and the ledger stopped taking writes.
  void RecordStorageFailure() { storage_failures_.fetch_add(1, std::memory_order_relaxed); }

  // Scrape-time sources; each is optional. `tree_size` and `published_size`
  // are called on the scraping thread and must be thread-safe.
  void SetTreeSize(std::function<uint64_t()> tree_size, std::function<uint64_t()> published_size);
  // `kv` must outlive every Render() call.
  void SetKvStore(const KvStore* kv);
  // Whether the ledger takes writes (provd_storage_ok); thread-safe.
  void SetStorageOk(std::function<bool()> storage_ok);

  // The text exposition format of every metric, process_* included.
  std::string Render() const;

 private:
  prometheus::Counter& Labelled(prometheus::Family<prometheus::Counter>* family,
                                std::map<std::string, prometheus::Counter*, std::less<>>* seen,
                                std::string_view label, std::string_view value,
                                const std::map<std::string, std::string>& more = {});
  std::vector<prometheus::MetricFamily> CollectOwn() const;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* rejections_;
  prometheus::Family<prometheus::Counter>* proofs_;
  prometheus::Family<prometheus::Counter>* evidence_;
  prometheus::Family<prometheus::Counter>* witness_answers_;

  std::atomic<uint64_t> appends_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> storage_failures_{0};
  AtomicHistogram batch_records_;
  AtomicHistogram commit_seconds_;

  // Fixed at construction (the RPCs are a fixed set): read without a lock.
  std::map<std::string, prometheus::Counter*, std::less<>> proof_counters_;
  std::map<std::string, prometheus::Counter*, std::less<>> evidence_counters_;

  std::mutex mu_;  // creation of labelled counters
  std::map<std::string, prometheus::Counter*, std::less<>> rejection_counters_;  // GUARDED_BY(mu_)
  std::map<std::string, prometheus::Counter*, std::less<>> witness_counters_;    // GUARDED_BY(mu_)

  // Set before serving starts; read by Render().
  std::function<uint64_t()> tree_size_, published_size_;
  std::function<bool()> storage_ok_;
  const KvStore* kv_ = nullptr;
  double start_time_seconds_;  // process start, from /proc/self/stat
};

// "process_*" families (Prometheus client conventions) read from /proc/self:
// resident and virtual memory, CPU seconds, open and max fds, start time.
std::vector<prometheus::MetricFamily> CollectProcessMetrics(double start_time_seconds);
// The process's start time in seconds since the epoch (0 if unknown).
double ProcessStartTimeSeconds();

class MetricsHttpServer {
 public:
  // Serves GET /metrics on `listen` (HOST:PORT; port 0 picks one); any other
  // path is 404. Loopback only unless `allow_non_loopback`
  // (INVALID_ARGUMENT METRICS_NOT_LOOPBACK); a value that is not HOST:PORT is
  // INVALID_ARGUMENT BAD_FLAGS. `metrics` must outlive the server.
  static verifier::Result<std::unique_ptr<MetricsHttpServer>> Start(const Metrics* metrics,
                                                                    const std::string& listen,
                                                                    bool allow_non_loopback);
  ~MetricsHttpServer();  // stops serving
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  MetricsHttpServer() = default;

  std::string host_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace ledger
