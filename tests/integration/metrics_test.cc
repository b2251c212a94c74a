// Integration: the real provd with --metrics-listen and --log-format json.
// Records are appended (and some refused), proofs and evidence fetched, then
// /metrics is scraped over HTTP and parsed by the official Prometheus client's
// text-format parser (Debian's python3-prometheus-client,
// tests/testdata/metrics/parse_metrics.py); the counters must match what the
// test did. Also: metrics are off (no listener) by default, a bad
// --metrics-listen is refused with a clear message, and the JSON log lines
// parse with python3's json module.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "client/ledger_client.h"
#include "records/records.h"
#include "tests/client/exec.h"
#include "tools/bench_records.h"
#include "tools/provd_process.h"

namespace {

namespace fs = std::filesystem;
namespace pb = provenance::v1;
using nlohmann::json;

constexpr char kOrigin[] = "metrics.example/log";
const std::string kScripts = std::string(PROV_SOURCE_DIR) + "/tests/testdata/metrics";

// The TCP ports `pid` listens on: its socket inodes in LISTEN state (0A) in
// /proc/PID/net/tcp and tcp6.
std::set<int> ListeningPorts(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(proc + "/fd", ec)) {
    std::string target = fs::read_symlink(e.path(), ec).string();
    if (target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    std::istringstream in(testexec::Slurp(proc + table));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
      if (st == "0A" && inodes.count(inode)) {
        ports.insert(std::stoi(local.substr(local.find(':') + 1), nullptr, 16));
      }
    }
  }
  return ports;
}

int PortOf(const std::string& host_port) {
  return std::stoi(host_port.substr(host_port.rfind(':') + 1));
}

// Parsed /metrics: samples by name, each with its labels.
struct Scrape {
  std::map<std::string, std::string> types;  // family -> type
  std::vector<std::tuple<std::string, std::map<std::string, std::string>, json>> samples;

  // The value of the sample `name` with exactly `labels`; NaN if absent.
  double Value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& [n, l, v] : samples) {
      if (n == name && l == labels) return v.is_number() ? v.get<double>() : INFINITY;
    }
    return NAN;
  }
  // The samples of `name` whose labels include `labels`.
  std::vector<std::pair<std::map<std::string, std::string>, double>> All(
      const std::string& name) const {
    std::vector<std::pair<std::map<std::string, std::string>, double>> out;
    for (const auto& [n, l, v] : samples) {
      if (n == name) out.emplace_back(l, v.is_number() ? v.get<double>() : INFINITY);
    }
    return out;
  }
};

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    char tmpl[] = "/tmp/provd-metrics-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    data_ = dir_ + "/data";
    auto vkey = tools::InitLedger(PROVD_PATH, data_, kOrigin, {{"a", authority_.public_key()}}, 1);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
  }

  void TearDown() override {
    client_.reset();
    if (provd_) {
      EXPECT_EQ(provd_->Stop(SIGTERM), 0) << "provd did not exit cleanly";
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void Start(std::vector<std::string> extra) {
    log_offset_ = testexec::Slurp(data_ + "/provd.log").size();
    auto p = tools::ProvdProcess::Start(PROVD_PATH, data_, std::move(extra));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    auto c = client::LedgerClient::Connect(provd_->target(), vkey_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }

  // GET /metrics, parsed by the official parser.
  Scrape ScrapeMetrics() {
    Scrape s;
    const std::string& url = provd_->metrics_url();
    EXPECT_FALSE(url.empty());
    if (url.empty()) return s;
    const std::string base = url.substr(0, url.size() - std::string("/metrics").size());
    httplib::Client http(base);
    auto res = http.Get("/metrics");
    EXPECT_TRUE(res && res->status == 200);
    if (!res || res->status != 200) return s;
    EXPECT_TRUE(res->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
    const std::string file = dir_ + "/metrics.txt";
    testexec::Spit(file, res->body);
    auto parsed = testexec::Exec({"/usr/bin/python3", kScripts + "/parse_metrics.py", file}, dir_);
    EXPECT_EQ(parsed.rc, 0) << testexec::Describe(parsed) << "\n" << res->body;
    if (parsed.rc != 0) return s;
    json j = json::parse(parsed.out);
    for (auto& [k, v] : j["families"].items()) s.types[k] = v;
    for (auto& row : j["samples"]) {
      s.samples.emplace_back(row[0].get<std::string>(),
                             row[1].get<std::map<std::string, std::string>>(), row[2]);
    }
    return s;
  }

  // Submit over the bare stub (no proofs fetched by a verifying client).
  grpc::Status Submit(const std::string& leaf, bool* already_logged = nullptr) {
    pb::SubmitRequest req;
    EXPECT_TRUE(req.mutable_record()->ParseFromString(leaf));
    pb::SubmitResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = client_->stub().Submit(&ctx, req, &resp);
    if (already_logged) *already_logged = resp.already_logged();
    return s;
  }

  uint64_t HeadSize() {
    auto h = client_->GetCheckpoint();
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->checkpoint.size : 0;
  }

  verifier::SigningKey authority_ = tools::SeededKey("metrics-authority");
  std::string dir_, data_, vkey_;
  size_t log_offset_ = 0;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<client::LedgerClient> client_;
};

TEST_F(MetricsTest, CountersMatchWhatClientsDidParsedByPrometheusParser) {
  ASSERT_NO_FATAL_FAILURE(Start({"--metrics-listen", "127.0.0.1:0", "--log-format", "json"}));
  const uint64_t size0 = HeadSize();

  // Appended: 4 manufacturer records, then kDevices device records.
  constexpr uint64_t kDevices = 12;
  const auto mfr = std::vector<verifier::SigningKey>{tools::SeededKey("metrics-mfr-0")};
  const int64_t now = tools::UnixNow();
  ASSERT_TRUE(tools::Setup(*client_, authority_, mfr, now).ok());
  const auto leaves = tools::PreSign(kDevices, mfr, now);
  for (const std::string& leaf : leaves) {
    ASSERT_TRUE(Submit(leaf).ok());
  }
  // Already logged, twice: answered OK, counted as duplicates, not appends.
  for (int i = 0; i < 2; ++i) {
    bool already = false;
    ASSERT_TRUE(Submit(leaves[0], &already).ok());
    ASSERT_TRUE(already);
  }
  // Refused by the rulebook in the sequencer: the same serials, new records.
  constexpr int kDuplicateSerials = 3;
  for (const std::string& leaf : tools::PreSign(kDuplicateSerials, mfr, now + 1)) {
    grpc::Status s = Submit(leaf);
    ASSERT_FALSE(s.ok());
    ASSERT_TRUE(s.error_message().starts_with("DUPLICATE_SERIAL")) << s.error_message();
  }
  // Refused at admission: signed by a key nobody enrolled.
  constexpr int kUnknownSigners = 2;
  const auto stranger = std::vector<verifier::SigningKey>{tools::SeededKey("metrics-stranger")};
  for (const std::string& leaf : tools::PreSign(kUnknownSigners, stranger, now)) {
    grpc::Status s = Submit(leaf);
    ASSERT_FALSE(s.ok());
    ASSERT_TRUE(s.error_message().starts_with("UNKNOWN_SIGNER")) << s.error_message();
  }

  // Proofs and evidence, over the bare stub (the verifying client fetches
  // proofs of its own), counted from a first scrape.
  const uint64_t size = HeadSize();
  const Scrape before = ScrapeMetrics();
  constexpr int kInclusion = 5, kConsistency = 2, kEvidence = 3;
  for (int i = 0; i < kInclusion; ++i) {
    pb::GetInclusionProofRequest req;
    req.set_index(size0 + i);
    req.set_tree_size(size);
    pb::GetInclusionProofResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(client_->stub().GetInclusionProof(&ctx, req, &resp).ok());
  }
  for (int i = 0; i < kConsistency; ++i) {
    pb::GetConsistencyProofRequest req;
    req.set_first(size0);
    req.set_second(size);
    pb::GetConsistencyProofResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(client_->stub().GetConsistencyProof(&ctx, req, &resp).ok());
  }
  for (int i = 0; i < kEvidence; ++i) {
    pb::GetDeviceEvidenceRequest req;
    req.set_manufacturer_org(tools::MfrId(0));
    req.set_serial("SN000000000" + std::to_string(i));
    pb::Evidence resp;
    grpc::ClientContext ctx;
    grpc::Status s = client_->stub().GetDeviceEvidence(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  Scrape m = ScrapeMetrics();
  ASSERT_FALSE(m.samples.empty());
  const uint64_t appended = 4 + kDevices;
  auto roots = tools::CountIndexRoots(*client_, size0, size);
  ASSERT_TRUE(roots.ok()) << roots.status().ToString();
  EXPECT_EQ(size - size0 - *roots, appended);  // the log agrees with the test

  EXPECT_EQ(m.types["provd_appends"], "counter");
  EXPECT_EQ(m.Value("provd_appends_total"), appended);
  EXPECT_EQ(m.Value("provd_duplicates_total"), 2);
  EXPECT_EQ(m.Value("provd_rejections_total", {{"reason", "DUPLICATE_SERIAL"}}), kDuplicateSerials);
  EXPECT_EQ(m.Value("provd_rejections_total", {{"reason", "UNKNOWN_SIGNER"}}), kUnknownSigners);
  EXPECT_EQ(m.All("provd_rejections_total").size(), 2u);
  auto delta = [&](const std::string& name, const std::string& rpc) {
    return m.Value(name, {{"rpc", rpc}}) - before.Value(name, {{"rpc", rpc}});
  };
  EXPECT_EQ(delta("provd_proofs_served_total", "GetInclusionProof"), kInclusion);
  EXPECT_EQ(delta("provd_proofs_served_total", "GetConsistencyProof"), kConsistency);
  EXPECT_EQ(delta("provd_evidence_served_total", "GetDeviceEvidence"), kEvidence);
  EXPECT_EQ(m.Value("provd_evidence_served_total", {{"rpc", "GetDeviceEvidence"}}), kEvidence);
  EXPECT_EQ(m.Value("provd_evidence_served_total", {{"rpc", "GetEvidence"}}), 0);
  EXPECT_EQ(m.Value("provd_tree_size"), size);

  // Histograms: each commit observed once in both; every submission that
  // reached the sequencer is in one batch (appended, already logged, or
  // refused by the rules); buckets cumulative, +Inf == count.
  EXPECT_EQ(m.types["provd_batch_records"], "histogram");
  EXPECT_EQ(m.types["provd_commit_duration_seconds"], "histogram");
  const double commits = m.Value("provd_batch_records_count");
  EXPECT_GE(commits, 1);
  EXPECT_LE(commits, appended + 2 + kDuplicateSerials);
  EXPECT_EQ(m.Value("provd_commit_duration_seconds_count"), commits);
  EXPECT_EQ(m.Value("provd_batch_records_sum"), appended + 2 + kDuplicateSerials);
  EXPECT_GT(m.Value("provd_commit_duration_seconds_sum"), 0);
  for (const char* h : {"provd_batch_records", "provd_commit_duration_seconds"}) {
    auto buckets = m.All(std::string(h) + "_bucket");
    ASSERT_GE(buckets.size(), 2u) << h;
    double last = 0, inf = -1;
    for (const auto& [labels, v] : buckets) {
      EXPECT_GE(v, last) << h << " le=" << labels.at("le");
      last = v;
      if (labels.at("le") == "+Inf") inf = v;
    }
    EXPECT_EQ(inf, m.Value(std::string(h) + "_count")) << h;
  }

  // RocksDB and process figures.
  EXPECT_GT(m.Value("provd_rocksdb_estimate_live_data_size_bytes") +
                m.Value("provd_rocksdb_memtable_bytes"),
            0);
  EXPECT_GT(m.Value("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(m.Value("process_open_fds"), 3);
  EXPECT_GT(m.Value("process_max_fds"), 0);
  EXPECT_GE(m.Value("process_cpu_seconds_total"), 0);
  EXPECT_EQ(m.types["process_cpu_seconds"], "counter");
  const double start = m.Value("process_start_time_seconds");
  EXPECT_NEAR(start, static_cast<double>(tools::UnixNow()), 600);

  // Metrics listen where asked, on loopback; anything else there is 404.
  const std::string& url = provd_->metrics_url();
  EXPECT_TRUE(url.starts_with("http://127.0.0.1:")) << url;
  EXPECT_TRUE(ListeningPorts(provd_->pid()).count(PortOf(url.substr(0, url.rfind('/')))));
  httplib::Client http(provd_->metrics_url().substr(0, provd_->metrics_url().rfind('/')));
  auto other = http.Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);

  // The JSON log lines so far (and the shutdown's) parse with python3's json.
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  provd_.reset();
  const std::string serve_log = dir_ + "/serve.log";  // the log less `provd init`'s lines
  testexec::Spit(serve_log, testexec::Slurp(data_ + "/provd.log").substr(log_offset_));
  auto lines = testexec::Exec({"/usr/bin/python3", kScripts + "/json_lines.py", serve_log}, dir_);
  ASSERT_EQ(lines.rc, 0) << testexec::Describe(lines);
  auto messages = json::parse(lines.out);
  ASSERT_GE(messages.size(), 3u);
  EXPECT_EQ(messages.back(), "stopped");
}

TEST_F(MetricsTest, OffByDefaultNoListener) {
  ASSERT_NO_FATAL_FAILURE(Start({}));
  EXPECT_TRUE(provd_->metrics_url().empty());
  EXPECT_EQ(testexec::Slurp(data_ + "/provd.log").find("provd: metrics on"), std::string::npos);
  // No port of provd's (gRPC's own included) answers an HTTP GET /metrics.
  auto ports = ListeningPorts(provd_->pid());
  ASSERT_TRUE(ports.count(PortOf(provd_->target())));
  for (int port : ports) {
    httplib::Client http("127.0.0.1", port);
    http.set_connection_timeout(2);
    http.set_read_timeout(2);
    auto res = http.Get("/metrics");
    EXPECT_TRUE(!res || res->status != 200) << "port " << port << " serves /metrics";
  }
}

TEST_F(MetricsTest, BadMetricsListenRefusedWithClearMessage) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--metrics-listen", "localhost"}, "--metrics-listen must be HOST:PORT"},
      {{"--metrics-listen", "127.0.0.1:notaport"}, "--metrics-listen must be HOST:PORT"},
      {{"--metrics-listen", "0.0.0.0:0"}, "METRICS_NOT_LOOPBACK"},
      {{"--log-format", "xml"}, "--log-format"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string log = dir_ + "/bad-" + std::to_string(n++) + ".log";
    std::vector<std::string> argv = {PROVD_PATH, "serve",       "--data-dir", data_,
                                     "--listen", "127.0.0.1:0", "--plaintext"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    int rc = tools::RunCommand(argv, log);
    std::string out = testexec::Slurp(log);
    EXPECT_NE(rc, 0) << c.flags.back() << ": " << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << c.flags.back() << ": " << out;
    EXPECT_EQ(out.find("provd: serving"), std::string::npos) << out;
  }
}

}  // namespace
