// ledger::Metrics in-process: the histogram's buckets, label values bounded
// (anything odd, or past kMaxLabelValues distinct ones, is "OTHER"), and the
// process_* figures from /proc. The scrape of a real provd, parsed by the
// official Prometheus parser, is tests/integration/metrics_test.cc.
#include "ledger/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace ledger {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

TEST(MetricsTest, AtomicHistogramCountsCumulatively) {
  AtomicHistogram h({1, 10, 100});
  for (double v : {0.5, 1.0, 5.0, 50.0, 500.0, 1000.0}) h.Observe(v);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{2, 3, 4, 6}));
  EXPECT_DOUBLE_EQ(h.Sum(), 1556.5);
}

TEST(MetricsTest, RejectionReasonsAreBounded) {
  Metrics m;
  m.RecordRejection("DUPLICATE_SERIAL");
  m.RecordRejection("DUPLICATE_SERIAL");
  m.RecordRejection("has spaces\" and quotes");
  m.RecordRejection("");
  for (size_t i = 0; i < 2 * Metrics::kMaxLabelValues; ++i) {
    m.RecordRejection("REASON_" + std::to_string(i));
  }
  std::string text = m.Render();
  EXPECT_NE(text.find("provd_rejections_total{reason=\"DUPLICATE_SERIAL\"} 2\n"),
            std::string::npos);
  // DUPLICATE_SERIAL, OTHER (made by the odd ones) and 62 REASON_i; the rest is OTHER.
  EXPECT_EQ(Count(text, "provd_rejections_total{"), Metrics::kMaxLabelValues);
  EXPECT_NE(text.find("provd_rejections_total{reason=\"OTHER\"}"), std::string::npos);
  EXPECT_EQ(text.find("has spaces"), std::string::npos);
}

TEST(MetricsTest, BatchesWitnessesAndProofs) {
  Metrics m;
  m.RecordBatch(3, 2, 0.002);
  m.RecordDuplicate();
  m.RecordProof("GetInclusionProof");
  m.RecordProof("NotAnRpc");  // ignored: the RPCs are a fixed set
  m.RecordEvidence("GetEvidence");
  m.RecordWitnessAnswer("w1", "cosigned");
  m.RecordWitnessAnswer("w1", "DEADLINE_EXCEEDED");
  m.RecordWitnessAnswer("w1", "cosigned");
  m.SetTreeSize([] { return uint64_t{42}; }, [] { return uint64_t{40}; });
  m.RecordStorageFailure();
  m.SetStorageOk([] { return false; });
  std::string text = m.Render();
  for (const char* line : {
           "provd_appends_total 2\n",
           "provd_duplicates_total 1\n",
           "provd_batch_records_count 1\n",
           "provd_batch_records_sum 3\n",
           "provd_batch_records_bucket{le=\"4\"} 1\n",
           "provd_batch_records_bucket{le=\"2\"} 0\n",
           "provd_commit_duration_seconds_bucket{le=\"0.0025\"} 1\n",
           "provd_proofs_served_total{rpc=\"GetInclusionProof\"} 1\n",
           "provd_proofs_served_total{rpc=\"GetConsistencyProof\"} 0\n",
           "provd_evidence_served_total{rpc=\"GetEvidence\"} 1\n",
           "provd_witness_answers_total{outcome=\"cosigned\",witness=\"w1\"} 2\n",
           "provd_witness_answers_total{outcome=\"DEADLINE_EXCEEDED\",witness=\"w1\"} 1\n",
           "provd_tree_size 42\n",
           "provd_published_tree_size 40\n",
           "provd_storage_failures_total 1\n",
           "provd_storage_ok 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  EXPECT_EQ(text.find("NotAnRpc"), std::string::npos);
}

TEST(MetricsTest, ProcessFiguresFromProc) {
  std::string text = Metrics().Render();
  for (const char* name : {"process_resident_memory_bytes ", "process_virtual_memory_bytes ",
                           "process_cpu_seconds_total ", "process_open_fds ", "process_max_fds ",
                           "process_start_time_seconds "}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
  const double start = ProcessStartTimeSeconds();
  EXPECT_NEAR(start, static_cast<double>(std::time(nullptr)), 3600);
}

}  // namespace
}  // namespace ledger
