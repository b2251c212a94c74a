// Trust policy files: human-edited YAML (schema in README "Trust policies"
// and docs/policy.md), read into a verifier::Policy. Every mistake is
// reported as INVALID_ARGUMENT with reason BAD_POLICY and a message that
// starts "FILE:LINE: " (1-based), e.g.
//   policies/site.yaml:7: unknown key `aplies_to` (expected one of: ...)
#pragma once

#include <map>
#include <string>

#include "verifier/policy.h"
#include "verifier/status.h"

namespace client {

// `file_name` is used only in messages.
verifier::Result<verifier::Policy> ParsePolicy(const std::string& yaml_text,
                                               const std::string& file_name);
// Reads and parses the file at `path` (NOT_FOUND if it cannot be read).
verifier::Result<verifier::Policy> LoadPolicy(const std::string& path);

// ISO 3166-1 alpha-2 code -> English name, from Debian's iso-codes
// (kIsoCountriesFile); FAILED_PRECONDITION when that file cannot be read.
// Deny-listed countries must be in it.
inline constexpr const char* kIsoCountriesFile = "/usr/share/iso-codes/json/iso_3166-1.json";
verifier::Result<std::map<std::string, std::string>> IsoCountries();

}  // namespace client
