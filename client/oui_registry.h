// The IEEE registry of MAC address blocks, as Debian's ieee-data package
// ships it (/usr/share/ieee-data/{oui,mam,oui36}.csv: MA-L, MA-M and MA-S
// assignments, "Registry,Assignment,Organization Name,Organization Address").
// A relabelled camera betrays its real maker by its MAC prefix; this says
// whom IEEE assigned it to. Read with client/csv_table.h.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "verifier/status.h"

namespace client {

inline constexpr const char* kIeeeDataDir = "/usr/share/ieee-data";

struct OuiAssignment {
  std::string registry;      // "MA-L", "MA-M" or "MA-S"
  std::string prefix;        // upper-case hex: 6, 7 or 9 digits
  std::string organization;  // as IEEE lists it, e.g. "Axis Communications AB"
};

class OuiRegistry {
 public:
  // Reads oui.csv, mam.csv and oui36.csv from `dir` (each that exists; at
  // least oui.csv must). FAILED_PRECONDITION NO_OUI_REGISTRY when it cannot.
  static verifier::Result<OuiRegistry> Load(const std::string& dir = kIeeeDataDir);

  // The most specific assignment holding `mac` (any separators; 12 hex
  // digits), or nullopt; INVALID_ARGUMENT BAD_MAC for text that is not a MAC.
  verifier::Result<std::optional<OuiAssignment>> Lookup(std::string_view mac) const;

  size_t size() const { return by_prefix_.size(); }

 private:
  std::map<std::string, OuiAssignment, std::less<>> by_prefix_;
};

}  // namespace client
