#include "client/policy_file.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <ctime>
#include <sstream>

#include "verifier/suggest.h"

namespace client {
namespace {

using verifier::Policy;
using verifier::Result;
using verifier::Role;
using verifier::Status;

// Reads one YAML document into a Policy, remembering where each mistake is.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Result<Policy> Read(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Error(e.mark.line, "not valid YAML: " + e.msg);
    }
    if (!root.IsDefined() || root.IsNull()) return Error(0, "the policy file is empty");
    if (!root.IsMap()) return Error(Line(root), "the top level must be a mapping of keys");
    Policy p;
    bool has_name = false;
    Status s = Keys(root, "top level",
                    {{"name", [&](const YAML::Node& v) {
                        has_name = true;
                        return Name(v, &p.name);
                      }},
                     {"source", [&](const YAML::Node& v) { return Str(v, "source", &p.source); }},
                     {"deny", [&](const YAML::Node& v) { return Deny(v, &p); }},
                     {"applies_to", [&](const YAML::Node& v) { return AppliesTo(v, &p); }},
                     {"owners", [&](const YAML::Node& v) { return Owners(v, &p); }},
                     {"require", [&](const YAML::Node& v) { return Require(v, &p); }},
                     {"missing_facts", [&](const YAML::Node& v) { return MissingFacts(v, &p); }},
                     {"judge_ownership_at", [&](const YAML::Node& v) { return When(v, &p); }},
                     {"scope", [&](const YAML::Node& v) { return Scope(v, &p); }},
                     {"needs_ruling", [&](const YAML::Node& v) { return NeedsRuling(v, &p); }}});
    if (!s.ok()) return s;
    for (const auto& [law, line] : ruling_laws_) {
      if (!p.denied_laws.count(law)) {
        return Error(line, "needs_ruling: law '" + law +
                               "' is not in deny.laws, so a ruling on it would change nothing");
      }
    }
    if (!has_name) return Error(Line(root), "the policy needs a `name`");
    if (p.affiliates && (!p.include_owners || p.denied_orgs.empty())) {
      return Error(affiliates_line_,
                   "owners.affiliates needs owners.include and at least one deny.orgs entry");
    }
    if (p.denied_laws.empty() && p.denied_countries.empty() && p.denied_orgs.empty() &&
        !p.state_owned_counts) {
      return Error(Line(root),
                   "the policy denies nothing: give deny.laws, deny.countries or deny.orgs");
    }
    return p;
  }

 private:
  using Handler = std::function<Status(const YAML::Node&)>;

  static int Line(const YAML::Node& n) { return n.Mark().line; }

  int affiliates_line_ = 0;
  std::vector<std::pair<std::string, int>> ruling_laws_;  // needs_ruling laws and their lines

  Status Error(int line0, const std::string& what) const {
    return verifier::InvalidArgument("BAD_POLICY",
                                     file_ + ":" + std::to_string(line0 + 1) + ": " + what);
  }

  static std::string Text(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    std::ostringstream out;
    out << n;
    return out.str();
  }

  // Calls the handler of every key of mapping `m`; unknown and repeated keys
  // are mistakes.
  Status Keys(const YAML::Node& m, const std::string& where,
              const std::vector<std::pair<std::string, Handler>>& handlers) {
    if (!m.IsMap()) return Error(Line(m), where + " must be a mapping of keys");
    std::map<std::string, int> seen;
    for (const auto& kv : m) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : Text(kv.first);
      const int line = Line(kv.first);
      if (auto [it, fresh] = seen.emplace(key, line); !fresh) {
        return Error(line, "key '" + key + "' under " + where + " is repeated (first on line " +
                               std::to_string(it->second + 1) + ")");
      }
      auto h = std::find_if(handlers.begin(), handlers.end(),
                            [&](const auto& x) { return x.first == key; });
      if (h == handlers.end()) {
        std::string expected;
        for (const auto& x : handlers) expected += (expected.empty() ? "" : ", ") + x.first;
        return Error(line, "unknown key '" + key + "' under " + where + " (expected one of: " +
                               expected + ")");
      }
      if (Status s = h->second(kv.second); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status Str(const YAML::Node& v, const std::string& what, std::string* out) {
    if (!v.IsScalar()) return Error(Line(v), what + " must be text");
    *out = v.Scalar();
    return Status::Ok();
  }

  Status Name(const YAML::Node& v, std::string* out) {
    static const std::regex kId("[a-z0-9][a-z0-9.-]*");
    if (!v.IsScalar() || !std::regex_match(v.Scalar(), kId)) {
      return Error(Line(v), "name must look like 'uk-sensitive-site' ([a-z0-9][a-z0-9.-]*), got '" +
                                Text(v) + "'");
    }
    *out = v.Scalar();
    return Status::Ok();
  }

  Status Bool(const YAML::Node& v, const std::string& what, bool* out) {
    static const std::map<std::string, bool> kBools = {
        {"true", true}, {"True", true}, {"TRUE", true},
        {"false", false}, {"False", false}, {"FALSE", false}};
    auto it = v.IsScalar() ? kBools.find(v.Scalar()) : kBools.end();
    if (it == kBools.end()) {
      return Error(Line(v), what + " must be true or false, got '" + Text(v) + "'");
    }
    *out = it->second;
    return Status::Ok();
  }

  // A sequence of distinct scalars, each checked by `valid` (which returns
  // an explanation when it refuses one).
  Status List(const YAML::Node& v, const std::string& what,
              const std::function<std::string(const std::string&)>& valid,
              std::vector<std::pair<std::string, int>>* out) {
    if (!v.IsSequence()) return Error(Line(v), what + " must be a list, e.g. [a, b]");
    for (const auto& item : v) {
      if (!item.IsScalar()) return Error(Line(item), what + " entries must be text");
      const std::string s = item.Scalar();
      if (std::string why = valid(s); !why.empty()) {
        return Error(Line(item), what + ": '" + s + "' " + why);
      }
      for (const auto& [prev, line] : *out) {
        if (prev == s) {
          return Error(Line(item), what + ": '" + s + "' is listed twice (first on line " +
                                       std::to_string(line + 1) + ")");
        }
      }
      out->emplace_back(s, Line(item));
    }
    return Status::Ok();
  }

  Status StringSet(const YAML::Node& v, const std::string& what,
                   const std::function<std::string(const std::string&)>& valid,
                   std::set<std::string>* out, Policy* p) {
    std::vector<std::pair<std::string, int>> items;
    PROV_RETURN_IF_ERROR(List(v, what, valid, &items));
    out->clear();
    for (auto& [s, line] : items) {
      out->insert(s);
      p->where[what + "/" + s] = file_ + ":" + std::to_string(line + 1);
    }
    return Status::Ok();
  }

  // Why `s` is not an ISO 3166-1 alpha-2 code, or "".
  static std::string CountryProblem(const std::string& s) {
    static const std::regex kCountry("[A-Z]{2}");
    if (!std::regex_match(s, kCountry)) {
      return "is not an ISO 3166-1 alpha-2 code (two capital letters)";
    }
    auto known = IsoCountries();
    if (!known.ok()) return "cannot be checked: " + known.status().message();
    if (known->count(s)) return "";
    std::vector<std::string> codes;
    for (const auto& [code, name] : *known) codes.push_back(code);
    return "is not an ISO 3166-1 country code" +
           verifier::DidYouMean(verifier::Nearest(s, codes, 3));
  }

  Status Deny(const YAML::Node& m, Policy* p) {
    static const std::regex kId("[A-Za-z0-9][A-Za-z0-9._-]*");
    auto id = [](const std::string& s) {
      return std::regex_match(s, kId) ? "" : "is not an identifier (letters, digits, . _ -)";
    };
    return Keys(m, "deny",
                {{"laws", [&](const YAML::Node& v) {
                    return StringSet(v, "deny.laws", id, &p->denied_laws, p);
                  }},
                 {"countries", [&](const YAML::Node& v) {
                    return StringSet(v, "deny.countries", CountryProblem, &p->denied_countries, p);
                  }},
                 {"orgs", [&](const YAML::Node& v) { return DenyOrgs(v, p); }}});
  }

  // deny.orgs: ids, or {org: ID, purposes: [...]} for an org denied only
  // for some uses.
  Status DenyOrgs(const YAML::Node& v, Policy* p) {
    if (!v.IsSequence()) return Error(Line(v), "deny.orgs must be a list, e.g. [a, b]");
    static const std::regex kId("[A-Za-z0-9][A-Za-z0-9._-]*");
    std::map<std::string, int> seen;
    for (const auto& item : v) {
      std::string org;
      std::set<std::string> purposes;
      bool limited = false;
      if (item.IsMap()) {
        PROV_RETURN_IF_ERROR(Keys(item, "a deny.orgs entry",
                                  {{"org", [&](const YAML::Node& x) { return Str(x, "deny.orgs org", &org); }},
                                   {"purposes", [&](const YAML::Node& x) {
                                      limited = true;
                                      return Purposes(x, "deny.orgs purposes", &purposes);
                                    }}}));
        if (org.empty()) return Error(Line(item), "a deny.orgs entry needs `org`");
      } else if (item.IsScalar()) {
        org = item.Scalar();
      } else {
        return Error(Line(item), "deny.orgs entries must be org ids or {org: ID, purposes: [...]}");
      }
      if (!std::regex_match(org, kId)) {
        return Error(Line(item), "deny.orgs: '" + org + "' is not an identifier (letters, digits, . _ -)");
      }
      if (auto [it, fresh] = seen.emplace(org, Line(item)); !fresh) {
        return Error(Line(item), "deny.orgs: '" + org + "' is listed twice (first on line " +
                                     std::to_string(it->second + 1) + ")");
      }
      p->denied_orgs.insert(org);
      p->where["deny.orgs/" + org] = file_ + ":" + std::to_string(Line(item) + 1);
      if (limited) p->org_purposes[org] = std::move(purposes);
    }
    return Status::Ok();
  }

  Status Purposes(const YAML::Node& v, const std::string& what, std::set<std::string>* out) {
    std::vector<std::pair<std::string, int>> items;
    PROV_RETURN_IF_ERROR(List(
        v, what,
        [](const std::string& s) -> std::string {
          if (verifier::IsPurpose(s)) return "";
          return "is not a purpose (" + verifier::PurposeList() + ")" +
                 verifier::DidYouMean(verifier::Nearest(s, verifier::Purposes(), 3));
        },
        &items));
    if (items.empty()) return Error(Line(v), what + " must name at least one purpose");
    for (const auto& [x, line] : items) out->insert(x);
    return Status::Ok();
  }

  Status Date(const YAML::Node& v, const std::string& what, int64_t* out) {
    static const std::regex kDate("([0-9]{4})-([0-9]{2})-([0-9]{2})");
    std::smatch m;
    const std::string s = v.IsScalar() ? v.Scalar() : Text(v);
    if (v.IsScalar() && std::regex_match(s, m, kDate)) {
      std::tm tm{};
      tm.tm_year = std::stoi(m[1]) - 1900;
      tm.tm_mon = std::stoi(m[2]) - 1;
      tm.tm_mday = std::stoi(m[3]);
      const int64_t t = timegm(&tm);
      if (verifier::UtcDate(t) == s) {
        *out = t;
        return Status::Ok();
      }
    }
    return Error(Line(v), what + " must be a date YYYY-MM-DD, got '" + s + "'");
  }

  Status Scope(const YAML::Node& m, Policy* p) {
    return Keys(
        m, "scope",
        {{"purposes", [&](const YAML::Node& v) { return Purposes(v, "scope.purposes", &p->purposes); }},
         {"equipment", [&](const YAML::Node& v) { return Equipment(v, p); }},
         {"in_force_from", [&](const YAML::Node& v) { return Date(v, "scope.in_force_from", &p->in_force_from); }},
         {"component_reach", [&](const YAML::Node& v) { return ComponentReach(v, p); }}});
  }

  Status Equipment(const YAML::Node& v, Policy* p) {
    static const std::map<std::string, int> kKinds = {
        {"video-surveillance", provenance::v1::EQUIPMENT_KIND_VIDEO_SURVEILLANCE},
        {"telecommunications", provenance::v1::EQUIPMENT_KIND_TELECOMMUNICATIONS}};
    std::vector<std::pair<std::string, int>> items;
    PROV_RETURN_IF_ERROR(List(
        v, "scope.equipment",
        [](const std::string& s) {
          return kKinds.count(s) ? "" : "is not an equipment kind (video-surveillance, telecommunications)";
        },
        &items));
    if (items.empty()) return Error(Line(v), "scope.equipment must name at least one kind");
    for (const auto& [x, line] : items) p->equipment.insert(kKinds.at(x));
    return Status::Ok();
  }

  Status ComponentReach(const YAML::Node& m, Policy* p) {
    static const std::map<std::string, int> kKinds = {
        {"soc", provenance::v1::COMPONENT_KIND_SOC},
        {"image_sensor", provenance::v1::COMPONENT_KIND_IMAGE_SENSOR},
        {"network_module", provenance::v1::COMPONENT_KIND_NETWORK_MODULE},
        {"storage", provenance::v1::COMPONENT_KIND_STORAGE},
        {"memory", provenance::v1::COMPONENT_KIND_MEMORY},
        {"lens", provenance::v1::COMPONENT_KIND_LENS},
        {"power", provenance::v1::COMPONENT_KIND_POWER},
        {"secure_element", provenance::v1::COMPONENT_KIND_SECURE_ELEMENT},
        {"radio", provenance::v1::COMPONENT_KIND_RADIO},
        {"other", provenance::v1::COMPONENT_KIND_OTHER}};
    auto& r = p->component_reach;
    return Keys(
        m, "scope.component_reach",
        {{"from", [&](const YAML::Node& v) { return Date(v, "scope.component_reach.from", &r.from); }},
         {"kinds", [&](const YAML::Node& v) {
            std::vector<std::pair<std::string, int>> items;
            PROV_RETURN_IF_ERROR(List(
                v, "scope.component_reach.kinds",
                [](const std::string& s) -> std::string {
                  if (kKinds.count(s)) return "";
                  std::string all;
                  for (const auto& [k, x] : kKinds) all += (all.empty() ? "" : ", ") + k;
                  return "is not a component kind (" + all + ")";
                },
                &items));
            if (items.empty()) return Error(Line(v), "scope.component_reach.kinds must name at least one kind");
            for (const auto& [x, line] : items) r.kinds.insert(kKinds.at(x));
            return Status::Ok();
          }}});
  }

  Status NeedsRuling(const YAML::Node& v, Policy* p) {
    if (!v.IsSequence()) return Error(Line(v), "needs_ruling must be a list of {law, jurisdictions, question}");
    for (const auto& item : v) {
      Policy::NeedsRuling nr;
      int law_line = Line(item);
      PROV_RETURN_IF_ERROR(Keys(
          item, "a needs_ruling entry",
          {{"law", [&](const YAML::Node& x) {
              law_line = Line(x);
              return Str(x, "needs_ruling law", &nr.law);
            }},
           {"jurisdictions", [&](const YAML::Node& x) {
              std::vector<std::pair<std::string, int>> items;
              PROV_RETURN_IF_ERROR(List(x, "needs_ruling jurisdictions", CountryProblem, &items));
              for (const auto& [c, line] : items) nr.jurisdictions.insert(c);
              return Status::Ok();
            }},
           {"question", [&](const YAML::Node& x) { return Str(x, "needs_ruling question", &nr.question); }}}));
      if (nr.law.empty() || nr.jurisdictions.empty() || nr.question.empty()) {
        return Error(Line(item), "a needs_ruling entry needs law, jurisdictions and question");
      }
      ruling_laws_.emplace_back(nr.law, law_line);
      p->needs_ruling.push_back(std::move(nr));
    }
    return Status::Ok();
  }

  Status AppliesTo(const YAML::Node& v, Policy* p) {
    static const std::map<std::string, Role> kRoles = {
        {"manufacturer", Role::kManufacturer},
        {"brand", Role::kBrand},
        {"component_maker", Role::kComponentMaker},
        {"custodian", Role::kCustodian}};
    std::vector<std::pair<std::string, int>> items;
    PROV_RETURN_IF_ERROR(List(
        v, "applies_to",
        [](const std::string& s) {
          return kRoles.count(s) ? ""
                                 : "is not a role (manufacturer, brand, component_maker, "
                                   "custodian)";
        },
        &items));
    if (items.empty()) return Error(Line(v), "applies_to must name at least one role");
    p->applies_to.clear();
    for (const auto& [s, line] : items) p->applies_to.insert(kRoles.at(s));
    return Status::Ok();
  }

  Status Owners(const YAML::Node& m, Policy* p) {
    return Keys(
        m, "owners",
        {{"include", [&](const YAML::Node& v) { return Bool(v, "owners.include", &p->include_owners); }},
         {"control_threshold_bp", [&](const YAML::Node& v) { return Threshold(v, p); }},
         {"control_flag_counts", [&](const YAML::Node& v) {
            return Bool(v, "owners.control_flag_counts", &p->control_flag_counts);
          }},
         {"state_owned_counts", [&](const YAML::Node& v) {
            return Bool(v, "owners.state_owned_counts", &p->state_owned_counts);
          }},
         {"affiliates", [&](const YAML::Node& v) {
            PROV_RETURN_IF_ERROR(Bool(v, "owners.affiliates", &p->affiliates));
            affiliates_line_ = Line(v);
            return Status::Ok();
          }}});
  }

  Status Threshold(const YAML::Node& v, Policy* p) {
    static const std::regex kInt("[0-9]{1,6}");
    const std::string s = v.IsScalar() ? v.Scalar() : Text(v);
    if (!v.IsScalar() || !std::regex_match(s, kInt) || std::stoi(s) < 1 || std::stoi(s) > 10000) {
      return Error(Line(v),
                   "owners.control_threshold_bp must be an integer from 1 to 10000 (basis "
                   "points: 2500 = 25 %), got '" + s + "'");
    }
    p->control_threshold_bp = static_cast<uint32_t>(std::stoi(s));
    return Status::Ok();
  }

  Status Require(const YAML::Node& m, Policy* p) {
    auto& r = p->required;
    return Keys(m, "require",
                {{"attestation", [&](const YAML::Node& v) {
                    return Bool(v, "require.attestation", &r.attestation);
                  }},
                 {"released_firmware", [&](const YAML::Node& v) {
                    return Bool(v, "require.released_firmware", &r.released_firmware);
                  }},
                 {"custody_to_buyer", [&](const YAML::Node& v) {
                    return Bool(v, "require.custody_to_buyer", &r.custody_to_buyer);
                  }},
                 {"not_revoked", [&](const YAML::Node& v) {
                    return Bool(v, "require.not_revoked", &r.not_revoked);
                  }},
                 {"camera_identity", [&](const YAML::Node& v) {
                    return Bool(v, "require.camera_identity", &r.camera_identity);
                  }}});
  }

  template <typename E>
  Status Choice(const YAML::Node& v, const std::string& what,
                const std::vector<std::pair<std::string, E>>& choices, E* out) {
    std::string names;
    for (const auto& [name, value] : choices) {
      if (v.IsScalar() && v.Scalar() == name) {
        *out = value;
        return Status::Ok();
      }
      names += (names.empty() ? "" : ", ") + name;
    }
    return Error(Line(v), what + " must be one of " + names + ", got '" + Text(v) + "'");
  }

  Status MissingFacts(const YAML::Node& v, Policy* p) {
    return Choice<Policy::MissingFacts>(v, "missing_facts",
                                        {{"unverified", Policy::MissingFacts::kUnverified},
                                         {"reject", Policy::MissingFacts::kReject}},
                                        &p->missing_facts);
  }

  Status When(const YAML::Node& v, Policy* p) {
    return Choice<Policy::When>(v, "judge_ownership_at",
                                {{"manufacture", Policy::When::kManufacture},
                                 {"now", Policy::When::kNow},
                                 {"both", Policy::When::kBoth}},
                                &p->when);
  }

  std::string file_;
};

}  // namespace

Result<std::map<std::string, std::string>> IsoCountries() {
  static const auto* cached = [] {
    auto* out = new Result<std::map<std::string, std::string>>(std::map<std::string, std::string>{});
    std::ifstream in(kIsoCountriesFile);
    nlohmann::json doc;
    try {
      if (!in) throw std::runtime_error("cannot read");
      in >> doc;
      for (const auto& c : doc.at("3166-1")) {
        (**out)[c.at("alpha_2").get<std::string>()] = c.at("name").get<std::string>();
      }
    } catch (const std::exception&) {
      *out = verifier::FailedPrecondition(
          "NO_COUNTRY_LIST", std::string(kIsoCountriesFile) +
                                 " is missing or unreadable (install Debian's iso-codes)");
    }
    return out;
  }();
  return *cached;
}

Result<Policy> ParsePolicy(const std::string& yaml_text, const std::string& file_name) {
  return Reader(file_name).Read(yaml_text);
}

Result<Policy> LoadPolicy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return verifier::NotFound("POLICY_NOT_FOUND", "cannot read policy file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParsePolicy(text.str(), path);
}

}  // namespace client
