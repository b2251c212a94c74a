// Judging devices from evidence, offline: the checks behind `prov check`,
// `prov scan`, `prov delivery check` and evidence bundles.
//
// Evidence is a proven subset of the log (proto Evidence: a signed
// checkpoint and entries, each with an inclusion proof). VerifyEvidence
// trusts none of it: it verifies the checkpoint against the pinned log key,
// every inclusion proof, every record signature, and replays the entries
// through the rulebook (ApplyMode::kEvidenceSubset). JudgeDevice then reads
// the replayed state and gives a verdict with findings.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proto/ledger.pb.h"
#include "proto/state.pb.h"
#include "verifier/index.h"
#include "verifier/note.h"
#include "verifier/rules.h"
#include "verifier/state.h"

namespace verifier {

enum class Verdict { kTrusted, kRejected, kUnverified };
const char* VerdictName(Verdict v);  // "TRUSTED", "REJECTED", "UNVERIFIED"

struct Finding {
  // kInfo: a check that was made and passed ("pass"). kSkipped: a check
  // that was not made (no --buyer, no policy, no attestation) and that
  // nothing requires ("skipped"). kWaived: a check that failed but that the
  // policy does not require ("waived"). Neither blocks TRUSTED; both are
  // shown. kUnverified and kReject decide the verdict.
  enum class Severity { kInfo, kSkipped, kWaived, kUnverified, kReject };
  Severity severity = Severity::kInfo;
  std::string code;               // stable, e.g. "DEVICE_STOLEN"
  std::string message;            // plain words
  std::vector<uint64_t> indices;  // the ledger entries behind it
};

// Verified PreparedRecords by leaf hash, shared across evidence responses so
// that records common to many devices are signature-checked once.
// Not thread-safe.
class RecordCache {
 public:
  Result<std::shared_ptr<const PreparedRecord>> Prepare(const std::string& leaf);
  // Prepares the leaves not yet cached on every core (signature checks are
  // most of a large evidence's cost); leaves that fail are left for Prepare
  // to report.
  void PrepareAll(const std::vector<const std::string*>& leaves);

 private:
  std::map<Hash, std::shared_ptr<const PreparedRecord>> records_;
};

struct VerifiedEvidence {
  Checkpoint checkpoint;
  MemoryState state;  // the entries replayed through the rulebook
  std::map<uint64_t, std::shared_ptr<const PreparedRecord>> records;  // by index
  std::vector<provenance::v1::DeviceRef> unknown_devices;              // server's claim
  std::vector<provenance::v1::UnknownId> unknown_ids;                  // server's claim and hints
  // Entries that are proven but did not replay (evidence incomplete, or the
  // log holds a record the rulebook refuses): each makes verdicts UNVERIFIED.
  std::vector<Finding> problems;
  // From an offline bundle: a device absent from it is NOT_IN_BUNDLE
  // (UNVERIFIED), never NOT_REGISTERED.
  bool from_bundle = false;
  // The verifiable index (docs/index.md): the leaf of the index root the
  // subject proofs were checked against (the checkpoint's last leaf), unset
  // when the evidence carries none; and every subject proven, with its
  // whole history before that leaf.
  std::optional<uint64_t> index_root;
  std::map<Subject, std::vector<uint64_t>> complete;
};

// Fails (DATA_LOSS) if the checkpoint or any proof does not verify, entries
// are not strictly ascending, or leaf 0 (genesis) is missing; and for the
// subject proofs (EVIDENCE_INDEX_*, docs/index.md "Complete evidence") if one
// is malformed, for an unknown kind of subject, given twice, or does not lead
// to the index root in the checkpoint's last leaf; and INDEX_ROOT_WRONG if an
// entry concerns a proven subject whose history does not list it (the log's
// index is false).
Result<VerifiedEvidence> VerifyEvidence(const provenance::v1::Evidence& evidence,
                                        const NoteVerifier& log_key, RecordCache* cache);

// Completeness of what a verdict on `roots` relies on (verifier::
// WalkReliance over the proven subjects): an EVIDENCE_INCOMPLETE finding
// (UNVERIFIED) naming each subject reached whose history the evidence does
// not prove, or whose listed leaves it leaves out (with their indices).
std::vector<Finding> CheckComplete(const VerifiedEvidence& ev, const std::vector<Subject>& roots);

// An evidence bundle file: exactly the canonical encoding of an Evidence
// message, so that any changed byte is either a parse error, a non-canonical
// encoding, or a failed proof or signature.
Result<provenance::v1::Evidence> ParseBundle(const std::string& bytes);

// An org that really made a device whatever its label says, found by
// evidence outside its registration (a scanned camera's MAC in a MAC block
// vetted for that org). A policy judges it as a manufacturer.
struct RevealedMaker {
  std::string org;
  std::string why;  // e.g. "MAC AC:CC:8E:12:34:56 lies in block ACCC8E vetted for"
  std::vector<uint64_t> indices;
};

struct DeviceQuery {
  std::string manufacturer_org;
  std::string serial;
  // e.g. the buyer; empty: not checked, which is the finding
  // CUSTODY_NOT_CHECKED (UNVERIFIED unless a policy does not require custody).
  std::string expected_custodian;
  std::string expected_model_id;   // e.g. from a delivery manifest; empty: not checked
  // The org that must have transferred the device to expected_custodian
  // (the supplier of a delivery); empty: not checked.
  std::string expected_supplier;
  std::vector<RevealedMaker> revealed_makers = {};
  // Subjects besides the device whose completeness the verdict needs (a
  // scanned camera's MAC blocks and identity CA).
  std::vector<Subject> also_relies_on = {};
};

struct Judgement {
  Verdict verdict = Verdict::kUnverified;
  std::vector<Finding> findings;
  // What the ledger says of the device (when registered).
  bool registered = false;
  provenance::v1::DeviceState device;
  provenance::v1::Device record;  // the registration record
  uint64_t tree_size = 0;
  std::vector<RevealedMaker> revealed_makers;  // from the query
};

// Policy seam: extra findings from a trust policy (jurisdictions, ownership).
using PolicyFn = std::function<std::vector<Finding>(const VerifiedEvidence&, const Judgement&)>;

// Stable names of severities, as printed and in JSON: "pass", "skipped",
// "waived", "unverified", "reject".
const char* SeverityName(Finding::Severity s);

// Judges one device: registered, registration signed by a key that was not
// revoked effective before it, custody chain ending at the expected holder,
// condition not stolen/recalled/compromised/decommissioned, model as
// expected; plus the policy's findings. The verdict is REJECTED if any
// finding rejects, else UNVERIFIED if any cannot be verified, else TRUSTED.
Judgement JudgeDevice(const VerifiedEvidence& ev, const DeviceQuery& q,
                      const PolicyFn& policy = {});

// A firmware image hash against the device's model: released, and not
// revoked. A good release gives one FIRMWARE_RELEASED pass finding.
std::vector<Finding> CheckFirmware(const VerifiedEvidence& ev, const Judgement& j,
                                   const Hash& firmware_sha256);

// Recomputes the verdict from the findings.
void Decide(Judgement* j);

}  // namespace verifier
