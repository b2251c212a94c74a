// Rotating the log key of a data directory (`provd rotate-log-key`), with
// provd stopped. The next key is DIR/log.key.next (0600), made now or
// ahead with --prepare; the
// ledger appends a LogKeyRotation signed by the old key and the new one,
// whose checkpoint the new key signs (Ledger::RotateLogKey); then
// log.key.next replaces log.key (the old private key is gone) and log.vkey
// names the new key. Run again after a crash, it finishes what was durable
// or rotates to the same next key. Clients that pinned the old key follow the rotation
// (docs/log-keys.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/kv_store.h"
#include "verifier/log_keys.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace ledger {

struct LogKeyRotated {
  std::string old_vkey, new_vkey;
  uint64_t index = 0;     // the rotation's leaf
  bool finished = false;  // an interrupted rotation was finished, none started
};

std::string DataDirNextKey(const std::string& dir);  // DIR/log.key.next

// Every LogKeyRotation leaf in `kv`, oldest first.
verifier::Result<std::vector<verifier::RotationLeaf>> LogKeyRotationLeaves(const KvStore& kv);

// The keys the log signed with before its current one, oldest first (from
// its LogKeyRotation leaves): what older published checkpoints verify with.
verifier::Result<std::vector<verifier::NoteVerifier>> PastLogKeys(const KvStore& kv);

// Makes the next key ahead of the rotation, so that witnesses can be given
// it first (they accept either key of a log): writes DIR/log.key.next
// (0600) unless it exists, and returns its verifier key. Touches nothing
// else; fine while provd serves.
verifier::Result<std::string> PrepareLogKey(const std::string& dir);

// Rotates to DIR/log.key.next when one was prepared, else to a new key.
// FAILED_PRECONDITION DATABASE_IN_USE while a provd serves `dir`.
verifier::Result<LogKeyRotated> RotateLogKey(const std::string& dir);

}  // namespace ledger
