#include "onvif/xml.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <cstdio>
#include <cstring>
#include <mutex>

namespace onvif {
namespace {

// Decodes one strict UTF-8 sequence at s[*i] (no overlongs, surrogates or
// code points above U+10FFFF); advances *i. False on an invalid sequence.
bool NextCodePoint(std::string_view s, size_t* i, char32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(*i);
  size_t len;
  char32_t v;
  if (c < 0x80) {
    *cp = c;
    ++*i;
    return true;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07;
  } else {
    return false;
  }
  if (*i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    if ((b(*i + k) & 0xC0) != 0x80) return false;
    v = (v << 6) | (b(*i + k) & 0x3F);
  }
  if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
      (v >= 0xD800 && v <= 0xDFFF)) {
    return false;
  }
  *cp = v;
  *i += len;
  return true;
}

// Characters never taken from a camera: they would act on a terminal.
bool IsForbidden(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Replaces forbidden characters and invalid UTF-8 by '?', cut to cap bytes
// on a character boundary.
std::string Sanitize(std::string_view s, size_t cap) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    char32_t cp;
    const bool ok = NextCodePoint(s, &i, &cp);
    if (!ok) ++i;
    const std::string_view piece =
        ok && !IsForbidden(cp) ? s.substr(start, i - start) : std::string_view("?");
    if (out.size() + piece.size() > cap) break;
    out.append(piece);
  }
  return out;
}

// Checks an extracted value: length, UTF-8, no forbidden characters.
verifier::Status CheckValue(std::string_view v, std::string_view what, size_t cap) {
  if (v.size() > cap) {
    return BadSoap(std::string(what) + " is " + std::to_string(v.size()) +
                   " bytes long; the limit is " + std::to_string(cap));
  }
  size_t i = 0;
  while (i < v.size()) {
    char32_t cp;
    if (!NextCodePoint(v, &i, &cp)) return BadSoap(std::string(what) + " is not UTF-8");
    if (IsForbidden(cp)) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      return BadSoap(std::string(what) + " holds the control character " + hex);
    }
  }
  return verifier::Status::Ok();
}

std::string Str(const xmlChar* s) { return s ? reinterpret_cast<const char*>(s) : ""; }

std::string ContentOf(const xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  std::string s = Str(c);
  xmlFree(c);
  return s;
}

void InitLibxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

// Walks the whole tree without recursion: refuses DTD and entity nodes and
// elements deeper than kMaxXmlDepth.
verifier::Status CheckTree(const xmlDoc* doc) {
  if (doc->intSubset || doc->extSubset) {
    return BadSoap("DOCTYPE refused (SOAP 1.2 forbids document type declarations)");
  }
  const xmlNode* n = doc->children;
  int depth = 1;
  while (n) {
    switch (n->type) {
      case XML_ELEMENT_NODE:
        if (depth > kMaxXmlDepth) {
          return BadSoap("elements nested deeper than " + std::to_string(kMaxXmlDepth));
        }
        break;
      case XML_TEXT_NODE:
      case XML_CDATA_SECTION_NODE:
      case XML_COMMENT_NODE:
      case XML_PI_NODE:
        break;
      case XML_ENTITY_REF_NODE:
      case XML_ENTITY_NODE:
      case XML_ENTITY_DECL:
        return BadSoap("entity references refused");
      case XML_DTD_NODE:
      case XML_DOCUMENT_TYPE_NODE:
        return BadSoap("DOCTYPE refused (SOAP 1.2 forbids document type declarations)");
      default:
        return BadSoap("unexpected XML node type " + std::to_string(n->type));
    }
    if (n->type == XML_ELEMENT_NODE && n->children) {
      n = n->children;
      ++depth;
      continue;
    }
    while (n && !n->next) {
      n = n->parent;
      --depth;
      if (n == reinterpret_cast<const xmlNode*>(doc)) n = nullptr;
    }
    if (n) n = n->next;
  }
  return verifier::Status::Ok();
}

}  // namespace

verifier::Status BadSoap(std::string message) {
  return verifier::InvalidArgument("BAD_SOAP", std::move(message));
}

verifier::Result<XmlDocPtr> ParseXml(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return BadSoap("message is " + std::to_string(text.size()) + " bytes; the limit is " +
                   std::to_string(max_bytes));
  }
  if (text.empty()) return BadSoap("empty message");
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    const size_t at = i;
    if (!NextCodePoint(text, &i, &cp)) {
      return BadSoap("message is not UTF-8 (invalid byte at offset " + std::to_string(at) + ")");
    }
  }
  // Refused before libxml2 sees them (the input is UTF-8, so a byte search
  // finds them wherever they are); CheckTree checks the parsed tree again.
  if (text.find("<!DOCTYPE") != std::string_view::npos) {
    return BadSoap("DOCTYPE refused (SOAP 1.2 forbids document type declarations)");
  }
  if (text.find("<!ENTITY") != std::string_view::npos) {
    return BadSoap("ENTITY declaration refused");
  }
  InitLibxml();
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) return verifier::Internal("OUT_OF_MEMORY", "xmlNewParserCtxt failed");
  // No XML_PARSE_NOENT (entity substitution), DTDLOAD, DTDATTR, DTDVALID,
  // XINCLUDE or HUGE. IGNORE_ENC + "UTF-8": the bytes checked above are the
  // bytes parsed, whatever the XML declaration claims.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                      XML_PARSE_IGNORE_ENC | XML_PARSE_NOCDATA;
  xmlDoc* raw = xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), nullptr,
                                  "UTF-8", options);
  XmlDocPtr doc(raw);
  if (!doc || !ctxt->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string why = e && e->message ? Sanitize(Trim(e->message), 160) : "unknown error";
    if (e) why = "line " + std::to_string(e->line) + ": " + why;
    return BadSoap("not well-formed XML (" + why + ")");
  }
  PROV_RETURN_IF_ERROR(CheckTree(doc.get()));
  return doc;
}

bool Is(const xmlNode* n, const Name& name) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
         std::strcmp(reinterpret_cast<const char*>(n->name), name.local) == 0 &&
         std::strcmp(reinterpret_cast<const char*>(n->ns->href), name.ns) == 0;
}

std::string Describe(const xmlNode* n) {
  std::string qname = Str(n->name);
  if (n->ns && n->ns->prefix) qname = Str(n->ns->prefix) + ":" + qname;
  const std::string ns = n->ns ? Str(n->ns->href) : "";
  return Sanitize(qname, 64) +
         (ns.empty() ? " (no namespace)" : " (namespace " + Sanitize(ns, 128) + ")");
}

std::vector<const xmlNode*> ElementChildren(const xmlNode* parent) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* c = parent->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) out.push_back(c);
  }
  return out;
}

std::vector<const xmlNode*> Children(const xmlNode* parent, const Name& name) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* c = parent->children; c; c = c->next) {
    if (Is(c, name)) out.push_back(c);
  }
  return out;
}

verifier::Result<const xmlNode*> OptionalChild(const xmlNode* parent, const Name& name) {
  const auto all = Children(parent, name);
  if (all.size() > 1) {
    return BadSoap("more than one " + name.Display() + " in " + Str(parent->name));
  }
  return all.empty() ? nullptr : all[0];
}

verifier::Result<const xmlNode*> OnlyChild(const xmlNode* parent, const Name& name) {
  PROV_ASSIGN_OR_RETURN(const xmlNode* c, OptionalChild(parent, name));
  if (!c) {
    return BadSoap("missing " + name.Display() + " (namespace " + name.ns + ") in " +
                   Describe(parent));
  }
  return c;
}

verifier::Result<std::string> Text(const xmlNode* n, std::string_view what, size_t cap) {
  if (!ElementChildren(n).empty()) {
    return BadSoap(std::string(what) + " must hold text, not elements");
  }
  const std::string v(Trim(ContentOf(n)));
  PROV_RETURN_IF_ERROR(CheckValue(v, what, cap));
  return v;
}

verifier::Result<std::string> ListText(const xmlNode* n, std::string_view what, size_t cap) {
  if (!ElementChildren(n).empty()) {
    return BadSoap(std::string(what) + " must hold text, not elements");
  }
  std::string v;
  for (char c : ContentOf(n)) {
    if (!IsXmlSpace(c)) {
      v.push_back(c);
    } else if (!v.empty() && v.back() != ' ') {
      v.push_back(' ');
    }
  }
  if (!v.empty() && v.back() == ' ') v.pop_back();
  PROV_RETURN_IF_ERROR(CheckValue(v, what, cap));
  return v;
}

verifier::Result<std::optional<std::string>> Attribute(const xmlNode* n, const char* attr,
                                                       std::string_view what) {
  xmlChar* raw = xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>(attr));
  if (!raw) return std::optional<std::string>();
  const std::string v(Trim(Str(raw)));
  xmlFree(raw);
  PROV_RETURN_IF_ERROR(CheckValue(v, what, kMaxValueBytes));
  return std::optional<std::string>(v);
}

std::string SanitizedText(const xmlNode* n, size_t cap) {
  return Sanitize(Trim(ContentOf(n)), cap);
}

void ResolveQName(const xmlNode* n, std::string_view qname, std::string* ns, std::string* local) {
  qname = Trim(qname);
  const size_t colon = qname.find(':');
  const std::string prefix(colon == std::string_view::npos ? "" : qname.substr(0, colon));
  *local = std::string(colon == std::string_view::npos ? qname : qname.substr(colon + 1));
  const xmlNs* found =
      xmlSearchNs(n->doc, const_cast<xmlNode*>(n),
                  prefix.empty() ? nullptr : reinterpret_cast<const xmlChar*>(prefix.c_str()));
  *ns = found ? Str(found->href) : "";
}

verifier::Result<Envelope> OpenEnvelope(const xmlDoc* doc) {
  static constexpr Name kEnvelope{kNsEnv, "Envelope", "env"};
  static constexpr Name kHeader{kNsEnv, "Header", "env"};
  static constexpr Name kBody{kNsEnv, "Body", "env"};
  const xmlNode* root = xmlDocGetRootElement(const_cast<xmlDoc*>(doc));
  if (!root) return BadSoap("no root element");
  if (!Is(root, kEnvelope)) {
    return BadSoap("root element is " + Describe(root) + "; expected env:Envelope (namespace " +
                   kNsEnv + ")");
  }
  Envelope env;
  for (const xmlNode* c : ElementChildren(root)) {
    if (Is(c, kHeader) && !env.header && !env.body) {
      env.header = c;
    } else if (Is(c, kBody) && !env.body) {
      env.body = c;
    } else {
      return BadSoap("unexpected " + Describe(c) + " in env:Envelope");
    }
  }
  if (!env.body) return BadSoap("env:Envelope has no env:Body");
  return env;
}

verifier::Result<const xmlNode*> BodyPayload(const Envelope& env) {
  const auto elems = ElementChildren(env.body);
  if (elems.size() != 1) {
    return BadSoap("env:Body holds " + std::to_string(elems.size()) + " elements; expected one");
  }
  return elems[0];
}

std::string XmlEscape(std::string_view s) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    char32_t cp;
    if (!NextCodePoint(s, &i, &cp)) {
      ++i;
      out += kReplacement;
      continue;
    }
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) {
          out += kReplacement;
        } else {
          out.append(s.substr(start, i - start));
        }
    }
  }
  return out;
}

std::string Element(std::string_view qname, std::string_view text) {
  return "<" + std::string(qname) + ">" + XmlEscape(text) + "</" + std::string(qname) + ">";
}

std::string SoapEnvelope(
    std::initializer_list<std::pair<std::string_view, std::string_view>> namespaces,
    std::string_view header, std::string_view body) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<env:Envelope xmlns:env=\"";
  out += kNsEnv;
  out += "\"";
  for (const auto& [prefix, uri] : namespaces) {
    out += " xmlns:";
    out += prefix;
    out += "=\"";
    out += uri;
    out += "\"";
  }
  out += ">";
  if (!header.empty()) {
    out += "<env:Header>";
    out += header;
    out += "</env:Header>";
  }
  out += "<env:Body>";
  out += body;
  out += "</env:Body></env:Envelope>\n";
  return out;
}

}  // namespace onvif
