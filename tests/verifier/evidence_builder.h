// Complete evidence for tests (docs/index.md "Complete evidence"):
// a test log gets the log's own IndexRoot leaf appended the way a ledger
// ends a commit batch, and evidence of chosen entries carries the proven
// history of every subject a verdict relies on, computed by replaying the
// whole log through the rulebook and the index (verifier::IndexReplay), as
// a ledger does. The ledger tests replay their stored logs with ReplayLog.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "proto/ledger.pb.h"
#include "proto/records.pb.h"
#include "tests/verifier/test_log.h"
#include "verifier/index.h"
#include "verifier/rules.h"
#include "verifier/state.h"

namespace verifier::testing {

// The whole log replayed: the rulebook state (with every subject's history),
// the index of every leaf, and each leaf prepared.
struct ReplayedLog {
  MemoryState state;
  IndexTree index;
  std::vector<std::shared_ptr<const PreparedRecord>> records;
};

// Replays `leaves` in full-log mode; every IndexRoot among them must be the
// index of the leaves before it. Fails the test (and stops early) otherwise.
inline ReplayedLog ReplayLog(const std::vector<std::string>& leaves) {
  ReplayedLog out;
  IndexReplay index;
  for (uint64_t i = 0; i < leaves.size(); ++i) {
    auto rec = PrepareRecord(leaves[i]);
    if (!rec.ok()) {
      ADD_FAILURE() << "leaf #" << i << ": " << rec.status().ToString();
      return out;
    }
    StateOverlay overlay(&out.state);
    Status s = ApplyPrepared(overlay, *rec, i);
    if (s.ok()) s = index.Apply(overlay, *rec, i);
    if (!s.ok()) {
      ADD_FAILURE() << "leaf #" << i << ": " << s.ToString();
      return out;
    }
    out.state.Apply(overlay);
    out.records.push_back(std::make_shared<const PreparedRecord>(std::move(rec).value()));
  }
  auto tree = index.Commit(out.state);
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  if (tree.ok()) out.index = std::move(tree).value();
  return out;
}

// The log's own leaf closing a batch: unsigned, the index root of every leaf
// in `leaves` (leaf 0 is the genesis, which names the origin). Appended to
// `leaves`; returns its index.
inline uint64_t AppendIndexRoot(std::vector<std::string>* leaves) {
  ReplayedLog log = ReplayLog(*leaves);
  provenance::v1::Genesis genesis;
  EXPECT_TRUE(GetMessage(log.state, state_key::Genesis(), &genesis).ok());
  provenance::v1::Record r;
  r.set_issued_at(1'700'000'000);
  auto* x = r.mutable_index_root();
  x->set_origin(genesis.origin());
  x->set_covered_size(leaves->size());
  x->set_root(std::string(AsStringView(log.index.Root())));
  x->set_subjects(log.index.size());
  provenance::v1::SignedRecord sr;
  r.SerializeToString(sr.mutable_record());
  leaves->push_back(sr.SerializeAsString());
  return leaves->size() - 1;
}

// Evidence of `indices` and of the checkpoint's last leaf, which must be an
// IndexRoot (AppendIndexRoot), against a checkpoint of all `leaves`; with
// the proven history of every subject reached from `roots` the way a ledger
// walks them (verifier::WalkReliance over the whole log). Only `indices`
// are entries: a test chooses what the evidence leaves out.
inline provenance::v1::Evidence MakeIndexedEvidence(const std::vector<std::string>& leaves,
                                                    std::vector<uint64_t> indices,
                                                    const std::vector<Subject>& roots,
                                                    const SigningKey& log_key,
                                                    const std::string& origin) {
  ReplayedLog log = ReplayLog(leaves);
  provenance::v1::Evidence ev;
  if (log.records.size() != leaves.size() || !log.records.back()->record.has_index_root()) {
    ADD_FAILURE() << "the log's last leaf is not a valid index root (AppendIndexRoot)";
    return ev;
  }
  const uint64_t covered = leaves.size() - 1;
  indices.push_back(covered);
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  ev = MakeEvidence(leaves, indices, log_key, origin);

  provenance::v1::Genesis genesis;
  EXPECT_TRUE(GetMessage(log.state, state_key::Genesis(), &genesis).ok());
  Status walked = WalkReliance(
      roots, genesis, [&](const Subject& s, std::vector<RelianceStep>* steps) -> Status {
        const Hash key = SubjectKey(s);
        std::string bytes;
        PROV_ASSIGN_OR_RETURN(bool found, log.state.Get(state_key::IndexHistory(key), &bytes));
        (void)found;  // no history: proven empty
        PROV_ASSIGN_OR_RETURN(std::vector<uint64_t> history, DecodeHistory(bytes));
        provenance::v1::SubjectProof* p = ev.add_subjects();
        *p->mutable_subject() = ToProto(s);
        for (uint64_t i : history) {
          p->add_history(i);
          const PreparedRecord& rec = *log.records[i];
          steps->push_back({&rec.record, rec.signers});
        }
        ToProto(log.index.Prove(key), p);
        return Status::Ok();
      });
  EXPECT_TRUE(walked.ok()) << walked.ToString();
  return ev;
}

}  // namespace verifier::testing
