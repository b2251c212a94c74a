// The verifiable index: for every subject a verdict can depend on (a device,
// an organisation, a signing key, a device model and its firmware line, a
// component, a device-identity CA, a MAC block, a law), the ascending list
// of leaf indices whose records concern it. It is a sparse Merkle tree over
// SHA-256 subject keys whose root the log writes as a leaf (IndexRoot) at the
// end of every commit batch; evidence carries each subject's history with a
// proof against that root, so a verifier knows nothing about the subject was
// left out. Everything here is pure; docs/index.md is the specification,
// with known-answer vectors.
#pragma once

#include <compare>
#include <cstring>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proto/ledger.pb.h"
#include "proto/records.pb.h"
#include "verifier/crypto.h"
#include "verifier/rules.h"
#include "verifier/state.h"

namespace verifier {

// A subject: a kind and its ids, e.g. {"device", {"acme", "SN-1"}}.
struct Subject {
  std::string kind;  // device org key model component ca mac macs law authorities
  std::vector<std::string> ids;

  // "device acme/SN-1"
  std::string Name() const;
  auto operator<=>(const Subject&) const = default;
  bool operator==(const Subject&) const = default;
};

namespace subject {
Subject Device(std::string_view manufacturer, std::string_view serial);
Subject Org(std::string_view org_id);
Subject Key(const PublicKey& public_key);  // id: hex of KeyId (SHA-256 of the key)
Subject KeyById(std::string_view key_id);  // raw 32-byte key id
Subject Model(std::string_view manufacturer, std::string_view model_id);
Subject Component(std::string_view maker, std::string_view part_number);
Subject Ca(std::string_view manufacturer, std::string_view ca_id);
Subject Mac(std::string_view prefix);  // upper-case hex, 6, 7 or 9 digits
// Every vetted MAC block: what a scan relies on to tell that no block
// holding the camera's MAC was left out, online or from a bundle.
Subject MacRegistry();
Subject Law(std::string_view code);
// Every AuthoritySet record: who the authorities were at each leaf. Every
// signed record relies on it.
Subject Authorities();
}  // namespace subject

// OK for a known kind with its number of ids; INVALID_ARGUMENT
// UNKNOWN_SUBJECT otherwise.
Status CheckSubject(const Subject& s);

provenance::v1::Subject ToProto(const Subject& s);
Subject FromProto(const provenance::v1::Subject& s);

// THE definition of the index: the subjects a record concerns, each once.
// Genesis and index roots concern none (docs/index.md "Subjects").
std::vector<Subject> SubjectsOf(const provenance::v1::Record& record);

// The subjects whose whole history a verdict needs once it relies on
// `record` (signed by `signers`): the keys that signed it (genesis
// authorities excepted) and what it points at (docs/index.md "Complete
// evidence"). Held organisations are not among them; owners are.
std::vector<Subject> ReliesOn(const provenance::v1::Record& record,
                              std::span<const PublicKey> signers,
                              const provenance::v1::Genesis& genesis);

// Hashing (docs/index.md "Hashing"). An empty subtree hashes to 32 zero
// bytes; an inner node to SHA-256(0x01 || left || right); a subject's leaf to
// SHA-256(0x00 || key || history hash), the history hash being
// SHA-256(0x02 || BE64(n) || BE64(i_1) .. BE64(i_n)).
Hash SubjectKey(const Subject& s);
Hash IndexHistoryHash(std::span<const uint64_t> history);
Hash IndexLeafHash(const Hash& key, const Hash& history_hash);
inline Hash IndexLeafHash(const Hash& key, std::span<const uint64_t> history) {
  return IndexLeafHash(key, IndexHistoryHash(history));
}
Hash IndexNodeHash(const Hash& left, const Hash& right);
inline constexpr Hash kEmptyIndexHash{};

// Bit `depth` of a key, most significant bit of byte 0 first: 0 goes left.
inline int KeyBit(const Hash& key, size_t depth) {
  return (key[depth / 8] >> (7 - depth % 8)) & 1;
}

// The path from the root to where a key's leaf is (or would be).
struct IndexProof {
  std::vector<std::optional<Hash>> siblings;  // from the root down; nullopt: empty subtree
  // When the path ends at another subject's leaf: its key and history hash
  // (the verifier computes the leaf from both, so neither can be forged).
  std::optional<std::pair<Hash, Hash>> other;
};

// Verifies that `history` is exactly the history of `key` in the index with
// `root`. An empty history is proven by a path ending at an empty subtree or
// at another key's leaf. INVALID_ARGUMENT INDEX_PROOF_MALFORMED or DATA_LOSS
// INDEX_PROOF_INVALID otherwise.
Status VerifyIndexProof(const Hash& root, const Hash& key, std::span<const uint64_t> history,
                        const IndexProof& proof);

// Wire form (proto SubjectProof) without the subject and history.
Result<IndexProof> ParseIndexProof(const provenance::v1::SubjectProof& p);
void ToProto(const IndexProof& proof, provenance::v1::SubjectProof* out);

// A history as stored (state_key::IndexHistory): BE64 leaf indices.
std::string EncodeHistory(std::span<const uint64_t> history);
Result<std::vector<uint64_t>> DecodeHistory(std::string_view bytes);

// At most this many siblings and history entries in a proof from the wire.
inline constexpr size_t kMaxIndexDepth = 256;
inline constexpr size_t kMaxHistory = 100'000;

// A version of the index tree. Immutable: With() returns a new version
// sharing every untouched node, so old versions stay valid and cheap.
// Thread-safe for readers.
class IndexTree {
 public:
  IndexTree() = default;

  Hash Root() const;
  size_t size() const { return size_; }  // subjects
  // A new version with each (key, history hash) set (of a key given twice,
  // the last).
  IndexTree With(std::vector<std::pair<Hash, Hash>> leaves) const;
  IndexProof Prove(const Hash& key) const;
  std::optional<Hash> Get(const Hash& key) const;  // the key's history hash

  struct Node;
  const std::shared_ptr<const Node>& root_node() const { return root_; }

 private:
  explicit IndexTree(std::shared_ptr<const Node> root, size_t size)
      : root_(std::move(root)), size_(size) {}
  std::shared_ptr<const Node> root_;
  size_t size_ = 0;
};

struct HashHasher {
  size_t operator()(const Hash& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

// Histories live in a rulebook state (state_key::IndexHistory), so that a
// replayer's snapshot or the ledger's store keeps them with everything else.
// StageHistories appends `index` to the history of each subject `record`
// concerns and adds their keys to `dirty`; WithHistories returns `tree` with
// the leaves of the `dirty` keys (then cleared) as `state` holds them.
// `may_exist` (optional) says whether a key can have a stored history; when
// it says no, the history is taken as empty without reading `state` (the
// ledger answers from its tree, sparing a database read per new subject).
Status StageHistories(StateOverlay& state, const provenance::v1::Record& record, uint64_t index,
                      std::vector<Hash>* dirty,
                      const std::function<bool(const Hash&)>& may_exist = {});
Result<IndexTree> WithHistories(const IndexTree& tree, const StateView& state,
                                std::vector<Hash>* dirty);
// The tree of every history in `state`.
Result<IndexTree> IndexOf(const MemoryState& state);

// The index as a replayer keeps it (prov audit, provd verify, provmirror,
// provwitness --replay). Feed it every leaf the rulebook accepted, in order,
// with the state the rulebook wrote to.
class IndexReplay {
 public:
  // Resumes from a replayed state (or a tree the caller rebuilt).
  Status Load(const MemoryState& state);
  void Reset(IndexTree tree) { tree_ = std::move(tree), dirty_.clear(); }
  // Indexes leaf `index` into `state`; for an index root, checks that its
  // root (and subject count) is that of every leaf before it: DATA_LOSS
  // INDEX_ROOT_MISMATCH naming the leaf otherwise.
  Status Apply(StateOverlay& state, const PreparedRecord& record, uint64_t index);
  // The index of every leaf applied so far (histories read from `state`).
  Result<IndexTree> Commit(const StateView& state);
  const IndexTree& tree() const { return tree_; }  // as of the last Commit

 private:
  std::vector<Hash> dirty_;
  IndexTree tree_;
};

// Static index tiles (docs/index.md "Static files"): the tree cut into
// subtrees of 8 levels, each a file named by its root hash, so a client can
// prove a subject's history from immutable files. A tile is the preorder
// encoding of its subtree: 0x00 empty; 0x01 key(32) BE32(n) n*BE64 a leaf
// with its history; 0x02 left right an inner node above the tile's bottom;
// 0x03 hash(32) an inner node 8 levels down, whose subtree is the tile of
// that name.
inline constexpr size_t kIndexTileHeight = 8;
std::string IndexTilePath(const Hash& hash);  // "index/ab/abcd...": sharded by the first byte
bool IsIndexTilePath(std::string_view path);  // exactly such a path, lower-case hex
// Calls `emit` for every tile of `tree` that `previous` (may be empty) does
// not hold, with the histories `history` gives for its leaves.
using HistoryLookup = std::function<Result<std::vector<uint64_t>>(const Hash& key)>;
Status IndexTilesToPublish(const IndexTree& tree, const IndexTree& previous,
                           const HistoryLookup& history,
                           const std::function<Status(const Hash& hash, std::string bytes)>& emit);
// Follows `key` through the tile `bytes`, which must hash to `hash` (DATA_LOSS
// INDEX_TILE_INVALID otherwise; INVALID_ARGUMENT INDEX_TILE_MALFORMED for
// bytes that do not parse). `depth` is the tile root's depth. Appends the
// siblings it passes to `proof`; sets `*next` to the tile to read next, or
// fills `history`/`proof->other` where the path ends.
struct IndexTileStep {
  std::optional<Hash> next;  // the path continues in this tile
  std::vector<uint64_t> history;  // the key's own leaf
};
Result<IndexTileStep> WalkIndexTile(const Hash& hash, std::string_view bytes, const Hash& key,
                                    size_t depth, IndexProof* proof);

// A subject's history and proof from static tiles: from the index root down
// the key's path, each tile fetched by `fetch` and checked against its name.
using IndexTileFetch = std::function<Result<std::string>(const Hash& hash)>;
Result<provenance::v1::SubjectProof> ProveFromTiles(const Hash& root, const Subject& subject,
                                                     const IndexTileFetch& fetch);

// Walks what a verdict relies on: from `roots`, every subject reached by
// ReliesOn from the records of the subjects before it, each once. `visit`
// gives a subject's records (those it can resolve) to walk on from.
struct RelianceStep {
  const provenance::v1::Record* record;
  std::span<const PublicKey> signers;
};
using RelianceVisit = std::function<Status(const Subject&, std::vector<RelianceStep>*)>;
Status WalkReliance(const std::vector<Subject>& roots, const provenance::v1::Genesis& genesis,
                    const RelianceVisit& visit);

}  // namespace verifier
