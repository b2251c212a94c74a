// Reads a log published as C2SP tlog-tiles static files (https://c2sp.org/
// tlog-tiles) over HTTP(S), and computes inclusion and consistency proofs
// itself from the tiles. Everything fetched is checked before it is used
// (docs/tiles-client.md):
//   - a tile is exactly 32*W bytes, a bundle exactly W entries;
//   - the rightmost (partial) tiles a checkpoint requires hash to its root;
//   - every full tile hashes to its slot in the verified tile above it;
//   - every entry hashes to its slot in the verified level-0 tile.
// A wrong tile or bundle is DATA_LOSS naming its path. Partial tiles are
// fetched only for the size of a checkpoint whose signature the caller has
// verified; when one is gone (404), the full tile is read instead.
//
// HTTP: redirects are not followed; connect and read timeouts; a maximum
// body size per resource; https verifies the server's certificate (and host
// name) against `ca_file` or the system CA store.
//
// Errors: UNAVAILABLE UNREACHABLE (no connection), HTTP_TIMEOUT, HTTP_SERVER_ERROR
// (5xx), HTTP_STATUS (another unexpected status), TILE_MISSING (a resource a
// verified checkpoint requires is 404); NOT_FOUND NO_CHECKPOINT; DATA_LOSS
// RESPONSE_TOO_LARGE, MALFORMED_TILE, MALFORMED_BUNDLE, TILE_MISMATCH,
// BUNDLE_MISMATCH, TLS_UNTRUSTED_PEER; INVALID_ARGUMENT BAD_TILES_URL,
// HTTP_REDIRECT; OUT_OF_RANGE BEYOND_CHECKPOINT (a request past `at`).
//
// Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/log_source.h"
#include "verifier/tlog_tiles.h"

namespace client {

struct TilesOptions {
  // The log's prefix: http://HOST[:PORT][/PATH] or https://...; resources
  // are <prefix>/checkpoint and <prefix>/tile/...
  std::string url;
  std::string ca_file;  // https: PEM CA certificates; empty: the system store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{10000};
  size_t max_checkpoint_bytes = 64 * 1024;
  // A full bundle of 256 entries of the largest size (verifier/tlog_tiles.h).
  size_t max_bundle_bytes = verifier::kTileWidth * (2 + verifier::kMaxBundleEntryBytes);
  size_t cache_tiles = 1024;  // verified tiles kept in memory (8 KiB each)
};

class TilesSource final : public LogSource {
 public:
  // Checks the URL; connects on the first request.
  static verifier::Result<std::unique_ptr<TilesSource>> Open(TilesOptions options);
  ~TilesSource() override;
  TilesSource(const TilesSource&) = delete;
  TilesSource& operator=(const TilesSource&) = delete;

  verifier::Result<std::string> Checkpoint() override;
  verifier::Result<std::vector<std::string>> Entries(uint64_t start, uint64_t end,
                                                     const verifier::Checkpoint& at) override;
  verifier::Result<std::vector<verifier::Hash>> InclusionProof(
      uint64_t index, uint64_t size, const verifier::Checkpoint& at) override;
  verifier::Result<std::vector<verifier::Hash>> ConsistencyProof(
      uint64_t size1, uint64_t size2, const verifier::Checkpoint& at) override;
  std::string Describe() const override { return "tiles at " + options_.url; }
  // At most 1 MiB (an index tile of 8 levels with its leaves' histories).
  verifier::Result<std::string> IndexTile(const verifier::Hash& hash) override;
  bool ChecksWhatItReads() const override { return true; }
  // The log-key-rotations file (docs/tiles.md); none when it is absent.
  verifier::Result<std::vector<verifier::RotationLeaf>> LogKeyRotations() override;

  // Every resource path requested so far, in order (tests).
  const std::vector<std::string>& requested() const { return requested_; }

 private:
  class Http;
  explicit TilesSource(TilesOptions options);

  // GET <prefix>/<path>: the body of a 200, at most `max_bytes`.
  verifier::Result<std::string> Get(const std::string& path, size_t max_bytes);
  // The bytes of `ref` (a tile or a bundle at the width `at` requires); on
  // a 404 of a partial one, the full one. Sets *full when it read the full one.
  verifier::Result<std::string> FetchResource(const verifier::TileRef& ref,
                                              const verifier::Checkpoint& at, bool* full);
  // The hashes of the tile (level, index) of the tree `at`, verified.
  verifier::Result<std::shared_ptr<const std::vector<verifier::Hash>>> VerifiedTile(
      int level, uint64_t index, const verifier::Checkpoint& at);
  // Fetches the rightmost partial tiles of `at` and checks they hash to its root.
  verifier::Status VerifyEdge(const verifier::Checkpoint& at);
  verifier::Result<verifier::Hash> SubtreeHash(uint64_t begin, uint64_t end,
                                               const verifier::Checkpoint& at);
  // Resets the cache when `at` is another tree than the cached one.
  void UseHead(const verifier::Checkpoint& at);
  void Remember(int level, uint64_t index, std::vector<verifier::Hash> hashes);

  TilesOptions options_;
  std::string scheme_host_port_, base_path_;  // base_path_ ends with '/'
  std::unique_ptr<Http> http_;
  std::vector<std::string> requested_;

  // Tiles verified against the tree (size, root) of head_, LRU.
  std::optional<std::pair<uint64_t, verifier::Hash>> head_;
  using TileKey = std::pair<int, uint64_t>;
  std::list<TileKey> lru_;
  using Tile = std::shared_ptr<const std::vector<verifier::Hash>>;
  std::map<TileKey, std::pair<Tile, std::list<TileKey>::iterator>> tiles_;
  // The last bundle read (audits read ranges that straddle bundles).
  std::optional<std::pair<uint64_t, std::vector<std::string>>> last_bundle_;
};

}  // namespace client
