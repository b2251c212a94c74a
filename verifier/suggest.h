// "Did you mean …?": the registered identifiers nearest to a mistyped one,
// for usage errors (an org id given to --buyer, a law or org in a policy).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace verifier {

// Optimal-string-alignment distance (insertions, deletions, substitutions
// and adjacent transpositions each cost 1), comparing case-insensitively.
size_t EditDistance(std::string_view a, std::string_view b);

// At most `max` candidates, nearest first (ties in input order): a
// case-insensitive equal first, then those within max(2, |wanted| / 3)
// edits, then those containing `wanted` (or contained in it) ignoring case.
std::vector<std::string> Nearest(std::string_view wanted,
                                 const std::vector<std::string>& candidates, size_t max = 3);

// " (did you mean 'a' or 'b'?)", or "" when `suggestions` is empty.
std::string DidYouMean(const std::vector<std::string>& suggestions);

}  // namespace verifier
