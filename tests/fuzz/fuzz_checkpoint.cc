// Fuzz target: signed notes, checkpoints and vkeys as a client receives them.
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool init = (verifier::InitCrypto(), true);
  (void)init;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)verifier::VerifyCheckpoint(text, fuzz::LogVerifier(), fuzz::kOrigin);
  (void)verifier::OpenNote(text, fuzz::LogVerifier());
  (void)verifier::ParseCheckpoint(text);
  (void)verifier::ParseVerifierKey(text);
  return 0;
}
