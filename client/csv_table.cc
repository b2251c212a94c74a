#include "client/csv_table.h"

#include <csv.h>

#include <utility>

namespace client {
namespace {

// The text is fed to libcsv one physical line at a time, so that every
// callback knows the line it happens on and comment/blank lines can be
// skipped between records (libcsv knows neither). Each line is fed without
// its CR and with an LF, and only LF ends a record, so a record always ends
// at the end of a fed line.
struct Feed {
  const std::function<verifier::Status(CsvRecord&)>* on_record;
  size_t line = 0;         // the line being fed
  size_t cell_line = 0;    // the line the current cell started on
  bool in_record = false;  // a record has started and not ended
  CsvRecord record;
  verifier::Status status;  // first error from on_record
};

void OnCell(void* data, size_t len, void* feed_ptr) {
  auto* f = static_cast<Feed*>(feed_ptr);
  f->record.cells.emplace_back(data ? static_cast<const char*>(data) : "", len);
  f->cell_line = f->line;
}

void OnRecordEnd(int /*terminator*/, void* feed_ptr) {
  auto* f = static_cast<Feed*>(feed_ptr);
  f->in_record = false;
  if (f->status.ok()) f->status = (*f->on_record)(f->record);
  f->record.cells.clear();
}

int IsLineFeed(unsigned char c) { return c == '\n'; }

// Owns a libcsv parser.
class Parser {
 public:
  Parser() {
    ok_ = csv_init(&p_, CSV_STRICT | CSV_STRICT_FINI) == 0;
    if (ok_) csv_set_term_func(&p_, IsLineFeed);
  }
  ~Parser() {
    if (ok_) csv_free(&p_);
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  bool ok() const { return ok_; }
  csv_parser* get() { return &p_; }

 private:
  csv_parser p_{};
  bool ok_ = false;
};

}  // namespace

verifier::Status ForEachCsvRecord(std::string_view text, const std::string& name,
                                  const std::function<verifier::Status(CsvRecord&)>& on_record,
                                  const CsvOptions& options) {
  auto bad = [&](size_t line, const std::string& what) {
    return verifier::InvalidArgument("BAD_CSV", name + ":" + std::to_string(line) + ": " + what);
  };
  Parser parser;
  if (!parser.ok()) return verifier::Internal("CSV_INIT", "libcsv: csv_init failed");
  csv_parser* p = parser.get();

  size_t column_offset = 0;  // bytes dropped from the start of line 1
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
    column_offset = 3;
  }
  Feed f;
  f.on_record = &on_record;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++f.line;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!f.in_record) {
      size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos) continue;  // blank
      if (options.skip_comments && line[first] == '#') continue;
      f.in_record = true;
      f.record.line = f.line;
      f.cell_line = f.line;
    }
    size_t done = csv_parse(p, line.data(), line.size(), OnCell, OnRecordEnd, &f);
    if (done != line.size() || csv_parse(p, "\n", 1, OnCell, OnRecordEnd, &f) != 1) {
      if (csv_error(p) != CSV_EPARSE) return bad(f.line, csv_strerror(csv_error(p)));
      size_t column = done + 1 + (f.line == 1 ? column_offset : 0);
      return bad(f.line, "bad quoting at byte " + std::to_string(column) +
                             ": a quote inside an unquoted cell, or text after a closing quote "
                             "(write a quote inside a quoted cell as \"\")");
    }
    if (!f.status.ok()) return f.status;
  }
  if (f.in_record) {  // only inside a quoted cell can a record outlast its line
    return bad(f.cell_line, "a quoted cell starting on this line has no closing quote");
  }
  if (csv_fini(p, OnCell, OnRecordEnd, &f) != 0) {
    return bad(f.line, csv_strerror(csv_error(p)));
  }
  return f.status;
}

verifier::Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, const std::string& name,
                                                  const CsvOptions& options) {
  std::vector<CsvRecord> records;
  auto st = ForEachCsvRecord(
      text, name,
      [&](CsvRecord& r) {
        records.push_back(std::move(r));
        return verifier::Status::Ok();
      },
      options);
  if (!st.ok()) return st;
  return records;
}

}  // namespace client
