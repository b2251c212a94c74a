#include "records/records.h"

#include "verifier/rules.h"

namespace records {

using verifier::AsStringView;

pb::SignedRecord SignRecord(const pb::Record& record,
                            const std::vector<const verifier::SigningKey*>& keys) {
  std::string bytes;
  record.SerializeToString(&bytes);
  return verifier::SignRecord(bytes, keys);
}

std::string SignRecordBytes(const pb::Record& record,
                            const std::vector<const verifier::SigningKey*>& keys) {
  return SignRecord(record, keys).SerializeAsString();
}

namespace {
void AddAuthorityKeys(const std::vector<std::pair<std::string, verifier::PublicKey>>& keys,
                      google::protobuf::RepeatedPtrField<pb::AuthorityKey>* out) {
  for (const auto& [name, key] : keys) {
    auto* a = out->Add();
    a->set_name(name);
    a->set_public_key(std::string(AsStringView(key)));
  }
}
}  // namespace

pb::Record GenesisRecord(
    const std::string& origin,
    const std::vector<std::pair<std::string, verifier::PublicKey>>& authorities,
    uint32_t threshold) {
  pb::Record r;
  auto* g = r.mutable_genesis();
  g->set_origin(origin);
  AddAuthorityKeys(authorities, g->mutable_authority_keys());
  g->set_threshold(threshold);
  return r;
}

pb::Record AuthoritySetRecord(int64_t issued_at,
                              const std::vector<std::pair<std::string, verifier::PublicKey>>& keys,
                              uint32_t threshold, uint64_t replaces, const std::string& reason) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* a = r.mutable_authority_set();
  AddAuthorityKeys(keys, a->mutable_authority_keys());
  a->set_threshold(threshold);
  a->set_replaces(replaces);
  a->set_reason(reason);
  return r;
}

pb::Record KeyRenewalRecord(int64_t issued_at, const verifier::PublicKey& key,
                            const verifier::PublicKey& renews, const std::string& org_id,
                            const std::vector<pb::Role>& roles, int64_t not_before,
                            int64_t not_after) {
  pb::Record r = KeyEnrollmentRecord(issued_at, key, org_id, roles, not_before, not_after);
  r.mutable_key_enrollment()->set_renews(std::string(AsStringView(verifier::KeyId(renews))));
  return r;
}

pb::Record LawRecord(int64_t issued_at, const std::string& code, const std::string& name,
                     const std::string& jurisdiction, const std::string& source) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* l = r.mutable_law();
  l->set_code(code);
  l->set_name(name);
  l->set_jurisdiction(jurisdiction);
  l->set_source(source);
  return r;
}

pb::Record MacBlockRecord(int64_t issued_at, const std::string& org, const std::string& prefix,
                          const std::string& source) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* b = r.mutable_mac_block();
  b->set_org_id(org);
  b->set_prefix(prefix);
  b->set_source(source);
  return r;
}

pb::Record DeviceIdentityCaRecord(int64_t issued_at, const std::string& manufacturer,
                                  const std::string& ca_id,
                                  const std::vector<std::string>& certificates_der,
                                  pb::SerialSource serial_source, bool normalize,
                                  const std::vector<std::string>& leaf_algorithms,
                                  int64_t not_before, int64_t not_after) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* c = r.mutable_device_identity_ca();
  c->set_manufacturer_org(manufacturer);
  c->set_ca_id(ca_id);
  for (const auto& der : certificates_der) c->add_certificates(der);
  c->set_serial_source(serial_source);
  c->set_serial_normalize(normalize);
  for (const auto& a : leaf_algorithms) c->add_leaf_algorithms(a);
  c->set_not_before(not_before);
  c->set_not_after(not_after);
  return r;
}

pb::Record DeviceIdentityCaRevocationRecord(int64_t issued_at, const std::string& manufacturer,
                                            const std::string& ca_id, int64_t effective_time,
                                            const std::string& reason) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* v = r.mutable_device_identity_ca_revocation();
  v->set_manufacturer_org(manufacturer);
  v->set_ca_id(ca_id);
  v->set_effective_time(effective_time);
  v->set_reason(reason);
  return r;
}

pb::Record OrganizationRecord(int64_t issued_at, const std::string& org_id,
                              const std::string& legal_name, const std::string& country,
                              const std::vector<std::string>& laws, bool state_owned,
                              const std::vector<std::string>& aliases) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* o = r.mutable_organization();
  o->set_org_id(org_id);
  o->set_legal_name(legal_name);
  o->set_country(country);
  for (const auto& l : laws) o->add_laws(l);
  o->set_state_owned(state_owned);
  for (const auto& a : aliases) o->add_aliases(a);
  return r;
}

pb::Record OwnershipRecord(int64_t issued_at, const std::string& owner, const std::string& owned,
                           uint32_t stake_bp, bool control, int64_t valid_from,
                           int64_t valid_until) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* w = r.mutable_ownership();
  w->set_owner_org(owner);
  w->set_owned_org(owned);
  w->set_stake_bp(stake_bp);
  w->set_control(control);
  w->set_valid_from(valid_from);
  w->set_valid_until(valid_until);
  return r;
}

namespace {

pb::Record OrgFactRecord(int64_t issued_at, const std::string& org, int64_t valid_from,
                         int64_t valid_until, const std::string& source) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* f = r.mutable_org_fact();
  f->set_org_id(org);
  f->set_valid_from(valid_from);
  f->set_valid_until(valid_until);
  f->set_source(source);
  return r;
}

}  // namespace

pb::Record OrgCountryFact(int64_t issued_at, const std::string& org, const std::string& country,
                          int64_t valid_from, int64_t valid_until, const std::string& source) {
  pb::Record r = OrgFactRecord(issued_at, org, valid_from, valid_until, source);
  r.mutable_org_fact()->set_country(country);
  return r;
}

pb::Record OrgLawFact(int64_t issued_at, const std::string& org, const std::string& law,
                      int64_t valid_from, int64_t valid_until, const std::string& source) {
  pb::Record r = OrgFactRecord(issued_at, org, valid_from, valid_until, source);
  r.mutable_org_fact()->set_law(law);
  return r;
}

pb::Record OrgStateOwnedFact(int64_t issued_at, const std::string& org, bool state_owned,
                             int64_t valid_from, int64_t valid_until, const std::string& source) {
  pb::Record r = OrgFactRecord(issued_at, org, valid_from, valid_until, source);
  r.mutable_org_fact()->set_state_owned(state_owned);
  return r;
}

pb::Record NoRegistrableOwnerRecord(int64_t issued_at, const std::string& org,
                                    uint32_t threshold_bp, int64_t valid_from, int64_t valid_until,
                                    const std::string& source) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* n = r.mutable_no_registrable_owner();
  n->set_org_id(org);
  n->set_threshold_bp(threshold_bp);
  n->set_valid_from(valid_from);
  n->set_valid_until(valid_until);
  n->set_source(source);
  return r;
}

pb::Record RulingRecord(int64_t issued_at, const std::string& org, const std::string& law,
                        bool subject, const std::string& source, const std::string& reasoning) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* u = r.mutable_ruling();
  u->set_org_id(org);
  u->set_law(law);
  u->set_subject(subject);
  u->set_source(source);
  u->set_reasoning(reasoning);
  return r;
}

pb::Record KeyEnrollmentRecord(int64_t issued_at, const verifier::PublicKey& key,
                               const std::string& org_id, const std::vector<pb::Role>& roles,
                               int64_t not_before, int64_t not_after) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* e = r.mutable_key_enrollment();
  e->set_public_key(std::string(AsStringView(key)));
  e->set_org_id(org_id);
  for (auto role : roles) e->add_roles(role);
  e->set_not_before(not_before);
  e->set_not_after(not_after);
  return r;
}

pb::Record KeyRevocationRecord(int64_t issued_at, const verifier::PublicKey& key,
                               int64_t effective_time, const std::string& reason) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* v = r.mutable_key_revocation();
  v->set_key_id(std::string(AsStringView(verifier::KeyId(key))));
  v->set_effective_time(effective_time);
  v->set_reason(reason);
  return r;
}

pb::Record ComponentRecord(int64_t issued_at, const std::string& maker,
                           const std::string& part_number, pb::ComponentKind kind,
                           const std::string& country_of_origin) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* c = r.mutable_component();
  c->set_maker_org(maker);
  c->set_part_number(part_number);
  c->set_kind(kind);
  c->set_country_of_origin(country_of_origin);
  return r;
}

pb::Record DeviceModelRecord(int64_t issued_at, const std::string& manufacturer,
                             const std::string& model_id, const std::string& brand,
                             const std::vector<pb::ComponentRef>& components) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* m = r.mutable_device_model();
  m->set_manufacturer_org(manufacturer);
  m->set_model_id(model_id);
  m->set_brand_org(brand);
  for (const auto& c : components) {
    auto* line = m->add_bom();
    *line->mutable_component() = c;
    line->set_quantity(1);
  }
  return r;
}

pb::Record FirmwareReleaseRecord(int64_t issued_at, const std::string& manufacturer,
                                 const std::string& model_id, const std::string& version,
                                 const verifier::Hash& sha256) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* f = r.mutable_firmware_release();
  f->set_manufacturer_org(manufacturer);
  f->set_model_id(model_id);
  f->set_version(version);
  f->set_sha256(std::string(AsStringView(sha256)));
  return r;
}

pb::Record FirmwareRevocationRecord(int64_t issued_at, const std::string& manufacturer,
                                    const std::string& model_id, const std::string& version,
                                    const std::string& reason) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* f = r.mutable_firmware_revocation();
  f->set_manufacturer_org(manufacturer);
  f->set_model_id(model_id);
  f->set_version(version);
  f->set_reason(reason);
  return r;
}

pb::Record DeviceRecord(int64_t issued_at, const std::string& manufacturer,
                        const std::string& serial, const std::string& model_id,
                        const verifier::PublicKey& device_key, int64_t manufactured_at,
                        const std::string& assembly_country) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* d = r.mutable_device();
  d->set_manufacturer_org(manufacturer);
  d->set_serial(serial);
  d->set_model_id(model_id);
  d->set_device_public_key(std::string(AsStringView(device_key)));
  d->set_manufactured_at(manufactured_at);
  d->set_assembly_country(assembly_country);
  return r;
}

pb::Record TransferRecord(int64_t issued_at, const std::string& manufacturer,
                          const std::vector<std::string>& serials, const std::string& from,
                          const std::string& to, const std::string& reference) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* t = r.mutable_transfer();
  t->set_manufacturer_org(manufacturer);
  for (const auto& s : serials) t->add_serials(s);
  t->set_from_org(from);
  t->set_to_org(to);
  t->set_reference(reference);
  return r;
}

pb::Record DeviceStatusRecord(int64_t issued_at, const std::string& manufacturer,
                              const std::string& serial, pb::DeviceCondition condition,
                              const std::string& note) {
  pb::Record r;
  r.set_issued_at(issued_at);
  auto* s = r.mutable_device_status();
  s->set_manufacturer_org(manufacturer);
  s->set_serial(serial);
  s->set_condition(condition);
  s->set_note(note);
  return r;
}

pb::ComponentRef Ref(const std::string& maker, const std::string& part_number) {
  pb::ComponentRef r;
  r.set_maker_org(maker);
  r.set_part_number(part_number);
  return r;
}

}  // namespace records
