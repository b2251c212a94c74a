// Trust policy: "may this camera go on this site?" — judged from who really
// made it and everything in it, who owned those companies and when, and
// which laws bind them. A Policy is plain data (client/policy_file.h reads it
// from YAML); EvaluatePolicy turns it into findings on a device's evidence,
// each naming the path that caused it and the ledger index of every record
// on that path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "verifier/judge.h"

namespace verifier {

// The roles of a device's graph a rule applies to.
enum class Role {
  kManufacturer,    // the real manufacturer (the device's manufacturer_org)
  kBrand,           // the brand on the box (the model's brand_org)
  kComponentMaker,  // the maker of every component in the model's bill of materials
  kCustodian,       // every org that has held the device
};

struct Policy {
  std::string name;    // e.g. "uk-sensitive-site"
  std::string source;  // citation of the rule it implements

  std::set<std::string> denied_laws;       // e.g. "CN-NIL-2017"
  std::set<std::string> denied_countries;  // ISO 3166-1 alpha-2
  std::set<std::string> denied_orgs;       // org ids
  // Where each denied entry is written, for messages: "deny.orgs/hikvison"
  // -> "policies/ndaa-889.yaml:16". Every law and org named must resolve in
  // the ledger (or bundle) the policy is used with: client/resolve.h.
  std::map<std::string, std::string> where;

  std::set<Role> applies_to = {Role::kManufacturer, Role::kBrand, Role::kComponentMaker};
  // Also judge the owners (direct and indirect) of every org in those roles.
  bool include_owners = true;
  // An owner counts when its effective stake (stakes multiplied along each
  // ownership path, summed across paths) is at least this many basis points.
  uint32_t control_threshold_bp = 2500;
  // An owner with a control flag on its path counts whatever its stake.
  bool control_flag_counts = true;
  // A state-owned owner that counts is itself a reason to reject.
  bool state_owned_counts = false;
  // Affiliates of a denied org are denied too (FAR 52.204-25's "subsidiary
  // or affiliate"): an org that holds a counting stake in a denied org, or
  // shares a counting owner with one (common control). Subsidiaries (a
  // denied org is a counting owner) are found by include_owners alone.
  bool affiliates = false;

  struct Required {
    bool attestation = false;        // only `prov scan` can satisfy it
    bool released_firmware = true;   // a scanned camera runs a released, unrevoked firmware
    bool custody_to_buyer = true;    // custody ends at the buyer (when a buyer is given)
    bool not_revoked = true;         // no stolen/recalled/compromised/decommissioned status,
                                     // no record signed by a key revoked before it
    // A scanned camera's certificate chains to a CA its maker registered, or
    // is the pinned one; false waives IDENTITY_UNPROVEN (e.g. a site whose
    // integrator replaces factory certificates).
    bool camera_identity = true;
  } required;

  // A fact the policy needs is not in the ledger (e.g. a component maker
  // with no recorded owners while owners are judged).
  enum class MissingFacts { kReject, kUnverified } missing_facts = MissingFacts::kUnverified;

  // When ownership is judged: at the device's manufacture date, now, or both.
  enum class When { kManufacture, kNow, kBoth } when = When::kBoth;

  // --- Scope (docs/policy.md "Scope") ---
  // The uses the policy covers (Purposes()); empty: every use. Judged
  // without a purpose, what it would reject is UNVERIFIED (PURPOSE_NEEDED);
  // for another use it does not apply (OUT_OF_SCOPE).
  std::set<std::string> purposes;
  // Denied orgs denied only for some uses (NDAA s.889(f)(3)(B)); an org
  // not listed here is denied for every use the policy covers.
  std::map<std::string, std::set<std::string>> org_purposes;
  // The equipment kinds covered (provenance::v1::EquipmentKind values; a
  // model that lists none is video surveillance); empty: every kind.
  std::set<int> equipment;
  // Devices made before this instant (unix seconds) are not covered; 0: all.
  int64_t in_force_from = 0;
  // Component makers are judged only for devices made from `from` on, and
  // only for components of these kinds (ComponentKind values; empty: all).
  struct ComponentReach {
    int64_t from = 0;
    std::set<int> kinds;
  } component_reach;
  // Applicability no published guidance settles: an org domiciled in one
  // of `jurisdictions` (at the time judged) and not otherwise subject to
  // `law` is judged by the authority's Ruling for it, and without one is
  // UNVERIFIED (NEEDS_RULING), naming the org, the jurisdiction and
  // `question`.
  struct NeedsRuling {
    std::string law;
    std::set<std::string> jurisdictions;
    std::string question;
  };
  std::vector<NeedsRuling> needs_ruling;
};

// The uses a policy's scope and `prov ... --purpose` name: the four of NDAA
// s.889(f)(3)(B) (public-safety, government-facility-security,
// critical-infrastructure-security, national-security), then commercial,
// residential and other.
const std::vector<std::string>& Purposes();
bool IsPurpose(const std::string& purpose);
// Purposes() as "public-safety, government-facility-security, ...".
const std::string& PurposeList();

// Beneficial ownership from the Ownership records of some evidence.
// Stakes are time-bounded ([valid_from, valid_until)); a later record for
// the same (owner, owned, valid_from) corrects an earlier one. Effective
// ownership of X in Y at time t sums, over every simple path Y <- ... <- X
// (no org twice, so cross-holdings and cycles terminate), the product of the
// stakes on the path. A path carries control when every edge on it does (a
// control flag, or a majority stake above 50 %). Results are memoised per
// (org, interval between stake changes), so judging many devices made at
// different times costs one walk per interval. Not thread-safe.
class OwnershipGraph {
 public:
  explicit OwnershipGraph(const VerifiedEvidence& ev);

  struct Edge {
    std::string owner, owned;
    uint32_t stake_bp = 0;
    bool control = false;
    int64_t valid_from = 0, valid_until = 0;  // valid_until 0 = still held
    uint64_t index = 0;                        // the Ownership record
    bool ValidAt(int64_t t) const { return valid_from <= t && (valid_until == 0 || t < valid_until); }
  };
  struct Path {
    std::vector<const Edge*> edges;  // from the owned org up to the owner
    double stake = 0;                // product of the stakes, 0..1
    bool control = false;            // every edge carries control
  };
  struct Holding {
    double stake = 0;  // effective stake, 0..1 (sum over paths)
    bool control = false;
    std::vector<Path> paths;
  };

  // Every direct or indirect owner of `org` at time `t`.
  const std::map<std::string, Holding>& OwnersAt(const std::string& org, int64_t t);
  // The Ownership records naming `org` as owned, at any time.
  const std::vector<Edge>& DirectOwners(const std::string& org) const;
  // True if any Ownership record (at any time) names `org` as owned.
  bool HasOwnershipFacts(const std::string& org) const { return owners_of_.count(org) > 0; }
  // True if an Ownership record naming `org` as owned is valid at `t`.
  bool HasOwnershipFactsAt(const std::string& org, int64_t t) const;

 private:
  void Walk(const std::string& org, int64_t t, Path* path, std::set<std::string>* on_path,
            std::map<std::string, Holding>* out) const;

  std::map<std::string, std::vector<Edge>> owners_of_;  // owned org -> edges
  std::set<int64_t> changes_;                           // every valid_from / valid_until
  std::map<std::pair<std::string, size_t>, std::map<std::string, Holding>> memo_;
};

// The policy's findings for a judged device (see Judgement): each org in a
// role the policy applies to, and (with include_owners) each owner whose
// effective stake reaches the threshold at the times judged, against the
// denied laws, countries and orgs. `now` is unix seconds. Messages name the
// path in plain words, e.g. "image signal processor PX-3 made by Polaris
// Microsystems Co (TW), 100 % owned by Orion Group Co., Ltd. (CN, subject to
// CN-NIL-2017) since 2019-01-01: CN-NIL-2017 is a denied law (at manufacture
// (2024-03-01) and now)", with the ledger index of every record on the path.
// `purpose` is the use the device is judged for (Purposes(); empty: not
// given).
std::vector<Finding> EvaluatePolicy(const Policy& policy, const VerifiedEvidence& ev,
                                    const Judgement& j, int64_t now, OwnershipGraph* graph,
                                    const std::string& purpose = "");

// Applies the policy's `required` switches to a finished judgement: failed
// checks the policy does not require become kWaived ("failed, but not
// required by <policy>"), and custody not checked (no buyer) kSkipped when
// custody is not required; an attestation that was not made (`prov check`,
// `prov delivery check`) is UNVERIFIED (ATTESTATION_REQUIRED) when required
// and ATTESTATION_NOT_CHECKED (skipped) when not; then the verdict is
// decided again. A failed attestation always rejects: it is evidence of a
// clone, not a missing check.
void ApplyRequired(const Policy& policy, bool attested, Judgement* j);

// The same without a policy: NO_POLICY and ATTESTATION_NOT_CHECKED
// (skipped) are shown; the defaults of JudgeDevice stand, so custody to the
// buyer is required (CUSTODY_NOT_CHECKED stays UNVERIFIED).
void ApplyNoPolicy(bool attested, Judgement* j);

// The finding for an attestation that was not made; `why` is appended.
Finding NotAttested(const std::string& why);

// A PolicyFn for JudgeDevice that evaluates `policy`, keeping one ownership
// graph per evidence (judging 10,000 devices that share 50 organisations
// walks each org's owners once per stake interval, not once per device).
PolicyFn MakePolicyFn(std::shared_ptr<const Policy> policy, int64_t now,
                      std::string purpose = "");

}  // namespace verifier
