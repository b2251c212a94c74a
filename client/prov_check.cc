// prov subcommands that judge devices: check, delivery check and bundles
// (scan is prov_scan.cc). Every verdict comes from
// verifier/judge.h over evidence verified here: the checkpoint against the
// pinned log key (and the trust store), every inclusion proof, every record
// signature, and a replay through the rulebook.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "client/cli.h"
#include "client/verdicts.h"
#include "client/manifest.h"
#include "client/model_graph.h"
#include "client/policy_file.h"
#include "client/report_html.h"
#include "client/resolve.h"
#include "verifier/judge.h"
#include "verifier/policy.h"

namespace prov {
namespace {

using verifier::Finding;
using verifier::Judgement;
using verifier::Verdict;

// --- check ---
struct CheckOpts {
  std::string manufacturer, serial, buyer, supplier, model, bundle;
  int64_t max_bundle_age = kDefaultMaxBundleAge;
  PolicyChoice policy;
};

int Check(CheckOpts& o) {
  for (auto [flag, value, required] :
       {std::tuple{"--manufacturer", &o.manufacturer, true}, {"--serial", &o.serial, true},
        {"--buyer", &o.buyer, false}, {"--supplier", &o.supplier, false},
        {"--model", &o.model, false}}) {
    auto v = FlagId(flag, *value, required);
    if (!v.ok()) return Report(v.status());
    *value = *v;
  }
  if (Status s = o.policy.Load(); !s.ok()) return Report(s);
  client::Wanted wanted;
  wanted.AddFlag("--manufacturer", o.manufacturer);
  wanted.AddFlag("--buyer", o.buyer);
  wanted.AddFlag("--supplier", o.supplier);
  o.policy.Want(&wanted);
  verifier::RecordCache cache;
  auto ev = EvidenceFor(o.bundle, o.manufacturer, o.serial, wanted, &cache);
  if (!ev.ok()) return Report(ev.status());
  Judgement j = verifier::JudgeDevice(
      *ev, {o.manufacturer, o.serial, o.buyer, o.model, o.supplier}, o.policy.Fn());
  o.policy.Finish(false, &j);
  JudgeBundleAge(*ev, o.max_bundle_age, &j);
  const std::string name = o.manufacturer + "/" + o.serial;
  if (G().json) {
    json out = JudgementJson(name, j);
    out["policy"] = o.policy.Json();
    out["checkpoint"] = HeadJson(ev->checkpoint);
    out["offline"] = ev->from_bundle;
    out["exit_code"] = VerdictExit(j.verdict);
    std::cout << out.dump() << "\n";
  } else {
    o.policy.Print();
    PrintJudgement(name, j);
    PrintSource(*ev);
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
  std::string manifest, buyer, supplier, manufacturer, html, bundle;
  int64_t max_bundle_age = kDefaultMaxBundleAge;
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
      if ((f.severity == Finding::Severity::kReject ||
           f.severity == Finding::Severity::kUnverified) &&
          !row.graph.empty()) {
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
  for (auto [flag, value, required] :
       {std::tuple{"--buyer", &o.buyer, true}, {"--supplier", &o.supplier, false},
        {"--manufacturer", &o.manufacturer, false}}) {
    auto v = FlagId(flag, *value, required);
    if (!v.ok()) return Report(v.status());
    *value = *v;
  }
  if (Status s = o.policy.Load(); !s.ok()) return Report(s);
  auto rows = ReadManifest(o.manifest, o.manufacturer);
  if (!rows.ok()) return Report(rows.status());
  client::Wanted wanted;
  wanted.AddFlag("--buyer", o.buyer);
  wanted.AddFlag("--supplier", o.supplier);
  wanted.AddFlag("--manufacturer", o.manufacturer);
  o.policy.Want(&wanted);

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
  std::vector<verifier::VerifiedEvidence> evidence;
  // Which evidence holds each device.
  std::map<std::string, const verifier::VerifiedEvidence*> holder;
  if (!o.bundle.empty()) {
    auto ev = LoadBundle(o.bundle, &cache);
    if (!ev.ok()) return Report(ev.status());
    evidence.push_back(std::move(ev).value());
    for (const auto& d : devices) {
      holder[d.manufacturer_org() + "/" + d.serial()] = &evidence.front();
    }
  } else {
    auto c = ConnectReader();
    if (!c.ok()) return Report(c.status());
    if (auto head = (*c)->GetCheckpoint(); !head.ok()) return Report(head.status());
    Progress bar("checking", devices.size());
    auto fetched = FetchEvidence(**c, devices, wanted, &cache, nullptr,
                                 [&](size_t done) { bar.Update(done); });
    if (!fetched.ok()) return Report(fetched.status());
    if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
    evidence = std::move(fetched).value();
    for (size_t i = 0; i < devices.size(); ++i) {
      holder[devices[i].manufacturer_org() + "/" + devices[i].serial()] =
          &evidence[i / kEvidenceChunk];
    }
  }
  if (Status s = client::Resolve(wanted, evidence.front()); !s.ok()) return Report(s);

  const auto t_judge = std::chrono::steady_clock::now();
  const verifier::PolicyFn policy = o.policy.Fn();
  std::map<Verdict, size_t> counts;
  std::map<std::string, size_t> skipped;  // check not made -> devices
  std::vector<JudgedRow> judged;
  judged.reserve(rows->size());
  for (const auto& r : *rows) {
    const std::string name = r.manufacturer + "/" + r.serial;
    const verifier::VerifiedEvidence* ev = holder[name];
    Judgement j =
        verifier::JudgeDevice(*ev, {r.manufacturer, r.serial, o.buyer, r.model, o.supplier},
                              policy);
    o.policy.Finish(false, &j);
    JudgeBundleAge(*ev, o.max_bundle_age, &j);
    if (first_line[name] != r.line) {
      j.findings.push_back({Finding::Severity::kReject, "DUPLICATE_IN_MANIFEST",
                            name + " is listed again (first on line " +
                                std::to_string(first_line[name]) + ")",
                            {}});
      verifier::Decide(&j);
    }
    for (const auto& f : j.findings) {
      if (f.severity == Finding::Severity::kSkipped) skipped[f.code]++;
    }
    counts[j.verdict]++;
    judged.push_back({&r, ev, std::move(j)});
  }
  const auto t_end = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(t_end - t0).count();
  const double judge_seconds = std::chrono::duration<double>(t_end - t_judge).count();
  const verifier::VerifiedEvidence& newest = *std::max_element(
      evidence.begin(), evidence.end(),
      [](const auto& a, const auto& b) { return a.checkpoint.size < b.checkpoint.size; });
  const Verdict overall = counts[Verdict::kRejected]     ? Verdict::kRejected
                          : counts[Verdict::kUnverified] ? Verdict::kUnverified
                                                         : Verdict::kTrusted;
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
    std::cout << json{{"verdict", verifier::VerdictName(overall)},
                      {"exit_code", VerdictExit(overall)},
                      {"manifest", o.manifest},
                      {"buyer", o.buyer},
                      {"supplier", o.supplier.empty() ? json(nullptr) : json(o.supplier)},
                      {"policy", o.policy.Json()},
                      {"checkpoint", HeadJson(newest.checkpoint)},
                      {"offline", newest.from_bundle},
                      {"rows", rows->size()},
                      {"trusted", counts[Verdict::kTrusted]},
                      {"rejected", counts[Verdict::kRejected]},
                      {"unverified", counts[Verdict::kUnverified]},
                      {"seconds", seconds},
                      {"judge_seconds", judge_seconds},
                      {"html", o.html.empty() ? json(nullptr) : json(o.html)},
                      {"devices", out_rows}}
                     .dump()
              << "\n";
  } else {
    std::printf("delivery %s to %s%s: %s\n", o.manifest.c_str(), o.buyer.c_str(),
                o.supplier.empty() ? "" : (" from " + o.supplier).c_str(),
                verifier::VerdictName(overall));
    std::printf("  %zu rows checked in %.2f s (judging %.3f s) against the signed checkpoint of "
                "size %llu%s\n",
                rows->size(), seconds, judge_seconds,
                static_cast<unsigned long long>(newest.checkpoint.size),
                newest.from_bundle ? " (offline, from the bundle)" : "");
    o.policy.Print();
    std::printf("  %-10s %zu\n  %-10s %zu\n  %-10s %zu\n", "TRUSTED", counts[Verdict::kTrusted],
                "REJECTED", counts[Verdict::kRejected], "UNVERIFIED",
                counts[Verdict::kUnverified]);
    if (!skipped.empty()) {
      std::printf("  not checked:");
      for (const auto& [code, n] : skipped) std::printf(" %s (%zu)", code.c_str(), n);
      std::printf("\n");
    }
    bool header = false;
    for (const auto& jr : judged) {
      for (const auto& f : jr.j.findings) {
        if (f.severity == Finding::Severity::kInfo || f.severity == Finding::Severity::kSkipped) {
          continue;
        }
        if (!header) {
          std::printf("\n  %-6s %-28s %-11s %-10s %-22s %s\n", "line", "device", "verdict",
                      "severity", "finding", "why");
          header = true;
        }
        std::printf("  %-6zu %-28s %-11s %-10s %-22s %s %s\n", jr.row->line,
                    (jr.row->manufacturer + "/" + jr.row->serial).c_str(),
                    verifier::VerdictName(jr.j.verdict), SeverityName(f.severity),
                    f.code.c_str(), f.message.c_str(), Indices(f.indices).c_str());
      }
    }
    if (!o.html.empty()) std::printf("\nHTML report: %s\n", o.html.c_str());
  }
  return VerdictExit(overall);
}

// --- bundle export ---
struct BundleOpts {
  std::string out, manufacturer, custodian, in;
  std::vector<std::string> serials, policies, orgs;
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

// Merges evidence responses proven against one checkpoint into one (a
// subject proven by several parts is kept once: the same root, the same
// proof). FAILED_PRECONDITION HEAD_MOVED if the parts are of other heads.
Result<pb::Evidence> Merge(std::vector<pb::Evidence> parts) {
  pb::Evidence out;
  *out.mutable_checkpoint() = parts.front().checkpoint();
  std::map<uint64_t, pb::EvidenceEntry> entries;
  std::set<std::string> subjects;
  for (auto& p : parts) {
    if (p.checkpoint().size() != out.checkpoint().size()) {
      return verifier::FailedPrecondition("HEAD_MOVED", "the evidence parts are of other heads");
    }
    for (auto& e : *p.mutable_entries()) entries[e.index()] = std::move(e);
    for (auto& s : *p.mutable_subjects()) {
      if (subjects.insert(s.subject().SerializeAsString()).second) *out.add_subjects() = std::move(s);
    }
    for (auto& d : *p.mutable_unknown_devices()) *out.add_unknown_devices() = std::move(d);
    for (auto& u : *p.mutable_unknown_ids()) *out.add_unknown_ids() = std::move(u);
  }
  for (auto& [i, e] : entries) *out.add_entries() = std::move(e);
  return out;
}

// A bundle is proven against one head, so that its subject proofs share one
// index root: parts fetched across a new head are fetched again.
inline constexpr int kBundleFetchAttempts = 5;

int BundleExport(const BundleOpts& o) {
  // What the site's policies name travels with the bundle, so that they
  // resolve offline.
  client::Wanted wanted;
  wanted.AddFlag("--custodian", o.custodian);
  for (const auto& id : o.orgs) wanted.AddFlag("--org", id);
  for (const auto& path : o.policies) {
    auto p = client::LoadPolicy(path);
    if (!p.ok()) return Report(p.status());
    wanted.AddPolicy(*p);
  }
  auto c = ConnectReader();
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
    return Report(verifier::InvalidArgument(
        "NO_DEVICES", o.custodian.empty() ? "no devices to export"
                                          : o.custodian + " holds no devices"));
  }
  verifier::RecordCache cache;
  Result<pb::Evidence> merged = Status(verifier::Code::kUnavailable, "HEAD_MOVED", "not fetched");
  for (int attempt = 0; attempt < kBundleFetchAttempts; ++attempt) {
    std::vector<pb::Evidence> parts;
    auto evidence = FetchEvidence(**c, devices, wanted, &cache, &parts);
    if (!evidence.ok()) return Report(evidence.status());
    if (Status s = client::Resolve(wanted, evidence->front()); !s.ok()) return Report(s);
    merged = Merge(std::move(parts));
    if (merged.ok()) break;
  }
  if (!merged.ok()) {
    return Report(Status(verifier::Code::kUnavailable, "HEAD_MOVED",
                         "the log moved on while the bundle was fetched, " +
                             std::to_string(kBundleFetchAttempts) + " times; retry"));
  }
  if (merged->unknown_devices_size() > 0) {
    const auto& d = merged->unknown_devices(0);
    return Report(verifier::NotFound("UNKNOWN_DEVICE", d.manufacturer_org() + "/" + d.serial() +
                                                           " is not registered"),
                  kRejected);
  }
  merged->clear_unknown_ids();
  // Never write a bundle that does not verify.
  auto key = (*c)->KeyForNote(merged->checkpoint().note());
  auto check = key.ok() ? verifier::VerifyEvidence(*merged, *key, &cache)
                        : Result<verifier::VerifiedEvidence>(key.status());
  if (!check.ok()) return Report(check.status());
  const std::string bytes = merged->SerializeAsString();
  if (Status s = WriteFile(o.out, bytes); !s.ok()) return Report(s);
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  if (G().json) {
    std::cout << json{{"ok", true},
                      {"file", o.out},
                      {"devices", devices.size()},
                      {"entries", merged->entries_size()},
                      {"bytes", bytes.size()},
                      {"checkpoint", HeadJson(check->checkpoint)}}
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

// --- bundle show ---
// Lists what a bundle holds, after verifying it like any offline check.
int BundleShow(const std::string& path) {
  verifier::RecordCache cache;
  auto ev = LoadBundle(path, &cache);
  if (!ev.ok()) return Report(ev.status());
  std::vector<std::pair<std::string, pb::DeviceState>> devices;
  ev->state.ForEach(verifier::state_key::kDevicePrefix, [&](std::string_view key,
                                                            std::string_view value) {
    pb::DeviceState ds;
    if (!ds.ParseFromArray(value.data(), static_cast<int>(value.size()))) return;
    key.remove_prefix(verifier::state_key::kDevicePrefix.size());
    std::string name(key);
    name[name.find('\0')] = '/';
    devices.emplace_back(std::move(name), std::move(ds));
  });
  auto ids = [&](std::string_view prefix) {
    std::vector<std::string> out;
    ev->state.ForEach(prefix, [&](std::string_view key, std::string_view) {
      out.emplace_back(key.substr(prefix.size()));
    });
    return out;
  };
  const auto orgs = ids(verifier::state_key::kOrgPrefix);
  const auto laws = ids(verifier::state_key::kLawPrefix);
  auto signed_at = verifier::CheckpointTime(ev->checkpoint);
  const int64_t checkpoint_time = signed_at.ok() ? *signed_at : 0;
  if (G().json) {
    json devs = json::array();
    for (const auto& [name, ds] : devices) {
      devs.push_back({{"device", name},
                      {"model", ds.model_id()},
                      {"custodian", ds.custodian_org()},
                      {"condition", pb::DeviceCondition_Name(ds.condition())}});
    }
    std::cout << json{{"file", path},
                      {"checkpoint", HeadJson(ev->checkpoint)},
                      {"entries", ev->records.size() + 1},
                      {"devices", devs},
                      {"orgs", orgs},
                      {"laws", laws},
                      {"problems", FindingsJson(ev->problems)}}
                     .dump()
              << "\n";
    return ev->problems.empty() ? kOk : kUnverified;
  }
  const int64_t now = std::time(nullptr);
  std::printf("bundle %s: verified against the pinned log key\n", path.c_str());
  std::printf("  checkpoint  %s, size %llu, root %s\n", ev->checkpoint.origin.c_str(),
              static_cast<unsigned long long>(ev->checkpoint.size),
              verifier::HexEncode(ev->checkpoint.root).substr(0, 16).c_str());
  std::printf("  as of       %s\n", checkpoint_time ? (UtcTime(checkpoint_time) + " (" +
                                                        Ago(std::max<int64_t>(0, now - checkpoint_time)) +
                                                        " ago)").c_str()
                                                     : "unknown: the checkpoint has no signed time");
  std::printf("  entries     %zu, devices %zu, organisations %zu, laws %zu\n",
              ev->records.size() + 1, devices.size(), orgs.size(), laws.size());
  for (const auto& [name, ds] : devices) {
    std::printf("  %-32s model %-12s held by %-20s %s\n", name.c_str(), ds.model_id().c_str(),
                ds.custodian_org().c_str(),
                ds.condition() == pb::DEVICE_CONDITION_ACTIVE ||
                        ds.condition() == pb::DEVICE_CONDITION_UNSPECIFIED
                    ? ""
                    : pb::DeviceCondition_Name(ds.condition()).c_str());
  }
  for (const auto& f : ev->problems) {
    std::printf("  %-10s %-24s %s\n", SeverityName(f.severity), f.code.c_str(), f.message.c_str());
  }
  return ev->problems.empty() ? kOk : kUnverified;
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
  AddMaxBundleAge(check, &co->max_bundle_age);
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
  dcheck->add_option("--bundle", dopts->bundle,
                     "judge offline from an evidence bundle (needs only --vkey)");
  AddMaxBundleAge(dcheck, &dopts->max_bundle_age);
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
  exp->add_option("--policy", bo->policies,
                  "also carry the laws and orgs this policy names, so it resolves offline "
                  "(repeatable)");
  exp->add_option("--org", bo->orgs, "also carry this org and its owners (repeatable)");
  exp->callback([bo, exp] {
    if (bo->serials.empty() == bo->custodian.empty() ||
        (!bo->serials.empty() && bo->manufacturer.empty())) {
      throw CLI::ValidationError("give --custodian ORG, or --manufacturer ORG with --serial SN...");
    }
    ExitCode() = BundleExport(*bo);
  });
  auto* show = bundle->add_subcommand("show", "verify a bundle and list what it holds");
  show->add_option("file", bo->in, "bundle file")->required();
  OnRun(show, [bo] { return BundleShow(bo->in); });

}

}  // namespace prov
