// prov subcommands that judge devices: check, delivery check, bundle export,
// and scan (live attestation from a camera). Every verdict comes from
// verifier/judge.h over evidence verified here: the checkpoint against the
// pinned log key (and the trust store), every inclusion proof, every record
// signature, and a replay through the rulebook.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "client/cli.h"
#include "client/device_scan.h"
#include "client/manifest.h"
#include "client/model_graph.h"
#include "client/policy_file.h"
#include "client/report_html.h"
#include "verifier/judge.h"
#include "verifier/policy.h"

namespace prov {
namespace {

using verifier::Finding;
using verifier::Judgement;
using verifier::Verdict;

// Evidence requests carry at most this many devices.
constexpr size_t kEvidenceChunk = 500;

int VerdictExit(Verdict v) {
  switch (v) {
    case Verdict::kTrusted: return kOk;
    case Verdict::kRejected: return kRejected;
    case Verdict::kUnverified: return kCannotTell;
  }
  return kCannotTell;
}

const char* SeverityName(Finding::Severity s) {
  switch (s) {
    case Finding::Severity::kInfo: return "ok";
    case Finding::Severity::kUnverified: return "unverified";
    case Finding::Severity::kReject: return "REJECT";
  }
  return "?";
}

std::string Indices(const std::vector<uint64_t>& v) {
  std::string out;
  for (uint64_t i : v) out += (out.empty() ? "#" : " #") + std::to_string(i);
  return out.empty() ? "" : "[" + out + "]";
}

json FindingsJson(const std::vector<Finding>& findings) {
  json out = json::array();
  for (const auto& f : findings) {
    out.push_back({{"code", f.code},
                   {"severity", SeverityName(f.severity)},
                   {"message", f.message},
                   {"indices", f.indices}});
  }
  return out;
}

json JudgementJson(const std::string& device, const Judgement& j) {
  return {{"device", device},
          {"verdict", verifier::VerdictName(j.verdict)},
          {"findings", FindingsJson(j.findings)},
          {"tree_size", j.tree_size}};
}

void PrintJudgement(const std::string& device, const Judgement& j) {
  std::printf("%s: %s\n", device.c_str(), verifier::VerdictName(j.verdict));
  for (const auto& f : j.findings) {
    std::printf("  %-10s %-22s %s %s\n", SeverityName(f.severity), f.code.c_str(),
                f.message.c_str(), Indices(f.indices).c_str());
  }
}

// The --policy option of check, scan and delivery check.
struct PolicyChoice {
  std::string path;
  std::shared_ptr<const verifier::Policy> policy;  // null without --policy

  Status Load() {
    if (path.empty()) return Status::Ok();
    PROV_ASSIGN_OR_RETURN(verifier::Policy p, client::LoadPolicy(path));
    policy = std::make_shared<const verifier::Policy>(std::move(p));
    return Status::Ok();
  }
  // A fresh evaluator (it memoises the ownership graph of the evidence).
  verifier::PolicyFn Fn() const {
    return policy ? verifier::MakePolicyFn(policy, std::time(nullptr)) : verifier::PolicyFn{};
  }
  void Finish(bool attested, Judgement* j) const {
    if (policy) verifier::ApplyRequired(*policy, attested, j);
  }
  json Json() const {
    return policy ? json{{"name", policy->name}, {"source", policy->source}, {"file", path}}
                  : json(nullptr);
  }
  void Print() const {
    if (policy) std::printf("policy %s: %s\n", policy->name.c_str(), policy->source.c_str());
  }
};

void AddPolicyOption(CLI::App* cmd, PolicyChoice* p) {
  cmd->add_option("--policy", p->path,
                  "judge against a trust policy file (YAML; e.g. policies/uk-sensitive-site.yaml)")
      ->envname("PROV_POLICY");
}

pb::DeviceRef Ref(const std::string& mfr, const std::string& serial) {
  pb::DeviceRef r;
  r.set_manufacturer_org(mfr);
  r.set_serial(serial);
  return r;
}

// Fetches evidence for `devices` (in chunks) and verifies each response; the
// checkpoint of each must be consistent with the trust store.
Result<std::vector<verifier::VerifiedEvidence>> FetchEvidence(
    client::LedgerClient& c, const std::vector<pb::DeviceRef>& devices,
    verifier::RecordCache* cache, std::vector<pb::Evidence>* raw,
    const std::function<void(size_t)>& progress = {}) {
  std::vector<verifier::VerifiedEvidence> out;
  for (size_t start = 0; start < devices.size(); start += kEvidenceChunk) {
    pb::GetEvidenceRequest req;
    for (size_t i = start; i < std::min(devices.size(), start + kEvidenceChunk); ++i) {
      *req.add_devices() = devices[i];
    }
    pb::Evidence ev;
    grpc::ClientContext ctx;
    PROV_RETURN_IF_ERROR(client::FromGrpc(c.stub().GetEvidence(&ctx, req, &ev)));
    PROV_RETURN_IF_ERROR(c.Observe(ev.checkpoint().note()).status());
    PROV_ASSIGN_OR_RETURN(auto verified, verifier::VerifyEvidence(ev, c.verifier(), cache));
    out.push_back(std::move(verified));
    if (raw) raw->push_back(std::move(ev));
    if (progress) progress(std::min(devices.size(), start + kEvidenceChunk));
  }
  return out;
}

Result<verifier::VerifiedEvidence> LoadBundle(const std::string& path,
                                              verifier::RecordCache* cache) {
  PROV_ASSIGN_OR_RETURN(std::string vkey_text, PinnedVkey());
  PROV_ASSIGN_OR_RETURN(auto vkey, verifier::ParseVerifierKey(vkey_text));
  PROV_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  PROV_ASSIGN_OR_RETURN(pb::Evidence ev, verifier::ParseBundle(bytes));
  return verifier::VerifyEvidence(ev, vkey, cache);
}

// Evidence for one device: from a bundle file (offline) or from the ledger.
Result<verifier::VerifiedEvidence> EvidenceFor(const std::string& bundle,
                                               const std::string& mfr,
                                               const std::string& serial,
                                               verifier::RecordCache* cache) {
  if (!bundle.empty()) return LoadBundle(bundle, cache);
  PROV_ASSIGN_OR_RETURN(auto c, Connect());
  PROV_RETURN_IF_ERROR(c->GetCheckpoint().status());
  PROV_ASSIGN_OR_RETURN(auto evs, FetchEvidence(*c, {Ref(mfr, serial)}, cache, nullptr));
  PROV_RETURN_IF_ERROR(SaveTrust(*c));
  return std::move(evs.front());
}

// --- check ---
struct CheckOpts {
  std::string manufacturer, serial, buyer, supplier, model, bundle;
  PolicyChoice policy;
};

int Check(CheckOpts& o) {
  if (Status s = o.policy.Load(); !s.ok()) return Report(s);
  verifier::RecordCache cache;
  auto ev = EvidenceFor(o.bundle, o.manufacturer, o.serial, &cache);
  if (!ev.ok()) return Report(ev.status());
  Judgement j = verifier::JudgeDevice(
      *ev, {o.manufacturer, o.serial, o.buyer, o.model, o.supplier}, o.policy.Fn());
  o.policy.Finish(false, &j);
  const std::string name = o.manufacturer + "/" + o.serial;
  if (G().json) {
    json out = JudgementJson(name, j);
    out["policy"] = o.policy.Json();
    out["checkpoint"] = HeadJson(ev->checkpoint);
    out["offline"] = !o.bundle.empty();
    std::cout << out.dump() << "\n";
  } else {
    o.policy.Print();
    PrintJudgement(name, j);
    std::printf("verified against the signed checkpoint of size %llu%s\n",
                static_cast<unsigned long long>(ev->checkpoint.size),
                o.bundle.empty() ? "" : " (offline, from the bundle)");
  }
  return VerdictExit(j.verdict);
}

// --- delivery check ---
using client::ManifestRow;

Result<std::vector<ManifestRow>> ReadManifest(const std::string& path,
                                              const std::string& default_mfr) {
  PROV_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return client::ParseManifest(text, path, default_mfr);
}

class Progress {
 public:
  Progress(const char* what, size_t total)
      : what_(what), total_(total), on_(!G().json && isatty(2)) {}
  void Update(size_t done) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const int width = 30;
    int filled = total_ ? static_cast<int>(width * done / total_) : width;
    std::fprintf(stderr, "\r%s [%s%s] %zu/%zu", what_, std::string(filled, '=').c_str(),
                 std::string(width - filled, ' ').c_str(), done, total_);
    if (done >= total_) std::fprintf(stderr, "\n");
  }

 private:
  const char* what_;
  size_t total_;
  bool on_;
  std::chrono::steady_clock::time_point last_{};
};

struct DeliveryOpts {
  std::string manifest, buyer, supplier, manufacturer, html;
  PolicyChoice policy;
};

struct JudgedRow {
  const ManifestRow* row;
  const verifier::VerifiedEvidence* ev;  // null: the device was not fetched
  Judgement j;
};

// The HTML report: one row per device, one graph per device model.
Status WriteDeliveryHtml(const DeliveryOpts& o, const std::vector<JudgedRow>& judged,
                         const std::map<Verdict, size_t>& counts) {
  client::DeliveryReport r;
  r.manifest = o.manifest;
  r.buyer = o.buyer;
  r.supplier = o.supplier;
  if (o.policy.policy) {
    r.policy_name = o.policy.policy->name;
    r.policy_source = o.policy.policy->source;
  }
  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  r.generated_at = when;
  auto count = [&](Verdict v) { return counts.count(v) ? counts.at(v) : 0; };
  r.trusted = count(Verdict::kTrusted);
  r.rejected = count(Verdict::kRejected);
  r.unverified = count(Verdict::kUnverified);
  // Findings that reject or leave a device unverified light up their records.
  std::map<std::string, std::set<uint64_t>> hot;
  std::map<std::string, const JudgedRow*> first;
  for (const JudgedRow& jr : judged) {
    client::ReportRow row{jr.row->line, jr.row->manufacturer + "/" + jr.row->serial, "",
                          verifier::VerdictName(jr.j.verdict), {}};
    if (jr.j.registered) {
      row.graph = jr.row->manufacturer + "/" + jr.j.device.model_id();
      first.emplace(row.graph, &jr);
    }
    for (const Finding& f : jr.j.findings) {
      row.findings.push_back({f.code, SeverityName(f.severity), f.message, f.indices});
      if (f.severity != Finding::Severity::kInfo && !row.graph.empty()) {
        hot[row.graph].insert(f.indices.begin(), f.indices.end());
      }
    }
    r.rows.push_back(std::move(row));
    if (jr.ev) {
      r.tree_size = jr.ev->checkpoint.size;
      r.root_hex = verifier::HexEncode(jr.ev->checkpoint.root);
    }
  }
  for (const auto& [key, jr] : first) {
    verifier::OwnershipGraph owners(*jr->ev);
    r.graphs[key] = client::ModelGraph(*jr->ev, owners, jr->row->manufacturer,
                                       jr->j.device.model_id(), hot[key]);
  }
  PROV_ASSIGN_OR_RETURN(std::string html, client::RenderDeliveryHtml(r));
  return WriteFile(o.html, html);
}

int DeliveryCheck(DeliveryOpts& o) {
  if (Status s = o.policy.Load(); !s.ok()) return Report(s);
  auto rows = ReadManifest(o.manifest, o.manufacturer);
  if (!rows.ok()) return Report(rows.status());
  auto c = Connect();
  if (!c.ok()) return Report(c.status());
  if (auto head = (*c)->GetCheckpoint(); !head.ok()) return Report(head.status());

  // Duplicates in the manifest are flagged; each device is fetched once.
  std::map<std::string, size_t> first_line;
  std::vector<pb::DeviceRef> devices;
  for (const auto& r : *rows) {
    if (first_line.emplace(r.manufacturer + "/" + r.serial, r.line).second) {
      devices.push_back(Ref(r.manufacturer, r.serial));
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  verifier::RecordCache cache;
  Progress bar("checking", devices.size());
  auto evidence = FetchEvidence(**c, devices, &cache, nullptr,
                                [&](size_t done) { bar.Update(done); });
  if (!evidence.ok()) return Report(evidence.status());
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);

  // Which evidence response holds each device.
  std::map<std::string, const verifier::VerifiedEvidence*> holder;
  for (size_t i = 0; i < devices.size(); ++i) {
    holder[devices[i].manufacturer_org() + "/" + devices[i].serial()] =
        &(*evidence)[i / kEvidenceChunk];
  }
  const auto t_judge = std::chrono::steady_clock::now();
  const verifier::PolicyFn policy = o.policy.Fn();
  std::map<Verdict, size_t> counts;
  std::vector<JudgedRow> judged;
  judged.reserve(rows->size());
  for (const auto& r : *rows) {
    const std::string name = r.manufacturer + "/" + r.serial;
    const verifier::VerifiedEvidence* ev = holder[name];
    Judgement j =
        verifier::JudgeDevice(*ev, {r.manufacturer, r.serial, o.buyer, r.model, o.supplier},
                              policy);
    o.policy.Finish(false, &j);
    if (first_line[name] != r.line) {
      j.findings.push_back({Finding::Severity::kReject, "DUPLICATE_IN_MANIFEST",
                            name + " is listed again (first on line " +
                                std::to_string(first_line[name]) + ")",
                            {}});
      verifier::Decide(&j);
    }
    counts[j.verdict]++;
    judged.push_back({&r, ev, std::move(j)});
  }
  const auto t_end = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(t_end - t0).count();
  const double judge_seconds = std::chrono::duration<double>(t_end - t_judge).count();
  const uint64_t size = evidence->empty() ? 0 : evidence->back().checkpoint.size;
  if (!o.html.empty()) {
    if (Status s = WriteDeliveryHtml(o, judged, counts); !s.ok()) return Report(s);
  }
  if (G().json) {
    json out_rows = json::array();
    for (const auto& jr : judged) {
      json row = JudgementJson(jr.row->manufacturer + "/" + jr.row->serial, jr.j);
      row["line"] = jr.row->line;
      out_rows.push_back(std::move(row));
    }
    std::cout << json{{"manifest", o.manifest},
                      {"buyer", o.buyer},
                      {"supplier", o.supplier},
                      {"policy", o.policy.Json()},
                      {"rows", rows->size()},
                      {"trusted", counts[Verdict::kTrusted]},
                      {"rejected", counts[Verdict::kRejected]},
                      {"unverified", counts[Verdict::kUnverified]},
                      {"seconds", seconds},
                      {"judge_seconds", judge_seconds},
                      {"tree_size", size},
                      {"html", o.html.empty() ? json(nullptr) : json(o.html)},
                      {"devices", out_rows}}
                     .dump()
              << "\n";
  } else {
    std::printf("delivery %s to %s%s: %zu rows checked in %.2f s (judging %.3f s) against the "
                "signed checkpoint of size %llu\n",
                o.manifest.c_str(), o.buyer.c_str(),
                o.supplier.empty() ? "" : (" from " + o.supplier).c_str(), rows->size(), seconds,
                judge_seconds, static_cast<unsigned long long>(size));
    o.policy.Print();
    std::printf("  %-10s %zu\n  %-10s %zu\n  %-10s %zu\n", "TRUSTED", counts[Verdict::kTrusted],
                "REJECTED", counts[Verdict::kRejected], "UNVERIFIED",
                counts[Verdict::kUnverified]);
    bool header = false;
    for (const auto& jr : judged) {
      if (jr.j.verdict == Verdict::kTrusted) continue;
      if (!header) {
        std::printf("\n  %-6s %-28s %-11s %-22s %s\n", "line", "device", "verdict", "finding",
                    "why");
        header = true;
      }
      for (const auto& f : jr.j.findings) {
        if (f.severity == Finding::Severity::kInfo) continue;
        std::printf("  %-6zu %-28s %-11s %-22s %s %s\n", jr.row->line,
                    (jr.row->manufacturer + "/" + jr.row->serial).c_str(),
                    verifier::VerdictName(jr.j.verdict), f.code.c_str(), f.message.c_str(),
                    Indices(f.indices).c_str());
      }
    }
    if (!o.html.empty()) std::printf("\nHTML report: %s\n", o.html.c_str());
  }
  if (counts[Verdict::kRejected]) return kRejected;
  if (counts[Verdict::kUnverified]) return kCannotTell;
  return kOk;
}

// --- bundle export ---
struct BundleOpts {
  std::string out, manufacturer, custodian;
  std::vector<std::string> serials;
};

// The devices held by `org`, from a full replay of the log (prov audit).
Result<std::vector<pb::DeviceRef>> HeldBy(client::LedgerClient& c, const std::string& org) {
  PROV_ASSIGN_OR_RETURN(auto head, c.GetCheckpoint());
  PROV_ASSIGN_OR_RETURN(auto report, client::Audit(c, head));
  std::vector<pb::DeviceRef> out;
  report.state.ForEach(verifier::state_key::kDevicePrefix,
                       [&](std::string_view key, std::string_view value) {
                         pb::DeviceState ds;
                         if (!ds.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
                             ds.custodian_org() != org) {
                           return;
                         }
                         key.remove_prefix(verifier::state_key::kDevicePrefix.size());
                         size_t sep = key.find('\0');
                         out.push_back(Ref(std::string(key.substr(0, sep)),
                                           std::string(key.substr(sep + 1))));
                       });
  return out;
}

// Merges evidence responses into one, proven against the newest checkpoint:
// entries proven against an older one get a fresh proof.
Result<pb::Evidence> Merge(client::LedgerClient& c, std::vector<pb::Evidence> parts) {
  pb::Evidence out;
  size_t newest = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].checkpoint().size() > parts[newest].checkpoint().size()) newest = i;
  }
  *out.mutable_checkpoint() = parts[newest].checkpoint();
  const uint64_t size = out.checkpoint().size();
  std::map<uint64_t, pb::EvidenceEntry> entries;
  for (auto& p : parts) {
    const bool fresh = p.checkpoint().size() == size;
    for (auto& e : *p.mutable_entries()) {
      if (entries.count(e.index()) && !fresh) continue;
      if (!fresh) {
        pb::GetInclusionProofRequest req;
        req.set_index(e.index());
        req.set_tree_size(size);
        pb::GetInclusionProofResponse resp;
        grpc::ClientContext ctx;
        PROV_RETURN_IF_ERROR(client::FromGrpc(c.stub().GetInclusionProof(&ctx, req, &resp)));
        *e.mutable_proof() = resp.proof().hashes();
      }
      entries[e.index()] = std::move(e);
    }
    for (auto& d : *p.mutable_unknown_devices()) *out.add_unknown_devices() = std::move(d);
  }
  for (auto& [i, e] : entries) *out.add_entries() = std::move(e);
  return out;
}

int BundleExport(const BundleOpts& o) {
  auto c = Connect();
  if (!c.ok()) return Report(c.status());
  if (auto head = (*c)->GetCheckpoint(); !head.ok()) return Report(head.status());
  std::vector<pb::DeviceRef> devices;
  if (!o.custodian.empty()) {
    auto held = HeldBy(**c, o.custodian);
    if (!held.ok()) return Report(held.status());
    devices = std::move(held).value();
  }
  for (const auto& s : o.serials) devices.push_back(Ref(o.manufacturer, s));
  if (devices.empty()) {
    return Report(verifier::InvalidArgument("NO_DEVICES", "no devices to export"));
  }
  verifier::RecordCache cache;
  std::vector<pb::Evidence> parts;
  auto evidence = FetchEvidence(**c, devices, &cache, &parts);
  if (!evidence.ok()) return Report(evidence.status());
  auto merged = Merge(**c, std::move(parts));
  if (!merged.ok()) return Report(merged.status());
  if (merged->unknown_devices_size() > 0) {
    const auto& d = merged->unknown_devices(0);
    return Report(verifier::NotFound("UNKNOWN_DEVICE", d.manufacturer_org() + "/" + d.serial() +
                                                           " is not registered"),
                  kRejected);
  }
  // Never write a bundle that does not verify.
  auto check = verifier::VerifyEvidence(*merged, (*c)->verifier(), &cache);
  if (!check.ok()) return Report(check.status());
  const std::string bytes = merged->SerializeAsString();
  if (Status s = WriteFile(o.out, bytes); !s.ok()) return Report(s);
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  if (G().json) {
    std::cout << json{{"ok", true},         {"file", o.out},
                      {"devices", devices.size()}, {"entries", merged->entries_size()},
                      {"bytes", bytes.size()},     {"checkpoint", HeadJson(check->checkpoint)}}
                     .dump()
              << "\n";
  } else {
    std::printf("wrote %s: %zu devices, %d entries with inclusion proofs, checkpoint of size "
                "%llu (%zu bytes); check it offline with `prov check --bundle`\n",
                o.out.c_str(), devices.size(), merged->entries_size(),
                static_cast<unsigned long long>(check->checkpoint.size), bytes.size());
  }
  return kOk;
}

// --- scan ---
struct ScanOpts {
  std::string device, buyer, bundle, device_ca;
  int64_t max_age = 300;
  PolicyChoice policy;
};

int Scan(ScanOpts& o) {
  if (Status s = o.policy.Load(); !s.ok()) return Report(s);
  transport::TlsFiles device_tls;
  device_tls.ca = o.device_ca;
  device_tls.plaintext = G().tls.plaintext;
  auto live = client::ReadDevice(o.device, device_tls);
  if (!live.ok()) return Report(live.status());
  verifier::RecordCache cache;
  auto ev = EvidenceFor(o.bundle, live->info.manufacturer_org(), live->info.serial_number(),
                        &cache);
  if (!ev.ok()) return Report(ev.status());
  Judgement j = verifier::JudgeDevice(
      *ev, {live->info.manufacturer_org(), live->info.serial_number(), o.buyer, "", ""},
      o.policy.Fn());
  client::JudgeAttestation(*ev, *live, o.max_age, &j);
  o.policy.Finish(true, &j);
  const std::string name = live->info.manufacturer_org() + "/" + live->info.serial_number();
  if (G().json) {
    json out = JudgementJson(name, j);
    out["device_address"] = o.device;
    out["policy"] = o.policy.Json();
    out["checkpoint"] = HeadJson(ev->checkpoint);
    out["offline"] = !o.bundle.empty();
    out["firmware_sha256"] = verifier::HexEncode(verifier::AsBytes(live->info.firmware_sha256()));
    std::cout << out.dump() << "\n";
  } else {
    std::printf("camera at %s says: %s %s, serial %s, firmware %s\n", o.device.c_str(),
                live->info.manufacturer().c_str(), live->info.model().c_str(),
                live->info.serial_number().c_str(), live->info.firmware_version().c_str());
    o.policy.Print();
    PrintJudgement(name, j);
  }
  return VerdictExit(j.verdict);
}

}  // namespace

void AddCheckCommands(CLI::App& app) {
  auto co = std::make_shared<CheckOpts>();
  auto* check = app.add_subcommand(
      "check", "judge one device: TRUSTED (exit 0), REJECTED (1) or UNVERIFIED (2)");
  check->add_option("--manufacturer", co->manufacturer, "manufacturer org id")->required();
  check->add_option("--serial", co->serial, "serial number")->required();
  check->add_option("--buyer", co->buyer, "custody must end at this org");
  check->add_option("--supplier", co->supplier, "the buyer must have received it from this org");
  check->add_option("--model", co->model, "expected model id");
  check->add_option("--bundle", co->bundle,
                    "judge offline from an evidence bundle (needs only --vkey)");
  AddPolicyOption(check, &co->policy);
  OnRun(check, [co] { return Check(*co); });

  auto dopts = std::make_shared<DeliveryOpts>();
  auto* delivery = app.add_subcommand("delivery", "procurement: check deliveries");
  delivery->require_subcommand(1);
  auto* dcheck = delivery->add_subcommand(
      "check", "check every device of a delivery manifest (CSV: manufacturer,serial,model)");
  dcheck->add_option("manifest", dopts->manifest, "manifest CSV with a header row")->required();
  dcheck->add_option("--buyer", dopts->buyer, "the receiving org")->required();
  dcheck->add_option("--supplier", dopts->supplier, "the org that must have shipped each unit");
  AddPolicyOption(dcheck, &dopts->policy);
  dcheck->add_option("--html", dopts->html,
                     "also write a self-contained HTML report with ownership/BOM graphs");
  dcheck->add_option("--manufacturer", dopts->manufacturer,
                     "manufacturer for rows without one");
  OnRun(dcheck, [dopts] { return DeliveryCheck(*dopts); });

  auto bo = std::make_shared<BundleOpts>();
  auto* bundle = app.add_subcommand("bundle", "offline evidence bundles");
  bundle->require_subcommand(1);
  auto* exp = bundle->add_subcommand(
      "export", "write the evidence for devices to one self-contained, verifiable file");
  exp->add_option("--out", bo->out, "bundle file")->required();
  exp->add_option("--manufacturer", bo->manufacturer, "manufacturer of --serial devices");
  exp->add_option("--serial", bo->serials, "device serial (repeatable)");
  exp->add_option("--custodian", bo->custodian, "every device held by this org");
  exp->callback([bo, exp] {
    if (bo->serials.empty() == bo->custodian.empty() ||
        (!bo->serials.empty() && bo->manufacturer.empty())) {
      throw CLI::ValidationError("give --custodian ORG, or --manufacturer ORG with --serial SN...");
    }
    ExitCode() = BundleExport(*bo);
  });

  auto so = std::make_shared<ScanOpts>();
  auto* scan = app.add_subcommand(
      "scan", "installer: challenge a camera for a fresh signed attestation and judge it");
  scan->add_option("--device", so->device, "the camera's DeviceIdentity address HOST:PORT")
      ->required();
  scan->add_option("--buyer", so->buyer, "custody must end at this org");
  scan->add_option("--bundle", so->bundle, "judge offline from an evidence bundle");
  AddPolicyOption(scan, &so->policy);
  scan->add_option("--device-tls-ca", so->device_ca,
                   "PEM CA that signed the camera's TLS certificate (else --plaintext on loopback)");
  scan->add_option("--max-age", so->max_age, "seconds an attestation stays fresh")
      ->default_val(300);
  OnRun(scan, [so] { return Scan(*so); });
}

}  // namespace prov
