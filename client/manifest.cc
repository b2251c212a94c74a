#include "client/manifest.h"

#include <array>
#include <optional>
#include <utility>

#include "client/csv_table.h"

namespace client {
namespace {

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// `"a", "b", "c"`: the header's columns, for messages.
std::string Listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "\"" : ", \"") + n + "\"";
  return out;
}

}  // namespace

verifier::Result<std::vector<ManifestRow>> ParseManifest(const std::string& text,
                                                         const std::string& name,
                                                         const std::string& default_mfr) {
  auto bad = [&](size_t n, const std::string& what) {
    return verifier::InvalidArgument("BAD_MANIFEST", name + ":" + std::to_string(n) + ": " + what);
  };
  enum Column { kManufacturer, kSerial, kModel };
  constexpr std::array<const char*, 3> kNames = {"manufacturer", "serial", "model"};
  std::array<std::optional<size_t>, 3> col;  // index of each known column
  std::vector<std::string> header;
  size_t header_line = 0;
  std::vector<ManifestRow> rows;

  auto on_header = [&](const CsvRecord& rec) -> verifier::Status {
    header_line = rec.line;
    header = rec.cells;
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string key = Lower(header[i]);
      for (size_t k = 0; k < kNames.size(); ++k) {
        if (key != kNames[k]) continue;
        if (col[k]) {
          return bad(rec.line, "the header names `" + key + "` twice (columns " +
                                   std::to_string(*col[k] + 1) + " and " + std::to_string(i + 1) +
                                   ")");
        }
        col[k] = i;
      }
    }
    if (!col[kSerial]) {
      return bad(rec.line, "the header must name a `serial` column; found " + Listed(header));
    }
    if (!col[kManufacturer] && default_mfr.empty()) {
      return bad(rec.line,
                 "no `manufacturer` column; give --manufacturer ORG; found " + Listed(header));
    }
    return verifier::Status::Ok();
  };

  auto on_row = [&](const CsvRecord& rec) -> verifier::Status {
    if (rec.cells.size() != header.size()) {
      return bad(rec.line, "expected " + std::to_string(header.size()) +
                               " cells (as many as the header on line " +
                               std::to_string(header_line) + "), found " +
                               std::to_string(rec.cells.size()));
    }
    ManifestRow r;
    r.line = rec.line;
    if (col[kManufacturer]) r.manufacturer = rec.cells[*col[kManufacturer]];
    if (r.manufacturer.empty()) {
      if (default_mfr.empty()) {
        return bad(rec.line, "empty manufacturer; fill it in or give --manufacturer ORG");
      }
      r.manufacturer = default_mfr;
    }
    r.serial = rec.cells[*col[kSerial]];
    if (r.serial.empty()) return bad(rec.line, "empty serial");
    if (col[kModel]) {
      r.model = rec.cells[*col[kModel]];
      if (r.model.empty()) {
        return bad(rec.line,
                   "empty model (the header has a `model` column; drop the column "
                   "to skip the model check)");
      }
    }
    if (rows.size() >= kMaxManifestRows) {
      return bad(rec.line, "more than " + std::to_string(kMaxManifestRows) + " rows");
    }
    rows.push_back(std::move(r));
    return verifier::Status::Ok();
  };

  verifier::Status st = ForEachCsvRecord(text, name, [&](CsvRecord& rec) {
    for (auto& c : rec.cells) c = Trim(c);
    return header_line == 0 ? on_header(rec) : on_row(rec);
  });
  if (!st.ok()) {
    if (st.reason() == "BAD_CSV") return verifier::InvalidArgument("BAD_MANIFEST", st.message());
    return st;
  }
  if (header_line == 0) {
    return verifier::InvalidArgument(
        "BAD_MANIFEST", name +
                            " has no devices: no header and no rows (only comments or blank "
                            "lines, or nothing at all)");
  }
  if (rows.empty()) {
    return bad(header_line, "has no devices: the header is not followed by any rows");
  }
  return rows;
}

}  // namespace client
