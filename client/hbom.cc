#include "client/hbom.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "verifier/crypto.h"
#include "verifier/rules.h"

namespace client::hbom {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using Kind = Problem::Kind;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Quote(const std::string& s) { return json(s).dump(); }

// Collects problems with their pointers.
class Problems {
 public:
  explicit Problems(std::vector<Problem>* out) : out_(out) {}
  void Add(Kind kind, std::string pointer, std::string message) {
    out_->push_back({kind, std::move(pointer), std::move(message)});
  }
  void Bad(std::string pointer, std::string message) {
    Add(Kind::kMalformed, std::move(pointer), std::move(message));
  }
  size_t size() const { return out_->size(); }

 private:
  std::vector<Problem>* out_;
};

// A field that must be a non-empty string when present.
std::optional<std::string> OptString(const json& obj, const std::string& key, const std::string& at,
                                     Problems& p) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_string()) {
    p.Bad(at + "/" + key, "must be a string");
    return std::nullopt;
  }
  return it->get<std::string>();
}

// The text rules the log applies to ids and part numbers (verifier/rules.cc
// CheckId): 1 to 128 bytes, no control characters.
bool ValidId(const std::string& v) {
  if (v.empty() || v.size() > 128) return false;
  return std::none_of(v.begin(), v.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

std::optional<std::string> Country(const std::string& v) {
  if (v.size() != 2 || !std::isalpha(static_cast<unsigned char>(v[0])) ||
      !std::isalpha(static_cast<unsigned char>(v[1]))) {
    return std::nullopt;
  }
  std::string up = v;
  for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return up;
}

// cdx:device:function words that name a kind (exact, ignoring case).
std::optional<pb::ComponentKind> KindFromFunction(const std::string& function) {
  static const std::map<std::string, pb::ComponentKind> kWords = {
      {"soc", pb::COMPONENT_KIND_SOC},
      {"microprocessor", pb::COMPONENT_KIND_SOC},
      {"processor", pb::COMPONENT_KIND_SOC},
      {"image sensor", pb::COMPONENT_KIND_IMAGE_SENSOR},
      {"network", pb::COMPONENT_KIND_NETWORK_MODULE},
      {"ethernet", pb::COMPONENT_KIND_NETWORK_MODULE},
      {"storage", pb::COMPONENT_KIND_STORAGE},
      {"flash", pb::COMPONENT_KIND_STORAGE},
      {"memory", pb::COMPONENT_KIND_MEMORY},
      {"dram", pb::COMPONENT_KIND_MEMORY},
      {"lens", pb::COMPONENT_KIND_LENS},
      {"power", pb::COMPONENT_KIND_POWER},
      {"secure element", pb::COMPONENT_KIND_SECURE_ELEMENT},
      {"radio", pb::COMPONENT_KIND_RADIO},
      {"bluetooth", pb::COMPONENT_KIND_RADIO},
      {"wi-fi", pb::COMPONENT_KIND_RADIO},
      {"wifi", pb::COMPONENT_KIND_RADIO},
      {"cellular", pb::COMPONENT_KIND_RADIO},
  };
  auto it = kWords.find(Lower(function));
  if (it == kWords.end()) return std::nullopt;
  return it->second;
}

std::string KindNames() {
  std::string out;
  for (int k = 1; k <= 15; ++k) {
    if (!pb::ComponentKind_IsValid(k)) continue;
    out += (out.empty() ? "" : "|") + KindName(static_cast<pb::ComponentKind>(k));
  }
  return out;
}

// The properties array of `obj` at `at`: name -> [(pointer of the value, value)].
using Props = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

Props ReadProperties(const json& obj, const std::string& at, Problems& p,
                     const std::set<std::string>& ours) {
  Props props;
  auto it = obj.find("properties");
  if (it == obj.end()) return props;
  if (!it->is_array()) {
    p.Bad(at + "/properties", "must be an array");
    return props;
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& e = (*it)[i];
    const std::string pi = at + "/properties/" + std::to_string(i);
    if (!e.is_object()) {
      p.Bad(pi, "must be an object with name and value");
      continue;
    }
    auto name = OptString(e, "name", pi, p);
    auto value = OptString(e, "value", pi, p);
    if (!name) {
      if (!e.contains("name")) p.Bad(pi + "/name", "missing");
      continue;
    }
    const bool prov_ns = name->rfind("prov:", 0) == 0;
    if (prov_ns && !ours.count(*name) && name->rfind("prov:ledger:", 0) != 0) {
      p.Bad(pi + "/name", "unknown property " + Quote(*name) + " in the prov: namespace here");
      continue;
    }
    if (!ours.count(*name)) continue;  // another namespace's, or provenance we wrote
    if (!value) {
      if (!e.contains("value")) p.Bad(pi + "/value", "missing");
      continue;
    }
    props[*name].emplace_back(pi + "/value", *value);
  }
  return props;
}

// A property that may be given once: its (pointer, value), or nullopt.
std::optional<std::pair<std::string, std::string>> Single(const Props& props,
                                                          const std::string& name, Problems& p) {
  auto it = props.find(name);
  if (it == props.end()) return std::nullopt;
  if (it->second.size() > 1) {
    p.Bad(it->second[1].first,
          Quote(name) + " is given again (first at " + it->second[0].first + ")");
  }
  return it->second[0];
}

// manufacturer.name of a component at `at`.
std::optional<std::string> MakerName(const json& c, const std::string& at, Problems& p,
                                     bool required) {
  auto m = c.find("manufacturer");
  if (m == c.end()) {
    if (!required) return std::nullopt;
    std::string why = "missing: name the maker (an organizationalEntity with a name)";
    if (auto s = c.find("supplier"); s != c.end() && s->is_object() && s->contains("name")) {
      why +=
          "; supplier is who supplied the part, not necessarily who made it, so it is "
          "not read as the maker";
    }
    p.Bad(at + "/manufacturer", why);
    return std::nullopt;
  }
  if (!m->is_object()) {
    p.Bad(at + "/manufacturer", "must be an organizationalEntity object");
    return std::nullopt;
  }
  auto name = OptString(*m, "name", at + "/manufacturer", p);
  if (!name) {
    if (!m->contains("name")) p.Bad(at + "/manufacturer/name", "missing");
    return std::nullopt;
  }
  if (name->empty()) {
    p.Bad(at + "/manufacturer/name", "empty");
    return std::nullopt;
  }
  return name;
}

// bom-ref of `obj`, checked for duplicates against `refs`.
std::string BomRef(const json& obj, const std::string& at, Problems& p,
                   std::map<std::string, std::string>* refs) {
  auto ref = OptString(obj, "bom-ref", at, p);
  if (!ref) return "";
  if (ref->empty()) {
    p.Bad(at + "/bom-ref", "empty");
    return "";
  }
  auto [it, fresh] = refs->emplace(*ref, at + "/bom-ref");
  if (!fresh) p.Bad(at + "/bom-ref", Quote(*ref) + " is already " + it->second);
  return *ref;
}

const std::set<std::string>& ComponentProps() {
  static const std::set<std::string> s = {property::kQuantity,
                                          property::kFunction,
                                          property::kPartNumber,
                                          property::kKind,
                                          property::kCountryOfOrigin,
                                          property::kMakerOrg,
                                          property::kAssemblyTestLocation};
  return s;
}

const std::set<std::string>& ModelProps() {
  static const std::set<std::string> s = {property::kMakerOrg, property::kBrandOrg,
                                          property::kModelName, property::kShownManufacturer,
                                          property::kShownModel};
  return s;
}

void ReadPart(const json& c, const std::string& at, Problems& p, Part* part) {
  part->pointer = at;
  if (auto n = MakerName(c, at, p, true)) part->maker_name = *n;
  const Props props = ReadProperties(c, at, p, ComponentProps());
  if (auto v = Single(props, property::kMakerOrg, p)) part->maker_org = v->second;

  auto name = OptString(c, "name", at, p);
  if (auto v = Single(props, property::kPartNumber, p)) {
    if (!ValidId(v->second)) {
      p.Bad(v->first, "a part number is 1 to 128 bytes without control characters");
    }
    part->part_number = v->second;
  } else if (!name) {
    if (!c.contains("name")) p.Bad(at + "/name", "missing (the maker's part number)");
  } else if (!ValidId(*name)) {
    p.Bad(at + "/name",
          "the part number must be 1 to 128 bytes without control characters (or give it as " +
              std::string(property::kPartNumber) + ")");
  } else {
    part->part_number = *name;
  }

  if (auto d = OptString(c, "description", at, p)) {
    if (d->size() > 1024) p.Bad(at + "/description", "longer than 1024 bytes");
    part->description = *d;
  }
  if (auto v = Single(props, property::kQuantity, p)) {
    uint32_t q = 0;
    const std::string& s = v->second;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), q);
    if (ec != std::errc() || end != s.data() + s.size() || q == 0) {
      p.Bad(v->first, "quantity " + Quote(s) + " is not a positive whole number");
    }
    part->quantity = q;
  }
  if (auto v = Single(props, property::kFunction, p)) part->function = v->second;
  if (auto v = Single(props, property::kAssemblyTestLocation, p)) {
    auto cc = Country(v->second);
    if (!cc) p.Bad(v->first, Quote(v->second) + " is not an ISO 3166-1 alpha-2 country code");
    part->assembly_test_location = cc.value_or("");
  }
  if (auto v = Single(props, property::kCountryOfOrigin, p)) {
    auto cc = Country(v->second);
    if (!cc) p.Bad(v->first, Quote(v->second) + " is not an ISO 3166-1 alpha-2 country code");
    part->country_of_origin = cc.value_or("");
  }
  if (auto v = Single(props, property::kKind, p)) {
    auto k = KindFromName(Lower(v->second));
    if (!k) {
      p.Bad(v->first, "unknown kind " + Quote(v->second) + " (one of " + KindNames() + ")");
    } else {
      part->kind = *k;
    }
  } else if (!part->function.empty()) {
    part->kind = KindFromFunction(part->function).value_or(pb::COMPONENT_KIND_UNSPECIFIED);
  }
}

}  // namespace

std::string Problem::ToString() const {
  return pointer.empty() ? "(document): " + message : pointer + ": " + message;
}

std::string KindName(pb::ComponentKind kind) {
  std::string name = pb::ComponentKind_Name(kind);
  const std::string prefix = "COMPONENT_KIND_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return name;
}

std::optional<pb::ComponentKind> KindFromName(std::string_view name) {
  for (int k = 1; k <= 15; ++k) {
    if (!pb::ComponentKind_IsValid(k)) continue;
    auto kind = static_cast<pb::ComponentKind>(k);
    if (KindName(kind) == name) return kind;
  }
  return std::nullopt;
}

Bom Parse(std::string_view text, std::vector<Problem>* problems) {
  Problems p(problems);
  Bom bom;
  if (text.size() > kMaxBomBytes) {
    p.Bad("", "the file is " + std::to_string(text.size()) + " bytes, over the limit of " +
                  std::to_string(kMaxBomBytes) + " (4 MiB)");
    return bom;
  }
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // e.byte: 1-based offset of the last byte read.
    size_t line = 1, column = 0;
    const size_t upto = std::min(text.size(), e.byte == 0 ? size_t{0} : e.byte - 1);
    for (size_t i = 0; i < upto; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 0;
      } else {
        ++column;
      }
    }
    std::string why = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: X" -> X
    if (auto colon = why.find(": "); colon != std::string::npos) why = why.substr(colon + 2);
    problems->push_back({Kind::kMalformed, std::to_string(line) + ":" + std::to_string(column + 1),
                         "not JSON: " + why});
    return bom;
  }
  if (!doc.is_object()) {
    p.Bad("", "a CycloneDX BOM is a JSON object");
    return bom;
  }
  auto format = OptString(doc, "bomFormat", "", p);
  if (!format) {
    if (!doc.contains("bomFormat")) p.Bad("/bomFormat", "missing (expected \"CycloneDX\")");
  } else if (*format != "CycloneDX") {
    p.Bad("/bomFormat", Quote(*format) + " is not \"CycloneDX\"");
  }
  auto spec = OptString(doc, "specVersion", "", p);
  if (!spec) {
    if (!doc.contains("specVersion")) p.Bad("/specVersion", "missing (expected \"1.6\")");
  } else if (*spec != "1.6") {
    p.Bad("/specVersion", Quote(*spec) +
                              " is not supported: this reads CycloneDX 1.6 (component "
                              "manufacturer is new in 1.6)");
  }
  if (p.size() > 0) return bom;  // not a document we know how to read

  std::map<std::string, std::string> refs;  // bom-ref -> its pointer
  auto meta = doc.find("metadata");
  const json* model = nullptr;
  if (meta == doc.end() || !meta->is_object()) {
    p.Bad("/metadata",
          meta == doc.end() ? "missing (metadata.component is the device)" : "must be an object");
  } else if (auto mc = meta->find("component"); mc == meta->end() || !mc->is_object()) {
    p.Bad("/metadata/component",
          mc == meta->end() ? "missing (the device the BOM describes)" : "must be an object");
  } else {
    model = &*mc;
  }
  if (model != nullptr) {
    const std::string at = "/metadata/component";
    auto type = OptString(*model, "type", at, p);
    if (!type) {
      if (!model->contains("type")) p.Bad(at + "/type", "missing (expected \"device\")");
    } else if (*type != "device") {
      p.Bad(at + "/type", Quote(*type) + " is not \"device\": a hardware BOM describes a device");
    }
    BomRef(*model, at, p, &refs);
    auto name = OptString(*model, "name", at, p);
    if (!name) {
      if (!model->contains("name")) p.Bad(at + "/name", "missing (the model id)");
    } else {
      bom.model_name = *name;
    }
    if (auto n = MakerName(*model, at, p, false)) bom.maker_name = *n;
    const Props props = ReadProperties(*model, at, p, ModelProps());
    if (auto v = Single(props, property::kMakerOrg, p)) bom.maker_org = v->second;
    if (auto v = Single(props, property::kBrandOrg, p)) bom.brand = v->second;
    if (auto v = Single(props, property::kModelName, p)) bom.marketing_name = v->second;
    if (auto it = props.find(property::kShownManufacturer); it != props.end()) {
      for (const auto& [at_v, v] : it->second) bom.shown_manufacturer.push_back(v);
    }
    if (auto it = props.find(property::kShownModel); it != props.end()) {
      for (const auto& [at_v, v] : it->second) bom.shown_model.push_back(v);
    }
    if (model->contains("components")) {
      p.Bad(at + "/components", "nested components are not read: list the parts in /components");
    }
  }

  auto comps = doc.find("components");
  if (comps != doc.end() && !comps->is_array()) {
    p.Bad("/components", "must be an array");
  } else if (comps != doc.end()) {
    std::map<std::pair<std::string, std::string>, std::string> seen;  // (maker, part) -> pointer
    for (size_t i = 0; i < comps->size(); ++i) {
      const json& c = (*comps)[i];
      const std::string at = "/components/" + std::to_string(i);
      if (!c.is_object()) {
        p.Bad(at, "must be an object");
        continue;
      }
      BomRef(c, at, p, &refs);
      auto type = OptString(c, "type", at, p);
      if (!type) {
        if (!c.contains("type")) p.Bad(at + "/type", "missing");
        continue;
      }
      if (*type != "device") {
        bom.skipped.push_back(at + ": type " + Quote(*type) + " is not hardware");
        continue;
      }
      if (c.contains("components")) {
        p.Bad(at + "/components",
              "nested components are not read: list each part at the top level");
      }
      Part part;
      ReadPart(c, at, p, &part);
      const std::string maker = Lower(part.maker_org.empty() ? part.maker_name : part.maker_org);
      if (!maker.empty() && !part.part_number.empty()) {
        auto [it, fresh] = seen.emplace(std::pair{maker, part.part_number}, at);
        if (!fresh) {
          p.Bad(at, "the same part (" + part.part_number + " by " + part.maker_name +
                        ") is already " + it->second + ": give one entry with its quantity");
        }
      }
      bom.parts.push_back(std::move(part));
    }
  }

  // Dependencies may only name bom-refs of this document, each once.
  auto deps = doc.find("dependencies");
  if (deps != doc.end() && !deps->is_array()) {
    p.Bad("/dependencies", "must be an array");
  } else if (deps != doc.end()) {
    std::map<std::string, std::string> dep_of;  // ref -> pointer of its entry
    for (size_t i = 0; i < deps->size(); ++i) {
      const json& d = (*deps)[i];
      const std::string at = "/dependencies/" + std::to_string(i);
      if (!d.is_object()) {
        p.Bad(at, "must be an object");
        continue;
      }
      auto ref = OptString(d, "ref", at, p);
      if (!ref) {
        if (!d.contains("ref")) p.Bad(at + "/ref", "missing");
        continue;
      }
      if (!refs.count(*ref)) p.Bad(at + "/ref", Quote(*ref) + " is no bom-ref of this BOM");
      auto [it, fresh] = dep_of.emplace(*ref, at);
      if (!fresh)
        p.Bad(at + "/ref", Quote(*ref) + " already has its dependencies at " + it->second);
      auto on = d.find("dependsOn");
      if (on == d.end()) continue;
      if (!on->is_array()) {
        p.Bad(at + "/dependsOn", "must be an array");
        continue;
      }
      std::map<std::string, size_t> listed;
      for (size_t j = 0; j < on->size(); ++j) {
        const std::string aj = at + "/dependsOn/" + std::to_string(j);
        if (!(*on)[j].is_string()) {
          p.Bad(aj, "must be a string");
          continue;
        }
        const std::string r = (*on)[j].get<std::string>();
        if (!refs.count(r)) p.Bad(aj, Quote(r) + " is no bom-ref of this BOM");
        auto [lt, first] = listed.emplace(r, j);
        if (!first) {
          p.Bad(aj, Quote(r) + " is referenced twice (also " + at + "/dependsOn/" +
                        std::to_string(lt->second) + ")");
        }
      }
    }
  }
  return bom;
}

std::vector<std::string> ResolveOrg(const LedgerView& ledger, const std::string& name) {
  const std::string n = Lower(name);
  std::vector<std::string> out;
  for (const auto& o : ledger.orgs) {
    bool hit = Lower(o.id) == n || Lower(o.legal_name) == n;
    for (const auto& a : o.aliases) hit = hit || Lower(a) == n;
    if (hit) out.push_back(o.id);
  }
  return out;
}

std::string ModelIdOf(const Bom& bom, const ImportOptions& o) {
  return o.model_id.empty() ? bom.model_name : o.model_id;
}

namespace {

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Which fields of a DeviceModel differ (for a conflict message).
std::string ModelDiff(const pb::DeviceModel& a, const pb::DeviceModel& b) {
  std::vector<std::string> diff;
  if (a.brand_org() != b.brand_org())
    diff.push_back("brand " + a.brand_org() + " vs " + b.brand_org());
  if (a.name() != b.name()) diff.push_back("name " + Quote(a.name()) + " vs " + Quote(b.name()));
  if (a.bom_size() != b.bom_size()) {
    diff.push_back(std::to_string(a.bom_size()) + " BOM lines vs " + std::to_string(b.bom_size()));
  } else {
    for (int i = 0; i < a.bom_size(); ++i) {
      if (a.bom(i).SerializeAsString() != b.bom(i).SerializeAsString()) {
        diff.push_back("BOM line " + std::to_string(i + 1));
      }
    }
  }
  if (a.shown_manufacturer_size() != b.shown_manufacturer_size() ||
      a.shown_model_size() != b.shown_model_size()) {
    diff.push_back("shown manufacturer or model");
  }
  return diff.empty() ? "other fields" : Joined(diff);
}

// Checks `record` as the log would without state (one signature).
verifier::Status CheckRecord(pb::Record record) {
  static const verifier::SigningKey key = verifier::SigningKey::Generate();
  record.set_issued_at(1);
  pb::Record r = record;
  std::string bytes;
  r.SerializeToString(&bytes);
  const verifier::SigningKey* keys[] = {&key};
  auto sr = verifier::SignRecord(bytes, keys);
  return verifier::PrepareRecord(sr.SerializeAsString()).status();
}

}  // namespace

Plan PlanImport(const Bom& bom, const LedgerView& ledger, const ImportOptions& o,
                std::vector<Problem>* problems) {
  Problems p(problems);
  Plan plan;
  const bool org_known = std::any_of(ledger.orgs.begin(), ledger.orgs.end(),
                                     [&](const RegisteredOrg& r) { return r.id == o.org; });
  if (!org_known) {
    p.Add(Kind::kUnknownMaker, "", "--org " + o.org + " is not a registered org id");
  }
  // Resolves `name` (or the exact org id `org_id`) at `at`; unknown names
  // are gathered so that each is listed once with all its pointers.
  std::map<std::string, std::vector<std::string>> unknown;  // name -> pointers
  auto resolve = [&](const std::string& name, const std::string& org_id,
                     const std::string& at) -> std::string {
    if (!org_id.empty()) {
      if (!std::any_of(ledger.orgs.begin(), ledger.orgs.end(),
                       [&](const RegisteredOrg& r) { return r.id == org_id; })) {
        p.Add(Kind::kUnknownMaker, at, Quote(org_id) + " is not a registered org id");
        return "";
      }
      return org_id;
    }
    auto ids = ResolveOrg(ledger, name);
    if (ids.empty()) {
      unknown[name].push_back(at);
      return "";
    }
    if (ids.size() > 1) {
      p.Add(Kind::kUnknownMaker, at,
            Quote(name) + " names several registered orgs (" + Joined(ids) + "): give " +
                property::kMakerOrg);
      return "";
    }
    return ids[0];
  };

  pb::DeviceModel& m = plan.model;
  m.set_manufacturer_org(o.org);
  m.set_model_id(ModelIdOf(bom, o));
  if (!bom.maker_name.empty() || !bom.maker_org.empty()) {
    const std::string at = bom.maker_org.empty() ? "/metadata/component/manufacturer/name"
                                                 : "/metadata/component/properties";
    std::string maker = resolve(bom.maker_name, bom.maker_org, at);
    if (!maker.empty() && maker != o.org) {
      p.Add(Kind::kMalformed, at,
            "the device's maker is " + maker + ", not --org " + o.org +
                ": a model is registered by its maker");
    }
  }
  std::string brand = o.org;
  if (!o.brand.empty() || !bom.brand.empty()) {
    const std::string& b = o.brand.empty() ? bom.brand : o.brand;
    brand = resolve(b, "", o.brand.empty() ? "/metadata/component/properties" : "--brand");
  }
  m.set_brand_org(brand);
  m.set_name(bom.marketing_name);
  for (const auto& v : bom.shown_manufacturer) m.add_shown_manufacturer(v);
  for (const auto& v : bom.shown_model) m.add_shown_model(v);

  for (const Part& part : bom.parts) {
    const std::string maker_at =
        part.maker_org.empty() ? part.pointer + "/manufacturer/name" : part.pointer + "/properties";
    std::string maker = part.maker_name.empty() && part.maker_org.empty()
                            ? ""
                            : resolve(part.maker_name, part.maker_org, maker_at);
    pb::BomLine* line = m.add_bom();
    line->set_quantity(part.quantity);
    line->set_function(part.function);
    line->set_assembly_test_location(part.assembly_test_location);
    line->mutable_component()->set_maker_org(maker);
    line->mutable_component()->set_part_number(part.part_number);
    if (maker.empty() || part.part_number.empty()) continue;
    const ComponentKey key{maker, part.part_number};
    const std::string name = maker + "/" + part.part_number;
    auto reg = ledger.components.find(key);
    if (reg != ledger.components.end()) {
      const pb::Component& c = reg->second.record;
      const std::string where =
          " (registered by " + maker + " at #" + std::to_string(reg->second.index) + ")";
      if (part.kind != pb::COMPONENT_KIND_UNSPECIFIED && part.kind != c.kind()) {
        p.Add(Kind::kLedgerConflict, part.pointer,
              "the BOM says " + name + " is a " + KindName(part.kind) + ", the ledger a " +
                  KindName(c.kind()) + where);
      }
      if (!part.country_of_origin.empty() && part.country_of_origin != c.country_of_origin()) {
        p.Add(Kind::kLedgerConflict, part.pointer,
              "the BOM says " + name + " comes from " + part.country_of_origin +
                  ", the ledger from " + c.country_of_origin() + where);
      }
      plan.registered.push_back({part.pointer, key, reg->second.index});
      continue;
    }
    if (maker != o.org) {
      p.Add(Kind::kLedgerConflict, part.pointer,
            name + " is not registered: a component is registered by its maker, so " + maker +
                " must register it first (prov manufacturer component --org " + maker + ")");
      continue;
    }
    const size_t before = p.size();
    if (part.kind == pb::COMPONENT_KIND_UNSPECIFIED) {
      p.Bad(part.pointer + "/properties", "no kind for new component " + name +
                                              ": add {\"name\": \"" + property::kKind +
                                              "\", \"value\": \"" + KindNames() + "\"}");
    }
    if (part.country_of_origin.empty()) {
      p.Bad(part.pointer + "/properties", "no country of origin for new component " + name +
                                              ": add {\"name\": \"" + property::kCountryOfOrigin +
                                              "\", \"value\": \"CC\"}");
    }
    if (p.size() != before) continue;
    pb::Component c;
    c.set_maker_org(maker);
    c.set_part_number(part.part_number);
    c.set_kind(part.kind);
    c.set_country_of_origin(part.country_of_origin);
    c.set_description(part.description);
    pb::Record r;
    *r.mutable_component() = c;
    if (verifier::Status s = CheckRecord(r); !s.ok()) {
      p.Bad(part.pointer, "the log would refuse component " + name + ": " + s.message());
      continue;
    }
    plan.new_components.push_back({part.pointer, std::move(c)});
  }
  for (const auto& [name, at] : unknown) {
    p.Add(Kind::kUnknownMaker, at.front(),
          "unknown maker " + Quote(name) + ", named at " + Joined(at) +
              ": no registered org has this id, legal name or alias (see prov org list; an "
              "authority registers orgs)");
  }
  if (!problems->empty()) return plan;

  pb::Record r;
  *r.mutable_device_model() = m;
  if (verifier::Status s = CheckRecord(r); !s.ok()) {
    const bool too_large = s.reason() == "RECORD_TOO_LARGE";
    p.Bad(too_large ? "/components" : "/metadata/component",
          "the log would refuse model " + o.org + "/" + m.model_id() + ": " + s.message() +
              (too_large
                   ? " (" + std::to_string(m.bom_size()) + " BOM lines do not fit in one record)"
                   : ""));
    return plan;
  }
  if (ledger.model) {
    if (ledger.model->record.SerializeAsString() == m.SerializeAsString()) {
      plan.model_is_new = false;
      plan.model_index = ledger.model->index;
    } else {
      p.Add(Kind::kLedgerConflict, "/metadata/component",
            "model " + o.org + "/" + m.model_id() + " is already registered at #" +
                std::to_string(ledger.model->index) + " otherwise (" +
                ModelDiff(m, ledger.model->record) +
                "); a model record is written once: use another model id");
    }
  }
  return plan;
}

verifier::Result<std::string> Export(const ExportInput& in) {
  auto org_name = [&](const std::string& id) {
    for (const auto& o : in.ledger.orgs) {
      if (o.id == id && !o.legal_name.empty()) return o.legal_name;
    }
    return id;
  };
  auto prop = [](const std::string& name, const std::string& value) {
    return ojson{{"name", name}, {"value", value}};
  };
  const pb::DeviceModel& m = in.model.record;
  const std::string model_ref = "model:" + m.manufacturer_org() + "/" + m.model_id();

  ojson mprops = ojson::array(
      {prop(property::kMakerOrg, m.manufacturer_org()), prop(property::kBrandOrg, m.brand_org())});
  if (!m.name().empty()) mprops.push_back(prop(property::kModelName, m.name()));
  for (const auto& v : m.shown_manufacturer())
    mprops.push_back(prop(property::kShownManufacturer, v));
  for (const auto& v : m.shown_model()) mprops.push_back(prop(property::kShownModel, v));
  mprops.push_back(prop(property::kLedgerLeafIndex, std::to_string(in.model.index)));

  ojson device = {{"type", "device"},
                  {"bom-ref", model_ref},
                  {"manufacturer", {{"name", org_name(m.manufacturer_org())}}},
                  {"name", m.model_id()},
                  {"properties", mprops}};
  if (!m.name().empty()) device["description"] = m.name();

  ojson components = ojson::array();
  ojson depends = ojson::array();
  std::map<std::string, int> uses;  // bom-ref -> times used (a part listed twice)
  for (const auto& line : m.bom()) {
    const auto& ref = line.component();
    auto it = in.ledger.components.find({ref.maker_org(), ref.part_number()});
    if (it == in.ledger.components.end()) {
      return verifier::NotFound("MISSING_COMPONENT", "component " + ref.maker_org() + "/" +
                                                         ref.part_number() +
                                                         " of the model is not in the evidence");
    }
    const pb::Component& c = it->second.record;
    std::string bom_ref = "component:" + ref.maker_org() + "/" + ref.part_number();
    if (int n = ++uses[bom_ref]; n > 1) bom_ref += "#" + std::to_string(n);
    ojson props = ojson::array({prop(property::kMakerOrg, c.maker_org()),
                                prop(property::kKind, KindName(c.kind())),
                                prop(property::kCountryOfOrigin, c.country_of_origin())});
    if (line.quantity() != 0) {
      props.push_back(prop(property::kQuantity, std::to_string(line.quantity())));
    }
    if (!line.function().empty()) props.push_back(prop(property::kFunction, line.function()));
    if (!line.assembly_test_location().empty()) {
      props.push_back(prop(property::kAssemblyTestLocation, line.assembly_test_location()));
    }
    props.push_back(prop(property::kLedgerLeafIndex, std::to_string(it->second.index)));
    ojson comp = {{"type", "device"},
                  {"bom-ref", bom_ref},
                  {"manufacturer", {{"name", org_name(c.maker_org())}}},
                  {"name", c.part_number()}};
    if (!c.description().empty()) comp["description"] = c.description();
    comp["properties"] = props;
    components.push_back(comp);
    depends.push_back(bom_ref);
  }
  ojson dependencies = ojson::array({{{"ref", model_ref}, {"dependsOn", depends}}});
  for (const auto& d : depends) dependencies.push_back({{"ref", d}, {"dependsOn", ojson::array()}});

  ojson doc = {
      {"$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json"},
      {"bomFormat", "CycloneDX"},
      {"specVersion", "1.6"},
      {"serialNumber", in.serial_number},
      {"version", 1},
      {"metadata",
       {{"timestamp", in.timestamp},
        {"tools",
         {{"components",
           ojson::array(
               {{{"type", "application"}, {"name", "prov"}, {"version", in.tool_version}}})}}},
        {"component", device},
        {"properties", ojson::array({prop(property::kLedgerOrigin, in.origin),
                                     prop(property::kLedgerTreeSize, std::to_string(in.tree_size)),
                                     prop(property::kLedgerRootHash, in.root_hex)})}}},
      {"components", components},
      {"dependencies", dependencies}};
  return doc.dump(2) + "\n";
}

}  // namespace client::hbom
