// Test-side C2SP tlog-tiles publisher: writes the tiles, entry bundles and
// checkpoint of a ledger's store (ledger/coding.h keys) to a directory that
// nginx serves, with verifier/tlog_tiles.h paths. The real publisher is
// `provd serve --tiles-dir`; this one lets the client tests publish any size
// the ledger signed. Also builds small ledgers of the fixture's records, and
// commits that a compromised log signs (AppendCommit).
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "ledger/ledger.h"
#include "ledger/subject_index.h"
#include "ledger/tree.h"
#include "tests/client/index_layout.h"
#include "tests/ledger/fixture.h"
#include "verifier/index.h"
#include "verifier/note.h"
#include "verifier/tlog_tiles.h"

namespace testtiles {

using verifier::Status;

inline Status WriteAtomically(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) return verifier::Internal("WRITE", "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
  return Status::Ok();
}

// The checkpoint note the ledger signed for `size` leaves.
inline verifier::Result<std::string> NoteAt(const ledger::KvStore& kv, uint64_t size) {
  std::string note;
  PROV_ASSIGN_OR_RETURN(bool found, kv.Get(ledger::coding::CheckpointKey(size), &note));
  if (!found)
    return verifier::NotFound("NO_NOTE", "no checkpoint for size " + std::to_string(size));
  return note;
}

// Publishes what a log growing from `old_size` to `new_size` adds (old
// partial tiles stay, as the spec allows), then the checkpoint for new_size.
inline Status Publish(const ledger::KvStore& kv, uint64_t old_size, uint64_t new_size,
                      const std::string& dir) {
  for (const verifier::TileRef& t : verifier::TilesToPublish(old_size, new_size)) {
    std::string bytes;
    if (t.level == verifier::kEntriesLevel) {
      for (uint64_t i = 0; i < t.width; ++i) {
        std::string leaf;
        PROV_ASSIGN_OR_RETURN(bool found,
                              kv.Get(ledger::coding::LeafKey(t.index * 256 + i), &leaf));
        if (!found) return verifier::NotFound("NO_LEAF", std::to_string(t.index * 256 + i));
        PROV_RETURN_IF_ERROR(verifier::AppendBundleEntry(&bytes, leaf));
      }
    } else {
      std::string tile;
      PROV_ASSIGN_OR_RETURN(bool found, kv.Get(ledger::coding::TileKey(t.level, t.index), &tile));
      if (!found || tile.size() < 32 * t.width) {
        return verifier::NotFound("NO_TILE", verifier::TilePath(t));
      }
      bytes = tile.substr(0, 32 * t.width);
    }
    PROV_RETURN_IF_ERROR(WriteAtomically(dir + "/" + verifier::TilePath(t), bytes));
  }
  PROV_ASSIGN_OR_RETURN(std::string note, NoteAt(kv, new_size));
  return WriteAtomically(dir + "/checkpoint", note);
}

// Grows a fixture ledger (genesis, then World::Setup(), then devices from
// `first_device` on) to `size` leaves, one record per commit so that every
// even size has a checkpoint: each commit adds its record and the log's
// index root after it (tests/client/index_layout.h).
inline void Grow(ledger::Ledger& l, const ledger_test::World& w, uint64_t size,
                 uint32_t first_device) {
  ASSERT_EQ(size % 2, 0u) << "a ledger of single commits has an even size, not " << size;
  uint64_t n = l.Checkpoint()->size();
  const auto setup = w.Setup();
  while (n < size) {
    const uint64_t logged = testlog::SingleCommitsIn(n);
    std::string leaf = logged < setup.size() ? setup[logged]
                                             : w.Device(first_device + static_cast<uint32_t>(n));
    ledger::Ack ack = l.SubmitAndWait(std::move(leaf));
    ASSERT_TRUE(ack.status.ok()) << ack.status.ToString();
    ASSERT_EQ(ack.index, n);
    n = ack.checkpoint->size();
  }
}

// The index the log owes after leaves [0, size) of a ledger's store: every
// subject their records concern (verifier::StageHistories), whatever the
// rulebook says of them.
inline verifier::Result<verifier::IndexTree> IndexOfLeaves(const ledger::KvStore& kv,
                                                           uint64_t size) {
  verifier::MemoryState none;
  verifier::StateOverlay histories(&none);
  std::vector<verifier::Hash> dirty;
  for (uint64_t i = 0; i < size; ++i) {
    std::string leaf;
    PROV_ASSIGN_OR_RETURN(bool found, kv.Get(ledger::coding::LeafKey(i), &leaf));
    provenance::v1::SignedRecord sr;
    provenance::v1::Record r;
    if (!found || !sr.ParseFromString(leaf) || !r.ParseFromString(sr.record())) {
      return verifier::NotFound("NO_LEAF", "leaf " + std::to_string(i) + " is missing or garbled");
    }
    PROV_RETURN_IF_ERROR(verifier::StageHistories(histories, r, i, &dirty));
  }
  return verifier::WithHistories(verifier::IndexTree(), histories, &dirty);
}

// Appends one commit to a ledger's store of `*size` leaves as its log would,
// whatever the rulebook says: `leaves`, then the log's index root of every
// leaf before it (with `forged_root` in place of the true root, if given),
// the tiles, and a checkpoint signed by the log key; `*size` grows. The
// rulebook state is not written: a test of a compromised log publishes the
// result (Publish) for the readers that replay it.
inline Status AppendCommit(ledger::KvStore& kv, uint64_t* size, const verifier::SigningKey& log_key,
                           const std::string& origin, const std::vector<std::string>& leaves,
                           std::optional<verifier::Hash> forged_root = std::nullopt) {
  ledger::TileReader reader(&kv);
  PROV_ASSIGN_OR_RETURN(ledger::TreeWriter tw, ledger::TreeWriter::Open(reader, &kv, *size));
  ledger::KvBatch batch;
  uint64_t next = *size;
  auto append = [&](const std::string& leaf) {
    batch.Put(ledger::coding::LeafKey(next++), leaf);
    tw.Append(verifier::LeafHash(verifier::AsBytes(leaf)));
  };
  for (const std::string& leaf : leaves) append(leaf);
  PROV_RETURN_IF_ERROR(kv.Write(batch));  // the index reads them back
  batch = {};
  PROV_ASSIGN_OR_RETURN(verifier::IndexTree tree, IndexOfLeaves(kv, next));
  PROV_ASSIGN_OR_RETURN(verifier::PreparedRecord root, ledger::IndexRootLeaf(origin, next, tree));
  if (forged_root) {
    root.record.mutable_index_root()->set_root(std::string(verifier::AsStringView(*forged_root)));
    provenance::v1::SignedRecord sr;
    root.record.SerializeToString(sr.mutable_record());
    root.leaf = sr.SerializeAsString();
  }
  append(root.leaf);
  tw.FlushTiles(&batch);
  verifier::Checkpoint c{origin, next, tw.Root(), {verifier::TimestampExtension(ledger_test::kT)}};
  batch.Put(ledger::coding::CheckpointKey(next),
            verifier::SignNote(verifier::FormatCheckpoint(c), origin, log_key));
  PROV_RETURN_IF_ERROR(kv.Write(batch));
  *size = next;
  return Status::Ok();
}

// The root a compromised log writes in place of its index's.
inline verifier::Hash ForgedIndexRoot() { return verifier::Sha256(std::string_view("forged")); }

}  // namespace testtiles
