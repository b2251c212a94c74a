#include "client/oui_registry.h"

#include <fstream>
#include <sstream>

#include "client/csv_table.h"
#include "verifier/rules.h"

namespace client {

verifier::Result<OuiRegistry> OuiRegistry::Load(const std::string& dir) {
  OuiRegistry reg;
  for (const char* file : {"oui.csv", "mam.csv", "oui36.csv"}) {
    const std::string path = dir + "/" + file;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (std::string(file) == "oui.csv") {
        return verifier::FailedPrecondition(
            "NO_OUI_REGISTRY", "cannot read " + path + " (install Debian's ieee-data)");
      }
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    bool header = true;
    PROV_RETURN_IF_ERROR(ForEachCsvRecord(
        text.str(), path,
        [&](CsvRecord& r) -> verifier::Status {
          if (header) {  // Registry,Assignment,Organization Name,Organization Address
            header = false;
            return verifier::Status::Ok();
          }
          if (r.cells.size() < 3) return verifier::Status::Ok();
          const std::string prefix = verifier::NormalizeMac(r.cells[1]);
          if (!verifier::IsMacPrefix(prefix)) return verifier::Status::Ok();
          reg.by_prefix_[prefix] = {r.cells[0], prefix, r.cells[2]};
          return verifier::Status::Ok();
        },
        CsvOptions{.skip_comments = false}));
  }
  if (reg.by_prefix_.empty()) {
    return verifier::FailedPrecondition("NO_OUI_REGISTRY", dir + "/oui.csv holds no assignments");
  }
  return reg;
}

verifier::Result<std::optional<OuiAssignment>> OuiRegistry::Lookup(std::string_view mac) const {
  PROV_ASSIGN_OR_RETURN(const std::string hex, verifier::MacHex(mac));
  for (size_t len : verifier::kMacPrefixLengths) {
    auto it = by_prefix_.find(std::string_view(hex).substr(0, len));
    if (it != by_prefix_.end()) return std::optional<OuiAssignment>(it->second);
  }
  return std::optional<OuiAssignment>();
}

}  // namespace client
