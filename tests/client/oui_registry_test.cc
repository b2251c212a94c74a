// The IEEE MAC registry as Debian's ieee-data ships it, read through
// client/csv_table.h: real assignments, the most specific block first.
#include "client/oui_registry.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace client {
namespace {

TEST(OuiRegistryTest, RealAssignmentsFromDebiansIeeeData) {
  auto reg = OuiRegistry::Load();
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_GT(reg->size(), 30000u);
  // Axis's device ID serial is its MAC (README of ../shared/testdata/x509).
  auto axis = reg->Lookup("ACCC8E99C915");
  ASSERT_TRUE(axis.ok() && axis->has_value());
  EXPECT_EQ((*axis)->registry, "MA-L");
  EXPECT_EQ((*axis)->prefix, "ACCC8E");
  EXPECT_EQ((*axis)->organization, "Axis Communications AB");
  // A quoted organisation name with a comma in it.
  auto hik = reg->Lookup("44:47:cc:01:02:03");
  ASSERT_TRUE(hik.ok() && hik->has_value());
  EXPECT_EQ((*hik)->organization, "Hangzhou Hikvision Digital Technology Co.,Ltd.");
  // An MA-M block is more specific than any MA-L.
  auto mam = reg->Lookup("208593B00001");
  ASSERT_TRUE(mam.ok() && mam->has_value());
  EXPECT_EQ((*mam)->registry, "MA-M");
  EXPECT_EQ((*mam)->prefix, "208593B");
  EXPECT_EQ(reg->Lookup("ACCC8E").status().reason(), "BAD_MAC");
}

TEST(OuiRegistryTest, AMissingRegistryIsAnErrorNotAnEmptyAnswer) {
  auto reg = OuiRegistry::Load("/nonexistent");
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.status().reason(), "NO_OUI_REGISTRY");
  const std::string dir = ::testing::TempDir() + "/oui-empty";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/oui.csv") << "Registry,Assignment,Organization Name,Organization Address\n";
  EXPECT_EQ(OuiRegistry::Load(dir).status().reason(), "NO_OUI_REGISTRY");
}

}  // namespace
}  // namespace client
