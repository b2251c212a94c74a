#include "client/report_html.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace client {
namespace {

std::string Html(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A DOT double-quoted string; '\n' in the text becomes a centred line break.
std::string DotString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': break;
      default: out += c;
    }
  }
  return out + "\"";
}

std::string Anchor(const std::string& key) {
  std::string out = "graph-";
  for (char c : key) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return out;
}

std::string Badge(const std::string& verdict) {
  std::string cls = verdict == "TRUSTED" ? "ok" : verdict == "REJECTED" ? "bad" : "warn";
  return "<span class=\"badge " + cls + "\">" + Html(verdict) + "</span>";
}

std::string Indices(const std::vector<uint64_t>& v) {
  std::string out;
  for (uint64_t i : v) out += (out.empty() ? "#" : " #") + std::to_string(i);
  return out;
}

// Writes `data` to a temporary file and runs dot on it; reads its output.
verifier::Result<std::string> RunDot(const std::string& dot) {
  char in_path[] = "/tmp/prov-graph-XXXXXX";
  int fd = mkstemp(in_path);
  if (fd < 0) return verifier::Internal("GRAPHVIZ_FAILED", "cannot create a temporary file");
  if (write(fd, dot.data(), dot.size()) != static_cast<ssize_t>(dot.size())) {
    close(fd);
    unlink(in_path);
    return verifier::Internal("GRAPHVIZ_FAILED", "cannot write a temporary file");
  }
  close(fd);
  int out_pipe[2];
  if (pipe(out_pipe) != 0) {
    unlink(in_path);
    return verifier::Internal("GRAPHVIZ_FAILED", "pipe failed");
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    close(out_pipe[0]);
    close(out_pipe[1]);
    execlp("dot", "dot", "-Tsvg", in_path, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out_pipe[1]);
  std::string svg;
  char buf[65536];
  ssize_t n;
  while ((n = read(out_pipe[0], buf, sizeof buf)) > 0) svg.append(buf, static_cast<size_t>(n));
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  unlink(in_path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return verifier::FailedPrecondition(
        "GRAPHVIZ_MISSING", "Graphviz `dot` is not installed (apt-get install graphviz)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return verifier::Internal("GRAPHVIZ_FAILED", "dot exited with status " +
                                                     std::to_string(WEXITSTATUS(status)));
  }
  return svg;
}

constexpr char kStyle[] = R"(
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}
.badge{display:inline-block;padding:.1em .5em;border-radius:.3em;font-weight:bold;font-size:.85em}
.ok{background:#e3f4e4;color:#1b5e20}.bad{background:#fde3e3;color:#b71c1c}
.warn{background:#fff4d6;color:#8a5a00}
.code{font-family:"DejaVu Sans Mono",monospace;font-size:.85em}
.idx{color:#666;font-family:"DejaVu Sans Mono",monospace;font-size:.85em}
.muted{color:#777}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dl.summary dt{font-weight:bold}
.graph{overflow-x:auto;border:1px solid #ddd;padding:.5em;margin:.5em 0}
)";

}  // namespace

std::string GraphDot(const ReportGraph& g) {
  std::ostringstream out;
  out << "digraph provenance {\n"
      << "  rankdir=BT; bgcolor=\"white\"; fontname=\"DejaVu Sans\";\n"
      << "  node [fontname=\"DejaVu Sans\", fontsize=10, color=\"#555555\"];\n"
      << "  edge [fontname=\"DejaVu Sans\", fontsize=9, color=\"#777777\", fontcolor=\"#444444\"];\n"
      << "  label=" << DotString(g.title) << "; labelloc=t;\n";
  for (const auto& n : g.nodes) {
    std::string shape = n.kind == "model"       ? "box3d"
                        : n.kind == "component" ? "component"
                                                : "box";
    out << "  " << DotString(n.id) << " [label=" << DotString(n.label) << ", shape=" << shape
        << (n.kind == "org" ? ", style=\"rounded\"" : "");
    if (n.highlight) out << ", color=\"#c62828\", fontcolor=\"#c62828\", penwidth=2.5";
    out << "];\n";
  }
  for (const auto& e : g.edges) {
    out << "  " << DotString(e.from) << " -> " << DotString(e.to)
        << " [label=" << DotString(e.label);
    if (e.highlight) out << ", color=\"#c62828\", fontcolor=\"#c62828\", penwidth=2.5";
    out << "];\n";
  }
  out << "}\n";
  return out.str();
}

verifier::Result<std::string> GraphSvg(const ReportGraph& g) {
  PROV_ASSIGN_OR_RETURN(std::string svg, RunDot(GraphDot(g)));
  size_t start = svg.find("<svg");
  if (start == std::string::npos) {
    return verifier::Internal("GRAPHVIZ_FAILED", "dot wrote no <svg> element");
  }
  return svg.substr(start);
}

verifier::Result<std::string> RenderDeliveryHtml(const DeliveryReport& r) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<title>Delivery check: " << Html(r.manifest) << "</title><style>" << kStyle
      << "</style></head><body>\n";
  out << "<h1>Delivery check: " << Html(r.manifest) << "</h1>\n<dl class=\"summary\">";
  out << "<dt>Buyer</dt><dd>" << Html(r.buyer) << "</dd>";
  if (!r.supplier.empty()) out << "<dt>Supplier</dt><dd>" << Html(r.supplier) << "</dd>";
  out << "<dt>Policy</dt><dd>"
      << (r.policy_name.empty() ? "none (ledger checks only)"
                                : Html(r.policy_name) + " <span class=\"muted\">" +
                                      Html(r.policy_source) + "</span>")
      << "</dd>";
  out << "<dt>Signed checkpoint</dt><dd>tree size " << r.tree_size << ", root <span class=\"code\">"
      << Html(r.root_hex) << "</span></dd>";
  out << "<dt>Generated</dt><dd>" << Html(r.generated_at) << "</dd>";
  out << "<dt>Verdicts</dt><dd>" << Badge("TRUSTED") << " " << r.trusted << " &nbsp; "
      << Badge("REJECTED") << " " << r.rejected << " &nbsp; " << Badge("UNVERIFIED") << " "
      << r.unverified << "</dd></dl>\n";

  out << "<h2>Devices</h2>\n<table><thead><tr><th>Line</th><th>Device</th><th>Verdict</th>"
      << "<th>Findings</th></tr></thead><tbody>\n";
  for (const auto& row : r.rows) {
    out << "<tr><td>" << row.line << "</td><td class=\"code\">" << Html(row.device);
    if (!row.graph.empty()) {
      out << "<br><a href=\"#" << Anchor(row.graph) << "\">graph of " << Html(row.graph)
          << "</a>";
    }
    out << "</td><td>" << Badge(row.verdict) << "</td><td>";
    std::string info;
    for (const auto& f : row.findings) {
      std::ostringstream item;
      item << "<div><span class=\"code\">" << Html(f.code) << "</span> " << Html(f.message)
           << " <span class=\"idx\">" << Html(Indices(f.indices)) << "</span></div>";
      if (f.severity == "pass" || f.severity == "skipped") {
        info += item.str();
      } else {
        out << item.str();
      }
    }
    if (!info.empty()) {
      out << "<details class=\"muted\"><summary>checks passed or not made</summary>" << info << "</details>";
    }
    out << "</td></tr>\n";
  }
  out << "</tbody></table>\n";

  if (!r.graphs.empty()) {
    out << "<h2>Ownership and bill of materials</h2>\n<p class=\"muted\">Arrows point from a "
           "maker to what it makes and from an owner to what it owns; red marks the records "
           "behind a rejecting or unverified finding. #N is the ledger index.</p>\n";
  }
  for (const auto& [key, g] : r.graphs) {
    PROV_ASSIGN_OR_RETURN(std::string svg, GraphSvg(g));
    out << "<section id=\"" << Anchor(key) << "\"><h3>" << Html(key) << "</h3><div class=\"graph\">"
        << svg << "</div></section>\n";
  }
  out << "</body></html>\n";
  return out.str();
}

}  // namespace client
