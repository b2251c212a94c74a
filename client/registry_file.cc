#include "client/registry_file.h"

#include <google/protobuf/util/message_differencer.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "client/policy_file.h"
#include "proto/state.pb.h"
#include "verifier/rules.h"
#include "verifier/suggest.h"

namespace client {
namespace {

namespace pb = provenance::v1;
using verifier::Result;
using verifier::Status;
using verifier::UtcDate;
using verifier::Window;

std::string L(int line) { return std::to_string(line); }

// Reads one YAML document into a Registry, remembering where each entry
// and each mistake is. Lines in YAML marks are 0-based; messages 1-based.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Result<Registry> Read(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Error(e.mark.line, "not valid YAML: " + e.msg);
    }
    if (!root.IsDefined() || root.IsNull()) return Error(0, "the registry file is empty");
    if (!root.IsMap()) return Error(Line(root), "the top level must be a mapping of keys");
    Registry r;
    r.file = file_;
    std::string format;
    Status s = Keys(
        root, "the top level", {"format"},
        {{"format", [&](const YAML::Node& v) { return Str(v, "format", 64, &format); }},
         {"compiled", [&](const YAML::Node& v) { return DateText(v, "compiled", &r.compiled); }},
         {"compiled_by",
          [&](const YAML::Node& v) { return Str(v, "compiled_by", 1024, &r.compiled_by); }},
         {"status", [&](const YAML::Node& v) { return Str(v, "status", 1024, &r.status); }},
         {"disclaimer",
          [&](const YAML::Node& v) { return Str(v, "disclaimer", 8192, &r.disclaimer); }},
         {"laws", [&](const YAML::Node& v) { return Section(v, "laws", &Reader::Law, &r.laws); }},
         {"orgs", [&](const YAML::Node& v) { return Section(v, "orgs", &Reader::Org, &r.orgs); }},
         {"facts",
          [&](const YAML::Node& v) { return Section(v, "facts", &Reader::Fact, &r.facts); }},
         {"ownership",
          [&](const YAML::Node& v) {
            return Section(v, "ownership", &Reader::Stake, &r.ownership);
          }},
         {"no_registrable_owner",
          [&](const YAML::Node& v) {
            return Section(v, "no_registrable_owner", &Reader::NoOwner, &r.no_owner);
          }},
         {"rulings", [&](const YAML::Node& v) {
            return Section(v, "rulings", &Reader::Ruling, &r.rulings);
          }}});
    if (!s.ok()) return s;
    if (format != kRegistryFormat) {
      return Error(format_line_,
                   "format must be " + std::string(kRegistryFormat) + ", got '" + format + "'");
    }
    PROV_RETURN_IF_ERROR(CheckWithin(r));
    return r;
  }

 private:
  using Handler = std::function<Status(const YAML::Node&)>;
  using EntryReader = Status (Reader::*)(const YAML::Node&, pb::Record*);

  static int Line(const YAML::Node& n) { return n.Mark().line; }

  Status Error(int line0, const std::string& what) const {
    return verifier::InvalidArgument("BAD_REGISTRY", file_ + ":" + L(line0 + 1) + ": " + what);
  }

  static std::string Text(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    if (n.IsNull()) return "";
    std::ostringstream out;
    out << n;
    return out.str();
  }

  // Calls the handler of every key of mapping `m`; unknown and repeated keys
  // are mistakes, and so is a missing key of `required`.
  Status Keys(const YAML::Node& m, const std::string& where,
              const std::vector<std::string>& required,
              const std::vector<std::pair<std::string, Handler>>& handlers) {
    if (!m.IsMap()) return Error(Line(m), where + " must be a mapping of keys");
    std::map<std::string, int> seen;
    for (const auto& kv : m) {
      const std::string key = Text(kv.first);
      const int line = Line(kv.first);
      if (auto [it, fresh] = seen.emplace(key, line); !fresh) {
        return Error(line, "key '" + key + "' in " + where + " is repeated (first on line " +
                               L(it->second + 1) + ")");
      }
      auto h = std::find_if(handlers.begin(), handlers.end(),
                            [&](const auto& x) { return x.first == key; });
      if (h == handlers.end()) {
        std::string expected;
        for (const auto& x : handlers) expected += (expected.empty() ? "" : ", ") + x.first;
        return Error(
            line, "unknown key '" + key + "' in " + where + " (expected one of: " + expected + ")");
      }
      if (key == "format") format_line_ = Line(kv.second);
      if (Status s = h->second(kv.second); !s.ok()) return s;
    }
    for (const auto& k : required) {
      if (!seen.count(k)) return Error(Line(m), where + " needs '" + k + "'");
    }
    return Status::Ok();
  }

  Status Section(const YAML::Node& v, const std::string& name, EntryReader read,
                 std::vector<RegistryEntry>* out) {
    if (v.IsNull()) return Status::Ok();  // `rulings:` with nothing under it
    if (!v.IsSequence()) return Error(Line(v), name + " must be a list of entries");
    for (const auto& item : v) {
      RegistryEntry e;
      e.line = Line(item) + 1;
      if (!item.IsMap()) return Error(Line(item), "an entry of " + name + " must be a mapping");
      PROV_RETURN_IF_ERROR((this->*read)(item, &e.record));
      out->push_back(std::move(e));
    }
    return Status::Ok();
  }

  // --- scalars ---

  Status Str(const YAML::Node& v, const std::string& what, size_t max, std::string* out,
             bool may_be_empty = true) {
    if (!v.IsScalar()) return Error(Line(v), what + " must be text");
    if (!may_be_empty && v.Scalar().empty()) return Error(Line(v), what + " must not be empty");
    if (v.Scalar().size() > max) {
      return Error(Line(v), what + " is longer than " + std::to_string(max) + " bytes");
    }
    *out = v.Scalar();
    return Status::Ok();
  }

  // A name or alias: 1 to 128 bytes, no control characters.
  Status Name(const YAML::Node& v, const std::string& what, std::string* out) {
    PROV_RETURN_IF_ERROR(Str(v, what, 128, out, false));
    for (unsigned char c : *out) {
      if (c < 0x20 || c == 0x7f) return Error(Line(v), what + " has a control character");
    }
    return Status::Ok();
  }

  Status Source(const YAML::Node& v, std::string* out) {
    return Str(v, "source", 1024, out, false);
  }

  Status OrgId(const YAML::Node& v, const std::string& what, std::string* out) {
    static const std::regex kId("[a-z0-9][a-z0-9.-]{0,63}");
    if (!v.IsScalar() || !std::regex_match(v.Scalar(), kId)) {
      return Error(Line(v), what +
                                " must be an org id like 'acme-cam' ([a-z0-9][a-z0-9.-]*, at "
                                "most 64), got '" +
                                Text(v) + "'");
    }
    *out = v.Scalar();
    return Status::Ok();
  }

  Status LawCode(const YAML::Node& v, const std::string& what, std::string* out) {
    static const std::regex kCode("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    if (!v.IsScalar() || !std::regex_match(v.Scalar(), kCode)) {
      return Error(Line(v), what +
                                " must be a law code like 'CN-NIL-2017' "
                                "([A-Za-z0-9][A-Za-z0-9._-]*, at most 64), got '" +
                                Text(v) + "'");
    }
    *out = v.Scalar();
    return Status::Ok();
  }

  // An ISO 3166-1 alpha-2 code in Debian's iso-codes (as policies are
  // checked); a law's jurisdiction may also be EU, ISO's exceptionally
  // reserved code for the European Union.
  Status Country(const YAML::Node& v, const std::string& what, std::string* out,
                 bool allow_eu = false) {
    static const std::regex kCountry("[A-Z]{2}");
    const std::string s = Text(v);
    if (!v.IsScalar() || !std::regex_match(s, kCountry)) {
      return Error(Line(v), what +
                                " must be an ISO 3166-1 alpha-2 code (two capital letters), "
                                "got '" +
                                s + "'");
    }
    if (!(allow_eu && s == "EU")) {
      auto known = IsoCountries();
      if (!known.ok())
        return Error(Line(v), what + " cannot be checked: " + known.status().message());
      if (!known->count(s)) {
        std::vector<std::string> codes;
        for (const auto& [code, name] : *known) codes.push_back(code);
        return Error(Line(v), what + " '" + s + "' is not an ISO 3166-1 country code" +
                                  verifier::DidYouMean(verifier::Nearest(s, codes, 3)));
      }
    }
    *out = s;
    return Status::Ok();
  }

  Status Bool(const YAML::Node& v, const std::string& what, bool* out) {
    static const std::map<std::string, bool> kBools = {{"true", true},   {"True", true},
                                                       {"TRUE", true},   {"false", false},
                                                       {"False", false}, {"FALSE", false}};
    auto it = v.IsScalar() ? kBools.find(v.Scalar()) : kBools.end();
    if (it == kBools.end()) {
      return Error(Line(v), what + " must be true or false, got '" + Text(v) + "'");
    }
    *out = it->second;
    return Status::Ok();
  }

  Status Int(const YAML::Node& v, const std::string& what, uint32_t min, uint32_t max,
             const std::string& hint, uint32_t* out) {
    static const std::regex kInt("[0-9]{1,6}");
    const std::string s = Text(v);
    if (!v.IsScalar() || !std::regex_match(s, kInt) || std::stoul(s) < min || std::stoul(s) > max) {
      return Error(Line(v), what + " must be an integer from " + std::to_string(min) + " to " +
                                std::to_string(max) + hint + ", got '" + s + "'");
    }
    *out = static_cast<uint32_t>(std::stoul(s));
    return Status::Ok();
  }

  // YYYY-MM-DD, UTC midnight.
  Status Date(const YAML::Node& v, const std::string& what, int64_t* out) {
    const std::string s = Text(v);
    static const std::regex kDate("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    auto bad = [&] { return Error(Line(v), what + " must be a date YYYY-MM-DD, got '" + s + "'"); };
    if (!v.IsScalar() || !std::regex_match(s, kDate)) return bad();
    std::tm tm{};
    tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(s.substr(5, 2)) - 1;
    tm.tm_mday = std::stoi(s.substr(8, 2));
    const int year = tm.tm_year, mon = tm.tm_mon, day = tm.tm_mday;
    if (year < 70 || mon < 0 || mon > 11 || day < 1 || day > 31) return bad();
    const time_t t = timegm(&tm);
    std::tm check{};
    if (t == static_cast<time_t>(-1) || gmtime_r(&t, &check) == nullptr || check.tm_year != year ||
        check.tm_mon != mon || check.tm_mday != day) {
      return bad();  // e.g. 2024-02-30
    }
    *out = static_cast<int64_t>(t);
    return Status::Ok();
  }

  Status DateText(const YAML::Node& v, const std::string& what, std::string* out) {
    int64_t unused = 0;
    PROV_RETURN_IF_ERROR(Date(v, what, &unused));
    *out = v.Scalar();
    return Status::Ok();
  }

  // A list of distinct scalars, each read by `one`.
  Status List(const YAML::Node& v, const std::string& what,
              const std::function<Status(const YAML::Node&, std::string*)>& one,
              google::protobuf::RepeatedPtrField<std::string>* out) {
    if (!v.IsSequence()) return Error(Line(v), what + " must be a list, e.g. [a, b]");
    std::map<std::string, int> seen;
    for (const auto& item : v) {
      std::string s;
      PROV_RETURN_IF_ERROR(one(item, &s));
      if (auto [it, fresh] = seen.emplace(s, Line(item)); !fresh) {
        return Error(Line(item), what + ": '" + s + "' is listed twice (first on line " +
                                     L(it->second + 1) + ")");
      }
      out->Add(std::move(s));
    }
    return Status::Ok();
  }

  // `from` and `until` of an entry: until after from.
  Status CheckUntil(const YAML::Node& entry, int64_t from, int64_t until) {
    if (until != 0 && until <= from) {
      return Error(Line(entry["until"]), "inverted window: until " + UtcDate(until) +
                                             " must be after from " + UtcDate(from));
    }
    return Status::Ok();
  }

  Status Note(const YAML::Node& v) {
    std::string unused;
    return Str(v, "note", 1 << 16, &unused);
  }

  // --- entries ---

  Status Law(const YAML::Node& m, pb::Record* r) {
    auto* l = r->mutable_law();
    return Keys(
        m, "a law", {"code", "name", "jurisdiction", "source"},
        {{"code", [&](const YAML::Node& v) { return LawCode(v, "code", l->mutable_code()); }},
         {"name", [&](const YAML::Node& v) { return Name(v, "name", l->mutable_name()); }},
         {"jurisdiction",
          [&](const YAML::Node& v) {
            return Country(v, "jurisdiction", l->mutable_jurisdiction(), true);
          }},
         {"source", [&](const YAML::Node& v) { return Source(v, l->mutable_source()); }},
         {"note", [&](const YAML::Node& v) { return Note(v); }}});
  }

  Status Org(const YAML::Node& m, pb::Record* r) {
    auto* o = r->mutable_organization();
    return Keys(
        m, "an org", {"id", "name", "country", "source"},
        {{"id", [&](const YAML::Node& v) { return OrgId(v, "id", o->mutable_org_id()); }},
         {"name", [&](const YAML::Node& v) { return Name(v, "name", o->mutable_legal_name()); }},
         {"country",
          [&](const YAML::Node& v) { return Country(v, "country", o->mutable_country()); }},
         {"laws",
          [&](const YAML::Node& v) {
            return List(
                v, "laws",
                [&](const YAML::Node& x, std::string* s) { return LawCode(x, "a law", s); },
                o->mutable_laws());
          }},
         {"state_owned",
          [&](const YAML::Node& v) {
            bool b = false;
            PROV_RETURN_IF_ERROR(Bool(v, "state_owned", &b));
            o->set_state_owned(b);
            return Status::Ok();
          }},
         {"aliases",
          [&](const YAML::Node& v) {
            return List(
                v, "aliases",
                [&](const YAML::Node& x, std::string* s) { return Name(x, "an alias", s); },
                o->mutable_aliases());
          }},
         {"source", [&](const YAML::Node& v) { return Source(v, o->mutable_source()); }},
         {"note", [&](const YAML::Node& v) { return Note(v); }}});
  }

  Status Fact(const YAML::Node& m, pb::Record* r) {
    auto* f = r->mutable_org_fact();
    int64_t from = 0, until = 0;
    int topics = 0;
    PROV_RETURN_IF_ERROR(
        Keys(m, "a fact", {"org", "from", "source"},
             {{"org", [&](const YAML::Node& v) { return OrgId(v, "org", f->mutable_org_id()); }},
              {"country",
               [&](const YAML::Node& v) {
                 ++topics;
                 return Country(v, "country", f->mutable_country());
               }},
              {"law",
               [&](const YAML::Node& v) {
                 ++topics;
                 return LawCode(v, "law", f->mutable_law());
               }},
              {"state_owned",
               [&](const YAML::Node& v) {
                 ++topics;
                 bool b = false;
                 PROV_RETURN_IF_ERROR(Bool(v, "state_owned", &b));
                 f->set_state_owned(b);
                 return Status::Ok();
               }},
              {"from", [&](const YAML::Node& v) { return Date(v, "from", &from); }},
              {"until", [&](const YAML::Node& v) { return Date(v, "until", &until); }},
              {"source", [&](const YAML::Node& v) { return Source(v, f->mutable_source()); }},
              {"note", [&](const YAML::Node& v) { return Note(v); }}}));
    if (topics != 1) {
      return Error(Line(m),
                   "a fact states exactly one of country, law and state_owned (this "
                   "one states " +
                       std::to_string(topics) + ")");
    }
    PROV_RETURN_IF_ERROR(CheckUntil(m, from, until));
    f->set_valid_from(from);
    f->set_valid_until(until);
    return Status::Ok();
  }

  Status Stake(const YAML::Node& m, pb::Record* r) {
    auto* w = r->mutable_ownership();
    int64_t from = 0, until = 0;
    PROV_RETURN_IF_ERROR(Keys(
        m, "an ownership entry", {"owner", "owned", "stake_bp", "from", "source"},
        {{"owner", [&](const YAML::Node& v) { return OrgId(v, "owner", w->mutable_owner_org()); }},
         {"owned", [&](const YAML::Node& v) { return OrgId(v, "owned", w->mutable_owned_org()); }},
         {"stake_bp",
          [&](const YAML::Node& v) {
            uint32_t bp = 0;
            PROV_RETURN_IF_ERROR(Int(v, "stake_bp", 0, 10000, " (basis points: 2500 = 25 %)", &bp));
            w->set_stake_bp(bp);
            return Status::Ok();
          }},
         {"control",
          [&](const YAML::Node& v) {
            bool b = false;
            PROV_RETURN_IF_ERROR(Bool(v, "control", &b));
            w->set_control(b);
            return Status::Ok();
          }},
         {"from", [&](const YAML::Node& v) { return Date(v, "from", &from); }},
         {"until", [&](const YAML::Node& v) { return Date(v, "until", &until); }},
         {"source", [&](const YAML::Node& v) { return Source(v, w->mutable_source()); }},
         {"note", [&](const YAML::Node& v) { return Note(v); }}}));
    if (w->owner_org() == w->owned_org()) {
      return Error(Line(m["owned"]), "an org cannot own itself (" + w->owner_org() + ")");
    }
    PROV_RETURN_IF_ERROR(CheckUntil(m, from, until));
    w->set_valid_from(from);
    w->set_valid_until(until);
    return Status::Ok();
  }

  Status NoOwner(const YAML::Node& m, pb::Record* r) {
    auto* n = r->mutable_no_registrable_owner();
    int64_t from = 0, until = 0;
    PROV_RETURN_IF_ERROR(
        Keys(m, "a no_registrable_owner entry", {"org", "threshold_bp", "from", "source"},
             {{"org", [&](const YAML::Node& v) { return OrgId(v, "org", n->mutable_org_id()); }},
              {"threshold_bp",
               [&](const YAML::Node& v) {
                 uint32_t bp = 0;
                 PROV_RETURN_IF_ERROR(
                     Int(v, "threshold_bp", 1, 10000, " (basis points: 2500 = 25 %)", &bp));
                 n->set_threshold_bp(bp);
                 return Status::Ok();
               }},
              {"from", [&](const YAML::Node& v) { return Date(v, "from", &from); }},
              {"until", [&](const YAML::Node& v) { return Date(v, "until", &until); }},
              {"source", [&](const YAML::Node& v) { return Source(v, n->mutable_source()); }},
              {"note", [&](const YAML::Node& v) { return Note(v); }}}));
    PROV_RETURN_IF_ERROR(CheckUntil(m, from, until));
    n->set_valid_from(from);
    n->set_valid_until(until);
    return Status::Ok();
  }

  Status Ruling(const YAML::Node& m, pb::Record* r) {
    auto* u = r->mutable_ruling();
    return Keys(m, "a ruling", {"org", "law", "subject", "source"},
                {{"org", [&](const YAML::Node& v) { return OrgId(v, "org", u->mutable_org_id()); }},
                 {"law", [&](const YAML::Node& v) { return LawCode(v, "law", u->mutable_law()); }},
                 {"subject",
                  [&](const YAML::Node& v) {
                    bool b = false;
                    PROV_RETURN_IF_ERROR(Bool(v, "subject", &b));
                    u->set_subject(b);
                    return Status::Ok();
                  }},
                 {"source", [&](const YAML::Node& v) { return Source(v, u->mutable_source()); }},
                 {"reasoning", [&](const YAML::Node& v) {
                    return Str(v, "reasoning", 4096, u->mutable_reasoning());
                  }}});
  }

  // --- the file's entries against each other ---

  Status Conflict(const std::string& reason, int line, const std::string& what) const {
    return verifier::InvalidArgument(reason, file_ + ":" + L(line) + ": " + what);
  }

  Status CheckWithin(const Registry& r) const {
    std::map<std::string, int> laws, orgs, rulings;
    for (const auto& e : r.laws) {
      const auto& code = e.record.law().code();
      if (auto [it, fresh] = laws.emplace(code, e.line); !fresh) {
        return Conflict("BAD_REGISTRY", e.line,
                        "law " + code + " is defined twice (first on line " + L(it->second) + ")");
      }
    }
    for (const auto& e : r.orgs) {
      const auto& id = e.record.organization().org_id();
      if (auto [it, fresh] = orgs.emplace(id, e.line); !fresh) {
        return Conflict("BAD_REGISTRY", e.line,
                        "org " + id + " is defined twice (first on line " + L(it->second) + ")");
      }
    }
    for (const auto& e : r.rulings) {
      const auto& u = e.record.ruling();
      if (auto [it, fresh] = rulings.emplace(u.org_id() + " " + u.law(), e.line); !fresh) {
        return Conflict("BAD_REGISTRY", e.line,
                        "the ruling on " + u.org_id() + " under " + u.law() +
                            " is given twice (first on line " + L(it->second) + ")");
      }
    }
    // A law both undated (the org's `laws`) and dated (a fact).
    for (const auto& f : r.facts) {
      const auto& fact = f.record.org_fact();
      if (!fact.has_law()) continue;
      for (const auto& o : r.orgs) {
        const auto& org = o.record.organization();
        if (org.org_id() != fact.org_id()) continue;
        if (std::find(org.laws().begin(), org.laws().end(), fact.law()) != org.laws().end()) {
          return Conflict("FACT_OVERLAPS", f.line,
                          "the fact dates law " + fact.law() + " for " + fact.org_id() +
                              ", but the org on line " + L(o.line) +
                              " lists it in `laws` (binding at all times): keep one of them");
        }
      }
    }
    // Windows of the same topic never overlap.
    for (size_t i = 0; i < r.facts.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const auto &a = r.facts[j].record.org_fact(), &b = r.facts[i].record.org_fact();
        if (a.org_id() != b.org_id() || FactTopic(a) != FactTopic(b)) continue;
        if (verifier::Overlaps(a.valid_from(), a.valid_until(), b.valid_from(), b.valid_until())) {
          return Conflict("FACT_OVERLAPS", r.facts[i].line,
                          "the " + FactTopic(b) + " of " + b.org_id() + " " +
                              Window(b.valid_from(), b.valid_until()) +
                              " overlaps the fact on line " + L(r.facts[j].line) + " (" +
                              Window(a.valid_from(), a.valid_until()) + ")");
        }
      }
    }
    for (size_t i = 0; i < r.ownership.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const auto &a = r.ownership[j].record.ownership(), &b = r.ownership[i].record.ownership();
        if (a.owner_org() != b.owner_org() || a.owned_org() != b.owned_org()) continue;
        if (verifier::Overlaps(a.valid_from(), a.valid_until(), b.valid_from(), b.valid_until())) {
          return Conflict("OWNERSHIP_OVERLAPS", r.ownership[i].line,
                          "the stake of " + b.owner_org() + " in " + b.owned_org() + " " +
                              Window(b.valid_from(), b.valid_until()) +
                              " overlaps the stake on line " + L(r.ownership[j].line) + " (" +
                              Window(a.valid_from(), a.valid_until()) + ")");
        }
      }
    }
    for (size_t i = 0; i < r.no_owner.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const auto &a = r.no_owner[j].record.no_registrable_owner(),
                   &b = r.no_owner[i].record.no_registrable_owner();
        if (a.org_id() != b.org_id()) continue;
        if (verifier::Overlaps(a.valid_from(), a.valid_until(), b.valid_from(), b.valid_until())) {
          return Conflict("FACT_OVERLAPS", r.no_owner[i].line,
                          "the no-registrable-owner statement for " + b.org_id() + " " +
                              Window(b.valid_from(), b.valid_until()) +
                              " overlaps the statement on line " + L(r.no_owner[j].line) + " (" +
                              Window(a.valid_from(), a.valid_until()) + ")");
        }
      }
    }
    for (const auto& s : r.ownership) {
      const auto& w = s.record.ownership();
      for (const auto& n : r.no_owner) {
        const auto& x = n.record.no_registrable_owner();
        if (x.org_id() != w.owned_org() || !Contradicts(w, x)) continue;
        return Conflict("CONTRADICTS_OWNERSHIP", s.line,
                        StakeWords(w) + " contradicts the statement on line " + L(n.line) + " (" +
                            NoOwnerWords(x) + ")");
      }
    }
    return Status::Ok();
  }

 public:
  static std::string FactTopic(const pb::OrgFact& f) {
    if (f.has_law()) return "law " + f.law();
    return f.has_country() ? "country" : "state ownership";
  }
  static bool Contradicts(const pb::Ownership& w, const pb::NoRegistrableOwner& n) {
    return (w.stake_bp() >= n.threshold_bp() || w.control()) &&
           verifier::Overlaps(w.valid_from(), w.valid_until(), n.valid_from(), n.valid_until());
  }
  static std::string StakeWords(const pb::Ownership& w) {
    return "the stake of " + w.owner_org() + " in " + w.owned_org() + " (" +
           std::to_string(w.stake_bp()) + " bp" + (w.control() ? ", with control" : "") + ", " +
           Window(w.valid_from(), w.valid_until()) + ")";
  }
  static std::string NoOwnerWords(const pb::NoRegistrableOwner& n) {
    return "no owner of " + n.org_id() + " at or above " + std::to_string(n.threshold_bp()) +
           " bp " + Window(n.valid_from(), n.valid_until());
  }

 private:
  std::string file_;
  int format_line_ = 0;
};

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

std::string Idx(uint64_t i) { return "#" + std::to_string(i); }

// Whether a correction's window lies within the window it corrects (it
// frees room other records may need).
bool Shrinks(int64_t old_until, int64_t new_until) {
  return new_until != 0 && (old_until == 0 || new_until <= old_until);
}

// Plans one file against the ledger's state.
class Planner {
 public:
  Planner(const Registry& r, const verifier::StateView& ledger, uint64_t size)
      : r_(r), ledger_(ledger), size_(size) {}

  Result<ImportPlan> Plan(int64_t issued_at) {
    PROV_RETURN_IF_ERROR(LoadLedger());
    PROV_RETURN_IF_ERROR(CheckReferences());
    PROV_RETURN_IF_ERROR(CheckUndatedLaws());
    // Facts, stakes and no-owner statements: same identity as a ledger
    // entry (equal: nothing to log; else a correction), and no overlap with
    // the ledger entries the file leaves as they are.
    std::vector<Item> facts, stakes, no_owner;
    for (const auto& e : r_.facts) {
      const auto& f = e.record.org_fact();
      Item it{&e};
      for (const auto& x : orgs_.at(f.org_id()).facts()) {
        if (Reader::FactTopic(x.fact()) != Reader::FactTopic(f)) continue;
        if (x.fact().valid_from() == f.valid_from()) {
          Match(&it, Same(x.fact(), f), x.index(), x.fact().valid_until(), f.valid_until());
        } else if (!Corrected(x.fact(), x.fact().valid_from()) &&
                   verifier::Overlaps(x.fact().valid_from(), x.fact().valid_until(), f.valid_from(),
                                      f.valid_until())) {
          return Conflict("FACT_OVERLAPS", e.line,
                          "the " + Reader::FactTopic(f) + " of " + f.org_id() + " " +
                              Window(f.valid_from(), f.valid_until()) + " overlaps org fact " +
                              Idx(x.index()) + " in the ledger (" +
                              Window(x.fact().valid_from(), x.fact().valid_until()) +
                              "); correct that one in the file (same from) to close its window");
        }
      }
      facts.push_back(it);
    }
    for (const auto& e : r_.ownership) {
      const auto& w = e.record.ownership();
      Item it{&e};
      for (const auto& x : orgs_.at(w.owned_org()).owners()) {
        if (x.stake().owner_org() != w.owner_org()) continue;
        if (x.stake().valid_from() == w.valid_from()) {
          Match(&it, Same(x.stake(), w), x.index(), x.stake().valid_until(), w.valid_until());
        } else if (!StakeCorrected(x.stake()) &&
                   verifier::Overlaps(x.stake().valid_from(), x.stake().valid_until(),
                                      w.valid_from(), w.valid_until())) {
          return Conflict("OWNERSHIP_OVERLAPS", e.line,
                          "the stake of " + w.owner_org() + " in " + w.owned_org() + " " +
                              Window(w.valid_from(), w.valid_until()) + " overlaps ownership " +
                              Idx(x.index()) + " in the ledger (" +
                              Window(x.stake().valid_from(), x.stake().valid_until()) +
                              "); correct that one in the file (same from) to close its window");
        }
      }
      stakes.push_back(it);
    }
    for (const auto& e : r_.no_owner) {
      const auto& n = e.record.no_registrable_owner();
      Item it{&e};
      for (const auto& x : orgs_.at(n.org_id()).no_owner()) {
        if (x.statement().valid_from() == n.valid_from()) {
          Match(&it, Same(x.statement(), n), x.index(), x.statement().valid_until(),
                n.valid_until());
        } else if (!NoOwnerCorrected(x.statement()) &&
                   verifier::Overlaps(x.statement().valid_from(), x.statement().valid_until(),
                                      n.valid_from(), n.valid_until())) {
          return Conflict("FACT_OVERLAPS", e.line,
                          "the no-registrable-owner statement for " + n.org_id() + " " +
                              Window(n.valid_from(), n.valid_until()) + " overlaps statement " +
                              Idx(x.index()) + " in the ledger (" +
                              Window(x.statement().valid_from(), x.statement().valid_until()) +
                              "); correct that one in the file (same from) to close its window");
        }
      }
      no_owner.push_back(it);
    }
    PROV_RETURN_IF_ERROR(CheckContradictions());

    ImportPlan plan;
    auto add = [&](const RegistryEntry& e, bool unchanged, PlannedRecord::Action action,
                   uint64_t replaces) {
      if (unchanged) {
        plan.unchanged.push_back(e.line);
        return;
      }
      PlannedRecord p;
      p.line = e.line;
      p.record = e.record;
      p.record.set_issued_at(issued_at);
      p.action = action;
      p.replaces = replaces;
      Describe(&p);
      plan.records.push_back(std::move(p));
    };
    using A = PlannedRecord::Action;
    for (const auto& e : r_.laws) {
      auto it = laws_.find(e.record.law().code());
      if (it == laws_.end()) {
        add(e, false, A::kNew, 0);
      } else {
        const auto& ls = it->second;
        add(e, Same(ls.current(), e.record.law()), A::kSupersedes,
            ls.record_indices().empty() ? 0 : ls.record_indices().rbegin()[0]);
      }
    }
    for (const auto& e : r_.orgs) {
      const auto& os = orgs_.at(e.record.organization().org_id());
      if (!os.has_current()) {
        add(e, false, A::kNew, 0);
      } else {
        add(e, Same(os.current(), e.record.organization()), A::kSupersedes, os.latest_index());
      }
    }
    // Within a section, corrections that shorten a window go first.
    auto section = [&](const std::vector<Item>& items, bool shrinking) {
      for (const auto& it : items) {
        if (it.unchanged || it.shrinks != shrinking) continue;
        add(*it.entry, false, it.corrects ? A::kCorrects : A::kNew, it.replaces);
      }
    };
    auto unchanged = [&](const std::vector<Item>& items) {
      for (const auto& it : items) {
        if (it.unchanged) plan.unchanged.push_back(it.entry->line);
      }
    };
    section(facts, true);
    section(facts, false);
    section(no_owner, true);  // before the stakes it may have ruled out
    section(stakes, true);
    section(stakes, false);
    section(no_owner, false);
    unchanged(facts);
    unchanged(stakes);
    unchanged(no_owner);
    for (const auto& e : r_.rulings) {
      const auto& u = e.record.ruling();
      const pb::RulingEntry* current = nullptr;
      for (const auto& x : orgs_.at(u.org_id()).rulings()) {
        if (x.ruling().law() == u.law()) current = &x;
      }
      if (!current) {
        add(e, false, A::kNew, 0);
      } else {
        add(e, Same(current->ruling(), u), A::kSupersedes, current->index());
      }
    }
    std::sort(plan.unchanged.begin(), plan.unchanged.end());
    PROV_RETURN_IF_ERROR(Simulate(plan));
    return plan;
  }

 private:
  struct Item {
    const RegistryEntry* entry;
    bool unchanged = false, corrects = false, shrinks = false;
    uint64_t replaces = 0;
  };

  static void Match(Item* it, bool same, uint64_t index, int64_t old_until, int64_t new_until) {
    it->unchanged = same;
    it->corrects = !same;
    it->replaces = index;
    it->shrinks = !same && Shrinks(old_until, new_until);
  }

  Status Conflict(const std::string& reason, int line, const std::string& what) const {
    return verifier::InvalidArgument(reason, r_.file + ":" + L(line) + ": " + what);
  }

  // Whether the file holds an entry with the same identity as a ledger
  // entry (which the file then replaces).
  bool Corrected(const pb::OrgFact& x, int64_t from) const {
    for (const auto& e : r_.facts) {
      const auto& f = e.record.org_fact();
      if (f.org_id() == x.org_id() && Reader::FactTopic(f) == Reader::FactTopic(x) &&
          f.valid_from() == from) {
        return true;
      }
    }
    return false;
  }
  bool StakeCorrected(const pb::Ownership& x) const { return FileStake(x) != nullptr; }
  const RegistryEntry* FileStake(const pb::Ownership& x) const {
    for (const auto& e : r_.ownership) {
      const auto& w = e.record.ownership();
      if (w.owner_org() == x.owner_org() && w.owned_org() == x.owned_org() &&
          w.valid_from() == x.valid_from()) {
        return &e;
      }
    }
    return nullptr;
  }
  bool NoOwnerCorrected(const pb::NoRegistrableOwner& x) const {
    for (const auto& e : r_.no_owner) {
      const auto& n = e.record.no_registrable_owner();
      if (n.org_id() == x.org_id() && n.valid_from() == x.valid_from()) return true;
    }
    return false;
  }

  Status LoadLedger() {
    auto org = [&](const std::string& id) -> Status {
      if (orgs_.count(id)) return Status::Ok();
      pb::OrgState os;
      PROV_ASSIGN_OR_RETURN(bool found,
                            verifier::GetMessage(ledger_, verifier::state_key::Org(id), &os));
      if (found) in_ledger_.insert(id);
      orgs_.emplace(id, std::move(os));
      return Status::Ok();
    };
    auto law = [&](const std::string& code) -> Status {
      if (laws_.count(code) || missing_laws_.count(code)) return Status::Ok();
      pb::LawState ls;
      PROV_ASSIGN_OR_RETURN(bool found,
                            verifier::GetMessage(ledger_, verifier::state_key::Law(code), &ls));
      if (found) {
        laws_.emplace(code, std::move(ls));
      } else {
        missing_laws_.insert(code);
      }
      return Status::Ok();
    };
    for (const auto& e : r_.laws) PROV_RETURN_IF_ERROR(law(e.record.law().code()));
    for (const auto& e : r_.orgs) {
      PROV_RETURN_IF_ERROR(org(e.record.organization().org_id()));
      for (const auto& l : e.record.organization().laws()) PROV_RETURN_IF_ERROR(law(l));
      file_orgs_[e.record.organization().org_id()] = &e;
    }
    for (const auto& e : r_.facts) {
      PROV_RETURN_IF_ERROR(org(e.record.org_fact().org_id()));
      if (e.record.org_fact().has_law()) PROV_RETURN_IF_ERROR(law(e.record.org_fact().law()));
    }
    for (const auto& e : r_.ownership) {
      PROV_RETURN_IF_ERROR(org(e.record.ownership().owner_org()));
      PROV_RETURN_IF_ERROR(org(e.record.ownership().owned_org()));
    }
    for (const auto& e : r_.no_owner) {
      PROV_RETURN_IF_ERROR(org(e.record.no_registrable_owner().org_id()));
    }
    for (const auto& e : r_.rulings) {
      PROV_RETURN_IF_ERROR(org(e.record.ruling().org_id()));
      PROV_RETURN_IF_ERROR(law(e.record.ruling().law()));
    }
    for (const auto& e : r_.laws) file_laws_.insert(e.record.law().code());
    return Status::Ok();
  }

  std::string Where() const {
    return "defined neither in this file nor in the ledger (tree size " + std::to_string(size_) +
           ")";
  }

  Status Org(int line, const std::string& id, const std::string& what) const {
    if (in_ledger_.count(id) || file_orgs_.count(id)) return Status::Ok();
    std::vector<std::string> ids;
    for (const auto& [k, v] : file_orgs_) ids.push_back(k);
    return Conflict(
        "UNKNOWN_ORG", line,
        what + " " + id + " is " + Where() + verifier::DidYouMean(verifier::Nearest(id, ids)));
  }
  Status Law(int line, const std::string& code, const std::string& what) const {
    if (laws_.count(code) || file_laws_.count(code)) return Status::Ok();
    return Conflict(
        "DANGLING_REFERENCE", line,
        what + " names law " + code + ", which is " + Where() + ": add it under `laws`");
  }

  Status CheckReferences() const {
    for (const auto& e : r_.orgs) {
      const auto& o = e.record.organization();
      for (const auto& l : o.laws()) PROV_RETURN_IF_ERROR(Law(e.line, l, "org " + o.org_id()));
    }
    for (const auto& e : r_.facts) {
      const auto& f = e.record.org_fact();
      PROV_RETURN_IF_ERROR(Org(e.line, f.org_id(), "the fact's org"));
      if (f.has_law()) PROV_RETURN_IF_ERROR(Law(e.line, f.law(), "the fact for " + f.org_id()));
    }
    for (const auto& e : r_.ownership) {
      const auto& w = e.record.ownership();
      PROV_RETURN_IF_ERROR(Org(e.line, w.owner_org(), "the owner"));
      PROV_RETURN_IF_ERROR(Org(e.line, w.owned_org(), "the owned org"));
    }
    for (const auto& e : r_.no_owner) {
      PROV_RETURN_IF_ERROR(Org(e.line, e.record.no_registrable_owner().org_id(), "the org"));
    }
    for (const auto& e : r_.rulings) {
      const auto& u = e.record.ruling();
      PROV_RETURN_IF_ERROR(Org(e.line, u.org_id(), "the ruled org"));
      PROV_RETURN_IF_ERROR(Law(e.line, u.law(), "the ruling on " + u.org_id()));
    }
    return Status::Ok();
  }

  // A law binds an org either at all times (its record's `laws`) or in
  // dated windows (facts), never both: the file's org records against the
  // ledger's dated facts, and the file's dated facts against the ledger's
  // org record when the file does not supersede it.
  Status CheckUndatedLaws() const {
    for (const auto& e : r_.orgs) {
      const auto& o = e.record.organization();
      for (const auto& x : orgs_.at(o.org_id()).facts()) {
        if (!x.fact().has_law()) continue;
        if (std::find(o.laws().begin(), o.laws().end(), x.fact().law()) == o.laws().end()) {
          continue;
        }
        return Conflict("FACT_OVERLAPS", e.line,
                        "org " + o.org_id() + " lists law " + x.fact().law() +
                            " as binding at all times, but org fact " + Idx(x.index()) +
                            " in the ledger dates it (" +
                            Window(x.fact().valid_from(), x.fact().valid_until()) +
                            "): leave it out of `laws`");
      }
    }
    for (const auto& e : r_.facts) {
      const auto& f = e.record.org_fact();
      if (!f.has_law() || file_orgs_.count(f.org_id())) continue;
      const auto& os = orgs_.at(f.org_id());
      const auto& laws = os.current().laws();
      if (std::find(laws.begin(), laws.end(), f.law()) != laws.end()) {
        return Conflict("FACT_OVERLAPS", e.line,
                        "the fact dates law " + f.law() + " for " + f.org_id() +
                            ", but organization " + Idx(os.latest_index()) +
                            " in the ledger lists it as binding at all times: add the org to "
                            "the file without it (its record supersedes)");
      }
    }
    return Status::Ok();
  }

  // Stakes against no-owner statements, as they will stand: the file's
  // entries, and the ledger's the file does not correct.
  Status CheckContradictions() const {
    for (const auto& e : r_.ownership) {
      const auto& w = e.record.ownership();
      for (const auto& x : orgs_.at(w.owned_org()).no_owner()) {
        if (NoOwnerCorrected(x.statement()) || !Reader::Contradicts(w, x.statement())) continue;
        return Conflict("CONTRADICTS_OWNERSHIP", e.line,
                        Reader::StakeWords(w) + " contradicts statement " + Idx(x.index()) +
                            " in the ledger (" + Reader::NoOwnerWords(x.statement()) + ")");
      }
    }
    for (const auto& e : r_.no_owner) {
      const auto& n = e.record.no_registrable_owner();
      for (const auto& x : orgs_.at(n.org_id()).owners()) {
        if (StakeCorrected(x.stake()) || !Reader::Contradicts(x.stake(), n)) continue;
        return Conflict("CONTRADICTS_OWNERSHIP", e.line,
                        Reader::NoOwnerWords(n) + " contradicts ownership " + Idx(x.index()) +
                            " in the ledger: " + Reader::StakeWords(x.stake()));
      }
    }
    return Status::Ok();
  }

  static void Describe(PlannedRecord* p) {
    const pb::Record& r = p->record;
    switch (r.kind_case()) {
      case pb::Record::kLaw:
        p->label = "law " + r.law().code();
        p->name = "law-" + r.law().code();
        break;
      case pb::Record::kOrganization:
        p->label = "organization " + r.organization().org_id();
        p->name = "org-" + r.organization().org_id();
        break;
      case pb::Record::kOrgFact: {
        const auto& f = r.org_fact();
        std::string what = f.has_country() ? "country " + f.country()
                           : f.has_law()
                               ? "law " + f.law()
                               : std::string("state-owned ") + (f.state_owned() ? "yes" : "no");
        std::string topic = f.has_country() ? "country"
                            : f.has_law()   ? "law-" + f.law()
                                            : "state-owned";
        p->label =
            "org fact " + f.org_id() + " " + what + " " + Window(f.valid_from(), f.valid_until());
        p->name = "fact-" + f.org_id() + "-" + topic + "-" + UtcDate(f.valid_from());
        break;
      }
      case pb::Record::kOwnership: {
        const auto& w = r.ownership();
        p->label = "ownership " + w.owner_org() + " in " + w.owned_org() + " " +
                   std::to_string(w.stake_bp()) + " bp" + (w.control() ? " with control" : "") +
                   " " + Window(w.valid_from(), w.valid_until());
        p->name = "stake-" + w.owner_org() + "-" + w.owned_org() + "-" + UtcDate(w.valid_from());
        break;
      }
      case pb::Record::kNoRegistrableOwner: {
        const auto& n = r.no_registrable_owner();
        p->label = "no-registrable-owner " + n.org_id() + " (" + std::to_string(n.threshold_bp()) +
                   " bp) " + Window(n.valid_from(), n.valid_until());
        p->name = "no-owner-" + n.org_id() + "-" + UtcDate(n.valid_from());
        break;
      }
      case pb::Record::kRuling: {
        const auto& u = r.ruling();
        p->label = "ruling " + u.org_id() + " " +
                   (u.subject() ? "subject to " : "not subject to ") + u.law();
        p->name = "ruling-" + u.org_id() + "-" + u.law();
        break;
      }
      default:
        p->label = verifier::RecordKindName(r);
        p->name = "record";
    }
  }

  // Every planned record through the rulebook over a copy of the ledger's
  // state, as if signed by the genesis authority threshold: what the ledger
  // would refuse is refused here, before anything is logged.
  Status Simulate(const ImportPlan& plan) const {
    if (plan.records.empty()) return Status::Ok();
    PROV_ASSIGN_OR_RETURN(pb::AuthorityState current, verifier::CurrentAuthorities(ledger_));
    const pb::AuthoritySet& g = current.set();
    std::vector<verifier::PublicKey> authorities;
    for (const auto& a : g.authority_keys()) {
      if (authorities.size() >= g.threshold() || a.public_key().size() != 32) continue;
      verifier::PublicKey k;
      std::copy(a.public_key().begin(), a.public_key().end(), k.begin());
      authorities.push_back(k);
    }
    const auto throwaway = verifier::SigningKey::Generate();
    const verifier::SigningKey* keys[] = {&throwaway};
    verifier::StateOverlay sim(&ledger_);
    for (size_t i = 0; i < plan.records.size(); ++i) {
      const PlannedRecord& p = plan.records[i];
      auto prepared = verifier::PrepareRecord(
          verifier::SignRecord(p.record.SerializeAsString(), keys).SerializeAsString());
      Status s = prepared.status();
      if (s.ok()) {
        prepared->signers = authorities;
        s = verifier::ApplyPrepared(sim, *prepared, size_ + i);
      }
      if (!s.ok()) {
        return Conflict(s.reason(), p.line,
                        "the ledger would refuse " + p.label + ": " + s.message());
      }
    }
    return Status::Ok();
  }

  const Registry& r_;
  const verifier::StateView& ledger_;
  uint64_t size_;
  std::map<std::string, pb::OrgState> orgs_;  // every org the file names (empty if unknown)
  std::set<std::string> in_ledger_;
  std::map<std::string, pb::LawState> laws_;  // the ledger's, of the laws the file names
  std::set<std::string> missing_laws_, file_laws_;
  std::map<std::string, const RegistryEntry*> file_orgs_;
};

}  // namespace

Result<Registry> ParseRegistry(const std::string& yaml_text, const std::string& file_name) {
  return Reader(file_name).Read(yaml_text);
}

Result<Registry> LoadRegistry(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return verifier::NotFound("NO_FILE", "cannot read registry file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParseRegistry(text.str(), path);
}

Result<ImportPlan> PlanImport(const Registry& r, const verifier::StateView& ledger,
                              uint64_t ledger_size, int64_t issued_at) {
  return Planner(r, ledger, ledger_size).Plan(issued_at);
}

std::string ActionText(const PlannedRecord& p) {
  switch (p.action) {
    case PlannedRecord::Action::kNew:
      return "new";
    case PlannedRecord::Action::kSupersedes:
      return "supersedes #" + std::to_string(p.replaces);
    case PlannedRecord::Action::kCorrects:
      return "corrects #" + std::to_string(p.replaces);
  }
  return "";
}

}  // namespace client
