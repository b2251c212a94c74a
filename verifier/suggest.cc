#include "verifier/suggest.h"

#include <algorithm>
#include <cctype>
#include <tuple>

namespace verifier {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a_in, std::string_view b_in) {
  const std::string a = Lowered(a_in), b = Lowered(b_in);
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::vector<std::string> Nearest(std::string_view wanted,
                                 const std::vector<std::string>& candidates, size_t max) {
  const std::string w = Lowered(wanted);
  const size_t limit = std::max<size_t>(2, wanted.size() / 3);
  // (rank, distance, position): rank 0 = equal ignoring case, 1 = near, 2 = substring.
  std::vector<std::tuple<int, size_t, size_t>> scored;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string c = Lowered(candidates[i]);
    if (candidates[i] == wanted) continue;
    if (c == w) {
      scored.emplace_back(0, 0, i);
      continue;
    }
    // Cheap bound before the quadratic distance.
    const size_t len_gap = c.size() > w.size() ? c.size() - w.size() : w.size() - c.size();
    if (len_gap <= limit) {
      if (size_t d = EditDistance(c, w); d <= limit) {
        scored.emplace_back(1, d, i);
        continue;
      }
    }
    if (w.size() >= 3 && (c.find(w) != std::string::npos || w.find(c) != std::string::npos)) {
      scored.emplace_back(2, len_gap, i);
    }
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [rank, dist, i] : scored) {
    if (out.size() == max) break;
    out.push_back(candidates[i]);
  }
  return out;
}

std::string DidYouMean(const std::vector<std::string>& s) {
  if (s.empty()) return "";
  std::string out = " (did you mean ";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += i + 1 == s.size() ? " or " : ", ";
    out += "'" + s[i] + "'";
  }
  return out + "?)";
}

}  // namespace verifier
