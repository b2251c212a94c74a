#include "ledger/log_key_rotation.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "ledger/backup.h"
#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "ledger/ledger.h"
#include "proto/state.pb.h"
#include "verifier/note.h"
#include "verifier/rules.h"
#include "verifier/state.h"

namespace ledger {

namespace fs = std::filesystem;
using verifier::Status;

std::string DataDirNextKey(const std::string& dir) { return dir + "/log.key.next"; }

namespace {

// Makes `next` the data directory's key: log.vkey first (it names a key the
// database already uses), then log.key.next over log.key, then the
// directory entry made durable.
Status Adopt(const std::string& dir, const std::string& new_vkey) {
  PROV_RETURN_IF_ERROR(WriteFileDurably(DataDirVkey(dir), new_vkey + "\n"));
  std::error_code ec;
  fs::rename(DataDirNextKey(dir), DataDirKey(dir), ec);
  if (ec)
    return verifier::Internal("IO_ERROR",
                              "cannot rename " + DataDirNextKey(dir) + ": " + ec.message());
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Status::Ok();
}

// Whether the database's latest checkpoint is signed by `key`.
Result<bool> HeadSignedBy(const KvStore& kv, const verifier::SigningKey& key) {
  std::string note;
  PROV_ASSIGN_OR_RETURN(bool found, kv.Get(coding::kLatestCheckpointKey, &note));
  if (!found) return verifier::NotFound("NO_LEDGER", "no checkpoint in this database");
  const std::string origin = note.substr(0, note.find('\n'));
  PROV_ASSIGN_OR_RETURN(
      auto v, verifier::ParseVerifierKey(verifier::FormatVerifierKey(origin, key.public_key())));
  return verifier::VerifyCheckpoint(note, v, origin).ok();
}

}  // namespace

Result<std::string> PrepareLogKey(const std::string& dir) {
  PROV_ASSIGN_OR_RETURN(verifier::SigningKey current, verifier::ReadKeyFile(DataDirKey(dir)));
  std::ifstream in(DataDirVkey(dir));
  std::string vkey;
  std::getline(in, vkey);
  auto parsed = verifier::ParseVerifierKey(vkey);
  if (!parsed.ok() || parsed->public_key != current.public_key()) {
    return verifier::FailedPrecondition(
        "KEY_MISMATCH", DataDirVkey(dir) + " is not the verifier key of " + DataDirKey(dir));
  }
  std::error_code ec;
  if (!fs::exists(DataDirNextKey(dir), ec)) {
    PROV_RETURN_IF_ERROR(
        verifier::WriteKeyFile(DataDirNextKey(dir), verifier::SigningKey::Generate()));
  }
  PROV_ASSIGN_OR_RETURN(verifier::SigningKey next, verifier::ReadKeyFile(DataDirNextKey(dir)));
  return verifier::FormatVerifierKey(parsed->name, next.public_key());
}

Result<std::vector<verifier::RotationLeaf>> LogKeyRotationLeaves(const KvStore& kv) {
  std::string bytes;
  PROV_ASSIGN_OR_RETURN(bool rotated,
                        kv.Get(coding::StateKey(verifier::state_key::LogKey()), &bytes));
  std::vector<verifier::RotationLeaf> out;
  if (!rotated) return out;
  provenance::v1::LogKeyState st;
  if (!st.ParseFromString(bytes)) return verifier::DataLoss("STATE_CORRUPT", "log key state");
  for (uint64_t i : st.indices()) {
    std::string leaf;
    PROV_ASSIGN_OR_RETURN(bool found, kv.Get(coding::LeafKey(i), &leaf));
    if (!found) {
      return verifier::DataLoss("STATE_CORRUPT", "no log key rotation at #" + std::to_string(i));
    }
    out.push_back({i, std::move(leaf)});
  }
  return out;
}

Result<std::vector<verifier::NoteVerifier>> PastLogKeys(const KvStore& kv) {
  PROV_ASSIGN_OR_RETURN(auto leaves, LogKeyRotationLeaves(kv));
  std::vector<verifier::NoteVerifier> out;
  for (const auto& l : leaves) {
    provenance::v1::Record r;
    if (!verifier::ParseLeafRecord(l.leaf, &r) || !r.has_log_key_rotation()) {
      return verifier::DataLoss("STATE_CORRUPT",
                                "no log key rotation at #" + std::to_string(l.index));
    }
    PROV_ASSIGN_OR_RETURN(auto old_key, verifier::ParseVerifierKey(r.log_key_rotation().old_key()));
    out.push_back(std::move(old_key));
  }
  return out;
}

Result<LogKeyRotated> RotateLogKey(const std::string& dir) {
  PROV_ASSIGN_OR_RETURN(bool live, DatabaseInUse(DataDirDb(dir)));
  if (live) {
    return verifier::FailedPrecondition(
        "DATABASE_IN_USE", "a provd is serving " + dir + "; stop it before rotating the log key");
  }
  PROV_ASSIGN_OR_RETURN(verifier::SigningKey old_key, verifier::ReadKeyFile(DataDirKey(dir)));
  PROV_ASSIGN_OR_RETURN(auto kv, OpenRocksKvStore(DataDirDb(dir), /*create=*/false));
  LogKeyRotated out;

  std::error_code ec;
  std::optional<verifier::SigningKey> prepared;
  if (fs::exists(DataDirNextKey(dir), ec)) {
    // Prepared (--prepare), or an earlier run stopped part way. If its
    // rotation is durable, the head is signed by the next key: finish.
    // Otherwise rotate to it now.
    PROV_ASSIGN_OR_RETURN(verifier::SigningKey next, verifier::ReadKeyFile(DataDirNextKey(dir)));
    PROV_ASSIGN_OR_RETURN(bool durable, HeadSignedBy(*kv, next));
    if (durable) {
      std::string note;
      PROV_ASSIGN_OR_RETURN(bool found, kv->Get(coding::kLatestCheckpointKey, &note));
      (void)found;
      const std::string origin = note.substr(0, note.find('\n'));
      out.old_vkey = verifier::FormatVerifierKey(origin, old_key.public_key());
      out.new_vkey = verifier::FormatVerifierKey(origin, next.public_key());
      out.finished = true;
      kv.reset();
      PROV_RETURN_IF_ERROR(Adopt(dir, out.new_vkey));
      return out;
    }
    prepared = std::move(next);
  }

  const verifier::SigningKey next = prepared ? *prepared : verifier::SigningKey::Generate();
  if (!prepared) PROV_RETURN_IF_ERROR(verifier::WriteKeyFile(DataDirNextKey(dir), next));
  auto rotated = [&]() -> Status {
    PROV_ASSIGN_OR_RETURN(auto ledger, Ledger::Open(std::move(kv), old_key));
    out.old_vkey = ledger->verifier_key();
    PROV_ASSIGN_OR_RETURN(out.index, ledger->RotateLogKey(next));
    out.new_vkey = ledger->verifier_key();
    return Status::Ok();  // the ledger drains and closes the database
  }();
  if (!rotated.ok()) {
    if (!prepared) fs::remove(DataDirNextKey(dir), ec);  // nothing was signed with it
    return rotated;
  }
  PROV_RETURN_IF_ERROR(Adopt(dir, out.new_vkey));
  return out;
}

}  // namespace ledger
