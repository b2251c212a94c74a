#include "tools/bench_records.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "records/records.h"

namespace tools {

namespace pb = provenance::v1;
using verifier::Status;

verifier::SigningKey SeededKey(const std::string& label) {
  auto seed = verifier::Sha256(label);
  return *verifier::SigningKey::FromSeed(seed);
}

std::string MfrId(int m) { return "bench-mfr-" + std::to_string(m); }

// Registers the manufacturers: organisation, key enrolment, component, model.
Status Setup(client::LedgerClient& ledger, const verifier::SigningKey& authority,
             const std::vector<verifier::SigningKey>& mfr_keys, int64_t now) {
  for (size_t m = 0; m < mfr_keys.size(); ++m) {
    const std::string org = MfrId(static_cast<int>(m));
    std::vector<pb::Record> records = {
        records::OrganizationRecord(now, org, "Bench Manufacturer " + std::to_string(m), "GB"),
        records::KeyEnrollmentRecord(now, mfr_keys[m].public_key(), org,
                                    {pb::ROLE_MANUFACTURER}),
    };
    for (const auto& r : records) {
      auto res = ledger.Submit(records::SignRecord(r, {&authority}));
      if (!res.ok()) return res.status();
    }
    records = {
        records::ComponentRecord(now, org, "SOC-1", pb::COMPONENT_KIND_SOC, "GB"),
        records::DeviceModelRecord(now, org, "CAM-1", org, {records::Ref(org, "SOC-1")}),
    };
    for (const auto& r : records) {
      auto res = ledger.Submit(records::SignRecord(r, {&mfr_keys[m]}));
      if (!res.ok()) return res.status();
    }
  }
  return Status::Ok();
}

// Device records, signed in parallel on every core.
std::vector<std::string> PreSign(uint64_t n, const std::vector<verifier::SigningKey>& mfr_keys,
                                 int64_t now) {
  std::vector<std::string> leaves(n);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint64_t i = t; i < n; i += threads) {
        const size_t m = i % mfr_keys.size();
        char serial[32];
        std::snprintf(serial, sizeof serial, "SN%010llu", static_cast<unsigned long long>(i));
        auto device_key = SeededKey("provbench-device-" + std::to_string(i));
        auto record = records::DeviceRecord(now, MfrId(static_cast<int>(m)), serial, "CAM-1",
                                           device_key.public_key(), now - 86400, "GB");
        leaves[i] = records::SignRecordBytes(record, {&mfr_keys[m]});
      }
    });
  }
  for (auto& t : pool) t.join();
  return leaves;
}

bool IsIndexRoot(const std::string& leaf) {
  pb::SignedRecord sr;
  pb::Record r;
  return sr.ParseFromString(leaf) && r.ParseFromString(sr.record()) && r.has_index_root();
}

verifier::Result<uint64_t> CountIndexRoots(client::LedgerClient& ledger, uint64_t from, uint64_t to) {
  uint64_t roots = 0;
  while (from < to) {
    PROV_ASSIGN_OR_RETURN(auto page, ledger.GetEntries(from, std::min(to, from + 1000)));
    if (page.empty()) return verifier::Internal("NO_ENTRIES", "no entries from #" + std::to_string(from));
    for (const auto& leaf : page) roots += IsIndexRoot(leaf);
    from += page.size();
  }
  return roots;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tools
