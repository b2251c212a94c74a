#include "onvif/soap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "onvif/xml.h"

namespace onvif {
namespace {

constexpr char kPasswordDigestType[] =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest";
constexpr char kBase64BinaryType[] =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0"
    "#Base64Binary";
constexpr size_t kMaxNonceBytes = 64;
constexpr size_t kMaxInterfaces = 64;

// Element names.
constexpr Name kFault{kNsEnv, "Fault", "env"};
constexpr Name kCode{kNsEnv, "Code", "env"};
constexpr Name kSubcode{kNsEnv, "Subcode", "env"};
constexpr Name kValue{kNsEnv, "Value", "env"};
constexpr Name kReason{kNsEnv, "Reason", "env"};
constexpr Name kText{kNsEnv, "Text", "env"};
constexpr Name kSecurity{kNsWsse, "Security", "wsse"};
constexpr Name kUsernameToken{kNsWsse, "UsernameToken", "wsse"};
constexpr Name kUsername{kNsWsse, "Username", "wsse"};
constexpr Name kPassword{kNsWsse, "Password", "wsse"};
constexpr Name kNonce{kNsWsse, "Nonce", "wsse"};
constexpr Name kCreated{kNsWsu, "Created", "wsu"};
constexpr Name kSystemDateAndTimeResponse{kNsTds, "GetSystemDateAndTimeResponse", "tds"};
constexpr Name kSystemDateAndTime{kNsTds, "SystemDateAndTime", "tds"};
constexpr Name kUtcDateTime{kNsTt, "UTCDateTime", "tt"};
constexpr Name kTime{kNsTt, "Time", "tt"};
constexpr Name kDate{kNsTt, "Date", "tt"};
constexpr Name kDeviceInformationResponse{kNsTds, "GetDeviceInformationResponse", "tds"};
constexpr Name kNetworkInterfacesResponse{kNsTds, "GetNetworkInterfacesResponse", "tds"};
constexpr Name kNetworkInterfaces{kNsTds, "NetworkInterfaces", "tds"};
constexpr Name kEnabled{kNsTt, "Enabled", "tt"};
constexpr Name kInfo{kNsTt, "Info", "tt"};
constexpr Name kName{kNsTt, "Name", "tt"};
constexpr Name kHwAddress{kNsTt, "HwAddress", "tt"};

constexpr Operation kOperations[] = {Operation::kGetSystemDateAndTime,
                                     Operation::kGetDeviceInformation,
                                     Operation::kGetNetworkInterfaces};

// --- Calendar (proleptic Gregorian, H. Hinnant's algorithms) -------------
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
};

Civil ToCivil(int64_t t) {
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) secs += 86400, --days;
  Civil c;
  CivilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  return c;
}

// --- Base64 (standard alphabet, padded) ----------------------------------
std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Strict: only the standard alphabet, length a multiple of 4, at most two
// '=' at the end. nullopt otherwise.
std::optional<std::string> Base64Decode(std::string_view b64) {
  if (b64.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < b64.size() && b64[b64.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i < b64.size() - pad; ++i) {
    const char c = b64[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '/')) {
      return std::nullopt;
    }
  }
  std::string out(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < 0 || static_cast<size_t>(n) < pad) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // A scanner without randomness must not authenticate with guessable nonces.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

// --- Parsing helpers ------------------------------------------------------
verifier::Result<int64_t> ParseInt(const xmlNode* n, std::string_view what, int64_t lo,
                                   int64_t hi) {
  const auto text = Text(n, what);  // not moved out: GCC 12 -Wmaybe-uninitialized
  if (!text.ok()) return text.status();
  std::string_view v = *text;
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return BadSoap(std::string(what) + " is not an integer");
  }
  if (out < lo || out > hi) {
    return BadSoap(std::string(what) + " is " + std::to_string(out) + "; expected " +
                   std::to_string(lo) + ".." + std::to_string(hi));
  }
  return out;
}

verifier::Result<bool> ParseBool(const xmlNode* n, std::string_view what) {
  const auto text = Text(n, what);
  if (!text.ok()) return text.status();
  const std::string& s = *text;
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  return BadSoap(std::string(what) + " is not an xs:boolean");
}

// Any Fault -> its Status. Values and reasons are sanitized, not refused:
// a Fault is reported as one even when its text is odd.
verifier::Status FaultStatus(const xmlNode* fault) {
  PROV_ASSIGN_OR_RETURN(const xmlNode* node, OnlyChild(fault, kCode));
  std::string codes;
  bool unauthenticated = false;
  while (node) {
    PROV_ASSIGN_OR_RETURN(const xmlNode* value, OnlyChild(node, kValue));
    const std::string v = SanitizedText(value, 128);
    codes += (codes.empty() ? "" : "/") + v;
    std::string ns, local;
    ResolveQName(value, v, &ns, &local);
    // Some cameras forget to declare ter: an undeclared prefix matches too.
    if ((local == "NotAuthorized" && (ns == kNsTer || ns.empty())) ||
        (local == "FailedAuthentication" && (ns == kNsWsse || ns.empty()))) {
      unauthenticated = true;
    }
    PROV_ASSIGN_OR_RETURN(node, OptionalChild(node, kSubcode));
  }
  std::string reason;
  PROV_ASSIGN_OR_RETURN(const xmlNode* reason_node, OptionalChild(fault, kReason));
  if (reason_node) {
    const auto texts = Children(reason_node, kText);
    const xmlNode* chosen = texts.empty() ? nullptr : texts[0];
    for (const xmlNode* t : texts) {
      xmlChar* lang = xmlNodeGetLang(t);
      const bool en =
          lang && (lang[0] == 'e' || lang[0] == 'E') && (lang[1] == 'n' || lang[1] == 'N');
      xmlFree(lang);
      if (en) {
        chosen = t;
        break;
      }
    }
    if (chosen) reason = SanitizedText(chosen, kMaxValueBytes);
  }
  if (unauthenticated) {
    return verifier::Unauthenticated(
        "BAD_CREDENTIALS",
        reason.empty() ? "the camera refused the credentials (" + codes + ")" : reason);
  }
  return verifier::FailedPrecondition("SOAP_FAULT", codes + ": " + reason);
}

// The payload of a response: a Fault becomes its Status; anything other
// than `expected` is BAD_SOAP.
verifier::Result<const xmlNode*> ResponsePayload(const xmlDoc* doc, const Name& expected) {
  PROV_ASSIGN_OR_RETURN(Envelope env, OpenEnvelope(doc));
  PROV_ASSIGN_OR_RETURN(const xmlNode* payload, BodyPayload(env));
  if (Is(payload, kFault)) return FaultStatus(payload);
  if (!Is(payload, expected)) {
    return BadSoap("expected " + expected.Display() + " (namespace " + expected.ns +
                   ") in env:Body, got " + Describe(payload));
  }
  return payload;
}

verifier::Result<UsernameToken> ParseToken(const xmlNode* tok) {
  UsernameToken t;
  PROV_ASSIGN_OR_RETURN(const xmlNode* user, OnlyChild(tok, kUsername));
  PROV_ASSIGN_OR_RETURN(t.username, Text(user, "wsse:Username"));

  PROV_ASSIGN_OR_RETURN(const xmlNode* pw, OnlyChild(tok, kPassword));
  PROV_ASSIGN_OR_RETURN(auto type, Attribute(pw, "Type", "wsse:Password Type"));
  if (!type || *type != kPasswordDigestType) {
    return verifier::Unauthenticated(
        "BAD_CREDENTIALS",
        "wsse:Password is not a PasswordDigest (cleartext passwords are refused)");
  }
  PROV_ASSIGN_OR_RETURN(t.password_digest, Text(pw, "wsse:Password"));
  const auto digest = Base64Decode(t.password_digest);
  if (!digest || digest->size() != 20) {
    return BadSoap("wsse:Password is not the base64 of a SHA-1 digest");
  }

  PROV_ASSIGN_OR_RETURN(const xmlNode* nonce, OnlyChild(tok, kNonce));
  PROV_ASSIGN_OR_RETURN(auto encoding, Attribute(nonce, "EncodingType", "wsse:Nonce EncodingType"));
  if (encoding && *encoding != kBase64BinaryType) {
    return BadSoap("wsse:Nonce EncodingType is not Base64Binary");
  }
  PROV_ASSIGN_OR_RETURN(std::string nonce_b64, Text(nonce, "wsse:Nonce"));
  auto raw = Base64Decode(nonce_b64);
  if (!raw || raw->empty() || raw->size() > kMaxNonceBytes) {
    return BadSoap("wsse:Nonce is not base64 of 1.." + std::to_string(kMaxNonceBytes) + " bytes");
  }
  t.nonce = std::move(*raw);

  PROV_ASSIGN_OR_RETURN(const xmlNode* created, OnlyChild(tok, kCreated));
  PROV_ASSIGN_OR_RETURN(t.created, Text(created, "wsu:Created"));
  if (auto parsed = ParseDateTime(t.created); !parsed.ok()) {
    return BadSoap("wsu:Created: " + parsed.status().message());
  }
  return t;
}

// --- Building ---------------------------------------------------------------
std::string WrapEnvelope(std::string_view header, std::string_view body) {
  return SoapEnvelope({{"tds", kNsTds}, {"tt", kNsTt}, {"ter", kNsTer}}, header, body);
}

std::string DateTimeElement(std::string_view qname, const Civil& c) {
  std::string out = "<" + std::string(qname) + "><tt:Time>";
  out += Element("tt:Hour", std::to_string(c.hour));
  out += Element("tt:Minute", std::to_string(c.minute));
  out += Element("tt:Second", std::to_string(c.second));
  out += "</tt:Time><tt:Date>";
  out += Element("tt:Year", std::to_string(c.year));
  out += Element("tt:Month", std::to_string(c.month));
  out += Element("tt:Day", std::to_string(c.day));
  out += "</tt:Date></" + std::string(qname) + ">";
  return out;
}

}  // namespace

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kGetSystemDateAndTime:
      return "GetSystemDateAndTime";
    case Operation::kGetDeviceInformation:
      return "GetDeviceInformation";
    case Operation::kGetNetworkInterfaces:
      return "GetNetworkInterfaces";
  }
  return "";
}

std::string SoapAction(Operation op) {
  return std::string(kNsTds) + "/" + std::string(OperationName(op));
}

std::string PasswordDigest(std::string_view nonce, std::string_view created,
                           std::string_view password) {
  std::string input;
  input.reserve(nonce.size() + created.size() + password.size());
  input.append(nonce).append(created).append(password);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = EVP_Digest(input.data(), input.size(), md, &len, EVP_sha1(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  if (ok != 1) std::abort();  // SHA-1 is in OpenSSL's default provider
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

UsernameToken MakeUsernameToken(std::string username, std::string_view password,
                                int64_t device_unix_time) {
  UsernameToken t;
  t.username = std::move(username);
  t.nonce = RandomBytes(16);
  t.created = FormatDateTime(device_unix_time);
  t.password_digest = PasswordDigest(t.nonce, t.created, password);
  return t;
}

std::string FormatDateTime(int64_t unix_seconds) {
  const Civil c = ToCivil(unix_seconds);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute, c.second);
  return buf;
}

verifier::Result<int64_t> ParseDateTime(std::string_view text) {
  const auto bad = [&](const char* why) {
    return verifier::InvalidArgument("BAD_TIME",
                                     "not an xs:dateTime with a zone (" + std::string(why) + ")");
  };
  size_t i = 0;
  const auto digits = [&](size_t n, int* out) {
    if (i + n > text.size()) return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      const char c = text[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    *out = v;
    return true;
  };
  const auto sep = [&](char c) {
    if (i < text.size() && text[i] == c) return ++i, true;
    return false;
  };
  int year, month, day, hour, minute, second;
  if (!digits(4, &year) || !sep('-') || !digits(2, &month) || !sep('-') || !digits(2, &day) ||
      !sep('T') || !digits(2, &hour) || !sep(':') || !digits(2, &minute) || !sep(':') ||
      !digits(2, &second)) {
    return bad("expected YYYY-MM-DDThh:mm:ss");
  }
  if (sep('.')) {
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return bad("empty fraction");
  }
  int64_t offset = 0;
  if (sep('Z')) {
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const int sign = text[i++] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(2, &oh) || !sep(':') || !digits(2, &om) || om > 59 || oh * 60 + om > 14 * 60) {
      return bad("bad zone offset");
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad("no zone");
  }
  if (i != text.size()) return bad("trailing characters");
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      hour > 23 || minute > 59 || second > 59) {
    return bad("field out of range");
  }
  return DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}

std::string BuildRequest(Operation op, const UsernameToken* token) {
  std::string header;
  if (token) {
    header += "<wsse:Security env:mustUnderstand=\"1\" xmlns:wsse=\"";
    header += kNsWsse;
    header += "\" xmlns:wsu=\"";
    header += kNsWsu;
    header += "\"><wsse:UsernameToken>";
    header += Element("wsse:Username", token->username);
    header += "<wsse:Password Type=\"";
    header += kPasswordDigestType;
    header += "\">" + XmlEscape(token->password_digest) + "</wsse:Password>";
    header += "<wsse:Nonce EncodingType=\"";
    header += kBase64BinaryType;
    header += "\">" + Base64Encode(token->nonce) + "</wsse:Nonce>";
    header += Element("wsu:Created", token->created);
    header += "</wsse:UsernameToken></wsse:Security>";
  }
  return WrapEnvelope(header, "<tds:" + std::string(OperationName(op)) + "/>");
}

verifier::Result<int64_t> ParseSystemDateAndTime(std::string_view response) {
  PROV_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(response, kMaxSoapBytes));
  PROV_ASSIGN_OR_RETURN(const xmlNode* payload,
                        ResponsePayload(doc.get(), kSystemDateAndTimeResponse));
  PROV_ASSIGN_OR_RETURN(const xmlNode* sdt, OnlyChild(payload, kSystemDateAndTime));
  PROV_ASSIGN_OR_RETURN(const xmlNode* utc, OnlyChild(sdt, kUtcDateTime));
  PROV_ASSIGN_OR_RETURN(const xmlNode* time, OnlyChild(utc, kTime));
  PROV_ASSIGN_OR_RETURN(const xmlNode* date, OnlyChild(utc, kDate));
  const auto field = [](const xmlNode* parent, const char* local) {
    return OnlyChild(parent, Name{kNsTt, local, "tt"});
  };
  PROV_ASSIGN_OR_RETURN(const xmlNode* hour_n, field(time, "Hour"));
  PROV_ASSIGN_OR_RETURN(const xmlNode* minute_n, field(time, "Minute"));
  PROV_ASSIGN_OR_RETURN(const xmlNode* second_n, field(time, "Second"));
  PROV_ASSIGN_OR_RETURN(const xmlNode* year_n, field(date, "Year"));
  PROV_ASSIGN_OR_RETURN(const xmlNode* month_n, field(date, "Month"));
  PROV_ASSIGN_OR_RETURN(const xmlNode* day_n, field(date, "Day"));
  PROV_ASSIGN_OR_RETURN(int64_t hour, ParseInt(hour_n, "tt:Hour", 0, 23));
  PROV_ASSIGN_OR_RETURN(int64_t minute, ParseInt(minute_n, "tt:Minute", 0, 59));
  // 60: a leap second, as some cameras report one.
  PROV_ASSIGN_OR_RETURN(int64_t second, ParseInt(second_n, "tt:Second", 0, 60));
  PROV_ASSIGN_OR_RETURN(int64_t year, ParseInt(year_n, "tt:Year", 1970, 9999));
  PROV_ASSIGN_OR_RETURN(int64_t month, ParseInt(month_n, "tt:Month", 1, 12));
  PROV_ASSIGN_OR_RETURN(int64_t day,
                        ParseInt(day_n, "tt:Day", 1, DaysInMonth(year, static_cast<int>(month))));
  return DaysFromCivil(year, static_cast<int>(month), static_cast<int>(day)) * 86400 + hour * 3600 +
         minute * 60 + second;
}

verifier::Result<DeviceInformation> ParseDeviceInformation(std::string_view response) {
  PROV_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(response, kMaxSoapBytes));
  PROV_ASSIGN_OR_RETURN(const xmlNode* payload,
                        ResponsePayload(doc.get(), kDeviceInformationResponse));
  DeviceInformation info;
  const std::pair<const char*, std::string*> fields[] = {
      {"Manufacturer", &info.manufacturer},
      {"Model", &info.model},
      {"FirmwareVersion", &info.firmware_version},
      {"SerialNumber", &info.serial_number},
      {"HardwareId", &info.hardware_id}};
  for (const auto& [local, out] : fields) {
    const Name name{kNsTds, local, "tds"};
    PROV_ASSIGN_OR_RETURN(const xmlNode* n, OnlyChild(payload, name));
    PROV_ASSIGN_OR_RETURN(*out, Text(n, name.Display()));
  }
  return info;
}

verifier::Result<std::vector<NetworkInterface>> ParseNetworkInterfaces(std::string_view response) {
  PROV_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(response, kMaxSoapBytes));
  PROV_ASSIGN_OR_RETURN(const xmlNode* payload,
                        ResponsePayload(doc.get(), kNetworkInterfacesResponse));
  const auto nodes = Children(payload, kNetworkInterfaces);
  if (nodes.size() > kMaxInterfaces) {
    return BadSoap(std::to_string(nodes.size()) + " tds:NetworkInterfaces; the limit is " +
                   std::to_string(kMaxInterfaces));
  }
  std::vector<NetworkInterface> nics;
  for (const xmlNode* n : nodes) {
    NetworkInterface nic;
    PROV_ASSIGN_OR_RETURN(auto token, Attribute(n, "token", "tds:NetworkInterfaces token"));
    if (!token) return BadSoap("tds:NetworkInterfaces without a token attribute");
    nic.token = std::move(*token);
    PROV_ASSIGN_OR_RETURN(const xmlNode* enabled, OnlyChild(n, kEnabled));
    PROV_ASSIGN_OR_RETURN(nic.enabled, ParseBool(enabled, "tt:Enabled"));
    PROV_ASSIGN_OR_RETURN(const xmlNode* info, OptionalChild(n, kInfo));
    if (info) {
      PROV_ASSIGN_OR_RETURN(const xmlNode* name, OptionalChild(info, kName));
      if (name) {
        PROV_ASSIGN_OR_RETURN(nic.name, Text(name, "tt:Name"));
      }
      PROV_ASSIGN_OR_RETURN(const xmlNode* hw, OnlyChild(info, kHwAddress));
      PROV_ASSIGN_OR_RETURN(nic.hw_address, Text(hw, "tt:HwAddress"));
    }
    nics.push_back(std::move(nic));
  }
  return nics;
}

verifier::Result<Request> ParseRequest(std::string_view body) {
  PROV_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(body, kMaxSoapBytes));
  PROV_ASSIGN_OR_RETURN(Envelope env, OpenEnvelope(doc.get()));
  std::optional<UsernameToken> token;
  if (env.header) {
    PROV_ASSIGN_OR_RETURN(const xmlNode* security, OptionalChild(env.header, kSecurity));
    if (security) {
      PROV_ASSIGN_OR_RETURN(const xmlNode* tok, OptionalChild(security, kUsernameToken));
      if (tok) {
        PROV_ASSIGN_OR_RETURN(token, ParseToken(tok));
      }
    }
  }
  PROV_ASSIGN_OR_RETURN(const xmlNode* payload, BodyPayload(env));
  for (Operation op : kOperations) {
    if (Is(payload, Name{kNsTds, OperationName(op).data(), "tds"})) {
      return Request{op, std::move(token)};
    }
  }
  return verifier::Status(verifier::Code::kUnimplemented, "UNKNOWN_OPERATION",
                          "no such operation: " + Describe(payload));
}

verifier::Status CheckUsernameToken(const UsernameToken& token, std::string_view username,
                                    std::string_view password, int64_t now,
                                    int64_t max_skew_seconds) {
  const std::string expected = PasswordDigest(token.nonce, token.created, password);
  const auto got = Base64Decode(token.password_digest);
  const auto want = Base64Decode(expected);
  // Both comparisons always run; neither says which one failed.
  const bool user_ok = token.username.size() == username.size() &&
                       CRYPTO_memcmp(token.username.data(), username.data(), username.size()) == 0;
  const bool digest_ok = got && want && got->size() == want->size() &&
                         CRYPTO_memcmp(got->data(), want->data(), want->size()) == 0;
  if (!user_ok || !digest_ok || token.nonce.empty()) {
    return verifier::Unauthenticated("BAD_CREDENTIALS", "wrong username or password digest");
  }
  const auto created = ParseDateTime(token.created);
  if (!created.ok()) return verifier::Unauthenticated("STALE_TOKEN", created.status().message());
  const int64_t allowed = std::max<int64_t>(max_skew_seconds, 0);
  const __int128 skew = static_cast<__int128>(*created) - now;
  if (skew > allowed || skew < -static_cast<__int128>(allowed)) {
    return verifier::Unauthenticated(
        "STALE_TOKEN", "wsu:Created " + token.created + " is " +
                           std::to_string(static_cast<long long>(skew)) +
                           " s from the device clock; allowed +-" + std::to_string(allowed) + " s");
  }
  return verifier::Status::Ok();
}

std::string BuildSystemDateAndTimeResponse(int64_t unix_time) {
  const Civil c = ToCivil(unix_time);
  std::string body = "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>";
  body += Element("tt:DateTimeType", "Manual");
  body += Element("tt:DaylightSavings", "false");
  body += "<tt:TimeZone>" + Element("tt:TZ", "UTC0") + "</tt:TimeZone>";
  body += DateTimeElement("tt:UTCDateTime", c);
  body += DateTimeElement("tt:LocalDateTime", c);
  body += "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>";
  return WrapEnvelope("", body);
}

std::string BuildDeviceInformationResponse(const DeviceInformation& info) {
  std::string body = "<tds:GetDeviceInformationResponse>";
  body += Element("tds:Manufacturer", info.manufacturer);
  body += Element("tds:Model", info.model);
  body += Element("tds:FirmwareVersion", info.firmware_version);
  body += Element("tds:SerialNumber", info.serial_number);
  body += Element("tds:HardwareId", info.hardware_id);
  body += "</tds:GetDeviceInformationResponse>";
  return WrapEnvelope("", body);
}

std::string BuildNetworkInterfacesResponse(const std::vector<NetworkInterface>& nics) {
  std::string body = "<tds:GetNetworkInterfacesResponse>";
  for (const auto& nic : nics) {
    body += "<tds:NetworkInterfaces token=\"" + XmlEscape(nic.token) + "\">";
    body += Element("tt:Enabled", nic.enabled ? "true" : "false");
    body += "<tt:Info>";
    if (!nic.name.empty()) body += Element("tt:Name", nic.name);
    body += Element("tt:HwAddress", nic.hw_address);
    body += "</tt:Info></tds:NetworkInterfaces>";
  }
  body += "</tds:GetNetworkInterfacesResponse>";
  return WrapEnvelope("", body);
}

std::string BuildFault(std::string_view code, std::string_view subcode, std::string_view reason) {
  std::string body = "<env:Fault><env:Code>" + Element("env:Value", code);
  if (!subcode.empty()) body += "<env:Subcode>" + Element("env:Value", subcode) + "</env:Subcode>";
  body += "</env:Code><env:Reason><env:Text xml:lang=\"en\">" + XmlEscape(reason) +
          "</env:Text></env:Reason></env:Fault>";
  return WrapEnvelope("", body);
}

}  // namespace onvif
