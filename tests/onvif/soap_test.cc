#include "onvif/soap.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

namespace onvif {
namespace {

using verifier::Code;

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(PROV_ONVIF_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A SOAP 1.2 envelope around `body`, with the usual prefixes declared.
std::string Wrap(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\""
         " xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\""
         " xmlns:tt=\"http://www.onvif.org/ver10/schema\""
         " xmlns:ter=\"http://www.onvif.org/ver10/error\"><env:Body>" +
         body + "</env:Body></env:Envelope>";
}

std::string DeviceInfoBody(const std::string& manufacturer) {
  return "<tds:GetDeviceInformationResponse><tds:Manufacturer>" + manufacturer +
         "</tds:Manufacturer><tds:Model>M</tds:Model><tds:FirmwareVersion>1</tds:FirmwareVersion>"
         "<tds:SerialNumber>S</tds:SerialNumber><tds:HardwareId>H</tds:HardwareId>"
         "</tds:GetDeviceInformationResponse>";
}

template <typename T>
void ExpectBadSoap(const verifier::Result<T>& r, const std::string& needle) {
  ASSERT_FALSE(r.ok()) << "expected BAD_SOAP containing \"" << needle << "\"";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(r.status().reason(), "BAD_SOAP") << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().ToString();
}

// --- PasswordDigest against vectors published by others -------------------

// ONVIF Application Programmer's Guide (WG-APG, section "Authentication"):
// Nonce LKqI6G/AikKCQrN0zqZFlg==, Date 2010-09-16T07:50:45Z, Password
// userpassword -> tuOSpGlFlIXsozq4HFNeeGeFLEI=.
constexpr char kApgNonce[] = "\x2c\xaa\x88\xe8\x6f\xc0\x8a\x42\x82\x42\xb3\x74\xce\xa6\x45\x96";

TEST(PasswordDigestTest, MatchesOnvifProgrammersGuideVector) {
  EXPECT_EQ(PasswordDigest(std::string_view(kApgNonce, 16), "2010-09-16T07:50:45Z", "userpassword"),
            "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
}

// The npm `onvif` package's test/utils passwordDigest vector (fractional
// seconds in Created): 2FW1CIo2ZUOJmSjVRcJZlQ==, 2019-02-12T12:34:12.110Z,
// vM3s1hKVMy6zBOn -> wM9xjA92wCw+QcQI1urjZ6B8+LQ=.
TEST(PasswordDigestTest, MatchesNpmOnvifVector) {
  const std::string nonce("\xd8\x55\xb5\x08\x8a\x36\x65\x43\x89\x99\x28\xd5\x45\xc2\x59\x95", 16);
  EXPECT_EQ(PasswordDigest(nonce, "2019-02-12T12:34:12.110Z", "vM3s1hKVMy6zBOn"),
            "wM9xjA92wCw+QcQI1urjZ6B8+LQ=");
}

TEST(PasswordDigestTest, MakeUsernameTokenUsesDeviceClockAndFreshNonces) {
  const UsernameToken a = MakeUsernameToken("admin", "pw", 1795974326);
  const UsernameToken b = MakeUsernameToken("admin", "pw", 1795974326);
  EXPECT_EQ(a.username, "admin");
  EXPECT_EQ(a.created, "2026-11-29T17:45:26Z");
  EXPECT_EQ(a.nonce.size(), 16u);
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_EQ(a.password_digest, PasswordDigest(a.nonce, a.created, "pw"));
}

// --- xs:dateTime -----------------------------------------------------------

TEST(DateTimeTest, FormatsUtc) {
  EXPECT_EQ(FormatDateTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatDateTime(1795974326), "2026-11-29T17:45:26Z");
  EXPECT_EQ(FormatDateTime(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatDateTime(253402300799), "9999-12-31T23:59:59Z");
}

TEST(DateTimeTest, ParsesZuluFractionsAndOffsets) {
  EXPECT_EQ(*ParseDateTime("2026-11-29T17:45:26Z"), 1795974326);
  EXPECT_EQ(*ParseDateTime("2019-02-12T12:34:12.110Z"), 1549974852);
  EXPECT_EQ(*ParseDateTime("2026-11-29T17:45:26.999999999Z"), 1795974326);
  EXPECT_EQ(*ParseDateTime("2026-11-29T17:45:26+00:00"), 1795974326);
  EXPECT_EQ(*ParseDateTime("2026-11-29T23:15:26+05:30"), 1795974326);
  EXPECT_EQ(*ParseDateTime("2026-11-29T09:45:26-08:00"), 1795974326);
  EXPECT_EQ(*ParseDateTime("2000-02-29T00:00:00Z"), 951782400);
}

TEST(DateTimeTest, RefusesAmbiguousOrInvalid) {
  for (const char* bad :
       {"", "2026-11-29T17:45:26", "2026-11-29 17:45:26Z", "2026-13-01T00:00:00Z",
        "2027-02-29T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T17:60:00Z",
        "2026-11-29T17:45:60Z", "1969-12-31T23:59:59Z", "2026-11-29T17:45:26.Z",
        "2026-11-29T17:45:26Zjunk", "2026-11-29T17:45:26+15:00", "2026-11-29T17:45:26+0100",
        "+2026-11-29T17:45:26Z", "20261129T174526Z"}) {
    const auto r = ParseDateTime(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().reason(), "BAD_TIME") << bad;
  }
}

TEST(DateTimeTest, FormatThenParseRoundTripsRandomTimes) {
  const uint32_t seed = std::random_device{}();
  std::printf("DateTimeTest seed %u\n", seed);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(0, 253402300799);
  for (int i = 0; i < 10000; ++i) {
    const int64_t t = dist(rng);
    const auto back = ParseDateTime(FormatDateTime(t));
    ASSERT_TRUE(back.ok()) << t << " seed " << seed;
    ASSERT_EQ(*back, t) << FormatDateTime(t) << " seed " << seed;
  }
}

// --- Client requests -> our server parser ----------------------------------

TEST(RequestTest, WithoutTokenHasNoSecurityHeader) {
  for (Operation op : {Operation::kGetSystemDateAndTime, Operation::kGetDeviceInformation,
                       Operation::kGetNetworkInterfaces}) {
    const std::string xml = BuildRequest(op, nullptr);
    EXPECT_EQ(xml.find("Security"), std::string::npos);
    EXPECT_NE(xml.find("<tds:" + std::string(OperationName(op)) + "/>"), std::string::npos);
    const auto req = ParseRequest(xml);
    ASSERT_TRUE(req.ok()) << req.status().ToString();
    EXPECT_EQ(req->op, op);
    EXPECT_FALSE(req->token.has_value());
  }
  EXPECT_EQ(SoapAction(Operation::kGetDeviceInformation),
            "http://www.onvif.org/ver10/device/wsdl/GetDeviceInformation");
}

TEST(RequestTest, TokenRoundTripsAndVerifies) {
  const int64_t camera_now = 1795974326;
  const UsernameToken token = MakeUsernameToken("ad<m&i\"n'", "s3cret", camera_now);
  const std::string xml = BuildRequest(Operation::kGetNetworkInterfaces, &token);
  const auto req = ParseRequest(xml);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->op, Operation::kGetNetworkInterfaces);
  ASSERT_TRUE(req->token.has_value());
  EXPECT_EQ(req->token->username, token.username);
  EXPECT_EQ(req->token->nonce, token.nonce);
  EXPECT_EQ(req->token->created, token.created);
  EXPECT_EQ(req->token->password_digest, token.password_digest);

  EXPECT_TRUE(CheckUsernameToken(*req->token, "ad<m&i\"n'", "s3cret", camera_now + 30, 300).ok());
  const auto wrong_pw = CheckUsernameToken(*req->token, "ad<m&i\"n'", "s3cret!", camera_now, 300);
  EXPECT_EQ(wrong_pw.code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong_pw.reason(), "BAD_CREDENTIALS");
  const auto wrong_user = CheckUsernameToken(*req->token, "admin", "s3cret", camera_now, 300);
  EXPECT_EQ(wrong_user.reason(), "BAD_CREDENTIALS");
  EXPECT_EQ(wrong_user.message(), wrong_pw.message());  // does not say which
  const auto stale = CheckUsernameToken(*req->token, "ad<m&i\"n'", "s3cret", camera_now + 301, 300);
  EXPECT_EQ(stale.code(), Code::kUnauthenticated);
  EXPECT_EQ(stale.reason(), "STALE_TOKEN");
  EXPECT_EQ(CheckUsernameToken(*req->token, "ad<m&i\"n'", "s3cret", camera_now - 301, 300).reason(),
            "STALE_TOKEN");
}

// A request in the npm `onvif` / ONVIF Device Manager style (default
// namespaces, Created in its own xmlns) carrying the Programmer's Guide token.
TEST(RequestTest, ParsesDefaultNamespaceClientAndItsPublishedDigest) {
  const auto req = ParseRequest(Testdata("request_default_ns.xml"));
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->op, Operation::kGetDeviceInformation);
  ASSERT_TRUE(req->token.has_value());
  EXPECT_EQ(req->token->nonce, std::string(kApgNonce, 16));
  EXPECT_TRUE(CheckUsernameToken(*req->token, "admin", "userpassword", 1284623445, 5).ok());
  EXPECT_EQ(CheckUsernameToken(*req->token, "admin", "userpassword2", 1284623445, 5).reason(),
            "BAD_CREDENTIALS");
}

TEST(RequestTest, UnknownOperationIsUnimplemented) {
  auto r = ParseRequest(Wrap("<tds:SystemReboot/>"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  EXPECT_EQ(r.status().reason(), "UNKNOWN_OPERATION");
  // The right local name in another namespace is another operation.
  r = ParseRequest(
      Wrap("<GetDeviceInformation xmlns=\"http://www.onvif.org/ver20/device/wsdl\"/>"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "UNKNOWN_OPERATION");
}

TEST(RequestTest, RefusesCleartextAndMalformedTokens) {
  std::string xml = Testdata("request_default_ns.xml");
  const std::string digest_type = "#PasswordDigest";
  std::string text = xml;
  text.replace(text.find(digest_type), digest_type.size(), "#PasswordText");
  auto r = ParseRequest(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(r.status().reason(), "BAD_CREDENTIALS");

  std::string bad_nonce = xml;
  bad_nonce.replace(bad_nonce.find("LKqI6G"), 6, "LK*I6G");
  ExpectBadSoap(ParseRequest(bad_nonce), "wsse:Nonce");

  std::string bad_created = xml;
  bad_created.replace(bad_created.find("2010-09-16T07:50:45Z"), 20, "2010-09-16T07:50:45");
  ExpectBadSoap(ParseRequest(bad_created), "wsu:Created");

  std::string no_user = xml;
  no_user.replace(no_user.find("<Username>admin</Username>"), 26, "");
  ExpectBadSoap(ParseRequest(no_user), "missing wsse:Username");
}

// --- Our responses -> the client parsers --------------------------------------

TEST(ResponseTest, SystemDateAndTimeRoundTrips) {
  for (int64_t t : {int64_t{0}, int64_t{951782400}, int64_t{1795974326}, int64_t{4102444799}}) {
    const auto back = ParseSystemDateAndTime(BuildSystemDateAndTimeResponse(t));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, t);
  }
}

TEST(ResponseTest, DeviceInformationRoundTripsAndEscapes) {
  DeviceInformation info{"Acme & Sons <Cameras>", "X\"1'", "1.2.3", "SN-42", ""};
  auto back = ParseDeviceInformation(BuildDeviceInformationResponse(info));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->manufacturer, info.manufacturer);
  EXPECT_EQ(back->model, info.model);
  EXPECT_EQ(back->firmware_version, info.firmware_version);
  EXPECT_EQ(back->serial_number, info.serial_number);
  EXPECT_EQ(back->hardware_id, "");
  // Bytes XML cannot carry become U+FFFD instead of breaking the document.
  info.manufacturer = std::string(
      "A\x01"
      "B\xff",
      4);
  back = ParseDeviceInformation(BuildDeviceInformationResponse(info));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->manufacturer,
            "A\xEF\xBF\xBD"
            "B\xEF\xBF\xBD");
}

TEST(ResponseTest, NetworkInterfacesRoundTrip) {
  const std::vector<NetworkInterface> nics = {{"eth0", "eth0", "AC:CC:8E:99:C9:15", true},
                                              {"tok\"1", "", "00:40:8c:aa:bb:cc", false}};
  const auto back = ParseNetworkInterfaces(BuildNetworkInterfacesResponse(nics));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*back)[i].token, nics[i].token);
    EXPECT_EQ((*back)[i].name, nics[i].name);
    EXPECT_EQ((*back)[i].hw_address, nics[i].hw_address);
    EXPECT_EQ((*back)[i].enabled, nics[i].enabled);
  }
  const auto none = ParseNetworkInterfaces(BuildNetworkInterfacesResponse({}));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ResponseTest, NotAuthorizedFaultIsBadCredentials) {
  const std::string fault = BuildFault("env:Sender", "ter:NotAuthorized", "Sender not Authorized");
  const auto a = ParseDeviceInformation(fault);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(a.status().reason(), "BAD_CREDENTIALS");
  EXPECT_EQ(a.status().message(), "Sender not Authorized");
  EXPECT_EQ(ParseNetworkInterfaces(fault).status().reason(), "BAD_CREDENTIALS");
  EXPECT_EQ(ParseSystemDateAndTime(fault).status().reason(), "BAD_CREDENTIALS");
}

TEST(ResponseTest, OtherFaultIsSoapFault) {
  const auto r = ParseSystemDateAndTime(
      BuildFault("env:Receiver", "ter:ActionNotSupported", "Optional Action Not Implemented"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.status().reason(), "SOAP_FAULT");
  EXPECT_EQ(r.status().message(),
            "env:Receiver/ter:ActionNotSupported: Optional Action Not Implemented");
}

// --- Responses in the shapes real cameras send --------------------------------

TEST(CameraSampleTest, DeviceInformationWithGsoapPrefixesAndHeader) {
  const auto info = ParseDeviceInformation(Testdata("device_information_gsoap.xml"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->manufacturer, "AXIS");
  EXPECT_EQ(info->model, "P3245-LVE");
  EXPECT_EQ(info->firmware_version, "10.12.114");
  EXPECT_EQ(info->serial_number, "ACCC8E99C915");
  EXPECT_EQ(info->hardware_id, "7A0");
}

TEST(CameraSampleTest, DeviceInformationWithEnvPrefixAndManyNamespaces) {
  const auto info = ParseDeviceInformation(Testdata("device_information_env.xml"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->manufacturer, "HIKVISION");
  EXPECT_EQ(info->model, "DS-2CD2143G0-I");
  EXPECT_EQ(info->firmware_version, "V5.6.3 build 190923");
  EXPECT_EQ(info->serial_number, "DS-2CD2143G0-I20191104AAWRD12345678");
  EXPECT_EQ(info->hardware_id, "88");
}

TEST(CameraSampleTest, DeviceInformationWithDefaultNamespace) {
  const auto info = ParseDeviceInformation(Testdata("device_information_default_ns.xml"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->manufacturer, "Dahua");
  EXPECT_EQ(info->firmware_version, "2.800.0000000.25.R, Build Date 2020-03-18");
}

TEST(CameraSampleTest, SystemDateAndTimeUsesUtcNotLocal) {
  const auto t = ParseSystemDateAndTime(Testdata("system_date_and_time.xml"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(FormatDateTime(*t), "2026-11-29T17:45:26Z");
}

TEST(CameraSampleTest, NetworkInterfacesWithVendorPrefixes) {
  const auto nics = ParseNetworkInterfaces(Testdata("network_interfaces.xml"));
  ASSERT_TRUE(nics.ok()) << nics.status().ToString();
  ASSERT_EQ(nics->size(), 2u);
  EXPECT_EQ((*nics)[0].token, "eth0");
  EXPECT_EQ((*nics)[0].name, "eth0");
  EXPECT_EQ((*nics)[0].hw_address, "AC:CC:8E:99:C9:15");
  EXPECT_TRUE((*nics)[0].enabled);
  EXPECT_EQ((*nics)[1].token, "wlan0");
  EXPECT_EQ((*nics)[1].name, "");
  EXPECT_EQ((*nics)[1].hw_address, "ac-cc-8e-99-c9-16");
  EXPECT_FALSE((*nics)[1].enabled);
}

TEST(CameraSampleTest, Faults) {
  auto r = ParseDeviceInformation(Testdata("fault_not_authorized.xml"));
  EXPECT_EQ(r.status().reason(), "BAD_CREDENTIALS");
  EXPECT_EQ(r.status().message(), "Sender not Authorized");
  r = ParseDeviceInformation(Testdata("fault_failed_authentication.xml"));
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(r.status().reason(), "BAD_CREDENTIALS");
  r = ParseDeviceInformation(Testdata("fault_action_not_supported.xml"));
  EXPECT_EQ(r.status().reason(), "SOAP_FAULT");
  EXPECT_EQ(r.status().message(),
            "soapenv:Receiver/ter:ActionNotSupported/ter:NoSuchService: "
            "Optional Action Not Implemented");
}

// --- Hostile input -------------------------------------------------------------

TEST(HostileTest, BillionLaughs) {
  const std::string xml =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
      "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
      "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
      "<!ENTITY lol9 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">]>" +
      Wrap(DeviceInfoBody("&lol9;")).substr(38);
  ExpectBadSoap(ParseDeviceInformation(xml), "DOCTYPE");
}

TEST(HostileTest, ExternalEntity) {
  const std::string xml =
      "<?xml version=\"1.0\"?><!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM "
      "\"file:///etc/passwd\">]>" +
      Wrap(DeviceInfoBody("&xxe;")).substr(38);
  const auto r = ParseDeviceInformation(xml);
  ExpectBadSoap(r, "DOCTYPE");
  EXPECT_EQ(r.status().message().find("root:"), std::string::npos);
}

TEST(HostileTest, DoctypeAlone) {
  ExpectBadSoap(ParseDeviceInformation("<!DOCTYPE env:Envelope>" + Wrap(DeviceInfoBody("A"))),
                "DOCTYPE");
  ExpectBadSoap(
      ParseDeviceInformation("<!DOCTYPE env:Envelope SYSTEM \"http://attacker.example/x.dtd\">" +
                             Wrap(DeviceInfoBody("A"))),
      "DOCTYPE");
}

TEST(HostileTest, UndeclaredEntityReference) {
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("&xxe;"))), "not well-formed");
}

TEST(HostileTest, Oversized) {
  std::string xml = Wrap(DeviceInfoBody("A"));
  xml.insert(xml.find("<env:Body>"), "<!--" + std::string(kMaxSoapBytes, 'x') + "-->");
  ExpectBadSoap(ParseDeviceInformation(xml), "limit is 65536");
  ExpectBadSoap(ParseRequest(xml), "limit is 65536");
}

TEST(HostileTest, DeepNesting) {
  const auto nest = [](int depth) {
    std::string open, close;
    for (int i = 0; i < depth; ++i) open += "<tt:a>", close = "</tt:a>" + close;
    return DeviceInfoBody("A").insert(std::string("<tds:GetDeviceInformationResponse>").size(),
                                      "<tds:Extra>" + open + close + "</tds:Extra>");
  };
  // Envelope, Body, Response, Extra = 4 levels; 60 more is 64: allowed.
  EXPECT_TRUE(ParseDeviceInformation(Wrap(nest(60))).ok());
  ExpectBadSoap(ParseDeviceInformation(Wrap(nest(61))), "deeper than 64");
  // Beyond libxml2's own limit (256): refused by the parser.
  ExpectBadSoap(ParseDeviceInformation(Wrap(nest(1000))), "not well-formed");
}

TEST(HostileTest, TruncatedAndEmpty) {
  const std::string xml = Testdata("device_information_env.xml");
  ExpectBadSoap(ParseDeviceInformation(xml.substr(0, xml.size() / 2)), "not well-formed");
  ExpectBadSoap(ParseDeviceInformation(""), "empty");
  ExpectBadSoap(ParseDeviceInformation("HTTP/1.1 401 Unauthorized"), "not well-formed");
}

TEST(HostileTest, WrongRoot) {
  ExpectBadSoap(ParseDeviceInformation(
                    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                    "<soap:Body/></soap:Envelope>"),
                "root element is soap:Envelope");
  ExpectBadSoap(ParseDeviceInformation("<html><body>login</body></html>"), "root element is html");
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("A") + "<tds:Second/>")), "2 elements");
  ExpectBadSoap(ParseSystemDateAndTime(Wrap(DeviceInfoBody("A"))),
                "expected tds:GetSystemDateAndTimeResponse");
}

TEST(HostileTest, NonUtf8EvenWhenDeclared) {
  std::string xml = Wrap(DeviceInfoBody("Soci\xe9t\xe9"));
  xml.replace(xml.find("UTF-8"), 5, "ISO-8859-1");
  ExpectBadSoap(ParseDeviceInformation(xml), "not UTF-8");
  // A declaration that lies about UTF-8 input is ignored: the bytes are UTF-8.
  xml = Wrap(DeviceInfoBody("Soci\xc3\xa9t\xc3\xa9"));
  xml.replace(xml.find("UTF-8"), 5, "UTF-16");
  const auto info = ParseDeviceInformation(xml);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->manufacturer, "Soci\xc3\xa9t\xc3\xa9");
}

TEST(HostileTest, ControlCharactersInValues) {
  // C0 controls are not XML characters at all.
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("\x1b[2J"))), "not well-formed");
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("&#x1b;[2J"))), "not well-formed");
  // Tab, DEL, C1 (CSI) and bidi overrides are XML characters: refused by us.
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("a&#9;b"))), "U+0009");
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("a\x7f"
                                                           "b"))),
                "U+007F");
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("\xc2\x9b"
                                                           "31m"))),
                "U+009B");
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody("&#x202E;evil"))), "U+202E");
  // Leading and trailing whitespace is trimmed, not refused.
  EXPECT_EQ(ParseDeviceInformation(Wrap(DeviceInfoBody("\n  AXIS \r\n")))->manufacturer, "AXIS");
}

TEST(HostileTest, OverlongValues) {
  EXPECT_TRUE(ParseDeviceInformation(Wrap(DeviceInfoBody(std::string(kMaxValueBytes, 'A')))).ok());
  ExpectBadSoap(ParseDeviceInformation(Wrap(DeviceInfoBody(std::string(kMaxValueBytes + 1, 'A')))),
                "tds:Manufacturer is 257 bytes");
  std::string nics = BuildNetworkInterfacesResponse({{std::string(300, 't'), "", "aa", true}});
  ExpectBadSoap(ParseNetworkInterfaces(nics), "token is 300 bytes");
}

TEST(HostileTest, MissingAndRepeatedFields) {
  std::string body = DeviceInfoBody("A");
  body.replace(body.find("<tds:HardwareId>H</tds:HardwareId>"), 34, "");
  ExpectBadSoap(ParseDeviceInformation(Wrap(body)), "missing tds:HardwareId");
  body = DeviceInfoBody("A");
  body.insert(body.find("<tds:Model>"), "<tds:Model>N</tds:Model>");
  ExpectBadSoap(ParseDeviceInformation(Wrap(body)), "more than one tds:Model");
  ExpectBadSoap(ParseDeviceInformation(Wrap("<tds:GetDeviceInformationResponse/>")),
                "missing tds:Manufacturer");
  ExpectBadSoap(
      ParseSystemDateAndTime(
          Wrap("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP"
               "</tt:DateTimeType></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")),
      "missing tt:UTCDateTime");
  ExpectBadSoap(ParseNetworkInterfaces(Wrap(
                    "<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces><tt:Enabled>true"
                    "</tt:Enabled></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>")),
                "without a token");
  ExpectBadSoap(ParseNetworkInterfaces(
                    Wrap("<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=\"e\">"
                         "<tt:Enabled>yes</tt:Enabled></tds:NetworkInterfaces>"
                         "</tds:GetNetworkInterfacesResponse>")),
                "xs:boolean");
}

TEST(HostileTest, BadDateFields) {
  std::string xml = BuildSystemDateAndTimeResponse(1795974326);
  xml.replace(xml.find("<tt:Month>11</tt:Month>"), 23, "<tt:Month>13</tt:Month>");
  ExpectBadSoap(ParseSystemDateAndTime(xml), "tt:Month is 13");
  xml = BuildSystemDateAndTimeResponse(1795974326);
  xml.replace(xml.find("<tt:Day>29</tt:Day>"), 19, "<tt:Day>31</tt:Day>");
  ExpectBadSoap(ParseSystemDateAndTime(xml), "tt:Day is 31");
  xml = BuildSystemDateAndTimeResponse(1795974326);
  xml.replace(xml.find("<tt:Hour>17</tt:Hour>"), 21, "<tt:Hour>0x11</tt:Hour>");
  ExpectBadSoap(ParseSystemDateAndTime(xml), "tt:Hour is not an integer");
}

TEST(HostileTest, RightLocalNameInWrongNamespace) {
  // Response element from another namespace.
  ExpectBadSoap(
      ParseDeviceInformation(
          Wrap("<GetDeviceInformationResponse xmlns=\"http://www.onvif.org/ver20/device/wsdl\">"
               "<Manufacturer>A</Manufacturer></GetDeviceInformationResponse>")),
      "expected tds:GetDeviceInformationResponse");
  // Fields in tt instead of tds are not the fields.
  std::string body = DeviceInfoBody("A");
  body.replace(body.find("<tds:Manufacturer>A</tds:Manufacturer>"), 38,
               "<tt:Manufacturer>A</tt:Manufacturer>");
  ExpectBadSoap(ParseDeviceInformation(Wrap(body)), "missing tds:Manufacturer");
  // NotAuthorized in a foreign namespace is just a fault.
  const auto r = ParseDeviceInformation(
      "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:x=\"urn:other\">"
      "<e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value><e:Subcode><e:Value>x:NotAuthorized"
      "</e:Value></e:Subcode></e:Code><e:Reason><e:Text xml:lang=\"en\">no</e:Text></e:Reason>"
      "</e:Fault></e:Body></e:Envelope>");
  EXPECT_EQ(r.status().reason(), "SOAP_FAULT");
}

TEST(HostileTest, ElementsWhereTextBelongs) {
  ExpectBadSoap(ParseDeviceInformation(
                    Wrap(DeviceInfoBody("<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" "
                                        "href=\"file:///etc/passwd\" parse=\"text\"/>"))),
                "must hold text");
}

TEST(HostileTest, FaultTextIsSanitizedNotTrusted) {
  const auto r = ParseDeviceInformation(BuildFault("env:Receiver", "ter:Bogus",
                                                   "bad\xc2\x9b"
                                                   "31m" +
                                                       std::string(400, 'x')));
  ASSERT_EQ(r.status().reason(), "SOAP_FAULT");
  EXPECT_EQ(r.status().message().find("\xc2\x9b"), std::string::npos);
  EXPECT_LT(r.status().message().size(), 300u);
}

}  // namespace
}  // namespace onvif
