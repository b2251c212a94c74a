// Fuzz target: the rulebook's semantics past the signature check. The fuzzer
// cannot forge Ed25519, so fuzz_record reaches deep rules only by
// recombining signed seeds; here the input is an unsigned Record, which is
// signed with the fixture keys the first byte names (fuzz::Signer bits) and
// then applied to the small log's state like any record from the network.
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  provenance::v1::Record record;
  if (!record.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  (void)fuzz::BaseState();  // InitCrypto before signing
  fuzz::ApplyToBase(records::SignRecordBytes(record, fuzz::SignerKeys(data[0])));
  return 0;
}
