// Fuzz target: certificates and chains as a camera sends them (issue 12):
// one DER certificate, PEM text, and a chain of up to three DER
// certificates (2-byte big-endian length prefixes) verified against the real
// Axis device-ID root and a registered CA record.
#include <fstream>
#include <sstream>

#include "tests/fuzz/fuzz_common.h"
#include "verifier/x509.h"

namespace {

std::string AxisRoot() {
  std::ifstream in(PROV_TESTDATA "/x509/axis-device-id-root-ecc.pem", std::ios::binary);
  std::stringstream pem;
  pem << in.rdbuf();
  auto der = verifier::PemCertificatesToDer(pem.str());
  return der.ok() ? der->front() : "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string root = AxisRoot();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)verifier::ParseCertificateDer(in);
  (void)verifier::PemCertificatesToDer(in);
  std::vector<std::string> chain;
  while (chain.size() < 3 && in.size() >= 2) {
    const size_t len = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
    in.remove_prefix(2);
    if (len > in.size()) break;
    chain.emplace_back(in.substr(0, len));
    in.remove_prefix(len);
  }
  if (!chain.empty()) {
    (void)verifier::VerifyChain(chain, {root}, 1'800'000'000);
    provenance::v1::DeviceIdentityCa ca;
    ca.set_manufacturer_org("axis");
    ca.set_ca_id("fuzz");
    ca.add_certificates(root);
    ca.set_serial_source(provenance::v1::SERIAL_SOURCE_HARDWARE_MODULE_NAME);
    ca.add_leaf_algorithms("ECDSA P-256");
    (void)verifier::IdentifyLeaf(chain, ca, 0, 1'800'000'000);
  }
  return 0;
}
