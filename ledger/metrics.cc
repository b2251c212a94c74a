#include "ledger/metrics.h"

#include <dirent.h>
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>

#include "ledger/http_listen.h"
#include "ledger/kv_store.h"
#include "transport/credentials.h"
#include "transport/host_port.h"

namespace ledger {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::string_view kOther = "OTHER";

bool ValidLabelValue(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
}

MetricFamily Single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f{std::move(name), std::move(help), type, {}};
  ClientMetric m;
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

MetricFamily HistogramFamily(std::string name, std::string help, const AtomicHistogram& h) {
  MetricFamily f{std::move(name), std::move(help), MetricType::Histogram, {}};
  ClientMetric m;
  std::vector<uint64_t> counts = h.CumulativeCounts();
  for (size_t i = 0; i < h.bounds().size(); ++i) {
    m.histogram.bucket.push_back({counts[i], h.bounds()[i]});
  }
  m.histogram.bucket.push_back({counts.back(), std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = counts.back();
  m.histogram.sample_sum = h.Sum();
  f.metric.push_back(std::move(m));
  return f;
}

// Buckets 1, 2, 4, ... 4096 records (the default --max-batch), 8192, 16384.
std::vector<double> BatchBounds() {
  std::vector<double> b;
  for (double v = 1; v <= 16384; v *= 2) b.push_back(v);
  return b;
}

// 0.5 ms .. 10 s: an fsync on a good disk is ~1 ms, a slow one 10-100 ms.
std::vector<double> CommitBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Fields of /proc/self/stat after the command name "(...)": field 3 is [0].
std::vector<std::string> StatFields() {
  std::string stat = ReadSmallFile("/proc/self/stat");
  auto close = stat.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream in(stat.substr(close + 1));
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

}  // namespace

AtomicHistogram::AtomicHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void AtomicHistogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  double old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + value, std::memory_order_relaxed)) {
  }
}

std::vector<uint64_t> AtomicHistogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      rejections_(&prometheus::BuildCounter()
                       .Name("provd_rejections_total")
                       .Help("Submissions not appended, by the Status reason code they were "
                             "answered with (rulebook reasons such as DUPLICATE_SERIAL, "
                             "BAD_SIGNATURE, UNKNOWN_SIGNER; STORAGE_ERROR, SHUTTING_DOWN)")
                       .Register(*registry_)),
      proofs_(&prometheus::BuildCounter()
                   .Name("provd_proofs_served_total")
                   .Help("Proofs answered OK, by RPC")
                   .Register(*registry_)),
      evidence_(&prometheus::BuildCounter()
                     .Name("provd_evidence_served_total")
                     .Help("Evidence bundles answered OK, by RPC")
                     .Register(*registry_)),
      witness_answers_(&prometheus::BuildCounter()
                            .Name("provd_witness_answers_total")
                            .Help("Witnesses' answers to checkpoints: outcome \"cosigned\" or "
                                  "the reason of the failure (e.g. WITNESS_TIMEOUT)")
                            .Register(*registry_)),
      batch_records_(BatchBounds()),
      commit_seconds_(CommitBounds()),
      start_time_seconds_(ProcessStartTimeSeconds()) {
  // The RPCs are a fixed set: created up front, so they read 0 before any call.
  for (const char* rpc : {"GetInclusionProof", "GetConsistencyProof"}) {
    proof_counters_.emplace(rpc, &proofs_->Add({{"rpc", rpc}}));
  }
  for (const char* rpc : {"GetDeviceEvidence", "GetOrganizationEvidence", "GetEvidence"}) {
    evidence_counters_.emplace(rpc, &evidence_->Add({{"rpc", rpc}}));
  }
}

Metrics::~Metrics() = default;

void Metrics::RecordBatch(size_t records, uint64_t appended, double seconds) {
  appends_.fetch_add(appended, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  batch_records_.Observe(static_cast<double>(records));
  commit_seconds_.Observe(seconds);
}

prometheus::Counter& Metrics::Labelled(
    prometheus::Family<prometheus::Counter>* family,
    std::map<std::string, prometheus::Counter*, std::less<>>* seen, std::string_view label,
    std::string_view value, const std::map<std::string, std::string>& more) {
  std::string key(value);
  for (const auto& [k, v] : more) key += "\x1f" + v;
  std::lock_guard lock(mu_);
  if (auto it = seen->find(key); it != seen->end()) return *it->second;
  std::map<std::string, std::string> labels = more;
  labels[std::string(label)] = std::string(value);
  if (!ValidLabelValue(value) || seen->size() >= kMaxLabelValues) {
    labels[std::string(label)] = std::string(kOther);
    key = std::string(kOther);
    for (const auto& [k, v] : more) key += "\x1f" + v;
    if (auto it = seen->find(key); it != seen->end()) return *it->second;
  }
  prometheus::Counter* c = &family->Add(labels);
  seen->emplace(std::move(key), c);
  return *c;
}

void Metrics::RecordRejection(std::string_view reason) {
  Labelled(rejections_, &rejection_counters_, "reason", reason).Increment();
}

void Metrics::RecordProof(std::string_view rpc) {
  // Never modified after construction: no lock.
  if (auto it = proof_counters_.find(rpc); it != proof_counters_.end()) it->second->Increment();
}

void Metrics::RecordEvidence(std::string_view rpc) {
  if (auto it = evidence_counters_.find(rpc); it != evidence_counters_.end()) {
    it->second->Increment();
  }
}

void Metrics::RecordWitnessAnswer(std::string_view witness, std::string_view outcome) {
  std::string w = ValidLabelValue(witness) ? std::string(witness) : std::string(kOther);
  Labelled(witness_answers_, &witness_counters_, "outcome", outcome, {{"witness", w}}).Increment();
}

void Metrics::SetTreeSize(std::function<uint64_t()> tree_size,
                          std::function<uint64_t()> published_size) {
  tree_size_ = std::move(tree_size);
  published_size_ = std::move(published_size);
}

void Metrics::SetKvStore(const KvStore* kv) { kv_ = kv; }

void Metrics::SetStorageOk(std::function<bool()> storage_ok) {
  storage_ok_ = std::move(storage_ok);
}

std::vector<MetricFamily> Metrics::CollectOwn() const {
  std::vector<MetricFamily> out;
  out.push_back(Single("provd_appends_total",
                       "Records appended durably (new leaves; the log's own index-root "
                       "leaves not counted)",
                       MetricType::Counter,
                       static_cast<double>(appends_.load(std::memory_order_relaxed))));
  out.push_back(Single("provd_duplicates_total",
                       "Submissions answered already_logged (the same record was in the log)",
                       MetricType::Counter,
                       static_cast<double>(duplicates_.load(std::memory_order_relaxed))));
  out.push_back(HistogramFamily("provd_batch_records",
                                "Submissions per sequenced batch (one durable write each)",
                                batch_records_));
  out.push_back(HistogramFamily(
      "provd_commit_duration_seconds",
      "Time to commit one batch: rule checks, tree, signing and the WAL-synced write",
      commit_seconds_));
  out.push_back(Single("provd_storage_failures_total",
                       "Times a durable write failed (full disk, I/O error) and provd stopped "
                       "taking writes until the disk took them again",
                       MetricType::Counter,
                       static_cast<double>(storage_failures_.load(std::memory_order_relaxed))));
  if (storage_ok_) {
    out.push_back(Single("provd_storage_ok",
                         "1 while provd takes writes; 0 after a failed write until storage "
                         "recovers (health is NOT_SERVING meanwhile)",
                         MetricType::Gauge, storage_ok_() ? 1.0 : 0.0));
  }
  if (tree_size_) {
    out.push_back(Single("provd_tree_size", "Leaves in the latest signed checkpoint",
                         MetricType::Gauge, static_cast<double>(tree_size_())));
  }
  if (published_size_) {
    out.push_back(Single("provd_published_tree_size",
                         "Leaves in the head readers are served as published (with its "
                         "witnesses' cosignatures when witnessed)",
                         MetricType::Gauge, static_cast<double>(published_size_())));
  }
  if (kv_) {
    struct Prop {
      const char* property;
      const char* name;
      const char* help;
    };
    static constexpr Prop kProps[] = {
        {"rocksdb.estimate-live-data-size", "provd_rocksdb_estimate_live_data_size_bytes",
         "RocksDB estimate of the live data size"},
        {"rocksdb.total-sst-files-size", "provd_rocksdb_total_sst_files_size_bytes",
         "Size of all RocksDB SST files"},
        {"rocksdb.cur-size-all-mem-tables", "provd_rocksdb_memtable_bytes",
         "Approximate size of RocksDB's active and unflushed memtables"},
        {"rocksdb.estimate-num-keys", "provd_rocksdb_estimate_num_keys",
         "RocksDB estimate of the number of keys"},
        {"rocksdb.block-cache-usage", "provd_rocksdb_block_cache_usage_bytes",
         "Memory used by RocksDB's block cache"},
        {"rocksdb.num-running-compactions", "provd_rocksdb_running_compactions",
         "RocksDB compactions running"},
        {"rocksdb.background-errors", "provd_rocksdb_background_errors",
         "RocksDB background errors (flush/compaction) since open"},
    };
    for (const Prop& p : kProps) {
      if (auto v = kv_->IntProperty(p.property)) {
        out.push_back(Single(p.name, p.help, MetricType::Gauge, static_cast<double>(*v)));
      }
    }
  }
  return out;
}

std::string Metrics::Render() const {
  std::vector<MetricFamily> all = registry_->Collect();
  for (auto& f : CollectOwn()) all.push_back(std::move(f));
  for (auto& f : CollectProcessMetrics(start_time_seconds_)) all.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(all);
}

double ProcessStartTimeSeconds() {
  std::vector<std::string> f = StatFields();
  // Field 22 (starttime, clock ticks after boot) is [19].
  if (f.size() < 20) return 0;
  double ticks = std::strtod(f[19].c_str(), nullptr);
  double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::string stat = ReadSmallFile("/proc/stat");
  auto pos = stat.find("\nbtime ");
  if (pos == std::string::npos || hz <= 0) return 0;
  double btime = std::strtod(stat.c_str() + pos + 7, nullptr);
  return btime + ticks / hz;
}

std::vector<MetricFamily> CollectProcessMetrics(double start_time_seconds) {
  std::vector<MetricFamily> out;
  std::vector<std::string> f = StatFields();
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // utime [11], stime [12], vsize [20], rss pages [21].
  if (f.size() > 21 && hz > 0) {
    double cpu = (std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr)) / hz;
    out.push_back(Single("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         cpu));
    out.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, std::strtod(f[20].c_str(), nullptr)));
    out.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, std::strtod(f[21].c_str(), nullptr) * page));
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    double n = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    out.push_back(Single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                         n - 1));  // less the directory's own fd
  }
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    out.push_back(Single("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, static_cast<double>(rl.rlim_cur)));
  }
  if (start_time_seconds > 0) {
    out.push_back(Single("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.",
                         MetricType::Gauge, start_time_seconds));
  }
  return out;
}

verifier::Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const Metrics* metrics, const std::string& listen, bool allow_non_loopback) {
  auto host_port = transport::SplitHostPort(listen);
  if (!host_port) {
    return verifier::InvalidArgument(
        "BAD_FLAGS", "--metrics-listen must be HOST:PORT (e.g. 127.0.0.1:9464): " + listen);
  }
  auto [host, port] = *host_port;
  if (!allow_non_loopback && !transport::IsLoopback(listen)) {
    return verifier::InvalidArgument(
        "METRICS_NOT_LOOPBACK",
        "metrics on " + listen +
            " is refused: they are served over plain HTTP to anyone who can connect; listen on "
            "loopback (127.0.0.1 or [::1]) or pass --metrics-public");
  }
  std::unique_ptr<MetricsHttpServer> s(new MetricsHttpServer);
  s->host_ = host;
  s->server_ = std::make_unique<httplib::Server>();
  s->server_->set_payload_max_length(4096);
  s->server_->set_keep_alive_timeout(10);
  s->server_->Get(".*", [metrics](const httplib::Request& req, httplib::Response& res) {
    if (req.path != "/metrics") {
      res.status = 404;
      return;
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_content(metrics->Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  auto bound = ListenGetOnly(*s->server_, host, port, listen, "METRICS_LISTEN", &s->thread_);
  if (!bound.ok()) return bound.status();
  s->port_ = *bound;
  return s;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ledger
