// client/report_html.h: DOT escaping and highlighting, real Graphviz SVG,
// and an HTML report that escapes every ledger text, links rows to their
// graphs and fetches nothing. WritesSampleReport also writes the sample to
// $REPORT_OUT for scripts/render-check.sh (headless Chromium).
#include "client/report_html.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>

namespace client {
namespace {

ReportGraph SampleGraph() {
  ReportGraph g;
  g.title = "acme-cam/ACME-DOME";
  g.nodes = {{"model:acme-cam/ACME-DOME", "model ACME-DOME\n#30", "model", false},
             {"org:acme-cam", "Acme Camera Ltd\nGB\nacme-cam #12", "org", false},
             {"component:polaris-micro/PX-3", "image signal processor\nPX-3 #25", "component", true},
             {"org:polaris-micro", "Polaris Microsystems Co\nTW\npolaris-micro #7", "org", true},
             {"org:orion-group", "Orion Group Co., Ltd.\nCN · CN-NIL-2017\norion-group #3", "org", true}};
  g.edges = {{"org:acme-cam", "model:acme-cam/ACME-DOME", "makes #30", false},
             {"component:polaris-micro/PX-3", "model:acme-cam/ACME-DOME", "in the bill of materials", true},
             {"org:polaris-micro", "component:polaris-micro/PX-3", "makes", true},
             {"org:orion-group", "org:polaris-micro", "100 %\n2019-01-01 #41", true}};
  return g;
}

DeliveryReport SampleReport() {
  DeliveryReport r;
  r.manifest = "policy-manifest.csv";
  r.buyer = "buyer-gov";
  r.supplier = "acme-cam";
  r.policy_name = "uk-sensitive-site";
  r.policy_source = "UK Cabinet Office WMS HCWS386 (24 Nov 2022)";
  r.tree_size = 120;
  r.root_hex = "ab12";
  r.generated_at = "2026-11-23 10:00 UTC";
  r.trusted = 1;
  r.rejected = 2;
  r.unverified = 1;
  r.rows = {
      {2, "acme-cam/DOME-2024", "acme-cam/ACME-DOME", "REJECTED",
       {{"REGISTERED", "pass", "acme-cam/DOME-2024, model ACME-DOME, registered #50", {50}},
        {"DENIED_LAW", "REJECT",
         "image signal processor PX-3 made by Polaris Microsystems Co (TW), 100 % owned by Orion "
         "Group Co., Ltd. (CN, subject to CN-NIL-2017) since 2019-01-01",
         {25, 30, 41, 3}}}},
      {3, "acme-cam/CLEAN-2024", "acme-cam/ACME-CLEAN", "TRUSTED",
       {{"REGISTERED", "pass", "registered #52", {52}}}},
      {4, "acme-cam/MEM-2024", "acme-cam/ACME-MEM", "UNVERIFIED",
       {{"MISSING_OWNERSHIP_FACTS", "unverified",
         "memory QM-4 made by Quartz Memory Co (KR): no owner is recorded", {27, 32}}}},
      {5, "hikvision/NOVA-2024", "hikvision/NOVA-1", "REJECTED",
       {{"DENIED_LAW", "REJECT", "made by Hangzhou Hikvision (CN, subject to CN-NIL-2017)", {60, 9}}}}};
  r.graphs["acme-cam/ACME-DOME"] = SampleGraph();
  ReportGraph nova;
  nova.title = "hikvision/NOVA-1";
  nova.nodes = {{"model:hikvision/NOVA-1", "model NOVA-1", "model", false},
                {"org:hikvision", "Hangzhou Hikvision\nCN · CN-NIL-2017", "org", true},
                {"org:nova-optics", "Nova Optics Ltd\nGB", "org", false}};
  nova.edges = {{"org:hikvision", "model:hikvision/NOVA-1", "makes", true},
                {"org:nova-optics", "model:hikvision/NOVA-1", "brand on the box", false}};
  r.graphs["hikvision/NOVA-1"] = nova;
  return r;
}

// Every URL in `html` except the SVG/XLink namespace names.
std::vector<std::string> ExternalUrls(const std::string& html) {
  std::vector<std::string> out;
  std::regex url(R"(https?://[^"' <>)]+)");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), url); it != std::sregex_iterator();
       ++it) {
    const std::string u = it->str();
    if (u != "http://www.w3.org/2000/svg" && u != "http://www.w3.org/1999/xlink") out.push_back(u);
  }
  return out;
}

TEST(ReportHtmlTest, DotEscapesLabelsAndHighlightsInRed) {
  ReportGraph g = SampleGraph();
  g.nodes[1].label = "Acme \"Cam\" \\ Ltd";
  const std::string dot = GraphDot(g);
  EXPECT_NE(dot.find(R"(label="Acme \"Cam\" \\ Ltd")"), std::string::npos) << dot;
  EXPECT_NE(dot.find(R"("org:orion-group" -> "org:polaris-micro" [label="100 %\n2019-01-01 #41", color="#c62828")"),
            std::string::npos)
      << dot;
  EXPECT_NE(dot.find(R"("org:acme-cam" -> "model:acme-cam/ACME-DOME" [label="makes #30"];)"),
            std::string::npos)
      << dot;
}

TEST(ReportHtmlTest, GraphvizDrawsAnInlineSvg) {
  auto svg = GraphSvg(SampleGraph());
  ASSERT_TRUE(svg.ok()) << svg.status().ToString();
  EXPECT_EQ(svg->rfind("<svg", 0), 0u);
  EXPECT_EQ(svg->find("<?xml"), std::string::npos);
  EXPECT_NE(svg->find("Orion Group Co., Ltd."), std::string::npos);
  EXPECT_NE(svg->find("#c62828"), std::string::npos);
}

TEST(ReportHtmlTest, EscapesLedgerTextAndFetchesNothing) {
  DeliveryReport r = SampleReport();
  r.rows[1].device = "<script>alert(1)</script>";
  r.rows[2].findings[0].message = "Smith & Sons <b>";
  auto html = RenderDeliveryHtml(r);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_EQ(html->find("<script"), std::string::npos);
  EXPECT_NE(html->find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html->find("Smith &amp; Sons &lt;b&gt;"), std::string::npos);
  EXPECT_EQ(ExternalUrls(*html), std::vector<std::string>{});
}

TEST(ReportHtmlTest, RowsVerdictsFindingsAndGraphLinks) {
  auto html = RenderDeliveryHtml(SampleReport());
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  for (const char* s : {"acme-cam/DOME-2024", "hikvision/NOVA-2024", "DENIED_LAW",
                        "MISSING_OWNERSHIP_FACTS", "#25 #30 #41 #3", "uk-sensitive-site",
                        "href=\"#graph-acme-cam-ACME-DOME\"", "id=\"graph-acme-cam-ACME-DOME\"",
                        "id=\"graph-hikvision-NOVA-1\"", "<svg"}) {
    EXPECT_NE(html->find(s), std::string::npos) << s;
  }
  // Passed checks are folded away; problems are shown.
  EXPECT_LT(html->find("<details"), html->find("REGISTERED"));
}

TEST(ReportHtmlTest, WritesSampleReport) {
  auto html = RenderDeliveryHtml(SampleReport());
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  if (const char* out = std::getenv("REPORT_OUT")) {
    std::ofstream(out) << *html;
  }
}

}  // namespace
}  // namespace client
