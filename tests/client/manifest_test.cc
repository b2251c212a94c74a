// client/manifest.h (and the CSV module under it, client/csv_table.h):
// spreadsheet exports (BOM, CRLF, quoting) parse to the devices they list,
// and every malformed manifest is BAD_MANIFEST "NAME:LINE: what" instead of
// a silently unchecked or misread row.
#include "client/manifest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/csv_table.h"

namespace client {
namespace {

verifier::Result<std::vector<ManifestRow>> Parse(const std::string& text,
                                                 const std::string& default_mfr = "") {
  return ParseManifest(text, "m.csv", default_mfr);
}

// The message of the BAD_MANIFEST error `text` must give.
std::string Error(const std::string& text, const std::string& default_mfr = "") {
  auto r = Parse(text, default_mfr);
  if (r.ok()) return "(parsed " + std::to_string(r->size()) + " rows)";
  EXPECT_EQ(r.status().code(), verifier::Code::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "BAD_MANIFEST");
  return r.status().message();
}

TEST(ManifestTest, ByteOrderMarkIsIgnored) {
  auto r = Parse("\xEF\xBB\xBFmanufacturer,serial,model\nacme-cam,AC100-002,AC-100\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].manufacturer, "acme-cam");
  EXPECT_EQ((*r)[0].serial, "AC100-002");
  EXPECT_EQ((*r)[0].model, "AC-100");
  EXPECT_EQ((*r)[0].line, 2u);
}

TEST(ManifestTest, ByteOrderMarkWithCrlf) {
  auto r =
      Parse("\xEF\xBB\xBFserial,model\r\nAC100-001,AC-100\r\nAC100-002,AC-100\r\n", "acme-cam");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].manufacturer, "acme-cam");
  EXPECT_EQ((*r)[1].serial, "AC100-002");
  EXPECT_EQ((*r)[1].model, "AC-100");
  EXPECT_EQ((*r)[1].line, 3u);
}

TEST(ManifestTest, QuotedCellsLoseTheirQuotes) {
  auto r = Parse("manufacturer,serial,model\nacme-cam,\"AC100-002\",\"AC-100\"\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].serial, "AC100-002");
  EXPECT_EQ((*r)[0].model, "AC-100");
}

TEST(ManifestTest, CrlfAfterAClosingQuote) {
  auto r = Parse("manufacturer,serial,model\r\nacme,SN-1,\"CAM\"\r\nacme,SN-2,CAM\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].model, "CAM");
  EXPECT_EQ((*r)[1].serial, "SN-2");
  EXPECT_EQ((*r)[1].model, "CAM");
  EXPECT_EQ((*r)[1].line, 3u);
}

TEST(ManifestTest, QuotedCommaStaysInTheCell) {
  auto r = Parse("manufacturer,serial,model\nacme,\"SN,1\",CAM\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].serial, "SN,1");
  EXPECT_EQ((*r)[0].model, "CAM");
}

TEST(ManifestTest, DoubledQuotesAreOneQuote) {
  auto r = Parse("manufacturer,serial,model\nacme,\"SN \"\"1\"\"\",CAM\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].serial, "SN \"1\"");
}

TEST(ManifestTest, QuotedNewlineKeepsLaterLineNumbers) {
  auto r = Parse("manufacturer,serial,model\nacme,\"SN\n1\",CAM\nacme,SN-2,CAM\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].serial, "SN\n1");
  EXPECT_EQ((*r)[0].line, 2u);
  EXPECT_EQ((*r)[1].serial, "SN-2");
  EXPECT_EQ((*r)[1].line, 4u);
  // And errors after it name the physical line.
  EXPECT_EQ(Error("manufacturer,serial,model\nacme,\"SN\n1\",CAM\nacme,SN-2\n"),
            "m.csv:4: expected 3 cells (as many as the header on line 1), found 2");
}

TEST(ManifestTest, UnterminatedQuoteIsAnError) {
  EXPECT_EQ(Error("manufacturer,serial,model\nacme,SN-1,CAM\nacme,\"SN-2,CAM\nacme,SN-3,CAM\n"),
            "m.csv:3: a quoted cell starting on this line has no closing quote");
}

TEST(ManifestTest, StrayQuoteIsAnError) {
  const std::string why =
      ": a quote inside an unquoted cell, or text after a closing quote (write a quote inside a "
      "quoted cell as \"\")";
  EXPECT_EQ(Error("manufacturer,serial,model\nacme,SN\"1,CAM\n"),
            "m.csv:2: bad quoting at byte 8" + why);
  EXPECT_EQ(Error("manufacturer,serial,model\nacme,\"SN-1\"x,CAM\n"),
            "m.csv:2: bad quoting at byte 12" + why);
}

TEST(ManifestTest, CommentsAndBlankLinesAreSkippedOutsideQuotes) {
  auto r = Parse(
      "# delivery 42\n"                       // 1
      "\n"                                    // 2
      "manufacturer,serial,model\n"           // 3
      "  # packed by dock 7\n"                // 4
      "acme,SN-1,CAM\n"                       // 5
      " \t\n"                                 // 6
      "acme,\"SN-2\n# not a comment\",CAM\n"  // 7-8: inside quotes
      "acme,SN-3,CAM");                       // 9, no final newline
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].line, 5u);
  EXPECT_EQ((*r)[1].line, 7u);
  EXPECT_EQ((*r)[1].serial, "SN-2\n# not a comment");
  EXPECT_EQ((*r)[2].line, 9u);
  EXPECT_EQ((*r)[2].serial, "SN-3");
}

TEST(ManifestTest, ShortRowIsAnError) {
  EXPECT_EQ(Error("manufacturer,serial,model\nacme-cam,AC100-001,AC-100\nacme-cam,AC100-002\n"),
            "m.csv:3: expected 3 cells (as many as the header on line 1), found 2");
}

TEST(ManifestTest, LongRowIsAnError) {
  EXPECT_EQ(Error("manufacturer,serial,model\nacme,SN-1,CAM,extra\n"),
            "m.csv:2: expected 3 cells (as many as the header on line 1), found 4");
}

TEST(ManifestTest, UnknownColumnsAreIgnored) {
  auto r = Parse("notes,manufacturer,serial,model\n\"fragile, top shelf\",acme,SN-1,CAM\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].manufacturer, "acme");
  EXPECT_EQ((*r)[0].serial, "SN-1");
  EXPECT_EQ((*r)[0].model, "CAM");
}

TEST(ManifestTest, HeaderNamesAreCaseInsensitiveAndTrimmed) {
  auto r = Parse("Manufacturer, Serial ,MODEL\n acme , SN-1 ,\tCAM\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].manufacturer, "acme");
  EXPECT_EQ((*r)[0].serial, "SN-1");
  EXPECT_EQ((*r)[0].model, "CAM");
}

TEST(ManifestTest, MissingColumnListsTheColumnsFound) {
  EXPECT_EQ(Error("manufacturer,SN,model\nacme,SN-1,CAM\n"),
            "m.csv:1: the header must name a `serial` column; found \"manufacturer\", \"SN\", "
            "\"model\"");
  EXPECT_EQ(Error("# export\nSerial,Model\nSN-1,CAM\n"),
            "m.csv:2: no `manufacturer` column; give --manufacturer ORG; found \"Serial\", "
            "\"Model\"");
}

TEST(ManifestTest, ColumnNamedTwiceIsAnError) {
  EXPECT_EQ(Error("serial,manufacturer,Serial\nSN-1,acme,SN-2\n"),
            "m.csv:1: the header names `serial` twice (columns 1 and 3)");
}

TEST(ManifestTest, EmptyManufacturerNeedsADefault) {
  EXPECT_EQ(Error("manufacturer,serial,model\nacme-cam,AC100-003,AC-100\n,AC100-004,AC-100\n"),
            "m.csv:3: empty manufacturer; fill it in or give --manufacturer ORG");
  auto r =
      Parse("manufacturer,serial,model\nlumen,AC100-003,AC-100\n,AC100-004,AC-100\n", "acme-cam");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].manufacturer, "lumen");
  EXPECT_EQ((*r)[1].manufacturer, "acme-cam");
}

TEST(ManifestTest, EmptySerialIsAnErrorEvenQuoted) {
  EXPECT_EQ(Error("manufacturer,serial,model\nacme,\"  \",CAM\n"), "m.csv:2: empty serial");
}

TEST(ManifestTest, EmptyModelIsAnErrorWhenTheHeaderHasAModelColumn) {
  EXPECT_EQ(Error("manufacturer,serial,model\nacme,SN-1,\n"),
            "m.csv:2: empty model (the header has a `model` column; drop the column to skip the "
            "model check)");
  // Without the column the model is not checked.
  auto r = Parse("manufacturer,serial\nacme,SN-1\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].model, "");
}

TEST(ManifestTest, HeaderOnlyHasNoDevices) {
  EXPECT_EQ(Error("manufacturer,serial,model\n# nothing shipped\n\n"),
            "m.csv:1: has no devices: the header is not followed by any rows");
}

TEST(ManifestTest, EmptyFileHasNoDevices) {
  const std::string want =
      "m.csv has no devices: no header and no rows (only comments or blank lines, or nothing "
      "at all)";
  EXPECT_EQ(Error(""), want);
  EXPECT_EQ(Error("\xEF\xBB\xBF\r\n# nothing\r\n"), want);
}

// The import's use of the CSV module: '#' is data there.
TEST(CsvTableTest, CommentsCanBeData) {
  auto r = ParseCsv("serial\n#1\n\n", "d.csv", {.skip_comments = false});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].cells, std::vector<std::string>{"#1"});
  EXPECT_EQ((*r)[1].line, 2u);
}

TEST(CsvTableTest, QuotedCellsKeepSpacesAndLineBreaksBecomeLf) {
  auto r = ParseCsv("a , \" b \",\"c\r\nd\"\r\n", "d.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].cells, (std::vector<std::string>{"a", " b ", "c\nd"}));
  auto bad = ParseCsv("a,\"b\n", "d.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().reason(), "BAD_CSV");
  EXPECT_EQ(bad.status().message(),
            "d.csv:1: a quoted cell starting on this line has no closing quote");
}

}  // namespace
}  // namespace client
