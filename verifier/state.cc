#include "verifier/state.h"

namespace verifier {

Result<bool> StateOverlay::Get(std::string_view key, std::string* value) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) {
    *value = it->second;
    return true;
  }
  return base_->Get(key, value);
}

void StateOverlay::Absorb(StateOverlay& child) {
  for (auto& [k, v] : child.writes_) writes_[k] = std::move(v);
  child.writes_.clear();
}

Result<bool> MemoryState::Get(std::string_view key, std::string* value) const {
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  *value = it->second;
  return true;
}

void MemoryState::Apply(const StateOverlay& overlay) {
  for (const auto& [k, v] : overlay.writes()) map_[k] = v;
}

void MemoryState::ForEach(std::string_view prefix,
                          const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (auto it = map_.lower_bound(prefix);
       it != map_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix; ++it) {
    fn(it->first, it->second);
  }
}

namespace state_key {
namespace {
// Components are joined with '\0', which no identifier may contain.
std::string Join(char kind, std::initializer_list<std::string_view> parts) {
  std::string out(1, kind);
  out.push_back('/');
  bool first = true;
  for (auto p : parts) {
    if (!first) out.push_back('\0');
    out.append(p);
    first = false;
  }
  return out;
}
}  // namespace

std::string Genesis() { return "g/"; }
std::string Authorities() { return "a/"; }
std::string LogKey() { return "v/"; }
std::string Org(std::string_view org_id) { return Join('o', {org_id}); }
std::string Law(std::string_view code) { return Join('l', {code}); }
std::string MacBlock(std::string_view prefix) { return Join('b', {prefix}); }
std::string IdentityCa(std::string_view manufacturer, std::string_view ca_id) {
  return Join('i', {manufacturer, ca_id});
}
std::string IdentityCaRoot(const Hash& root_sha256) {
  return Join('r', {AsStringView(root_sha256)});
}
std::string IdentityCaSubject(const Hash& subject_sha256) {
  return Join('n', {AsStringView(subject_sha256)});
}
std::string Key(const Hash& key_id) {
  return Join('k', {AsStringView(key_id)});
}
std::string Component(std::string_view maker, std::string_view part) {
  return Join('c', {maker, part});
}
std::string Model(std::string_view manufacturer, std::string_view model_id) {
  return Join('m', {manufacturer, model_id});
}
std::string Firmware(std::string_view manufacturer, std::string_view model_id,
                     std::string_view version) {
  return Join('f', {manufacturer, model_id, version});
}
std::string Device(std::string_view manufacturer, std::string_view serial) {
  return Join('d', {manufacturer, serial});
}
std::string DeviceKey(const Hash& key_id) { return Join('p', {AsStringView(key_id)}); }
std::string IndexHistory(const Hash& subject_key) {
  return Join('x', {AsStringView(subject_key)});
}
}  // namespace state_key

}  // namespace verifier
