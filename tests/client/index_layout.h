// Where records land in a log that ends every commit batch with its own
// index root leaf (verifier/index.h, docs/index.md): the arithmetic the
// tests share instead of magic numbers, and a count of what a range of a
// log holds for tests whose batches the server chooses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/ledger_client.h"
#include "proto/ledger.pb.h"
#include "proto/records.pb.h"
#include "verifier/status.h"

namespace testlog {

// A new ledger holds the genesis (leaf 0) and the index root of it (leaf 1).
inline constexpr uint64_t kNewSize = 2;

// A commit of `records` records onto a log of `size` leaves appends them at
// size, size + 1, ... and then its index root.
constexpr uint64_t SizeAfterCommit(uint64_t size, uint64_t records = 1) {
  return size + records + 1;
}
// A log of `from` leaves (a new one by default) that then committed `n`
// records one at a time.
constexpr uint64_t SizeAfterSingleCommits(uint64_t n, uint64_t from = kNewSize) {
  return from + 2 * n;
}
// Where the k-th (from 0) of those records is.
constexpr uint64_t IndexOfSingleCommit(uint64_t k) { return kNewSize + 2 * k; }
// How many records such a log of `size` leaves holds.
constexpr uint64_t SingleCommitsIn(uint64_t size) { return (size - kNewSize) / 2; }

// What leaves [from, to) of a log hold.
struct LeafCount {
  uint64_t records = 0;      // signed records (neither genesis nor index roots)
  uint64_t index_roots = 0;  // commit batches
  bool ends_with_index_root = false;
};

inline bool IsIndexRoot(const std::string& leaf) {
  provenance::v1::SignedRecord sr;
  provenance::v1::Record r;
  return sr.ParseFromString(leaf) && r.ParseFromString(sr.record()) && r.has_index_root();
}

inline verifier::Result<LeafCount> CountLeaves(client::LedgerClient& c, uint64_t from,
                                               uint64_t to) {
  LeafCount out;
  for (uint64_t start = from; start < to;) {
    PROV_ASSIGN_OR_RETURN(std::vector<std::string> leaves, c.GetEntries(start, to));
    if (leaves.empty()) {
      return verifier::Internal("NO_ENTRIES", "no entries from #" + std::to_string(start));
    }
    for (const std::string& leaf : leaves) {
      const bool root = IsIndexRoot(leaf);
      if (root) {
        ++out.index_roots;
      } else if (start > 0) {  // leaf 0 is the genesis
        ++out.records;
      }
      out.ends_with_index_root = root;
      ++start;
    }
  }
  return out;
}

}  // namespace testlog
