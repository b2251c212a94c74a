// prov: the command line of the provenance ledger (see README "Using prov").
// This file holds main() and the key, record, submit, log and audit
// subcommands; client/cli.h has the shared plumbing and exit codes.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <iostream>

#include "client/cli.h"
#include "client/records.h"
#include "verifier/merkle.h"
#include "verifier/rules.h"

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
  auto signed_record = client::SignRecord(record, ptrs);
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
                               kCannotTell));
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
  auto c = Connect();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  if (G().json) {
    std::cout << HeadJson(head->checkpoint).dump() << "\n";
  } else {
    std::printf("%s", head->note.c_str());
    std::fprintf(stderr, "prov: checkpoint signature verified; consistent with the trust store\n");
  }
  return kOk;
}

int LogEntries(uint64_t start, uint64_t end) {
  auto c = Connect();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  // The entries are printed as they are proven: store the head first.
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
  end = std::min(end, head->checkpoint.size);
  auto leaves = (*c)->GetEntries(start, end);
  if (!leaves.ok()) return Report(leaves.status());
  for (size_t i = 0; i < leaves->size(); ++i) {
    uint64_t index = start + i;
    if (Status s = (*c)->ProveInclusion(index, (*leaves)[i], *head); !s.ok()) return Report(s);
    auto p = verifier::PrepareRecord((*leaves)[i]);
    std::string kind = p.ok() ? verifier::RecordKindName(p->record) : "unparseable";
    std::string body = p.ok() ? RecordJson(p->record) : "{}";
    std::cout << json{{"index", index}, {"kind", kind}, {"record", json::parse(body)}}.dump()
              << "\n";
  }
  return kOk;
}

int LogProof(uint64_t index) {
  auto c = Connect();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  auto leaves = (*c)->GetEntries(index, index + 1);
  if (!leaves.ok()) return Report(leaves.status());
  if (Status s = (*c)->ProveInclusion(index, (*leaves)[0], *head); !s.ok()) return Report(s);
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
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

int LogConsistency(const std::string& older_file) {
  auto c = Connect();
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

int AuditCmd() {
  auto c = Connect();
  if (!c.ok()) return Report(c.status());
  auto head = (*c)->GetCheckpoint();
  if (!head.ok()) return Report(head.status());
  auto report = client::Audit(**c, *head);
  if (!report.ok()) return Report(report.status());
  if (Status s = SaveTrust(**c); !s.ok()) return Report(s);
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

}  // namespace

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
    std::vector<std::string> keys, files;
  };
  auto o = std::make_shared<Opts>();
  auto* record = app.add_subcommand("record", "make and sign records");
  record->require_subcommand(1);
  auto* sign = record->add_subcommand("sign", "sign a record given as protobuf JSON");
  sign->add_option("--json", o->json_file, "record in protobuf JSON")->required();
  sign->add_option("--key", o->keys, "signing key file (repeatable)")->required();
  sign->add_option("--out", o->out, "signed record file")->required();
  OnRun(sign, [o] { return RecordSign(o->json_file, o->keys, o->out); });
  auto* cosign = record->add_subcommand("cosign", "add a signature (authority threshold)");
  cosign->add_option("--in", o->in, "signed record file")->required();
  cosign->add_option("--key", o->key_file, "signing key file")->required();
  cosign->add_option("--out", o->out, "output (default: overwrite --in)");
  OnRun(cosign, [o] { return RecordCosign(o->in, o->key_file, o->out); });
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
    std::string from_note;
  };
  auto o = std::make_shared<Opts>();
  auto* log = app.add_subcommand("log", "read and verify the log");
  log->require_subcommand(1);
  OnRun(log->add_subcommand("checkpoint", "fetch and verify the latest checkpoint"),
        [] { return LogCheckpoint(); });
  auto* entries = log->add_subcommand("entries", "entries [start, end), each proven");
  entries->add_option("--start", o->start)->default_val(0);
  entries->add_option("--end", o->end)->required();
  OnRun(entries, [o] { return LogEntries(o->start, o->end); });
  auto* proof = log->add_subcommand("proof", "prove one entry is in the latest tree");
  proof->add_option("--index", o->index)->required();
  OnRun(proof, [o] { return LogProof(o->index); });
  auto* cons = log->add_subcommand("consistency",
                                   "prove the latest tree extends an older signed checkpoint");
  cons->add_option("--from-note", o->from_note, "file with the older checkpoint note")
      ->required();
  OnRun(cons, [o] { return LogConsistency(o->from_note); });
  OnRun(app.add_subcommand("audit",
                           "replay the whole log through the rulebook and check the root"),
        [] { return AuditCmd(); });
}

}  // namespace prov

int main(int argc, char** argv) {
  using namespace prov;
  verifier::InitCrypto();
  CLI::App app{"prov: provenance ledger client for security cameras\n"
               "exit codes: 0 ok/trusted, 1 rejected, 2 cannot tell (usage, connection, "
               "verification)"};
  app.require_subcommand(1);
  Globals& g = G();
  app.add_option("--server", g.server, "provd address HOST:PORT")
      ->default_val(g.server)
      ->envname("PROV_SERVER");
  app.add_option("--vkey", g.vkey_file, "file with the pinned log verifier key")
      ->envname("PROV_VKEY");
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
  AddCheckCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kCannotTell;
  }
  return ExitCode();
}
