// Delivery manifests: CSV with a header row naming at least `serial`, and
// `manufacturer` (unless a default manufacturer is given), and optionally
// `model`. Blank lines and lines starting with '#' are skipped. Mistakes are
// INVALID_ARGUMENT / BAD_MANIFEST with "NAME:LINE: what".
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "verifier/status.h"

namespace client {

struct ManifestRow {
  size_t line = 0;  // 1-based line in the file
  std::string manufacturer, serial, model;
};

// `name` is used only in messages. At most kMaxManifestRows rows.
verifier::Result<std::vector<ManifestRow>> ParseManifest(const std::string& text,
                                                         const std::string& name,
                                                         const std::string& default_manufacturer);

inline constexpr size_t kMaxManifestRows = 1'000'000;

}  // namespace client
