// IEEE 802.1AR-style factory identities made with OpenSSL 3's libcrypto: a
// device-ID CA (a self-signed root and one intermediate), and per device a
// P-256 leaf whose subject carries the serial (O=<maker>, CN=<model> <serial>,
// serialNumber=<serial>) and whose notAfter is 99991231235959Z (802.1AR's
// "no well-defined expiration"). verifier/x509.h is what checks them.
// Not thread-safe only where noted; every function here is otherwise pure
// or touches only the paths it is given.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "verifier/status.h"

namespace camsim {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using PrivateKey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

enum class KeyType { kP256, kRsa2048 };
verifier::Result<PrivateKey> GenerateKey(KeyType type);

// One certificate to issue. Subject attributes in order, by OpenSSL short
// name ("O", "CN", "serialNumber"). Extension values in openssl-x509v3
// config syntax ("critical,CA:TRUE,pathlen:0"); empty = left out. Always
// added: subjectKeyIdentifier, and authorityKeyIdentifier when not
// self-signed. The serial number is 16 random bytes (positive).
struct CertificateSpec {
  std::vector<std::pair<std::string, std::string>> subject;
  std::string basic_constraints, key_usage, extended_key_usage;
  int64_t not_before = 0;      // unix seconds
  int64_t not_after = 0;       // unix seconds, unless not_after_text is set
  std::string not_after_text;  // e.g. "99991231235959Z" (GeneralizedTime)
};

// Issues `spec` for `subject_key`, signed (ECDSA or RSA with SHA-256) by
// `issuer_key` under `issuer`; self-signed when issuer is null.
verifier::Result<Cert> IssueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                        X509* issuer, EVP_PKEY* issuer_key);

std::string CertificateDer(X509* cert);
std::string CertificatePem(X509* cert);
// Lowercase hex SHA-256 of the DER; of the DER SubjectPublicKeyInfo.
std::string CertificateSha256Hex(X509* cert);
std::string SpkiSha256Hex(X509* cert);
// RFC 2253, e.g. "serialNumber=SN-1,CN=Acme X1 SN-1,O=Acme Cameras".
std::string SubjectString(X509* cert);

// Every certificate of a PEM text, in order; BAD_PEM if there is none.
verifier::Result<std::vector<Cert>> ParseCertificatesPem(const std::string& pem);
verifier::Result<std::vector<Cert>> ReadCertificatesPemFile(const std::string& path);
// A PKCS#8 PEM key file; refuses files readable by group or others.
verifier::Result<PrivateKey> ReadPrivateKeyFile(const std::string& path);
// Writes `key` as PKCS#8 PEM, mode 0600, never over an existing file.
verifier::Status WritePrivateKeyFile(const std::string& path, EVP_PKEY* key);

// A device-identity CA: root (CA:TRUE, keyCertSign+cRLSign, SKI) and an
// intermediate (CA:TRUE pathlen:0, AKI) under it; both P-256, valid from
// `now` - 1 day for 20 years. Subjects "O=<name>, CN=<name> Root CA" and
// "O=<name>, CN=<name> Intermediate CA".
struct DeviceIdCa {
  Cert root, intermediate;
  PrivateKey root_key, intermediate_key;
};
verifier::Result<DeviceIdCa> MakeDeviceIdCa(const std::string& name, int64_t now);

// The CA directory `camsim make-ca` writes: root.pem, intermediate.pem,
// root.key, intermediate.key. Fails before writing anything if any exists.
verifier::Status WriteCaDir(const std::string& dir, const DeviceIdCa& ca);
// The intermediate of a CA directory (what device leaves are issued by).
struct Issuer {
  Cert cert;
  PrivateKey key;
};
verifier::Result<Issuer> ReadIssuer(const std::string& ca_dir);

// A device leaf: subject O=<org>, CN=<model> <serial>, serialNumber=<serial>;
// notBefore `now` - 1 h, notAfter 99991231235959Z; CA:FALSE, keyUsage
// critical digitalSignature (RSA keys: and keyEncipherment, for static-RSA
// TLS), extendedKeyUsage serverAuth+clientAuth.
struct DeviceSubject {
  std::string organization, model, serial;
};
verifier::Result<Cert> IssueDeviceLeaf(const DeviceSubject& subject, EVP_PKEY* key,
                                       const Issuer& issuer, int64_t now);

// A stable locally administered unicast MAC for `serial`:
// SHA-256(serial)[0..6] with the U/L bit set and the I/G bit clear,
// "AA:BB:CC:DD:EE:FF" upper case.
std::string DeriveMac(const std::string& serial);
// "aa-bb-cc-dd-ee-ff" or "aa:bb:..." → "AA:BB:CC:DD:EE:FF"; BAD_MAC otherwise.
verifier::Result<std::string> CanonicalMac(const std::string& mac);
// "urn:uuid:..." from SHA-256("camsim " + serial): a stable RFC 9562
// version-8 UUID, the device's WS-Discovery endpoint reference.
std::string StableEndpointUuid(const std::string& serial);

}  // namespace camsim
