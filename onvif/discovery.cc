#include "onvif/discovery.h"

#include <openssl/rand.h>

#include <charconv>
#include <cstdlib>

#include "onvif/xml.h"

namespace onvif {
namespace {

constexpr char kProbeAction[] = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe";
constexpr char kProbeMatchesAction[] =
    "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches";
constexpr char kDiscoveryTo[] = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
constexpr char kAnonymous[] = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

constexpr Name kMessageId{kNsWsa, "MessageID", "wsa"};
constexpr Name kRelatesTo{kNsWsa, "RelatesTo", "wsa"};
constexpr Name kAction{kNsWsa, "Action", "wsa"};
constexpr Name kEndpointReference{kNsWsa, "EndpointReference", "wsa"};
constexpr Name kAddress{kNsWsa, "Address", "wsa"};
constexpr Name kProbe{kNsWsd, "Probe", "wsd"};
constexpr Name kProbeMatches{kNsWsd, "ProbeMatches", "wsd"};
constexpr Name kProbeMatch{kNsWsd, "ProbeMatch", "wsd"};
constexpr Name kTypes{kNsWsd, "Types", "wsd"};
constexpr Name kScopes{kNsWsd, "Scopes", "wsd"};
constexpr Name kXAddrs{kNsWsd, "XAddrs", "wsd"};
constexpr Name kMetadataVersion{kNsWsd, "MetadataVersion", "wsd"};

// Every discovery message declares the same prefixes.
std::string WrapEnvelope(std::string_view header, std::string_view body) {
  return SoapEnvelope({{"wsa", kNsWsa}, {"wsd", kNsWsd}, {"dn", kNsDn}, {"tds", kNsTds}}, header,
                      body);
}

// Opens a discovery envelope and checks its wsa:Action.
verifier::Result<Envelope> OpenDiscovery(const xmlDoc* doc, const char* action) {
  PROV_ASSIGN_OR_RETURN(Envelope env, OpenEnvelope(doc));
  if (!env.header) return BadSoap("no env:Header (WS-Discovery needs wsa:Action)");
  PROV_ASSIGN_OR_RETURN(const xmlNode* action_node, OnlyChild(env.header, kAction));
  PROV_ASSIGN_OR_RETURN(std::string got, Text(action_node, "wsa:Action"));
  if (got != action) return BadSoap("wsa:Action is \"" + got + "\"; expected " + action);
  return env;
}

verifier::Result<uint32_t> ParseUint32(const xmlNode* n, std::string_view what) {
  PROV_ASSIGN_OR_RETURN(std::string s, Text(n, what));
  uint32_t out = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return BadSoap(std::string(what) + " is not an xs:unsignedInt");
  }
  return out;
}

verifier::Result<ProbeMatch> ParseMatch(const xmlNode* m) {
  ProbeMatch match;
  PROV_ASSIGN_OR_RETURN(const xmlNode* epr, OnlyChild(m, kEndpointReference));
  PROV_ASSIGN_OR_RETURN(const xmlNode* address, OnlyChild(epr, kAddress));
  PROV_ASSIGN_OR_RETURN(match.endpoint, Text(address, "wsa:Address"));
  if (match.endpoint.empty()) return BadSoap("empty wsa:Address in wsd:ProbeMatch");
  const std::pair<const Name*, std::string*> lists[] = {
      {&kTypes, &match.types}, {&kScopes, &match.scopes}, {&kXAddrs, &match.xaddrs}};
  for (const auto& [name, out] : lists) {
    PROV_ASSIGN_OR_RETURN(const xmlNode* n, OptionalChild(m, *name));
    if (n) {
      PROV_ASSIGN_OR_RETURN(*out, ListText(n, name->Display(), kMaxListBytes));
    }
  }
  PROV_ASSIGN_OR_RETURN(const xmlNode* mv, OnlyChild(m, kMetadataVersion));
  PROV_ASSIGN_OR_RETURN(match.metadata_version, ParseUint32(mv, "wsd:MetadataVersion"));
  return match;
}

}  // namespace

std::string NewMessageId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) std::abort();
  b[6] = (b[6] & 0x0F) | 0x40;  // version 4
  b[8] = (b[8] & 0x3F) | 0x80;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "urn:uuid:";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

std::string BuildProbe(std::string_view message_id) {
  std::string header = Element("wsa:MessageID", message_id);
  header += Element("wsa:To", kDiscoveryTo);
  header += Element("wsa:Action", kProbeAction);
  return WrapEnvelope(header,
                      "<wsd:Probe><wsd:Types>dn:NetworkVideoTransmitter</wsd:Types>"
                      "<wsd:Scopes/></wsd:Probe>");
}

verifier::Result<std::string> ParseProbe(std::string_view datagram) {
  PROV_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(datagram, kMaxDiscoveryBytes));
  PROV_ASSIGN_OR_RETURN(Envelope env, OpenDiscovery(doc.get(), kProbeAction));
  PROV_ASSIGN_OR_RETURN(const xmlNode* id_node, OnlyChild(env.header, kMessageId));
  PROV_ASSIGN_OR_RETURN(std::string id, Text(id_node, "wsa:MessageID"));
  if (id.empty()) return BadSoap("empty wsa:MessageID");
  PROV_ASSIGN_OR_RETURN(const xmlNode* payload, BodyPayload(env));
  if (!Is(payload, kProbe)) {
    return BadSoap("expected wsd:Probe (namespace " + std::string(kNsWsd) + ") in env:Body, got " +
                   Describe(payload));
  }
  return id;
}

std::string BuildProbeMatches(std::string_view relates_to, const ProbeMatch& match) {
  std::string header = Element("wsa:MessageID", NewMessageId());
  header += Element("wsa:RelatesTo", relates_to);
  header += Element("wsa:To", kAnonymous);
  header += Element("wsa:Action", kProbeMatchesAction);
  std::string body = "<wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference>";
  body += Element("wsa:Address", match.endpoint);
  body += "</wsa:EndpointReference>";
  body += Element("wsd:Types", match.types);
  body += Element("wsd:Scopes", match.scopes);
  body += Element("wsd:XAddrs", match.xaddrs);
  body += Element("wsd:MetadataVersion", std::to_string(match.metadata_version));
  body += "</wsd:ProbeMatch></wsd:ProbeMatches>";
  return WrapEnvelope(header, body);
}

verifier::Result<std::vector<ProbeMatch>> ParseProbeMatches(std::string_view datagram,
                                                            std::string_view relates_to) {
  PROV_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(datagram, kMaxDiscoveryBytes));
  PROV_ASSIGN_OR_RETURN(Envelope env, OpenDiscovery(doc.get(), kProbeMatchesAction));
  PROV_ASSIGN_OR_RETURN(const xmlNode* relates_node, OptionalChild(env.header, kRelatesTo));
  if (!relates_node) return std::vector<ProbeMatch>();
  PROV_ASSIGN_OR_RETURN(std::string relates, Text(relates_node, "wsa:RelatesTo"));
  if (relates != relates_to) return std::vector<ProbeMatch>();
  PROV_ASSIGN_OR_RETURN(const xmlNode* payload, BodyPayload(env));
  if (!Is(payload, kProbeMatches)) {
    return BadSoap("expected wsd:ProbeMatches (namespace " + std::string(kNsWsd) +
                   ") in env:Body, got " + Describe(payload));
  }
  const auto nodes = Children(payload, kProbeMatch);
  if (nodes.size() > kMaxProbeMatches) {
    return BadSoap(std::to_string(nodes.size()) + " wsd:ProbeMatch; the limit is " +
                   std::to_string(kMaxProbeMatches));
  }
  std::vector<ProbeMatch> matches;
  for (const xmlNode* m : nodes) {
    PROV_ASSIGN_OR_RETURN(ProbeMatch match, ParseMatch(m));
    matches.push_back(std::move(match));
  }
  return matches;
}

}  // namespace onvif
