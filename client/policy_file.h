// Trust policy files: human-edited YAML (schema in README "Trust policies"
// and docs/policy.md), read into a verifier::Policy. Every mistake is
// reported as INVALID_ARGUMENT with reason BAD_POLICY and a message that
// starts "FILE:LINE: " (1-based), e.g.
//   policies/site.yaml:7: unknown key `aplies_to` (expected one of: ...)
#pragma once

#include <string>

#include "verifier/policy.h"
#include "verifier/status.h"

namespace client {

// `file_name` is used only in messages.
verifier::Result<verifier::Policy> ParsePolicy(const std::string& yaml_text,
                                               const std::string& file_name);
// Reads and parses the file at `path` (NOT_FOUND if it cannot be read).
verifier::Result<verifier::Policy> LoadPolicy(const std::string& path);

}  // namespace client
