#include "verifier/rules.h"

#include <algorithm>
#include <ctime>
#include <set>

#include "proto/state.pb.h"
#include "verifier/merkle.h"
#include "verifier/note.h"
#include "verifier/x509.h"

namespace verifier {
namespace pb = provenance::v1;
using google::protobuf::Message;

namespace {

Status Malformed(std::string msg) { return InvalidArgument("MALFORMED_RECORD", std::move(msg)); }
Status BadField(std::string msg) { return InvalidArgument("INVALID_FIELD", std::move(msg)); }

// Identifiers: 1..128 bytes, no control characters.
Status CheckId(std::string_view what, const std::string& v) {
  if (v.empty() || v.size() > 128) {
    return BadField(std::string(what) + " must be 1 to 128 bytes");
  }
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) {
      return BadField(std::string(what) + " has a control character");
    }
  }
  return Status::Ok();
}

// Organisation ids: [a-z0-9][a-z0-9.-]{0,63}
Status CheckOrgId(std::string_view what, const std::string& v) {
  bool ok = !v.empty() && v.size() <= 64;
  for (size_t i = 0; ok && i < v.size(); ++i) {
    char c = v[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '.' || c == '-'));
  }
  if (!ok) {
    return BadField(std::string(what) + " \"" + v.substr(0, 64) +
                    "\" is not an org id ([a-z0-9][a-z0-9.-]*, at most 64)");
  }
  return Status::Ok();
}

}  // namespace

std::string UtcDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string Window(int64_t from, int64_t until) {
  return "from " + UtcDate(from) + (until ? " until " + UtcDate(until) : " on");
}

bool Overlaps(int64_t a_from, int64_t a_until, int64_t b_from, int64_t b_until) {
  return (b_until == 0 || a_from < b_until) && (a_until == 0 || b_from < a_until);
}

bool IsMacPrefix(std::string_view p) {
  if (p.size() != 6 && p.size() != 7 && p.size() != 9) return false;
  return std::all_of(p.begin(), p.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

std::string NormalizeMac(std::string_view text) {
  std::string out = NormalizeSerial(text);
  const bool hex = std::all_of(out.begin(), out.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
  });
  return hex ? out : "";
}

Result<std::string> MacHex(std::string_view mac) {
  std::string hex = NormalizeMac(mac);
  if (hex.size() != 12) {
    return InvalidArgument("BAD_MAC", "\"" + std::string(mac.substr(0, 32)) +
                                          "\" is not a MAC address (12 hex digits)");
  }
  return hex;
}

Result<std::optional<MacOwner>> MacBlockOf(const StateView& s, std::string_view mac) {
  PROV_ASSIGN_OR_RETURN(const std::string hex, MacHex(mac));
  for (size_t len : kMacPrefixLengths) {
    pb::MacBlockState held;
    PROV_ASSIGN_OR_RETURN(bool found,
                          GetMessage(s, state_key::MacBlock(hex.substr(0, len)), &held));
    if (found) return std::optional<MacOwner>(MacOwner{held.current(), held.index()});
  }
  return std::optional<MacOwner>();
}

namespace {

// A device-identity CA's certificates: strict DER; the first a self-signed
// root CA; each later one a CA chaining to those before it, at `at`.
Status CheckIdentityCaCertificates(const pb::DeviceIdentityCa& c, int64_t at) {
  std::vector<std::string> anchors, issued;
  for (int i = 0; i < c.certificates_size(); ++i) {
    auto cert = ParseCertificateDer(c.certificates(i));
    if (!cert.ok()) {
      return InvalidArgument("BAD_CERTIFICATE",
                             "certificate " + std::to_string(i) + ": " + cert.status().message());
    }
    if (!cert->is_ca) {
      return InvalidArgument("BAD_CERTIFICATE", "certificate " + std::to_string(i) + " (" +
                                                    cert->subject + ") is not a CA");
    }
    if (i == 0) {
      if (!cert->self_signed) {
        return InvalidArgument("BAD_CERTIFICATE",
                               "certificate 0 (" + cert->subject + ") must be a self-signed root");
      }
      anchors.push_back(cert->der);
      continue;
    }
    std::vector<std::string> chain{cert->der};
    chain.insert(chain.end(), issued.rbegin(), issued.rend());
    if (Status s = VerifyChain(chain, anchors, at); !s.ok()) {
      return InvalidArgument("BAD_CERTIFICATE", "certificate " + std::to_string(i) + " (" +
                                                    cert->subject + "): " + s.message());
    }
    issued.push_back(cert->der);
  }
  return Status::Ok();
}

// Law codes: [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 bytes (as in policy files).
Status CheckLawCode(std::string_view what, const std::string& v) {
  bool ok = !v.empty() && v.size() <= 64;
  for (size_t i = 0; ok && i < v.size(); ++i) {
    const char c = v[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '.' || c == '_' || c == '-'));
  }
  if (!ok) {
    return BadField(std::string(what) + " \"" + v.substr(0, 64) +
                    "\" is not a law code ([A-Za-z0-9][A-Za-z0-9._-]*, at most 64)");
  }
  return Status::Ok();
}

Status CheckCountry(std::string_view what, const std::string& v, bool optional) {
  if (optional && v.empty()) return Status::Ok();
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (v.size() != 2 || !upper(v[0]) || !upper(v[1])) {
    return BadField(std::string(what) + " must be an ISO 3166-1 alpha-2 code");
  }
  return Status::Ok();
}

Status CheckLen(std::string_view what, const std::string& v, size_t n) {
  if (v.size() != n) {
    return BadField(std::string(what) + " must be " + std::to_string(n) + " bytes, got " +
                    std::to_string(v.size()));
  }
  return Status::Ok();
}

Status CheckText(std::string_view what, const std::string& v, size_t max) {
  if (v.size() > max) {
    return BadField(std::string(what) + " is longer than " + std::to_string(max));
  }
  return Status::Ok();
}

// A dated window [from, until): until 0 is open; otherwise after from.
Status CheckWindow(int64_t from, int64_t until) {
  if (until != 0 && until <= from) {
    return BadField("inverted window: valid_until " + std::to_string(until) +
                    " must be after valid_from " + std::to_string(from));
  }
  return Status::Ok();
}

// A fact's source: required, at most 1024 bytes.
Status CheckSource(std::string_view what, const std::string& v) {
  if (v.empty()) return BadField(std::string(what) + " needs a source (citation or URL)");
  return CheckText(std::string(what) + " source", v, 1024);
}

// A device's identity: an Ed25519 key, a pinned factory certificate key, a
// device-identity CA, or several; a listed certificate is a device's
// (not a CA, a supported key, the pin its SPKI, the device's serial in it).
Status CheckDeviceIdentity(const pb::Device& d) {
  if (d.device_public_key().empty() && d.identity_spki_sha256().empty() &&
      d.identity_certificate().empty() && d.identity_ca_id().empty()) {
    return BadField(
        "a device needs an identity: device_public_key, identity_spki_sha256, "
        "identity_certificate or identity_ca_id");
  }
  if (!d.device_public_key().empty()) {
    PROV_RETURN_IF_ERROR(CheckLen("device_public_key", d.device_public_key(), 32));
  }
  if (!d.identity_spki_sha256().empty()) {
    PROV_RETURN_IF_ERROR(CheckLen("identity_spki_sha256", d.identity_spki_sha256(), 32));
  }
  if (!d.identity_ca_id().empty())
    PROV_RETURN_IF_ERROR(CheckOrgId("identity_ca_id", d.identity_ca_id()));
  if (d.identity_certificate().empty()) return Status::Ok();
  auto cert = ParseCertificateDer(d.identity_certificate());
  if (!cert.ok())
    return InvalidArgument("BAD_CERTIFICATE", "identity_certificate: " + cert.status().message());
  if (cert->is_ca)
    return InvalidArgument("BAD_CERTIFICATE", "identity_certificate is a CA, not a device's");
  if (!IsSupportedKeyAlgorithm(cert->key_algorithm)) {
    return InvalidArgument("BAD_CERTIFICATE",
                           "identity_certificate key is " + cert->key_algorithm +
                               ", not one of ECDSA P-256, P-384, P-521, RSA 2048-4096, Ed25519");
  }
  if (!d.identity_spki_sha256().empty() &&
      AsStringView(cert->spki_sha256) != d.identity_spki_sha256()) {
    return InvalidArgument("BAD_CERTIFICATE",
                           "identity_spki_sha256 is not the certificate's public key");
  }
  const std::string serial = NormalizeSerial(d.serial());
  if (NormalizeSerial(cert->subject_serial_number) != serial &&
      NormalizeSerial(cert->hardware_serial) != serial) {
    return InvalidArgument("BAD_CERTIFICATE", "identity_certificate (" + cert->subject +
                                                  ") does not carry serial " + d.serial());
  }
  return Status::Ok();
}

Status CheckComponentRef(const pb::ComponentRef& r) {
  PROV_RETURN_IF_ERROR(CheckOrgId("component maker_org", r.maker_org()));
  return CheckId("component part_number", r.part_number());
}

// An authority set: named, distinct 32-byte keys and a threshold they can meet.
Status CheckAuthorityKeys(const google::protobuf::RepeatedPtrField<pb::AuthorityKey>& keys,
                          uint32_t threshold, const std::string& what) {
  if (keys.empty()) return BadField(what + " needs authority keys");
  std::set<std::string> seen;
  for (const auto& k : keys) {
    PROV_RETURN_IF_ERROR(CheckId("authority key name", k.name()));
    PROV_RETURN_IF_ERROR(CheckLen("authority public_key", k.public_key(), 32));
    if (!seen.insert(k.public_key()).second)
      return BadField(what + " lists an authority key twice");
  }
  if (threshold < 1 || threshold > seen.size()) {
    return BadField("threshold must be between 1 and the number of authority keys");
  }
  return Status::Ok();
}

// Stateless syntax checks of each kind.
Status CheckFields(const pb::Record& r) {
  if (r.kind_case() != pb::Record::kGenesis && r.issued_at() <= 0) {
    return BadField("issued_at must be a positive unix time");
  }
  switch (r.kind_case()) {
    case pb::Record::kGenesis:
      PROV_RETURN_IF_ERROR(CheckId("origin", r.genesis().origin()));
      return CheckAuthorityKeys(r.genesis().authority_keys(), r.genesis().threshold(), "genesis");
    case pb::Record::kAuthoritySet:
      PROV_RETURN_IF_ERROR(CheckText("reason", r.authority_set().reason(), 1024));
      return CheckAuthorityKeys(r.authority_set().authority_keys(), r.authority_set().threshold(),
                                "an authority set");
    case pb::Record::kLogKeyRotation: {
      const auto& k = r.log_key_rotation();
      PROV_RETURN_IF_ERROR(CheckId("origin", k.origin()));
      for (const std::string* key : {&k.old_key(), &k.new_key()}) {
        if (auto v = ParseVerifierKey(*key); !v.ok()) {
          return BadField("a log key rotation names a key that is not a note verifier key: " +
                          v.status().message());
        }
      }
      if (ParseVerifierKey(k.old_key())->public_key == ParseVerifierKey(k.new_key())->public_key) {
        return BadField("a log key rotation must name a new key");
      }
      if (k.from_size() < 2) return BadField("from_size must be past the genesis");
      return Status::Ok();
    }
    case pb::Record::kOrganization: {
      const auto& o = r.organization();
      PROV_RETURN_IF_ERROR(CheckOrgId("org_id", o.org_id()));
      PROV_RETURN_IF_ERROR(CheckId("legal_name", o.legal_name()));
      PROV_RETURN_IF_ERROR(CheckCountry("country", o.country(), false));
      for (const auto& a : o.aliases()) PROV_RETURN_IF_ERROR(CheckId("alias", a));
      for (const auto& l : o.laws()) PROV_RETURN_IF_ERROR(CheckLawCode("law", l));
      return CheckText("organization source", o.source(), 1024);
    }
    case pb::Record::kLaw: {
      const auto& l = r.law();
      PROV_RETURN_IF_ERROR(CheckLawCode("law code", l.code()));
      PROV_RETURN_IF_ERROR(CheckId("law name", l.name()));
      PROV_RETURN_IF_ERROR(CheckCountry("jurisdiction", l.jurisdiction(), false));
      PROV_RETURN_IF_ERROR(CheckText("law source", l.source(), 1024));
      return Status::Ok();
    }
    case pb::Record::kDeviceIdentityCa: {
      const auto& c = r.device_identity_ca();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", c.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckOrgId("ca_id", c.ca_id()));
      if (c.certificates().empty() || c.certificates_size() > 4) {
        return BadField(
            "a device-identity CA has 1 to 4 certificates (a root, then intermediates)");
      }
      if (c.serial_source() != pb::SERIAL_SOURCE_SUBJECT_SERIAL_NUMBER &&
          c.serial_source() != pb::SERIAL_SOURCE_HARDWARE_MODULE_NAME &&
          c.serial_source() != pb::SERIAL_SOURCE_SUBJECT_PATTERN) {
        return BadField("serial_source must say where a leaf carries the serial");
      }
      if (c.serial_source() == pb::SERIAL_SOURCE_SUBJECT_PATTERN) {
        PROV_RETURN_IF_ERROR(CheckId("serial_attribute", c.serial_attribute()));
        const std::string& p = c.serial_pattern();
        const size_t slot = p.find("{serial}");
        if (p.size() > 256 || slot == std::string::npos ||
            p.find("{serial}", slot + 1) != std::string::npos) {
          return BadField("serial_pattern must hold \"{serial}\" exactly once (at most 256 bytes)");
        }
      } else if (!c.serial_attribute().empty() || !c.serial_pattern().empty()) {
        return BadField(
            "serial_attribute and serial_pattern are for serial_source "
            "SERIAL_SOURCE_SUBJECT_PATTERN only");
      }
      if (c.leaf_algorithms().empty()) return BadField("leaf_algorithms must name at least one");
      for (const auto& a : c.leaf_algorithms()) {
        if (!IsSupportedKeyAlgorithm(a)) {
          return BadField("leaf algorithm \"" + a.substr(0, 32) +
                          "\" is not one of ECDSA P-256, P-384, P-521, RSA 2048-4096, Ed25519");
        }
      }
      if (c.not_after() != 0 && c.not_after() <= c.not_before()) {
        return BadField("not_after must be after not_before");
      }
      return CheckIdentityCaCertificates(c, r.issued_at());
    }
    case pb::Record::kDeviceIdentityCaRevocation: {
      const auto& v = r.device_identity_ca_revocation();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", v.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckOrgId("ca_id", v.ca_id()));
      return CheckText("reason", v.reason(), 1024);
    }
    case pb::Record::kMacBlock: {
      const auto& b = r.mac_block();
      PROV_RETURN_IF_ERROR(CheckOrgId("org_id", b.org_id()));
      if (!IsMacPrefix(b.prefix())) {
        return BadField("MAC block prefix \"" + b.prefix().substr(0, 16) +
                        "\" must be 6, 7 or 9 upper-case hex digits (MA-L, MA-M, MA-S)");
      }
      PROV_RETURN_IF_ERROR(CheckText("MAC block source", b.source(), 1024));
      return Status::Ok();
    }
    case pb::Record::kOwnership: {
      const auto& w = r.ownership();
      PROV_RETURN_IF_ERROR(CheckOrgId("owner_org", w.owner_org()));
      PROV_RETURN_IF_ERROR(CheckOrgId("owned_org", w.owned_org()));
      if (w.owner_org() == w.owned_org()) return BadField("an org cannot own itself");
      if (w.stake_bp() > 10000) return BadField("stake_bp must be at most 10000");
      if (w.valid_until() != 0 && w.valid_until() <= w.valid_from()) {
        return BadField("valid_until must be after valid_from");
      }
      return CheckText("ownership source", w.source(), 1024);
    }
    case pb::Record::kOrgFact: {
      const auto& f = r.org_fact();
      PROV_RETURN_IF_ERROR(CheckOrgId("org_id", f.org_id()));
      switch (f.fact_case()) {
        case pb::OrgFact::kCountry:
          PROV_RETURN_IF_ERROR(CheckCountry("country", f.country(), false));
          break;
        case pb::OrgFact::kLaw:
          PROV_RETURN_IF_ERROR(CheckLawCode("law", f.law()));
          break;
        case pb::OrgFact::kStateOwned:
          break;
        case pb::OrgFact::FACT_NOT_SET:
          return BadField("an org fact states a country, a law or state ownership");
      }
      PROV_RETURN_IF_ERROR(CheckWindow(f.valid_from(), f.valid_until()));
      return CheckSource("org fact", f.source());
    }
    case pb::Record::kNoRegistrableOwner: {
      const auto& n = r.no_registrable_owner();
      PROV_RETURN_IF_ERROR(CheckOrgId("org_id", n.org_id()));
      if (n.threshold_bp() == 0 || n.threshold_bp() > 10000) {
        return BadField("threshold_bp must be 1 to 10000");
      }
      PROV_RETURN_IF_ERROR(CheckWindow(n.valid_from(), n.valid_until()));
      return CheckSource("no-registrable-owner statement", n.source());
    }
    case pb::Record::kRuling: {
      const auto& u = r.ruling();
      PROV_RETURN_IF_ERROR(CheckOrgId("org_id", u.org_id()));
      PROV_RETURN_IF_ERROR(CheckLawCode("law", u.law()));
      PROV_RETURN_IF_ERROR(CheckSource("ruling", u.source()));
      return CheckText("reasoning", u.reasoning(), 4096);
    }
    case pb::Record::kKeyEnrollment: {
      const auto& e = r.key_enrollment();
      PROV_RETURN_IF_ERROR(CheckLen("public_key", e.public_key(), 32));
      PROV_RETURN_IF_ERROR(CheckOrgId("org_id", e.org_id()));
      if (e.roles().empty()) return BadField("a key enrollment needs at least one role");
      for (int role : e.roles()) {
        if (role == pb::ROLE_UNSPECIFIED || !pb::Role_IsValid(role)) {
          return BadField("unknown role " + std::to_string(role));
        }
      }
      if (e.not_after() != 0 && e.not_after() <= e.not_before()) {
        return BadField("not_after must be after not_before");
      }
      if (!e.renews().empty()) PROV_RETURN_IF_ERROR(CheckLen("renews", e.renews(), 32));
      return Status::Ok();
    }
    case pb::Record::kKeyRevocation:
      PROV_RETURN_IF_ERROR(CheckLen("key_id", r.key_revocation().key_id(), 32));
      return CheckText("reason", r.key_revocation().reason(), 1024);
    case pb::Record::kComponent: {
      const auto& c = r.component();
      PROV_RETURN_IF_ERROR(CheckOrgId("maker_org", c.maker_org()));
      PROV_RETURN_IF_ERROR(CheckId("part_number", c.part_number()));
      if (c.kind() == pb::COMPONENT_KIND_UNSPECIFIED || !pb::ComponentKind_IsValid(c.kind())) {
        return BadField("component kind is unspecified or unknown");
      }
      PROV_RETURN_IF_ERROR(CheckCountry("country_of_origin", c.country_of_origin(), false));
      return CheckText("description", c.description(), 1024);
    }
    case pb::Record::kDeviceModel: {
      const auto& m = r.device_model();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", m.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckId("model_id", m.model_id()));
      PROV_RETURN_IF_ERROR(CheckOrgId("brand_org", m.brand_org()));
      for (const auto& line : m.bom()) {
        PROV_RETURN_IF_ERROR(CheckComponentRef(line.component()));
        PROV_RETURN_IF_ERROR(
            CheckCountry("assembly_test_location", line.assembly_test_location(), true));
      }
      if (m.shown_manufacturer_size() > 16 || m.shown_model_size() > 16) {
        return BadField("at most 16 shown manufacturer and model strings");
      }
      for (const auto& v : m.shown_manufacturer())
        PROV_RETURN_IF_ERROR(CheckId("shown_manufacturer", v));
      for (const auto& v : m.shown_model()) PROV_RETURN_IF_ERROR(CheckId("shown_model", v));
      std::set<int> kinds;
      for (int k : m.equipment()) {
        if (k == pb::EQUIPMENT_KIND_UNSPECIFIED || !pb::EquipmentKind_IsValid(k)) {
          return BadField("equipment kind " + std::to_string(k) + " is unspecified or unknown");
        }
        if (!kinds.insert(k).second) return BadField("equipment kind listed twice");
      }
      return Status::Ok();
    }
    case pb::Record::kFirmwareRelease: {
      const auto& f = r.firmware_release();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", f.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckId("model_id", f.model_id()));
      PROV_RETURN_IF_ERROR(CheckId("version", f.version()));
      return CheckLen("sha256", f.sha256(), 32);
    }
    case pb::Record::kFirmwareRevocation: {
      const auto& f = r.firmware_revocation();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", f.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckId("model_id", f.model_id()));
      return CheckId("version", f.version());
    }
    case pb::Record::kDevice: {
      const auto& d = r.device();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", d.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckId("serial", d.serial()));
      PROV_RETURN_IF_ERROR(CheckId("model_id", d.model_id()));
      PROV_RETURN_IF_ERROR(CheckCountry("assembly_country", d.assembly_country(), true));
      return CheckDeviceIdentity(d);
    }
    case pb::Record::kTransfer: {
      const auto& t = r.transfer();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", t.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckOrgId("from_org", t.from_org()));
      PROV_RETURN_IF_ERROR(CheckOrgId("to_org", t.to_org()));
      if (t.from_org() == t.to_org()) return BadField("a transfer must change custodian");
      if (t.serials().empty()) return BadField("a transfer needs at least one serial");
      std::set<std::string_view> seen;
      for (const auto& s : t.serials()) {
        PROV_RETURN_IF_ERROR(CheckId("serial", s));
        if (!seen.insert(s).second) return BadField("serial " + s + " is listed twice");
      }
      return CheckText("reference", t.reference(), 256);
    }
    case pb::Record::kCommissioning: {
      const auto& c = r.commissioning();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", c.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckId("serial", c.serial()));
      PROV_RETURN_IF_ERROR(CheckOrgId("installer_org", c.installer_org()));
      PROV_RETURN_IF_ERROR(CheckId("site", c.site()));
      PROV_RETURN_IF_ERROR(CheckLen("identity_spki_sha256", c.identity_spki_sha256(), 32));
      PROV_RETURN_IF_ERROR(CheckText("proven", c.proven(), 1024));
      if (c.verdict() != "TRUSTED" && c.verdict() != "REJECTED" && c.verdict() != "UNVERIFIED") {
        return BadField("verdict must be TRUSTED, REJECTED or UNVERIFIED");
      }
      PROV_RETURN_IF_ERROR(CheckId("checkpoint_origin", c.checkpoint_origin()));
      PROV_RETURN_IF_ERROR(CheckLen("checkpoint_root", c.checkpoint_root(), 32));
      if (c.checkpoint_size() == 0) return BadField("checkpoint_size must be at least 1");
      if (c.scanned_at() <= 0) return BadField("scanned_at must be set");
      return Status::Ok();
    }
    case pb::Record::kDeviceStatus: {
      const auto& s = r.device_status();
      PROV_RETURN_IF_ERROR(CheckOrgId("manufacturer_org", s.manufacturer_org()));
      PROV_RETURN_IF_ERROR(CheckId("serial", s.serial()));
      if (s.condition() == pb::DEVICE_CONDITION_UNSPECIFIED ||
          !pb::DeviceCondition_IsValid(s.condition())) {
        return BadField("device condition is unspecified or unknown");
      }
      return CheckText("note", s.note(), 1024);
    }
    case pb::Record::kIndexRoot: {
      const auto& x = r.index_root();
      PROV_RETURN_IF_ERROR(CheckId("origin", x.origin()));
      PROV_RETURN_IF_ERROR(CheckLen("index root", x.root(), 32));
      if (x.covered_size() == 0) return BadField("an index root covers at least the genesis");
      return Status::Ok();
    }
    case pb::Record::KIND_NOT_SET:
      break;
  }
  return InvalidArgument("UNKNOWN_RECORD_KIND", "record has no known kind");
}

template <typename M>
Result<bool> Load(const StateView& s, const std::string& key, M* out) {
  return GetMessage(s, key, out);
}

void Store(StateOverlay& s, std::string key, const Message& m) {
  s.Put(std::move(key), m.SerializeAsString());
}

// The signers of a record, resolved against state.
struct Signers {
  int authority = 0;  // how many are keys of the current authority set
  std::vector<pb::KeyState> enrolled;
  // Of an AuthoritySet record: the keys it adds that signed it.
  std::set<std::string> newcomers;
};

bool InSet(const pb::AuthoritySet& set, std::string_view public_key) {
  return std::any_of(set.authority_keys().begin(), set.authority_keys().end(),
                     [&](const pb::AuthorityKey& a) { return a.public_key() == public_key; });
}

Result<Signers> ResolveSigners(const StateView& s, const pb::AuthoritySet& auth,
                               const PreparedRecord& rec) {
  Signers out;
  int64_t t = rec.record.issued_at();
  for (const PublicKey& pk : rec.signers) {
    std::string_view pks = AsStringView(pk);
    if (InSet(auth, pks)) {
      ++out.authority;
      continue;
    }
    if (rec.record.has_authority_set() && InSet(rec.record.authority_set(), pks)) {
      out.newcomers.insert(std::string(pks));
      continue;
    }
    pb::KeyState ks;
    PROV_ASSIGN_OR_RETURN(bool found, Load(s, state_key::Key(KeyId(pk)), &ks));
    std::string id = HexEncode(KeyId(pk)).substr(0, 16);
    if (!found) {
      return PermissionDenied("UNKNOWN_SIGNER", "key " + id + " is not enrolled in this ledger");
    }
    if (ks.revoked()) {
      return PermissionDenied("REVOKED_KEY", "key " + id + " of " + ks.enrollment().org_id() +
                                                 " was revoked at entry #" +
                                                 std::to_string(ks.revoked_index()));
    }
    if (t < ks.enrollment().not_before()) {
      return PermissionDenied("KEY_NOT_YET_VALID", "key " + id + " is not valid before " +
                                                       UtcDate(ks.enrollment().not_before()));
    }
    if (ks.enrollment().not_after() != 0 && t >= ks.enrollment().not_after()) {
      return PermissionDenied(
          "KEY_EXPIRED", "key " + id + " of " + ks.enrollment().org_id() + " expired on " +
                             UtcDate(ks.enrollment().not_after()) +
                             (ks.renewed_by().empty()
                                  ? std::string(" (renew a key before it expires)")
                                  : " (renewed by key " +
                                        HexEncode(AsBytes(ks.renewed_by())).substr(0, 16) + ")"));
    }
    out.enrolled.push_back(std::move(ks));
  }
  return out;
}

Status RequireAuthority(const Signers& s, const pb::AuthoritySet& auth, const std::string& kind) {
  if (!s.enrolled.empty()) {
    return PermissionDenied("WRONG_ROLE", kind +
                                              " records are signed by authority "
                                              "keys only, not by org key of " +
                                              s.enrolled[0].enrollment().org_id());
  }
  if (s.authority < static_cast<int>(auth.threshold())) {
    return PermissionDenied("INSUFFICIENT_SIGNATURES",
                            kind + " records need " + std::to_string(auth.threshold()) +
                                " distinct signatures of the current authority keys, got " +
                                std::to_string(s.authority));
  }
  return Status::Ok();
}

bool HasRole(const pb::KeyState& k, pb::Role role) {
  const auto& roles = k.enrollment().roles();
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

// At least one signer is a key of `org` with `role`. (Co-signatures by other
// valid keys, authority keys included, are allowed.)
Status RequireOrgRole(const Signers& s, const std::string& org, pb::Role role,
                      const std::string& kind) {
  for (const auto& k : s.enrolled) {
    if (k.enrollment().org_id() == org && HasRole(k, role)) return Status::Ok();
  }
  const char* name = role == pb::ROLE_MANUFACTURER ? "manufacturer"
                     : role == pb::ROLE_INSTALLER  ? "installer"
                                                   : "custodian";
  return PermissionDenied("WRONG_ROLE", kind + " must be signed by a " + name + " key of " + org);
}

Result<pb::OrgState> LoadOrg(const StateView& s, const std::string& org_id,
                             const std::string& role) {
  pb::OrgState os;
  PROV_ASSIGN_OR_RETURN(bool found, Load(s, state_key::Org(org_id), &os));
  if (!found) {
    return FailedPrecondition("UNKNOWN_ORG",
                              role + " " + org_id + " is not a registered organization");
  }
  return os;
}

void AppendOrgIndex(StateOverlay& s, pb::OrgState os, uint64_t index) {
  std::string id = os.current().org_id();
  os.add_record_indices(index);
  Store(s, state_key::Org(id), os);
}

Result<pb::DeviceState> LoadDevice(const StateView& s, const std::string& mfr,
                                   const std::string& serial) {
  pb::DeviceState d;
  PROV_ASSIGN_OR_RETURN(bool found, Load(s, state_key::Device(mfr, serial), &d));
  if (!found) {
    return FailedPrecondition("UNKNOWN_DEVICE",
                              "device " + mfr + "/" + serial + " is not registered");
  }
  return d;
}

std::string Idx(uint64_t i) { return "#" + std::to_string(i); }

Status RequireLaw(const StateView& s, const std::string& law, const std::string& what) {
  pb::LawState unused;
  PROV_ASSIGN_OR_RETURN(bool known, Load(s, state_key::Law(law), &unused));
  if (!known) {
    return FailedPrecondition("DANGLING_REFERENCE", what + " names law " + law +
                                                        ", which is not registered (register it "
                                                        "with a Law record first)");
  }
  return Status::Ok();
}

// "country", "law CN-NIL-2017" or "state ownership": what a fact is about.
std::string FactTopic(const pb::OrgFact& f) {
  if (f.has_law()) return "law " + f.law();
  return f.has_country() ? "country" : "state ownership";
}

// A dated fact into its org's state: a correction (same topic and
// valid_from) replaces; a window overlapping another of the same topic is
// refused.
Status AddFact(pb::OrgState* os, const pb::OrgFact& f, uint64_t index) {
  pb::OrgFactEntry* same = nullptr;
  for (auto& e : *os->mutable_facts()) {
    if (e.fact().fact_case() != f.fact_case() || FactTopic(e.fact()) != FactTopic(f)) continue;
    if (e.fact().valid_from() == f.valid_from()) {
      same = &e;
    } else if (Overlaps(e.fact().valid_from(), e.fact().valid_until(), f.valid_from(),
                        f.valid_until())) {
      return FailedPrecondition(
          "FACT_OVERLAPS", "the " + FactTopic(f) + " of " + f.org_id() + " " +
                               Window(f.valid_from(), f.valid_until()) + " overlaps org fact " +
                               Idx(e.index()) + " (" +
                               Window(e.fact().valid_from(), e.fact().valid_until()) +
                               "); correct that one (same valid_from) to close its window");
    }
  }
  if (!same) same = os->add_facts();
  *same->mutable_fact() = f;
  same->set_index(index);
  return Status::Ok();
}

// Whether a stake contradicts a no-registrable-owner statement.
bool Contradicts(const pb::Ownership& w, const pb::NoRegistrableOwner& n) {
  return (w.stake_bp() >= n.threshold_bp() || w.control()) &&
         Overlaps(w.valid_from(), w.valid_until(), n.valid_from(), n.valid_until());
}

std::string StakeText(const pb::Ownership& w, uint64_t index) {
  return "the stake of " + w.owner_org() + " in " + w.owned_org() + " " + Idx(index) + " (" +
         std::to_string(w.stake_bp()) + " bp" + (w.control() ? ", with control" : "") + ", " +
         Window(w.valid_from(), w.valid_until()) + ")";
}

std::string NoOwnerText(const pb::NoRegistrableOwner& n, uint64_t index) {
  return "the statement " + Idx(index) + " that " + n.org_id() + " has no owner at or above " +
         std::to_string(n.threshold_bp()) + " bp " + Window(n.valid_from(), n.valid_until());
}

Status AddNoOwner(pb::OrgState* os, const pb::NoRegistrableOwner& n, uint64_t index) {
  pb::NoOwnerEntry* same = nullptr;
  for (auto& e : *os->mutable_no_owner()) {
    const auto& x = e.statement();
    if (x.valid_from() == n.valid_from()) {
      same = &e;
    } else if (Overlaps(x.valid_from(), x.valid_until(), n.valid_from(), n.valid_until())) {
      return FailedPrecondition("FACT_OVERLAPS", "a no-registrable-owner statement for " +
                                                     n.org_id() + " " +
                                                     Window(n.valid_from(), n.valid_until()) +
                                                     " overlaps " + NoOwnerText(x, e.index()));
    }
  }
  for (const auto& e : os->owners()) {
    if (Contradicts(e.stake(), n)) {
      return FailedPrecondition("CONTRADICTS_OWNERSHIP",
                                "no owner of " + n.org_id() + " at or above " +
                                    std::to_string(n.threshold_bp()) + " bp " +
                                    Window(n.valid_from(), n.valid_until()) + " contradicts " +
                                    StakeText(e.stake(), e.index()));
    }
  }
  if (!same) same = os->add_no_owner();
  *same->mutable_statement() = n;
  same->set_index(index);
  return Status::Ok();
}

// A stake into the owned org's state: a correction (same owner and
// valid_from) replaces; an overlapping window for the same owner, or a
// stake a no-registrable-owner statement rules out, is refused.
Status AddStake(pb::OrgState* owned, const pb::Ownership& w, uint64_t index) {
  pb::StakeEntry* same = nullptr;
  for (auto& e : *owned->mutable_owners()) {
    const auto& x = e.stake();
    if (x.owner_org() != w.owner_org()) continue;
    if (x.valid_from() == w.valid_from()) {
      same = &e;
    } else if (Overlaps(x.valid_from(), x.valid_until(), w.valid_from(), w.valid_until())) {
      return FailedPrecondition("OWNERSHIP_OVERLAPS",
                                "the stake of " + w.owner_org() + " in " + w.owned_org() + " " +
                                    Window(w.valid_from(), w.valid_until()) + " overlaps " +
                                    StakeText(x, e.index()) +
                                    "; correct that one (same valid_from) to close its window");
    }
  }
  for (const auto& e : owned->no_owner()) {
    if (Contradicts(w, e.statement())) {
      return FailedPrecondition("CONTRADICTS_OWNERSHIP", StakeText(w, index) + " contradicts " +
                                                             NoOwnerText(e.statement(), e.index()));
    }
  }
  if (!same) same = owned->add_owners();
  *same->mutable_stake() = w;
  same->set_index(index);
  return Status::Ok();
}

// The current authority set and the leaf it came from (0: the genesis).
Result<pb::AuthorityState> LoadAuthorities(const StateView& s) {
  pb::AuthorityState st;
  PROV_ASSIGN_OR_RETURN(bool rotated, Load(s, state_key::Authorities(), &st));
  if (rotated) return st;
  pb::Genesis g;
  PROV_ASSIGN_OR_RETURN(bool have, Load(s, state_key::Genesis(), &g));
  if (!have) return FailedPrecondition("NO_GENESIS", "ledger has no genesis");
  *st.mutable_set()->mutable_authority_keys() = g.authority_keys();
  st.mutable_set()->set_threshold(g.threshold());
  st.set_index(0);
  return st;
}

// The log's key rotation at leaf `index`: for this log, signed by the old
// key and the new one and nobody else, continuing the chain, and taking
// effect at the next tree size.
Status ApplyLogKeyRotation(StateOverlay& s, const pb::Genesis& g, const PreparedRecord& rec,
                           uint64_t index) {
  const auto& k = rec.record.log_key_rotation();
  if (k.origin() != g.origin()) {
    return FailedPrecondition("LOG_KEY_FOREIGN",
                              "a log key rotation of " + k.origin() + ", not " + g.origin());
  }
  if (k.from_size() != index + 1) {
    return FailedPrecondition(
        "BAD_ROTATION", "a log key rotation at " + Idx(index) + " takes effect at tree size " +
                            std::to_string(index + 1) + ", not " + std::to_string(k.from_size()));
  }
  const auto old_key = ParseVerifierKey(k.old_key());
  const auto new_key = ParseVerifierKey(k.new_key());
  const bool by_old =
      std::find(rec.signers.begin(), rec.signers.end(), old_key->public_key) != rec.signers.end();
  const bool by_new =
      std::find(rec.signers.begin(), rec.signers.end(), new_key->public_key) != rec.signers.end();
  if (!by_old || !by_new || rec.signers.size() != 2) {
    return PermissionDenied("BAD_ROTATION",
                            "a log key rotation is signed by the old log key and the new one, "
                            "and by no other key");
  }
  pb::LogKeyState st;
  PROV_ASSIGN_OR_RETURN(bool rotated, Load(s, state_key::LogKey(), &st));
  if (rotated && st.rotation().new_key() != k.old_key()) {
    return FailedPrecondition("BAD_ROTATION_CHAIN", "the rotation replaces key " + old_key->name +
                                                        ", but the log key since " +
                                                        Idx(st.index()) + " is " +
                                                        st.rotation().new_key());
  }
  *st.mutable_rotation() = k;
  st.set_index(index);
  st.add_indices(index);
  Store(s, state_key::LogKey(), st);
  return Status::Ok();
}

// A renewal of `old` by enrollment `e` (the same key or its successor),
// logged at `issued_at`: of the same org, not revoked, and leaving no gap.
Status CheckRenewal(const pb::KeyState& old, const pb::KeyEnrollment& e, int64_t issued_at) {
  const std::string id = HexEncode(KeyId(AsBytes(old.enrollment().public_key()))).substr(0, 16);
  const int64_t until = old.enrollment().not_after();
  if (old.enrollment().org_id() != e.org_id()) {
    return FailedPrecondition("BAD_RENEWAL", "key " + id + " belongs to " +
                                                 old.enrollment().org_id() + ", not " + e.org_id());
  }
  if (old.revoked()) {
    return FailedPrecondition("BAD_RENEWAL", "key " + id + " was revoked at " +
                                                 Idx(old.revoked_index()) +
                                                 "; a revoked key is replaced, not renewed");
  }
  if (until == 0) {
    if (e.public_key() == old.enrollment().public_key()) {
      return FailedPrecondition("BAD_RENEWAL", "key " + id + " never expires; nothing to renew");
    }
    return Status::Ok();
  }
  if (issued_at >= until) {
    return FailedPrecondition("RENEWAL_GAP", "key " + id + " expired on " + UtcDate(until) +
                                                 ", before this renewal; enroll a new key");
  }
  if (e.not_before() > until) {
    return FailedPrecondition("RENEWAL_GAP", "the renewal starts on " + UtcDate(e.not_before()) +
                                                 ", after key " + id + " expires (" +
                                                 UtcDate(until) + "): a renewal leaves no gap");
  }
  if (e.public_key() == old.enrollment().public_key() && e.not_after() != 0 &&
      e.not_after() <= until) {
    return FailedPrecondition("BAD_RENEWAL",
                              "the renewal of key " + id + " ends on " + UtcDate(e.not_after()) +
                                  ", not after its current expiry (" + UtcDate(until) + ")");
  }
  return Status::Ok();
}

Status ApplyKind(StateOverlay& s, const pb::Genesis& g, const pb::AuthoritySet& auth,
                 const PreparedRecord& rec, const Signers& signers, uint64_t index,
                 ApplyMode mode) {
  const bool subset = mode == ApplyMode::kEvidenceSubset;
  const pb::Record& r = rec.record;
  switch (r.kind_case()) {
    case pb::Record::kOrganization: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "organization"));
      for (const auto& law : r.organization().laws()) {
        PROV_RETURN_IF_ERROR(RequireLaw(s, law, "organization " + r.organization().org_id()));
      }
      pb::OrgState os;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, state_key::Org(r.organization().org_id()), &os));
      (void)found;  // a later version supersedes
      for (const auto& law : r.organization().laws()) {
        for (const auto& e : os.facts()) {
          if (e.fact().has_law() && e.fact().law() == law) {
            return FailedPrecondition(
                "FACT_OVERLAPS", "organization " + r.organization().org_id() + " lists law " + law +
                                     " as binding at all times, but org fact " + Idx(e.index()) +
                                     " dates it (" +
                                     Window(e.fact().valid_from(), e.fact().valid_until()) +
                                     "): leave it out of the record, or correct the fact");
          }
        }
      }
      *os.mutable_current() = r.organization();
      os.set_latest_index(index);
      AppendOrgIndex(s, std::move(os), index);
      return Status::Ok();
    }
    case pb::Record::kLaw: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "law"));
      pb::LawState ls;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, state_key::Law(r.law().code()), &ls));
      (void)found;  // a later version supersedes
      *ls.mutable_current() = r.law();
      ls.add_record_indices(index);
      Store(s, state_key::Law(r.law().code()), ls);
      return Status::Ok();
    }
    case pb::Record::kDeviceIdentityCa: {
      const auto& c = r.device_identity_ca();
      PROV_RETURN_IF_ERROR(RequireOrgRole(signers, c.manufacturer_org(), pb::ROLE_MANUFACTURER,
                                          "a device-identity CA"));
      PROV_ASSIGN_OR_RETURN(auto org, LoadOrg(s, c.manufacturer_org(), "manufacturer"));
      const std::string key = state_key::IdentityCa(c.manufacturer_org(), c.ca_id());
      pb::IdentityCaState existing;
      PROV_ASSIGN_OR_RETURN(bool dup, Load(s, key, &existing));
      if (dup) {
        return AlreadyExists("DUPLICATE_CA", "device-identity CA " + c.manufacturer_org() + "/" +
                                                 c.ca_id() + " is already registered " +
                                                 Idx(existing.index()));
      }
      // A root belongs to one maker: another org cannot claim its devices.
      const std::string root_key = state_key::IdentityCaRoot(Sha256(AsBytes(c.certificates(0))));
      pb::IdentityCaState root_owner;
      PROV_ASSIGN_OR_RETURN(bool root_taken, Load(s, root_key, &root_owner));
      if (root_taken && root_owner.ca().manufacturer_org() != c.manufacturer_org()) {
        return AlreadyExists("CA_ROOT_TAKEN", "that root CA is registered by " +
                                                  root_owner.ca().manufacturer_org() + " " +
                                                  Idx(root_owner.index()));
      }
      pb::IdentityCaState st;
      *st.mutable_ca() = c;
      st.set_index(index);
      Store(s, key, st);
      for (const auto& der : c.certificates()) {
        PROV_ASSIGN_OR_RETURN(auto cert, ParseCertificateDer(der));
        const std::string subject_key = state_key::IdentityCaSubject(Sha256(cert.subject));
        pb::IdentityCaSubjects subjects;
        PROV_ASSIGN_OR_RETURN(bool unused, Load(s, subject_key, &subjects));
        (void)unused;
        auto* ref = subjects.add_cas();
        ref->set_manufacturer_org(c.manufacturer_org());
        ref->set_ca_id(c.ca_id());
        Store(s, subject_key, subjects);
      }
      if (!root_taken) {
        pb::IdentityCaState owner;
        owner.mutable_ca()->set_manufacturer_org(c.manufacturer_org());
        owner.mutable_ca()->set_ca_id(c.ca_id());
        owner.set_index(index);
        Store(s, root_key, owner);
      }
      AppendOrgIndex(s, std::move(org), index);
      return Status::Ok();
    }
    case pb::Record::kDeviceIdentityCaRevocation: {
      const auto& v = r.device_identity_ca_revocation();
      const bool by_authorities =
          signers.enrolled.empty() && signers.authority >= static_cast<int>(auth.threshold());
      if (!by_authorities) {
        PROV_RETURN_IF_ERROR(RequireOrgRole(signers, v.manufacturer_org(), pb::ROLE_MANUFACTURER,
                                            "a device-identity CA revocation"));
      }
      const std::string key = state_key::IdentityCa(v.manufacturer_org(), v.ca_id());
      pb::IdentityCaState st;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, key, &st));
      if (!found) {
        return FailedPrecondition(
            "DANGLING_REFERENCE",
            "no device-identity CA " + v.manufacturer_org() + "/" + v.ca_id() + " is registered");
      }
      if (st.revoked()) {
        return AlreadyExists("ALREADY_REVOKED", "device-identity CA " + v.ca_id() +
                                                    " was revoked " + Idx(st.revoked_index()));
      }
      st.set_revoked(true);
      st.set_revoked_effective(v.effective_time());
      st.set_revoked_index(index);
      Store(s, key, st);
      PROV_ASSIGN_OR_RETURN(auto org, LoadOrg(s, v.manufacturer_org(), "manufacturer"));
      AppendOrgIndex(s, std::move(org), index);
      return Status::Ok();
    }
    case pb::Record::kMacBlock: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "MAC block"));
      const auto& b = r.mac_block();
      PROV_ASSIGN_OR_RETURN(auto org, LoadOrg(s, b.org_id(), "MAC block holder"));
      // The block itself or a shorter block containing it, vetted for
      // another org. (IEEE MA-M and MA-S blocks are carved from IEEE's own
      // ranges, so a block is never legitimately inside another org's.)
      for (size_t len : {size_t{6}, size_t{7}, size_t{9}}) {
        if (len > b.prefix().size()) break;
        pb::MacBlockState held;
        PROV_ASSIGN_OR_RETURN(bool taken,
                              Load(s, state_key::MacBlock(b.prefix().substr(0, len)), &held));
        if (taken && held.current().org_id() != b.org_id()) {
          return AlreadyExists("MAC_BLOCK_TAKEN", "MAC block " + b.prefix() + " lies in block " +
                                                      held.current().prefix() + ", vetted as " +
                                                      held.current().org_id() + "'s " +
                                                      Idx(held.index()));
        }
      }
      pb::MacBlockState ms;
      *ms.mutable_current() = b;
      ms.set_index(index);
      Store(s, state_key::MacBlock(b.prefix()), ms);
      AppendOrgIndex(s, std::move(org), index);
      return Status::Ok();
    }
    case pb::Record::kOwnership: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "ownership"));
      const auto& w = r.ownership();
      if (subset) {
        pb::OrgState unused;
        PROV_ASSIGN_OR_RETURN(bool have_owner, Load(s, state_key::Org(w.owner_org()), &unused));
        PROV_ASSIGN_OR_RETURN(bool have_owned, Load(s, state_key::Org(w.owned_org()), &unused));
        if (!have_owner || !have_owned) return Status::Ok();
      }
      PROV_ASSIGN_OR_RETURN(auto owner, LoadOrg(s, w.owner_org(), "owner"));
      PROV_ASSIGN_OR_RETURN(auto owned, LoadOrg(s, w.owned_org(), "owned org"));
      PROV_RETURN_IF_ERROR(AddStake(&owned, w, index));
      AppendOrgIndex(s, std::move(owner), index);
      AppendOrgIndex(s, std::move(owned), index);
      return Status::Ok();
    }
    case pb::Record::kOrgFact: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "org fact"));
      const auto& f = r.org_fact();
      if (subset) {
        pb::OrgState unused;
        PROV_ASSIGN_OR_RETURN(bool have, Load(s, state_key::Org(f.org_id()), &unused));
        if (!have) return Status::Ok();
      }
      PROV_ASSIGN_OR_RETURN(auto os, LoadOrg(s, f.org_id(), "org"));
      if (f.has_law()) {
        PROV_RETURN_IF_ERROR(RequireLaw(s, f.law(), "org fact for " + f.org_id()));
        const auto& laws = os.current().laws();
        if (std::find(laws.begin(), laws.end(), f.law()) != laws.end()) {
          return FailedPrecondition("FACT_OVERLAPS",
                                    "organization " + f.org_id() + " " + Idx(os.latest_index()) +
                                        " lists law " + f.law() +
                                        " as binding at all times; a dated fact for it would "
                                        "overlap (log the organization without it first)");
        }
      }
      PROV_RETURN_IF_ERROR(AddFact(&os, f, index));
      AppendOrgIndex(s, std::move(os), index);
      return Status::Ok();
    }
    case pb::Record::kNoRegistrableOwner: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "no-registrable-owner statement"));
      const auto& n = r.no_registrable_owner();
      if (subset) {
        pb::OrgState unused;
        PROV_ASSIGN_OR_RETURN(bool have, Load(s, state_key::Org(n.org_id()), &unused));
        if (!have) return Status::Ok();
      }
      PROV_ASSIGN_OR_RETURN(auto os, LoadOrg(s, n.org_id(), "org"));
      PROV_RETURN_IF_ERROR(AddNoOwner(&os, n, index));
      AppendOrgIndex(s, std::move(os), index);
      return Status::Ok();
    }
    case pb::Record::kRuling: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "ruling"));
      const auto& u = r.ruling();
      if (subset) {
        pb::OrgState unused;
        PROV_ASSIGN_OR_RETURN(bool have, Load(s, state_key::Org(u.org_id()), &unused));
        if (!have) return Status::Ok();
      }
      PROV_ASSIGN_OR_RETURN(auto os, LoadOrg(s, u.org_id(), "ruled org"));
      PROV_RETURN_IF_ERROR(RequireLaw(s, u.law(), "ruling on " + u.org_id()));
      pb::RulingEntry* e = nullptr;
      for (auto& x : *os.mutable_rulings()) {
        if (x.ruling().law() == u.law()) e = &x;  // a later ruling supersedes
      }
      if (!e) e = os.add_rulings();
      *e->mutable_ruling() = u;
      e->set_index(index);
      AppendOrgIndex(s, std::move(os), index);
      return Status::Ok();
    }
    case pb::Record::kKeyEnrollment: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "key enrollment"));
      const auto& e = r.key_enrollment();
      PROV_ASSIGN_OR_RETURN(auto org, LoadOrg(s, e.org_id(), "key owner"));
      if (InSet(auth, e.public_key())) {
        return AlreadyExists("KEY_ALREADY_ENROLLED", "that key is an authority key of this ledger");
      }
      const Hash id = KeyId(AsBytes(e.public_key()));
      std::string key = state_key::Key(id);
      pb::KeyState ks;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, key, &ks));
      const bool same_key = e.renews() == AsStringView(id);
      if (found && !same_key) {
        return AlreadyExists("KEY_ALREADY_ENROLLED",
                             "key is already enrolled for " + ks.enrollment().org_id() + " at " +
                                 Idx(ks.enrolled_index()) +
                                 " (to extend its window, renew it: renews = its own key id)");
      }
      if (same_key && !found) {
        return FailedPrecondition("UNKNOWN_KEY", "a renewal of key " + HexEncode(id).substr(0, 16) +
                                                     ", which is not enrolled");
      }
      if (same_key) {
        PROV_RETURN_IF_ERROR(CheckRenewal(ks, e, r.issued_at()));
        const int64_t from = std::min(ks.enrollment().not_before(), e.not_before());
        *ks.mutable_enrollment() = e;
        ks.mutable_enrollment()->set_not_before(from);
        ks.add_renewal_indices(index);
        Store(s, key, ks);
        AppendOrgIndex(s, std::move(org), index);
        return Status::Ok();
      }
      if (!e.renews().empty()) {
        const std::string old_key = state_key::Key(*ToHash(AsBytes(e.renews())));
        pb::KeyState old;
        PROV_ASSIGN_OR_RETURN(bool have_old, Load(s, old_key, &old));
        if (have_old) {
          PROV_RETURN_IF_ERROR(CheckRenewal(old, e, r.issued_at()));
          old.set_renewed_by(std::string(AsStringView(id)));
          Store(s, old_key, old);
        } else if (!subset) {
          return FailedPrecondition(
              "UNKNOWN_KEY", "the renewed key " + HexEncode(AsBytes(e.renews())).substr(0, 16) +
                                 " is not enrolled");
        }
      }
      *ks.mutable_enrollment() = e;
      ks.set_enrolled_index(index);
      Store(s, key, ks);
      AppendOrgIndex(s, std::move(org), index);
      return Status::Ok();
    }
    case pb::Record::kAuthoritySet: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "authority set"));
      const auto& next = r.authority_set();
      PROV_ASSIGN_OR_RETURN(pb::AuthorityState current, LoadAuthorities(s));
      if (next.replaces() != current.index()) {
        return FailedPrecondition(
            "STALE_AUTHORITY_SET",
            "the authority set replaces the set of " + Idx(next.replaces()) +
                ", but the current set is the one of " + Idx(current.index()) +
                (current.index() == 0 ? std::string(" (the genesis)") : std::string()) +
                "; draw it up again against the current set");
      }
      for (const auto& k : next.authority_keys()) {
        if (InSet(auth, k.public_key())) continue;
        if (!signers.newcomers.count(k.public_key())) {
          return PermissionDenied("NEW_KEY_MUST_SIGN",
                                  "authority key " + k.name() + " (" +
                                      HexEncode(KeyId(AsBytes(k.public_key()))).substr(0, 16) +
                                      ") is added, so it must sign the record that adds it");
        }
        pb::KeyState unused;
        PROV_ASSIGN_OR_RETURN(bool enrolled,
                              Load(s, state_key::Key(KeyId(AsBytes(k.public_key()))), &unused));
        if (enrolled) {
          return AlreadyExists("KEY_ALREADY_ENROLLED", "authority key " + k.name() +
                                                           " is enrolled as a key of " +
                                                           unused.enrollment().org_id());
        }
      }
      pb::AuthorityState st;
      *st.mutable_set() = next;
      st.set_index(index);
      Store(s, state_key::Authorities(), st);
      return Status::Ok();
    }
    case pb::Record::kKeyRevocation: {
      PROV_RETURN_IF_ERROR(RequireAuthority(signers, auth, "key revocation"));
      const auto& v = r.key_revocation();
      std::string key = state_key::Key(*ToHash(AsBytes(v.key_id())));
      pb::KeyState ks;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, key, &ks));
      if (!found) {
        return FailedPrecondition("UNKNOWN_KEY",
                                  "no enrolled key has id " + HexEncode(AsBytes(v.key_id())));
      }
      if (ks.revoked()) {
        return AlreadyExists("ALREADY_REVOKED",
                             "key was already revoked at " + Idx(ks.revoked_index()));
      }
      ks.set_revoked(true);
      ks.set_revoked_effective(v.effective_time());
      ks.set_revoked_index(index);
      Store(s, key, ks);
      PROV_ASSIGN_OR_RETURN(auto org, LoadOrg(s, ks.enrollment().org_id(), "key owner"));
      AppendOrgIndex(s, std::move(org), index);
      return Status::Ok();
    }
    case pb::Record::kComponent: {
      const auto& c = r.component();
      PROV_RETURN_IF_ERROR(
          RequireOrgRole(signers, c.maker_org(), pb::ROLE_MANUFACTURER, "a component"));
      std::string key = state_key::Component(c.maker_org(), c.part_number());
      pb::ComponentState cs;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, key, &cs));
      if (found) {
        return AlreadyExists("DUPLICATE_COMPONENT",
                             "component " + c.maker_org() + "/" + c.part_number() +
                                 " is already registered at " + Idx(cs.index()));
      }
      cs.set_index(index);
      Store(s, key, cs);
      return Status::Ok();
    }
    case pb::Record::kDeviceModel: {
      const auto& m = r.device_model();
      PROV_RETURN_IF_ERROR(
          RequireOrgRole(signers, m.manufacturer_org(), pb::ROLE_MANUFACTURER, "a device model"));
      PROV_RETURN_IF_ERROR(LoadOrg(s, m.brand_org(), "brand").status());
      for (const auto& line : m.bom()) {
        const auto& ref = line.component();
        pb::ComponentState cs;
        PROV_ASSIGN_OR_RETURN(
            bool found, Load(s, state_key::Component(ref.maker_org(), ref.part_number()), &cs));
        if (!found) {
          return FailedPrecondition("DANGLING_REFERENCE",
                                    "bill of materials names component " + ref.maker_org() + "/" +
                                        ref.part_number() + ", which is not registered");
        }
      }
      std::string key = state_key::Model(m.manufacturer_org(), m.model_id());
      pb::ModelState ms;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, key, &ms));
      if (found) {
        return AlreadyExists("DUPLICATE_MODEL", "model " + m.manufacturer_org() + "/" +
                                                    m.model_id() + " is already registered at " +
                                                    Idx(ms.index()));
      }
      *ms.mutable_model() = m;
      ms.set_index(index);
      Store(s, key, ms);
      return Status::Ok();
    }
    case pb::Record::kFirmwareRelease:
    case pb::Record::kFirmwareRevocation: {
      bool release = r.kind_case() == pb::Record::kFirmwareRelease;
      const std::string& mfr = release ? r.firmware_release().manufacturer_org()
                                       : r.firmware_revocation().manufacturer_org();
      const std::string& model =
          release ? r.firmware_release().model_id() : r.firmware_revocation().model_id();
      const std::string& version =
          release ? r.firmware_release().version() : r.firmware_revocation().version();
      PROV_RETURN_IF_ERROR(RequireOrgRole(signers, mfr, pb::ROLE_MANUFACTURER, "firmware"));
      std::string mkey = state_key::Model(mfr, model);
      pb::ModelState ms;
      PROV_ASSIGN_OR_RETURN(bool mfound, Load(s, mkey, &ms));
      if (!mfound) {
        return FailedPrecondition("DANGLING_REFERENCE", "firmware names model " + mfr + "/" +
                                                            model + ", which is not registered");
      }
      std::string fkey = state_key::Firmware(mfr, model, version);
      pb::FirmwareState fs;
      PROV_ASSIGN_OR_RETURN(bool ffound, Load(s, fkey, &fs));
      if (release) {
        if (ffound) {
          return AlreadyExists("DUPLICATE_FIRMWARE", "firmware " + version + " of " + model +
                                                         " is already released at " +
                                                         Idx(fs.release_index()));
        }
        fs.set_sha256(r.firmware_release().sha256());
        fs.set_release_index(index);
      } else {
        if (!ffound) {
          return FailedPrecondition("DANGLING_REFERENCE",
                                    "firmware " + version + " of " + model + " was never released");
        }
        if (fs.revoked()) {
          return AlreadyExists(
              "ALREADY_REVOKED",
              "firmware " + version + " was already revoked at " + Idx(fs.revoked_index()));
        }
        fs.set_revoked(true);
        fs.set_revoked_index(index);
      }
      Store(s, fkey, fs);
      ms.add_firmware_indices(index);
      Store(s, mkey, ms);
      return Status::Ok();
    }
    case pb::Record::kDevice: {
      const auto& d = r.device();
      PROV_RETURN_IF_ERROR(
          RequireOrgRole(signers, d.manufacturer_org(), pb::ROLE_MANUFACTURER, "a device"));
      pb::ModelState ms;
      PROV_ASSIGN_OR_RETURN(bool mfound,
                            Load(s, state_key::Model(d.manufacturer_org(), d.model_id()), &ms));
      if (!mfound) {
        return FailedPrecondition("DANGLING_REFERENCE",
                                  "device names model " + d.manufacturer_org() + "/" +
                                      d.model_id() + ", which is not registered");
      }
      std::string key = state_key::Device(d.manufacturer_org(), d.serial());
      pb::DeviceState ds;
      PROV_ASSIGN_OR_RETURN(bool found, Load(s, key, &ds));
      if (found) {
        return AlreadyExists("DUPLICATE_SERIAL",
                             "serial " + d.serial() + " of " + d.manufacturer_org() +
                                 " is already registered at " + Idx(ds.index()));
      }
      if (!d.identity_ca_id().empty()) {
        pb::IdentityCaState ca;
        PROV_ASSIGN_OR_RETURN(
            bool have_ca,
            Load(s, state_key::IdentityCa(d.manufacturer_org(), d.identity_ca_id()), &ca));
        if (!have_ca) {
          return FailedPrecondition("DANGLING_REFERENCE",
                                    "device names device-identity CA " + d.manufacturer_org() +
                                        "/" + d.identity_ca_id() + ", which is not registered");
        }
      }
      // A device key identifies one device: a second registration of the same
      // key (Ed25519, or a certificate's SubjectPublicKeyInfo) is a cloned
      // identity.
      std::vector<std::string> device_keys;
      if (!d.device_public_key().empty()) {
        device_keys.push_back(state_key::DeviceKey(KeyId(AsBytes(d.device_public_key()))));
      }
      std::string spki = d.identity_spki_sha256();
      if (spki.empty() && !d.identity_certificate().empty()) {
        PROV_ASSIGN_OR_RETURN(auto cert, ParseCertificateDer(d.identity_certificate()));
        spki = std::string(AsStringView(cert.spki_sha256));
      }
      if (!spki.empty()) {
        PROV_ASSIGN_OR_RETURN(Hash pin, ToHash(AsBytes(spki)));
        device_keys.push_back(state_key::DeviceKey(pin));
      }
      for (const auto& dkey : device_keys) {
        pb::ComponentState first;
        PROV_ASSIGN_OR_RETURN(bool key_used, Load(s, dkey, &first));
        if (key_used) {
          return AlreadyExists("DUPLICATE_DEVICE_KEY",
                               "that device key was already registered at " + Idx(first.index()));
        }
      }
      for (const auto& dkey : device_keys) {
        pb::ComponentState first;
        first.set_index(index);
        Store(s, dkey, first);
      }
      ds.set_index(index);
      ds.set_model_id(d.model_id());
      ds.set_device_public_key(d.device_public_key());
      ds.set_custodian_org(d.manufacturer_org());
      ds.set_condition(pb::DEVICE_CONDITION_ACTIVE);
      ds.add_record_indices(index);
      Store(s, key, ds);
      return Status::Ok();
    }
    case pb::Record::kTransfer: {
      const auto& t = r.transfer();
      PROV_RETURN_IF_ERROR(RequireOrgRole(signers, t.from_org(), pb::ROLE_CUSTODIAN, "a transfer"));
      PROV_RETURN_IF_ERROR(LoadOrg(s, t.to_org(), "recipient").status());
      for (const auto& serial : t.serials()) {
        if (subset) {
          pb::DeviceState unused;
          PROV_ASSIGN_OR_RETURN(bool held,
                                Load(s, state_key::Device(t.manufacturer_org(), serial), &unused));
          if (!held) continue;
        }
        PROV_ASSIGN_OR_RETURN(auto ds, LoadDevice(s, t.manufacturer_org(), serial));
        if (ds.custodian_org() != t.from_org()) {
          return PermissionDenied("NOT_CUSTODIAN", t.from_org() + " does not hold device " +
                                                       serial +
                                                       " (custodian: " + ds.custodian_org() + ")");
        }
        ds.set_custodian_org(t.to_org());
        ds.add_record_indices(index);
        Store(s, state_key::Device(t.manufacturer_org(), serial), ds);
      }
      return Status::Ok();
    }
    case pb::Record::kDeviceStatus: {
      const auto& st = r.device_status();
      PROV_ASSIGN_OR_RETURN(auto ds, LoadDevice(s, st.manufacturer_org(), st.serial()));
      bool allowed =
          signers.enrolled.empty() && signers.authority >= static_cast<int>(auth.threshold());
      for (const auto& k : signers.enrolled) {
        const std::string& org = k.enrollment().org_id();
        if (org == ds.custodian_org() || org == st.manufacturer_org()) allowed = true;
      }
      if (!allowed) {
        return PermissionDenied("WRONG_ROLE", "device status is signed by the custodian (" +
                                                  ds.custodian_org() +
                                                  "), the manufacturer or the authorities");
      }
      ds.set_condition(st.condition());
      ds.add_record_indices(index);
      Store(s, state_key::Device(st.manufacturer_org(), st.serial()), ds);
      return Status::Ok();
    }
    case pb::Record::kCommissioning: {
      const auto& c = r.commissioning();
      PROV_RETURN_IF_ERROR(
          RequireOrgRole(signers, c.installer_org(), pb::ROLE_INSTALLER, "a commissioning"));
      PROV_ASSIGN_OR_RETURN(auto ds, LoadDevice(s, c.manufacturer_org(), c.serial()));
      // A scan judged against a head the log had not reached is not a scan.
      if (c.checkpoint_size() > index) {
        return FailedPrecondition("CHECKPOINT_FROM_FUTURE",
                                  "the scan names a checkpoint of size " +
                                      std::to_string(c.checkpoint_size()) +
                                      ", larger than the log was (" + std::to_string(index) + ")");
      }
      ds.add_record_indices(index);
      Store(s, state_key::Device(c.manufacturer_org(), c.serial()), ds);
      return Status::Ok();
    }
    case pb::Record::kIndexRoot: {
      // The log's own leaf. Its root is checked by whoever keeps the index
      // (verifier::IndexReplay); here only where it stands.
      const auto& x = r.index_root();
      if (x.origin() != g.origin()) {
        return FailedPrecondition("INDEX_ROOT_FOREIGN", "the index root at " + std::string("#") +
                                                            std::to_string(index) + " is for log " +
                                                            x.origin() + ", not " + g.origin());
      }
      if (x.covered_size() != index) {
        return FailedPrecondition("INDEX_ROOT_MISPLACED",
                                  "the index root at #" + std::to_string(index) +
                                      " says it covers " + std::to_string(x.covered_size()) +
                                      " leaves, not " + std::to_string(index));
      }
      return Status::Ok();
    }
    case pb::Record::kGenesis:
    case pb::Record::kLogKeyRotation:  // applied before signers are resolved
    case pb::Record::KIND_NOT_SET:
      break;
  }
  return FailedPrecondition("GENESIS_NOT_FIRST", "only leaf 0 may be a genesis record");
}

}  // namespace

bool HasUnknownFields(const Message& m) {
  const auto* refl = m.GetReflection();
  if (!refl->GetUnknownFields(m).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < refl->FieldSize(m, f); ++i) {
        if (HasUnknownFields(refl->GetRepeatedMessage(m, f, i))) return true;
      }
    } else if (HasUnknownFields(refl->GetMessage(m, f))) {
      return true;
    }
  }
  return false;
}

Result<bool> GetMessage(const StateView& state, std::string_view key, Message* out) {
  std::string value;
  PROV_ASSIGN_OR_RETURN(bool found, state.Get(key, &value));
  if (!found) return false;
  if (!out->ParseFromString(value)) {
    return DataLoss("CORRUPT_STATE", "state entry does not parse");
  }
  return true;
}

Result<PreparedRecord> PrepareRecord(std::string leaf) {
  InitCrypto();
  if (leaf.size() > kMaxSignedRecordBytes) {
    return InvalidArgument("RECORD_TOO_LARGE", "signed record is " + std::to_string(leaf.size()) +
                                                   " bytes; the limit is " +
                                                   std::to_string(kMaxSignedRecordBytes));
  }
  PreparedRecord p;
  if (!p.signed_record.ParseFromString(leaf)) {
    return Malformed("bytes are not a SignedRecord");
  }
  if (!p.record.ParseFromString(p.signed_record.record())) {
    return Malformed("record bytes are not a Record");
  }
  if (HasUnknownFields(p.signed_record) || HasUnknownFields(p.record)) {
    return Malformed("record has fields this ledger does not know");
  }
  std::string canonical;
  p.record.SerializeToString(&canonical);
  if (canonical != p.signed_record.record()) {
    return Malformed("record bytes are not in canonical protobuf encoding");
  }
  // The envelope too: one signed record, one leaf hash.
  if (p.signed_record.SerializeAsString() != leaf) {
    return Malformed("signed record envelope is not in canonical protobuf encoding");
  }
  PROV_RETURN_IF_ERROR(CheckFields(p.record));

  const auto& sigs = p.signed_record.signatures();
  // The log's own records (leaf 0, index roots) are trusted as leaves under
  // a checkpoint the log key signs, and carry no signature.
  const bool genesis = p.record.kind_case() == pb::Record::kGenesis;
  const bool log_record = genesis || p.record.kind_case() == pb::Record::kIndexRoot;
  if (log_record && !sigs.empty()) {
    return Malformed("the " + RecordKindName(p.record) + " record is not signed");
  }
  if (!log_record && sigs.empty()) {
    return PermissionDenied("UNSIGNED", "record carries no signature");
  }
  if (sigs.size() > static_cast<int>(kMaxSignatures)) {
    return InvalidArgument("TOO_MANY_SIGNATURES",
                           "at most " + std::to_string(kMaxSignatures) + " signatures");
  }
  Bytes pae = PreAuthEncoding(kRecordPayloadType, AsBytes(p.signed_record.record()));
  for (const auto& sig : sigs) {
    if (sig.public_key().size() != kPublicKeySize || sig.signature().size() != kSignatureSize) {
      return Malformed("a signature needs a 32-byte key and 64-byte signature");
    }
    PublicKey pk;
    std::copy(sig.public_key().begin(), sig.public_key().end(), pk.begin());
    if (std::find(p.signers.begin(), p.signers.end(), pk) != p.signers.end()) {
      return InvalidArgument("DUPLICATE_SIGNER", "a key signed the record twice");
    }
    if (!VerifySignature(pk, pae, AsBytes(sig.signature()))) {
      return InvalidArgument(
          "BAD_SIGNATURE",
          "signature by key " + HexEncode(KeyId(pk)).substr(0, 16) + " does not verify");
    }
    p.signers.push_back(pk);
  }
  p.leaf_hash = LeafHash(AsBytes(leaf));
  p.leaf = std::move(leaf);
  return p;
}

bool ParseLeafRecord(std::string_view leaf, pb::Record* record, std::vector<PublicKey>* signers) {
  pb::SignedRecord sr;
  if (!sr.ParseFromArray(leaf.data(), static_cast<int>(leaf.size())) ||
      !record->ParseFromString(sr.record())) {
    return false;
  }
  if (signers) {
    for (const auto& sig : sr.signatures()) {
      auto pk = ToHash(AsBytes(sig.public_key()));
      if (pk.ok()) signers->push_back(*pk);
    }
  }
  return true;
}

Status ApplyPrepared(StateOverlay& state, const PreparedRecord& rec, uint64_t index,
                     ApplyMode mode) {
  StateOverlay s(&state);
  if (index == 0) {
    if (rec.record.kind_case() != pb::Record::kGenesis) {
      return FailedPrecondition("NO_GENESIS", "leaf 0 must be the genesis record");
    }
    pb::Genesis g = rec.record.genesis();
    Store(s, state_key::Genesis(), g);
    state.Absorb(s);
    return Status::Ok();
  }
  pb::Genesis g;
  PROV_ASSIGN_OR_RETURN(bool have_genesis, Load(s, state_key::Genesis(), &g));
  if (!have_genesis) return FailedPrecondition("NO_GENESIS", "ledger has no genesis");
  if (rec.record.kind_case() == pb::Record::kGenesis) {
    return FailedPrecondition("GENESIS_NOT_FIRST", "only leaf 0 may be a genesis record");
  }
  if (rec.record.has_log_key_rotation()) {
    PROV_RETURN_IF_ERROR(ApplyLogKeyRotation(s, g, rec, index));
    state.Absorb(s);
    return Status::Ok();
  }
  PROV_ASSIGN_OR_RETURN(pb::AuthorityState auth, LoadAuthorities(s));
  PROV_ASSIGN_OR_RETURN(Signers signers, ResolveSigners(s, auth.set(), rec));
  PROV_RETURN_IF_ERROR(ApplyKind(s, g, auth.set(), rec, signers, index, mode));
  state.Absorb(s);
  return Status::Ok();
}

Result<pb::AuthorityState> CurrentAuthorities(const StateView& state) {
  return LoadAuthorities(state);
}

Status ApplyRecord(StateOverlay& state, std::string leaf, uint64_t index, ApplyMode mode) {
  PROV_ASSIGN_OR_RETURN(PreparedRecord p, PrepareRecord(std::move(leaf)));
  return ApplyPrepared(state, p, index, mode);
}

pb::SignedRecord SignRecord(const std::string& record_bytes,
                            std::span<const SigningKey* const> keys) {
  pb::SignedRecord out;
  out.set_record(record_bytes);
  for (const SigningKey* k : keys) AddSignature(out, *k);
  return out;
}

void AddSignature(pb::SignedRecord& signed_record, const SigningKey& key) {
  Bytes pae = PreAuthEncoding(kRecordPayloadType, AsBytes(signed_record.record()));
  auto sig = key.Sign(pae);
  auto* s = signed_record.add_signatures();
  s->set_public_key(std::string(AsStringView(key.public_key())));
  s->set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
}

std::string RecordKindName(const pb::Record& record) {
  switch (record.kind_case()) {
    case pb::Record::kGenesis:
      return "genesis";
    case pb::Record::kOrganization:
      return "organization";
    case pb::Record::kOwnership:
      return "ownership";
    case pb::Record::kKeyEnrollment:
      return "key enrollment";
    case pb::Record::kKeyRevocation:
      return "key revocation";
    case pb::Record::kComponent:
      return "component";
    case pb::Record::kDeviceModel:
      return "device model";
    case pb::Record::kFirmwareRelease:
      return "firmware release";
    case pb::Record::kFirmwareRevocation:
      return "firmware revocation";
    case pb::Record::kDevice:
      return "device";
    case pb::Record::kTransfer:
      return "transfer";
    case pb::Record::kDeviceStatus:
      return "device status";
    case pb::Record::kLaw:
      return "law";
    case pb::Record::kMacBlock:
      return "MAC block";
    case pb::Record::kDeviceIdentityCa:
      return "device-identity CA";
    case pb::Record::kDeviceIdentityCaRevocation:
      return "device-identity CA revocation";
    case pb::Record::kCommissioning:
      return "commissioning";
    case pb::Record::kIndexRoot:
      return "index root";
    case pb::Record::kOrgFact:
      return "org fact";
    case pb::Record::kNoRegistrableOwner:
      return "no-registrable-owner statement";
    case pb::Record::kRuling:
      return "ruling";
    case pb::Record::kAuthoritySet:
      return "authority set";
    case pb::Record::kLogKeyRotation:
      return "log key rotation";
    case pb::Record::KIND_NOT_SET:
      break;
  }
  return "unknown";
}

}  // namespace verifier
