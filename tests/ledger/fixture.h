// Shared helpers for the ledger tests: deterministic keys, a genesis with
// three authorities (threshold 2), organisations, key enrolments, a catalog
// (component, model, firmware) and devices, each as signed leaf bytes; and
// a check of a stored log's layout (every batch closed by an index root).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "records/records.h"
#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "proto/records.pb.h"
#include "tests/verifier/evidence_builder.h"
#include "verifier/crypto.h"
#include "verifier/merkle.h"
#include "verifier/status.h"

namespace ledger_test {

namespace pb = provenance::v1;
using verifier::SigningKey;

inline constexpr int64_t kT = 1'700'000'000;
inline constexpr char kOrigin[] = "ledger.example/cams";
inline constexpr char kAcme[] = "acme-cam";         // manufacturer
inline constexpr char kOrion[] = "orion-micro";     // component maker
inline constexpr char kDist[] = "dist-co";          // distributor
inline constexpr char kHolding[] = "acme-holding";  // owns acme-cam

// Deterministic keys: seed = 32 copies of `b`.
inline SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

// A device key for device number `i` (distinct for every i < 2^24).
inline SigningKey DeviceKey(uint32_t i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 0xd0;
  seed[1] = static_cast<uint8_t>(i >> 16);
  seed[2] = static_cast<uint8_t>(i >> 8);
  seed[3] = static_cast<uint8_t>(i);
  return *SigningKey::FromSeed(seed);
}

inline verifier::Hash LeafHashOf(const std::string& leaf) {
  return verifier::LeafHash(verifier::AsBytes(leaf));
}

// Converts protobuf `repeated bytes` hashes to Hash values.
template <typename Repeated>
std::vector<verifier::Hash> ToHashes(const Repeated& r) {
  std::vector<verifier::Hash> out;
  for (const std::string& s : r) {
    auto h = verifier::ToHash(verifier::AsBytes(s));
    EXPECT_TRUE(h.ok()) << "not a 32-byte hash";
    out.push_back(h.ok() ? *h : verifier::Hash{});
  }
  return out;
}

// A fresh directory under the gtest temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "ledger_test_XXXXXX";
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

// A KvStore that forwards to a shared store, so a test can hand the ledger a
// unique_ptr and still reach (and reopen) the same backing store afterwards.
class SharedKvStore final : public ledger::KvStore {
 public:
  explicit SharedKvStore(std::shared_ptr<ledger::KvStore> base) : base_(std::move(base)) {}
  verifier::Result<bool> Get(std::string_view key, std::string* value) const override {
    return base_->Get(key, value);
  }
  verifier::Status Write(const ledger::KvBatch& batch) override { return base_->Write(batch); }
  verifier::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return base_->Scan(prefix, fn);
  }
  uint64_t ApproximateDiskBytes() const override { return base_->ApproximateDiskBytes(); }

 private:
  std::shared_ptr<ledger::KvStore> base_;
};

// The records of a small world, as signed leaves. Where a leaf lands depends
// on how submissions are batched (each batch ends with the log's index
// root), so tests name Setup()'s leaves by SetupLeaf and read back where
// each landed.
struct World {
  // Setup()'s leaves, in order.
  enum SetupLeaf : size_t {
    kAcmeOrg,
    kOrionOrg,
    kDistOrg,
    kHoldingOrg,
    kHoldingOwnsAcme,
    kAcmeMfrKey,
    kAcmeCustKey,
    kOrionMfrKey,
    kDistCustKey,
    kSocComponent,
    kC100Model,
    kFirmware100,
    kSetupLeaves,
  };

  SigningKey log_key = KeyFromByte(200);
  SigningKey auth0 = KeyFromByte(1);
  SigningKey auth1 = KeyFromByte(2);
  SigningKey auth2 = KeyFromByte(3);
  SigningKey acme_mfr = KeyFromByte(10);
  SigningKey acme_cust = KeyFromByte(11);
  SigningKey orion_mfr = KeyFromByte(12);
  SigningKey dist_cust = KeyFromByte(13);

  pb::Record Genesis() const {
    return records::GenesisRecord(kOrigin,
                                 {{"auth-0", auth0.public_key()},
                                  {"auth-1", auth1.public_key()},
                                  {"auth-2", auth2.public_key()}},
                                 2);
  }
  std::string Auth(const pb::Record& r) const {
    return records::SignRecordBytes(r, {&auth0, &auth1});
  }
  static std::string By(const pb::Record& r, const SigningKey& key) {
    return records::SignRecordBytes(r, {&key});
  }

  // Organisations, ownership and key enrolments (kAcmeOrg..kDistCustKey).
  std::vector<std::string> Orgs() const {
    return {
        Auth(records::OrganizationRecord(kT, kAcme, "Acme Camera Co.", "CN")),
        Auth(records::OrganizationRecord(kT, kOrion, "Orion Microsystems", "TW")),
        Auth(records::OrganizationRecord(kT, kDist, "Dist Co Ltd", "GB")),
        Auth(records::OrganizationRecord(kT, kHolding, "Acme Holding", "CN")),
        Auth(records::OwnershipRecord(kT, kHolding, kAcme, 10000, true, kT - 1000)),
        Auth(records::KeyEnrollmentRecord(kT, acme_mfr.public_key(), kAcme,
                                         {pb::ROLE_MANUFACTURER})),
        Auth(records::KeyEnrollmentRecord(kT, acme_cust.public_key(), kAcme,
                                         {pb::ROLE_CUSTODIAN})),
        Auth(records::KeyEnrollmentRecord(kT, orion_mfr.public_key(), kOrion,
                                         {pb::ROLE_MANUFACTURER})),
        Auth(records::KeyEnrollmentRecord(kT, dist_cust.public_key(), kDist,
                                         {pb::ROLE_CUSTODIAN})),
    };
  }
  // Component orion-micro/OM-SOC-1, model acme-cam/C100 with that SoC,
  // firmware 1.0.0 (kSocComponent..kFirmware100).
  std::vector<std::string> Catalog() const {
    return {
        By(records::ComponentRecord(kT, kOrion, "OM-SOC-1", pb::COMPONENT_KIND_SOC, "TW"),
           orion_mfr),
        By(records::DeviceModelRecord(kT, kAcme, "C100", kAcme, {records::Ref(kOrion, "OM-SOC-1")}),
           acme_mfr),
        By(records::FirmwareReleaseRecord(kT, kAcme, "C100", "1.0.0",
                                         verifier::Sha256(std::string_view("fw 1.0.0"))),
           acme_mfr),
    };
  }

  static std::string Serial(uint32_t i) { return "SN-" + std::to_string(i); }
  std::string Device(uint32_t i) const {
    return By(records::DeviceRecord(kT, kAcme, Serial(i), "C100", DeviceKey(i).public_key(),
                                   kT - 86400, "VN"),
              acme_mfr);
  }
  std::string Transfer(uint32_t i, const std::string& from, const std::string& to,
                       const SigningKey& key) const {
    return By(records::TransferRecord(kT, kAcme, {Serial(i)}, from, to, "PO-1"), key);
  }

  // Every fixture leaf after the genesis, in submission order (SetupLeaf).
  std::vector<std::string> Setup() const {
    std::vector<std::string> out = Orgs();
    for (auto& l : Catalog()) out.push_back(std::move(l));
    return out;
  }
};

// The layout of a stored log of `size` leaves, replayed from scratch the way
// a verifier does: leaf 0 is the genesis, every leaf passes the rulebook,
// every index root is the index of all the leaves before it
// (verifier::IndexReplay compares), and a checkpoint is stored for a size
// exactly when that size's last leaf is an index root: every batch ends with
// one, and only batches do. Fails the test otherwise.
struct LogLayout {
  std::vector<uint64_t> records;      // the leaves submitted (genesis included)
  std::vector<uint64_t> index_roots;  // the log's own leaves

  // The records at or after `from`.
  std::vector<uint64_t> RecordsFrom(uint64_t from) const {
    std::vector<uint64_t> out;
    for (uint64_t i : records) {
      if (i >= from) out.push_back(i);
    }
    return out;
  }
};

inline LogLayout CheckLayout(const ledger::KvStore& kv, uint64_t size) {
  LogLayout out;
  std::vector<std::string> leaves(size);
  for (uint64_t i = 0; i < size; ++i) {
    EXPECT_TRUE(*kv.Get(ledger::coding::LeafKey(i), &leaves[i])) << "no leaf " << i;
  }
  const verifier::testing::ReplayedLog log = verifier::testing::ReplayLog(leaves);
  for (uint64_t i = 0; i < log.records.size(); ++i) {
    const pb::Record& r = log.records[i]->record;
    (r.has_index_root() ? out.index_roots : out.records).push_back(i);
    EXPECT_EQ(i == 0, r.has_genesis()) << "leaf " << i;
    std::string note;
    EXPECT_EQ(*kv.Get(ledger::coding::CheckpointKey(i + 1), &note), r.has_index_root())
        << "a checkpoint of size " << i + 1
        << (r.has_index_root() ? " is missing" : " is not a batch's");
  }
  EXPECT_TRUE(!out.index_roots.empty() && out.index_roots.back() == size - 1)
      << "the head's last leaf is not an index root";
  return out;
}

}  // namespace ledger_test
