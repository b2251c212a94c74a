#include "tools/camsim/identity.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tools/camsim/device_dir.h"
#include "verifier/crypto.h"

namespace camsim {

using verifier::Result;
using verifier::Status;

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// OpenSSL's last error, for messages.
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Status CryptoError(const std::string& what) {
  return verifier::Internal("OPENSSL", what + ": " + OpenSslError());
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  if (value.empty()) return Status::Ok();
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) return CryptoError(std::string("extension ") + OBJ_nid2sn(nid));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return CryptoError(std::string("add extension ") + OBJ_nid2sn(nid));
  return Status::Ok();
}

constexpr int64_t kDay = 24 * 3600;
constexpr int64_t kTwentyYears = 20 * 365 * kDay + 5 * kDay;  // leap days

}  // namespace

Result<PrivateKey> GenerateKey(KeyType type) {
  EVP_PKEY* key = type == KeyType::kP256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (key == nullptr) return CryptoError("key generation");
  return PrivateKey(key);
}

Result<Cert> IssueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                              EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return CryptoError("X509_new");

  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), serial.size()) != 1) return CryptoError("RAND_bytes");
  serial[0] = (serial[0] & 0x7f) | 0x40;  // positive, and exactly 16 bytes in DER
  BIGNUM* bn = BN_bin2bn(serial.data(), serial.size(), nullptr);
  bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_ok) return CryptoError("serial number");

  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [attr, value] : spec.subject) {
    if (X509_NAME_add_entry_by_txt(name, attr.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return verifier::InvalidArgument(
          "BAD_SUBJECT",
          "cannot put " + attr + "=\"" + value + "\" in a certificate subject: " + OpenSslError());
    }
  }
  X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer) : name;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return CryptoError("issuer name");

  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) ==
      nullptr) {
    return CryptoError("notBefore");
  }
  bool after_ok = spec.not_after_text.empty()
                      ? ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                                      static_cast<time_t>(spec.not_after)) != nullptr
                      : ASN1_TIME_set_string_X509(X509_getm_notAfter(cert.get()),
                                                  spec.not_after_text.c_str()) == 1;
  if (!after_ok) return CryptoError("notAfter");
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return CryptoError("public key");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  PROV_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_basic_constraints, spec.basic_constraints));
  PROV_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, spec.key_usage));
  PROV_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, spec.extended_key_usage));
  PROV_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    PROV_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : subject_key, EVP_sha256()) <= 0) {
    return CryptoError("signing the certificate");
  }
  return cert;
}

std::string CertificateDer(X509* cert) {
  unsigned char* buf = nullptr;
  int n = i2d_X509(cert, &buf);
  if (n <= 0) return "";
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return der;
}

std::string CertificatePem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  return BioString(bio.get());
}

std::string CertificateSha256Hex(X509* cert) {
  return verifier::HexEncode(verifier::Sha256(CertificateDer(cert)));
}

std::string SpkiSha256Hex(X509* cert) {
  unsigned char* buf = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &buf);
  if (n <= 0) return "";
  std::string spki(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return verifier::HexEncode(verifier::Sha256(spki));
}

std::string SubjectString(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  return BioString(bio.get());
}

Result<std::vector<Cert>> ParseCertificatesPem(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<Cert> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(x);
  ERR_clear_error();  // the end of the input reads as an error
  if (certs.empty()) return verifier::InvalidArgument("BAD_PEM", "no PEM certificate");
  return certs;
}

Result<std::vector<Cert>> ReadCertificatesPemFile(const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  auto certs = ParseCertificatesPem(*pem);
  if (!certs.ok()) return verifier::InvalidArgument("BAD_PEM", "no certificate in " + path);
  return certs;
}

Result<PrivateKey> ReadPrivateKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return verifier::NotFound("KEY_FILE",
                              "cannot read key file " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return verifier::PermissionDenied(
        "KEY_FILE_PERMISSIONS", path + " is readable by group or others; run: chmod 600 " + path);
  }
  auto pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  Bio bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (key == nullptr) {
    return verifier::InvalidArgument("BAD_KEY_FILE", path + ": " + OpenSslError());
  }
  return PrivateKey(key);
}

Status WritePrivateKeyFile(const std::string& path, EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return CryptoError("encoding the private key");
  std::string pem = BioString(bio.get());
  Status s = WriteNewFile(path, pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return s;
}

Result<DeviceIdCa> MakeDeviceIdCa(const std::string& name, int64_t now) {
  DeviceIdCa ca;
  PROV_ASSIGN_OR_RETURN(ca.root_key, GenerateKey(KeyType::kP256));
  PROV_ASSIGN_OR_RETURN(ca.intermediate_key, GenerateKey(KeyType::kP256));
  CertificateSpec root;
  root.subject = {{"O", name}, {"CN", name + " Root CA"}};
  root.basic_constraints = "critical,CA:TRUE";
  root.key_usage = "critical,keyCertSign,cRLSign";
  root.not_before = now - kDay;
  root.not_after = now + kTwentyYears;
  PROV_ASSIGN_OR_RETURN(ca.root,
                        IssueCertificate(root, ca.root_key.get(), nullptr, ca.root_key.get()));
  CertificateSpec inter = root;
  inter.subject = {{"O", name}, {"CN", name + " Intermediate CA"}};
  inter.basic_constraints = "critical,CA:TRUE,pathlen:0";
  PROV_ASSIGN_OR_RETURN(ca.intermediate, IssueCertificate(inter, ca.intermediate_key.get(),
                                                          ca.root.get(), ca.root_key.get()));
  return ca;
}

Status WriteCaDir(const std::string& dir, const DeviceIdCa& ca) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return verifier::FailedPrecondition("CA_DIR", dir + ": " + ec.message());
  for (const char* file : {"root.pem", "intermediate.pem", "root.key", "intermediate.key"}) {
    if (fs::exists(dir + "/" + file, ec)) {
      return verifier::FailedPrecondition("FILE_EXISTS",
                                          dir + "/" + file + " exists (never overwritten)");
    }
  }
  PROV_RETURN_IF_ERROR(WritePrivateKeyFile(dir + "/root.key", ca.root_key.get()));
  PROV_RETURN_IF_ERROR(WritePrivateKeyFile(dir + "/intermediate.key", ca.intermediate_key.get()));
  PROV_RETURN_IF_ERROR(WriteNewFile(dir + "/root.pem", CertificatePem(ca.root.get()), 0644));
  return WriteNewFile(dir + "/intermediate.pem", CertificatePem(ca.intermediate.get()), 0644);
}

Result<Issuer> ReadIssuer(const std::string& ca_dir) {
  Issuer issuer;
  PROV_ASSIGN_OR_RETURN(auto certs, ReadCertificatesPemFile(ca_dir + "/intermediate.pem"));
  issuer.cert = std::move(certs.front());
  PROV_ASSIGN_OR_RETURN(issuer.key, ReadPrivateKeyFile(ca_dir + "/intermediate.key"));
  if (X509_check_private_key(issuer.cert.get(), issuer.key.get()) != 1) {
    ERR_clear_error();
    return verifier::InvalidArgument(
        "CA_KEY_MISMATCH", ca_dir + "/intermediate.key is not the key of intermediate.pem");
  }
  return issuer;
}

Result<Cert> IssueDeviceLeaf(const DeviceSubject& subject, EVP_PKEY* key, const Issuer& issuer,
                             int64_t now) {
  CertificateSpec leaf;
  leaf.subject = {{"O", subject.organization},
                  {"CN", subject.model + " " + subject.serial},
                  {"serialNumber", subject.serial}};
  leaf.basic_constraints = "CA:FALSE";
  leaf.key_usage = EVP_PKEY_is_a(key, "RSA") ? "critical,digitalSignature,keyEncipherment"
                                             : "critical,digitalSignature";
  leaf.extended_key_usage = "serverAuth,clientAuth";
  leaf.not_before = now - 3600;
  leaf.not_after_text = "99991231235959Z";
  return IssueCertificate(leaf, key, issuer.cert.get(), issuer.key.get());
}

namespace {
std::string FormatMac(const uint8_t* b) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02X:%02X:%02X:%02X:%02X:%02X", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}
}  // namespace

std::string DeriveMac(const std::string& serial) {
  verifier::Hash h = verifier::Sha256(serial);
  h[0] = static_cast<uint8_t>((h[0] & 0xfc) | 0x02);  // locally administered, unicast
  return FormatMac(h.data());
}

Result<std::string> CanonicalMac(const std::string& mac) {
  std::array<uint8_t, 6> b{};
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  bool ok = mac.size() == 17;
  for (size_t i = 0; ok && i < 6; ++i) {
    int hi = hex(mac[3 * i]), lo = hex(mac[3 * i + 1]);
    ok = hi >= 0 && lo >= 0 && (i == 5 || mac[3 * i + 2] == ':' || mac[3 * i + 2] == '-');
    b[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  if (!ok) return verifier::InvalidArgument("BAD_MAC", "not a MAC like AA:BB:CC:DD:EE:FF: " + mac);
  return FormatMac(b.data());
}

std::string StableEndpointUuid(const std::string& serial) {
  verifier::Hash h = verifier::Sha256("camsim " + serial);
  h[6] = static_cast<uint8_t>((h[6] & 0x0f) | 0x80);  // version 8
  h[8] = static_cast<uint8_t>((h[8] & 0x3f) | 0x80);  // RFC 9562 variant
  const std::string hex = verifier::HexEncode(verifier::ByteView(h.data(), 16));
  return "urn:uuid:" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace camsim
