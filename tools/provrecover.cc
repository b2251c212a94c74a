// provrecover: appends again, byte for byte, the leaves a ledger lost — a
// restored backup older than what was published — from a published copy of
// the same log: its static tiles, or a verifying mirror's. With provd
// stopped. The copy's checkpoint must verify with the ledger's log key (or
// a key it rotated to) and extend the ledger's own head (a consistency
// proof); its leaves are read from the tiles, each proven against that
// checkpoint, and appended in the copy's own commit batches, so that the
// index root the sequencer writes after each batch is the copy's byte for
// byte and the tree grows into exactly the published one. Nothing is ever
// re-signed at an old size with a different history. See docs/storage.md
// "Recovering lost leaves".
//
//   provrecover --data-dir DIR --from URL [--ca-file PEM]
//
// Exit: 0 recovered (or nothing to recover), 1 refused (provd is serving,
// a key rotation in the lost range, a leaf the rulebook now refuses), 3 the
// copy is not this ledger's extension or does not verify, 4 unreachable,
// 64 usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "client/ledger_client.h"
#include "ledger/backup.h"
#include "ledger/kv_store.h"
#include "ledger/ledger.h"
#include "verifier/merkle.h"
#include "verifier/rules.h"

namespace {

namespace pb = provenance::v1;
using verifier::Result;
using verifier::Status;

int ExitFor(const Status& s) {
  switch (s.code()) {
    case verifier::Code::kDataLoss:
      return 3;
    case verifier::Code::kUnavailable:
    case verifier::Code::kDeadlineExceeded:
      return 4;
    default:
      return 1;
  }
}

struct Recovered {
  uint64_t from = 0, to = 0;
  verifier::Hash root{};
};

// Appends `segment` (one source batch) and checks that the ledger wrote the
// source's index root after it, at `root_index`.
Status AppendSegment(ledger::Ledger& l, std::vector<verifier::PreparedRecord> segment,
                     uint64_t first, const std::string& root_leaf, uint64_t root_index) {
  if (segment.empty()) {
    return verifier::DataLoss(
        "COPY_MALFORMED",
        "the copy has an index root at #" + std::to_string(root_index) + " that follows no record");
  }
  pb::Record root;
  verifier::ParseLeafRecord(root_leaf, &root);
  auto acks = l.AppendBatch(std::move(segment), root.issued_at());
  for (size_t i = 0; i < acks.size(); ++i) {
    const auto& a = acks[i];
    if (!a.status.ok()) {
      return Status(a.status.code(), "DIVERGED",
                    "the copy's leaf #" + std::to_string(first + i) +
                        " is refused here: " + a.status.ToString());
    }
    if (a.already_logged || a.index != first + i) {
      return verifier::DataLoss("DIVERGED", "the copy's leaf #" + std::to_string(first + i) +
                                                " landed at #" + std::to_string(a.index));
    }
  }
  PROV_ASSIGN_OR_RETURN(std::string written, l.GetLeaf(root_index));
  if (written != root_leaf) {
    return verifier::DataLoss("DIVERGED", "the index root written at #" +
                                              std::to_string(root_index) +
                                              " is not the copy's: the batches differ");
  }
  return Status::Ok();
}

Result<Recovered> Recover(const std::string& dir, const std::string& url,
                          const std::string& ca_file) {
  PROV_ASSIGN_OR_RETURN(bool live, ledger::DatabaseInUse(ledger::DataDirDb(dir)));
  if (live) {
    return verifier::FailedPrecondition("DATABASE_IN_USE",
                                        "a provd is serving " + dir + "; stop it first");
  }
  PROV_ASSIGN_OR_RETURN(verifier::SigningKey key, verifier::ReadKeyFile(ledger::DataDirKey(dir)));
  PROV_ASSIGN_OR_RETURN(auto kv, ledger::OpenRocksKvStore(ledger::DataDirDb(dir), false));
  ledger::LedgerOptions options;
  options.max_batch = options.max_queue = 1 << 22;  // a source batch lands whole
  PROV_ASSIGN_OR_RETURN(auto l, ledger::Ledger::Open(std::move(kv), key, options));

  client::TilesOptions tiles;
  tiles.url = url;
  tiles.ca_file = ca_file;
  PROV_ASSIGN_OR_RETURN(auto c, client::LedgerClient::ConnectTiles(tiles, l->verifier_key()));
  PROV_ASSIGN_OR_RETURN(client::VerifiedCheckpoint local, c->VerifyNote(l->Checkpoint()->note()));
  PROV_ASSIGN_OR_RETURN(client::VerifiedCheckpoint remote, c->GetCheckpoint());
  Recovered out{local.checkpoint.size, remote.checkpoint.size, local.checkpoint.root};
  const bool behind = remote.checkpoint.size <= local.checkpoint.size;
  Status consistent;
  if (behind) {  // the proof from this ledger's own tree
    uint64_t second = local.checkpoint.size;
    auto hashes = l->ConsistencyHashes(remote.checkpoint.size, &second);
    consistent = hashes.ok() ? verifier::VerifyConsistency(
                                   remote.checkpoint.size, local.checkpoint.size, *hashes,
                                   remote.checkpoint.root, local.checkpoint.root)
                             : hashes.status();
  } else {
    consistent = c->ProveConsistency(local.checkpoint, remote.checkpoint);
  }
  if (!consistent.ok()) {
    return verifier::DataLoss(
        "FORK", "the copy at " + url + " (size " + std::to_string(remote.checkpoint.size) +
                    ") is not consistent with this ledger (size " +
                    std::to_string(local.checkpoint.size) + "): " + consistent.ToString());
  }
  if (behind) return out;  // nothing was lost that the copy holds

  std::vector<verifier::PreparedRecord> segment;
  uint64_t first = local.checkpoint.size;
  for (uint64_t start = local.checkpoint.size; start < remote.checkpoint.size; start += 1000) {
    const uint64_t end = std::min(remote.checkpoint.size, start + 1000);
    PROV_ASSIGN_OR_RETURN(auto leaves, c->GetEntries(start, end));  // proven against `remote`
    for (size_t i = 0; i < leaves.size(); ++i) {
      const uint64_t index = start + i;
      pb::Record r;
      if (!verifier::ParseLeafRecord(leaves[i], &r)) {
        return verifier::DataLoss("COPY_MALFORMED",
                                  "the copy's leaf #" + std::to_string(index) + " is not a record");
      }
      if (r.has_log_key_rotation()) {
        return verifier::FailedPrecondition(
            "ROTATION_IN_RANGE",
            "the log key was rotated at #" + std::to_string(index) +
                ", after this backup: restore a backup taken after the rotation (whose "
                "log.key is the new key) and recover from there");
      }
      if (r.has_index_root()) {
        PROV_RETURN_IF_ERROR(AppendSegment(*l, std::move(segment), first, leaves[i], index));
        segment.clear();
        first = index + 1;
        continue;
      }
      auto prepared = verifier::PrepareRecord(leaves[i]);
      if (!prepared.ok()) {
        return verifier::DataLoss("COPY_MALFORMED", "the copy's leaf #" + std::to_string(index) +
                                                        ": " + prepared.status().ToString());
      }
      segment.push_back(std::move(prepared).value());
    }
  }
  if (!segment.empty()) {
    return verifier::DataLoss("COPY_MALFORMED", "the copy's head does not end with an index root");
  }
  auto head = l->Checkpoint();
  if (head->size() != remote.checkpoint.size ||
      head->root_hash() != verifier::AsStringView(remote.checkpoint.root)) {
    return verifier::DataLoss("DIVERGED", "the recovered tree is not the copy's");
  }
  out.root = remote.checkpoint.root;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  verifier::InitCrypto();
  CLI::App app{
      "provrecover: append again, exactly, the leaves a restored ledger lost, from a "
      "published copy of the log (its static tiles or a mirror's)"};
  app.set_version_flag("--version", std::string("provrecover ") + PROV_VERSION);
  app.set_help_all_flag("--help-all", "every option (the man page)");
  std::string dir, url, ca_file;
  app.add_option("--data-dir", dir, "provd's data directory (provd stopped)")->required();
  app.add_option("--from", url, "the copy's tiles prefix: http(s)://HOST[:PORT][/PATH]")
      ->required();
  app.add_option("--ca-file", ca_file, "PEM CA certificates for an https copy");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 64;
  }
  auto r = Recover(dir, url, ca_file);
  if (!r.ok()) {
    std::fprintf(stderr, "provrecover: %s\n", r.status().ToString().c_str());
    return ExitFor(r.status());
  }
  if (r->to <= r->from) {
    std::printf(
        "provrecover: nothing to recover: the copy (size %llu) holds nothing this "
        "ledger (size %llu) lacks, and agrees with it\n",
        static_cast<unsigned long long>(r->to), static_cast<unsigned long long>(r->from));
    return 0;
  }
  std::printf(
      "provrecover: appended leaves #%llu..#%llu from %s; the head of size %llu has the "
      "published root %s\n",
      static_cast<unsigned long long>(r->from), static_cast<unsigned long long>(r->to - 1),
      url.c_str(), static_cast<unsigned long long>(r->to), verifier::HexEncode(r->root).c_str());
  return 0;
}
