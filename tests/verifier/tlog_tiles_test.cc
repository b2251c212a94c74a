#include "verifier/tlog_tiles.h"

#include <gtest/gtest.h>

#include <random>

namespace verifier {
namespace {

TEST(TlogTilesTest, IndexPathsAsTheSpecWritesThem) {
  EXPECT_EQ(TileIndexPath(0), "000");
  EXPECT_EQ(TileIndexPath(999), "999");
  EXPECT_EQ(TileIndexPath(1000), "x001/000");
  EXPECT_EQ(TileIndexPath(1234067), "x001/x234/067");  // the spec's example
  EXPECT_EQ(TilePath({0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({2, 5, 17}), "tile/2/005.p/17");
  EXPECT_EQ(TilePath({kEntriesLevel, 1000, 3}), "tile/entries/x001/000.p/3");
}

TEST(TlogTilesTest, PartialTilesWithAOneElementIndexParse) {
  // The rightmost tiles of any log under 256,000 leaves per level look so.
  for (const TileRef t : {TileRef{0, 0, 1}, TileRef{1, 0, 2}, TileRef{0, 2, 88},
                          TileRef{kEntriesLevel, 0, 255}, TileRef{kEntriesLevel, 999, 17}}) {
    auto back = ParseTilePath(TilePath(t));
    ASSERT_TRUE(back.ok()) << TilePath(t) << ": " << back.status().ToString();
    EXPECT_EQ(*back, t) << TilePath(t);
  }
}

TEST(TlogTilesTest, PathsRoundTripAndNonCanonicalOnesAreRefused) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    TileRef t{static_cast<int>(rng() % 65) - 1, rng() >> (rng() % 64),
              1 + rng() % 256};
    auto back = ParseTilePath(TilePath(t));
    ASSERT_TRUE(back.ok()) << TilePath(t) << ": " << back.status().ToString();
    EXPECT_EQ(*back, t);
  }
  for (const char* bad :
       {"tile/0/1", "tile/0/0001", "tile/00/000", "tile/64/000", "tile/0/001/000",
        "tile/0/x000/001", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07",
        "tile/0/000.p/", "tile/x/000", "tiles/0/000", "tile/0/", "tile/0/x001/x002",
        "tile/entries/000.p/1/2", "tile/0/-01", "/tile/0/000",
        "tile/0/x999/x999/x999/x999/x999/x999/999"}) {
    EXPECT_FALSE(ParseTilePath(bad).ok()) << bad;
  }
}

TEST(TlogTilesTest, TheSpecsSeventyThousandLeafTree) {
  // 273 full level-0 tiles, one of width 112; one full level-1 tile, one of
  // width 17; a level-2 tile of width 1.
  EXPECT_EQ(PartialTileWidth(0, 70000), 112u);
  EXPECT_EQ(PartialTileWidth(1, 70000), 17u);
  EXPECT_EQ(PartialTileWidth(2, 70000), 1u);
  EXPECT_EQ(PartialTileWidth(3, 70000), 0u);
  auto all = TilesToPublish(0, 70000);
  size_t full0 = 0, partial0 = 0, full1 = 0, partial1 = 0, l2 = 0, bundles = 0;
  for (const auto& t : all) {
    if (t.level == kEntriesLevel) ++bundles;
    if (t.level == 0) (t.full() ? full0 : partial0)++;
    if (t.level == 1) (t.full() ? full1 : partial1)++;
    if (t.level == 2) ++l2;
  }
  EXPECT_EQ(full0, 273u);
  EXPECT_EQ(partial0, 1u);
  EXPECT_EQ(full1, 1u);
  EXPECT_EQ(partial1, 1u);
  EXPECT_EQ(l2, 1u);
  EXPECT_EQ(bundles, 274u);
  // A tree of 256: one full level-0 tile and a level-1 tile of width 1.
  auto t256 = TilesToPublish(0, 256);
  EXPECT_EQ(t256, (std::vector<TileRef>{{kEntriesLevel, 0, 256}, {0, 0, 256}, {1, 0, 1}}));
}

TEST(TlogTilesTest, GrowingPublishesOnlyWhatChanged) {
  EXPECT_TRUE(TilesToPublish(10, 10).empty());
  EXPECT_EQ(TilesToPublish(10, 11),
            (std::vector<TileRef>{{kEntriesLevel, 0, 11}, {0, 0, 11}}));
  EXPECT_EQ(TilesToPublish(250, 260),
            (std::vector<TileRef>{{kEntriesLevel, 0, 256}, {kEntriesLevel, 1, 4}, {0, 0, 256},
                                  {0, 1, 4}, {1, 0, 1}}));
}

TEST(TlogTilesTest, SlotsOfSubtrees) {
  auto s = SlotOf(512, 513);  // one leaf
  EXPECT_EQ(s.tile, (TileRef{0, 2, 1}));
  EXPECT_EQ(s.count, 1u);
  s = SlotOf(256 * 256 + 512, 256 * 256 + 1024);  // 512 leaves: 2 level-1 hashes
  EXPECT_EQ(s.tile, (TileRef{1, 1, 4}));
  EXPECT_EQ(s.slot, 2u);
  EXPECT_EQ(s.count, 2u);
}

TEST(TlogTilesTest, EntryBundles) {
  std::string b;
  ASSERT_TRUE(AppendBundleEntry(&b, "ab").ok());
  ASSERT_TRUE(AppendBundleEntry(&b, "").ok());
  ASSERT_TRUE(AppendBundleEntry(&b, std::string(65535, 'x')).ok());
  EXPECT_FALSE(AppendBundleEntry(&b, std::string(65536, 'x')).ok());
  EXPECT_EQ(b.substr(0, 6), std::string("\x00\x02" "ab\x00\x00", 6));
  auto e = ParseEntryBundle(b, 3);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)[0], "ab");
  EXPECT_EQ((*e)[2].size(), 65535u);
  EXPECT_FALSE(ParseEntryBundle(b, 2).ok());
  EXPECT_FALSE(ParseEntryBundle(b, 4).ok());
  EXPECT_FALSE(ParseEntryBundle(b.substr(0, b.size() - 1), 3).ok());
  EXPECT_FALSE(ParseEntryBundle("\x00", 1).ok());
  EXPECT_FALSE(ParseTile(std::string(33, 'a'), 1).ok());
  EXPECT_FALSE(ParseTile(std::string(32, 'a'), 0).ok());
  EXPECT_TRUE(ParseTile(std::string(64, 'a'), 2).ok());
}

}  // namespace
}  // namespace verifier
