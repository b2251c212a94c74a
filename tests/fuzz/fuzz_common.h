// Shared fixtures for the fuzz targets: fixed keys, so that seeds made by
// make_seeds verify, and a small log state (genesis, orgs, keys, a model)
// for records to be applied against.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/records.h"
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

// The leaves of a small, valid log: genesis, two orgs (one owning the
// other), a maker key, a component, a model, a device, a transfer.
inline std::vector<std::string> BaseLeaves() {
  namespace pb = provenance::v1;
  const int64_t t = 1'700'000'000;
  const auto* auth = &AuthKey();
  const auto* maker = &MakerKey();
  return {
      client::SignRecordBytes(client::GenesisRecord(kOrigin, {{"a", AuthKey().public_key()}}, 1), {}),
      client::SignRecordBytes(client::OrganizationRecord(t, "acme", "Acme", "GB"), {auth}),
      client::SignRecordBytes(client::OrganizationRecord(t, "group", "Group", "CN", {"CN-NIL-2017"}, true), {auth}),
      client::SignRecordBytes(client::OrganizationRecord(t, "buyer", "Buyer", "GB"), {auth}),
      client::SignRecordBytes(client::OwnershipRecord(t, "group", "acme", 4000, false, t - 1000), {auth}),
      client::SignRecordBytes(client::KeyEnrollmentRecord(t, MakerKey().public_key(), "acme",
                                                          {pb::ROLE_MANUFACTURER, pb::ROLE_CUSTODIAN}),
                              {auth}),
      client::SignRecordBytes(client::ComponentRecord(t, "acme", "SOC", pb::COMPONENT_KIND_SOC, "GB"), {maker}),
      client::SignRecordBytes(client::DeviceModelRecord(t, "acme", "CAM", "acme", {client::Ref("acme", "SOC")}), {maker}),
      client::SignRecordBytes(client::DeviceRecord(t, "acme", "SN-1", "CAM", DeviceKey().public_key(), t - 10), {maker}),
      client::SignRecordBytes(client::TransferRecord(t + 1, "acme", {"SN-1"}, "acme", "buyer", "PO-1"), {maker}),
  };
}

}  // namespace fuzz
