// Delivery manifests (format in docs/manifest.md): CSV whose first record is
// a header naming `serial`, `manufacturer` (unless a default manufacturer is
// given) and optionally `model`, matched case-insensitively; other columns
// are ignored. Quoting, a UTF-8 BOM, CRLF, '#' comments and blank lines are
// handled by client/csv_table.h. Every data row has exactly as many cells as
// the header; cells are trimmed. Every mistake is INVALID_ARGUMENT /
// BAD_MANIFEST with "NAME:LINE: what".
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "verifier/status.h"

namespace client {

struct ManifestRow {
  size_t line = 0;  // 1-based line in the file where the row starts
  std::string manufacturer, serial;
  std::string model;  // empty when the header has no `model` column
};

// `name` is used only in messages. At least one and at most kMaxManifestRows
// rows. An empty manufacturer cell (or no such column) takes
// `default_manufacturer`; it is an error when that is empty too.
verifier::Result<std::vector<ManifestRow>> ParseManifest(const std::string& text,
                                                         const std::string& name,
                                                         const std::string& default_manufacturer);

inline constexpr size_t kMaxManifestRows = 1'000'000;

}  // namespace client
