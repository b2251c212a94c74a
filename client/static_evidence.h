// Evidence from a static copy of the log (prov --tiles-url): what provd's
// GetEvidence answers, assembled by the client from immutable files with no
// server logic (docs/index.md "Static files"). The head is verified (and
// adopted) by the LedgerClient; the index root is its last leaf; every
// subject the request relies on is proven from index tiles, and every record
// its history lists is read from the entry bundles with an inclusion proof
// computed from the hash tiles. The result is checked by
// verifier::VerifyEvidence exactly like provd's.
#pragma once

#include "client/ledger_client.h"
#include "proto/ledger.pb.h"

namespace client {

// Certificate issuers are not looked up (a static copy has no index of CA
// subjects): a scan over tiles needs the maker (--manufacturer).
Result<provenance::v1::Evidence> StaticEvidence(LedgerClient& c,
                                                const provenance::v1::GetEvidenceRequest& req);

}  // namespace client
