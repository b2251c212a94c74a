// Writes the seed corpora of the fuzz targets into DIR/TARGET/ (run once;
// the output is committed under tests/fuzz/corpus/):
//   build/tests/fuzz/make_seeds tests/fuzz/corpus
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "proto/device.pb.h"
#include "proto/ledger.pb.h"
#include "tests/fuzz/fuzz_common.h"
#include "verifier/attestation.h"
#include "verifier/judge.h"
#include "verifier/merkle.h"

namespace {

void Write(const std::filesystem::path& dir, const std::string& target, const std::string& name,
           const std::string& bytes) {
  std::filesystem::create_directories(dir / target);
  std::ofstream(dir / target / name, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  verifier::InitCrypto();
  const auto leaves = fuzz::BaseLeaves();
  for (size_t i = 0; i < leaves.size(); ++i) Write(dir, "record", "leaf" + std::to_string(i), leaves[i]);

  // Unsigned records for fuzz_rules: the signer mask, then the Record. The
  // base log's own records, and one of every other kind that applies to it.
  {
    namespace pb = provenance::v1;
    const int64_t t = 1'700'000'100;
    auto records = fuzz::BaseRecords();
    records.push_back({records::DeviceRecord(t, "acme", "SN-2", "CAM", fuzz::Key(5).public_key(), t - 10), fuzz::kMaker});
    records.push_back({records::FirmwareReleaseRecord(t, "acme", "CAM", "1.0", verifier::Sha256(std::string_view("fw"))), fuzz::kMaker});
    records.push_back({records::FirmwareRevocationRecord(t, "acme", "CAM", "1.0", "bug"), fuzz::kMaker});
    records.push_back({records::DeviceStatusRecord(t, "acme", "SN-1", pb::DEVICE_CONDITION_STOLEN, "lost"), fuzz::kMaker});
    records.push_back({records::TransferRecord(t, "acme", {"SN-1"}, "buyer", "acme"), fuzz::kMaker});
    records.push_back({records::KeyRevocationRecord(t, fuzz::MakerKey().public_key(), t), fuzz::kAuth});
    records.push_back({records::OwnershipRecord(t, "acme", "group", 1000, true, t, t + 100), fuzz::kAuth});
    for (size_t i = 0; i < records.size(); ++i) {
      Write(dir, "rules", "record" + std::to_string(i),
            std::string(1, static_cast<char>(records[i].signers)) + records[i].record.SerializeAsString());
    }
  }

  std::vector<verifier::Hash> hashes;
  for (const auto& l : leaves) hashes.push_back(verifier::LeafHash(verifier::AsBytes(l)));
  verifier::Checkpoint c{fuzz::kOrigin, leaves.size(), verifier::RootOf(hashes), {}};
  const std::string note = verifier::SignNote(verifier::FormatCheckpoint(c), fuzz::kOrigin, fuzz::LogKey());
  Write(dir, "checkpoint", "note", note);
  Write(dir, "checkpoint", "vkey", verifier::FormatVerifierKey(fuzz::kOrigin, fuzz::LogKey().public_key()));

  // Proofs: index, size, size2, leaf hash, root, proof hashes.
  auto proof = *verifier::MakeInclusionProof(8, leaves.size(), verifier::InMemorySubtrees(hashes));
  std::string p(24, '\0');
  uint64_t idx = 8, size = leaves.size(), size2 = leaves.size();
  std::memcpy(p.data(), &idx, 8);
  std::memcpy(p.data() + 8, &size, 8);
  std::memcpy(p.data() + 16, &size2, 8);
  p += std::string(verifier::AsStringView(hashes[8])) + std::string(verifier::AsStringView(c.root));
  for (const auto& h : proof) p += std::string(verifier::AsStringView(h));
  Write(dir, "proof", "inclusion", p);

  provenance::v1::Evidence ev;
  ev.mutable_checkpoint()->set_note(note);
  ev.mutable_checkpoint()->set_size(c.size);
  ev.mutable_checkpoint()->set_root_hash(std::string(verifier::AsStringView(c.root)));
  for (uint64_t i = 0; i < leaves.size(); ++i) {
    auto* e = ev.add_entries();
    e->set_index(i);
    e->set_signed_record(leaves[i]);
    const auto path = *verifier::MakeInclusionProof(i, c.size, verifier::InMemorySubtrees(hashes));
    for (const auto& h : path) e->add_proof(std::string(verifier::AsStringView(h)));
  }
  Write(dir, "bundle", "all", ev.SerializeAsString());
  verifier::RecordCache cache;
  auto verified = verifier::VerifyEvidence(ev, fuzz::LogVerifier(), &cache);
  if (!verified.ok() || !verified->problems.empty()) {
    std::fprintf(stderr, "make_seeds: the bundle seed does not verify: %s %zu\n", verified.ok() ? "" : verified.status().ToString().c_str(), verified.ok() ? verified->problems.size() : 0);
    if (verified.ok()) for (auto& p : verified->problems) std::fprintf(stderr, "  %s\n", p.message.c_str());
    return 1;
  }

  provenance::v1::AttestationStatement st;
  st.set_manufacturer_org("acme");
  st.set_serial("SN-1");
  st.set_model_id("CAM");
  st.set_nonce(std::string(32, '\x07'));
  st.set_firmware_sha256(std::string(32, '\x01'));
  st.set_time(1'700'000'000);
  Write(dir, "attestation", "good", verifier::SignAttestation(st, fuzz::DeviceKey()).SerializeAsString());

  Write(dir, "policy", "uk", R"(name: uk-sensitive-site
source: "HCWS386"
deny:
  laws: [CN-NIL-2017]
  countries: [KP]
  orgs: [hikvision]
applies_to: [manufacturer, brand, component_maker, custodian]
owners: {include: true, control_threshold_bp: 2500, control_flag_counts: true, state_owned_counts: false}
require: {attestation: false, released_firmware: true, custody_to_buyer: true, not_revoked: true}
missing_facts: unverified
judge_ownership_at: both
)");
  Write(dir, "manifest", "basic", "manufacturer,serial,model\nacme,SN-1,CAM\n# comment\n\nacme, SN-2 ,CAM\n");
  Write(dir, "manifest", "quoted", "\xEF\xBB\xBFManufacturer,Serial,Model\r\n\"acme\",\"SN,1\",\"C\"\"AM\"\r\n");
  return 0;
}
