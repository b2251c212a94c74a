// Live attestation of a camera (`prov scan`): ask its DeviceIdentity service
// for its information and for a statement over a fresh random nonce, then
// judge that statement against the ledger's evidence.
#pragma once

#include <cstdint>
#include <string>

#include "proto/device.pb.h"
#include "transport/credentials.h"
#include "verifier/judge.h"
#include "verifier/status.h"

namespace client {

struct LiveDevice {
  provenance::v1::DeviceInformation info;
  provenance::v1::Attestation attestation;
  std::string nonce;    // the 32 random bytes we sent
  int64_t asked_at = 0;  // unix seconds when we asked
};

// Reads the device information and an attestation over a fresh nonce.
verifier::Result<LiveDevice> ReadDevice(const std::string& address,
                                        const transport::TlsFiles& tls = transport::TlsFiles::Plaintext());

// Adds the attestation's findings to `j` (already judged from `ev`) and
// re-decides it: the statement is signed by the device key registered for
// this serial, over our nonce, fresh; it names the registered serial and
// model; and its firmware hash is a released, unrevoked firmware of the
// model.
void JudgeAttestation(const verifier::VerifiedEvidence& ev, const LiveDevice& d,
                      int64_t max_age_seconds, verifier::Judgement* j);

}  // namespace client
