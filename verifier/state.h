// The small state interface the rulebook runs against. A state is a byte
// key-value map; ledger/ backs it with RocksDB, audits and evidence checks
// with MemoryState. Keys are built only by the helpers below.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "verifier/crypto.h"
#include "verifier/status.h"

namespace verifier {

class StateView {
 public:
  virtual ~StateView() = default;
  // Sets *value and returns true when `key` exists. Errors are I/O failures.
  virtual Result<bool> Get(std::string_view key, std::string* value) const = 0;
};

// Buffers writes over a base view; reads see the buffered writes first.
// REQUIRES: base outlives the overlay. Not thread-safe.
class StateOverlay final : public StateView {
 public:
  explicit StateOverlay(const StateView* base) : base_(base) {}
  StateOverlay(const StateOverlay&) = delete;
  StateOverlay& operator=(const StateOverlay&) = delete;

  Result<bool> Get(std::string_view key, std::string* value) const override;
  void Put(std::string key, std::string value) { writes_[std::move(key)] = std::move(value); }
  // Moves `child`'s writes into this overlay (child was layered on this one).
  void Absorb(StateOverlay& child);
  const std::map<std::string, std::string, std::less<>>& writes() const { return writes_; }
  void Clear() { writes_.clear(); }

 private:
  const StateView* base_;
  std::map<std::string, std::string, std::less<>> writes_;
};

// A whole state in memory (audit replay, bundle checks, tests).
class MemoryState final : public StateView {
 public:
  Result<bool> Get(std::string_view key, std::string* value) const override;
  void Apply(const StateOverlay& overlay);
  size_t size() const { return map_.size(); }
  // Calls fn(key, value) for every key starting with `prefix`, in key order.
  void ForEach(std::string_view prefix,
               const std::function<void(std::string_view, std::string_view)>& fn) const;

 private:
  std::map<std::string, std::string, std::less<>> map_;
};

// State keys. Every key starts with a one-letter kind and '/'.
namespace state_key {
std::string Genesis();
// The current authority set (proto AuthorityState); absent until the first
// AuthoritySet record: the genesis's set holds until then.
std::string Authorities();
// The log key the latest LogKeyRotation announced (proto LogKeyState).
std::string LogKey();
std::string Org(std::string_view org_id);
std::string Law(std::string_view code);
std::string MacBlock(std::string_view prefix);  // upper-case hex, 6, 7 or 9 digits
std::string IdentityCa(std::string_view manufacturer, std::string_view ca_id);
std::string IdentityCaRoot(const Hash& root_sha256);  // which CA registered a root
// Which CAs hold a certificate with this subject: SHA-256 of its RFC 2253
// subject name (proto IdentityCaSubjects).
std::string IdentityCaSubject(const Hash& subject_sha256);
// Org and law keys are these prefixes + the id.
inline constexpr std::string_view kOrgPrefix = "o/";
inline constexpr std::string_view kLawPrefix = "l/";
std::string Key(const Hash& key_id);
std::string Component(std::string_view maker, std::string_view part);
std::string Model(std::string_view manufacturer, std::string_view model_id);
std::string Firmware(std::string_view manufacturer, std::string_view model_id,
                     std::string_view version);
std::string Device(std::string_view manufacturer, std::string_view serial);
std::string DeviceKey(const Hash& key_id);  // first device registered with a key
// A subject's history in the verifiable index (verifier/index.h), keyed by
// its SubjectKey: the ledger keeps it; the rulebook never reads it.
std::string IndexHistory(const Hash& subject_key);
inline constexpr std::string_view kIndexHistoryPrefix = "x/";
// Device keys are kDevicePrefix + manufacturer + '\0' + serial.
inline constexpr std::string_view kDevicePrefix = "d/";
}  // namespace state_key

}  // namespace verifier
