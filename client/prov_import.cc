// prov authority import: logs a registry file (client/registry_file.h,
// docs/registry-format.md) — laws, organisations, dated facts, ownership,
// no-owner statements and rulings — planned against a verified replay of
// the log, so that only what the ledger does not already hold is logged,
// nothing is logged from a file with a mistake, and importing the same file
// twice logs nothing the second time.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <set>

#include "client/cli.h"
#include "records/records.h"
#include "client/registry_file.h"
#include "client/submit_many.h"
#include "proto/state.pb.h"
#include "verifier/rules.h"

namespace prov {
namespace {

struct ImportOptions {
  std::string file, out;
  std::vector<std::string> keys;
  bool dry_run = false;
  int window = 512;
};

std::string Where(const client::Registry& r, const client::PlannedRecord& p) {
  return r.file + ":" + std::to_string(p.line);
}

json PlanJson(const client::Registry& r, const client::PlannedRecord& p) {
  json j{{"line", p.line},
         {"where", Where(r, p)},
         {"kind", verifier::RecordKindName(p.record)},
         {"label", p.label},
         {"action", p.action == client::PlannedRecord::Action::kNew          ? "new"
                    : p.action == client::PlannedRecord::Action::kSupersedes ? "supersedes"
                                                                             : "corrects"}};
  if (p.action != client::PlannedRecord::Action::kNew) j["replaces"] = p.replaces;
  return j;
}

// The signing keys: every one a key of the current authority set; a real run
// needs the threshold of them.
Status CheckKeys(const std::vector<verifier::SigningKey>& keys, const verifier::StateView& state,
                 bool writes) {
  PROV_ASSIGN_OR_RETURN(pb::AuthorityState current, verifier::CurrentAuthorities(state));
  const pb::AuthoritySet& g = current.set();
  std::set<std::string> authorities, given;
  for (const auto& a : g.authority_keys()) authorities.insert(a.public_key());
  for (const auto& k : keys) {
    std::string pk(verifier::AsStringView(k.public_key()));
    if (!authorities.count(pk)) {
      return verifier::InvalidArgument(
          "NOT_AN_AUTHORITY_KEY",
          "--key " + verifier::HexEncode(verifier::KeyId(k.public_key())).substr(0, 16) +
              " is not one of this ledger's authority keys (the current set names " +
              std::to_string(g.authority_keys_size()) +
              "): registry records are authority "
              "records");
    }
    given.insert(pk);
  }
  if (writes && given.size() < g.threshold()) {
    return verifier::PermissionDenied(
        "INSUFFICIENT_SIGNATURES",
        "authority records need " + std::to_string(g.threshold()) +
            " distinct authority signatures and --key gives " + std::to_string(given.size()) +
            ": write the signed records with --out DIR, co-sign them with `prov record cosign "
            "--key K DIR/*.rec` and send them with `prov submit DIR/*.rec`");
  }
  return Status::Ok();
}

int ImportRegistry(const ImportOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<verifier::SigningKey> keys;
  for (const auto& f : o.keys) {
    auto k = LoadKey(f);
    if (!k.ok()) return Report(k.status());
    keys.push_back(std::move(k).value());
  }
  auto registry = client::LoadRegistry(o.file);
  if (!registry.ok()) return Report(registry.status(), kUsage);
  const client::Registry& reg = *registry;
  if (!o.out.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(o.out, ec) && !std::filesystem::is_empty(o.out, ec)) {
      return Report(verifier::InvalidArgument(
                        "USAGE", "--out " + o.out +
                                     " is not empty: give a new or empty directory, so that "
                                     "`prov submit DIR/*.rec` sends this plan and nothing else"),
                    kUsage);
    }
  }

  // The ledger as it stands: a verified replay of the whole log.
  const bool writes = !o.dry_run && o.out.empty();
  auto c = writes ? ConnectVerified() : ConnectReader();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  auto replay = client::Audit(**c, *head);
  if (!replay.ok()) return Report(replay.status());
  const uint64_t size = head->checkpoint.size;
  auto plan =
      client::PlanImport(reg, replay->state, size, static_cast<int64_t>(std::time(nullptr)));
  if (!plan.ok()) {
    const Status& s = plan.status();
    return Report(s, s.code() == verifier::Code::kInvalidArgument ? kUsage : ExitFor(s));
  }
  if (Status s = CheckKeys(keys, replay->state, writes && !plan->records.empty()); !s.ok()) {
    return Report(s, s.code() == verifier::Code::kPermissionDenied ? kRejected : kUsage);
  }
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  const size_t unchanged = plan->unchanged.size();
  const auto& records = plan->records;

  if (o.dry_run) {
    if (G().json) {
      json list = json::array();
      for (const auto& p : records) list.push_back(PlanJson(reg, p));
      std::cout << json{{"ok", true},
                        {"dry_run", true},
                        {"file", reg.file},
                        {"records", list},
                        {"to_log", records.size()},
                        {"already_in_ledger", unchanged},
                        {"checkpoint", HeadJson(head->checkpoint)}}
                       .dump()
                << "\n";
      return kOk;
    }
    for (const auto& p : records) {
      std::printf("%s %s (%s)\n", Where(reg, p).c_str(), p.label.c_str(),
                  client::ActionText(p).c_str());
    }
    std::printf(
        "dry run: %zu record(s) to log, %zu already in the ledger (tree size %llu); "
        "nothing logged\n",
        records.size(), unchanged, static_cast<unsigned long long>(size));
    return kOk;
  }

  std::vector<const verifier::SigningKey*> ptrs;
  for (const auto& k : keys) ptrs.push_back(&k);
  std::vector<std::string> leaves;
  for (const auto& p : records) {
    leaves.push_back(records::SignRecord(p.record, ptrs).SerializeAsString());
  }

  if (!o.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    if (ec) {
      return Report(verifier::FailedPrecondition("WRITE_FAILED",
                                                 "cannot create " + o.out + ": " + ec.message()));
    }
    json list = json::array();
    for (size_t i = 0; i < records.size(); ++i) {
      std::string num = std::to_string(i + 1);
      if (num.size() < 4) num.insert(0, 4 - num.size(), '0');
      const std::string path = o.out + "/" + num + "-" + records[i].name + ".rec";
      if (Status s = WriteFile(path, leaves[i]); !s.ok()) return Report(s);
      json j = PlanJson(reg, records[i]);
      j["file"] = path;
      list.push_back(j);
      if (!G().json) {
        std::printf("%s  %s %s (%s)\n", path.c_str(), Where(reg, records[i]).c_str(),
                    records[i].label.c_str(), client::ActionText(records[i]).c_str());
      }
    }
    if (G().json) {
      std::cout << json{{"ok", true},
                        {"file", reg.file},
                        {"out", o.out},
                        {"records", list},
                        {"signatures", ptrs.size()},
                        {"already_in_ledger", unchanged},
                        {"checkpoint", HeadJson(head->checkpoint)}}
                       .dump()
                << "\n";
    } else {
      std::printf(
          "wrote %zu signed record(s) to %s with %zu signature(s) each; %zu already in "
          "the ledger (tree size %llu). Co-sign: prov record cosign --key K %s/*.rec; "
          "send: prov submit %s/*.rec\n",
          records.size(), o.out.c_str(), ptrs.size(), unchanged,
          static_cast<unsigned long long>(size), o.out.c_str(), o.out.c_str());
    }
    return kOk;
  }

  if (records.empty()) {
    if (G().json) {
      std::cout << json{{"ok", true},
                        {"file", reg.file},
                        {"logged", 0},
                        {"records", json::array()},
                        {"already_in_ledger", unchanged},
                        {"checkpoint", HeadJson(head->checkpoint)}}
                       .dump()
                << "\n";
    } else {
      std::printf(
          "nothing to log: all %zu record(s) of %s are already in the ledger (tree "
          "size %llu)\n",
          unchanged, reg.file.c_str(), static_cast<unsigned long long>(size));
    }
    return kOk;
  }

  std::vector<client::Submission> items(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    items[i].sequence = i;
    items[i].leaf = leaves[i];
  }
  client::SubmitManyResult sent = client::SubmitMany(
      **c, items, {.window = o.window, .make_leaf = {}, .on_ack = {}, .on_proof = {}});
  int rc = kOk;
  Status fatal = sent.fatal;
  if (fatal.ok()) {
    if (Status s = SaveTrust(**c); !s.ok()) fatal = s;
  }
  json list = json::array();
  std::vector<std::string> problems;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& it = items[i];
    json j = PlanJson(reg, records[i]);
    if (!it.acked) continue;
    if (!it.status.ok()) {
      rc = std::max(rc, IsRefusal(it.status) ? kRejected : kUnverified);
      problems.push_back(Where(reg, records[i]) + ": " + it.status.ToString());
      j["error"] = {{"reason", it.status.reason()}, {"message", it.status.message()}};
    } else {
      j["index"] = it.index;
      j["already_logged"] = it.already_logged;
      if (!G().json && fatal.ok()) {
        std::printf("%s %s logged at #%llu%s\n", Where(reg, records[i]).c_str(),
                    records[i].label.c_str(), static_cast<unsigned long long>(it.index),
                    it.already_logged ? " (already logged)" : "");
      }
    }
    list.push_back(j);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (G().json) {
    json j{{"ok", fatal.ok() && problems.empty()},
           {"file", reg.file},
           {"records", list},
           {"logged", sent.appended + sent.already_logged},
           {"appended", sent.appended},
           {"already_logged", sent.already_logged},
           {"refused", sent.refused},
           {"already_in_ledger", unchanged},
           {"seconds", secs}};
    if (sent.head) j["checkpoint"] = HeadJson(sent.head->checkpoint);
    if (!fatal.ok()) j["error"] = {{"reason", fatal.reason()}, {"message", fatal.message()}};
    std::cout << j.dump() << "\n";
  } else {
    for (const auto& p : problems) std::fprintf(stderr, "prov: %s\n", p.c_str());
    if (fatal.ok()) {
      std::printf(
          "imported %s: %llu record(s) logged (%llu appended, %llu already logged), %llu "
          "refused, %zu already in the ledger; every logged record proven included in "
          "the tree of size %llu (%.2f s)\n",
          reg.file.c_str(), static_cast<unsigned long long>(sent.appended + sent.already_logged),
          static_cast<unsigned long long>(sent.appended),
          static_cast<unsigned long long>(sent.already_logged),
          static_cast<unsigned long long>(sent.refused), unchanged,
          static_cast<unsigned long long>(sent.head ? sent.head->checkpoint.size : 0), secs);
    } else {
      std::fprintf(stderr, "prov: %s\n", fatal.ToString().c_str());
    }
  }
  if (!fatal.ok()) return ExitFor(fatal);
  return rc;
}

}  // namespace

void AddImportCommands(CLI::App& app) {
  CLI::App* auth = app.get_subcommand("authority");
  auto o = std::make_shared<ImportOptions>();
  auto* sub = auth->add_subcommand(
      "import",
      "log a registry file (YAML, docs/registry-format.md): laws, organisations, dated facts, "
      "ownership, no-owner statements and rulings, checked against a verified replay of the "
      "log first; what the ledger already holds is skipped, and nothing is logged from a file "
      "with a mistake");
  sub->add_option("file", o->file, "the registry file")->required();
  sub->add_option("--key", o->keys, "authority signing key file, 0600 (repeatable: co-signing)")
      ->required();
  sub->add_flag("--dry-run", o->dry_run,
                "check the file and print the plan (each record with its line, and how many the "
                "ledger already holds); log nothing");
  sub->add_option("--out", o->out,
                  "write each signed record to a new or empty DIR as NNNN-KIND-ID.rec instead "
                  "of submitting (co-sign with `prov record cosign`, send with `prov submit`)");
  sub->add_option("--window", o->window, "at most N records unacknowledged")
      ->default_val(512)
      ->check(CLI::Range(1, 1 << 20));
  OnRun(sub, [o] { return ImportRegistry(*o); });
}

}  // namespace prov
