// Test-side C2SP tlog-tiles publisher: writes the tiles, entry bundles and
// checkpoint of a ledger's store (ledger/coding.h keys) to a directory that
// nginx serves, with verifier/tlog_tiles.h paths. The real publisher is
// `provd serve --tiles-dir`; this one lets the client tests make any size.
// Also builds small ledgers of the fixture's records.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "ledger/ledger.h"
#include "tests/ledger/fixture.h"
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
// `first_device` on) to `size` leaves, one commit per record so that every
// size has a checkpoint.
inline void Grow(ledger::Ledger& l, const ledger_test::World& w, uint64_t size,
                 uint32_t first_device) {
  uint64_t n = l.Checkpoint()->size();
  const auto setup = w.Setup();
  while (n < size) {
    std::string leaf =
        n <= setup.size() ? setup[n - 1] : w.Device(first_device + static_cast<uint32_t>(n));
    ledger::Ack ack = l.SubmitAndWait(std::move(leaf));
    ASSERT_TRUE(ack.status.ok()) << ack.status.ToString();
    n = ack.checkpoint->size();
  }
}

}  // namespace testtiles
