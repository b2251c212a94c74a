// Fuzz target: a delivery manifest (CSV).
#include <string>

#include "client/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)client::ParseManifest(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv", "");
  return 0;
}
