// prov scan: a camera proves its identity with a fresh challenge and is
// judged against the ledger. A real camera over ONVIF/HTTPS (--onvif,
// --targets; client/camera_scan.h, verifier/camera.h, docs/scan.md), or our
// own DeviceIdentity gRPC service (--device; client/device_scan.h).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "client/camera_scan.h"
#include "client/cli.h"
#include "client/device_scan.h"
#include "records/records.h"
#include "client/verdicts.h"
#include "verifier/camera.h"
#include "verifier/rules.h"
#include "verifier/x509.h"

namespace prov {
namespace {

using verifier::Judgement;
using verifier::Verdict;

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
    cam["certified"] = id.status.ok() ? json{{"manufacturer", id.manufacturer_org},
                                             {"ca_id", id.ca_id},
                                             {"serial", id.serial},
                                             {"ca_index", id.ca_index}}
                                      : json{{"error", id.status.ToString()}};
  }
  if (!scan.claims.ok()) cam["claims_error"] = scan.claims.ToString();
  if (f.claims_read) {
    cam["claims"] = {{"manufacturer", f.manufacturer},         {"model", f.model},
                     {"firmware_version", f.firmware_version}, {"serial_number", f.serial_number},
                     {"hardware_id", f.hardware_id},           {"macs", f.macs},
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
    PROV_ASSIGN_OR_RETURN(c_, ConnectReader());
    return c_->GetCheckpoint().status();
  }
  // Evidence with the camera's makers (by its chain and MACs), and the
  // device when `org` is given.
  Result<std::shared_ptr<const verifier::VerifiedEvidence>> For(
      const std::string& org, const std::vector<std::string>& serials, const CameraIds& ids) {
    if (bundle_ev_) return bundle_ev_;
    std::vector<pb::DeviceRef> devices;
    for (const auto& serial : serials) devices.push_back(Ref(org, serial));
    PROV_ASSIGN_OR_RETURN(auto evs,
                          FetchEvidence(*c_, devices, wanted_, &cache_, nullptr, {}, &ids));
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
  // Hints for the ledger: the chain's issuer names and the camera's MACs
  // (only well-formed ones: what a camera says must not fail the request).
  CameraIds ids{verifier::ChainIssuerHashes(f.chain_der), {}};
  for (const auto& mac : f.macs) {
    if (verifier::MacHex(mac).ok() && ids.macs.size() < 16) ids.macs.push_back(mac);
  }
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
      auto found =
          verifier::GetMessage(v.ev->state, verifier::state_key::Device(v.org, s), &unused);
      if (found.ok() && *found) {
        v.serial = s;
        break;
      }
    }
    v.j = verifier::JudgeDevice(*v.ev,
                                {v.org, v.serial, o.buyer, "", "", verifier::MacMakers(*v.ev, f, v.org),
                                 verifier::ScanReliesOn(ids.macs, v.id)},
                                o.policy.Fn());
  } else {
    v.j.tree_size = v.ev->checkpoint.size;
    v.j.findings = v.ev->problems;
    v.j.findings.push_back({verifier::Finding::Severity::kUnverified,
                            "MAKER_UNKNOWN",
                            "nothing tells which maker's unit this is (no registered CA issued "
                            "its certificate, no vetted MAC block holds its MAC); give "
                            "--manufacturer",
                            {}});
  }
  for (auto& p : client::ScanProblems(v.scan)) v.j.findings.push_back(std::move(p));
  v.proven = verifier::JudgeCamera(*v.ev, f, v.id, &v.j);
  o.policy.Finish(v.proven, &v.j);
  // The camera's own IDENTITY_* finding says what this scan proved.
  std::erase_if(v.j.findings,
                [](const verifier::Finding& x) { return x.code == "ATTESTATION_NOT_CHECKED"; });
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
  const pb::SignedRecord signed_record = records::SignRecord(r, {&key});
  if (!o.commission_out.empty()) {
    PROV_RETURN_IF_ERROR(WriteFile(o.commission_out, signed_record.SerializeAsString()));
    v->commissioning = {{"site", o.commission}, {"file", o.commission_out}};
    return Status::Ok();
  }
  PROV_ASSIGN_OR_RETURN(auto conn, ConnectVerified());
  PROV_ASSIGN_OR_RETURN(auto appended, conn->Submit(signed_record));
  PROV_RETURN_IF_ERROR(SaveTrust(*conn));
  v->commissioning = {{"site", o.commission},
                      {"index", appended.index},
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
      return verifier::InvalidArgument(
          "BAD_TARGETS", path + " line " + std::to_string(n) + ": " + hp.status().message());
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
    return Report(verifier::InvalidArgument("USAGE",
                                            "--commission needs --installer ORG and "
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
        std::printf(
            "commissioned at \"%s\": %s\n", o.commission.c_str(),
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
      const bool refused =
          commissioned.reason() != "NOT_COMMISSIONED" &&
          (code == verifier::Code::kPermissionDenied ||
           code == verifier::Code::kFailedPrecondition || code == verifier::Code::kAlreadyExists);
      return Report(commissioned, refused ? 1 : -1);
    }
    return rc;
  }
  if (G().json) {
    json cams = json::array();
    for (const auto& v : verdicts) cams.push_back(VerdictJson(v, o));
    std::cout << json{{"verdict", verifier::VerdictName(overall)},
                      {"cameras", cams},
                      {"summary",
                       {{"cameras", verdicts.size()},
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
  auto ev = EvidenceFor(o.bundle, live->info.manufacturer_org(), live->info.serial_number(), wanted,
                        &cache);
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

}  // namespace

void AddScanCommands(CLI::App& app) {
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
  scan->add_option(
      "--device-tls-ca", so->device_ca,
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
