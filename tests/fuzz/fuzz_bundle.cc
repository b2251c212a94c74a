// Fuzz target: an offline evidence bundle, through parsing, verification
// (checkpoint, proofs, signatures, rulebook replay), judging and a policy.
#include "tests/fuzz/fuzz_common.h"
#include "verifier/judge.h"
#include "verifier/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::shared_ptr<const verifier::Policy> policy = [] {
    verifier::InitCrypto();
    auto p = std::make_shared<verifier::Policy>();
    p->name = "fuzz";
    p->denied_laws = {"CN-NIL-2017"};
    return p;
  }();
  auto ev = verifier::ParseBundle(std::string(reinterpret_cast<const char*>(data), size));
  if (!ev.ok()) return 0;
  verifier::RecordCache cache;
  auto verified = verifier::VerifyEvidence(*ev, fuzz::LogVerifier(), &cache);
  if (!verified.ok()) return 0;
  auto fn = verifier::MakePolicyFn(policy, 1'800'000'000);
  verifier::Judgement j = verifier::JudgeDevice(*verified, {"acme", "SN-1", "buyer", "CAM", "acme"}, fn);
  verifier::ApplyRequired(*policy, false, &j);
  return 0;
}
