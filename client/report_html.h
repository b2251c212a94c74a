// The delivery report as one self-contained HTML file (no network: inline
// CSS and inline SVG only): a summary, one row per device with its
// findings, and per device model an ownership / bill-of-materials graph
// drawn by Graphviz (`dot -Tsvg`) with the offending paths highlighted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "verifier/status.h"

namespace client {

// A graph of one device model: the model, its brand and real manufacturer,
// its components and their makers, and the owners of those orgs.
struct ReportGraph {
  struct Node {
    std::string id;     // unique within the graph, e.g. "org:acme-cam"
    std::string label;  // may contain '\n' for multi-line labels
    std::string kind;   // "model", "org", "component"
    bool highlight = false;  // on an offending path
  };
  struct Edge {
    std::string from, to;  // node ids
    std::string label;     // e.g. "40 % since 2018-01-01 #12", "made by #7"
    bool highlight = false;
  };
  std::string title;  // e.g. "acme-cam/ACME-DOME"
  std::vector<Node> nodes;
  std::vector<Edge> edges;
};

struct ReportFinding {
  std::string code, severity, message;  // severity: "ok", "unverified", "REJECT"
  std::vector<uint64_t> indices;
};

struct ReportRow {
  size_t line = 0;            // manifest line
  std::string device;         // "manufacturer/serial"
  std::string graph;          // key into DeliveryReport::graphs ("" = none)
  std::string verdict;        // "TRUSTED", "REJECTED", "UNVERIFIED"
  std::vector<ReportFinding> findings;
};

struct DeliveryReport {
  std::string manifest, buyer, supplier;
  std::string policy_name, policy_source;  // empty when no policy was given
  uint64_t tree_size = 0;
  std::string root_hex;      // the signed checkpoint's root
  std::string generated_at;  // e.g. "2026-11-23 10:00 UTC"
  size_t trusted = 0, rejected = 0, unverified = 0;
  std::vector<ReportRow> rows;
  std::map<std::string, ReportGraph> graphs;
};

// The graph in Graphviz DOT, highlighted nodes and edges drawn in red and bold.
std::string GraphDot(const ReportGraph& g);
// Runs `dot -Tsvg` on GraphDot(g); returns the <svg> element (without the
// XML prologue). FAILED_PRECONDITION (GRAPHVIZ_MISSING) if `dot` is absent.
verifier::Result<std::string> GraphSvg(const ReportGraph& g);
// The whole HTML document. Every text is HTML-escaped.
verifier::Result<std::string> RenderDeliveryHtml(const DeliveryReport& r);

}  // namespace client
