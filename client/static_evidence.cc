#include "client/static_evidence.h"

#include <map>
#include <set>

#include "verifier/index.h"
#include "verifier/rules.h"

namespace client {

namespace pb = provenance::v1;
using verifier::Status;

namespace {

struct Parsed {
  std::string leaf;
  pb::Record record;
  std::vector<verifier::PublicKey> signers;
};

}  // namespace

Result<pb::Evidence> StaticEvidence(LedgerClient& c, const pb::GetEvidenceRequest& req) {
  PROV_ASSIGN_OR_RETURN(VerifiedCheckpoint head, c.GetCheckpoint());
  const uint64_t size = head.checkpoint.size;
  if (size < 2) return verifier::DataLoss("EVIDENCE_INDEX_ROOT", "the log has no index root");
  const uint64_t covered = size - 1;
  std::map<uint64_t, Parsed> records;
  auto read = [&](uint64_t i) -> Result<const Parsed*> {
    auto it = records.find(i);
    if (it != records.end()) return &it->second;
    PROV_ASSIGN_OR_RETURN(auto leaves, c.GetEntries(i, i + 1));
    if (leaves.size() != 1) return verifier::DataLoss("SHORT_READ", "entry " + std::to_string(i));
    Parsed p;
    p.leaf = std::move(leaves[0]);
    if (!verifier::ParseLeafRecord(p.leaf, &p.record, &p.signers)) {
      return verifier::DataLoss("EVIDENCE_BAD_RECORD", "entry " + std::to_string(i) +
                                                           " does not parse");
    }
    return &records.emplace(i, std::move(p)).first->second;
  };
  PROV_ASSIGN_OR_RETURN(const Parsed* root_leaf, read(covered));
  if (!root_leaf->record.has_index_root()) {
    return verifier::DataLoss("EVIDENCE_INDEX_ROOT", "the head's last leaf #" +
                                                         std::to_string(covered) +
                                                         " is not an index root");
  }
  PROV_ASSIGN_OR_RETURN(verifier::Hash root,
                        verifier::ToHash(verifier::AsBytes(root_leaf->record.index_root().root())));
  PROV_ASSIGN_OR_RETURN(const Parsed* genesis_leaf, read(0));
  const pb::Genesis genesis = genesis_leaf->record.genesis();

  std::vector<verifier::Subject> roots;
  for (const auto& d : req.devices()) {
    roots.push_back(verifier::subject::Device(d.manufacturer_org(), d.serial()));
  }
  for (const auto& id : req.orgs()) roots.push_back(verifier::subject::Org(id));
  for (const auto& code : req.laws()) roots.push_back(verifier::subject::Law(code));
  roots.push_back(verifier::subject::MacRegistry());  // as provd: for scans and bundles
  roots.push_back(verifier::subject::Authorities());  // as provd: the current authority set
  pb::Evidence ev;
  std::set<uint64_t> indices{0, covered};
  std::map<verifier::Subject, bool> registered;
  PROV_RETURN_IF_ERROR(verifier::WalkReliance(
      roots, genesis,
      [&](const verifier::Subject& s, std::vector<verifier::RelianceStep>* steps) -> Status {
        PROV_ASSIGN_OR_RETURN(
            pb::SubjectProof proof,
            verifier::ProveFromTiles(root, s, [&](const verifier::Hash& h) {
              return c.source().IndexTile(h);
            }));
        registered[s] = proof.history_size() > 0;
        for (uint64_t i : proof.history()) {
          if (i >= covered) {
            return verifier::DataLoss("EVIDENCE_INDEX_PROOF",
                                      "the index lists #" + std::to_string(i) + " for " + s.Name() +
                                          ", at or after its own root");
          }
          PROV_ASSIGN_OR_RETURN(const Parsed* p, read(i));
          indices.insert(i);
          steps->push_back({&p->record, p->signers});
        }
        *ev.add_subjects() = std::move(proof);
        return Status::Ok();
      }));
  for (const auto& d : req.devices()) {
    if (!registered[verifier::subject::Device(d.manufacturer_org(), d.serial())]) {
      *ev.add_unknown_devices() = d;
    }
  }
  auto* ckpt = ev.mutable_checkpoint();
  ckpt->set_note(head.note);
  ckpt->set_size(size);
  ckpt->set_root_hash(std::string(verifier::AsStringView(head.checkpoint.root)));
  for (uint64_t i : indices) {
    PROV_ASSIGN_OR_RETURN(const Parsed* p, read(i));
    auto* e = ev.add_entries();
    e->set_index(i);
    e->set_signed_record(p->leaf);
    PROV_ASSIGN_OR_RETURN(auto proof, c.source().InclusionProof(i, size, head.checkpoint));
    for (const auto& h : proof) e->add_proof(std::string(verifier::AsStringView(h)));
  }
  return ev;
}

}  // namespace client
