#include "onvif/discovery.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace onvif {
namespace {

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(PROV_ONVIF_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename T>
void ExpectBadSoap(const verifier::Result<T>& r, const std::string& needle) {
  ASSERT_FALSE(r.ok()) << "expected BAD_SOAP containing \"" << needle << "\"";
  EXPECT_EQ(r.status().reason(), "BAD_SOAP") << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().ToString();
}

constexpr char kSampleProbeId[] = "urn:uuid:01234567-dead-beef-baad-abcdeffedcba";

TEST(DiscoveryTest, NewMessageIdIsRandomUuidV4) {
  const std::regex v4(
      "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewMessageId();
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(DiscoveryTest, ProbeRoundTrips) {
  const std::string id = NewMessageId();
  const std::string probe = BuildProbe(id);
  EXPECT_NE(probe.find("<wsd:Types>dn:NetworkVideoTransmitter</wsd:Types>"), std::string::npos);
  EXPECT_NE(probe.find("urn:schemas-xmlsoap-org:ws:2005:04:discovery"), std::string::npos);
  const auto parsed = ParseProbe(probe);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, id);
}

// The Probe the npm `onvif` package multicasts (default namespaces).
TEST(DiscoveryTest, ParsesNpmOnvifProbe) {
  const auto parsed = ParseProbe(Testdata("probe.xml"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, kSampleProbeId);
}

TEST(DiscoveryTest, ProbeMatchesRoundTrip) {
  const std::string probe_id = NewMessageId();
  ProbeMatch m;
  m.endpoint = "urn:uuid:c9790c3a-701b-464d-a189-accc8e99c915";
  m.types = "dn:NetworkVideoTransmitter tds:Device";
  m.scopes = "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/name/Cam&1";
  m.xaddrs = "http://192.0.2.7/onvif/device_service";
  m.metadata_version = 4294967295u;
  const std::string xml = BuildProbeMatches(probe_id, m);
  const auto back = ParseProbeMatches(xml, probe_id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].endpoint, m.endpoint);
  EXPECT_EQ((*back)[0].types, m.types);
  EXPECT_EQ((*back)[0].scopes, m.scopes);
  EXPECT_EQ((*back)[0].xaddrs, m.xaddrs);
  EXPECT_EQ((*back)[0].metadata_version, m.metadata_version);
  // Answers to someone else's probe are not ours, and not an error.
  const auto other = ParseProbeMatches(xml, NewMessageId());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_TRUE(other->empty());
  // A ProbeMatches is not a Probe.
  ExpectBadSoap(ParseProbe(xml), "wsa:Action");
  ExpectBadSoap(ParseProbeMatches(BuildProbe(probe_id), probe_id), "wsa:Action");
}

TEST(DiscoveryTest, ParsesCameraProbeMatches) {
  const auto back = ParseProbeMatches(Testdata("probe_matches.xml"), kSampleProbeId);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 1u);
  const ProbeMatch& m = (*back)[0];
  EXPECT_EQ(m.endpoint, "urn:uuid:c9790c3a-701b-464d-a189-accc8e99c915");
  EXPECT_EQ(m.types, "dn:NetworkVideoTransmitter tds:Device");
  // The line break inside the list is collapsed to one space.
  EXPECT_EQ(m.scopes,
            "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/type/video_encoder "
            "onvif://www.onvif.org/hardware/P3245-LVE onvif://www.onvif.org/name/AXIS%20P3245-LVE "
            "onvif://www.onvif.org/location/");
  EXPECT_EQ(m.xaddrs,
            "http://192.168.1.90/onvif/device_service "
            "http://[fe80::accc:8eff:fe99:c915]/onvif/device_service");
  EXPECT_EQ(m.metadata_version, 1u);
}

TEST(DiscoveryHostileTest, RefusesDoctypeOversizedAndMalformed) {
  const std::string sample = Testdata("probe_matches.xml");
  ExpectBadSoap(
      ParseProbeMatches("<!DOCTYPE x [<!ENTITY a \"b\">]>" + sample.substr(39), kSampleProbeId),
      "DOCTYPE");
  std::string big = sample;
  big.insert(big.find("<SOAP-ENV:Body>"), "<!--" + std::string(kMaxDiscoveryBytes, ' ') + "-->");
  ExpectBadSoap(ParseProbeMatches(big, kSampleProbeId), "limit is 16384");
  ExpectBadSoap(ParseProbeMatches(sample.substr(0, 900), kSampleProbeId), "not well-formed");
  ExpectBadSoap(ParseProbe(std::string("\xff\xfe<\0E\0", 6)), "not UTF-8");
}

TEST(DiscoveryHostileTest, RefusesMissingAndBadFields) {
  const std::string sample = Testdata("probe_matches.xml");
  std::string s = sample;
  s.replace(s.find("<wsdd:MetadataVersion>1</wsdd:MetadataVersion>"), 47, "");
  ExpectBadSoap(ParseProbeMatches(s, kSampleProbeId), "missing wsd:MetadataVersion");
  s = sample;
  s.replace(s.find("<wsdd:MetadataVersion>1<"), 24, "<wsdd:MetadataVersion>-1<");
  ExpectBadSoap(ParseProbeMatches(s, kSampleProbeId), "xs:unsignedInt");
  s = sample;
  s.replace(s.find("<wsdd:MetadataVersion>1<"), 24, "<wsdd:MetadataVersion>4294967296<");
  ExpectBadSoap(ParseProbeMatches(s, kSampleProbeId), "xs:unsignedInt");
  s = sample;
  s.replace(s.find("<wsdd:XAddrs>"), 13, "<wsdd:XAddrs>\xc2\x9b");
  ExpectBadSoap(ParseProbeMatches(s, kSampleProbeId), "U+009B");
  s = sample;
  s.replace(s.find("<wsdd:XAddrs>"), 13, "<wsdd:XAddrs>" + std::string(kMaxListBytes, 'x'));
  ExpectBadSoap(ParseProbeMatches(s, kSampleProbeId), "wsd:XAddrs is");
  // The discovery namespace of WS-Discovery 1.1 is not the 2005/04 one.
  s = sample;
  s.replace(s.find("http://schemas.xmlsoap.org/ws/2005/04/discovery\""), 48,
            "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01\"");
  ExpectBadSoap(ParseProbeMatches(s, kSampleProbeId), "expected wsd:ProbeMatches");
  // Too many matches.
  s = sample;
  const size_t begin = s.find("<wsdd:ProbeMatch>");
  const size_t end = s.find("</wsdd:ProbeMatch>") + 18;
  const std::string one = s.substr(begin, end - begin);
  for (size_t i = 0; i < kMaxProbeMatches; ++i) s.insert(begin, one);
  ExpectBadSoap(ParseProbeMatches(s, kSampleProbeId), "the limit is 16");
  // A Probe without a MessageID.
  std::string probe = Testdata("probe.xml");
  const size_t id_begin = probe.find("<wsa:MessageID");
  probe.erase(id_begin, probe.find("</wsa:MessageID>") + 16 - id_begin);
  ExpectBadSoap(ParseProbe(probe), "missing wsa:MessageID");
}

}  // namespace
}  // namespace onvif
