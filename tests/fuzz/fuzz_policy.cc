// Fuzz target: a human-edited policy file.
#include <string>

#include "client/policy_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)client::ParsePolicy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  return 0;
}
