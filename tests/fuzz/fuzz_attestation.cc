// Fuzz target: an attestation as a (possibly hostile) camera returns it.
#include "proto/device.pb.h"
#include "tests/fuzz/fuzz_common.h"
#include "verifier/attestation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool init = (verifier::InitCrypto(), true);
  (void)init;
  provenance::v1::Attestation a;
  if (!a.ParseFromArray(data, static_cast<int>(size))) return 0;
  const std::string nonce(32, '\x07');
  (void)verifier::VerifyAttestation(a, fuzz::DeviceKey().public_key(), verifier::AsBytes(nonce),
                                    1'700'000'000);
  return 0;
}
