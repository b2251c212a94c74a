// "Did you mean ...?": the nearest registered ids for a mistyped one.
#include "verifier/suggest.h"

#include <gtest/gtest.h>

namespace verifier {
namespace {

TEST(SuggestTest, EditDistanceCountsTranspositionsOnceAndIgnoresCase) {
  EXPECT_EQ(EditDistance("hikvision", "hikvison"), 1u);    // a deletion
  EXPECT_EQ(EditDistance("CN-NIL-2017", "CN-NIL2017"), 1u);
  EXPECT_EQ(EditDistance("buyer", "byuer"), 1u);            // adjacent transposition
  EXPECT_EQ(EditDistance("Acme-Cam", "acme-cam"), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(SuggestTest, NearestPutsACaseOnlyDifferenceFirstThenCloseThenContaining) {
  const std::vector<std::string> ids = {"acme-holdings", "buyer-gov", "acme-cam", "dist-co",
                                        "other-buyer"};
  EXPECT_EQ(Nearest("Acme-Cam", ids).at(0), "acme-cam");
  EXPECT_EQ(Nearest("buyer-gv", ids), std::vector<std::string>{"buyer-gov"});
  EXPECT_EQ(Nearest("buyer", ids), (std::vector<std::string>{"buyer-gov", "other-buyer"}));
  EXPECT_EQ(Nearest("acme", ids), (std::vector<std::string>{"acme-cam", "acme-holdings"}));
  EXPECT_TRUE(Nearest("zzzzzz", ids).empty());
  EXPECT_TRUE(Nearest("acme-cam", ids).empty() || Nearest("acme-cam", ids)[0] != "acme-cam")
      << "an exact match is not a suggestion";
  EXPECT_EQ(Nearest("b", {"a", "c", "d", "e"}, 2).size(), 2u) << "at most `max`";
}

TEST(SuggestTest, DidYouMeanReadsNaturally) {
  EXPECT_EQ(DidYouMean({}), "");
  EXPECT_EQ(DidYouMean({"a"}), " (did you mean 'a'?)");
  EXPECT_EQ(DidYouMean({"a", "b", "c"}), " (did you mean 'a', 'b' or 'c'?)");
}

}  // namespace
}  // namespace verifier
