// Load-test records shared by provbench and crashloop: M manufacturers
// (org, key enrolment, component, model) and N pre-signed device records,
// deterministic for a given seed label.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/ledger_client.h"
#include "verifier/crypto.h"

namespace tools {

// A key derived from `label` (SHA-256 as the seed): the same across runs.
verifier::SigningKey SeededKey(const std::string& label);
std::string MfrId(int m);  // "bench-mfr-M"

// Registers the manufacturers: organisation, key enrolment, component, model.
verifier::Status Setup(client::LedgerClient& ledger, const verifier::SigningKey& authority,
                       const std::vector<verifier::SigningKey>& mfr_keys, int64_t now);

// Device records i = 0..n-1 (serial SN%010d, manufacturer i % M), signed in
// parallel on every core.
std::vector<std::string> PreSign(uint64_t n, const std::vector<verifier::SigningKey>& mfr_keys,
                                 int64_t now);

// Whether `leaf` is one of the log's own index roots, which end every
// commit batch (verifier/index.h).
bool IsIndexRoot(const std::string& leaf);
// How many of leaves [from, to) of `ledger` are index roots.
verifier::Result<uint64_t> CountIndexRoots(client::LedgerClient& ledger, uint64_t from, uint64_t to);

// The q-quantile (0..1) of `v`.
double Quantile(std::vector<double> v, double q);

// Seconds since the Unix epoch.
int64_t UnixNow();

}  // namespace tools
