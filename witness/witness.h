// A C2SP tlog-witness (https://c2sp.org/tlog-witness): checks that each
// checkpoint a log submits is signed by the log and consistent with the
// latest one it cosigned for that origin, stores it durably, and returns a
// tlog-cosignature v1 line. The HTTP edge (witness/server.h) is thin: every
// decision is made here, as a Response.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/cosignature.h"
#include "verifier/crypto.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace witness {

using verifier::Result;
using verifier::Status;

// Bounds of an add-checkpoint request (the spec allows at most 63 proof lines).
inline constexpr size_t kMaxBodyBytes = 64 * 1024;
inline constexpr size_t kMaxProofLines = 63;

// Content type of the 409 body that carries the witness's size.
inline constexpr std::string_view kSizeContentType = "text/x.tlog.size";

// The body of POST <prefix>/add-checkpoint.
struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<verifier::Hash> proof;
  std::string note;  // the signed checkpoint, as sent
};
// MALFORMED_REQUEST for anything that is not "old <n>\n", at most 63 base64
// hash lines, an empty line and a note; TOO_LARGE beyond kMaxBodyBytes.
Result<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body);
std::string FormatAddCheckpointRequest(uint64_t old_size, std::span<const verifier::Hash> proof,
                                       std::string_view note);

// An HTTP answer: status, content type and body.
struct Response {
  int status = 500;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// A hook run before cosigning, e.g. the replaying auditor (`--replay`,
// witness/replay.h): fetch the entries [previous size, next.size) of the log, check
// that they hash to next.root, run them through the rulebook, and refuse if
// any entry breaks a rule. Called with the log's lock held, after the
// signature and consistency checks and before the state is written.
// A non-OK Status refuses the cosignature: kUnavailable is answered 503
// (could not fetch; the log may retry), anything else 422.
class CheckpointAuditor {
 public:
  virtual ~CheckpointAuditor() = default;
  // `previous` is null for the first checkpoint of a log.
  virtual Status Audit(const verifier::Checkpoint* previous, const verifier::Checkpoint& next,
                       std::string_view note) = 0;
};

struct WitnessOptions {
  std::string name;  // the witness's key name
  // REQUIRES: set. The key signing cosignatures.
  std::optional<verifier::SigningKey> key;
  // Trusted log keys; several keys may share one origin (rotation).
  std::vector<verifier::NoteVerifier> logs;
  // Holds logs/<hex SHA-256(origin)>: the latest cosigned checkpoint note.
  std::string state_dir;
  // POSIX seconds for cosignature timestamps; the system clock if empty.
  std::function<uint64_t()> clock;
  CheckpointAuditor* auditor = nullptr;  // not owned; may be null
};

// Thread-safe: requests for one origin are serialised by that origin's lock;
// requests for different origins run in parallel.
class Witness {
 public:
  // Loads the state of every configured origin, verifying each stored note
  // with the log's keys. STATE_CORRUPT (refuse to start) if any stored file
  // for a configured origin does not parse or verify.
  static Result<std::unique_ptr<Witness>> Open(WitnessOptions options);

  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // The whole add-checkpoint decision: 200 (cosignature line), 400, 403,
  // 404, 409 (size: body "<size>\n", text/x.tlog.size; or a different root at
  // the same size), 422, 503 or 500 (state not written: nothing cosigned).
  Response AddCheckpoint(std::string_view body);

  std::string vkey() const;
  // The size of the latest checkpoint cosigned for `origin` (0 if none).
  uint64_t LatestSize(const std::string& origin);

 private:
  struct LogState {
    std::vector<verifier::NoteVerifier> keys;
    std::mutex mu;
    std::optional<verifier::Checkpoint> latest;  // GUARDED_BY(mu)
  };
  explicit Witness(WitnessOptions options) : options_(std::move(options)) {}
  std::string StatePath(const std::string& origin) const;
  Status Store(const std::string& origin, std::string_view note);
  Response Decide(const AddCheckpointRequest& req);

  WitnessOptions options_;
  // Built by Open, never changed afterwards: lookups need no lock.
  std::map<std::string, std::unique_ptr<LogState>, std::less<>> logs_;
};

// Writes `data` to `path` durably: a temporary file in the same directory,
// fsync, rename over `path`, fsync the directory. `mode` for a new file.
Status WriteFileDurably(const std::string& path, std::string_view data, int mode = 0644);

}  // namespace witness
