// A CSV text parsed into records of cells (RFC 4180, via libcsv in strict
// mode). Used by delivery manifests and `prov manufacturer import`.
//
// - A leading UTF-8 byte-order mark is dropped; records end with LF or CRLF
//   (a line break inside a quoted cell is kept as a single LF).
// - Quoted cells may hold commas, doubled quotes ("" -> ") and line breaks.
// - Spaces and tabs around an unquoted cell are dropped; a quoted cell is
//   kept exactly as written between its quotes.
// - Outside a quoted cell, blank lines (only spaces/tabs) are skipped, and so
//   are lines whose first non-blank character is '#' (with skip_comments).
// - Malformed quoting (an unterminated quoted cell, a quote inside an
//   unquoted cell, text after a closing quote) is INVALID_ARGUMENT / BAD_CSV
//   with the message "NAME:LINE: what" (LINE is 1-based).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/status.h"

namespace client {

struct CsvRecord {
  size_t line = 0;  // 1-based physical line the record starts on
  std::vector<std::string> cells;
};

struct CsvOptions {
  bool skip_comments = true;  // skip lines starting with '#'
};

// Calls `on_record` for each record in file order. An error from it stops
// the parse and is returned as is. `name` is used only in messages.
verifier::Status ForEachCsvRecord(std::string_view text, const std::string& name,
                                  const std::function<verifier::Status(CsvRecord&)>& on_record,
                                  const CsvOptions& options = {});

// All records of `text` at once (ForEachCsvRecord collecting them).
verifier::Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, const std::string& name,
                                                  const CsvOptions& options = {});

}  // namespace client
