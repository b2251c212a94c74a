// CycloneDX 1.6 hardware bills of materials and the ledger's Component and
// DeviceModel records, both ways (docs/hbom.md has the mapping, the
// properties of the `prov:` namespace and every limit). Pure: no I/O. What
// the ledger already holds comes in as a LedgerView, which the caller builds
// from a verified replay of the log; nothing here contacts a server.
//
// Import is in two steps so that every problem is found before anything is
// logged: Parse reads the document (nothing resolved), PlanImport resolves
// the makers against the ledger and decides which records are new. Each
// step appends every problem it finds (it goes on past a bad component) and
// its result is to be used only when there were none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/records.pb.h"
#include "verifier/status.h"

namespace client::hbom {

namespace pb = provenance::v1;

// A larger BOM file is refused before it is read.
inline constexpr size_t kMaxBomBytes = 4 << 20;  // 4 MiB

// One thing wrong with a BOM or with importing it.
struct Problem {
  enum class Kind {
    kMalformed,      // not a CycloneDX 1.6 hardware BOM we can read: exit 64
    kUnknownMaker,   // names no registered organisation (or several): exit 64
    kLedgerConflict  // the ledger would refuse it (unregistered, or logged otherwise): exit 1
  };
  Kind kind;
  // An RFC 6901 JSON pointer into the BOM ("" is the whole document); for a
  // file that is not JSON, "LINE:COLUMN" (1-based) of the syntax error.
  std::string pointer;
  std::string message;
  // "POINTER: message", "LINE:COLUMN: message", or "(document): message".
  std::string ToString() const;
};

// One hardware component (CycloneDX type `device`) as the BOM states it.
struct Part {
  std::string pointer;      // "/components/3"
  std::string bom_ref;      // may be empty
  std::string maker_name;   // manufacturer.name
  std::string maker_org;    // property prov:manufacturer:orgId (may be empty)
  std::string part_number;  // property prov:component:partNumber, else name
  pb::ComponentKind kind = pb::COMPONENT_KIND_UNSPECIFIED;  // unstated
  std::string country_of_origin;                            // upper case; empty: unstated
  std::string description;
  uint32_t quantity = 1;               // cdx:device:quantity
  std::string function;                // cdx:device:function
  std::string assembly_test_location;  // prov:bom:assemblyTestLocation
};

// The device a BOM describes (metadata.component) and its parts.
struct Bom {
  std::string model_name;      // metadata.component.name
  std::string maker_name;      // its manufacturer.name (may be empty)
  std::string maker_org;       // its prov:manufacturer:orgId (may be empty)
  std::string brand;           // prov:model:brandOrg (org id or name; may be empty)
  std::string marketing_name;  // prov:model:name
  std::vector<std::string> shown_manufacturer, shown_model;
  std::vector<Part> parts;
  // Components that are not hardware (e.g. type firmware), "POINTER: why":
  // left out of the records, listed so that nothing is dropped silently.
  std::vector<std::string> skipped;
};

// Reads CycloneDX 1.6 JSON. Refuses (with problems) a document over
// kMaxBomBytes, another bomFormat or specVersion, no metadata.component or
// one that is not a device, a duplicate bom-ref, the same maker's part
// listed twice, a dependency on an unknown bom-ref, nested components, and
// any field or prov: property it cannot use.
Bom Parse(std::string_view text, std::vector<Problem>* problems);

// A record the log holds, and its leaf index (0-based).
template <class T>
struct Logged {
  T record;
  uint64_t index = 0;
};

struct RegisteredOrg {
  std::string id, legal_name;
  std::vector<std::string> aliases;
};

using ComponentKey = std::pair<std::string, std::string>;  // (maker org, part number)

// What the ledger holds that an import or export depends on.
struct LedgerView {
  std::vector<RegisteredOrg> orgs;
  std::map<ComponentKey, Logged<pb::Component>> components;
  // The model being imported or exported, when registered.
  std::optional<Logged<pb::DeviceModel>> model;
};

// The org ids whose id, legal name or an alias equals `name`, ignoring
// ASCII case: none (unknown), one, or several (ambiguous).
std::vector<std::string> ResolveOrg(const LedgerView& ledger, const std::string& name);

struct ImportOptions {
  std::string org;       // the importing org (signs every record): an org id
  std::string model_id;  // default: metadata.component.name
  std::string brand;     // org id or name; default: prov:model:brandOrg, else `org`
};

struct Plan {
  struct Item {
    std::string pointer;  // where in the BOM
    pb::Component component;
  };
  std::vector<Item> new_components;  // components of `org` to log, in BOM order
  struct Known {
    std::string pointer;
    ComponentKey key;
    uint64_t index;  // where the ledger holds it
  };
  std::vector<Known> registered;  // named by the BOM, already logged as it says
  pb::DeviceModel model;          // the model the BOM describes
  bool model_is_new = true;       // false: logged identically at model_index
  uint64_t model_index = 0;
};

// Resolves every maker and decides what to log: a component of `o.org` not
// yet registered becomes a new Component record; one registered (by any
// maker) must match what the BOM states about it; another maker's
// component that is not registered is a problem (its maker signs it, never
// us). `ledger.model` is the registered (o.org, model id), if any. Each
// record is also checked as the log's rules check it without state (field
// syntax, the 64 KiB record limit).
Plan PlanImport(const Bom& bom, const LedgerView& ledger, const ImportOptions& o,
                std::vector<Problem>* problems);

// The model id a BOM gives, under `o` (for looking the model up before
// PlanImport).
std::string ModelIdOf(const Bom& bom, const ImportOptions& o);

struct ExportInput {
  Logged<pb::DeviceModel> model;
  LedgerView ledger;   // orgs (for names) and every component the model names
  std::string origin;  // the verified checkpoint the records were proven in
  uint64_t tree_size = 0;
  std::string root_hex;
  std::string serial_number;  // "urn:uuid:..." (RFC 4122)
  std::string timestamp;      // RFC 3339 UTC, e.g. "2026-01-15T10:00:00Z"
  std::string tool_version;
};

// The model as a CycloneDX 1.6 JSON document (indented), which Parse and
// PlanImport read back to the same DeviceModel. NOT_FOUND if a component the
// model names is not in `in.ledger.components`.
verifier::Result<std::string> Export(const ExportInput& in);

// Property names (docs/hbom.md).
namespace property {
inline constexpr char kQuantity[] = "cdx:device:quantity";  // CycloneDX taxonomy
inline constexpr char kFunction[] = "cdx:device:function";  // CycloneDX taxonomy
inline constexpr char kPartNumber[] = "prov:component:partNumber";
inline constexpr char kKind[] = "prov:component:kind";
inline constexpr char kCountryOfOrigin[] = "prov:component:countryOfOrigin";
inline constexpr char kMakerOrg[] = "prov:manufacturer:orgId";
inline constexpr char kAssemblyTestLocation[] = "prov:bom:assemblyTestLocation";
inline constexpr char kBrandOrg[] = "prov:model:brandOrg";
inline constexpr char kModelName[] = "prov:model:name";
inline constexpr char kShownManufacturer[] = "prov:model:shownManufacturer";
inline constexpr char kShownModel[] = "prov:model:shownModel";
// Written on export, ignored on import.
inline constexpr char kLedgerOrigin[] = "prov:ledger:origin";
inline constexpr char kLedgerTreeSize[] = "prov:ledger:treeSize";
inline constexpr char kLedgerRootHash[] = "prov:ledger:rootHash";
inline constexpr char kLedgerLeafIndex[] = "prov:ledger:leafIndex";
}  // namespace property

// Component kinds as named on the command line and in prov:component:kind:
// "soc", "image-sensor", ..., "other".
std::string KindName(pb::ComponentKind kind);
std::optional<pb::ComponentKind> KindFromName(std::string_view name);

}  // namespace client::hbom
