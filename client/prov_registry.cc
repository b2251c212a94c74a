// prov subcommands for registering facts: authority (organisations,
// ownership, key enrolment and revocation), manufacturer (components,
// models, firmware, devices, bulk import), transfer and device status.
//
// Every signing command takes --key; with --out it writes the signed record
// (to co-sign later with `prov record cosign` and send with `prov submit`),
// otherwise it submits and proves the record's inclusion.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "client/cli.h"
#include "client/csv_table.h"
#include "client/oui_registry.h"
#include "client/submit_many.h"
#include "client/verdicts.h"
#include "records/records.h"
#include "verifier/index.h"
#include "verifier/judge.h"
#include "verifier/rules.h"
#include "verifier/x509.h"

namespace prov {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

Status Usage(const std::string& reason, const std::string& message) {
  return verifier::InvalidArgument(reason, message);
}

// --- parsing of option values (failures are usage errors: exit 2) ---

bool AllDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// YYYY-MM-DD (UTC midnight) or unix seconds.
Result<int64_t> ParseDate(const std::string& what, const std::string& text) {
  std::string v = Trim(text);
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  auto bad = [&] {
    return Usage("BAD_DATE",
                 what + " \"" + text + "\" is not a date: use YYYY-MM-DD (UTC) or unix seconds");
  };
  if (AllDigits(v)) {
    int64_t t = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), t);
    if (ec != std::errc() || p != v.data() + v.size()) return bad();
    return t;
  }
  if (v.size() != 10 || v[4] != '-' || v[7] != '-' || !AllDigits(v.substr(0, 4)) ||
      !AllDigits(v.substr(5, 2)) || !AllDigits(v.substr(8, 2))) {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = std::stoi(v.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(v.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(v.substr(8, 2));
  const int year = tm.tm_year, mon = tm.tm_mon, day = tm.tm_mday;
  if (year < 70 || mon < 0 || mon > 11 || day < 1 || day > 31) return bad();
  time_t t = timegm(&tm);
  std::tm check{};
  if (t == static_cast<time_t>(-1) || gmtime_r(&t, &check) == nullptr || check.tm_year != year ||
      check.tm_mon != mon || check.tm_mday != day) {
    return bad();  // e.g. 2024-02-30
  }
  return static_cast<int64_t>(t);
}

// --from (required) and --until (optional; 0 = open) of a dated record.
// An inverted window is left to the rulebook (INVALID_FIELD).
Result<std::pair<int64_t, int64_t>> ParseWindow(const std::string& from, const std::string& until) {
  PROV_ASSIGN_OR_RETURN(int64_t f, ParseDate("--from", from));
  int64_t u = 0;
  if (!until.empty()) {
    PROV_ASSIGN_OR_RETURN(u, ParseDate("--until", until));
  }
  return std::pair{f, u};
}

Result<verifier::PublicKey> ParsePublicKey(const std::string& what, const std::string& hex) {
  auto bytes = verifier::HexDecode(Trim(hex));
  if (!bytes.ok() || bytes->size() != 32) {
    return Usage("BAD_KEY", what + " must be 64 hex digits (a 32-byte Ed25519 public key)");
  }
  verifier::PublicKey key;
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

// The public key to enrol or revoke: --public-key HEX or the key of --key-file.
Result<verifier::PublicKey> SubjectKey(const std::string& hex, const std::string& key_file) {
  if (hex.empty() == key_file.empty()) {
    return Usage("USAGE", "give exactly one of --public-key HEX and --key-file FILE");
  }
  if (!hex.empty()) return ParsePublicKey("--public-key", hex);
  PROV_ASSIGN_OR_RETURN(auto key, LoadKey(key_file));
  return key.public_key();
}

// Names of enum values for the command line: COMPONENT_KIND_IMAGE_SENSOR ->
// image-sensor (the _UNSPECIFIED value is left out).
std::map<std::string, int> EnumNames(const google::protobuf::EnumDescriptor* d,
                                     const std::string& prefix) {
  std::map<std::string, int> out;
  for (int i = 0; i < d->value_count(); ++i) {
    const auto* v = d->value(i);
    if (v->number() == 0) continue;
    std::string name = v->name().substr(prefix.size());
    for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
    out[name] = v->number();
  }
  return out;
}

std::vector<std::string> Keys(const std::map<std::string, int>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// MAKER/PART[,quantity=N][,function=TEXT][,location=CC]
Result<pb::BomLine> ParseBomLine(const std::string& spec) {
  auto bad = [&](const std::string& why) {
    return Usage("BAD_COMPONENT", "--component \"" + spec + "\": " + why +
                                      " (use MAKER/PART[,quantity=N][,function=TEXT]"
                                      "[,location=CC])");
  };
  std::string rest = spec;
  pb::BomLine line;
  line.set_quantity(1);
  // Trailing ,key=value attributes; anything else belongs to the part number.
  for (;;) {
    size_t comma = rest.rfind(',');
    if (comma == std::string::npos) break;
    std::string attr = rest.substr(comma + 1);
    size_t eq = attr.find('=');
    if (eq == std::string::npos) break;
    std::string k = attr.substr(0, eq), v = attr.substr(eq + 1);
    if (k == "quantity") {
      uint32_t q = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
      if (ec != std::errc() || p != v.data() + v.size() || q == 0) {
        return bad("quantity must be a positive number");
      }
      line.set_quantity(q);
    } else if (k == "function") {
      line.set_function(v);
    } else if (k == "location") {
      line.set_assembly_test_location(v);
    } else {
      break;
    }
    rest.resize(comma);
  }
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
    return bad("expected MAKER/PART");
  }
  *line.mutable_component() = records::Ref(rest.substr(0, slash), rest.substr(slash + 1));
  return line;
}

// --- signing and submitting ---

Result<std::vector<verifier::SigningKey>> LoadKeys(const std::vector<std::string>& files) {
  std::vector<verifier::SigningKey> keys;
  for (const auto& f : files) {
    PROV_ASSIGN_OR_RETURN(auto k, LoadKey(f));
    keys.push_back(std::move(k));
  }
  return keys;
}

std::vector<const verifier::SigningKey*> Ptrs(const std::vector<verifier::SigningKey>& keys) {
  std::vector<const verifier::SigningKey*> out;
  for (const auto& k : keys) out.push_back(&k);
  return out;
}

// The current authority set, from evidence that proves the authorities'
// whole history (every AuthoritySet record since the genesis).
Result<pb::AuthorityState> VerifiedAuthorities(client::LedgerClient& c) {
  verifier::RecordCache cache;
  PROV_ASSIGN_OR_RETURN(auto evidence, FetchEvidence(c, {}, client::Wanted{}, &cache, nullptr));
  if (evidence.empty()) return verifier::DataLoss("NO_EVIDENCE", "the server sent no evidence");
  const verifier::VerifiedEvidence& ev = evidence.front();
  auto missing = verifier::CheckComplete(ev, {verifier::subject::Authorities()});
  if (!missing.empty() || !ev.problems.empty()) {
    const auto& f = missing.empty() ? ev.problems.front() : missing.front();
    return verifier::DataLoss("EVIDENCE_INCOMPLETE",
                              "the authority sets are not proven complete: " + f.message);
  }
  return verifier::CurrentAuthorities(ev.state);
}

// Output file of part `i` of `n` for --out.
std::string PartFile(const std::string& out, size_t i, size_t n) {
  return n == 1 ? out : out + "." + std::to_string(i + 1);
}

}  // namespace

// Signs each record with every key; writes them to --out (FILE, or FILE.1,
// FILE.2, ... for several) or submits each and proves its inclusion.
int SignAndSubmit(const std::vector<pb::Record>& records, const std::vector<std::string>& key_files,
                  const std::string& out) {
  auto keys = LoadKeys(key_files);
  if (!keys.ok()) return Report(keys.status());
  auto ptrs = Ptrs(*keys);
  std::vector<pb::SignedRecord> signed_records;
  for (const auto& r : records) signed_records.push_back(records::SignRecord(r, ptrs));

  if (!out.empty()) {
    for (size_t i = 0; i < records.size(); ++i) {
      std::string file = PartFile(out, i, records.size());
      if (Status s = WriteFile(file, signed_records[i].SerializeAsString()); !s.ok()) {
        return Report(s);
      }
      std::string kind = verifier::RecordKindName(records[i]);
      if (G().json) {
        std::cout << json{{"ok", true},
                          {"kind", kind},
                          {"file", file},
                          {"signatures", signed_records[i].signatures_size()}}
                         .dump()
                  << "\n";
      } else {
        std::fprintf(stderr, "prov: signed %s with %zu key(s) -> %s\n", kind.c_str(), ptrs.size(),
                     file.c_str());
      }
    }
    return kOk;
  }

  auto c = ConnectVerified();
  if (!c.ok()) return Report(c.status());
  int rc = kOk;
  // Successes are printed once the trust store holds their head.
  std::vector<std::pair<std::string, client::LedgerClient::Appended>> logged;
  for (size_t i = 0; i < records.size(); ++i) {
    std::string kind = verifier::RecordKindName(records[i]);
    auto r = (*c)->Submit(signed_records[i]);
    if (!r.ok()) {
      const Status& e = r.status();
      std::string part = records.size() > 1 ? kind + " " + std::to_string(i + 1) + " of " +
                                                  std::to_string(records.size()) + ": "
                                            : "";
      rc = std::max(rc, ReportSubmitError(Status(e.code(), e.reason(), part + e.message())));
      if (!IsRefusal(e)) break;  // connection or verification: stop here
      continue;
    }
    logged.emplace_back(kind, std::move(r).value());
  }
  if (Status s = SaveTrust(**c); !s.ok()) return Report(LoggedBefore(s, logged));
  for (const auto& [kind, r] : logged) PrintAppended("kind", kind, r);
  return rc;
}

int SignAndSubmit(const pb::Record& record, const std::vector<std::string>& key_files,
                  const std::string& out) {
  return SignAndSubmit(std::vector<pb::Record>{record}, key_files, out);
}

// Adds the options every signing command has.
void SigningOptions(CLI::App* sub, std::vector<std::string>& keys, std::string& out,
                    bool cosignable) {
  auto* k = sub->add_option(
      "--key", keys,
      cosignable ? "signing key file, 0600 (repeatable: co-signing)" : "signing key file, 0600");
  k->required();
  if (!cosignable) k->expected(1);
  sub->add_option("--out", out,
                  "write the signed record to FILE instead of submitting it (co-sign it "
                  "with `prov record cosign`, send it with `prov submit`)");
}

namespace {

// --- transfer: split the serials over records that stay under the leaf limit ---

size_t VarintSize(size_t n) {
  size_t s = 1;
  while (n >= 128) {
    n >>= 7;
    ++s;
  }
  return s;
}

std::vector<pb::Record> TransferRecords(int64_t now, const std::string& mfr,
                                        const std::vector<std::string>& serials,
                                        const std::string& from, const std::string& to,
                                        const std::string& reference, size_t nkeys) {
  // Each signature costs 2 + (2 + 32) + (2 + 64) bytes in the SignedRecord;
  // the record itself 4 bytes of envelope; keep a margin for length growth.
  const size_t budget = verifier::kMaxSignedRecordBytes - 102 * nkeys - 64;
  std::vector<pb::Record> out;
  pb::Record cur = records::TransferRecord(now, mfr, {}, from, to, reference);
  const size_t base = cur.ByteSizeLong() + 8;
  size_t size = base;
  for (const auto& s : serials) {
    size_t add = 1 + VarintSize(s.size()) + s.size();
    if (cur.transfer().serials_size() > 0 && size + add > budget) {
      out.push_back(std::move(cur));
      cur = records::TransferRecord(now, mfr, {}, from, to, reference);
      size = base;
    }
    cur.mutable_transfer()->add_serials(s);
    size += add;
  }
  out.push_back(std::move(cur));
  return out;
}

// --- bulk import ---

std::string Thousands(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return s;
}

// `\r[=====>    ] 5120/10000 rows  8,300/s` on stderr, at most ~10 times a second.
class ProgressBar {
 public:
  ProgressBar(bool enabled, uint64_t total, std::string unit)
      : enabled_(enabled), total_(total), unit_(std::move(unit)), start_(Clock::now()) {}
  void Update(uint64_t done, bool force = false) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (!force && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    constexpr int kWidth = 30;
    int filled = total_ ? static_cast<int>(kWidth * std::min(done, total_) / total_) : kWidth;
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    double secs = std::chrono::duration<double>(now - start_).count();
    uint64_t rate = secs > 0 ? static_cast<uint64_t>(static_cast<double>(done) / secs) : 0;
    std::fprintf(stderr, "\r[%s] %llu/%llu %s  %s/s ", bar.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                 unit_.c_str(), Thousands(rate).c_str());
    std::fflush(stderr);
  }
  void Finish(uint64_t done) {
    if (!enabled_) return;
    Update(done, true);
    std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  uint64_t total_;
  std::string unit_;
  Clock::time_point start_, last_{};
  bool drawn_ = false;
};

constexpr char kCsvHeader[] = "serial,model,device_public_key,manufactured,assembly_country";

struct Problem {
  uint64_t line;
  std::string reason, message;
};

struct ImportRow {
  uint64_t line = 0;
  pb::Record record;
};

int Import(const std::string& org, const std::string& csv_file, const std::string& key_file,
           int window) {
  auto text = ReadFile(csv_file);
  if (!text.ok()) return Report(text.status());
  auto key = LoadKey(key_file);
  if (!key.ok()) return Report(key.status());

  // Parse every row first: malformed rows are reported and never sent.
  const int64_t now = Now();
  std::vector<ImportRow> rows;
  std::vector<Problem> malformed, refused;
  uint64_t total = 0;
  {
    // BOM, quoting and CRLF are handled by the CSV module; '#' is data here.
    auto records = client::ParseCsv(*text, csv_file, {.skip_comments = false});
    if (!records.ok()) return Report(records.status());
    for (auto& record : *records) {
      std::vector<std::string>& fields = record.cells;
      for (auto& f : fields) {
        size_t a = f.find_first_not_of(" \t"), b = f.find_last_not_of(" \t");
        f = a == std::string::npos ? "" : f.substr(a, b - a + 1);
      }
      const uint64_t line_no = record.line;
      if (&record == &records->front()) {
        if (Join(fields, ",") != kCsvHeader) {
          return Report(Usage("BAD_CSV_HEADER", csv_file + " line " + std::to_string(line_no) +
                                                    ": expected the header \"" + kCsvHeader +
                                                    "\", got \"" + Join(fields, ",") + "\""));
        }
        continue;
      }
      ++total;
      auto bad = [&](const std::string& reason, const std::string& msg) {
        malformed.push_back({line_no, reason, msg});
      };
      if (fields.size() != 5) {
        bad("BAD_COLUMNS", "expected 5 columns (" + std::string(kCsvHeader) + "), got " +
                               std::to_string(fields.size()));
        continue;
      }
      if (fields[0].empty()) {
        bad("EMPTY_SERIAL", "the serial is empty");
        continue;
      }
      if (fields[1].empty()) {
        bad("EMPTY_MODEL", "the model is empty");
        continue;
      }
      auto dev_key = ParsePublicKey("device_public_key", fields[2]);
      if (!dev_key.ok()) {
        bad("BAD_HEX", dev_key.status().message() + ", got \"" + fields[2] + "\"");
        continue;
      }
      auto made = ParseDate("manufactured", fields[3]);
      if (!made.ok()) {
        bad("BAD_DATE", made.status().message());
        continue;
      }
      ImportRow row;
      row.line = line_no;
      row.record =
          records::DeviceRecord(now, org, fields[0], fields[1], *dev_key, *made, fields[4]);
      rows.push_back(std::move(row));
    }
    if (records->empty()) {
      return Report(Usage("BAD_CSV_HEADER",
                          csv_file + " is empty; expected the header \"" + kCsvHeader + "\""));
    }
  }

  auto c = Connect();
  if (!c.ok()) return Report(c.status());
  // The log's identity first: nothing is sent to a server whose checkpoint
  // does not verify with the pinned key (or is not consistent with the trust store).
  auto start_head = (*c)->GetCheckpoint();
  if (!start_head.ok()) return Report(start_head.status());

  const bool show = !G().json && isatty(STDERR_FILENO);
  std::vector<client::Submission> items(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) items[i].sequence = rows[i].line;
  ProgressBar acks(show, rows.size(), "rows"), proofs(show, rows.size(), "proofs");
  bool proving = false;
  const verifier::SigningKey* signer = &*key;
  client::SubmitManyOptions options{
      .window = window,
      .make_leaf =
          [&](size_t i) {
            return records::SignRecord(rows[i].record, {signer}).SerializeAsString();
          },
      .on_ack = [&](uint64_t done) { acks.Update(done); },
      .on_proof =
          [&](uint64_t done) {
            if (!proving) {
              proving = true;
              acks.Finish(rows.size());
            }
            proofs.Update(done);
          }};
  client::SubmitManyResult sent = client::SubmitMany(**c, items, options);
  if (proving) {
    proofs.Finish(sent.appended + sent.already_logged);
  } else if (!rows.empty()) {
    acks.Finish(rows.size());
  }
  Status fatal = sent.fatal;
  const uint64_t appended = sent.appended, already = sent.already_logged;
  bool cannot_tell = false;
  for (size_t i = 0; i < rows.size() && fatal.ok(); ++i) {
    const Status& e = items[i].status;
    if (e.ok()) continue;
    if (!IsRefusal(e)) cannot_tell = true;
    refused.push_back({rows[i].line, e.reason(), e.message()});
  }
  std::optional<client::VerifiedCheckpoint> head = sent.head;
  if (fatal.ok()) {
    if (Status s = SaveTrust(**c); !s.ok()) fatal = s;
  }

  // Summary.
  auto by_line = [](const Problem& a, const Problem& b) { return a.line < b.line; };
  std::sort(refused.begin(), refused.end(), by_line);
  std::sort(malformed.begin(), malformed.end(), by_line);
  const bool all_landed = fatal.ok() && refused.empty() && malformed.empty();
  if (G().json) {
    auto list = [](const std::vector<Problem>& ps) {
      json a = json::array();
      for (const auto& p : ps) {
        a.push_back({{"line", p.line}, {"reason", p.reason}, {"message", p.message}});
      }
      return a;
    };
    json j{{"ok", all_landed},         {"rows", total},
           {"appended", appended},     {"already_logged", already},
           {"refused", list(refused)}, {"malformed", list(malformed)}};
    if (head) j["checkpoint"] = HeadJson(head->checkpoint);
    if (!fatal.ok()) j["error"] = {{"reason", fatal.reason()}, {"message", fatal.message()}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf(
        "imported %llu of %llu rows: %llu appended, %llu already logged, %zu refused, "
        "%zu malformed\n",
        static_cast<unsigned long long>(appended + already), static_cast<unsigned long long>(total),
        static_cast<unsigned long long>(appended), static_cast<unsigned long long>(already),
        refused.size(), malformed.size());
    std::vector<Problem> all = refused;
    all.insert(all.end(), malformed.begin(), malformed.end());
    std::stable_sort(all.begin(), all.end(), by_line);
    for (const auto& p : all) {
      std::printf("line %llu: %s: %s\n", static_cast<unsigned long long>(p.line), p.reason.c_str(),
                  p.message.c_str());
    }
    if (fatal.ok() && head && (appended + already) > 0) {
      std::printf("every appended row proven included in the tree of size %llu\n",
                  static_cast<unsigned long long>(head->checkpoint.size));
    }
    if (!fatal.ok()) std::fprintf(stderr, "prov: %s\n", fatal.ToString().c_str());
  }
  if (!fatal.ok()) return ExitFor(fatal);
  if (cannot_tell) return kUnverified;
  return all_landed ? kOk : kRejected;
}

// Reads serials: --serial values, then --serials-file lines (blank lines and
// lines starting with '#' skipped).
Result<std::vector<std::string>> CollectSerials(const std::vector<std::string>& given,
                                                const std::string& file) {
  std::vector<std::string> serials = given;
  if (!file.empty()) {
    PROV_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
      if (a == std::string::npos || line[a] == '#') continue;
      serials.push_back(line.substr(a, b - a + 1));
    }
  }
  if (serials.empty()) {
    return Usage("USAGE", "no serials: give --serial SN (repeatable) or --serials-file FILE");
  }
  std::set<std::string> seen;
  for (const auto& s : serials) {
    if (!seen.insert(s).second) return Usage("USAGE", "serial " + s + " is listed twice");
  }
  return serials;
}

}  // namespace

void AddRegistryCommands(CLI::App& app) {
  // --- authority ---
  auto* auth = app.add_subcommand(
      "authority", "authority records (need the genesis threshold of authority signatures)");
  auth->require_subcommand(1);

  {
    struct Opts {
      std::string code, name, jurisdiction, source, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand(
        "law",
        "register a law organisations can be subject to and policies can deny (a later "
        "record for the same --code supersedes earlier ones)");
    sub->add_option("--code", o->code, "law code, e.g. CN-NIL-2017")->required();
    sub->add_option("--name", o->name, "its name, e.g. \"PRC National Intelligence Law (2017)\"")
        ->required();
    sub->add_option("--jurisdiction", o->jurisdiction,
                    "ISO 3166-1 alpha-2 code of the enacting state, e.g. CN")
        ->required();
    sub->add_option("--source", o->source, "citation or URL of the text");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      return SignAndSubmit(records::LawRecord(Now(), o->code, o->name, o->jurisdiction, o->source),
                           o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, prefix, source, out;
      bool ieee = false;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand(
        "mac-block", "vet a block of MAC addresses (IEEE MA-L/MA-M/MA-S) as an org's");
    sub->add_option("--org", o->org, "the org the block belongs to")->required();
    sub->add_option("--prefix", o->prefix, "the prefix, e.g. AC:CC:8E (MA-L), 7 or 9 hex digits")
        ->required();
    sub->add_option("--source", o->source, "where the assignment was checked");
    sub->add_flag(
        "--ieee", o->ieee,
        "show IEEE's registered holder of the prefix (Debian's ieee-data) before signing");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      const std::string prefix = verifier::NormalizeMac(o->prefix);
      if (!verifier::IsMacPrefix(prefix)) {
        return Report(Usage("BAD_MAC_PREFIX", "--prefix \"" + o->prefix +
                                                  "\" must be 6, 7 or 9 hex digits (MA-L, MA-M, "
                                                  "MA-S), e.g. AC:CC:8E"));
      }
      if (o->ieee) {
        auto reg = client::OuiRegistry::Load();
        if (!reg.ok()) return Report(reg.status());
        auto a = reg->Lookup(prefix + std::string(12 - prefix.size(), '0'));
        if (!a.ok()) return Report(a.status());
        std::fprintf(
            stderr, "prov: IEEE lists %s as %s\n", prefix.c_str(),
            *a ? ((*a)->registry + " " + (*a)->prefix + " of " + (*a)->organization).c_str()
               : "not assigned");
      }
      return SignAndSubmit(records::MacBlockRecord(Now(), o->org, prefix, o->source), o->keys,
                           o->out);
    });
  }
  {
    struct Opts {
      std::string id, name, country, source, out;
      std::vector<std::string> laws, aliases, keys;
      bool state_owned = false;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand("org",
                                     "vet an organisation (a later record for the same "
                                     "--id supersedes earlier ones)");
    sub->add_option("--id", o->id, "org id, [a-z0-9][a-z0-9.-]*")->required();
    sub->add_option("--name", o->name, "legal name")->required();
    sub->add_option("--country", o->country, "ISO 3166-1 alpha-2 code, e.g. GB")->required();
    sub->add_option("--law", o->laws,
                    "a registered law the org is subject to, e.g. CN-NIL-2017 (repeatable; "
                    "`prov authority law` registers one)");
    sub->add_flag("--state-owned", o->state_owned, "the org is state-owned");
    sub->add_option("--alias", o->aliases, "brand or trading name (repeatable)");
    sub->add_option("--source", o->source, "where the facts come from (citation or URL)");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      pb::Record r = records::OrganizationRecord(Now(), o->id, o->name, o->country, o->laws,
                                                 o->state_owned, o->aliases);
      r.mutable_organization()->set_source(o->source);
      return SignAndSubmit(r, o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string owner, owned, from, until, source, out;
      uint32_t stake_bp = 0;
      bool control = false;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand("ownership", "record that one org owns (part of) another");
    sub->add_option("--owner", o->owner, "owning org id")->required();
    sub->add_option("--owned", o->owned, "owned org id")->required();
    sub->add_option("--stake-bp", o->stake_bp, "stake in basis points, 0..10000")->required();
    sub->add_flag("--control", o->control, "the owner controls the owned org");
    sub->add_option("--from", o->from, "held since DATE (YYYY-MM-DD or unix seconds)")->required();
    sub->add_option("--until", o->until, "held until DATE (default: still held)");
    sub->add_option("--source", o->source, "where the stake is published (citation or URL)");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      auto window = ParseWindow(o->from, o->until);
      if (!window.ok()) return Report(window.status());
      pb::Record r = records::OwnershipRecord(Now(), o->owner, o->owned, o->stake_bp, o->control,
                                              window->first, window->second);
      r.mutable_ownership()->set_source(o->source);
      return SignAndSubmit(r, o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, country, law, state_owned, from, until, source, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand(
        "fact",
        "record a dated fact about an organisation for [--from, --until): its country, "
        "a law that binds it, or whether it is state-owned (the same --org, fact and "
        "--from again corrects it, e.g. to close its window)");
    sub->add_option("--org", o->org, "org id")->required();
    sub->add_option("--country", o->country, "where it is domiciled (ISO 3166-1 alpha-2)");
    sub->add_option("--law", o->law,
                    "a registered law that binds it in the window (not one its org record lists)");
    sub->add_option("--state-owned", o->state_owned, "yes|no: whether it is state-owned")
        ->check(CLI::IsMember({"yes", "no"}));
    sub->add_option("--from", o->from, "true from DATE (YYYY-MM-DD or unix seconds)")->required();
    sub->add_option("--until", o->until, "true until DATE (default: still true)");
    sub->add_option("--source", o->source, "citation or URL (required)")->required();
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      const int given = !o->country.empty() + !o->law.empty() + !o->state_owned.empty();
      if (given != 1) {
        return Report(Usage("USAGE",
                            "give exactly one of --country CC, --law CODE and "
                            "--state-owned yes|no"));
      }
      auto window = ParseWindow(o->from, o->until);
      if (!window.ok()) return Report(window.status());
      const auto [from, until] = *window;
      pb::Record r =
          !o->country.empty()
              ? records::OrgCountryFact(Now(), o->org, o->country, from, until, o->source)
          : !o->law.empty() ? records::OrgLawFact(Now(), o->org, o->law, from, until, o->source)
                            : records::OrgStateOwnedFact(Now(), o->org, o->state_owned == "yes",
                                                         from, until, o->source);
      return SignAndSubmit(r, o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, from, until, source, out;
      uint32_t threshold_bp = 0;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand(
        "no-owner",
        "state that nobody holds --threshold-bp or more of an organisation (nor "
        "controls it) in [--from, --until), e.g. a \"no registrable person\" entry");
    sub->add_option("--org", o->org, "org id")->required();
    sub->add_option("--threshold-bp", o->threshold_bp, "basis points, 1..10000 (2500 = 25 %)")
        ->required();
    sub->add_option("--from", o->from, "true from DATE (YYYY-MM-DD or unix seconds)")->required();
    sub->add_option("--until", o->until, "true until DATE (default: until further notice)");
    sub->add_option("--source", o->source, "the register entry or report (required)")->required();
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      auto window = ParseWindow(o->from, o->until);
      if (!window.ok()) return Report(window.status());
      return SignAndSubmit(
          records::NoRegistrableOwnerRecord(Now(), o->org, o->threshold_bp, window->first,
                                            window->second, o->source),
          o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, law, subject, source, reasoning, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand(
        "ruling",
        "rule whether an organisation is subject to a law where published guidance "
        "does not settle it (a later ruling for the same --org and --law supersedes)");
    sub->add_option("--org", o->org, "org id")->required();
    sub->add_option("--law", o->law, "a registered law code")->required();
    sub->add_option("--subject", o->subject, "yes|no: the org is subject to the law")
        ->required()
        ->check(CLI::IsMember({"yes", "no"}));
    sub->add_option("--source", o->source, "the decision, with its reference (required)")
        ->required();
    sub->add_option("--reasoning", o->reasoning, "why");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      return SignAndSubmit(records::RulingRecord(Now(), o->org, o->law, o->subject == "yes",
                                                 o->source, o->reasoning),
                           o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string public_key, key_file, org, not_before, not_after, renews, out;
      std::vector<std::string> roles, keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand("enroll", "enrol an org's signing key for roles");
    auto* pk = sub->add_option("--public-key", o->public_key, "the key to enrol (hex)");
    sub->add_option("--key-file", o->key_file,
                    "or: the signing key file whose public key is enrolled")
        ->excludes(pk);
    sub->add_option("--org", o->org, "org id the key belongs to")->required();
    sub->add_option("--role", o->roles, "manufacturer, custodian and/or installer (repeatable)")
        ->required()
        ->delimiter(',')
        ->check(CLI::IsMember({"manufacturer", "custodian", "installer"}));
    sub->add_option("--not-before", o->not_before, "valid from DATE (default: always)");
    sub->add_option("--not-after", o->not_after, "valid until DATE (default: no expiry)");
    sub->add_option("--renews", o->renews,
                    "a renewal of this enrolled key (hex public key): the same key with a later "
                    "--not-after, or a successor; it must not leave a gap");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      auto key = SubjectKey(o->public_key, o->key_file);
      if (!key.ok()) return Report(key.status());
      std::optional<verifier::PublicKey> renews;
      if (!o->renews.empty()) {
        auto k = ParsePublicKey("--renews", o->renews);
        if (!k.ok()) return Report(k.status());
        renews = *k;
      }
      int64_t nb = 0, na = 0;
      if (!o->not_before.empty()) {
        auto t = ParseDate("--not-before", o->not_before);
        if (!t.ok()) return Report(t.status());
        nb = *t;
      }
      if (!o->not_after.empty()) {
        auto t = ParseDate("--not-after", o->not_after);
        if (!t.ok()) return Report(t.status());
        na = *t;
      }
      std::vector<pb::Role> roles;
      for (const auto& r : o->roles) {
        pb::Role role = r == "manufacturer" ? pb::ROLE_MANUFACTURER
                        : r == "installer"  ? pb::ROLE_INSTALLER
                                            : pb::ROLE_CUSTODIAN;
        if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.push_back(role);
      }
      return SignAndSubmit(
          renews ? records::KeyRenewalRecord(Now(), *key, *renews, o->org, roles, nb, na)
                 : records::KeyEnrollmentRecord(Now(), *key, o->org, roles, nb, na),
          o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string public_key, key_file, effective, reason, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand("revoke", "revoke an enrolled key: it signs nothing more");
    auto* pk = sub->add_option("--public-key", o->public_key, "the key to revoke (hex)");
    sub->add_option("--key-file", o->key_file,
                    "or: the signing key file whose public key is revoked")
        ->excludes(pk);
    sub->add_option("--effective", o->effective,
                    "records it signed from DATE on are suspect (default: now)");
    sub->add_option("--reason", o->reason, "why, e.g. \"key compromised\"");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      auto key = SubjectKey(o->public_key, o->key_file);
      if (!key.ok()) return Report(key.status());
      int64_t now = Now(), effective = now;
      if (!o->effective.empty()) {
        auto t = ParseDate("--effective", o->effective);
        if (!t.ok()) return Report(t.status());
        effective = *t;
      }
      return SignAndSubmit(records::KeyRevocationRecord(now, *key, effective, o->reason), o->keys,
                           o->out);
    });
  }

  {
    struct Opts {
      std::vector<std::string> authorities, keys;
      uint32_t threshold = 0;
      int64_t replaces = -1;
      std::string reason, out;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = auth->add_subcommand(
        "rotate",
        "replace the authority keys and threshold: signed by the current set's threshold and by "
        "every key it adds");
    sub->add_option("--authority", o->authorities,
                    "NAME=PUBHEX: a key of the new set (repeatable; the whole set)")
        ->required();
    sub->add_option("--threshold", o->threshold, "signatures the new set needs")->required();
    sub->add_option("--reason", o->reason, "why, e.g. \"auth-0 retires\"");
    sub->add_option("--replaces", o->replaces,
                    "leaf index of the set it replaces (0: the genesis); default: the current "
                    "set, read from the verified log");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      std::vector<std::pair<std::string, verifier::PublicKey>> set;
      for (const auto& a : o->authorities) {
        const auto eq = a.find('=');
        if (eq == std::string::npos || eq == 0) {
          return Report(Usage("BAD_KEY", "--authority must be NAME=PUBHEX, not \"" + a + "\""));
        }
        auto k = ParsePublicKey("--authority " + a.substr(0, eq), a.substr(eq + 1));
        if (!k.ok()) return Report(k.status());
        set.emplace_back(a.substr(0, eq), *k);
      }
      uint64_t replaces = 0;
      if (o->replaces >= 0) {
        replaces = static_cast<uint64_t>(o->replaces);
      } else {
        auto c = ConnectVerified();
        if (!c.ok()) return Report(c.status());
        auto current = VerifiedAuthorities(**c);
        if (!current.ok()) return Report(current.status());
        replaces = current->index();
      }
      return SignAndSubmit(
          records::AuthoritySetRecord(Now(), set, o->threshold, replaces, o->reason), o->keys,
          o->out);
    });
  }
  {
    auto* sub = auth->add_subcommand(
        "show", "the current authority keys and threshold, proven from the verified log");
    OnRun(sub, [] {
      auto c = ConnectVerified();
      if (!c.ok()) return Report(c.status());
      auto current = VerifiedAuthorities(**c);
      if (!current.ok()) return Report(current.status());
      if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
      const auto& set = current->set();
      if (G().json) {
        json keys = json::array();
        for (const auto& k : set.authority_keys()) {
          keys.push_back({{"name", k.name()},
                          {"public_key", verifier::HexEncode(verifier::AsBytes(k.public_key()))}});
        }
        std::cout << json{{"ok", true},
                          {"threshold", set.threshold()},
                          {"since", current->index()},
                          {"keys", keys}}
                         .dump()
                  << "\n";
        return kOk;
      }
      std::printf(
          "%u of %d authority keys, since %s:\n", set.threshold(), set.authority_keys_size(),
          current->index() == 0 ? "the genesis" : ("#" + std::to_string(current->index())).c_str());
      for (const auto& k : set.authority_keys()) {
        std::printf("  %s %s\n", k.name().c_str(),
                    verifier::HexEncode(verifier::AsBytes(k.public_key())).c_str());
      }
      return kOk;
    });
  }

  // --- manufacturer ---
  auto* mfr = app.add_subcommand("manufacturer",
                                 "manufacturer records (signed by a manufacturer key of the org)");
  mfr->require_subcommand(1);
  {
    struct Opts {
      std::string org, part, kind, country, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    static const auto kinds = EnumNames(pb::ComponentKind_descriptor(), "COMPONENT_KIND_");
    auto* sub = mfr->add_subcommand("component", "register a component the org makes");
    sub->add_option("--org", o->org, "maker org id")->required();
    sub->add_option("--part", o->part, "part number")->required();
    sub->add_option("--kind", o->kind, Join(Keys(kinds), "|"))
        ->required()
        ->check(CLI::IsMember(Keys(kinds)));
    sub->add_option("--country", o->country, "country of origin (ISO 3166-1 alpha-2)")->required();
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      auto kind = static_cast<pb::ComponentKind>(kinds.at(o->kind));
      return SignAndSubmit(records::ComponentRecord(Now(), o->org, o->part, kind, o->country),
                           o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, model, brand, name, out;
      std::vector<std::string> components, keys, shown_manufacturer, shown_model, equipment;
    };
    static const auto equipment = EnumNames(pb::EquipmentKind_descriptor(), "EQUIPMENT_KIND_");
    auto o = std::make_shared<Opts>();
    auto* sub = mfr->add_subcommand("model", "register a device model and its bill of materials");
    sub->add_option("--org", o->org, "manufacturer org id (the real OEM)")->required();
    sub->add_option("--model-id", o->model, "model id")->required();
    sub->add_option("--brand", o->brand, "brand org on the box (default: --org)");
    sub->add_option("--name", o->name, "marketing name");
    sub->add_option("--component", o->components,
                    "BOM line MAKER/PART[,quantity=N][,function=TEXT][,location=CC] "
                    "(repeatable; the component must be registered)");
    sub->add_option("--shown-manufacturer", o->shown_manufacturer,
                    "what the firmware reports as ONVIF Manufacturer, e.g. AXIS (repeatable)");
    sub->add_option("--shown-model", o->shown_model,
                    "what the firmware reports as ONVIF Model (repeatable)");
    sub->add_option("--equipment", o->equipment,
                    Join(Keys(equipment), "|") +
                        ": what kind of equipment it is (repeatable; default: video-surveillance)")
        ->check(CLI::IsMember(Keys(equipment)));
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      pb::Record r = records::DeviceModelRecord(Now(), o->org, o->model,
                                                o->brand.empty() ? o->org : o->brand, {});
      if (!o->name.empty()) r.mutable_device_model()->set_name(o->name);
      for (const auto& v : o->shown_manufacturer)
        r.mutable_device_model()->add_shown_manufacturer(v);
      for (const auto& v : o->shown_model) r.mutable_device_model()->add_shown_model(v);
      for (const auto& e : o->equipment) {
        r.mutable_device_model()->add_equipment(static_cast<pb::EquipmentKind>(equipment.at(e)));
      }
      for (const auto& spec : o->components) {
        auto line = ParseBomLine(spec);
        if (!line.ok()) return Report(line.status());
        *r.mutable_device_model()->add_bom() = *line;
      }
      return SignAndSubmit(r, o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, model, version, sha256, image, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = mfr->add_subcommand("firmware", "register a firmware release of a model");
    sub->add_option("--org", o->org, "manufacturer org id")->required();
    sub->add_option("--model-id", o->model, "model id")->required();
    sub->add_option("--version", o->version, "firmware version")->required();
    auto* sha = sub->add_option("--sha256", o->sha256, "SHA-256 of the image (hex)");
    sub->add_option("--image", o->image, "or: the image file (its SHA-256 is logged)")
        ->excludes(sha);
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      if (o->sha256.empty() == o->image.empty()) {
        return Report(Usage("USAGE", "give exactly one of --sha256 HEX and --image FILE"));
      }
      verifier::Hash digest{};
      if (!o->image.empty()) {
        auto data = ReadFile(o->image);
        if (!data.ok()) return Report(data.status());
        digest = verifier::Sha256(*data);
      } else {
        auto bytes = verifier::HexDecode(Trim(o->sha256));
        if (!bytes.ok() || bytes->size() != 32) {
          return Report(Usage("BAD_HASH", "--sha256 must be 64 hex digits"));
        }
        std::copy(bytes->begin(), bytes->end(), digest.begin());
      }
      if (!G().json && !o->image.empty()) {
        std::fprintf(stderr, "prov: %s has SHA-256 %s\n", o->image.c_str(),
                     verifier::HexEncode(digest).c_str());
      }
      return SignAndSubmit(
          records::FirmwareReleaseRecord(Now(), o->org, o->model, o->version, digest), o->keys,
          o->out);
    });
  }
  {
    struct Opts {
      std::string org, model, version, reason, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = mfr->add_subcommand("firmware-revoke", "revoke a firmware release");
    sub->add_option("--org", o->org, "manufacturer org id")->required();
    sub->add_option("--model-id", o->model, "model id")->required();
    sub->add_option("--version", o->version, "firmware version")->required();
    sub->add_option("--reason", o->reason, "why, e.g. a CVE id");
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      return SignAndSubmit(
          records::FirmwareRevocationRecord(Now(), o->org, o->model, o->version, o->reason),
          o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, ca_id, serial_from, serial_attribute, serial_pattern, not_before, not_after,
          out;
      std::vector<std::string> certs, algorithms, keys;
      bool normalize = false;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = mfr->add_subcommand(
        "identity-ca", "register a device-identity CA (IEEE 802.1AR) for a product line");
    sub->add_option("--org", o->org, "manufacturer org id")->required();
    sub->add_option("--ca-id", o->ca_id, "a name for it, e.g. axis-device-id-ecc-2")->required();
    sub->add_option("--cert", o->certs,
                    "PEM file(s): the self-signed root first, then intermediates (repeatable)")
        ->required();
    sub->add_option("--serial-from", o->serial_from, "where a leaf carries the unit's serial")
        ->required()
        ->check(
            CLI::IsMember({"subject-serial-number", "hardware-module-name", "subject-pattern"}));
    sub->add_option("--serial-attribute", o->serial_attribute,
                    "with subject-pattern: the subject attribute holding the serial, e.g. CN");
    sub->add_option("--serial-pattern", o->serial_pattern,
                    "with subject-pattern: its text around one {serial}, e.g. \"AXIS {serial}\"");
    sub->add_flag("--normalize-serial", o->normalize,
                  "compare serials upper-case without ':', '-', '.' or spaces");
    sub->add_option("--algorithm", o->algorithms,
                    "a leaf key algorithm allowed, e.g. \"ECDSA P-256\" (repeatable)")
        ->required();
    sub->add_option("--not-before", o->not_before, "leaves accepted from DATE");
    sub->add_option("--not-after", o->not_after, "leaves accepted until DATE");
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      std::vector<std::string> ders;
      for (const auto& f : o->certs) {
        auto pem = ReadFile(f);
        if (!pem.ok()) return Report(pem.status());
        auto der = verifier::PemCertificatesToDer(*pem);
        if (!der.ok()) return Report(Usage("BAD_CERTIFICATE", f + ": " + der.status().message()));
        ders.insert(ders.end(), der->begin(), der->end());
      }
      int64_t nb = 0, na = 0;
      for (auto [text, out, flag] : {std::tuple{&o->not_before, &nb, "--not-before"},
                                     std::tuple{&o->not_after, &na, "--not-after"}}) {
        if (text->empty()) continue;
        auto t = ParseDate(flag, *text);
        if (!t.ok()) return Report(t.status());
        *out = *t;
      }
      const pb::SerialSource source =
          o->serial_from == "hardware-module-name" ? pb::SERIAL_SOURCE_HARDWARE_MODULE_NAME
          : o->serial_from == "subject-pattern"    ? pb::SERIAL_SOURCE_SUBJECT_PATTERN
                                                   : pb::SERIAL_SOURCE_SUBJECT_SERIAL_NUMBER;
      pb::Record r = records::DeviceIdentityCaRecord(Now(), o->org, o->ca_id, ders, source,
                                                     o->normalize, o->algorithms, nb, na);
      r.mutable_device_identity_ca()->set_serial_attribute(o->serial_attribute);
      r.mutable_device_identity_ca()->set_serial_pattern(o->serial_pattern);
      return SignAndSubmit(r, o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, ca_id, effective, reason, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub =
        mfr->add_subcommand("identity-ca-revoke", "revoke a device-identity CA from a time on");
    sub->add_option("--org", o->org, "manufacturer org id")->required();
    sub->add_option("--ca-id", o->ca_id, "the CA's name")->required();
    sub->add_option("--effective", o->effective, "leaves not accepted from DATE on")->required();
    sub->add_option("--reason", o->reason, "why");
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      auto t = ParseDate("--effective", o->effective);
      if (!t.ok()) return Report(t.status());
      return SignAndSubmit(
          records::DeviceIdentityCaRevocationRecord(Now(), o->org, o->ca_id, *t, o->reason),
          o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, serial, model, device_key, identity_cert, identity_spki, identity_ca,
          manufactured, country, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = mfr->add_subcommand(
        "device",
        "register one camera: serial, model, and its identity (a key, a factory "
        "certificate, or the CA that issued it)");
    sub->add_option("--org", o->org, "manufacturer org id")->required();
    sub->add_option("--serial", o->serial, "serial number")->required();
    sub->add_option("--model-id", o->model, "model id (must be registered)")->required();
    sub->add_option("--device-key", o->device_key, "the device's Ed25519 public key (hex)");
    sub->add_option("--identity-cert", o->identity_cert,
                    "PEM file: the camera's factory certificate (IEEE 802.1AR IDevID); its "
                    "public key is pinned");
    sub->add_option("--identity-spki", o->identity_spki,
                    "pin: SHA-256 (hex) of the factory certificate's SubjectPublicKeyInfo");
    sub->add_option("--identity-ca", o->identity_ca,
                    "the registered device-identity CA (--ca-id) whose leaves prove this unit");
    sub->add_option("--manufactured", o->manufactured, "DATE (YYYY-MM-DD or unix seconds)")
        ->required();
    sub->add_option("--country", o->country, "assembly country (ISO 3166-1 alpha-2)");
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      if (o->device_key.empty() && o->identity_cert.empty() && o->identity_spki.empty() &&
          o->identity_ca.empty()) {
        return Report(Usage("NO_IDENTITY",
                            "give --device-key, --identity-cert, --identity-spki "
                            "or --identity-ca"));
      }
      verifier::PublicKey dev{};
      if (!o->device_key.empty()) {
        auto k = ParsePublicKey("--device-key", o->device_key);
        if (!k.ok()) return Report(k.status());
        dev = *k;
      }
      auto made = ParseDate("--manufactured", o->manufactured);
      if (!made.ok()) return Report(made.status());
      pb::Record r =
          records::DeviceRecord(Now(), o->org, o->serial, o->model, dev, *made, o->country);
      auto* d = r.mutable_device();
      if (o->device_key.empty()) d->clear_device_public_key();
      if (!o->identity_cert.empty()) {
        auto pem = ReadFile(o->identity_cert);
        if (!pem.ok()) return Report(pem.status());
        auto der = verifier::PemCertificatesToDer(*pem);
        if (!der.ok()) {
          return Report(Usage("BAD_CERTIFICATE", o->identity_cert + ": " + der.status().message()));
        }
        d->set_identity_certificate(der->front());  // the leaf; any chain after it is not kept
      }
      if (!o->identity_spki.empty()) {
        auto pin = verifier::HexDecode(o->identity_spki);
        if (!pin.ok() || pin->size() != 32) {
          return Report(Usage("BAD_HEX", "--identity-spki must be 64 hex digits"));
        }
        d->set_identity_spki_sha256(std::string(verifier::AsStringView(*pin)));
      }
      d->set_identity_ca_id(o->identity_ca);
      return SignAndSubmit(r, o->keys, o->out);
    });
  }
  {
    struct Opts {
      std::string org, csv, key;
      int window = 512;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = mfr->add_subcommand(
        "import",
        "register many cameras from a CSV file with the header\n" + std::string(kCsvHeader) +
            "\n(device_public_key in hex, manufactured as YYYY-MM-DD or unix seconds), streamed "
            "over one connection; every appended row is proven included");
    sub->add_option("--org", o->org, "manufacturer org id")->required();
    sub->add_option("--csv", o->csv, "the CSV file")->required();
    sub->add_option("--key", o->key, "signing key file, 0600")->required();
    sub->add_option("--window", o->window, "at most N rows unacknowledged")
        ->default_val(512)
        ->check(CLI::Range(1, 1 << 20));
    OnRun(sub, [o] { return Import(o->org, o->csv, o->key, o->window); });
  }

  // --- transfer ---
  {
    struct Opts {
      std::string mfr, serials_file, from, to, reference, out;
      std::vector<std::string> serials, keys;
    };
    auto o = std::make_shared<Opts>();
    auto* sub = app.add_subcommand("transfer",
                                   "move custody of devices (signed by a custodian key of --from)");
    sub->add_option("--manufacturer", o->mfr, "manufacturer org id of the devices")->required();
    sub->add_option("--serial", o->serials, "serial number (repeatable)");
    sub->add_option("--serials-file", o->serials_file, "or: a file with one serial per line");
    sub->add_option("--from", o->from, "current custodian org id")->required();
    sub->add_option("--to", o->to, "new custodian org id")->required();
    sub->add_option("--reference", o->reference, "e.g. a purchase order number");
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] {
      auto serials = CollectSerials(o->serials, o->serials_file);
      if (!serials.ok()) return Report(serials.status());
      auto records =
          TransferRecords(Now(), o->mfr, *serials, o->from, o->to, o->reference, o->keys.size());
      if (records.size() > 1 && !G().json) {
        std::fprintf(stderr, "prov: %zu serials are split over %zu transfer records\n",
                     serials->size(), records.size());
      }
      return SignAndSubmit(records, o->keys, o->out);
    });
  }

  // --- status ---
  {
    struct Opts {
      std::string mfr, serial, condition, note, out;
      std::vector<std::string> keys;
    };
    auto o = std::make_shared<Opts>();
    static const auto conditions = EnumNames(pb::DeviceCondition_descriptor(), "DEVICE_CONDITION_");
    auto* sub =
        app.add_subcommand("status",
                           "record a device's condition (signed by its custodian or manufacturer, "
                           "or the authority threshold)");
    sub->add_option("--manufacturer", o->mfr, "manufacturer org id")->required();
    sub->add_option("--serial", o->serial, "serial number")->required();
    sub->add_option("--condition", o->condition, Join(Keys(conditions), "|"))
        ->required()
        ->check(CLI::IsMember(Keys(conditions)));
    sub->add_option("--note", o->note, "free text, e.g. a police reference");
    SigningOptions(sub, o->keys, o->out, true);
    OnRun(sub, [o] {
      auto cond = static_cast<pb::DeviceCondition>(conditions.at(o->condition));
      return SignAndSubmit(records::DeviceStatusRecord(Now(), o->mfr, o->serial, cond, o->note),
                           o->keys, o->out);
    });
  }
}

}  // namespace prov
