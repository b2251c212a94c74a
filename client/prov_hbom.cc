// prov subcommands for CycloneDX 1.6 hardware BOMs (docs/hbom.md):
//   manufacturer import-hbom: a BOM -> Component and DeviceModel records
//   model export-hbom: a registered model -> a BOM
// Both read the ledger from a verified replay of the whole log (the replay
// `prov audit` and `prov org list` make: every entry proven and checked by
// the rulebook, the root recomputed), and each record they take from it is
// re-read with an inclusion proof against the same checkpoint. The
// conversion itself is client/hbom.h.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <random>

#include "client/cli.h"
#include "client/hbom.h"
#include "proto/state.pb.h"
#include "verifier/rules.h"
#include "verifier/state.h"

namespace prov {
namespace {

namespace hbom = client::hbom;

// A verified replay of the whole log and the client that made it.
struct Ledger {
  std::unique_ptr<client::LedgerClient> client;
  client::VerifiedCheckpoint head;
  client::AuditReport report;
};

Result<Ledger> Replay() {
  Ledger l;
  PROV_ASSIGN_OR_RETURN(l.client, ConnectReader());
  PROV_ASSIGN_OR_RETURN(l.head, l.client->GetCheckpoint());
  PROV_ASSIGN_OR_RETURN(l.report, client::Audit(*l.client, l.head));
  PROV_RETURN_IF_ERROR(SaveTrust(*l.client));
  return l;
}

template <class M>
Result<bool> LoadState(const Ledger& l, const std::string& key, M* out) {
  std::string value;
  PROV_ASSIGN_OR_RETURN(bool found, l.report.state.Get(key, &value));
  if (!found) return false;
  if (!out->ParseFromString(value)) {
    return verifier::DataLoss("BAD_STATE", "unreadable replayed state at " + key);
  }
  return true;
}

// The record at leaf `index`, read again and proven included in the head.
Result<pb::Record> ProvenRecord(Ledger& l, uint64_t index) {
  PROV_ASSIGN_OR_RETURN(auto leaves, l.client->GetEntries(index, index + 1));
  if (leaves.size() != 1) {
    return verifier::DataLoss("BAD_ENTRIES", "asked for entry #" + std::to_string(index) +
                                                 ", got " + std::to_string(leaves.size()));
  }
  PROV_RETURN_IF_ERROR(l.client->ProveInclusion(index, leaves[0], l.head));
  pb::Record r;
  if (!verifier::ParseLeafRecord(leaves[0], &r)) {
    return verifier::DataLoss("BAD_ENTRY", "entry #" + std::to_string(index) + " is no record");
  }
  return r;
}

std::vector<hbom::RegisteredOrg> Orgs(const Ledger& l) {
  std::vector<hbom::RegisteredOrg> orgs;
  l.report.state.ForEach(
      verifier::state_key::kOrgPrefix, [&](std::string_view, std::string_view value) {
        pb::OrgState os;
        if (!os.ParseFromArray(value.data(), static_cast<int>(value.size()))) return;
        const auto& o = os.current();
        orgs.push_back({o.org_id(), o.legal_name(), {o.aliases().begin(), o.aliases().end()}});
      });
  return orgs;
}

// Adds the registered component (maker, part) to `view`, if registered.
Status AddComponent(Ledger& l, const std::string& maker, const std::string& part,
                    hbom::LedgerView* view) {
  if (maker.empty() || part.empty() || view->components.count({maker, part})) {
    return Status::Ok();
  }
  pb::ComponentState cs;
  PROV_ASSIGN_OR_RETURN(bool found, LoadState(l, verifier::state_key::Component(maker, part), &cs));
  if (!found) return Status::Ok();
  PROV_ASSIGN_OR_RETURN(pb::Record r, ProvenRecord(l, cs.index()));
  if (!r.has_component() || r.component().maker_org() != maker ||
      r.component().part_number() != part) {
    return verifier::DataLoss("BAD_STATE", "entry #" + std::to_string(cs.index()) +
                                               " is not component " + maker + "/" + part);
  }
  view->components[{maker, part}] = {r.component(), cs.index()};
  return Status::Ok();
}

Status AddModel(const Ledger& l, const std::string& org, const std::string& model_id,
                hbom::LedgerView* view) {
  pb::ModelState ms;
  PROV_ASSIGN_OR_RETURN(bool found, LoadState(l, verifier::state_key::Model(org, model_id), &ms));
  if (found) view->model = hbom::Logged<pb::DeviceModel>{ms.model(), ms.index()};
  return Status::Ok();
}

// "bom.json: /components/3/name: missing"; "bom.json:3:14: not JSON: ...".
std::string Located(const std::string& file, const hbom::Problem& p) {
  if (p.pointer.empty()) return file + ": " + p.message;
  if (p.pointer[0] == '/' || p.pointer[0] == '-') return file + ": " + p.pointer + ": " + p.message;
  return file + ":" + p.pointer + ": " + p.message;
}

const char* KindName(hbom::Problem::Kind k) {
  switch (k) {
    case hbom::Problem::Kind::kMalformed:
      return "malformed";
    case hbom::Problem::Kind::kUnknownMaker:
      return "unknown_maker";
    case hbom::Problem::Kind::kLedgerConflict:
      return "ledger_conflict";
  }
  return "";
}

// Prints every problem; exit 64 when the BOM (or a name in it) is at fault,
// 1 when only the ledger's rules would refuse it.
int ReportProblems(const std::string& file, const std::vector<hbom::Problem>& problems) {
  bool usage = false, unknown = false;
  for (const auto& p : problems) {
    usage |= p.kind != hbom::Problem::Kind::kLedgerConflict;
    unknown |= p.kind == hbom::Problem::Kind::kUnknownMaker;
  }
  const int rc = usage ? kUsage : kRejected;
  const std::string reason = !usage ? "LEDGER_CONFLICT" : unknown ? "UNKNOWN_MAKER" : "BAD_BOM";
  const std::string summary = file + ": " + std::to_string(problems.size()) +
                              (problems.size() == 1 ? " problem" : " problems") +
                              "; nothing was logged";
  if (G().json) {
    json list = json::array();
    for (const auto& p : problems) {
      list.push_back({{"pointer", p.pointer},
                      {"kind", KindName(p.kind)},
                      {"message", p.message},
                      {"text", Located(file, p)}});
    }
    std::cout << json{{"ok", false},
                      {"reason", reason},
                      {"message", summary},
                      {"problems", list},
                      {"exit_code", rc}}
                     .dump()
              << "\n";
  } else {
    for (const auto& p : problems) std::fprintf(stderr, "prov: %s\n", Located(file, p).c_str());
    std::fprintf(stderr, "prov: %s\n", summary.c_str());
  }
  return rc;
}

std::string ComponentName(const pb::Component& c) { return c.maker_org() + "/" + c.part_number(); }

struct ImportOpts {
  std::string file, org, model_id, brand, out;
  std::vector<std::string> keys;
  bool dry_run = false;
};

int ImportHbom(const ImportOpts& o) {
  struct stat st {};
  if (stat(o.file.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) > hbom::kMaxBomBytes) {
    return ReportProblems(
        o.file, {{hbom::Problem::Kind::kMalformed, "",
                  "the file is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                      std::to_string(hbom::kMaxBomBytes) + " (4 MiB); it was not read"}});
  }
  auto text = ReadFile(o.file);
  if (!text.ok()) return Report(text.status());
  std::vector<hbom::Problem> problems;
  const hbom::Bom bom = hbom::Parse(*text, &problems);
  if (!problems.empty()) return ReportProblems(o.file, problems);

  auto ledger = Replay();
  if (!ledger.ok()) return Report(ledger.status());
  hbom::LedgerView view;
  view.orgs = Orgs(*ledger);
  const hbom::ImportOptions opts{o.org, o.model_id, o.brand};
  for (const auto& part : bom.parts) {
    std::vector<std::string> makers;
    if (!part.maker_org.empty()) {
      makers.push_back(part.maker_org);
    } else {
      makers = hbom::ResolveOrg(view, part.maker_name);
    }
    for (const auto& m : makers) {
      if (Status s = AddComponent(*ledger, m, part.part_number, &view); !s.ok()) {
        return Report(s);
      }
    }
  }
  if (Status s = AddModel(*ledger, o.org, hbom::ModelIdOf(bom, opts), &view); !s.ok()) {
    return Report(s);
  }
  const hbom::Plan plan = hbom::PlanImport(bom, view, opts, &problems);
  if (!problems.empty()) return ReportProblems(o.file, problems);

  const std::string model_name = o.org + "/" + plan.model.model_id();
  const bool nothing_new = plan.new_components.empty() && !plan.model_is_new;
  if (o.dry_run || nothing_new) {
    if (G().json) {
      json fresh = json::array(), registered = json::array();
      for (const auto& n : plan.new_components) {
        fresh.push_back({{"kind", "component"},
                         {"id", ComponentName(n.component)},
                         {"pointer", n.pointer},
                         {"record", json::parse(RecordJson(n.component))}});
      }
      if (plan.model_is_new) {
        fresh.push_back({{"kind", "device model"},
                         {"id", model_name},
                         {"pointer", "/metadata/component"},
                         {"record", json::parse(RecordJson(plan.model))}});
      }
      for (const auto& k : plan.registered) {
        registered.push_back({{"kind", "component"},
                              {"id", k.key.first + "/" + k.key.second},
                              {"pointer", k.pointer},
                              {"index", k.index}});
      }
      if (!plan.model_is_new) {
        registered.push_back({{"kind", "device model"},
                              {"id", model_name},
                              {"pointer", "/metadata/component"},
                              {"index", plan.model_index}});
      }
      std::cout << json{{"ok", true},
                        {"dry_run", o.dry_run},
                        {"checkpoint", HeadJson(ledger->head.checkpoint)},
                        {"new", fresh},
                        {"registered", registered},
                        {"skipped", bom.skipped}}
                       .dump()
                << "\n";
      return kOk;
    }
    if (o.dry_run) {
      std::printf("dry run: nothing submitted; %s checked against the log at size %llu\n",
                  o.file.c_str(), static_cast<unsigned long long>(ledger->head.checkpoint.size));
    }
    for (const auto& n : plan.new_components) {
      std::printf("  would log component %s (%s, %s)  %s\n", ComponentName(n.component).c_str(),
                  hbom::KindName(n.component.kind()).c_str(),
                  n.component.country_of_origin().c_str(), n.pointer.c_str());
    }
    for (const auto& k : plan.registered) {
      std::printf("  registered component %s/%s at #%llu  %s\n", k.key.first.c_str(),
                  k.key.second.c_str(), static_cast<unsigned long long>(k.index),
                  k.pointer.c_str());
    }
    if (plan.model_is_new) {
      std::printf("  would log device model %s (%d BOM lines)\n", model_name.c_str(),
                  plan.model.bom_size());
    } else {
      std::printf("  registered device model %s at #%llu\n", model_name.c_str(),
                  static_cast<unsigned long long>(plan.model_index));
    }
    for (const auto& s : bom.skipped) std::printf("  skipped %s\n", s.c_str());
    if (nothing_new) {
      std::printf("nothing new: the model and every component are registered as %s says\n",
                  o.file.c_str());
    }
    return kOk;
  }

  std::vector<pb::Record> records;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& n : plan.new_components) {
    pb::Record r;
    r.set_issued_at(now);
    *r.mutable_component() = n.component;
    records.push_back(std::move(r));
  }
  if (plan.model_is_new) {
    pb::Record r;
    r.set_issued_at(now);
    *r.mutable_device_model() = plan.model;
    records.push_back(std::move(r));
  }
  if (!G().json) {
    for (const auto& k : plan.registered) {
      std::fprintf(stderr, "prov: component %s/%s is registered at #%llu (%s)\n",
                   k.key.first.c_str(), k.key.second.c_str(),
                   static_cast<unsigned long long>(k.index), k.pointer.c_str());
    }
    for (const auto& s : bom.skipped) std::fprintf(stderr, "prov: skipped %s\n", s.c_str());
  }
  return SignAndSubmit(records, o.keys, o.out);
}

std::string NewUuid() {
  std::random_device rd;
  uint8_t b[16];
  for (auto& x : b) x = static_cast<uint8_t>(rd());
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = verifier::HexEncode(std::span<const uint8_t>(b, 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct ExportOpts {
  std::string org, model_id, out;
};

int ExportHbom(const ExportOpts& o) {
  auto ledger = Replay();
  if (!ledger.ok()) return Report(ledger.status());
  hbom::ExportInput in;
  in.ledger.orgs = Orgs(*ledger);
  if (Status s = AddModel(*ledger, o.org, o.model_id, &in.ledger); !s.ok()) return Report(s);
  if (!in.ledger.model) {
    return Report(verifier::NotFound(
        "UNKNOWN_MODEL", "model " + o.org + "/" + o.model_id + " is not registered (log size " +
                             std::to_string(ledger->head.checkpoint.size) + ")"));
  }
  in.model = *in.ledger.model;
  for (const auto& line : in.model.record.bom()) {
    const auto& ref = line.component();
    if (Status s = AddComponent(*ledger, ref.maker_org(), ref.part_number(), &in.ledger); !s.ok()) {
      return Report(s);
    }
  }
  // The model record itself, proven like its components.
  auto model_record = ProvenRecord(*ledger, in.model.index);
  if (!model_record.ok()) return Report(model_record.status());
  if (!model_record->has_device_model() ||
      model_record->device_model().SerializeAsString() != in.model.record.SerializeAsString()) {
    return Report(verifier::DataLoss(
        "BAD_STATE", "entry #" + std::to_string(in.model.index) + " is not the model's record"));
  }
  const auto& cp = ledger->head.checkpoint;
  in.origin = cp.origin;
  in.tree_size = cp.size;
  in.root_hex = verifier::HexEncode(cp.root);
  in.serial_number = "urn:uuid:" + NewUuid();
  in.timestamp = NowRfc3339();
#ifdef PROV_VERSION
  in.tool_version = PROV_VERSION;
#endif
  auto doc = hbom::Export(in);
  if (!doc.ok()) return Report(doc.status());
  if (o.out.empty()) {
    std::cout << *doc;
    return kOk;
  }
  if (Status s = WriteFile(o.out, *doc); !s.ok()) return Report(s);
  if (G().json) {
    std::cout << json{{"ok", true},
                      {"file", o.out},
                      {"model", o.org + "/" + o.model_id},
                      {"components", in.model.record.bom_size()},
                      {"checkpoint", HeadJson(cp)}}
                     .dump()
              << "\n";
  } else {
    std::printf(
        "wrote %s: CycloneDX 1.6 BOM of %s/%s (%d components), from the log verified "
        "at size %llu\n",
        o.out.c_str(), o.org.c_str(), o.model_id.c_str(), in.model.record.bom_size(),
        static_cast<unsigned long long>(cp.size));
  }
  return kOk;
}

}  // namespace

void AddHbomCommands(CLI::App& app) {
  CLI::App* mfr = app.get_subcommand("manufacturer");
  {
    auto o = std::make_shared<ImportOpts>();
    auto* sub = mfr->add_subcommand(
        "import-hbom",
        "register the components and the device model of a CycloneDX 1.6 hardware BOM "
        "(docs/hbom.md)");
    sub->add_option("FILE", o->file, "CycloneDX 1.6 JSON (at most 4 MiB)")->required();
    sub->add_option("--org", o->org, "the importing org (the device's maker) id")->required();
    sub->add_option("--model-id", o->model_id, "model id (default: metadata.component.name)");
    sub->add_option("--brand", o->brand,
                    "brand org on the box, id or name (default: prov:model:brandOrg, else --org)");
    sub->add_flag("--dry-run", o->dry_run,
                  "check everything against the ledger and print what would be logged; "
                  "submit nothing");
    SigningOptions(sub, o->keys, o->out, false);
    OnRun(sub, [o] { return ImportHbom(*o); });
  }
  {
    auto o = std::make_shared<ExportOpts>();
    auto* model = app.add_subcommand("model", "device models");
    model->require_subcommand(1);
    auto* sub = model->add_subcommand(
        "export-hbom",
        "write a registered model's BOM as CycloneDX 1.6 JSON, from the verified log");
    sub->add_option("--org", o->org, "manufacturer org id")->required();
    sub->add_option("--model-id", o->model_id, "model id")->required();
    sub->add_option("--out", o->out, "file to write (default: standard output)");
    OnRun(sub, [o] { return ExportHbom(*o); });
  }
}

}  // namespace prov
