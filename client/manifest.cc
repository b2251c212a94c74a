#include "client/manifest.h"

#include <map>
#include <sstream>

namespace client {
namespace {

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::vector<std::string> SplitCells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(Trim(cell));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

}  // namespace

verifier::Result<std::vector<ManifestRow>> ParseManifest(const std::string& text,
                                                         const std::string& name,
                                                         const std::string& default_mfr) {
  auto bad = [&](size_t n, const std::string& what) {
    return verifier::InvalidArgument("BAD_MANIFEST", name + ":" + std::to_string(n) + ": " + what);
  };
  std::istringstream in(text);
  std::string line;
  std::vector<ManifestRow> rows;
  std::map<std::string, size_t> col;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto cells = SplitCells(line);
    if (col.empty()) {
      for (size_t i = 0; i < cells.size(); ++i) col[cells[i]] = i;
      if (!col.count("serial")) return bad(n, "the header must name a `serial` column");
      if (!col.count("manufacturer") && default_mfr.empty()) {
        return bad(n, "no `manufacturer` column; give --manufacturer ORG");
      }
      continue;
    }
    auto cell = [&](const char* key) -> std::string {
      auto it = col.find(key);
      return it != col.end() && it->second < cells.size() ? cells[it->second] : "";
    };
    ManifestRow r{n, cell("manufacturer"), cell("serial"), cell("model")};
    if (r.manufacturer.empty()) r.manufacturer = default_mfr;
    if (r.serial.empty()) return bad(n, "empty serial");
    if (rows.size() >= kMaxManifestRows) {
      return bad(n, "more than " + std::to_string(kMaxManifestRows) + " rows");
    }
    rows.push_back(std::move(r));
  }
  if (col.empty()) return verifier::InvalidArgument("BAD_MANIFEST", name + " is empty");
  return rows;
}

}  // namespace client
