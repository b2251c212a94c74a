// Offline full check of a ledger database (`provd verify`): every leaf is
// re-hashed against the stored tree and replayed through the rulebook, every
// stored tree node is recomputed, the root must match the signed checkpoint,
// and the stored rulebook state must equal the replayed one. Reports the
// first bad index.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ledger/kv_store.h"
#include "verifier/note.h"

namespace ledger {

struct StoreReport {
  uint64_t size = 0;
  verifier::Hash root{};
  uint64_t state_entries = 0;
};

Result<StoreReport> VerifyStore(const KvStore& kv, const verifier::PublicKey& log_key,
                                const std::function<void(uint64_t done)>& progress = {});

}  // namespace ledger
