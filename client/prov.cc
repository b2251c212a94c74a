// prov: the command line of the provenance ledger (see README "Using prov").
// This file holds main() and the key, record, submit, log and audit
// subcommands; client/cli.h has the shared plumbing and exit codes.
#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "client/cli.h"
#include "records/records.h"
#include "client/witness_policy.h"
#include "proto/state.pb.h"
#include "verifier/merkle.h"
#include "verifier/rules.h"
#include "verifier/suggest.h"
#include "verifier/tlog_proof.h"

namespace prov {
namespace {

// --- key ---
int KeyGenerate(const std::string& out) {
  auto key = verifier::SigningKey::Generate();
  if (Status s = verifier::WriteKeyFile(out, key); !s.ok()) return Report(s);
  std::string pub = verifier::HexEncode(key.public_key());
  if (G().json) {
    std::cout << json{{"public_key", pub}, {"key_id", verifier::HexEncode(verifier::KeyId(key.public_key()))}, {"file", out}}.dump() << "\n";
  } else {
    std::printf("%s\n", pub.c_str());
  }
  return kOk;
}

int KeyShow(const std::string& file, bool base64) {
  if (auto text = ReadFile(file); text.ok() && verifier::ParseVerifierKey(Trim(*text)).ok()) {
    return Report(verifier::InvalidArgument(
        "NOT_A_SIGNING_KEY", file + " is a log verifier key (public; it is what --vkey takes), "
                                    "not a signing key file: `prov key show` reads private key "
                                    "files made by `prov key generate`"));
  }
  auto key = verifier::ReadKeyFile(file);
  if (!key.ok()) return Report(key.status());
  std::string pub = base64 ? verifier::Base64Encode(key->public_key())
                           : verifier::HexEncode(key->public_key());
  std::string id = verifier::HexEncode(verifier::KeyId(key->public_key()));
  if (G().json) {
    std::cout << json{{"public_key", pub}, {"key_id", id}}.dump() << "\n";
  } else {
    std::printf("%s\n", pub.c_str());
  }
  return kOk;
}

// --- record ---
int RecordSign(const std::string& json_file, const std::vector<std::string>& keys,
               const std::string& out) {
  auto text = ReadFile(json_file);
  if (!text.ok()) return Report(text.status());
  provenance::v1::Record record;
  auto st = google::protobuf::util::JsonStringToMessage(*text, &record);
  if (!st.ok()) {
    return Report(verifier::InvalidArgument("BAD_JSON", json_file + ": " + st.ToString()));
  }
  std::vector<verifier::SigningKey> loaded;
  for (const auto& k : keys) {
    auto key = verifier::ReadKeyFile(k);
    if (!key.ok()) return Report(key.status());
    loaded.push_back(std::move(key).value());
  }
  std::vector<const verifier::SigningKey*> ptrs;
  for (const auto& k : loaded) ptrs.push_back(&k);
  auto signed_record = records::SignRecord(record, ptrs);
  if (Status s = WriteFile(out, signed_record.SerializeAsString()); !s.ok()) return Report(s);
  std::fprintf(stderr, "prov: signed %s with %zu key(s) -> %s\n",
               verifier::RecordKindName(record).c_str(), keys.size(), out.c_str());
  return kOk;
}

int RecordCosign(const std::string& in, const std::string& key_file, const std::string& out) {
  auto bytes = ReadFile(in);
  if (!bytes.ok()) return Report(bytes.status());
  provenance::v1::SignedRecord sr;
  if (!sr.ParseFromString(*bytes)) {
    return Report(verifier::InvalidArgument("MALFORMED_RECORD", in + " is not a signed record"));
  }
  auto key = verifier::ReadKeyFile(key_file);
  if (!key.ok()) return Report(key.status());
  verifier::AddSignature(sr, *key);
  if (Status s = WriteFile(out.empty() ? in : out, sr.SerializeAsString()); !s.ok()) {
    return Report(s);
  }
  std::fprintf(stderr, "prov: %d signature(s) now on %s\n", sr.signatures_size(),
               (out.empty() ? in : out).c_str());
  return kOk;
}

int RecordShow(const std::string& in) {
  auto bytes = ReadFile(in);
  if (!bytes.ok()) return Report(bytes.status());
  auto p = verifier::PrepareRecord(*bytes);
  if (!p.ok()) return Report(p.status());
  json signers = json::array();
  for (const auto& s : p->signers) signers.push_back(verifier::HexEncode(s));
  json out{{"kind", verifier::RecordKindName(p->record)},
           {"record", json::parse(RecordJson(p->record))},
           {"signers", signers},
           {"leaf_hash", verifier::HexEncode(p->leaf_hash)}};
  std::cout << out.dump(G().json ? -1 : 2) << "\n";
  return kOk;
}

// --- submit ---
int Submit(const std::vector<std::string>& files) {
  auto c = ConnectVerified();
  if (!c.ok()) return Report(c.status());
  int rc = kOk;
  // Successes are printed once the trust store holds their head.
  std::vector<std::pair<std::string, client::LedgerClient::Appended>> logged;
  for (const auto& f : files) {
    auto bytes = ReadFile(f);
    if (!bytes.ok()) return Report(bytes.status());
    provenance::v1::SignedRecord sr;
    if (!sr.ParseFromString(*bytes)) {
      rc = std::max(rc, Report(verifier::InvalidArgument("MALFORMED_RECORD",
                                                         f + " is not a signed record"),
                               kUnverified));
      continue;
    }
    auto r = (*c)->Submit(sr);
    if (!r.ok()) {
      const Status& e = r.status();
      rc = std::max(rc, ReportSubmitError(Status(e.code(), e.reason(), f + ": " + e.message())));
      continue;
    }
    logged.emplace_back(f, std::move(r).value());
  }
  if (Status s = SaveTrust(**c); !s.ok()) return Report(LoggedBefore(s, logged));
  for (const auto& [f, r] : logged) PrintAppended("file", f, r);
  return rc;
}

// --- log ---
int LogCheckpoint() {
  auto c = ConnectReader();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  if (G().json) {
    json out = HeadJson(head->checkpoint);
    out["note"] = head->note;
    std::cout << json{{"ok", true}, {"checkpoint", out}}.dump() << "\n";
  } else {
    std::printf("%s", head->note.c_str());
    std::fprintf(stderr, "prov: checkpoint signature verified; consistent with the trust store\n");
  }
  return kOk;
}

int LogEntries(uint64_t start, uint64_t end) {
  if (start >= end) {
    return Report(verifier::InvalidArgument(
        "USAGE", "--start " + std::to_string(start) + " --end " + std::to_string(end) +
                     " is an empty range: entries [start, end) need start < end"));
  }
  auto c = ConnectReader();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  if (start >= head->checkpoint.size) {
    return Report(verifier::OutOfRange(
        "USAGE", "--start " + std::to_string(start) + " is beyond the log (size " +
                     std::to_string(head->checkpoint.size) + ")"));
  }
  end = std::min(end, head->checkpoint.size);
  auto leaves = (*c)->GetEntries(start, end);
  if (!leaves.ok()) return Report(leaves.status());
  json entries = json::array();
  for (size_t i = 0; i < leaves->size(); ++i) {
    uint64_t index = start + i;
    if (Status s = (*c)->ProveInclusion(index, (*leaves)[i], *head); !s.ok()) return Report(s);
    auto p = verifier::PrepareRecord((*leaves)[i]);
    std::string kind = p.ok() ? verifier::RecordKindName(p->record) : "unparseable";
    std::string body = p.ok() ? RecordJson(p->record) : "{}";
    entries.push_back({{"index", index}, {"kind", kind}, {"record", json::parse(body)}});
  }
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  if (G().json) {
    std::cout << json{{"ok", true}, {"checkpoint", HeadJson(head->checkpoint)}, {"entries", entries}}
                     .dump()
              << "\n";
  } else {
    for (const auto& e : entries) {
      std::printf("#%llu %s %s\n", static_cast<unsigned long long>(e["index"].get<uint64_t>()),
                  e["kind"].get<std::string>().c_str(), e["record"].dump().c_str());
    }
    std::fprintf(stderr, "prov: %zu entries, each proven included in the tree of size %llu\n",
                 entries.size(), static_cast<unsigned long long>(head->checkpoint.size));
  }
  return kOk;
}

int LogProof(uint64_t index, const std::string& format, const std::string& out) {
  if (format != "text" && format != "tlog-proof") {
    return Report(
        verifier::InvalidArgument("USAGE", "--format is text or tlog-proof, not '" + format + "'"));
  }
  if (!out.empty() && format != "tlog-proof") {
    return Report(verifier::InvalidArgument("USAGE", "--out needs --format tlog-proof"));
  }
  auto c = ConnectReader();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  if (index >= head->checkpoint.size) {
    return Report(verifier::OutOfRange("USAGE", "--index " + std::to_string(index) +
                                                    " is beyond the log (size " +
                                                    std::to_string(head->checkpoint.size) + ")"));
  }
  auto leaves = (*c)->GetEntries(index, index + 1);
  if (!leaves.ok()) return Report(leaves.status());
  auto hashes = (*c)->VerifiedInclusionProof(index, (*leaves)[0], *head);
  if (!hashes.ok()) return Report(hashes.status());
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  if (format == "tlog-proof") {
    // Against the head just verified (and, under a policy, quorum-checked):
    // its note as received, cosignatures included.
    const std::string text = verifier::FormatTlogProof(
        {.extra = (*leaves)[0], .index = index, .proof = *hashes, .checkpoint_note = head->note});
    if (out.empty()) {
      std::cout << text;
      return kOk;
    }
    if (Status s = WriteFile(out, text); !s.ok()) return Report(s);
    if (G().json) {
      std::cout << json{{"ok", true},
                        {"index", index},
                        {"file", out},
                        {"checkpoint", HeadJson(head->checkpoint)}}
                       .dump()
                << "\n";
    } else {
      std::printf(
          "wrote %s: entry #%llu in the tree of size %llu; verify it offline with "
          "`prov log verify-proof %s`\n",
          out.c_str(), static_cast<unsigned long long>(index),
          static_cast<unsigned long long>(head->checkpoint.size), out.c_str());
    }
    return kOk;
  }
  if (G().json) {
    std::cout << json{{"ok", true}, {"index", index}, {"checkpoint", HeadJson(head->checkpoint)}}.dump() << "\n";
  } else {
    std::printf("entry #%llu is included in the tree of size %llu (root %s)\n",
                static_cast<unsigned long long>(index),
                static_cast<unsigned long long>(head->checkpoint.size),
                verifier::HexEncode(head->checkpoint.root).c_str());
  }
  return kOk;
}

// Offline: a C2SP tlog-proof checked with only the pinned log key and, with
// --witness-policy, the witnesses' keys. No server, no trust store.
int LogVerifyProof(const std::string& file) {
  auto vkey_text = PinnedVkey();
  if (!vkey_text.ok()) return Report(vkey_text.status());
  auto vkey = verifier::ParseVerifierKey(*vkey_text);
  if (!vkey.ok()) return Report(vkey.status());
  auto policy = WitnessPolicy();
  if (!policy.ok()) return Report(policy.status());
  auto text = ReadFile(file);
  if (!text.ok()) return Report(text.status());
  auto proof = verifier::ParseTlogProof(*text);
  if (!proof.ok()) {
    return Report(Status(proof.status().code(), proof.status().reason(),
                         file + ": " + proof.status().message()));
  }
  if (!proof->extra) {
    return Report(verifier::InvalidArgument(
        "TLOG_PROOF_NO_ENTRY",
        file + " carries no entry (no `extra` line): there is nothing to prove included"));
  }
  auto head = verifier::VerifyTlogProof(*proof, *proof->extra, *vkey, vkey->name);
  if (!head.ok()) {
    return Report(client::Unverified(Status(head.status().code(), head.status().reason(),
                                            file + ": " + head.status().message())));
  }
  size_t cosigned = 0;
  if (*policy) {
    if (Status s = client::RequireWitnessQuorum(**policy, *vkey, proof->checkpoint_note,
                                                std::time(nullptr));
        !s.ok()) {
      return Report(Status(s.code(), s.reason(), file + ": " + s.message()));
    }
    cosigned =
        client::CountCosignatures(**policy, *vkey, proof->checkpoint_note, std::time(nullptr));
  }
  auto p = verifier::PrepareRecord(*proof->extra);
  const std::string kind = p.ok() ? verifier::RecordKindName(p->record) : "unparseable";
  const std::string body = p.ok() ? RecordJson(p->record) : "{}";
  if (G().json) {
    std::cout << json{{"ok", true},
                      {"index", proof->index},
                      {"kind", kind},
                      {"record", json::parse(body)},
                      {"checkpoint", HeadJson(*head)},
                      {"witness_policy", *policy ? json(G().witness_policy_file) : json(nullptr)},
                      {"cosignatures", cosigned}}
                     .dump()
              << "\n";
  } else {
    std::printf("#%llu %s %s\n", static_cast<unsigned long long>(proof->index), kind.c_str(),
                body.c_str());
    std::fprintf(stderr,
                 "prov: entry #%llu is included in the tree of size %llu (root %s) signed by "
                 "%s%s\n",
                 static_cast<unsigned long long>(proof->index),
                 static_cast<unsigned long long>(head->size),
                 verifier::HexEncode(head->root).c_str(), vkey->name.c_str(),
                 *policy ? (", cosigned by " + std::to_string(cosigned) +
                            " witness(es) of the policy: quorum met")
                               .c_str()
                         : " (no --witness-policy: witnesses not checked)");
  }
  return kOk;
}

int LogConsistency(const std::string& older_file) {
  auto c = ConnectReader();
  if (!c.ok()) return Report(c.status());
  auto text = ReadFile(older_file);
  if (!text.ok()) return Report(text.status());
  auto older = (*c)->VerifyNote(*text);
  if (!older.ok()) return Report(older.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  Status s = (*c)->ProveConsistency(older->checkpoint, head->checkpoint);
  if (!s.ok()) {
    return Report(verifier::DataLoss(
        "FORK", "tree head size " + std::to_string(head->checkpoint.size) + " root " +
                    verifier::HexEncode(head->checkpoint.root) +
                    " is not consistent with size " + std::to_string(older->checkpoint.size) +
                    " root " + verifier::HexEncode(older->checkpoint.root) + ": " +
                    s.ToString()));
  }
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  if (G().json) {
    std::cout << json{{"ok", true}, {"from", HeadJson(older->checkpoint)},
                      {"to", HeadJson(head->checkpoint)}}.dump() << "\n";
  } else {
    std::printf("tree of size %llu is an append-only extension of size %llu (proof verified)\n",
                static_cast<unsigned long long>(head->checkpoint.size),
                static_cast<unsigned long long>(older->checkpoint.size));
  }
  return kOk;
}

// Fetches and verifies the head, replays the whole log through the
// rulebook against it, and saves the head to the trust store.
struct Replayed {
  client::VerifiedCheckpoint head;
  client::AuditReport report;
};
Result<Replayed> VerifiedReplay() {
  PROV_ASSIGN_OR_RETURN(auto c, ConnectReader());
  PROV_ASSIGN_OR_RETURN(auto head, c->GetCheckpoint());
  PROV_ASSIGN_OR_RETURN(auto report, client::Audit(*c, head));
  PROV_RETURN_IF_ERROR(SaveTrust(*c));
  return Replayed{std::move(head), std::move(report)};
}

int AuditCmd() {
  auto replayed = VerifiedReplay();
  if (!replayed.ok()) return Report(replayed.status());
  const auto* head = &replayed->head;
  const auto* report = &replayed->report;
  if (G().json) {
    std::cout << json{{"ok", true}, {"checkpoint", HeadJson(head->checkpoint)},
                      {"kinds", report->kinds}}
                     .dump()
              << "\n";
  } else {
    std::printf("audit: replayed %llu entries through the rulebook; root %s matches the "
                "signed checkpoint\n",
                static_cast<unsigned long long>(report->size),
                verifier::HexEncode(report->root).c_str());
    for (const auto& [kind, n] : report->kinds) {
      std::printf("  %-20s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
    }
  }
  return kOk;
}

// --- org list, law list: from a verified replay of the whole log ---
bool Matches(const std::string& needle, std::initializer_list<std::string> hay) {
  if (needle.empty()) return true;
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string n = lower(needle);
  for (const auto& h : hay) {
    if (lower(h).find(n) != std::string::npos) return true;
  }
  return false;
}

int Directory(bool laws, const std::string& search) {
  auto replayed = VerifiedReplay();
  if (!replayed.ok()) return Report(replayed.status());
  const auto* head = &replayed->head;
  const auto* report = &replayed->report;
  json items = json::array();
  const auto prefix = laws ? verifier::state_key::kLawPrefix : verifier::state_key::kOrgPrefix;
  report->state.ForEach(prefix, [&](std::string_view, std::string_view value) {
    if (laws) {
      provenance::v1::LawState ls;
      if (!ls.ParseFromArray(value.data(), static_cast<int>(value.size()))) return;
      const auto& l = ls.current();
      if (!Matches(search, {l.code(), l.name(), l.jurisdiction()})) return;
      items.push_back({{"code", l.code()},
                       {"name", l.name()},
                       {"jurisdiction", l.jurisdiction()},
                       {"source", l.source()},
                       {"index", ls.record_indices().empty() ? 0 : ls.record_indices().rbegin()[0]}});
      return;
    }
    provenance::v1::OrgState os;
    if (!os.ParseFromArray(value.data(), static_cast<int>(value.size()))) return;
    const auto& o = os.current();
    std::string aliases;
    for (const auto& a : o.aliases()) aliases += a + " ";
    if (!Matches(search, {o.org_id(), o.legal_name(), aliases})) return;
    items.push_back({{"id", o.org_id()},
                     {"name", o.legal_name()},
                     {"country", o.country()},
                     {"laws", std::vector<std::string>(o.laws().begin(), o.laws().end())},
                     {"state_owned", o.state_owned()},
                     {"aliases", std::vector<std::string>(o.aliases().begin(), o.aliases().end())},
                     {"index", os.latest_index()}});
  });
  if (G().json) {
    std::cout << json{{"ok", true}, {"checkpoint", HeadJson(head->checkpoint)},
                      {laws ? "laws" : "orgs", items}}
                     .dump()
              << "\n";
    return kOk;
  }
  for (const auto& i : items) {
    if (laws) {
      std::printf("%-20s %-3s %s #%llu\n", i["code"].get<std::string>().c_str(),
                  i["jurisdiction"].get<std::string>().c_str(), i["name"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(i["index"].get<uint64_t>()));
    } else {
      std::string laws_text;
      for (const auto& l : i["laws"]) laws_text += " " + l.get<std::string>();
      std::printf("%-24s %-3s %s%s%s #%llu\n", i["id"].get<std::string>().c_str(),
                  i["country"].get<std::string>().c_str(), i["name"].get<std::string>().c_str(),
                  laws_text.empty() ? "" : (" (subject to" + laws_text + ")").c_str(),
                  i["state_owned"].get<bool>() ? " [state-owned]" : "",
                  static_cast<unsigned long long>(i["index"].get<uint64_t>()));
    }
  }
  std::fprintf(stderr, "prov: %zu %s%s, from a verified replay of the log (size %llu)\n",
               items.size(), laws ? "laws" : "organisations",
               search.empty() ? "" : (" matching '" + search + "'").c_str(),
               static_cast<unsigned long long>(head->checkpoint.size));
  return kOk;
}

}  // namespace

void AddDirectoryCommands(CLI::App& app) {
  auto search = std::make_shared<std::string>();
  auto* org = app.add_subcommand("org", "find organisations (ids for --buyer, --supplier, ...)");
  org->require_subcommand(1);
  auto* olist = org->add_subcommand(
      "list", "every registered organisation, from a verified replay of the log");
  olist->add_option("--search", *search, "only those whose id, name or alias contains TEXT");
  OnRun(olist, [search] { return Directory(false, *search); });
  auto* law = app.add_subcommand("law", "find registered laws (codes for policies and orgs)");
  law->require_subcommand(1);
  auto* llist = law->add_subcommand("list", "every registered law, from a verified replay");
  llist->add_option("--search", *search, "only those whose code or name contains TEXT");
  OnRun(llist, [search] { return Directory(true, *search); });
}

void AddKeyCommands(CLI::App& app) {
  struct Opts {
    std::string out, file;
    bool base64 = false;
  };
  auto o = std::make_shared<Opts>();
  auto* key = app.add_subcommand("key", "Ed25519 signing keys");
  key->require_subcommand(1);
  auto* gen = key->add_subcommand("generate", "new key pair; private key file is 0600");
  gen->add_option("--out", o->out, "private key file (never overwritten)")->required();
  OnRun(gen, [o] { return KeyGenerate(o->out); });
  auto* show = key->add_subcommand("show", "print the public key of a key file");
  show->add_option("file", o->file)->required();
  show->add_flag("--base64", o->base64, "base64 (as in record JSON) instead of hex");
  OnRun(show, [o] { return KeyShow(o->file, o->base64); });
}

void AddRecordCommands(CLI::App& app) {
  struct Opts {
    std::string out, in, json_file, key_file;
    std::vector<std::string> keys, files, ins, cosign_files;
  };
  auto o = std::make_shared<Opts>();
  auto* record = app.add_subcommand("record", "make and sign records");
  record->require_subcommand(1);
  auto* sign = record->add_subcommand("sign", "sign a record given as protobuf JSON");
  sign->add_option("--in", o->json_file, "file with the record in protobuf JSON")->required();
  sign->add_option("--key", o->keys, "signing key file (repeatable)")->required();
  sign->add_option("--out", o->out, "signed record file")->required();
  OnRun(sign, [o] { return RecordSign(o->json_file, o->keys, o->out); });
  auto* cosign = record->add_subcommand(
      "cosign", "add a signature to signed record files (authority threshold)");
  cosign->add_option("--in", o->ins, "signed record file (repeatable)");
  cosign->add_option("files", o->cosign_files, "more signed record files, e.g. DIR/*.rec");
  cosign->add_option("--key", o->key_file, "signing key file")->required();
  cosign->add_option("--out", o->out, "output (default: overwrite the input; one input only)");
  OnRun(cosign, [o] {
    std::vector<std::string> files = o->ins;
    files.insert(files.end(), o->cosign_files.begin(), o->cosign_files.end());
    if (files.empty()) {
      return Report(verifier::InvalidArgument("USAGE",
                                              "give the signed record files to co-sign "
                                              "(--in FILE, or FILE...)"));
    }
    if (!o->out.empty() && files.size() > 1) {
      return Report(verifier::InvalidArgument(
          "USAGE", "--out takes one input; with several, each file is co-signed in place"));
    }
    for (const auto& f : files) {
      if (int rc = RecordCosign(f, o->key_file, o->out); rc != kOk) return rc;
    }
    return kOk;
  });
  auto* show = record->add_subcommand("show", "check and print a signed record");
  show->add_option("--in", o->in, "signed record file")->required();
  OnRun(show, [o] { return RecordShow(o->in); });

  auto* submit = app.add_subcommand("submit", "submit signed records; proves each is logged");
  submit->add_option("files", o->files, "signed record files")->required();
  OnRun(submit, [o] { return Submit(o->files); });
}

void AddLogCommands(CLI::App& app) {
  struct Opts {
    uint64_t start = 0, end = 0, index = 0;
    std::string from_note, format = "text", out, proof_file;
  };
  auto o = std::make_shared<Opts>();
  auto* log = app.add_subcommand("log", "read and verify the log");
  log->require_subcommand(1);
  OnRun(log->add_subcommand("checkpoint", "fetch and verify the latest checkpoint"),
        [] { return LogCheckpoint(); });
  auto* entries = log->add_subcommand("entries", "entries [start, end), each proven");
  entries->add_option("--start", o->start, "first index")->default_val(0);
  entries->add_option("--end", o->end, "one past the last index")->required();
  OnRun(entries, [o] { return LogEntries(o->start, o->end); });
  auto* proof = log->add_subcommand("proof", "prove one entry is in the latest tree");
  proof->add_option("--index", o->index)->required();
  proof
      ->add_option("--format", o->format,
                   "text (default), or tlog-proof: a C2SP tlog-proof carrying the entry and "
                   "the (cosigned) checkpoint, verifiable offline")
      ->default_val("text");
  proof->add_option("--out", o->out, "with --format tlog-proof: write it to this file");
  OnRun(proof, [o] { return LogProof(o->index, o->format, o->out); });
  auto* verify = log->add_subcommand(
      "verify-proof",
      "offline: verify a tlog-proof (log signature, inclusion, witness quorum with "
      "--witness-policy) and print its entry");
  verify->add_option("file", o->proof_file, "tlog-proof file")->required();
  OnRun(verify, [o] { return LogVerifyProof(o->proof_file); });
  auto* cons = log->add_subcommand("consistency",
                                   "prove the latest tree extends an older signed checkpoint");
  cons->add_option("--from-note", o->from_note, "file with the older checkpoint note")
      ->required();
  OnRun(cons, [o] { return LogConsistency(o->from_note); });
  OnRun(app.add_subcommand("audit",
                           "replay the whole log through the rulebook and check the root"),
        [] { return AuditCmd(); });
}

namespace {

std::vector<std::string> OptionNames(const CLI::App* app) {
  std::vector<std::string> out;
  for (; app; app = app->get_parent()) {
    for (const CLI::Option* o : app->get_options()) {
      for (const auto& n : o->get_lnames()) out.push_back("--" + n);
    }
  }
  return out;
}

// After a parse error: walks the command line through the command tree and
// names the first unknown subcommand or option with the nearest valid ones.
std::string Suggestion(CLI::App& app, int argc, char** argv) {
  CLI::App* cur = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string tok = argv[i];
    if (tok == "--") break;
    if (tok.rfind("--", 0) == 0) {
      const std::string name = tok.substr(0, tok.find('='));
      const CLI::Option* opt = nullptr;
      for (const CLI::App* a = cur; a && !opt; a = a->get_parent()) {
        opt = a->get_option_no_throw(name);
      }
      if (!opt) {
        return "unknown option " + name +
               verifier::DidYouMean(verifier::Nearest(name, OptionNames(cur))) + "; `prov " +
               (cur == &app ? std::string() : "... " + cur->get_name() + " ") +
               "--help` lists them";
      }
      if (tok.find('=') == std::string::npos && opt->get_items_expected_min() > 0) ++i;
      continue;
    }
    if (tok.rfind("-", 0) == 0) continue;
    const auto subs = cur->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) continue;  // a positional argument
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (CLI::App* s : subs) {
      names.push_back(s->get_name());
      if (s->get_name() == tok) next = s;
    }
    if (!next) {
      return "unknown command '" + tok + "'" + verifier::DidYouMean(verifier::Nearest(tok, names)) +
             "; `" + (cur == &app ? std::string("prov") : "prov ... " + cur->get_name()) +
             " --help` lists them";
    }
    cur = next;
  }
  return "";
}

}  // namespace
}  // namespace prov

int main(int argc, char** argv) {
  using namespace prov;
  verifier::InitCrypto();
  CLI::App app{"prov: provenance ledger client for security cameras\n"
               "exit codes: 0 ok/TRUSTED, 1 REJECTED or refused, 2 UNVERIFIED, 3 security "
               "failure (fork, rollback, tampered evidence, wrong log key), 4 unavailable (retry), "
               "5 local failure (files, trust store), 64 usage (README \"Exit codes\")"};
  app.require_subcommand(1);
  // Global options are accepted before or after the subcommand.
  app.fallthrough();
  app.set_version_flag("--version", std::string("prov ") + PROV_VERSION);
  app.set_help_all_flag("--help-all", "every subcommand's options (the man page)");
  Globals& g = G();
  app.add_option("--server", g.server, "provd address HOST:PORT")
      ->default_val(g.server)
      ->envname("PROV_SERVER");
  app.add_option("--tiles-url", g.tiles_url,
                 "read the log from its C2SP tlog-tiles copy at this URL prefix instead of "
                 "--server (log, audit, org list, law list)")
      ->envname("PROV_TILES_URL");
  app.add_option("--tiles-ca", g.tiles_ca,
                 "PEM CA certificates for an https --tiles-url (default: the system's)")
      ->envname("PROV_TILES_CA");
  app.add_option("--tiles-timeout", g.tiles_timeout,
                 "seconds to wait for a --tiles-url server to connect or answer")
      ->default_val(g.tiles_timeout)
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--vkey", g.vkey_file, "file with the pinned log verifier key")
      ->envname("PROV_VKEY");
  app.add_option("--witness-policy", g.witness_policy_file,
                 "C2SP tlog-policy file: every checkpoint trusted as a head (and those of "
                 "bundles and tlog-proofs) needs its witness quorum, else UNVERIFIED")
      ->envname("PROV_WITNESS_POLICY");
  app.add_option("--state-dir", g.state_dir,
                 "trust store: remembers the newest verified checkpoint")
      ->envname("PROV_STATE_DIR");
  app.add_flag("--json", g.json, "machine-readable output");
  app.add_option("--tls-ca", g.tls.ca, "PEM CA that signed provd's certificate (TLS)")
      ->envname("PROV_TLS_CA");
  app.add_option("--tls-cert", g.tls.cert, "PEM client certificate (mTLS; writes may need it)")
      ->envname("PROV_TLS_CERT");
  app.add_option("--tls-key", g.tls.key, "PEM private key of --tls-cert")->envname("PROV_TLS_KEY");
  app.add_flag("--plaintext", g.tls.plaintext,
               "no TLS: allowed only to a loopback address (provd and cameras)")
      ->envname("PROV_PLAINTEXT");
  AddKeyCommands(app);
  AddRecordCommands(app);
  AddLogCommands(app);
  AddRegistryCommands(app);
  AddImportCommands(app);
  AddCheckCommands(app);
  AddScanCommands(app);
  AddDirectoryCommands(app);
  AddDiscoverCommands(app);
  AddHbomCommands(app);  // adds to `manufacturer`
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    g.server_on_command_line |= a == "--server" || a.rfind("--server=", 0) == 0;
  }
  // The subcommand path, for messages ("prov delivery check").
  g.command = "prov";
  for (CLI::App* cur = &app; cur != nullptr;) {
    CLI::App* next = nullptr;
    for (int i = 1; i < argc && next == nullptr; ++i) {
      if (argv[i][0] == '-') continue;
      for (CLI::App* s : cur->get_subcommands([](const CLI::App*) { return true; })) {
        if (s->get_name() == argv[i]) next = s;
      }
    }
    if (next != nullptr) g.command += " " + next->get_name();
    cur = next;
  }
  const char* env_server = std::getenv("PROV_SERVER");
  g.server_given = g.server_on_command_line || (env_server != nullptr && *env_server != '\0');
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    bool json_out = false;
    for (int i = 1; i < argc; ++i) json_out |= std::string(argv[i]) == "--json";
    std::string msg = std::string(e.what()) + " (prov --help)";
    if (std::string hint = Suggestion(app, argc, argv); !hint.empty()) msg = hint;
    G().json = json_out;
    return Report(verifier::InvalidArgument("USAGE", msg), kUsage);
  }
  return ExitCode();
}
