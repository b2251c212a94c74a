// prov subcommands that judge devices: check, delivery check, bundle export,
// and scan (live attestation from a camera). Every verdict comes from
// verifier/judge.h over evidence verified here: the checkpoint against the
// pinned log key (and the trust store), every inclusion proof, every record
// signature, and a replay through the rulebook.
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "client/cli.h"
#include "client/camera_scan.h"
#include "client/device_scan.h"
#include "client/manifest.h"
#include "client/model_graph.h"
#include "client/policy_file.h"
#include "client/records.h"
#include "client/report_html.h"
#include "client/resolve.h"
#include "verifier/camera.h"
#include "verifier/judge.h"
#include "verifier/x509.h"
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
    case Verdict::kUnverified: return kUnverified;
  }
  return kUnverified;
}

using verifier::SeverityName;

// A bundle older than this (by its checkpoint's signed time) is UNVERIFIED.
constexpr int64_t kDefaultMaxBundleAge = 7 * 24 * 3600;

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
          {"findings", FindingsJson(j.findings)}};
}

void PrintJudgement(const std::string& device, const Judgement& j) {
  std::printf("%s: %s\n", device.c_str(), verifier::VerdictName(j.verdict));
  for (const auto& f : j.findings) {
    std::printf("  %-10s %-24s %s %s\n", SeverityName(f.severity), f.code.c_str(),
                f.message.c_str(), Indices(f.indices).c_str());
  }
}

// "2026-11-29 15:04 UTC"
std::string UtcTime(int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string Ago(int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min";
  if (seconds < 3 * 86400) return std::to_string(seconds / 3600) + " h";
  return std::to_string(seconds / 86400) + " days";
}

// Offline: how fresh the bundle is, by its checkpoint's signed time. A
// bundle older than `max_age` seconds (0: no limit) could hide a later
// stolen status or revocation, so it leaves the device UNVERIFIED.
void JudgeBundleAge(const verifier::VerifiedEvidence& ev, int64_t max_age, Judgement* j) {
  if (!ev.from_bundle) return;
  auto signed_at = verifier::CheckpointTime(ev.checkpoint);
  const int64_t now = std::time(nullptr);
  if (!signed_at.ok() || *signed_at == 0) {
    j->findings.push_back(
        {max_age ? Finding::Severity::kUnverified : Finding::Severity::kSkipped, "BUNDLE_UNDATED",
         "the bundle's checkpoint carries no signed time, so its age cannot be told" +
             std::string(max_age ? "" : " (--max-bundle-age 0: not required)"),
         {}});
  } else {
    const int64_t age = std::max<int64_t>(0, now - *signed_at);
    const std::string when = UtcTime(*signed_at);
    if (max_age && age > max_age) {
      j->findings.push_back(
          {Finding::Severity::kUnverified, "BUNDLE_TOO_OLD",
           "the bundle's checkpoint was signed " + Ago(age) + " ago (" + when +
               "), more than --max-bundle-age " + Ago(max_age) +
               ": a later stolen status or revocation would not be in it; export a fresh one",
           {}});
    } else {
      j->findings.push_back({Finding::Severity::kInfo, "BUNDLE_FRESH",
                             "the bundle's checkpoint was signed " + Ago(age) + " ago (" + when +
                                 ")" +
                                 (max_age ? ", within --max-bundle-age " + Ago(max_age)
                                          : std::string(", no age limit (--max-bundle-age 0)")),
                             {}});
    }
  }
  verifier::Decide(j);
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
    if (policy) {
      verifier::ApplyRequired(*policy, attested, j);
    } else {
      verifier::ApplyNoPolicy(attested, j);
    }
  }
  void Want(client::Wanted* w) const {
    if (policy) w->AddPolicy(*policy);
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
// Every response also carries the orgs and laws in `wanted` (so each chunk
// resolves them on its own).
// A scanned camera's chain issuers and MACs: the server adds the makers they
// point at (GetEvidenceRequest.certificate_issuers, mac_addresses).
struct CameraIds {
  std::vector<std::string> issuers, macs;
};

Result<std::vector<verifier::VerifiedEvidence>> FetchEvidence(
    client::LedgerClient& c, const std::vector<pb::DeviceRef>& devices,
    const client::Wanted& wanted, verifier::RecordCache* cache, std::vector<pb::Evidence>* raw,
    const std::function<void(size_t)>& progress = {}, const CameraIds* camera = nullptr) {
  std::vector<verifier::VerifiedEvidence> out;
  for (size_t start = 0; start == 0 || start < devices.size(); start += kEvidenceChunk) {
    pb::GetEvidenceRequest req;
    for (const auto& id : wanted.OrgIds()) req.add_orgs(id);
    for (const auto& id : wanted.LawIds()) req.add_laws(id);
    if (camera) {
      for (const auto& h : camera->issuers) req.add_certificate_issuers(h);
      for (const auto& m : camera->macs) req.add_mac_addresses(m);
    }
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
  PROV_ASSIGN_OR_RETURN(auto verified, verifier::VerifyEvidence(ev, vkey, cache));
  verified.from_bundle = true;
  return verified;
}

// Evidence for one device: from a bundle file (offline) or from the ledger;
// every wanted id must resolve in it.
// An empty `mfr` asks for no device (only the wanted ids and the camera's).
Result<verifier::VerifiedEvidence> EvidenceFor(const std::string& bundle,
                                               const std::string& mfr,
                                               const std::string& serial,
                                               const client::Wanted& wanted,
                                               verifier::RecordCache* cache,
                                               const CameraIds* camera = nullptr) {
  if (!bundle.empty()) {
    PROV_ASSIGN_OR_RETURN(auto ev, LoadBundle(bundle, cache));
    PROV_RETURN_IF_ERROR(client::Resolve(wanted, ev));
    return ev;
  }
  PROV_ASSIGN_OR_RETURN(auto c, Connect());
  PROV_RETURN_IF_ERROR(c->GetCheckpoint().status());
  std::vector<pb::DeviceRef> devices;
  if (!mfr.empty()) devices.push_back(Ref(mfr, serial));
  PROV_ASSIGN_OR_RETURN(auto evs, FetchEvidence(*c, devices, wanted, cache, nullptr, {}, camera));
  PROV_RETURN_IF_ERROR(SaveTrust(*c));
  PROV_RETURN_IF_ERROR(client::Resolve(wanted, evs.front()));
  return std::move(evs.front());
}

// Trims an identifier given on the command line; empty is a usage error.
Result<std::string> FlagId(const std::string& flag, const std::string& value, bool required) {
  std::string v = value;
  const char* ws = " \t\r\n";
  const size_t b = v.find_first_not_of(ws);
  v = b == std::string::npos ? "" : v.substr(b, v.find_last_not_of(ws) - b + 1);
  if (v.empty() && (required || !value.empty())) {
    return verifier::InvalidArgument("USAGE", flag + " is empty");
  }
  return v;
}

// --- check ---
struct CheckOpts {
  std::string manufacturer, serial, buyer, supplier, model, bundle;
  int64_t max_bundle_age = kDefaultMaxBundleAge;
  PolicyChoice policy;
};

// The evidence line after a verdict, and its JSON.
void PrintSource(const verifier::VerifiedEvidence& ev) {
  std::printf("verified against the signed checkpoint of size %llu%s\n",
              static_cast<unsigned long long>(ev.checkpoint.size),
              ev.from_bundle ? " (offline, from the bundle)" : "");
}

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
    auto c = Connect();
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
    for (auto& u : *p.mutable_unknown_ids()) *out.add_unknown_ids() = std::move(u);
  }
  for (auto& [i, e] : entries) *out.add_entries() = std::move(e);
  return out;
}

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
    return Report(verifier::InvalidArgument(
        "NO_DEVICES", o.custodian.empty() ? "no devices to export"
                                          : o.custodian + " holds no devices"));
  }
  verifier::RecordCache cache;
  std::vector<pb::Evidence> parts;
  auto evidence = FetchEvidence(**c, devices, wanted, &cache, &parts);
  if (!evidence.ok()) return Report(evidence.status());
  if (Status s = client::Resolve(wanted, evidence->front()); !s.ok()) return Report(s);
  auto merged = Merge(**c, std::move(parts));
  if (!merged.ok()) return Report(merged.status());
  if (merged->unknown_devices_size() > 0) {
    const auto& d = merged->unknown_devices(0);
    return Report(verifier::NotFound("UNKNOWN_DEVICE", d.manufacturer_org() + "/" + d.serial() +
                                                           " is not registered"),
                  kRejected);
  }
  merged->clear_unknown_ids();
  // Never write a bundle that does not verify.
  auto check = verifier::VerifyEvidence(*merged, (*c)->verifier(), &cache);
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

// --- scan ---
struct ScanOpts {
  std::string device, buyer, bundle, device_ca;
  // --onvif: a real camera over HTTPS.
  std::string onvif, targets, user, password_file, manufacturer;
  std::string commission, installer, installer_key, commission_out;
  int timeout_ms = 5000;
  int jobs = 16;
  int64_t max_age = 300;
  int64_t max_bundle_age = kDefaultMaxBundleAge;
  PolicyChoice policy;
};

// "HOST:PORT" of a scanned camera, its certificate and what it says.
json CameraJson(const client::CameraScan& scan, const verifier::CertifiedIdentity& id) {
  const verifier::CameraFacts& f = scan.facts;
  json cam = {{"address", f.address}, {"elapsed_ms", scan.elapsed_ms}};
  if (!scan.connection.ok()) cam["connection_error"] = scan.connection.ToString();
  if (!f.chain_der.empty()) {
    cam["tls"] = {{"version", f.tls_version},
                  {"cipher", f.tls_cipher},
                  {"group", f.tls_group},
                  {"signature", f.tls_signature}};
    json chain = json::array();
    for (const auto& der : f.chain_der) {
      auto c = verifier::ParseCertificateDer(der);
      if (!c.ok()) {
        chain.push_back({{"error", c.status().ToString()}});
        continue;
      }
      chain.push_back({{"subject", c->subject},
                       {"issuer", c->issuer},
                       {"sha256", verifier::HexEncode(c->sha256)},
                       {"spki_sha256", verifier::HexEncode(c->spki_sha256)},
                       {"key_algorithm", c->key_algorithm}});
    }
    cam["chain"] = chain;
    cam["certified"] = id.status.ok()
                           ? json{{"manufacturer", id.manufacturer_org},
                                  {"ca_id", id.ca_id},
                                  {"serial", id.serial},
                                  {"ca_index", id.ca_index}}
                           : json{{"error", id.status.ToString()}};
  }
  if (!scan.claims.ok()) cam["claims_error"] = scan.claims.ToString();
  if (f.claims_read) {
    cam["claims"] = {{"manufacturer", f.manufacturer},
                     {"model", f.model},
                     {"firmware_version", f.firmware_version},
                     {"serial_number", f.serial_number},
                     {"hardware_id", f.hardware_id},
                     {"macs", f.macs},
                     {"ieee_assignees", f.ieee_assignees}};
  }
  if (f.clock_skew) cam["clock_skew_seconds"] = *f.clock_skew;
  return cam;
}

void PrintCamera(const client::CameraScan& scan, const verifier::CertifiedIdentity& id) {
  const verifier::CameraFacts& f = scan.facts;
  if (!scan.connection.ok()) {
    std::printf("camera at %s: no proven connection (%s)\n", f.address.c_str(),
                scan.connection.reason().c_str());
    return;
  }
  std::printf("camera at %s: %s %s, certificate %s\n", f.address.c_str(), f.tls_version.c_str(),
              f.tls_cipher.c_str(), id.leaf_subject.c_str());
  if (f.claims_read) {
    std::string macs;
    for (const auto& m : f.macs) macs += (macs.empty() ? "" : ", ") + m;
    std::printf("  says: %s %s, serial %s, firmware %s (self-reported), MAC %s\n",
                f.manufacturer.c_str(), f.model.c_str(), f.serial_number.c_str(),
                f.firmware_version.c_str(), macs.empty() ? "none" : macs.c_str());
  }
}

// Where the scans' evidence comes from: a bundle (read once) or the ledger
// (one connection, whose heads go to the trust store at the end).
class ScanEvidence {
 public:
  ScanEvidence(const std::string& bundle, const client::Wanted& wanted)
      : bundle_(bundle), wanted_(wanted) {}

  Status Open() {
    if (!bundle_.empty()) {
      PROV_ASSIGN_OR_RETURN(auto ev, LoadBundle(bundle_, &cache_));
      PROV_RETURN_IF_ERROR(client::Resolve(wanted_, ev));
      bundle_ev_ = std::make_shared<const verifier::VerifiedEvidence>(std::move(ev));
      return Status::Ok();
    }
    PROV_ASSIGN_OR_RETURN(c_, Connect());
    return c_->GetCheckpoint().status();
  }
  // Evidence with the camera's makers (by its chain and MACs), and the
  // device when `org` is given.
  Result<std::shared_ptr<const verifier::VerifiedEvidence>> For(
      const std::string& org, const std::vector<std::string>& serials, const CameraIds& ids) {
    if (bundle_ev_) return bundle_ev_;
    std::vector<pb::DeviceRef> devices;
    for (const auto& serial : serials) devices.push_back(Ref(org, serial));
    PROV_ASSIGN_OR_RETURN(auto evs, FetchEvidence(*c_, devices, wanted_, &cache_, nullptr, {}, &ids));
    PROV_RETURN_IF_ERROR(client::Resolve(wanted_, evs.front()));
    return std::make_shared<const verifier::VerifiedEvidence>(std::move(evs.front()));
  }
  Status Close() { return c_ ? SaveTrust(*c_) : Status::Ok(); }

 private:
  std::string bundle_;
  const client::Wanted& wanted_;
  verifier::RecordCache cache_;
  std::shared_ptr<const verifier::VerifiedEvidence> bundle_ev_;
  std::unique_ptr<client::LedgerClient> c_;
};

// One scanned camera, judged.
struct CameraVerdict {
  client::CameraScan scan;
  verifier::CertifiedIdentity id;
  Judgement j;
  bool proven = false;
  std::string org, serial, name;
  std::shared_ptr<const verifier::VerifiedEvidence> ev;
  json commissioning;  // what --commission did, or null
};

Result<CameraVerdict> JudgeScan(client::CameraScan scan, const ScanOpts& o, ScanEvidence& source) {
  CameraVerdict v;
  v.scan = std::move(scan);
  const verifier::CameraFacts& f = v.scan.facts;
  const int64_t now = std::time(nullptr);
  CameraIds ids{verifier::ChainIssuerHashes(f.chain_der), f.macs};
  if (ids.macs.size() > 16) ids.macs.resize(16);
  // Which maker's CA (if any) proves the certificate, and for which serial.
  PROV_ASSIGN_OR_RETURN(v.ev, source.For("", {}, ids));
  v.id = verifier::IdentifyCamera(*v.ev, f, now, o.manufacturer);
  v.org = v.id.status.ok() ? v.id.manufacturer_org : o.manufacturer;
  if (v.org.empty()) {
    auto makers = verifier::MacMakers(*v.ev, f, "");
    if (!makers.empty()) v.org = makers.front().org;
  }
  v.serial = v.id.status.ok() ? v.id.serial : f.serial_number;
  // A CA that normalises serials may write "ac:cc:8e:99:c9:15" where the
  // ledger and the camera say "ACCC8E99C915": ask for both spellings and
  // judge the one registered.
  std::vector<std::string> serials{v.serial};
  if (v.id.status.ok() && v.id.normalize && f.serial_number != v.serial &&
      verifier::SameSerial(f.serial_number, v.serial, true)) {
    serials.push_back(f.serial_number);
  }
  if (!v.org.empty() && !v.serial.empty()) {
    PROV_ASSIGN_OR_RETURN(v.ev, source.For(v.org, serials, ids));
    for (const auto& s : serials) {
      pb::DeviceState unused;
      auto found = verifier::GetMessage(v.ev->state, verifier::state_key::Device(v.org, s), &unused);
      if (found.ok() && *found) {
        v.serial = s;
        break;
      }
    }
    v.j = verifier::JudgeDevice(
        *v.ev, {v.org, v.serial, o.buyer, "", "", verifier::MacMakers(*v.ev, f, v.org)},
        o.policy.Fn());
  } else {
    v.j.tree_size = v.ev->checkpoint.size;
    v.j.findings = v.ev->problems;
    v.j.findings.push_back({verifier::Finding::Severity::kUnverified, "MAKER_UNKNOWN",
                            "nothing tells which maker's unit this is (no registered CA issued "
                            "its certificate, no vetted MAC block holds its MAC); give "
                            "--manufacturer",
                            {}});
  }
  for (auto& p : client::ScanProblems(v.scan)) v.j.findings.push_back(std::move(p));
  v.proven = verifier::JudgeCamera(*v.ev, f, v.id, &v.j);
  o.policy.Finish(v.proven, &v.j);
  // The camera's own IDENTITY_* finding says what this scan proved.
  std::erase_if(v.j.findings, [](const verifier::Finding& x) {
    return x.code == "ATTESTATION_NOT_CHECKED";
  });
  verifier::Decide(&v.j);
  JudgeBundleAge(*v.ev, o.max_bundle_age, &v.j);
  v.name = (v.org.empty() ? "?" : v.org) + "/" + (v.serial.empty() ? "?" : v.serial);
  return v;
}

// --commission SITE: the installer signs what the scan proved and logs it
// as the unit's commissioning (or writes it to --commission-out to submit
// later). Only a unit whose identity was proven is commissioned.
Status Commission(const ScanOpts& o, CameraVerdict* v) {
  if (!v->proven || !v->j.registered) {
    return verifier::FailedPrecondition(
        "NOT_COMMISSIONED", v->name + " was not commissioned: " +
                                (v->proven ? std::string("it is not registered")
                                           : std::string("its identity was not proven")));
  }
  std::string proven;
  for (const auto& f : v->j.findings) {
    if (f.code == "IDENTITY_PROVEN") proven = f.message.substr(0, 1024);
  }
  const verifier::Checkpoint& cp = v->ev->checkpoint;
  pb::Record r;
  r.set_issued_at(std::time(nullptr));
  auto* c = r.mutable_commissioning();
  c->set_manufacturer_org(v->org);
  c->set_serial(v->serial);
  c->set_installer_org(o.installer);
  c->set_site(o.commission);
  c->set_identity_spki_sha256(std::string(verifier::AsStringView(v->id.spki_sha256)));
  c->set_proven(proven);
  c->set_verdict(verifier::VerdictName(v->j.verdict));
  c->set_checkpoint_origin(cp.origin);
  c->set_checkpoint_size(cp.size);
  c->set_checkpoint_root(std::string(verifier::AsStringView(cp.root)));
  c->set_scanned_at(std::time(nullptr));
  PROV_ASSIGN_OR_RETURN(auto key, verifier::ReadKeyFile(o.installer_key));
  const pb::SignedRecord signed_record = client::SignRecord(r, {&key});
  if (!o.commission_out.empty()) {
    PROV_RETURN_IF_ERROR(WriteFile(o.commission_out, signed_record.SerializeAsString()));
    v->commissioning = {{"site", o.commission}, {"file", o.commission_out}};
    return Status::Ok();
  }
  PROV_ASSIGN_OR_RETURN(auto conn, ConnectVerified());
  PROV_ASSIGN_OR_RETURN(auto appended, conn->Submit(signed_record));
  PROV_RETURN_IF_ERROR(SaveTrust(*conn));
  v->commissioning = {{"site", o.commission}, {"index", appended.index},
                      {"already_logged", appended.already_logged}};
  return Status::Ok();
}

json VerdictJson(const CameraVerdict& v, const ScanOpts& o) {
  json out = JudgementJson(v.name, v.j);
  out["camera"] = CameraJson(v.scan, v.id);
  out["policy"] = o.policy.Json();
  out["checkpoint"] = HeadJson(v.ev->checkpoint);
  out["offline"] = v.ev->from_bundle;
  out["exit_code"] = VerdictExit(v.j.verdict);
  if (!v.commissioning.is_null()) out["commissioning"] = v.commissioning;
  return out;
}

// HOST[:PORT] per line; blank lines and '#' comments skipped.
Result<std::vector<std::string>> ReadTargets(const std::string& path) {
  PROV_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    std::string t = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    if (auto hp = transport::SplitHostPort(t, 443); !hp.ok()) {
      return verifier::InvalidArgument("BAD_TARGETS", path + " line " + std::to_string(n) +
                                                          ": " + hp.status().message());
    }
    out.push_back(std::move(t));
  }
  if (out.empty()) return verifier::InvalidArgument("BAD_TARGETS", path + " names no camera");
  if (out.size() > 10000) {
    return verifier::InvalidArgument("BAD_TARGETS", path + " names more than 10000 cameras");
  }
  return out;
}

// Scans every target, `jobs` at a time.
std::vector<client::CameraScan> ScanAll(const std::vector<std::string>& targets,
                                        const client::CameraScanOptions& so,
                                        const client::OuiRegistry* registry, int jobs) {
  std::vector<client::CameraScan> scans(targets.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min<int>(jobs, static_cast<int>(targets.size())); ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < targets.size(); i = next++) {
        scans[i] = client::ScanCamera(targets[i], so, registry);
      }
    });
  }
  for (auto& th : pool) th.join();
  return scans;
}

int ScanOnvif(ScanOpts& o, const client::Wanted& wanted) {
  client::CameraScanOptions so;
  so.user = o.user;
  if (!o.password_file.empty()) {
    auto pw = ReadFile(o.password_file);
    if (!pw.ok()) return Report(pw.status());
    so.password = *pw;
    while (!so.password.empty() && (so.password.back() == '\n' || so.password.back() == '\r')) {
      so.password.pop_back();
    }
  } else if (!o.user.empty()) {
    return Report(verifier::InvalidArgument("USAGE", "--user needs --password-file"));
  }
  if (!o.commission.empty() && (o.installer.empty() || o.installer_key.empty())) {
    return Report(verifier::InvalidArgument("USAGE", "--commission needs --installer ORG and "
                                                     "--installer-key FILE"));
  }
  if (!o.commission.empty() && !o.targets.empty()) {
    return Report(verifier::InvalidArgument("USAGE", "--commission scans one camera (--onvif)"));
  }
  std::vector<std::string> targets{o.onvif};
  if (!o.targets.empty()) {
    auto t = ReadTargets(o.targets);
    if (!t.ok()) return Report(t.status());
    targets = *t;
  }
  so.tls.timeout = std::chrono::milliseconds(o.timeout_ms);
  auto ieee = client::OuiRegistry::Load();
  const client::OuiRegistry* registry = ieee.ok() ? &*ieee : nullptr;
  const auto start = std::chrono::steady_clock::now();
  std::vector<client::CameraScan> scans = ScanAll(targets, so, registry, o.jobs);

  ScanEvidence source(o.bundle, wanted);
  if (Status s = source.Open(); !s.ok()) return Report(s);
  std::vector<CameraVerdict> verdicts;
  for (auto& scan : scans) {
    auto v = JudgeScan(std::move(scan), o, source);
    if (!v.ok()) return Report(v.status());
    verdicts.push_back(std::move(v).value());
  }
  if (Status s = source.Close(); !s.ok()) return Report(s);
  Status commissioned = Status::Ok();
  if (!o.commission.empty()) commissioned = Commission(o, &verdicts.front());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // As for deliveries: any REJECTED unit rejects the batch, else any
  // UNVERIFIED one leaves it unverified.
  std::map<std::string, int> counts;
  for (const auto& v : verdicts) ++counts[verifier::VerdictName(v.j.verdict)];
  const Verdict overall = counts["REJECTED"]     ? Verdict::kRejected
                          : counts["UNVERIFIED"] ? Verdict::kUnverified
                                                 : Verdict::kTrusted;
  const int rc = VerdictExit(overall);
  if (o.targets.empty()) {
    const CameraVerdict& v = verdicts.front();
    if (G().json) {
      std::cout << VerdictJson(v, o).dump() << "\n";
    } else {
      PrintCamera(v.scan, v.id);
      o.policy.Print();
      PrintJudgement(v.name, v.j);
      PrintSource(*v.ev);
      if (!v.commissioning.is_null()) {
        std::printf("commissioned at \"%s\": %s\n", o.commission.c_str(),
                    v.commissioning.contains("file")
                        ? ("written to " + o.commission_out + " (prov submit it later)").c_str()
                        : ("logged as entry #" + std::to_string(v.commissioning["index"].get<uint64_t>()))
                              .c_str());
      }
    }
    if (!commissioned.ok()) {
      // The ledger refusing the record (wrong role, unknown org) is a
      // refusal (1); a unit that could not be commissioned cannot tell (2).
      const auto code = commissioned.code();
      const bool refused = commissioned.reason() != "NOT_COMMISSIONED" &&
                           (code == verifier::Code::kPermissionDenied ||
                            code == verifier::Code::kFailedPrecondition ||
                            code == verifier::Code::kAlreadyExists);
      return Report(commissioned, refused ? 1 : -1);
    }
    return rc;
  }
  if (G().json) {
    json cams = json::array();
    for (const auto& v : verdicts) cams.push_back(VerdictJson(v, o));
    std::cout << json{{"verdict", verifier::VerdictName(overall)},
                      {"cameras", cams},
                      {"summary", {{"cameras", verdicts.size()},
                                   {"trusted", counts["TRUSTED"]},
                                   {"rejected", counts["REJECTED"]},
                                   {"unverified", counts["UNVERIFIED"]},
                                   {"seconds", seconds}}},
                      {"policy", o.policy.Json()},
                      {"exit_code", rc}}
                     .dump()
              << "\n";
    return rc;
  }
  o.policy.Print();
  for (const auto& v : verdicts) {
    std::string why;
    for (const auto& f : v.j.findings) {
      if (f.severity == verifier::Finding::Severity::kReject ||
          f.severity == verifier::Finding::Severity::kUnverified) {
        if (why.find(f.code) == std::string::npos) why += (why.empty() ? "" : " ") + f.code;
      }
    }
    std::printf("%-10s %-22s %-28s %s\n", verifier::VerdictName(v.j.verdict),
                v.scan.facts.address.c_str(), v.name.c_str(), why.c_str());
  }
  std::printf("%zu cameras in %.1f s: %d TRUSTED, %d REJECTED, %d UNVERIFIED\n", verdicts.size(),
              seconds, counts["TRUSTED"], counts["REJECTED"], counts["UNVERIFIED"]);
  if (!verdicts.empty()) PrintSource(*verdicts.front().ev);
  return rc;
}

int Scan(ScanOpts& o) {
  auto buyer = FlagId("--buyer", o.buyer, false);
  if (!buyer.ok()) return Report(buyer.status());
  o.buyer = *buyer;
  if (Status s = o.policy.Load(); !s.ok()) return Report(s);
  client::Wanted wanted;
  wanted.AddFlag("--buyer", o.buyer);
  o.policy.Want(&wanted);
  if (!o.onvif.empty() || !o.targets.empty()) {
    wanted.AddFlag("--manufacturer", o.manufacturer);
    wanted.AddFlag("--installer", o.installer);
    return ScanOnvif(o, wanted);
  }
  transport::TlsFiles device_tls;
  device_tls.ca = o.device_ca;
  device_tls.plaintext = G().tls.plaintext;
  auto live = client::ReadDevice(o.device, device_tls);
  if (!live.ok()) return Report(live.status());
  verifier::RecordCache cache;
  auto ev = EvidenceFor(o.bundle, live->info.manufacturer_org(), live->info.serial_number(),
                        wanted, &cache);
  if (!ev.ok()) return Report(ev.status());
  Judgement j = verifier::JudgeDevice(
      *ev, {live->info.manufacturer_org(), live->info.serial_number(), o.buyer, "", ""},
      o.policy.Fn());
  client::JudgeAttestation(*ev, *live, o.max_age, &j);
  o.policy.Finish(true, &j);
  JudgeBundleAge(*ev, o.max_bundle_age, &j);
  const std::string name = live->info.manufacturer_org() + "/" + live->info.serial_number();
  if (G().json) {
    json out = JudgementJson(name, j);
    out["device_address"] = o.device;
    out["policy"] = o.policy.Json();
    out["checkpoint"] = HeadJson(ev->checkpoint);
    out["offline"] = ev->from_bundle;
    out["exit_code"] = VerdictExit(j.verdict);
    out["firmware_sha256"] = verifier::HexEncode(verifier::AsBytes(live->info.firmware_sha256()));
    std::cout << out.dump() << "\n";
  } else {
    std::printf("camera at %s says: %s %s, serial %s, firmware %s\n", o.device.c_str(),
                live->info.manufacturer().c_str(), live->info.model().c_str(),
                live->info.serial_number().c_str(), live->info.firmware_version().c_str());
    o.policy.Print();
    PrintJudgement(name, j);
    PrintSource(*ev);
  }
  return VerdictExit(j.verdict);
}

void AddMaxBundleAge(CLI::App* cmd, int64_t* seconds) {
  cmd->add_option("--max-bundle-age", *seconds,
                  "with --bundle: seconds since its checkpoint was signed after which devices "
                  "are UNVERIFIED (default 604800 = 7 days; 0 = no limit)")
      ->default_val(kDefaultMaxBundleAge)
      ->check(CLI::NonNegativeNumber);
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

  auto so = std::make_shared<ScanOpts>();
  auto* scan = app.add_subcommand(
      "scan",
      "installer: prove a camera's identity with a fresh challenge and judge it (a real camera "
      "over ONVIF/HTTPS with --onvif, or our DeviceIdentity service with --device)");
  auto* device_opt =
      scan->add_option("--device", so->device, "the camera's DeviceIdentity address HOST:PORT");
  auto* onvif_opt = scan->add_option(
      "--onvif", so->onvif,
      "a real camera: HOST[:PORT] of its HTTPS ONVIF service (port 443 by default)");
  auto* targets_opt = scan->add_option(
      "--targets", so->targets,
      "many cameras: a file with one HOST[:PORT] per line, scanned --jobs at a time");
  device_opt->excludes(onvif_opt);
  device_opt->excludes(targets_opt);
  onvif_opt->excludes(targets_opt);
  scan->add_option("--jobs", so->jobs, "cameras scanned at once with --targets")
      ->default_val(16)
      ->check(CLI::Range(1, 256));
  scan->add_option("--commission", so->commission,
                   "SITE: after a proven scan, log the unit's commissioning there, signed by the "
                   "installer");
  scan->add_option("--installer", so->installer, "with --commission: the installer's org");
  scan->add_option("--installer-key", so->installer_key,
                   "with --commission: the installer's key file (role installer)");
  scan->add_option("--commission-out", so->commission_out,
                   "with --commission: write the signed record to FILE (prov submit it later) "
                   "instead of logging it now");
  scan->add_option("--user", so->user, "ONVIF user name (WS-Security digest)");
  scan->add_option("--password-file", so->password_file,
                   "file holding the ONVIF password (never on the command line)");
  scan->add_option("--manufacturer", so->manufacturer,
                   "the maker to look the camera up under when its certificate does not say");
  scan->add_option("--timeout-ms", so->timeout_ms,
                   "bound on the connection, the handshake and each ONVIF call")
      ->default_val(5000)
      ->check(CLI::Range(100, 120000));
  scan->add_option("--buyer", so->buyer, "custody must end at this org");
  scan->add_option("--bundle", so->bundle, "judge offline from an evidence bundle");
  AddMaxBundleAge(scan, &so->max_bundle_age);
  AddPolicyOption(scan, &so->policy);
  scan->add_option("--device-tls-ca", so->device_ca,
                   "PEM CA that signed the camera's TLS certificate (else --plaintext on loopback)");
  scan->add_option("--max-age", so->max_age, "seconds an attestation stays fresh")
      ->default_val(300);
  scan->callback([so, device_opt, onvif_opt, targets_opt] {
    if (device_opt->count() + onvif_opt->count() + targets_opt->count() != 1) {
      throw CLI::ValidationError(
          "give --onvif HOST[:PORT] (a real camera), --targets FILE (many) or --device HOST:PORT");
    }
    ExitCode() = Scan(*so);
  });
}

}  // namespace prov
