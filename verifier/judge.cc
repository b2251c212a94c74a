#include "verifier/judge.h"

#include <algorithm>
#include <ctime>
#include <thread>

#include "verifier/merkle.h"

namespace verifier {

namespace pb = provenance::v1;
using Severity = Finding::Severity;

namespace {

std::string Idx(uint64_t i) { return "#" + std::to_string(i); }

Finding Reject(std::string code, std::string message, std::vector<uint64_t> indices) {
  return {Severity::kReject, std::move(code), std::move(message), std::move(indices)};
}

const PreparedRecord* RecordAt(const VerifiedEvidence& ev, uint64_t index) {
  auto it = ev.records.find(index);
  return it == ev.records.end() ? nullptr : it->second.get();
}

// Signers of record `index` whose key was revoked effective at or before the
// record's issued_at: their signatures no longer vouch for it.
void CheckSigners(const VerifiedEvidence& ev, uint64_t index, std::vector<Finding>* out) {
  const PreparedRecord* rec = RecordAt(ev, index);
  if (!rec) return;
  for (const PublicKey& pk : rec->signers) {
    pb::KeyState ks;
    auto found = GetMessage(ev.state, state_key::Key(KeyId(pk)), &ks);
    if (!found.ok() || !*found || !ks.revoked()) continue;
    if (ks.revoked_effective() <= rec->record.issued_at()) {
      out->push_back(Reject(
          "SIGNED_BY_REVOKED_KEY",
          "the " + RecordKindName(rec->record) + " " + Idx(index) + " was signed by key " +
              HexEncode(KeyId(pk)).substr(0, 16) + " of " + ks.enrollment().org_id() +
              ", revoked effective " + UtcDate(ks.revoked_effective()) + " " +
              Idx(ks.revoked_index()),
          {index, ks.revoked_index()}));
    }
  }
}

// Checks every subject proof against the index root in the checkpoint's
// last leaf and fills ev->index_root and ev->complete.
Status VerifySubjectProofs(const pb::Evidence& evidence, VerifiedEvidence* ev) {
  if (evidence.subjects().empty()) return Status::Ok();
  const uint64_t covered = ev->checkpoint.size - 1;
  const PreparedRecord* root_rec = RecordAt(*ev, covered);
  if (!root_rec || !root_rec->record.has_index_root()) {
    std::string why = "it is not among the entries";
    for (const auto& p : ev->problems) {
      if (std::find(p.indices.begin(), p.indices.end(), covered) != p.indices.end()) why = p.message;
    }
    if (root_rec) why = "it is a " + RecordKindName(root_rec->record);
    return DataLoss("EVIDENCE_INDEX_ROOT", "the subject proofs need the checkpoint's last leaf " +
                                               Idx(covered) + " as their index root, but " + why);
  }
  auto root = ToHash(AsBytes(root_rec->record.index_root().root()));
  if (!root.ok()) return DataLoss("EVIDENCE_INDEX_ROOT", "the index root is not 32 bytes");
  for (const pb::SubjectProof& p : evidence.subjects()) {
    const Subject s = FromProto(p.subject());
    auto bad = [&](const std::string& why) {
      return DataLoss("EVIDENCE_INDEX_PROOF", "the proof of " + s.Name() + ": " + why);
    };
    if (Status k = CheckSubject(s); !k.ok()) return bad(k.ToString());
    if (static_cast<size_t>(p.history_size()) > kMaxHistory) return bad("the history is too long");
    std::vector<uint64_t> history(p.history().begin(), p.history().end());
    if (!history.empty() && history.back() >= covered) {
      return bad("the history lists " + Idx(history.back()) + ", at or after the index root " +
                 Idx(covered));
    }
    auto proof = ParseIndexProof(p);
    if (!proof.ok()) return bad(proof.status().ToString());
    if (Status v = VerifyIndexProof(*root, SubjectKey(s), history, *proof); !v.ok()) {
      return bad(v.ToString());
    }
    if (!ev->complete.emplace(s, std::move(history)).second) return bad("it is given twice");
  }
  ev->index_root = covered;
  // An entry about a proven subject that its history does not list: the
  // logged index is false.
  for (const auto& [i, rec] : ev->records) {
    if (i >= covered) continue;
    for (const Subject& s : SubjectsOf(rec->record)) {
      auto it = ev->complete.find(s);
      if (it != ev->complete.end() &&
          !std::binary_search(it->second.begin(), it->second.end(), i)) {
        return DataLoss("INDEX_ROOT_WRONG",
                        "the " + RecordKindName(rec->record) + " " + Idx(i) + " concerns " +
                            s.Name() + ", but the index root " + Idx(covered) +
                            " does not list it: the log's index is false");
      }
    }
  }
  return Status::Ok();
}

}  // namespace


const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kTrusted: return "TRUSTED";
    case Verdict::kRejected: return "REJECTED";
    case Verdict::kUnverified: return "UNVERIFIED";
  }
  return "UNVERIFIED";
}

const char* SeverityName(Finding::Severity s) {
  switch (s) {
    case Severity::kInfo: return "pass";
    case Severity::kSkipped: return "skipped";
    case Severity::kWaived: return "waived";
    case Severity::kUnverified: return "unverified";
    case Severity::kReject: return "reject";
  }
  return "unverified";
}

Result<std::shared_ptr<const PreparedRecord>> RecordCache::Prepare(const std::string& leaf) {
  const Hash h = LeafHash(AsBytes(leaf));
  if (auto it = records_.find(h); it != records_.end()) return it->second;
  PROV_ASSIGN_OR_RETURN(PreparedRecord p, PrepareRecord(leaf));
  auto shared = std::make_shared<const PreparedRecord>(std::move(p));
  records_.emplace(h, shared);
  return shared;
}

void RecordCache::PrepareAll(const std::vector<const std::string*>& leaves) {
  std::vector<std::pair<Hash, const std::string*>> todo;
  for (const std::string* leaf : leaves) {
    Hash h = LeafHash(AsBytes(*leaf));
    if (!records_.count(h)) todo.emplace_back(h, leaf);
  }
  const size_t threads =
      std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), todo.size() / 64);
  if (threads < 2) return;  // not worth a thread: Prepare does it
  std::vector<std::shared_ptr<const PreparedRecord>> done(todo.size());
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = t; i < todo.size(); i += threads) {
        auto p = PrepareRecord(*todo[i].second);
        if (p.ok()) done[i] = std::make_shared<const PreparedRecord>(std::move(p).value());
      }
    });
  }
  for (auto& th : pool) th.join();
  for (size_t i = 0; i < todo.size(); ++i) {
    if (done[i]) records_.emplace(todo[i].first, std::move(done[i]));
  }
}

Result<VerifiedEvidence> VerifyEvidence(const pb::Evidence& evidence, const NoteVerifier& log_key,
                                        RecordCache* cache) {
  VerifiedEvidence ev;
  auto head = VerifyCheckpoint(evidence.checkpoint().note(), log_key, log_key.name);
  if (!head.ok()) {
    return DataLoss("EVIDENCE_CHECKPOINT",
                    "the evidence checkpoint does not verify: " + head.status().ToString());
  }
  ev.checkpoint = *head;
  // The unsigned convenience copies must say what the signed note says.
  if (evidence.checkpoint().size() != head->size ||
      evidence.checkpoint().root_hash() != std::string(AsStringView(head->root))) {
    return DataLoss("EVIDENCE_CHECKPOINT",
                    "the checkpoint's size or root field differs from its signed note");
  }
  if (evidence.entries().empty() || evidence.entries(0).index() != 0) {
    return DataLoss("EVIDENCE_NO_GENESIS", "evidence must start with the genesis record #0");
  }
  uint64_t prev = 0;
  for (int n = 0; n < evidence.entries_size(); ++n) {
    const pb::EvidenceEntry& e = evidence.entries(n);
    if ((n > 0 && e.index() <= prev) || e.index() >= ev.checkpoint.size) {
      return DataLoss("EVIDENCE_ORDER", "entry " + Idx(e.index()) +
                                            " is out of order or beyond the tree of size " +
                                            std::to_string(ev.checkpoint.size));
    }
    prev = e.index();
    std::vector<Hash> proof;
    for (const auto& h : e.proof()) {
      auto hash = ToHash(AsBytes(h));
      if (!hash.ok()) return DataLoss("EVIDENCE_PROOF", "entry " + Idx(e.index()) + ": bad hash");
      proof.push_back(*hash);
    }
    Status s = VerifyInclusion(e.index(), ev.checkpoint.size, LeafHash(AsBytes(e.signed_record())),
                               proof, ev.checkpoint.root);
    if (!s.ok()) {
      return DataLoss("EVIDENCE_PROOF", "entry " + Idx(e.index()) +
                                            " is not proven in the checkpoint: " + s.ToString());
    }
  }
  // Replay the proven entries through the rulebook, their signatures
  // checked in parallel first.
  std::vector<const std::string*> leaves;
  for (const pb::EvidenceEntry& e : evidence.entries()) leaves.push_back(&e.signed_record());
  cache->PrepareAll(leaves);
  for (const pb::EvidenceEntry& e : evidence.entries()) {
    auto rec = cache->Prepare(e.signed_record());
    if (!rec.ok()) {
      ev.problems.push_back({Severity::kUnverified, "EVIDENCE_BAD_RECORD",
                             "entry " + Idx(e.index()) + " is logged but does not check: " +
                                 rec.status().ToString(),
                             {e.index()}});
      continue;
    }
    StateOverlay overlay(&ev.state);
    Status s = ApplyPrepared(overlay, **rec, e.index(), ApplyMode::kEvidenceSubset);
    if (!s.ok()) {
      ev.problems.push_back({Severity::kUnverified, "EVIDENCE_INCOMPLETE",
                             "the " + RecordKindName((*rec)->record) + " " + Idx(e.index()) +
                                 " cannot be checked from this evidence: " + s.ToString(),
                             {e.index()}});
      continue;
    }
    ev.state.Apply(overlay);
    ev.records.emplace(e.index(), std::move(rec).value());
  }
  ev.unknown_devices.assign(evidence.unknown_devices().begin(), evidence.unknown_devices().end());
  ev.unknown_ids.assign(evidence.unknown_ids().begin(), evidence.unknown_ids().end());
  PROV_RETURN_IF_ERROR(VerifySubjectProofs(evidence, &ev));
  return ev;
}

std::vector<Finding> CheckComplete(const VerifiedEvidence& ev, const std::vector<Subject>& roots) {
  if (!ev.index_root) {
    return {{Severity::kUnverified, "EVIDENCE_INCOMPLETE",
             "the evidence carries no index proofs, so nothing shows that no record was left out "
             "(a ledger or bundle made before the verifiable index, docs/index.md)",
             {}}};
  }
  pb::Genesis genesis;
  (void)GetMessage(ev.state, state_key::Genesis(), &genesis);
  std::vector<Finding> out;
  std::vector<std::string> unproven;
  Status walked = WalkReliance(roots, genesis, [&](const Subject& s, std::vector<RelianceStep>* steps) {
    auto it = ev.complete.find(s);
    if (it == ev.complete.end()) {
      unproven.push_back(s.Name());
      return Status::Ok();
    }
    std::vector<uint64_t> missing;
    for (uint64_t i : it->second) {
      const PreparedRecord* rec = RecordAt(ev, i);
      if (!rec) {
        missing.push_back(i);
        continue;
      }
      steps->push_back({&rec->record, rec->signers});
    }
    if (!missing.empty()) {
      std::string list;
      for (uint64_t i : missing) list += (list.empty() ? "" : " ") + Idx(i);
      out.push_back({Severity::kUnverified, "EVIDENCE_INCOMPLETE",
                     "the evidence leaves out " + list + " of the history of " + s.Name() +
                         ", which the index root " + Idx(*ev.index_root) + " lists",
                     missing});
    }
    return Status::Ok();
  });
  (void)walked;  // the visitor does not fail
  if (!unproven.empty()) {
    std::string list;
    for (size_t i = 0; i < unproven.size() && i < 8; ++i) list += (i ? ", " : "") + unproven[i];
    if (unproven.size() > 8) list += " and " + std::to_string(unproven.size() - 8) + " more";
    out.push_back({Severity::kUnverified, "EVIDENCE_INCOMPLETE",
                   "the evidence does not prove the history of " + list +
                       " complete (no index proof)",
                   {}});
  }
  return out;
}

Result<pb::Evidence> ParseBundle(const std::string& bytes) {
  pb::Evidence ev;
  if (!ev.ParseFromString(bytes)) {
    return DataLoss("BUNDLE_MALFORMED", "not an evidence bundle (does not parse)");
  }
  if (HasUnknownFields(ev) || ev.SerializeAsString() != bytes) {
    return DataLoss("BUNDLE_MALFORMED",
                    "the bundle has unknown fields or is not in canonical encoding (altered, or not made by prov)");
  }
  return ev;
}

void Decide(Judgement* j) {
  j->verdict = Verdict::kTrusted;
  for (const auto& f : j->findings) {
    if (f.severity == Severity::kReject) {
      j->verdict = Verdict::kRejected;
      return;
    }
    if (f.severity == Severity::kUnverified) j->verdict = Verdict::kUnverified;
  }
}

Judgement JudgeDevice(const VerifiedEvidence& ev, const DeviceQuery& q, const PolicyFn& policy) {
  Judgement j;
  j.tree_size = ev.checkpoint.size;
  j.findings = ev.problems;
  j.revealed_makers = q.revealed_makers;
  const std::string name = q.manufacturer_org + "/" + q.serial;
  std::vector<Subject> roots{subject::Device(q.manufacturer_org, q.serial)};
  roots.insert(roots.end(), q.also_relies_on.begin(), q.also_relies_on.end());
  auto found = GetMessage(ev.state, state_key::Device(q.manufacturer_org, q.serial), &j.device);
  if (!found.ok() || !*found) {
    auto proven = ev.complete.find(roots[0]);
    if (proven != ev.complete.end() && proven->second.empty()) {
      // The index proves it: no record concerns this device.
      j.findings.push_back(Reject("NOT_REGISTERED",
                                  "no device " + name + " is registered in the ledger (tree size " +
                                      std::to_string(ev.checkpoint.size) +
                                      "; the index root " + Idx(*ev.index_root) + " proves it)",
                                  {*ev.index_root}));
    } else if (ev.from_bundle && proven == ev.complete.end()) {
      // A bundle holds what its exporter chose: absence proves nothing.
      j.findings.push_back({Severity::kUnverified, "NOT_IN_BUNDLE",
                            name + " is not in this bundle (which holds the evidence of the "
                                   "devices it was exported for); check it online or with a "
                                   "bundle that holds it",
                            {}});
    } else {
      // The server's claim alone, or a history whose registration is
      // missing or did not replay: absence proves nothing.
      for (auto& f : CheckComplete(ev, roots)) j.findings.push_back(std::move(f));
      j.findings.push_back({Severity::kUnverified, "REGISTRATION_UNVERIFIED",
                            "cannot tell whether " + name +
                                " is registered: the evidence does not prove it either way",
                            {}});
    }
    Decide(&j);
    return j;
  }
  j.registered = true;
  if (const PreparedRecord* reg = RecordAt(ev, j.device.index())) j.record = reg->record.device();
  j.findings.push_back({Severity::kInfo, "REGISTERED",
                        name + ", model " + j.device.model_id() + ", registered " +
                            Idx(j.device.index()),
                        {j.device.index()}});

  // Custody chain and status, in log order.
  std::string chain = q.manufacturer_org;
  std::vector<uint64_t> chain_indices{j.device.index()};
  const pb::Transfer* handover = nullptr;  // the last transfer to expected_custodian
  uint64_t handover_index = 0;
  for (uint64_t i : j.device.record_indices()) {
    CheckSigners(ev, i, &j.findings);
    const PreparedRecord* rec = RecordAt(ev, i);
    if (!rec) continue;
    if (rec->record.has_transfer()) {
      const auto& t = rec->record.transfer();
      chain += " -> " + t.to_org() + " " + Idx(i);
      if (!t.reference().empty()) chain += " (" + t.reference() + ")";
      chain_indices.push_back(i);
      if (t.to_org() == q.expected_custodian) {
        handover = &t;
        handover_index = i;
      }
    }
  }
  if (q.expected_custodian.empty()) {
    j.findings.push_back({Severity::kUnverified, "CUSTODY_NOT_CHECKED",
                          "custody was not checked: no buyer given (--buyer ORG); custody: " +
                              chain,
                          chain_indices});
  } else if (j.device.custodian_org() != q.expected_custodian) {
    j.findings.push_back(Reject("WRONG_CUSTODIAN",
                                "custody ends at " + j.device.custodian_org() + ", not at " +
                                    q.expected_custodian + " (" + chain + ")",
                                chain_indices));
  } else {
    j.findings.push_back({Severity::kInfo, "CUSTODY",
                          "custody ends at " + q.expected_custodian + ": " + chain,
                          chain_indices});
  }
  if (q.expected_supplier.empty()) {
    if (!q.expected_custodian.empty()) {
      j.findings.push_back({Severity::kSkipped, "SUPPLIER_NOT_CHECKED",
                            "who handed it to " + q.expected_custodian +
                                " was not checked: no supplier given (--supplier ORG)",
                            {}});
    }
  } else if (!q.expected_custodian.empty()) {
    if (!handover) {
      j.findings.push_back(Reject("NOT_FROM_SUPPLIER",
                                  "no transfer of " + name + " from " + q.expected_supplier +
                                      " to " + q.expected_custodian + " is logged (" + chain +
                                      ")",
                                  chain_indices));
    } else if (handover->from_org() != q.expected_supplier) {
      j.findings.push_back(Reject("NOT_FROM_SUPPLIER",
                                  q.expected_custodian + " received " + name + " from " +
                                      handover->from_org() + ", not from the supplier " +
                                      q.expected_supplier + " " + Idx(handover_index),
                                  {handover_index}));
    } else {
      j.findings.push_back({Severity::kInfo, "FROM_SUPPLIER",
                            q.expected_custodian + " received it from " + q.expected_supplier +
                                " " + Idx(handover_index),
                            {handover_index}});
    }
  }
  // The record behind the condition: the latest status or custody record
  // (commissionings do not change it).
  uint64_t last = j.device.index();
  std::vector<const pb::Commissioning*> commissionings;
  std::vector<uint64_t> commissioning_indices;
  for (uint64_t i : j.device.record_indices()) {
    const PreparedRecord* rec = RecordAt(ev, i);
    if (rec && rec->record.has_commissioning()) {
      commissionings.push_back(&rec->record.commissioning());
      commissioning_indices.push_back(i);
    } else {
      last = i;
    }
  }
  switch (j.device.condition()) {
    case pb::DEVICE_CONDITION_STOLEN:
      j.findings.push_back(Reject("DEVICE_STOLEN", name + " is reported stolen", {last}));
      break;
    case pb::DEVICE_CONDITION_RECALLED:
      j.findings.push_back(Reject("DEVICE_RECALLED", name + " is recalled", {last}));
      break;
    case pb::DEVICE_CONDITION_COMPROMISED:
      j.findings.push_back(Reject("DEVICE_COMPROMISED", name + " is reported compromised", {last}));
      break;
    case pb::DEVICE_CONDITION_DECOMMISSIONED:
      j.findings.push_back(Reject("DEVICE_DECOMMISSIONED", name + " is decommissioned", {last}));
      break;
    default:
      j.findings.push_back({Severity::kInfo, "STATUS",
                            "no stolen, recalled, compromised or decommissioned status is logged",
                            {last}});
      break;
  }
  for (size_t k = 0; k < commissionings.size(); ++k) {
    const pb::Commissioning& c = *commissionings[k];
    j.findings.push_back({Severity::kInfo, "COMMISSIONED",
                          "commissioned at \"" + c.site() + "\" by " + c.installer_org() + " on " +
                              UtcDate(c.scanned_at()) + " after a scan that found it " +
                              c.verdict() + " (" + c.proven() + ") " +
                              Idx(commissioning_indices[k]),
                          {commissioning_indices[k]}});
  }
  if (!q.expected_model_id.empty()) {
    if (j.device.model_id() != q.expected_model_id) {
      j.findings.push_back(Reject("MODEL_MISMATCH",
                                  name + " is registered as model " + j.device.model_id() +
                                      ", not " + q.expected_model_id,
                                  {j.device.index()}));
    } else {
      j.findings.push_back({Severity::kInfo, "MODEL",
                            "registered as model " + q.expected_model_id + ", as expected",
                            {j.device.index()}});
    }
  }
  if (policy) {
    for (auto& f : policy(ev, j)) j.findings.push_back(std::move(f));
  }
  for (auto& f : CheckComplete(ev, roots)) j.findings.push_back(std::move(f));
  Decide(&j);
  return j;
}

std::vector<Finding> CheckFirmware(const VerifiedEvidence& ev, const Judgement& j,
                                   const Hash& firmware_sha256) {
  pb::ModelState ms;
  auto found =
      GetMessage(ev.state, state_key::Model(j.record.manufacturer_org(), j.device.model_id()), &ms);
  if (!found.ok() || !*found) {
    return {{Severity::kUnverified, "MODEL_NOT_IN_EVIDENCE",
             "model " + j.device.model_id() + " is not in the evidence", {}}};
  }
  const std::string hash(AsStringView(firmware_sha256));
  for (uint64_t i : ms.firmware_indices()) {
    const PreparedRecord* rec = RecordAt(ev, i);
    if (!rec || !rec->record.has_firmware_release() ||
        rec->record.firmware_release().sha256() != hash) {
      continue;
    }
    const auto& fw = rec->record.firmware_release();
    pb::FirmwareState fs;
    auto have = GetMessage(
        ev.state, state_key::Firmware(fw.manufacturer_org(), fw.model_id(), fw.version()), &fs);
    if (have.ok() && *have && fs.revoked()) {
      return {Reject("FIRMWARE_REVOKED",
                     "firmware " + fw.version() + " of " + fw.model_id() + " was revoked " +
                         Idx(fs.revoked_index()),
                     {i, fs.revoked_index()})};
    }
    return {{Severity::kInfo, "FIRMWARE_RELEASED",
             "firmware " + fw.version() + " (SHA-256 " + HexEncode(firmware_sha256).substr(0, 16) +
                 "...) is a released, unrevoked build of " + fw.model_id() + " " + Idx(i),
             {i}}};
  }
  return {Reject("FIRMWARE_UNKNOWN",
                 "firmware SHA-256 " + HexEncode(firmware_sha256).substr(0, 16) +
                     "... is not a release of model " + j.device.model_id() + " by " +
                     j.record.manufacturer_org() + " (tampered or unofficial firmware)",
                 {ms.index()})};
}

}  // namespace verifier
