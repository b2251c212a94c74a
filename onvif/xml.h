// Private to onvif/: hardened libxml2 parsing shared by soap.cc and
// discovery.cc, element matching by namespace URI + local name, checked
// string values, and the XML escaper every builder uses.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onvif/soap.h"
#include "verifier/status.h"

namespace onvif {

// Namespace URIs.
inline constexpr char kNsEnv[] = "http://www.w3.org/2003/05/soap-envelope";
inline constexpr char kNsTds[] = "http://www.onvif.org/ver10/device/wsdl";
inline constexpr char kNsTt[] = "http://www.onvif.org/ver10/schema";
inline constexpr char kNsTer[] = "http://www.onvif.org/ver10/error";
inline constexpr char kNsWsse[] =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
inline constexpr char kNsWsu[] =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
inline constexpr char kNsWsd[] = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
inline constexpr char kNsWsa[] = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
inline constexpr char kNsDn[] = "http://www.onvif.org/ver10/network/wsdl";

// Elements deeper than this (the root is depth 1) are refused.
inline constexpr int kMaxXmlDepth = 64;

// An element name: namespace URI, local name, and the prefix used in
// messages about it ("tds:Model").
struct Name {
  const char* ns;
  const char* local;
  const char* prefix;
  std::string Display() const { return std::string(prefix) + ":" + local; }
};

verifier::Status BadSoap(std::string message);

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

// Parses untrusted text: at most max_bytes, valid UTF-8, no DOCTYPE or
// ENTITY declaration (SOAP 1.2 forbids them), no entity reference nodes,
// no network, no DTD loading, depth <= kMaxXmlDepth. Errors: BAD_SOAP.
verifier::Result<XmlDocPtr> ParseXml(std::string_view text, size_t max_bytes);

bool Is(const xmlNode* n, const Name& name);
// "prefix:local" as sent plus its namespace, for error messages.
std::string Describe(const xmlNode* n);
std::vector<const xmlNode*> ElementChildren(const xmlNode* parent);
std::vector<const xmlNode*> Children(const xmlNode* parent, const Name& name);
// The only child called `name`: missing or repeated -> BAD_SOAP.
verifier::Result<const xmlNode*> OnlyChild(const xmlNode* parent, const Name& name);
// nullptr when absent; repeated -> BAD_SOAP.
verifier::Result<const xmlNode*> OptionalChild(const xmlNode* parent, const Name& name);

// The text of a leaf element, trimmed of XML whitespace; BAD_SOAP when it has
// element children, is longer than `cap`, or holds control characters
// (C0, DEL, C1) or bidi overrides. `what` names it in messages.
verifier::Result<std::string> Text(const xmlNode* n, std::string_view what,
                                   size_t cap = kMaxValueBytes);
// Like Text, for xs:list values: whitespace runs become one space.
verifier::Result<std::string> ListText(const xmlNode* n, std::string_view what, size_t cap);
// An unqualified attribute, checked like Text; nullopt when absent.
verifier::Result<std::optional<std::string>> Attribute(const xmlNode* n, const char* attr,
                                                       std::string_view what);
// Text for messages only: controls and bidi overrides become '?', cut to cap.
std::string SanitizedText(const xmlNode* n, size_t cap);

// Resolves a QName value ("ter:NotAuthorized") in the scope of `n`: sets
// *ns (empty when the prefix is not declared) and *local.
void ResolveQName(const xmlNode* n, std::string_view qname, std::string* ns, std::string* local);

// The SOAP 1.2 envelope: root env:Envelope with an optional env:Header
// followed by env:Body and nothing else.
struct Envelope {
  const xmlNode* header = nullptr;  // may be null
  const xmlNode* body = nullptr;
};
verifier::Result<Envelope> OpenEnvelope(const xmlDoc* doc);
// The one element child of env:Body.
verifier::Result<const xmlNode*> BodyPayload(const Envelope& env);

// Escapes text or attribute values (&, <, >, ", ', CR); bytes XML 1.0 cannot
// carry (invalid UTF-8, C0 controls other than tab/LF/CR) become U+FFFD.
std::string XmlEscape(std::string_view s);

// <qname>escaped text</qname>
std::string Element(std::string_view qname, std::string_view text);
// A SOAP 1.2 envelope declaring env and each (prefix, namespace URI) of
// `namespaces`; the Header only when `header` is not empty.
std::string SoapEnvelope(
    std::initializer_list<std::pair<std::string_view, std::string_view>> namespaces,
    std::string_view header, std::string_view body);

}  // namespace onvif
