// Fuzz target: what a camera (or, for camsim, a client) sends over ONVIF
// (onvif/soap.h, onvif/discovery.h). Every parser sees every input; what
// parses is rebuilt and must parse back to the same values.
#include <cstdlib>

#include "onvif/discovery.h"
#include "onvif/soap.h"

namespace {

constexpr char kProbeId[] = "urn:uuid:01234567-dead-beef-baad-abcdeffedcba";

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)onvif::ParseDateTime(in);
  if (auto t = onvif::ParseSystemDateAndTime(in); t.ok()) {
    Require(*onvif::ParseSystemDateAndTime(onvif::BuildSystemDateAndTimeResponse(*t)) == *t);
  }
  if (auto info = onvif::ParseDeviceInformation(in); info.ok()) {
    const auto back = onvif::ParseDeviceInformation(onvif::BuildDeviceInformationResponse(*info));
    Require(back.ok() && back->manufacturer == info->manufacturer && back->model == info->model &&
            back->firmware_version == info->firmware_version &&
            back->serial_number == info->serial_number && back->hardware_id == info->hardware_id);
  }
  if (auto nics = onvif::ParseNetworkInterfaces(in); nics.ok()) {
    const auto back = onvif::ParseNetworkInterfaces(onvif::BuildNetworkInterfacesResponse(*nics));
    Require(back.ok() && back->size() == nics->size());
    for (size_t i = 0; i < nics->size(); ++i) {
      Require((*back)[i].token == (*nics)[i].token && (*back)[i].name == (*nics)[i].name &&
              (*back)[i].hw_address == (*nics)[i].hw_address &&
              (*back)[i].enabled == (*nics)[i].enabled);
    }
  }
  if (auto req = onvif::ParseRequest(in); req.ok() && req->token) {
    (void)onvif::CheckUsernameToken(*req->token, "admin", "userpassword", 1284623445, 300);
    const auto back = onvif::ParseRequest(onvif::BuildRequest(req->op, &*req->token));
    Require(back.ok() && back->op == req->op && back->token &&
            back->token->password_digest == req->token->password_digest &&
            back->token->nonce == req->token->nonce &&
            back->token->created == req->token->created &&
            back->token->username == req->token->username);
  }
  if (auto id = onvif::ParseProbe(in); id.ok()) {
    Require(*onvif::ParseProbe(onvif::BuildProbe(*id)) == *id);
  }
  if (auto matches = onvif::ParseProbeMatches(in, kProbeId); matches.ok()) {
    for (const auto& m : *matches) {
      const auto back = onvif::ParseProbeMatches(onvif::BuildProbeMatches(kProbeId, m), kProbeId);
      Require(back.ok() && back->size() == 1 && (*back)[0].endpoint == m.endpoint &&
              (*back)[0].types == m.types && (*back)[0].scopes == m.scopes &&
              (*back)[0].xaddrs == m.xaddrs && (*back)[0].metadata_version == m.metadata_version);
    }
  }
  return 0;
}
