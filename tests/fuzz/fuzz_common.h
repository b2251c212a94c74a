// Shared fixtures for the fuzz targets: fixed keys, so that seeds made by
// make_seeds verify, and a small log state (genesis, orgs, keys, a model)
// for records to be applied against.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "records/records.h"
#include "verifier/crypto.h"
#include "verifier/note.h"
#include "verifier/rules.h"
#include "verifier/state.h"

namespace fuzz {

inline constexpr char kOrigin[] = "fuzz.example/log";

inline verifier::SigningKey Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *verifier::SigningKey::FromSeed(seed);
}
inline const verifier::SigningKey& LogKey() { static auto k = Key(1); return k; }
inline const verifier::SigningKey& AuthKey() { static auto k = Key(2); return k; }
inline const verifier::SigningKey& MakerKey() { static auto k = Key(3); return k; }
inline const verifier::SigningKey& DeviceKey() { static auto k = Key(4); return k; }

inline const verifier::NoteVerifier& LogVerifier() {
  static auto v = *verifier::ParseVerifierKey(verifier::FormatVerifierKey(kOrigin, LogKey().public_key()));
  return v;
}

// Who signs a record, as a bit mask over the fixture keys.
enum Signer : uint8_t { kAuth = 1, kMaker = 2, kDevice = 4, kStranger = 8 };

inline std::vector<const verifier::SigningKey*> SignerKeys(uint8_t mask) {
  static const auto stranger = Key(9);
  std::vector<const verifier::SigningKey*> keys;
  if (mask & kAuth) keys.push_back(&AuthKey());
  if (mask & kMaker) keys.push_back(&MakerKey());
  if (mask & kDevice) keys.push_back(&DeviceKey());
  if (mask & kStranger) keys.push_back(&stranger);
  return keys;
}

struct BaseRecord {
  provenance::v1::Record record;
  uint8_t signers;
};

// A small, valid log: genesis, two orgs (one owning the other), a maker key,
// a component, a model, a device, a transfer.
inline std::vector<BaseRecord> BaseRecords() {
  namespace pb = provenance::v1;
  const int64_t t = 1'700'000'000;
  return {
      {records::GenesisRecord(kOrigin, {{"a", AuthKey().public_key()}}, 1), 0},
      {records::OrganizationRecord(t, "acme", "Acme", "GB"), kAuth},
      {records::LawRecord(t, "CN-NIL-2017", "PRC National Intelligence Law", "CN", ""), kAuth},
      {records::OrganizationRecord(t, "group", "Group", "CN", {"CN-NIL-2017"}, true), kAuth},
      {records::OrganizationRecord(t, "buyer", "Buyer", "GB"), kAuth},
      {records::OwnershipRecord(t, "group", "acme", 4000, false, t - 1000), kAuth},
      {records::KeyEnrollmentRecord(t, MakerKey().public_key(), "acme",
                                   {pb::ROLE_MANUFACTURER, pb::ROLE_CUSTODIAN}),
       kAuth},
      {records::ComponentRecord(t, "acme", "SOC", pb::COMPONENT_KIND_SOC, "GB"), kMaker},
      {records::DeviceModelRecord(t, "acme", "CAM", "acme", {records::Ref("acme", "SOC")}), kMaker},
      {records::DeviceRecord(t, "acme", "SN-1", "CAM", DeviceKey().public_key(), t - 10), kMaker},
      {records::TransferRecord(t + 1, "acme", {"SN-1"}, "acme", "buyer", "PO-1"), kMaker},
  };
}

// BaseRecords(), signed: the leaves of the log.
inline std::vector<std::string> BaseLeaves() {
  std::vector<std::string> leaves;
  for (const auto& b : BaseRecords()) leaves.push_back(records::SignRecordBytes(b.record, SignerKeys(b.signers)));
  return leaves;
}

// The log state after BaseLeaves(), built once.
inline const verifier::MemoryState& BaseState() {
  static const verifier::MemoryState* base = [] {
    verifier::InitCrypto();
    auto* s = new verifier::MemoryState();
    uint64_t i = 0;
    for (auto& leaf : BaseLeaves()) {
      auto rec = verifier::PrepareRecord(leaf);
      verifier::StateOverlay o(s);
      if (rec.ok() && verifier::ApplyPrepared(o, *rec, i, verifier::ApplyMode::kFullLog).ok()) s->Apply(o);
      ++i;
    }
    return s;
  }();
  return *base;
}

// Prepares a signed record and applies it to BaseState() at the next index.
inline void ApplyToBase(const std::string& signed_record) {
  const auto& base = BaseState();
  auto rec = verifier::PrepareRecord(signed_record);
  if (!rec.ok()) return;
  verifier::StateOverlay overlay(&base);
  (void)verifier::ApplyPrepared(overlay, *rec, 100, verifier::ApplyMode::kFullLog);
  (void)verifier::RecordKindName(rec->record);
}

}  // namespace fuzz
