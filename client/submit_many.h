// Submitting many signed records at once (`prov manufacturer import`,
// `prov authority import`): one SubmitStream with at most `window` records
// unacknowledged, so that provd commits them in groups. Every checkpoint an
// ack carries is verified, the newest is proven consistent with a freshly
// fetched head, and every record the ledger accepted is proven included in
// that head. Records are sent, sequenced and applied in the order given.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/ledger_client.h"

namespace client {

struct Submission {
  uint64_t sequence = 0;  // distinct; echoed in the ack (e.g. the input's line)
  std::string leaf;       // the SignedRecord bytes (or built by make_leaf)
  // Set by SubmitMany.
  bool acked = false;
  Status status;  // the ledger's refusal of this record, if it refused it
  uint64_t index = 0;
  bool already_logged = false;
};

struct SubmitManyOptions {
  int window = 512;
  // Builds leaf i when it is about to be sent (signing in the writer
  // thread); null: Submission::leaf is already set.
  std::function<std::string(size_t i)> make_leaf;
  // Progress: acknowledgements received, inclusions proven (either may be
  // called from another thread, never concurrently with itself).
  std::function<void(uint64_t done)> on_ack, on_proof;
};

struct SubmitManyResult {
  // A failure that stops the run: the connection, an ack that does not
  // verify, a fork, a proof that fails. Refusals of single records are in
  // their Submission::status instead.
  Status fatal;
  std::optional<VerifiedCheckpoint> head;  // the head every accepted record is proven in
  uint64_t appended = 0, already_logged = 0, refused = 0;
};

// REQUIRES: c.has_server(); the caller verified a checkpoint first (the log's
// identity) and saves the trust store afterwards.
SubmitManyResult SubmitMany(LedgerClient& c, std::vector<Submission>& items,
                            const SubmitManyOptions& options = {});

}  // namespace client
