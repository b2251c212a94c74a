// Fuzz target: a signed record from the network (SignedRecord bytes) through
// PrepareRecord and the rulebook, against the state of a small log.
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ApplyToBase(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
