#include "ledger/subject_index.h"

#include <algorithm>
#include <ctime>

#include "ledger/coding.h"

namespace ledger {

using verifier::Hash;
using verifier::IndexTree;
using verifier::Status;

Status SubjectIndex::Load(const KvStore& kv, uint64_t covered) {
  const std::string prefix = coding::StateKey(verifier::state_key::kIndexHistoryPrefix);
  std::vector<std::pair<Hash, Hash>> leaves;
  Status bad;
  PROV_RETURN_IF_ERROR(kv.Scan(prefix, [&](std::string_view key, std::string_view value) {
    auto k = verifier::ToHash(verifier::AsBytes(key.substr(prefix.size())));
    auto h = verifier::DecodeHistory(value);
    if (!k.ok() || !h.ok()) {
      bad = verifier::DataLoss("CORRUPT_STATE", "an index history entry is malformed");
      return false;
    }
    h->erase(std::lower_bound(h->begin(), h->end(), covered), h->end());
    if (!h->empty()) leaves.emplace_back(*k, verifier::IndexHistoryHash(*h));
    return true;
  }));
  PROV_RETURN_IF_ERROR(bad);
  current_ = IndexTree().With(std::move(leaves));
  staged_.clear();
  return Status::Ok();
}

Status SubjectIndex::Stage(verifier::StateOverlay& state, const provenance::v1::Record& record,
                           uint64_t index) {
  // Each subject's history as staged: read from the store only for a subject
  // the tree holds and this batch has not staged yet (none for a new one).
  std::vector<std::pair<Hash, std::string>> next;
  for (const verifier::Subject& s : verifier::SubjectsOf(record)) {
    const Hash key = verifier::SubjectKey(s);
    std::string history;
    if (auto it = staged_.find(key); it != staged_.end()) {
      history = it->second;
    } else if (current_.Get(key)) {
      PROV_ASSIGN_OR_RETURN(bool found, state.Get(verifier::state_key::IndexHistory(key), &history));
      if (!found) return verifier::DataLoss("INDEX_CORRUPT", "a subject's stored history is missing");
    }
    history += verifier::EncodeHistory(std::span<const uint64_t>(&index, 1));
    next.emplace_back(key, std::move(history));
  }
  // Nothing fails from here on: the record is staged whole or not at all.
  for (auto& [key, history] : next) {
    state.Put(verifier::state_key::IndexHistory(key), history);
    staged_[key] = std::move(history);
  }
  return Status::Ok();
}

Result<IndexTree> SubjectIndex::Staged() const {
  std::vector<std::pair<Hash, Hash>> leaves;
  leaves.reserve(staged_.size());
  for (const auto& [key, history] : staged_) {
    PROV_ASSIGN_OR_RETURN(auto h, verifier::DecodeHistory(history));
    leaves.emplace_back(key, verifier::IndexHistoryHash(h));
  }
  return current_.With(std::move(leaves));
}

void SubjectIndex::Adopt(uint64_t size, IndexTree tree, uint64_t keep_from) {
  staged_.clear();
  current_ = tree;
  std::lock_guard lock(mu_);
  versions_[size] = std::move(tree);
  while (versions_.size() > kRecentVersions && versions_.begin()->first < keep_from) {
    versions_.erase(versions_.begin());
  }
}

std::optional<IndexTree> SubjectIndex::At(uint64_t size) const {
  std::lock_guard lock(mu_);
  auto it = versions_.find(size);
  if (it == versions_.end()) return std::nullopt;
  return it->second;
}

Result<verifier::PreparedRecord> IndexRootLeaf(const std::string& origin, uint64_t covered,
                                               const IndexTree& tree, int64_t issued_at) {
  provenance::v1::Record r;
  r.set_issued_at(issued_at ? issued_at : static_cast<int64_t>(std::time(nullptr)));
  auto* x = r.mutable_index_root();
  x->set_origin(origin);
  x->set_covered_size(covered);
  const Hash root = tree.Root();
  x->set_root(std::string(verifier::AsStringView(root)));
  x->set_subjects(tree.size());
  provenance::v1::SignedRecord sr;
  r.SerializeToString(sr.mutable_record());
  return verifier::PrepareRecord(sr.SerializeAsString());
}

Result<std::vector<uint64_t>> HistoryBefore(const verifier::StateView& state, const Hash& key,
                                            uint64_t covered) {
  std::string value;
  PROV_ASSIGN_OR_RETURN(bool found, state.Get(verifier::state_key::IndexHistory(key), &value));
  if (!found) return std::vector<uint64_t>{};
  PROV_ASSIGN_OR_RETURN(auto history, verifier::DecodeHistory(value));
  history.erase(std::lower_bound(history.begin(), history.end(), covered), history.end());
  return history;
}

}  // namespace ledger
