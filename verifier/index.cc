#include "verifier/index.h"

#include <openssl/evp.h>

#include <algorithm>
#include <deque>
#include <set>

#include "verifier/merkle.h"

namespace verifier {

namespace pb = provenance::v1;

namespace {

constexpr std::string_view kSubjectKeyLabel = "prov index subject v1";

void PutU32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutU64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) *out++ = static_cast<uint8_t>((v >> (8 * i)) & 0xff);
}

std::string Hex(ByteView b) { return HexEncode(b); }

}  // namespace

std::string Subject::Name() const {
  if (ids.empty()) return kind;
  std::string out = kind + " ";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += "/";
    out += kind == "key" ? ids[i].substr(0, 16) : ids[i];
  }
  return out;
}

namespace subject {
Subject Device(std::string_view m, std::string_view s) {
  return {"device", {std::string(m), std::string(s)}};
}
Subject Org(std::string_view o) { return {"org", {std::string(o)}}; }
Subject Key(const PublicKey& pk) { return {"key", {Hex(KeyId(pk))}}; }
Subject KeyById(std::string_view key_id) { return {"key", {Hex(AsBytes(key_id))}}; }
Subject Model(std::string_view m, std::string_view id) {
  return {"model", {std::string(m), std::string(id)}};
}
Subject Component(std::string_view m, std::string_view p) {
  return {"component", {std::string(m), std::string(p)}};
}
Subject Ca(std::string_view m, std::string_view id) {
  return {"ca", {std::string(m), std::string(id)}};
}
Subject Mac(std::string_view prefix) { return {"mac", {std::string(prefix)}}; }
Subject MacRegistry() { return {"macs", {}}; }
Subject Authorities() { return {"authorities", {}}; }
Subject Law(std::string_view code) { return {"law", {std::string(code)}}; }
}  // namespace subject

Status CheckSubject(const Subject& s) {
  static const std::pair<std::string_view, size_t> kKinds[] = {
      {"device", 2}, {"org", 1}, {"key", 1},  {"model", 2}, {"component", 2},
      {"ca", 2},     {"mac", 1}, {"macs", 0}, {"law", 1},   {"authorities", 0},
  };
  for (const auto& [kind, ids] : kKinds) {
    if (s.kind != kind) continue;
    if (s.ids.size() != ids) {
      return InvalidArgument("UNKNOWN_SUBJECT", "a " + s.kind + " subject has " +
                                                    std::to_string(ids) + " ids, not " +
                                                    std::to_string(s.ids.size()));
    }
    return Status::Ok();
  }
  return InvalidArgument("UNKNOWN_SUBJECT", "no subject kind \"" + s.kind.substr(0, 32) + "\"");
}

pb::Subject ToProto(const Subject& s) {
  pb::Subject out;
  out.set_kind(s.kind);
  for (const auto& id : s.ids) out.add_ids(id);
  return out;
}

Subject FromProto(const pb::Subject& s) {
  return {s.kind(), std::vector<std::string>(s.ids().begin(), s.ids().end())};
}

namespace {

void AddUnique(std::vector<Subject>* out, Subject s) {
  if (std::find(out->begin(), out->end(), s) == out->end()) out->push_back(std::move(s));
}

}  // namespace

std::vector<Subject> SubjectsOf(const pb::Record& r) {
  std::vector<Subject> out;
  switch (r.kind_case()) {
    case pb::Record::kOrganization:
      out.push_back(subject::Org(r.organization().org_id()));
      break;
    case pb::Record::kLaw:
      out.push_back(subject::Law(r.law().code()));
      break;
    case pb::Record::kOrgFact:
      out.push_back(subject::Org(r.org_fact().org_id()));
      break;
    case pb::Record::kNoRegistrableOwner:
      out.push_back(subject::Org(r.no_registrable_owner().org_id()));
      break;
    case pb::Record::kRuling:
      out.push_back(subject::Org(r.ruling().org_id()));
      break;
    case pb::Record::kOwnership:
      AddUnique(&out, subject::Org(r.ownership().owner_org()));
      AddUnique(&out, subject::Org(r.ownership().owned_org()));
      break;
    case pb::Record::kKeyEnrollment: {
      PublicKey pk{};
      const std::string& k = r.key_enrollment().public_key();
      if (k.size() == pk.size()) std::copy(k.begin(), k.end(), pk.begin());
      out.push_back(subject::Key(pk));
      out.push_back(subject::Org(r.key_enrollment().org_id()));
      const std::string& renews = r.key_enrollment().renews();
      if (renews.size() == 32 && renews != AsStringView(KeyId(pk))) {
        out.push_back(subject::KeyById(renews));
      }
      break;
    }
    case pb::Record::kAuthoritySet:
      out.push_back(subject::Authorities());
      break;
    case pb::Record::kKeyRevocation:
      out.push_back(subject::KeyById(r.key_revocation().key_id()));
      break;
    case pb::Record::kComponent:
      out.push_back(subject::Component(r.component().maker_org(), r.component().part_number()));
      break;
    case pb::Record::kDeviceModel:
      out.push_back(
          subject::Model(r.device_model().manufacturer_org(), r.device_model().model_id()));
      break;
    case pb::Record::kFirmwareRelease:
      out.push_back(
          subject::Model(r.firmware_release().manufacturer_org(), r.firmware_release().model_id()));
      break;
    case pb::Record::kFirmwareRevocation:
      out.push_back(subject::Model(r.firmware_revocation().manufacturer_org(),
                                   r.firmware_revocation().model_id()));
      break;
    case pb::Record::kDevice:
      out.push_back(subject::Device(r.device().manufacturer_org(), r.device().serial()));
      break;
    case pb::Record::kTransfer:
      for (const auto& s : r.transfer().serials()) {
        AddUnique(&out, subject::Device(r.transfer().manufacturer_org(), s));
      }
      break;
    case pb::Record::kDeviceStatus:
      out.push_back(
          subject::Device(r.device_status().manufacturer_org(), r.device_status().serial()));
      break;
    case pb::Record::kCommissioning:
      out.push_back(
          subject::Device(r.commissioning().manufacturer_org(), r.commissioning().serial()));
      break;
    case pb::Record::kMacBlock:
      out.push_back(subject::Mac(r.mac_block().prefix()));
      out.push_back(subject::MacRegistry());
      break;
    case pb::Record::kDeviceIdentityCa:
      out.push_back(
          subject::Ca(r.device_identity_ca().manufacturer_org(), r.device_identity_ca().ca_id()));
      break;
    case pb::Record::kDeviceIdentityCaRevocation:
      out.push_back(subject::Ca(r.device_identity_ca_revocation().manufacturer_org(),
                                r.device_identity_ca_revocation().ca_id()));
      break;
    case pb::Record::kGenesis:
    case pb::Record::kIndexRoot:
    case pb::Record::kLogKeyRotation:
    case pb::Record::KIND_NOT_SET:
      break;
  }
  return out;
}

std::vector<Subject> ReliesOn(const pb::Record& r, std::span<const PublicKey> signers,
                              const pb::Genesis& genesis) {
  std::vector<Subject> out;
  for (const PublicKey& pk : signers) {
    const std::string_view pks = AsStringView(pk);
    const bool authority =
        std::any_of(genesis.authority_keys().begin(), genesis.authority_keys().end(),
                    [&](const pb::AuthorityKey& a) { return a.public_key() == pks; });
    if (!authority) AddUnique(&out, subject::Key(pk));
  }
  // Who the authorities were when it was signed: the genesis's set, or the
  // sets that replaced it (their records, all of them).
  if (!signers.empty() && !r.has_log_key_rotation()) AddUnique(&out, subject::Authorities());
  switch (r.kind_case()) {
    case pb::Record::kOrganization:
      for (const auto& law : r.organization().laws()) AddUnique(&out, subject::Law(law));
      break;
    case pb::Record::kOrgFact:
      if (r.org_fact().has_law()) AddUnique(&out, subject::Law(r.org_fact().law()));
      break;
    case pb::Record::kRuling:
      AddUnique(&out, subject::Law(r.ruling().law()));
      break;
    case pb::Record::kOwnership:
      AddUnique(&out, subject::Org(r.ownership().owner_org()));
      break;
    case pb::Record::kKeyEnrollment:
      AddUnique(&out, subject::Org(r.key_enrollment().org_id()));
      break;
    case pb::Record::kComponent:
      AddUnique(&out, subject::Org(r.component().maker_org()));
      break;
    case pb::Record::kDeviceModel: {
      const auto& m = r.device_model();
      AddUnique(&out, subject::Org(m.manufacturer_org()));
      if (!m.brand_org().empty()) AddUnique(&out, subject::Org(m.brand_org()));
      for (const auto& line : m.bom()) {
        const auto& c = line.component();
        AddUnique(&out, subject::Component(c.maker_org(), c.part_number()));
        AddUnique(&out, subject::Org(c.maker_org()));
      }
      break;
    }
    case pb::Record::kDevice: {
      const auto& d = r.device();
      AddUnique(&out, subject::Org(d.manufacturer_org()));
      AddUnique(&out, subject::Model(d.manufacturer_org(), d.model_id()));
      if (!d.identity_ca_id().empty()) {
        AddUnique(&out, subject::Ca(d.manufacturer_org(), d.identity_ca_id()));
      }
      break;
    }
    case pb::Record::kTransfer:
      AddUnique(&out, subject::Org(r.transfer().from_org()));
      AddUnique(&out, subject::Org(r.transfer().to_org()));
      break;
    case pb::Record::kCommissioning:
      AddUnique(&out, subject::Org(r.commissioning().installer_org()));
      break;
    case pb::Record::kMacBlock:
      AddUnique(&out, subject::Org(r.mac_block().org_id()));
      break;
    case pb::Record::kDeviceIdentityCa:
      AddUnique(&out, subject::Org(r.device_identity_ca().manufacturer_org()));
      break;
    default:
      break;
  }
  return out;
}

namespace {

// SHA-256 through OpenSSL's EVP, which uses the CPU's SHA extensions: the
// index hashes a dozen nodes per record on the sequencer's path, about
// three times faster than libsodium's portable code. The same function.
Hash FastSha256(const void* data, size_t len) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  Hash out;
  unsigned int n = 0;
  if (md == nullptr || EVP_Digest(data, len, out.data(), &n, md, nullptr) != 1 || n != 32) {
    return Sha256(ByteView(static_cast<const uint8_t*>(data), len));  // never expected
  }
  return out;
}

}  // namespace

Hash SubjectKey(const Subject& s) {
  std::string buf(kSubjectKeyLabel);
  buf.push_back('\0');
  PutU32(&buf, static_cast<uint32_t>(s.kind.size()));
  buf += s.kind;
  for (const auto& id : s.ids) {
    PutU32(&buf, static_cast<uint32_t>(id.size()));
    buf += id;
  }
  return FastSha256(buf.data(), buf.size());
}

Hash IndexHistoryHash(std::span<const uint64_t> history) {
  uint8_t small[1 + 8 + 8 * 8];
  std::vector<uint8_t> large;
  uint8_t* buf = small;
  const size_t len = 1 + 8 + 8 * history.size();
  if (len > sizeof small) {
    large.resize(len);
    buf = large.data();
  }
  buf[0] = 0x02;
  PutU64(buf + 1, history.size());
  for (size_t i = 0; i < history.size(); ++i) PutU64(buf + 9 + 8 * i, history[i]);
  return FastSha256(buf, len);
}

Hash IndexLeafHash(const Hash& key, const Hash& history_hash) {
  uint8_t buf[65];
  buf[0] = 0x00;
  std::copy(key.begin(), key.end(), buf + 1);
  std::copy(history_hash.begin(), history_hash.end(), buf + 33);
  return FastSha256(buf, sizeof buf);
}

Hash IndexNodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return FastSha256(buf, sizeof buf);
}

std::string EncodeHistory(std::span<const uint64_t> history) {
  std::string out(8 * history.size(), '\0');
  for (size_t i = 0; i < history.size(); ++i) {
    PutU64(reinterpret_cast<uint8_t*>(out.data()) + 8 * i, history[i]);
  }
  return out;
}

Result<std::vector<uint64_t>> DecodeHistory(std::string_view bytes) {
  if (bytes.size() % 8 != 0) return DataLoss("CORRUPT_STATE", "an index history is not BE64s");
  std::vector<uint64_t> out(bytes.size() / 8);
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t v = 0;
    for (size_t j = 0; j < 8; ++j) v = (v << 8) | static_cast<uint8_t>(bytes[8 * i + j]);
    out[i] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Proofs

Status VerifyIndexProof(const Hash& root, const Hash& key, std::span<const uint64_t> history,
                        const IndexProof& proof) {
  const size_t depth = proof.siblings.size();
  if (depth > kMaxIndexDepth) {
    return InvalidArgument("INDEX_PROOF_MALFORMED", "an index proof descends at most 256 levels");
  }
  if (history.size() > kMaxHistory) {
    return InvalidArgument("INDEX_PROOF_MALFORMED",
                           "a history of more than " + std::to_string(kMaxHistory) + " leaves");
  }
  for (size_t i = 1; i < history.size(); ++i) {
    if (history[i] <= history[i - 1]) {
      return InvalidArgument("INDEX_PROOF_MALFORMED", "the history is not strictly ascending at #" +
                                                          std::to_string(history[i]));
    }
  }
  for (const auto& s : proof.siblings) {
    if (s && *s == kEmptyIndexHash) {
      return InvalidArgument("INDEX_PROOF_MALFORMED",
                             "an empty subtree must be sent as an empty sibling");
    }
  }
  Hash h = kEmptyIndexHash;
  if (!history.empty()) {
    if (proof.other) {
      return InvalidArgument("INDEX_PROOF_MALFORMED",
                             "a proof of a history cannot end at another subject's leaf");
    }
    h = IndexLeafHash(key, history);
  } else if (proof.other) {
    const Hash& other = proof.other->first;
    if (other == key) {
      return InvalidArgument("INDEX_PROOF_MALFORMED",
                             "a proof of no history ends at the subject's own leaf");
    }
    for (size_t d = 0; d < depth; ++d) {
      if (KeyBit(other, d) != KeyBit(key, d)) {
        return InvalidArgument("INDEX_PROOF_MALFORMED",
                               "the leaf a proof of no history ends at is off the subject's path");
      }
    }
    h = IndexLeafHash(other, proof.other->second);
  }
  for (size_t d = depth; d-- > 0;) {
    const Hash& sib = proof.siblings[d] ? *proof.siblings[d] : kEmptyIndexHash;
    h = KeyBit(key, d) == 0 ? IndexNodeHash(h, sib) : IndexNodeHash(sib, h);
  }
  if (h != root) {
    return DataLoss("INDEX_PROOF_INVALID", "the index proof does not lead to the index root");
  }
  return Status::Ok();
}

Result<IndexProof> ParseIndexProof(const pb::SubjectProof& p) {
  IndexProof out;
  if (static_cast<size_t>(p.siblings_size()) > kMaxIndexDepth) {
    return InvalidArgument("INDEX_PROOF_MALFORMED", "an index proof descends at most 256 levels");
  }
  for (const auto& s : p.siblings()) {
    if (s.empty()) {
      out.siblings.emplace_back(std::nullopt);
      continue;
    }
    auto h = ToHash(AsBytes(s));
    if (!h.ok()) return InvalidArgument("INDEX_PROOF_MALFORMED", "a sibling is not 32 bytes");
    out.siblings.emplace_back(*h);
  }
  if (!p.other_key().empty() || !p.other_history_hash().empty()) {
    auto k = ToHash(AsBytes(p.other_key()));
    auto h = ToHash(AsBytes(p.other_history_hash()));
    if (!k.ok() || !h.ok()) {
      return InvalidArgument("INDEX_PROOF_MALFORMED",
                             "another leaf's key and hash are 32 bytes each");
    }
    out.other = std::make_pair(*k, *h);
  }
  return out;
}

void ToProto(const IndexProof& proof, pb::SubjectProof* out) {
  out->clear_siblings();
  for (const auto& s : proof.siblings) {
    out->add_siblings(s ? std::string(AsStringView(*s)) : std::string());
  }
  if (proof.other) {
    out->set_other_key(std::string(AsStringView(proof.other->first)));
    out->set_other_history_hash(std::string(AsStringView(proof.other->second)));
  }
}

// ---------------------------------------------------------------------------
// The tree

struct IndexTree::Node {
  Hash hash{};
  bool leaf = false;
  Hash key{};    // leaves only
  Hash value{};  // leaves only: the history hash
  std::shared_ptr<const Node> child[2];
};

namespace {

using NodePtr = std::shared_ptr<const IndexTree::Node>;
using Leaf = std::pair<Hash, Hash>;

const Hash& HashOf(const NodePtr& n) { return n ? n->hash : kEmptyIndexHash; }

NodePtr MakeLeaf(const Leaf& l) {
  auto n = std::make_shared<IndexTree::Node>();
  n->leaf = true;
  n->key = l.first;
  n->value = l.second;
  n->hash = IndexLeafHash(l.first, l.second);
  return n;
}

NodePtr MakeInner(NodePtr left, NodePtr right) {
  auto n = std::make_shared<IndexTree::Node>();
  n->hash = IndexNodeHash(HashOf(left), HashOf(right));
  n->child[0] = std::move(left);
  n->child[1] = std::move(right);
  return n;
}

// `leaves` sorted by key, distinct, all under `node`'s position at `depth`.
// `*added` counts keys that were not in the tree.
NodePtr Update(const NodePtr& node, size_t depth, std::span<const Leaf> leaves, size_t* added) {
  if (leaves.empty()) return node;
  if (node && node->leaf) {
    // Merge the existing leaf into the updates unless one replaces it.
    auto at = std::lower_bound(leaves.begin(), leaves.end(), node->key,
                               [](const Leaf& l, const Hash& k) { return l.first < k; });
    if (at != leaves.end() && at->first == node->key) {
      if (leaves.size() == 1) return MakeLeaf(leaves[0]);
      --*added;  // replaced, yet counted as added below
      return Update(nullptr, depth, leaves, added);
    }
    std::vector<Leaf> merged(leaves.begin(), leaves.end());
    merged.insert(merged.begin() + (at - leaves.begin()), {node->key, node->value});
    --*added;  // already in the tree, yet counted as added below
    return Update(nullptr, depth, merged, added);
  }
  if (!node && leaves.size() == 1) {
    ++*added;
    return MakeLeaf(leaves[0]);
  }
  // Split by the bit at this depth: keys with 0 sort first.
  auto mid = std::partition_point(leaves.begin(), leaves.end(),
                                  [depth](const Leaf& l) { return KeyBit(l.first, depth) == 0; });
  const size_t n = static_cast<size_t>(mid - leaves.begin());
  NodePtr left = Update(node ? node->child[0] : nullptr, depth + 1, leaves.subspan(0, n), added);
  NodePtr right = Update(node ? node->child[1] : nullptr, depth + 1, leaves.subspan(n), added);
  return MakeInner(std::move(left), std::move(right));
}

}  // namespace

Hash IndexTree::Root() const { return HashOf(root_); }

IndexTree IndexTree::With(std::vector<std::pair<Hash, Hash>> leaves) const {
  // Sorted by key; of a key given twice, the last.
  std::stable_sort(leaves.begin(), leaves.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<Hash, Hash>> distinct;
  distinct.reserve(leaves.size());
  for (auto& l : leaves) {
    if (!distinct.empty() && distinct.back().first == l.first) {
      distinct.back() = l;
    } else {
      distinct.push_back(l);
    }
  }
  leaves = std::move(distinct);
  size_t added = 0;
  NodePtr root = Update(root_, 0, leaves, &added);
  return IndexTree(std::move(root), size_ + added);
}

IndexProof IndexTree::Prove(const Hash& key) const {
  IndexProof proof;
  const Node* n = root_.get();
  size_t depth = 0;
  while (n && !n->leaf) {
    const int bit = KeyBit(key, depth);
    const Node* sib = n->child[1 - bit].get();
    proof.siblings.push_back(sib ? std::optional<Hash>(sib->hash) : std::nullopt);
    n = n->child[bit].get();
    ++depth;
  }
  if (n && n->key != key) proof.other = std::make_pair(n->key, n->value);
  return proof;
}

std::optional<Hash> IndexTree::Get(const Hash& key) const {
  const Node* n = root_.get();
  for (size_t depth = 0; n && !n->leaf; ++depth) n = n->child[KeyBit(key, depth)].get();
  if (n && n->key == key) return n->value;
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Replay

Status StageHistories(StateOverlay& state, const pb::Record& record, uint64_t index,
                      std::vector<Hash>* dirty, const std::function<bool(const Hash&)>& may_exist) {
  std::string value;
  for (const Subject& s : SubjectsOf(record)) {
    const Hash key = SubjectKey(s);
    const std::string skey = state_key::IndexHistory(key);
    value.clear();
    if (!may_exist || may_exist(key)) {
      PROV_ASSIGN_OR_RETURN(bool found, state.Get(skey, &value));
      (void)found;  // a new subject
    }
    state.Put(skey, value + EncodeHistory(std::span<const uint64_t>(&index, 1)));
    dirty->push_back(key);
  }
  return Status::Ok();
}

Result<IndexTree> WithHistories(const IndexTree& tree, const StateView& state,
                                std::vector<Hash>* dirty) {
  std::sort(dirty->begin(), dirty->end());
  dirty->erase(std::unique(dirty->begin(), dirty->end()), dirty->end());
  std::vector<std::pair<Hash, Hash>> leaves;
  leaves.reserve(dirty->size());
  std::string value;
  for (const Hash& key : *dirty) {
    PROV_ASSIGN_OR_RETURN(bool found, state.Get(state_key::IndexHistory(key), &value));
    if (!found) continue;  // staged by a record that then failed
    PROV_ASSIGN_OR_RETURN(auto history, DecodeHistory(value));
    leaves.emplace_back(key, IndexHistoryHash(history));
  }
  dirty->clear();
  return tree.With(std::move(leaves));
}

Result<IndexTree> IndexOf(const MemoryState& state) {
  std::vector<std::pair<Hash, Hash>> leaves;
  Status bad;
  const std::string prefix(state_key::kIndexHistoryPrefix);
  state.ForEach(prefix, [&](std::string_view k, std::string_view v) {
    auto key = ToHash(AsBytes(k.substr(prefix.size())));
    auto history = DecodeHistory(v);
    if (!key.ok() || !history.ok()) {
      bad = DataLoss("CORRUPT_STATE", "an index history entry is malformed");
      return;
    }
    leaves.emplace_back(*key, IndexHistoryHash(*history));
  });
  PROV_RETURN_IF_ERROR(bad);
  return IndexTree().With(std::move(leaves));
}

Status IndexReplay::Load(const MemoryState& state) {
  PROV_ASSIGN_OR_RETURN(IndexTree t, IndexOf(state));
  Reset(std::move(t));
  return Status::Ok();
}

Result<IndexTree> IndexReplay::Commit(const StateView& state) {
  PROV_ASSIGN_OR_RETURN(tree_, WithHistories(tree_, state, &dirty_));
  return tree_;
}

Status IndexReplay::Apply(StateOverlay& state, const PreparedRecord& rec, uint64_t index) {
  if (!rec.record.has_index_root()) return StageHistories(state, rec.record, index, &dirty_);
  const pb::IndexRoot& x = rec.record.index_root();
  PROV_ASSIGN_OR_RETURN(IndexTree tree, Commit(state));
  const Hash root = tree.Root();
  if (x.root() != AsStringView(root) || x.subjects() != tree.size()) {
    return DataLoss(
        "INDEX_ROOT_MISMATCH",
        "the index root logged at #" + std::to_string(index) + " (" +
            HexEncode(AsBytes(x.root())).substr(0, 16) + ", " + std::to_string(x.subjects()) +
            " subjects) is not the index of the " + std::to_string(index) + " leaves before it (" +
            HexEncode(root).substr(0, 16) + ", " + std::to_string(tree.size()) + " subjects)");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Static tiles

std::string IndexTilePath(const Hash& hash) {
  const std::string hex = HexEncode(hash);
  return "index/" + hex.substr(0, 2) + "/" + hex;
}

bool IsIndexTilePath(std::string_view path) {
  constexpr std::string_view kPrefix = "index/";
  if (path.size() != kPrefix.size() + 3 + 64 || !path.starts_with(kPrefix)) return false;
  const std::string_view shard = path.substr(kPrefix.size(), 2);
  const std::string_view hex = path.substr(kPrefix.size() + 3);
  if (path[kPrefix.size() + 2] != '/' || hex.substr(0, 2) != shard) return false;
  return std::all_of(hex.begin(), hex.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

namespace {

constexpr uint8_t kTileEmpty = 0x00, kTileLeaf = 0x01, kTileInner = 0x02, kTileRef = 0x03;

struct TileRoot {
  const IndexTree::Node* node;
  const IndexTree::Node* prev;  // the previous version's node at the same place
  size_t depth;
};

Status EncodeTileNode(const IndexTree::Node* n, const IndexTree::Node* prev, size_t depth,
                      size_t bottom, const HistoryLookup& history, std::string* out,
                      std::vector<TileRoot>* refs) {
  if (!n) {
    out->push_back(static_cast<char>(kTileEmpty));
    return Status::Ok();
  }
  if (n->leaf) {
    PROV_ASSIGN_OR_RETURN(std::vector<uint64_t> h, history(n->key));
    if (IndexHistoryHash(h) != n->value) {
      return Internal("INDEX_HISTORY_MISMATCH",
                      "a stored history does not give the index's leaf for it");
    }
    out->push_back(static_cast<char>(kTileLeaf));
    out->append(AsStringView(n->key));
    std::string len;
    PutU32(&len, static_cast<uint32_t>(h.size()));
    out->append(len);
    out->append(EncodeHistory(h));
    return Status::Ok();
  }
  if (depth == bottom) {
    out->push_back(static_cast<char>(kTileRef));
    out->append(AsStringView(n->hash));
    refs->push_back({n, prev, depth});
    return Status::Ok();
  }
  out->push_back(static_cast<char>(kTileInner));
  for (int i = 0; i < 2; ++i) {
    const IndexTree::Node* p = prev && !prev->leaf ? prev->child[i].get() : nullptr;
    PROV_RETURN_IF_ERROR(
        EncodeTileNode(n->child[i].get(), p, depth + 1, bottom, history, out, refs));
  }
  return Status::Ok();
}

}  // namespace

Status IndexTilesToPublish(const IndexTree& tree, const IndexTree& previous,
                           const HistoryLookup& history,
                           const std::function<Status(const Hash&, std::string)>& emit) {
  if (!tree.root_node()) return Status::Ok();  // the empty index has no tile
  std::vector<TileRoot> todo{{tree.root_node().get(), previous.root_node().get(), 0}};
  while (!todo.empty()) {
    TileRoot t = todo.back();
    todo.pop_back();
    if (t.prev && t.prev->hash == t.node->hash) continue;  // published with the previous version
    std::string bytes;
    PROV_RETURN_IF_ERROR(EncodeTileNode(t.node, t.prev, t.depth, t.depth + kIndexTileHeight,
                                        history, &bytes, &todo));
    PROV_RETURN_IF_ERROR(emit(t.node->hash, std::move(bytes)));
  }
  return Status::Ok();
}

namespace {

struct TileReader {
  std::string_view in;
  size_t pos = 0;
  const Hash& key;
  size_t top, bottom;
  IndexTileStep* step;
  std::vector<std::optional<Hash>>* sibs;  // by depth - top
  std::optional<std::pair<Hash, Hash>>* other;
  size_t path_inner = 0;  // inner nodes on the key's path

  Status Malformed(const std::string& why) const {
    return InvalidArgument("INDEX_TILE_MALFORMED",
                           "index tile byte " + std::to_string(pos) + ": " + why);
  }
  Result<Hash> ReadHash() {
    if (in.size() - pos < 32) return Malformed("truncated");
    Hash h;
    std::memcpy(h.data(), in.data() + pos, 32);
    pos += 32;
    return h;
  }
  // Parses the node at `depth`; `on_path`: the key's path runs through it.
  Result<Hash> Node(size_t depth, bool on_path) {
    if (pos >= in.size()) return Malformed("truncated");
    const uint8_t tag = static_cast<uint8_t>(in[pos++]);
    switch (tag) {
      case kTileEmpty:
        return kEmptyIndexHash;
      case kTileLeaf: {
        PROV_ASSIGN_OR_RETURN(Hash k, ReadHash());
        if (in.size() - pos < 4) return Malformed("truncated");
        uint32_t n = 0;
        for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in[pos++]);
        if (n > kMaxHistory || (in.size() - pos) / 8 < n) return Malformed("bad history length");
        PROV_ASSIGN_OR_RETURN(auto h, DecodeHistory(in.substr(pos, 8 * size_t{n})));
        pos += 8 * size_t{n};
        for (size_t d = 0; d < depth; ++d) {
          if (on_path && d >= top && KeyBit(k, d) != KeyBit(key, d)) {
            return Malformed("a leaf off its own path");
          }
        }
        const Hash hh = IndexHistoryHash(h);
        if (on_path) {
          if (k == key) {
            step->history = std::move(h);
          } else {
            *other = std::make_pair(k, hh);
          }
        }
        return IndexLeafHash(k, hh);
      }
      case kTileInner: {
        if (depth >= bottom) return Malformed("an inner node below the tile's bottom");
        const int bit = on_path ? KeyBit(key, depth) : -1;
        PROV_ASSIGN_OR_RETURN(Hash l, Node(depth + 1, bit == 0));
        PROV_ASSIGN_OR_RETURN(Hash r, Node(depth + 1, bit == 1));
        if (l == kEmptyIndexHash && r == kEmptyIndexHash)
          return Malformed("an inner node with no leaves");
        if (on_path) {
          ++path_inner;
          const Hash& sib = bit == 0 ? r : l;
          (*sibs)[depth - top] = sib == kEmptyIndexHash ? std::nullopt : std::optional<Hash>(sib);
        }
        return IndexNodeHash(l, r);
      }
      case kTileRef: {
        if (depth != bottom) return Malformed("a tile reference above the tile's bottom");
        PROV_ASSIGN_OR_RETURN(Hash h, ReadHash());
        if (h == kEmptyIndexHash) return Malformed("a reference to the empty tree");
        if (on_path) step->next = h;
        return h;
      }
      default:
        return Malformed("unknown node tag " + std::to_string(tag));
    }
  }
};

}  // namespace

Result<IndexTileStep> WalkIndexTile(const Hash& hash, std::string_view bytes, const Hash& key,
                                    size_t depth, IndexProof* proof) {
  IndexTileStep step;
  std::vector<std::optional<Hash>> sibs(kIndexTileHeight);
  std::optional<std::pair<Hash, Hash>> other;
  TileReader r{bytes, 0, key, depth, depth + kIndexTileHeight, &step, &sibs, &other, 0};
  PROV_ASSIGN_OR_RETURN(Hash got, r.Node(depth, true));
  if (r.pos != bytes.size()) return r.Malformed("trailing bytes");
  if (got != hash) {
    return DataLoss("INDEX_TILE_INVALID", "the index tile " + HexEncode(hash).substr(0, 16) +
                                              " does not hash to its name");
  }
  // The inner nodes the path passed in this tile, from its top.
  const size_t levels = r.path_inner;
  for (size_t i = 0; i < levels; ++i) proof->siblings.push_back(sibs[i]);
  if (other) proof->other = other;
  return step;
}

Result<pb::SubjectProof> ProveFromTiles(const Hash& root, const Subject& subject,
                                        const IndexTileFetch& fetch) {
  const Hash key = SubjectKey(subject);
  IndexProof proof;
  std::vector<uint64_t> history;
  Hash at = root;
  for (size_t depth = 0; at != kEmptyIndexHash; depth += kIndexTileHeight) {
    if (depth >= kMaxIndexDepth) {
      return DataLoss("INDEX_TILE_INVALID", "the index path is deeper than any key");
    }
    PROV_ASSIGN_OR_RETURN(std::string bytes, fetch(at));
    PROV_ASSIGN_OR_RETURN(IndexTileStep step, WalkIndexTile(at, bytes, key, depth, &proof));
    if (!step.next) {
      history = std::move(step.history);
      break;
    }
    at = *step.next;
  }
  pb::SubjectProof out;
  *out.mutable_subject() = ToProto(subject);
  for (uint64_t i : history) out.add_history(i);
  ToProto(proof, &out);
  return out;
}

// ---------------------------------------------------------------------------
// Reliance

Status WalkReliance(const std::vector<Subject>& roots, const pb::Genesis& genesis,
                    const RelianceVisit& visit) {
  std::set<Subject> seen(roots.begin(), roots.end());
  std::deque<Subject> todo(seen.begin(), seen.end());
  std::vector<RelianceStep> steps;
  while (!todo.empty()) {
    Subject s = std::move(todo.front());
    todo.pop_front();
    steps.clear();
    PROV_RETURN_IF_ERROR(visit(s, &steps));
    for (const RelianceStep& step : steps) {
      for (Subject& next : ReliesOn(*step.record, step.signers, genesis)) {
        if (seen.insert(next).second) todo.push_back(std::move(next));
      }
    }
  }
  return Status::Ok();
}

}  // namespace verifier
