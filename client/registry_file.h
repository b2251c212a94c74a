// Registry files: human-edited YAML (format "prov-registry/1",
// docs/registry-format.md) holding the authority facts an authority logs in
// bulk — laws, organisations, dated org facts, ownership stakes,
// no-registrable-owner statements and rulings — each with its source.
//
// ParseRegistry reads and checks a file on its own: unknown or repeated
// keys, wrong types, bad dates, ids and country codes, a missing source,
// inverted windows, overlapping windows and contradictions between its own
// entries. PlanImport then checks it against what the ledger holds (the
// rulebook state of a verified replay) and lists the records to log, in
// dependency order, leaving out those the ledger already holds.
//
// Every mistake is INVALID_ARGUMENT whose message starts "FILE:LINE: "
// (1-based): reason BAD_REGISTRY for the file's own syntax and fields, the
// rulebook's reason (FACT_OVERLAPS, OWNERSHIP_OVERLAPS,
// CONTRADICTS_OWNERSHIP, UNKNOWN_ORG, DANGLING_REFERENCE) for conflicts,
// naming the line of both entries, or the ledger index of the other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/records.pb.h"
#include "verifier/state.h"
#include "verifier/status.h"

namespace client {

inline constexpr char kRegistryFormat[] = "prov-registry/1";

// One entry of a section: the record it becomes (issued_at 0) and the line
// its mapping starts on.
struct RegistryEntry {
  int line = 0;  // 1-based
  provenance::v1::Record record;
};

struct Registry {
  std::string file;  // as given; used in messages
  std::string compiled, compiled_by, status, disclaimer;
  std::vector<RegistryEntry> laws, orgs, facts, ownership, no_owner, rulings;
  size_t size() const {
    return laws.size() + orgs.size() + facts.size() + ownership.size() + no_owner.size() +
           rulings.size();
  }
};

// `file_name` is used only in messages.
verifier::Result<Registry> ParseRegistry(const std::string& yaml_text,
                                         const std::string& file_name);
// Reads and parses the file at `path` (NOT_FOUND if it cannot be read).
verifier::Result<Registry> LoadRegistry(const std::string& path);

struct PlannedRecord {
  enum class Action { kNew, kSupersedes, kCorrects };
  int line = 0;
  provenance::v1::Record record;  // issued_at set
  Action action = Action::kNew;
  uint64_t replaces = 0;  // kSupersedes / kCorrects: the ledger index of the current version
  std::string label;      // "org fact hikvision country from 2019-01-01 on"
  std::string name;       // for file names: "fact-hikvision-country-2019-01-01"
};

struct ImportPlan {
  std::vector<PlannedRecord> records;  // in the order to log them
  std::vector<int> unchanged;          // lines of entries the ledger already holds as they are
};

// Plans `r` against `ledger`, the rulebook state after a verified replay of
// the whole log (its genesis included). Ids and laws must be defined in the
// file or the ledger; windows must not overlap the ledger's (after the
// file's corrections); then every record is run through the rulebook over a
// copy of that state (signature thresholds aside) before the plan is
// returned, so a plan that is returned is one the ledger accepts as it
// stood. Order: laws, organisations, facts, ownership, no-owner statements,
// rulings; within a section corrections that shorten a window come first
// (and shortened no-owner statements before the stakes).
verifier::Result<ImportPlan> PlanImport(const Registry& r, const verifier::StateView& ledger,
                                        uint64_t ledger_size, int64_t issued_at);

// "new", "supersedes #12", "corrects #12".
std::string ActionText(const PlannedRecord& p);

}  // namespace client
