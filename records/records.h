// Builders for records: fill a provenance::v1::Record, serialize it once
// (canonically), and sign the exact bytes. Used by provd (the genesis),
// `prov`, tools and tests; below both the server and the client.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/records.pb.h"
#include "verifier/crypto.h"

namespace records {

namespace pb = provenance::v1;

// Serializes `record` canonically and signs it with every key in `keys`.
pb::SignedRecord SignRecord(const pb::Record& record,
                            const std::vector<const verifier::SigningKey*>& keys);
std::string SignRecordBytes(const pb::Record& record,
                            const std::vector<const verifier::SigningKey*>& keys);

// Record constructors. `issued_at` is unix seconds.
pb::Record GenesisRecord(const std::string& origin,
                         const std::vector<std::pair<std::string, verifier::PublicKey>>& authorities,
                         uint32_t threshold);
pb::Record LawRecord(int64_t issued_at, const std::string& code, const std::string& name,
                     const std::string& jurisdiction, const std::string& source);
pb::Record MacBlockRecord(int64_t issued_at, const std::string& org, const std::string& prefix,
                          const std::string& source);
pb::Record DeviceIdentityCaRecord(int64_t issued_at, const std::string& manufacturer,
                                  const std::string& ca_id,
                                  const std::vector<std::string>& certificates_der,
                                  pb::SerialSource serial_source, bool normalize,
                                  const std::vector<std::string>& leaf_algorithms,
                                  int64_t not_before = 0, int64_t not_after = 0);
pb::Record DeviceIdentityCaRevocationRecord(int64_t issued_at, const std::string& manufacturer,
                                            const std::string& ca_id, int64_t effective_time,
                                            const std::string& reason);
pb::Record OrganizationRecord(int64_t issued_at, const std::string& org_id,
                              const std::string& legal_name, const std::string& country,
                              const std::vector<std::string>& laws = {},
                              bool state_owned = false,
                              const std::vector<std::string>& aliases = {});
pb::Record OwnershipRecord(int64_t issued_at, const std::string& owner,
                           const std::string& owned, uint32_t stake_bp, bool control,
                           int64_t valid_from, int64_t valid_until = 0);
// Dated facts (docs/rules.md "Dated facts"): exactly one of a country, a
// law or state ownership, for [valid_from, valid_until) (0 = still true).
pb::Record OrgCountryFact(int64_t issued_at, const std::string& org, const std::string& country,
                          int64_t valid_from, int64_t valid_until, const std::string& source);
pb::Record OrgLawFact(int64_t issued_at, const std::string& org, const std::string& law,
                      int64_t valid_from, int64_t valid_until, const std::string& source);
pb::Record OrgStateOwnedFact(int64_t issued_at, const std::string& org, bool state_owned,
                             int64_t valid_from, int64_t valid_until, const std::string& source);
pb::Record NoRegistrableOwnerRecord(int64_t issued_at, const std::string& org,
                                    uint32_t threshold_bp, int64_t valid_from,
                                    int64_t valid_until, const std::string& source);
pb::Record RulingRecord(int64_t issued_at, const std::string& org, const std::string& law,
                        bool subject, const std::string& source,
                        const std::string& reasoning = "");
pb::Record KeyEnrollmentRecord(int64_t issued_at, const verifier::PublicKey& key,
                               const std::string& org_id, const std::vector<pb::Role>& roles,
                               int64_t not_before = 0, int64_t not_after = 0);
// A renewal of key `renews` (its public key): the same key with a later
// expiry, or `key` succeeding it.
pb::Record KeyRenewalRecord(int64_t issued_at, const verifier::PublicKey& key,
                            const verifier::PublicKey& renews, const std::string& org_id,
                            const std::vector<pb::Role>& roles, int64_t not_before,
                            int64_t not_after);
// Replaces the authority keys and threshold; `replaces` is the leaf the
// current set came from (0: the genesis).
pb::Record AuthoritySetRecord(int64_t issued_at,
                              const std::vector<std::pair<std::string, verifier::PublicKey>>& keys,
                              uint32_t threshold, uint64_t replaces, const std::string& reason);
pb::Record KeyRevocationRecord(int64_t issued_at, const verifier::PublicKey& key,
                               int64_t effective_time, const std::string& reason = "");
pb::Record ComponentRecord(int64_t issued_at, const std::string& maker,
                           const std::string& part_number, pb::ComponentKind kind,
                           const std::string& country_of_origin);
pb::Record DeviceModelRecord(int64_t issued_at, const std::string& manufacturer,
                             const std::string& model_id, const std::string& brand,
                             const std::vector<pb::ComponentRef>& components);
pb::Record FirmwareReleaseRecord(int64_t issued_at, const std::string& manufacturer,
                                 const std::string& model_id, const std::string& version,
                                 const verifier::Hash& sha256);
pb::Record FirmwareRevocationRecord(int64_t issued_at, const std::string& manufacturer,
                                    const std::string& model_id, const std::string& version,
                                    const std::string& reason = "");
pb::Record DeviceRecord(int64_t issued_at, const std::string& manufacturer,
                        const std::string& serial, const std::string& model_id,
                        const verifier::PublicKey& device_key, int64_t manufactured_at,
                        const std::string& assembly_country = "");
pb::Record TransferRecord(int64_t issued_at, const std::string& manufacturer,
                          const std::vector<std::string>& serials, const std::string& from,
                          const std::string& to, const std::string& reference = "");
pb::Record DeviceStatusRecord(int64_t issued_at, const std::string& manufacturer,
                              const std::string& serial, pb::DeviceCondition condition,
                              const std::string& note = "");

pb::ComponentRef Ref(const std::string& maker, const std::string& part_number);

}  // namespace records
