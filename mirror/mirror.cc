#include "mirror/mirror.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "ledger/coding.h"
#include "verifier/merkle.h"
#include "verifier/rules.h"

namespace mirror {

namespace coding = ledger::coding;
namespace fs = std::filesystem;

const char* HealthName(Health h) {
  switch (h) {
    case Health::kFollowing:
      return "following";
    case Health::kSourceUnreachable:
      return "source_unreachable";
    case Health::kHalted:
      return "halted";
    case Health::kLocalError:
      return "local_error";
  }
  return "unknown";
}

int ExitCode(Health h) {
  switch (h) {
    case Health::kFollowing:
      return kExitOk;
    case Health::kSourceUnreachable:
      return kExitUnreachable;
    case Health::kHalted:
      return kExitSecurity;
    case Health::kLocalError:
      return kExitLocal;
  }
  return kExitLocal;
}

namespace {

// What the source served does not verify: DATA_LOSS (LedgerClient reports
// every failed check so). Anything else from the source is transient.
bool IsSecurityFailure(const Status& s) { return s.code() == verifier::Code::kDataLoss; }

Status LocalError(const std::string& reason, const Status& s) {
  return Status(s.code() == verifier::Code::kDataLoss ? verifier::Code::kInternal : s.code(),
                reason, s.ToString());
}

Status WriteFileDurably(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return verifier::Internal("STATUS_WRITE", "cannot create " + tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return verifier::Internal("STATUS_WRITE", "cannot write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return verifier::Internal("STATUS_WRITE", "cannot fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return verifier::Internal("STATUS_WRITE", "cannot rename " + tmp);
  }
  int dir = ::open(fs::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

std::string Head(uint64_t size, const verifier::Hash& root) {
  return "size " + std::to_string(size) + " root " + verifier::HexEncode(root);
}

}  // namespace

Mirror::~Mirror() = default;

Result<std::unique_ptr<Mirror>> Mirror::Open(MirrorOptions options) {
  std::unique_ptr<Mirror> m(new Mirror(std::move(options)));
  PROV_ASSIGN_OR_RETURN(m->verifier_, verifier::ParseVerifierKey(m->options_.vkey));
  std::error_code ec;
  fs::create_directories(m->options_.data_dir, ec);
  if (ec) {
    return verifier::FailedPrecondition("DATA_DIR", m->options_.data_dir + ": " + ec.message());
  }
  m->status_path_ = m->options_.data_dir + "/status.json";
  const std::string db = m->options_.data_dir + "/db";
  PROV_ASSIGN_OR_RETURN(m->kv_, ledger::OpenRocksKvStore(db, !fs::exists(db)));
  m->reader_ = std::make_unique<ledger::TileReader>(m->kv_.get());
  PROV_RETURN_IF_ERROR(m->Resume());
  PROV_ASSIGN_OR_RETURN(m->client_,
                        client::LedgerClient::ConnectTiles(m->options_.source, m->options_.vkey));
  if (m->state_.good_size > 0) {
    auto c = verifier::VerifyCheckpoint(m->good_note_, m->verifier_, m->verifier_.name);
    m->client_->SetLatest({*c, m->good_note_});  // verified by Resume
  }
  PROV_ASSIGN_OR_RETURN(m->publisher_,
                        ledger::TilePublisher::Open(m->options_.tiles_dir, m->kv_.get(),
                                                    m->options_.vkey, m->state_.good_size));
  PROV_RETURN_IF_ERROR(m->PublishGood());
  m->state_.since = static_cast<int64_t>(std::time(nullptr));
  return m;
}

Status Mirror::Resume() {
  std::string note;
  PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::kLatestCheckpointKey, &note));
  uint64_t size = 0;
  if (found) {
    auto c = verifier::VerifyCheckpoint(note, verifier_, verifier_.name);
    if (!c.ok()) {
      return verifier::FailedPrecondition(
          "MIRROR_OTHER_LOG", options_.data_dir + " holds a head that is not " + verifier_.name +
                                  "'s: " + c.status().ToString());
    }
    auto root = reader_->RootAt(c->size);
    if (!root.ok() || !verifier::ConstantTimeEqual(*root, c->root)) {
      return verifier::DataLoss(
          "MIRROR_STORE_CORRUPT",
          "the stored tree is not the stored head's (" + Head(c->size, c->root) + ")");
    }
    size = c->size;
    state_.good_root = c->root;
    good_note_ = note;
  }
  state_.good_size = size;
  PROV_ASSIGN_OR_RETURN(auto writer, ledger::TreeWriter::Open(*reader_, kv_.get(), size));
  writer_ = std::make_unique<ledger::TreeWriter>(std::move(writer));
  ledger::SubjectIndex index;  // the replayed histories are in the store
  PROV_RETURN_IF_ERROR(index.Load(*kv_));
  index_.Reset(index.current());
  return Status::Ok();
}

Status Mirror::PublishGood() {
  if (state_.good_size == 0) return Status::Ok();
  if (publisher_->published_size() == state_.good_size) {
    // The same size: only a newer note of it (a fresh timestamp, more
    // cosignatures) needs writing.
    std::string on_disk;
    std::ifstream in(options_.tiles_dir + "/checkpoint", std::ios::binary);
    on_disk.assign(std::istreambuf_iterator<char>(in), {});
    if (on_disk == good_note_) return Status::Ok();
  }
  Status s = publisher_->Publish(good_note_);
  if (!s.ok()) return LocalError("PUBLISH_FAILED", s);
  return Status::Ok();
}

void Mirror::SetHealth(Health h, Status why) {
  if (h != state_.health || why.ToString() != state_.last_error.ToString()) {
    state_.since = static_cast<int64_t>(std::time(nullptr));
  }
  state_.health = h;
  state_.last_error = std::move(why);
}

Status Mirror::Halt(Status why, std::optional<uint64_t> index, std::string note) {
  state_.bad_index = index;
  state_.offending_checkpoint = std::move(note);
  SetHealth(Health::kHalted, why);
  spdlog::error("mirror halted; keeping the last good head {}: {}",
                Head(state_.good_size, state_.good_root), why.ToString());
  return why;
}

Status Mirror::SyncOnce() {
  if (state_.health == Health::kHalted) return state_.last_error;
  if (Status s = PublishGood(); !s.ok()) {
    SetHealth(Health::kLocalError, s);
    return s;
  }
  auto note = client_->source().Checkpoint();
  if (!note.ok()) {
    if (IsSecurityFailure(note.status())) return Halt(note.status(), std::nullopt, "");
    SetHealth(Health::kSourceUnreachable, note.status());
    return note.status();
  }
  // Signature, then consistency with the last good head (either direction).
  auto c = client_->Observe(*note);
  if (!c.ok()) {
    if (IsSecurityFailure(c.status())) return Halt(c.status(), std::nullopt, *note);
    SetHealth(Health::kSourceUnreachable, c.status());
    return c.status();
  }
  Status s = Status::Ok();
  if (c->checkpoint.size > state_.good_size) {
    s = Advance(*c);
  } else if (c->checkpoint.size == state_.good_size && *note != good_note_) {
    // Same tree, a newer signature or more cosignatures: keep it verbatim.
    ledger::KvBatch batch;
    batch.Put(coding::CheckpointKey(state_.good_size), *note);
    batch.Put(std::string(coding::kLatestCheckpointKey), *note);
    s = kv_->Write(batch);
    if (s.ok()) {
      good_note_ = *note;
      s = PublishGood();
    } else {
      s = LocalError("STORAGE_ERROR", s);
    }
    if (!s.ok()) SetHealth(Health::kLocalError, s);
  }
  // A smaller consistent head (a lagging cache) changes nothing.
  if (s.ok()) SetHealth(Health::kFollowing, Status::Ok());
  return s;
}

Status Mirror::Advance(const client::VerifiedCheckpoint& c) {
  const uint64_t from = state_.good_size, to = c.checkpoint.size;
  ledger::KvStateView view(kv_.get());
  verifier::StateOverlay state(&view);
  ledger::KvBatch batch;
  std::map<verifier::Hash, uint64_t> new_hashes;
  const verifier::IndexTree index_before = index_.tree();
  for (uint64_t start = from; start < to; start += options_.entries_per_fetch) {
    const uint64_t end = std::min(to, start + options_.entries_per_fetch);
    auto leaves = client_->GetEntries(start, end);  // each proven against c
    if (!leaves.ok()) {
      if (IsSecurityFailure(leaves.status())) return Halt(leaves.status(), std::nullopt, c.note);
      SetHealth(Health::kSourceUnreachable, leaves.status());
      return leaves.status();
    }
    for (uint64_t i = start; i < end; ++i) {
      std::string& leaf = (*leaves)[i - start];
      auto prepared = verifier::PrepareRecord(leaf);
      Status rule = prepared.status();
      if (rule.ok() && i == 0 && prepared->record.kind_case() == provenance::v1::Record::kGenesis &&
          prepared->record.genesis().origin() != verifier_.name) {
        rule = verifier::FailedPrecondition(
            "GENESIS_ORIGIN", "the genesis names origin \"" + prepared->record.genesis().origin() +
                                  "\", not \"" + verifier_.name + "\"");
      }
      if (rule.ok()) {
        std::string seen;
        auto dup = kv_->Get(coding::LeafHashKey(prepared->leaf_hash), &seen);
        if (!dup.ok()) return LocalError("STORAGE_ERROR", dup.status());
        if (*dup || new_hashes.count(prepared->leaf_hash)) {
          rule = verifier::AlreadyExists("DUPLICATE_LEAF", "the same record is already logged");
        }
      }
      if (rule.ok()) rule = verifier::ApplyPrepared(state, *prepared, i);
      if (rule.ok()) rule = index_.Apply(state, *prepared, i);  // recomputes each index root
      if (!rule.ok()) {
        index_.Reset(index_before);
        writer_.reset();
        auto reopened = ledger::TreeWriter::Open(*reader_, kv_.get(), from);
        if (reopened.ok()) writer_ = std::make_unique<ledger::TreeWriter>(std::move(*reopened));
        return Halt(
            Status(verifier::Code::kDataLoss, "ENTRY_REJECTED",
                   "entry #" + std::to_string(i) + " of the head " + Head(to, c.checkpoint.root) +
                       " breaks the rules: " + rule.ToString()),
            i, c.note);
      }
      batch.Put(coding::LeafKey(i), leaf);
      std::string idx;
      coding::PutBigEndian64(&idx, i);
      batch.Put(coding::LeafHashKey(prepared->leaf_hash), std::move(idx));
      new_hashes.emplace(prepared->leaf_hash, i);
      writer_->Append(prepared->leaf_hash);
    }
  }
  auto rollback = [&] {
    index_.Reset(index_before);
    auto reopened = ledger::TreeWriter::Open(*reader_, kv_.get(), from);
    if (!reopened.ok()) std::abort();  // our store is unusable: a restart recovers
    writer_ = std::make_unique<ledger::TreeWriter>(std::move(*reopened));
  };
  // The tiles are ours, recomputed from the entries; the source's are
  // never copied. They must give the signed root.
  if (!verifier::ConstantTimeEqual(writer_->Root(), c.checkpoint.root)) {
    const verifier::Hash got = writer_->Root();
    rollback();
    return Halt(verifier::DataLoss("ROOT_MISMATCH",
                                   "the entries give root " + verifier::HexEncode(got) +
                                       ", the checkpoint says " + Head(to, c.checkpoint.root)),
                std::nullopt, c.note);
  }
  for (const auto& [k, v] : state.writes()) batch.Put(coding::StateKey(k), v);
  writer_->FlushTiles(&batch);
  batch.Put(coding::CheckpointKey(to), c.note);
  batch.Put(std::string(coding::kLatestCheckpointKey), c.note);
  if (Status s = kv_->Write(batch); !s.ok()) {
    rollback();
    Status err = LocalError("STORAGE_ERROR", s);
    SetHealth(Health::kLocalError, err);
    return err;
  }
  state_.good_size = to;
  state_.good_root = c.checkpoint.root;
  good_note_ = c.note;
  spdlog::info("mirror advanced from size {} to {}", from, Head(to, c.checkpoint.root));
  if (Status s = PublishGood(); !s.ok()) {
    SetHealth(Health::kLocalError, s);
    return s;
  }
  return Status::Ok();
}

std::string Mirror::StatusJson() const {
  nlohmann::json j;
  j["state"] = HealthName(state_.health);
  j["origin"] = verifier_.name;
  j["source"] = options_.source.url;
  j["good_size"] = state_.good_size;
  j["good_root"] = verifier::HexEncode(state_.good_root);
  j["since"] = state_.since;
  if (!state_.last_error.ok()) {
    j["reason"] = state_.last_error.reason();
    j["message"] = state_.last_error.message();
  }
  if (state_.bad_index) j["index"] = *state_.bad_index;
  if (!state_.offending_checkpoint.empty()) {
    j["offending_checkpoint"] = state_.offending_checkpoint;
  }
  return j.dump(2) + "\n";
}

Status Mirror::WriteStatusFile() const { return WriteFileDurably(status_path_, StatusJson()); }

}  // namespace mirror
