#include "verifier/x509.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <memory>

namespace verifier {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

Status BadCert(const std::string& what) { return InvalidArgument("BAD_CERTIFICATE", what); }

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string Name(const X509_NAME* n) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

int64_t UnixTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string KeyAlgorithm(EVP_PKEY* key) {
  if (!key) return "unsupported (no key)";
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_RSA: return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
    case EVP_PKEY_EC: {
      char curve[64] = {0};
      size_t len = 0;
      EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len);
      const std::string c(curve, len);
      if (c == "prime256v1" || c == "P-256") return "ECDSA P-256";
      if (c == "secp384r1" || c == "P-384") return "ECDSA P-384";
      if (c == "secp521r1" || c == "P-521") return "ECDSA P-521";
      return "unsupported EC " + c;
    }
    default: return std::string("unsupported ") + OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  }
}

// id-on-hardwareModuleName (RFC 4108): otherName value
// SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }.
std::string HardwareSerial(X509* x) {
  std::string out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  ASN1_OBJECT* hwmn = OBJ_txt2obj("1.3.6.1.5.5.7.8.4", 1);
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && out.empty(); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != GEN_OTHERNAME || OBJ_cmp(n->d.otherName->type_id, hwmn) != 0) continue;
    const ASN1_TYPE* v = n->d.otherName->value;
    if (!v || v->type != V_ASN1_SEQUENCE) continue;
    // A small strict DER walk: 30 L { 06 L oid, 04 L serial }.
    const unsigned char* p = ASN1_STRING_get0_data(v->value.sequence);
    const long total = ASN1_STRING_length(v->value.sequence);
    const unsigned char* end = p + total;
    long len = 0;
    int tag = 0, cls = 0;
    const int seq = ASN1_get_object(&p, &len, &tag, &cls, total);
    if ((seq & 0x80) || !(seq & V_ASN1_CONSTRUCTED) || tag != V_ASN1_SEQUENCE) {
      continue;
    }
    if (ASN1_get_object(&p, &len, &tag, &cls, end - p) & 0x80 || tag != V_ASN1_OBJECT) continue;
    p += len;
    if (ASN1_get_object(&p, &len, &tag, &cls, end - p) & 0x80 || tag != V_ASN1_OCTET_STRING ||
        p + len != end) {
      continue;
    }
    out.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  }
  ASN1_OBJECT_free(hwmn);
  GENERAL_NAMES_free(names);
  ERR_clear_error();
  return out;
}

}  // namespace

Result<Certificate> ParseCertificateDer(std::string_view der) {
  if (der.empty() || der.size() > 64 * 1024) return BadCert("a certificate is 1 byte to 64 KiB");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) return BadCert("not a DER certificate: " + OpenSslError());
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return BadCert("trailing bytes after the certificate");
  }
  unsigned char* re = nullptr;
  const int re_len = i2d_X509(x.get(), &re);
  const bool canonical =
      re_len == static_cast<int>(der.size()) && std::memcmp(der.data(), re, der.size()) == 0;
  OPENSSL_free(re);
  if (!canonical) return BadCert("not in canonical DER (it re-encodes differently)");

  Certificate c;
  c.der = std::string(der);
  c.sha256 = Sha256(AsBytes(c.der));
  unsigned char* spki = nullptr;
  const int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x.get()), &spki);
  if (spki_len <= 0) return BadCert("no subject public key");
  c.spki_sha256 = Sha256(ByteView(spki, static_cast<size_t>(spki_len)));
  OPENSSL_free(spki);
  c.subject = Name(X509_get_subject_name(x.get()));
  c.issuer = Name(X509_get_issuer_name(x.get()));
  const X509_NAME* subject = X509_get_subject_name(x.get());
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, i);
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (n < 0) return BadCert("a subject attribute is not a string");
    std::string value(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
    const char* sn = OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)));
    c.subject_attributes.emplace_back(sn ? sn : "", std::move(value));
  }
  const int at = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
  if (at >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    c.subject_serial_number.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<size_t>(ASN1_STRING_length(s)));
  }
  c.key_algorithm = KeyAlgorithm(X509_get0_pubkey(x.get()));
  c.not_before = UnixTime(X509_get0_notBefore(x.get()));
  c.not_after = UnixTime(X509_get0_notAfter(x.get()));
  // Caches the extensions; flags tell CA-ness and a self-signature.
  const uint32_t flags = X509_get_extension_flags(x.get());
  if (flags & EXFLAG_INVALID) return BadCert("malformed extensions");
  c.is_ca = (flags & EXFLAG_CA) != 0;
  const long pl = X509_get_pathlen(x.get());
  c.path_len = pl < 0 ? -1 : static_cast<int>(pl);
  c.self_signed = (flags & EXFLAG_SS) != 0 && X509_verify(x.get(), X509_get0_pubkey(x.get())) == 1;
  c.hardware_serial = HardwareSerial(x.get());
  ERR_clear_error();
  return c;
}

Result<std::vector<std::string>> PemCertificatesToDer(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::vector<std::string> out;
  for (;;) {
    X509Ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    if (!x) break;
    unsigned char* der = nullptr;
    const int len = i2d_X509(x.get(), &der);
    if (len > 0) out.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (out.empty()) return BadCert("no PEM CERTIFICATE block");
  return out;
}

Status VerifyChain(const std::vector<std::string>& chain_der,
                   const std::vector<std::string>& anchors_der, int64_t at) {
  if (chain_der.empty()) return BadCert("an empty chain");
  if (chain_der.size() > 8 || anchors_der.size() > 64) return BadCert("too many certificates");
  auto parse = [](const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  };
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::vector<X509Ptr> held;
  for (const auto& a : anchors_der) {
    PROV_RETURN_IF_ERROR(ParseCertificateDer(a).status());
    held.push_back(parse(a));
    X509_STORE_add_cert(store.get(), held.back().get());
  }
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
      sk_X509_new_null(), [](STACK_OF(X509)* s) { sk_X509_free(s); });
  for (size_t i = 1; i < chain_der.size(); ++i) {
    PROV_RETURN_IF_ERROR(ParseCertificateDer(chain_der[i]).status());
    held.push_back(parse(chain_der[i]));
    sk_X509_push(untrusted.get(), held.back().get());
  }
  PROV_RETURN_IF_ERROR(ParseCertificateDer(chain_der[0]).status());
  X509Ptr leaf = parse(chain_der[0]);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get())) {
    return Internal("OPENSSL", OpenSslError());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN |
                                         X509_V_FLAG_USE_CHECK_TIME);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at));
  X509_VERIFY_PARAM_set_depth(param, 8);
  const int ok = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (ok != 1) {
    return DataLoss("CHAIN_UNVERIFIED",
                    std::string("the certificate chain does not verify against the registered "
                                "anchors: ") +
                        X509_verify_cert_error_string(err));
  }
  return Status::Ok();
}

Result<LeafIdentity> IdentifyLeaf(const std::vector<std::string>& chain_der,
                                  const provenance::v1::DeviceIdentityCa& ca,
                                  int64_t revoked_effective, int64_t at) {
  namespace pb = provenance::v1;
  if (chain_der.empty()) return BadCert("no device certificate");
  PROV_ASSIGN_OR_RETURN(Certificate leaf, ParseCertificateDer(chain_der.front()));
  const std::string name = ca.manufacturer_org() + "/" + ca.ca_id();
  std::vector<std::string> anchors(ca.certificates().begin(), ca.certificates().end());
  PROV_RETURN_IF_ERROR(VerifyChain(chain_der, anchors, at));
  if (revoked_effective != 0 && revoked_effective <= at) {
    return PermissionDenied("CA_REVOKED", "device-identity CA " + name + " is revoked since " +
                                              std::to_string(revoked_effective));
  }
  if (std::find(ca.leaf_algorithms().begin(), ca.leaf_algorithms().end(), leaf.key_algorithm) ==
      ca.leaf_algorithms().end()) {
    return PermissionDenied("LEAF_ALGORITHM", "the device key is " + leaf.key_algorithm +
                                                  ", which " + name + " does not allow");
  }
  if ((ca.not_before() && at < ca.not_before()) || (ca.not_after() && at >= ca.not_after())) {
    return PermissionDenied("LEAF_OUTSIDE_WINDOW",
                            name + " does not accept device certificates at this time");
  }
  std::string raw;
  switch (ca.serial_source()) {
    case pb::SERIAL_SOURCE_HARDWARE_MODULE_NAME:
      raw = leaf.hardware_serial;
      break;
    case pb::SERIAL_SOURCE_SUBJECT_PATTERN:
      for (const auto& [attribute, value] : leaf.subject_attributes) {
        if (attribute != ca.serial_attribute()) continue;
        raw = SerialFromPattern(value, ca.serial_pattern());
        if (!raw.empty()) break;
      }
      break;
    default:
      raw = leaf.subject_serial_number;
  }
  const std::string serial = ca.serial_normalize() ? NormalizeSerial(raw) : raw;
  if (serial.empty()) {
    return PermissionDenied("NO_SERIAL_IN_CERTIFICATE",
                            "the device certificate (" + leaf.subject +
                                ") carries no serial where " + name + " says it does");
  }
  return LeafIdentity{serial, raw, leaf.spki_sha256, leaf.key_algorithm, leaf.subject};
}

std::string SerialFromPattern(std::string_view value, std::string_view pattern) {
  constexpr std::string_view kSlot = "{serial}";
  const size_t slot = pattern.find(kSlot);
  if (slot == std::string_view::npos) return "";
  const std::string_view prefix = pattern.substr(0, slot);
  const std::string_view suffix = pattern.substr(slot + kSlot.size());
  if (value.size() <= prefix.size() + suffix.size() || !value.starts_with(prefix) ||
      !value.ends_with(suffix)) {
    return "";
  }
  return std::string(value.substr(prefix.size(), value.size() - prefix.size() - suffix.size()));
}

bool IsSupportedKeyAlgorithm(std::string_view name) {
  for (const char* ok : {"ECDSA P-256", "ECDSA P-384", "ECDSA P-521", "RSA 2048", "RSA 3072",
                         "RSA 4096", "Ed25519"}) {
    if (name == ok) return true;
  }
  return false;
}

std::string NormalizeSerial(std::string_view serial) {
  std::string out;
  for (char c : serial) {
    if (c == ':' || c == '-' || c == '.' || c == ' ') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace verifier
