// client/discover.h: scope decoding, XAddr parsing, and Discover() against
// in-process UDP responders on loopback ports (unicast --target): answers
// collected and deduped, the Probe sent twice, garbage, foreign and oversized
// datagrams ignored and counted, bad options refused.
#include "client/discover.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "onvif/discovery.h"
#include "tests/client/udp_responder.h"

namespace client {
namespace {

using testudp::UdpResponder;

constexpr char kHw[] = "onvif://www.onvif.org/hardware/";
constexpr char kName[] = "onvif://www.onvif.org/name/";

onvif::ProbeMatch Match(const std::string& endpoint, const std::string& xaddrs,
                        const std::string& scopes) {
  onvif::ProbeMatch m;
  m.endpoint = endpoint;
  m.types = "dn:NetworkVideoTransmitter tds:Device";
  m.scopes = scopes;
  m.xaddrs = xaddrs;
  return m;
}

// Answers each Probe with these ProbeMatches (one datagram each).
UdpResponder::Answer Camera(std::vector<onvif::ProbeMatch> matches) {
  return [matches](std::string_view datagram) {
    std::vector<std::string> out;
    auto id = onvif::ParseProbe(datagram);
    if (!id.ok()) return out;
    for (const auto& m : matches) out.push_back(onvif::BuildProbeMatches(*id, m));
    return out;
  };
}

DiscoverOptions Unicast(const UdpResponder& r, int wait_ms = 400) {
  DiscoverOptions o;
  o.target = r.target();
  o.wait = std::chrono::milliseconds(wait_ms);
  return o;
}

// --- scopes ---------------------------------------------------------------------

TEST(DiscoverScopeTest, PercentDecodes) {
  EXPECT_EQ(DecodeScopeValue("Acme%20X1"), "Acme X1");
  EXPECT_EQ(DecodeScopeValue("%41%62c"), "Abc");
  EXPECT_EQ(DecodeScopeValue("caf%C3%a9"), "caf\xC3\xA9");  // either hex case
  EXPECT_EQ(DecodeScopeValue("%E2%82%AC 5"), "\xE2\x82\xAC 5");
  EXPECT_EQ(DecodeScopeValue("plain"), "plain");
  EXPECT_EQ(DecodeScopeValue(""), "");
}

TEST(DiscoverScopeTest, MalformedEscapesStayAsTheyAre) {
  EXPECT_EQ(DecodeScopeValue("100%"), "100%");
  EXPECT_EQ(DecodeScopeValue("100%2"), "100%2");
  EXPECT_EQ(DecodeScopeValue("%zz%2"), "%zz%2");
  EXPECT_EQ(DecodeScopeValue("%%41"), "%A");
  EXPECT_EQ(DecodeScopeValue("%2541"), "%41");  // decoded once only
}

TEST(DiscoverScopeTest, UnprintableDecodedBytesBecomeQuestionMarks) {
  EXPECT_EQ(DecodeScopeValue("%1B[31mEvil"), "?[31mEvil");  // ESC: terminal escapes
  EXPECT_EQ(DecodeScopeValue("a%00b%0Ac%0Dd%09e%7F"), "a?b?c?d?e?");
  EXPECT_EQ(DecodeScopeValue("%C2%85%C2%9B"), "??");              // C1: NEL, CSI
  EXPECT_EQ(DecodeScopeValue("x%E2%80%AEgpj.exe"), "x?gpj.exe");  // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(DecodeScopeValue("%E2%81%A6%E2%81%A9"), "??");        // isolates
  EXPECT_EQ(DecodeScopeValue("%FF%FE"), "??");                    // not UTF-8
  EXPECT_EQ(DecodeScopeValue("%C0%AF"), "??");                    // overlong '/'
  EXPECT_EQ(DecodeScopeValue("%ED%A0%80"), "???");                // a surrogate
  EXPECT_EQ(DecodeScopeValue("%F4%90%80%80"), "????");            // above U+10FFFF
  EXPECT_EQ(DecodeScopeValue("%E2%82"), "??");                    // truncated
  EXPECT_EQ(DecodeScopeValue("\x1B"), "?");                       // raw, too
}

TEST(DiscoverScopeTest, ScopeValueTakesTheFirstMatchingScope) {
  const std::string scopes = std::string("onvif://www.onvif.org/type/video_encoder ") + kHw +
                             "Acme%20X1 " + kName + "Front%20door " + kName + "Second";
  EXPECT_EQ(ScopeValue(scopes, kHw), "Acme X1");
  EXPECT_EQ(ScopeValue(scopes, kName), "Front door");
  EXPECT_EQ(ScopeValue(scopes, "onvif://www.onvif.org/location/"), "");
  EXPECT_EQ(ScopeValue("", kHw), "");
  EXPECT_EQ(ScopeValue("ONVIF://WWW.ONVIF.ORG/hardware/DS-2CD", kHw), "DS-2CD");
  EXPECT_EQ(ScopeValue(std::string(kHw), kHw), "");  // empty value
  EXPECT_EQ(ScopeValue("onvif://www.onvif.org/hardwareX", kHw), "");
}

TEST(DiscoverScopeTest, CameraFromMatchDecodesHardwareAndName) {
  const auto c = CameraFromMatch(Match("urn:uuid:1", "http://10.0.0.7/onvif/device_service",
                                       std::string(kName) + "Acme%20Cameras " + kHw + "X%2F1"),
                                 "10.0.0.7");
  EXPECT_EQ(c.endpoint, "urn:uuid:1");
  EXPECT_EQ(c.address, "10.0.0.7");
  EXPECT_EQ(c.xaddrs, "http://10.0.0.7/onvif/device_service");
  EXPECT_EQ(c.types, "dn:NetworkVideoTransmitter tds:Device");
  EXPECT_EQ(c.hardware, "X/1");
  EXPECT_EQ(c.name, "Acme Cameras");
}

TEST(DiscoverScopeTest, XAddrHostPort) {
  EXPECT_EQ(XAddrHostPort("https://127.0.0.1:4443/onvif/device_service"), "127.0.0.1:4443");
  EXPECT_EQ(XAddrHostPort("http://10.0.0.7/onvif/device_service"), "10.0.0.7:80");
  EXPECT_EQ(XAddrHostPort("HTTPS://cam.example"), "cam.example:443");
  EXPECT_EQ(XAddrHostPort("http://[fe80::1]/x"), "[fe80::1]:80");
  EXPECT_EQ(XAddrHostPort("http://[fe80::1]:8080/x"), "[fe80::1]:8080");
  EXPECT_EQ(XAddrHostPort("http://user:pw@10.0.0.7:81/x"), "10.0.0.7:81");
  EXPECT_EQ(XAddrHostPort("http://10.0.0.7?x"), "10.0.0.7:80");
  EXPECT_EQ(XAddrHostPort("http:///x"), "");
  EXPECT_EQ(XAddrHostPort("ftp://10.0.0.7/"), "");
  EXPECT_EQ(XAddrHostPort(""), "");
}

// --- Discover over loopback ----------------------------------------------------

TEST(DiscoverTest, CollectsAnswersFromATargetAndSendsTheProbeTwice) {
  UdpResponder cam(
      false, Camera({Match("urn:uuid:a", "https://127.0.0.1:1001/onvif/device_service",
                           std::string(kHw) + "Acme%20X1 " + kName + "Acme"),
                     Match("urn:uuid:b", "https://127.0.0.1:1002/onvif/device_service", "")}));
  ASSERT_TRUE(cam.ok());
  size_t ignored = 99;
  auto found = Discover(Unicast(cam), &ignored);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  // Both Probes answered with both matches: each endpoint once, in order.
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].endpoint, "urn:uuid:a");
  EXPECT_EQ((*found)[0].address, "127.0.0.1");
  EXPECT_EQ((*found)[0].xaddrs, "https://127.0.0.1:1001/onvif/device_service");
  EXPECT_EQ((*found)[0].hardware, "Acme X1");
  EXPECT_EQ((*found)[0].name, "Acme");
  EXPECT_EQ((*found)[1].endpoint, "urn:uuid:b");
  EXPECT_EQ((*found)[1].hardware, "");
  EXPECT_EQ(ignored, 0u);
  EXPECT_EQ(cam.received(), 2);
}

TEST(DiscoverTest, OneEndpointAtAnotherAddressIsListedAgain) {
  // A clone answers with the genuine camera's endpoint: both are shown.
  UdpResponder cam(false, Camera({Match("urn:uuid:a", "http://127.0.0.1:1001/", ""),
                                  Match("urn:uuid:a", "http://127.0.0.1:1001/", ""),
                                  Match("urn:uuid:a", "http://127.0.0.1:2002/", "")}));
  ASSERT_TRUE(cam.ok());
  auto found = Discover(Unicast(cam, 300));
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].xaddrs, "http://127.0.0.1:1001/");
  EXPECT_EQ((*found)[1].xaddrs, "http://127.0.0.1:2002/");
}

TEST(DiscoverTest, WaitsTheWholeTimeAndFindsNothingInSilence) {
  UdpResponder silent(false, [](std::string_view) { return std::vector<std::string>{}; });
  ASSERT_TRUE(silent.ok());
  const auto start = std::chrono::steady_clock::now();
  size_t ignored = 99;
  auto found = Discover(Unicast(silent, 300), &ignored);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(found->empty());
  EXPECT_EQ(ignored, 0u);
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  EXPECT_EQ(silent.received(), 2);
}

TEST(DiscoverTest, IgnoresGarbageForeignAndOversizedDatagrams) {
  UdpResponder hostile(false, [](std::string_view datagram) {
    std::vector<std::string> out;
    auto id = onvif::ParseProbe(datagram);
    if (!id.ok()) return out;
    const auto good = Match("urn:uuid:good", "https://127.0.0.1:1003/onvif/device_service", "");
    out.push_back(std::string("\x00\xff junk", 7));
    out.push_back("<not xml");
    out.push_back(onvif::BuildProbeMatches("urn:uuid:someone-else", good));  // foreign RelatesTo
    // Our RelatesTo, padded past kMaxDiscoveryBytes: refused whole, not cut.
    std::string big = onvif::BuildProbeMatches(*id, Match("urn:uuid:big", "http://x/", ""));
    big.insert(big.find("<env:Body>"), onvif::kMaxDiscoveryBytes, ' ');
    out.push_back(big);
    out.push_back(std::string(20000, 'A'));
    out.push_back("");
    out.push_back(onvif::BuildProbeMatches(*id, good));
    return out;
  });
  ASSERT_TRUE(hostile.ok());
  size_t ignored = 0;
  auto found = Discover(Unicast(hostile), &ignored);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].endpoint, "urn:uuid:good");
  EXPECT_EQ(ignored, 2u * 6);  // six bad datagrams per Probe
}

TEST(DiscoverTest, StopsAtMaxDevices) {
  std::vector<onvif::ProbeMatch> many;
  for (int i = 0; i < 10; ++i) {
    many.push_back(Match("urn:uuid:" + std::to_string(i),
                         "http://127.0.0.1:" + std::to_string(2000 + i) + "/", ""));
  }
  UdpResponder cam(false, Camera(many));
  ASSERT_TRUE(cam.ok());
  DiscoverOptions o = Unicast(cam, 5000);
  o.max_devices = 3;
  const auto start = std::chrono::steady_clock::now();
  auto found = Discover(o);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[2].endpoint, "urn:uuid:2");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));  // did not wait
}

TEST(DiscoverTest, RefusesBadOptions) {
  DiscoverOptions o;
  o.wait = std::chrono::milliseconds(10);
  o.interface_address = "eth0";
  auto r = Discover(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), verifier::Code::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "BAD_INTERFACE");

  o.interface_address = "192.0.2.1";  // TEST-NET-1: no interface of ours
  r = Discover(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "BAD_INTERFACE") << r.status().ToString();

  o.interface_address = "";
  for (const char* target : {"[::1]:3702", "::1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x",
                             ":3702", "127.0.0.1:"}) {
    o.target = target;
    r = Discover(o);
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.status().reason(), "BAD_TARGET") << target << ": " << r.status().ToString();
    EXPECT_EQ(r.status().code(), verifier::Code::kInvalidArgument) << target;
  }
}

TEST(DiscoverTest, ProbesTheTargetFromTheInterfaceAddress) {
  UdpResponder cam(false, Camera({Match("urn:uuid:a", "http://127.0.0.1/", "")}));
  ASSERT_TRUE(cam.ok());
  DiscoverOptions o = Unicast(cam, 300);
  o.interface_address = "127.0.0.1";
  auto found = Discover(o);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->size(), 1u);
}

}  // namespace
}  // namespace client
