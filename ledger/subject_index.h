// The server's half of the verifiable index (verifier/index.h,
// docs/index.md): each subject's history lives in the rulebook state
// (state_key::IndexHistory, written in the batch's one atomic write); the
// tree lives in memory, rebuilt from the histories when the ledger opens,
// with a version kept for every recent head so that evidence can be proven
// against a published head that lags the latest.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ledger/kv_store.h"
#include "verifier/index.h"
#include "verifier/state.h"

namespace ledger {

class SubjectIndex {
 public:
  // Versions kept below the published head (a reader that took a head just
  // before a commit still finds its version).
  static constexpr size_t kRecentVersions = 8;

  // Rebuilds the tree from the histories stored in `kv`, without the leaves
  // at or after `covered` (the index of an older head).
  verifier::Status Load(const KvStore& kv, uint64_t covered = UINT64_MAX);

  // Sequencer thread. Appends `index` to the history of each subject the
  // record concerns, in `state`.
  verifier::Status Stage(verifier::StateOverlay& state, const provenance::v1::Record& record,
                         uint64_t index);
  // Sequencer thread. The tree with everything staged since the last
  // Adopt/Discard; not yet adopted.
  Result<verifier::IndexTree> Staged() const;
  // Sequencer thread, once the batch is durable: `tree` is the index proven
  // by checkpoints of `size`. Versions below `keep_from` (the published
  // head) are dropped but for the most recent few.
  void Adopt(uint64_t size, verifier::IndexTree tree, uint64_t keep_from);
  // Sequencer thread: the batch failed; forget what was staged.
  void Discard() { staged_.clear(); }

  // Any thread: the version proven by a checkpoint of `size`, if kept.
  std::optional<verifier::IndexTree> At(uint64_t size) const;
  const verifier::IndexTree& current() const { return current_; }  // sequencer thread

 private:
  verifier::IndexTree current_;
  // This batch's subjects and their histories as staged (BE64s).
  std::unordered_map<verifier::Hash, std::string, verifier::HashHasher> staged_;
  mutable std::mutex mu_;
  std::map<uint64_t, verifier::IndexTree> versions_;  // GUARDED_BY(mu_)
};

// The log's own leaf `covered`: the index root of every leaf before it.
// `issued_at` 0 is now (a recovery gives the source's, tools/provrecover.cc).
Result<verifier::PreparedRecord> IndexRootLeaf(const std::string& origin, uint64_t covered,
                                               const verifier::IndexTree& tree,
                                               int64_t issued_at = 0);

// A subject's history as of a head whose index root is leaf `covered`: the
// stored history without the leaves at or after it.
Result<std::vector<uint64_t>> HistoryBefore(const verifier::StateView& state,
                                            const verifier::Hash& key, uint64_t covered);

}  // namespace ledger
