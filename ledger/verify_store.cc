#include "ledger/verify_store.h"

#include <cstring>

#include "ledger/coding.h"
#include "ledger/tree.h"
#include "verifier/index.h"
#include "verifier/rules.h"

namespace ledger {

using verifier::Status;

namespace {

Status Bad(std::string msg) { return verifier::DataLoss("STORE_CORRUPT", std::move(msg)); }

}  // namespace

Result<StoreReport> VerifyStore(const KvStore& kv, const verifier::PublicKey& log_key,
                                const std::function<void(uint64_t)>& progress) {
  std::string note;
  PROV_ASSIGN_OR_RETURN(bool have, kv.Get(coding::kLatestCheckpointKey, &note));
  if (!have) return verifier::NotFound("NO_LEDGER", "no checkpoint in this database");
  std::string origin = note.substr(0, note.find('\n'));
  PROV_ASSIGN_OR_RETURN(auto vkey,
                        verifier::ParseVerifierKey(verifier::FormatVerifierKey(origin, log_key)));
  auto head = verifier::VerifyCheckpoint(note, vkey, origin);
  if (!head.ok()) return Bad("latest checkpoint: " + head.status().ToString());

  verifier::MemoryState state;
  verifier::CompactRange range;
  verifier::IndexReplay index_replay;
  bool last_is_index_root = false;
  std::string tile;
  int64_t tile_loaded[8];
  std::string tiles[8];
  std::fill(std::begin(tile_loaded), std::end(tile_loaded), -1);
  Status node_error;

  for (uint64_t i = 0; i < head->size; ++i) {
    std::string leaf;
    PROV_ASSIGN_OR_RETURN(bool found, kv.Get(coding::LeafKey(i), &leaf));
    if (!found) return Bad("leaf " + std::to_string(i) + " is missing");
    auto prepared = verifier::PrepareRecord(leaf);
    Status s = prepared.status();
    verifier::StateOverlay overlay(&state);
    if (s.ok()) s = verifier::ApplyPrepared(overlay, *prepared, i);
    if (!s.ok()) return Bad("leaf " + std::to_string(i) + " breaks the rules: " + s.ToString());
    s = index_replay.Apply(overlay, *prepared, i);
    last_is_index_root = prepared->record.has_index_root();
    if (!s.ok()) return Bad("leaf " + std::to_string(i) + " breaks the index: " + s.ToString());
    state.Apply(overlay);
    // Every stored node at a tile level must equal the recomputed one.
    range.Append(prepared->leaf_hash, [&](int height, uint64_t index, const verifier::Hash& h) {
      if (!node_error.ok() || height % kTileHeight != 0) return;
      int level = height / kTileHeight;
      uint64_t t = index / kTileWidth;
      if (level >= 8) return;
      if (tile_loaded[level] != static_cast<int64_t>(t)) {
        auto got = kv.Get(coding::TileKey(level, t), &tiles[level]);
        if (!got.ok() || !*got) tiles[level].clear();
        tile_loaded[level] = static_cast<int64_t>(t);
      }
      size_t off = (index % kTileWidth) * 32;
      if (tiles[level].size() < off + 32 ||
          std::memcmp(tiles[level].data() + off, h.data(), 32) != 0) {
        node_error = Bad(level == 0 ? "leaf " + std::to_string(index) +
                                          " does not match its stored tree hash"
                                    : "tree node at height " + std::to_string(height) +
                                          " index " + std::to_string(index) + " (leaves " +
                                          std::to_string(index << height) + "..) is corrupt");
      }
    });
    if (!node_error.ok()) return node_error;
    if (progress && (i + 1) % 10000 == 0) progress(i + 1);
  }
  if (!verifier::ConstantTimeEqual(range.Root(), head->root)) {
    return Bad("recomputed root differs from the signed checkpoint");
  }
  provenance::v1::LogKeyState rotated;
  PROV_ASSIGN_OR_RETURN(bool has_rotated,
                        verifier::GetMessage(state, verifier::state_key::LogKey(), &rotated));
  if (has_rotated && rotated.rotation().new_key() != verifier::FormatVerifierKey(origin, log_key)) {
    return Bad("the log rotated its key at #" + std::to_string(rotated.index()) + " to " +
               rotated.rotation().new_key() + ", which is not the log key given");
  }
  if (!last_is_index_root) {
    return Bad("the head's last leaf " + std::to_string(head->size - 1) +
               " is not an index root (docs/index.md)");
  }
  std::string beyond;
  PROV_ASSIGN_OR_RETURN(bool extra, kv.Get(coding::LeafKey(head->size), &beyond));
  if (extra) return Bad("a leaf exists beyond the checkpointed size");

  // Stored state must be exactly the replayed state.
  uint64_t stored = 0;
  Status state_error;
  PROV_RETURN_IF_ERROR(kv.Scan(coding::kStatePrefix, [&](std::string_view k, std::string_view v) {
    ++stored;
    std::string want;
    auto got = state.Get(k.substr(coding::kStatePrefix.size()), &want);
    if (!got.ok() || !*got || want != v) {
      state_error = Bad("stored rulebook state differs from the replayed state");
      return false;
    }
    return true;
  }));
  if (!state_error.ok()) return state_error;
  if (stored != state.size()) return Bad("stored rulebook state is missing entries");
  return StoreReport{head->size, head->root, stored};
}

}  // namespace ledger
