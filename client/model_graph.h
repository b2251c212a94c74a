// The ownership / bill-of-materials graph of one device model, read from
// verified evidence, for the HTML delivery report: the model, its real
// manufacturer and brand, its components and their makers, and every
// recorded owner above those orgs (all stakes at any time, each labelled
// with its window and ledger index). Records named in `hot` (the indices of
// rejecting or unverified findings) are highlighted.
#pragma once

#include <set>
#include <string>

#include "client/report_html.h"
#include "verifier/policy.h"

namespace client {

ReportGraph ModelGraph(const verifier::VerifiedEvidence& ev, const verifier::OwnershipGraph& owners,
                       const std::string& manufacturer, const std::string& model_id,
                       const std::set<uint64_t>& hot);

}  // namespace client
