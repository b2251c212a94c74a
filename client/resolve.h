// Every identifier a verdict depends on must resolve: the organisations
// named by --buyer, --supplier and --manufacturer, and the laws and
// organisations a trust policy denies. A typo must never quietly judge
// against nothing (a policy denying "hikvison" would pass every camera), so
// each is looked up in the verified evidence (the server is asked to
// include them) and an unknown one is a usage error naming it, with the
// nearest registered ids.
#pragma once

#include <string>
#include <vector>

#include "verifier/judge.h"
#include "verifier/policy.h"
#include "verifier/status.h"

namespace client {

struct Wanted {
  struct Id {
    std::string id;
    std::string what;  // "--buyer", or "FILE:LINE: deny.orgs" for a policy entry
    bool policy = false;
  };
  std::vector<Id> orgs, laws;

  void AddFlag(const std::string& flag, const std::string& org_id);  // ignores an empty id
  void AddPolicy(const verifier::Policy& p);
  std::vector<std::string> OrgIds() const;
  std::vector<std::string> LawIds() const;
};

// Looks every wanted id up in the proven state of `ev`. An unknown org or
// law is INVALID_ARGUMENT: reason BAD_POLICY for a policy entry, UNKNOWN_ORG
// for a flag; the message names it, says whether the ledger or the bundle
// lacks it, and suggests the nearest ids (the server's hints online, the
// bundle's own ids offline).
verifier::Status Resolve(const Wanted& wanted, const verifier::VerifiedEvidence& ev);

}  // namespace client
