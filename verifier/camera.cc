#include "verifier/camera.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "verifier/rules.h"
#include "verifier/x509.h"

namespace verifier {

namespace pb = provenance::v1;
using Severity = Finding::Severity;

namespace {

std::string Idx(uint64_t i) { return "#" + std::to_string(i); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

bool SameText(std::string_view a, std::string_view b) { return Lower(Trim(a)) == Lower(Trim(b)); }

// "aa:bb:cc:dd:ee:ff" -> "AA:BB:CC:DD:EE:FF"; the text itself if not a MAC.
std::string ShowMac(std::string_view mac) {
  auto hex = MacHex(mac);
  if (!hex.ok()) return std::string(mac);
  std::string out;
  for (size_t i = 0; i < hex->size(); i += 2) {
    if (i) out += ':';
    out += hex->substr(i, 2);
  }
  return out;
}

const pb::Organization* OrgOf(const VerifiedEvidence& ev, const std::string& id,
                              pb::OrgState* storage) {
  auto found = GetMessage(ev.state, state_key::Org(id), storage);
  return found.ok() && *found ? &storage->current() : nullptr;
}

std::string OrgName(const VerifiedEvidence& ev, const std::string& id) {
  pb::OrgState os;
  const pb::Organization* o = OrgOf(ev, id, &os);
  return o && !o->legal_name().empty() ? o->legal_name() : id;
}

// The words of a company name that tell it apart: lower case, letters and
// digits only, without legal forms and filler.
std::vector<std::string> NameWords(std::string_view name) {
  static const std::set<std::string> kFiller = {
      "co",         "ltd",          "inc",   "llc",      "ab",          "ag",      "gmbh",    "sa",
      "bv",         "nv",           "plc",   "corp",     "corporation", "company", "limited", "the",
      "technology", "technologies", "group", "holdings", "kg",          "oy",      "as",      "spa",
      "srl",        "kk",           "pte",   "pty",      "de",          "and"};
  std::vector<std::string> words;
  std::string w;
  auto flush = [&] {
    if (!w.empty() && !kFiller.count(w)) words.push_back(w);
    w.clear();
  };
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  return words;
}

}  // namespace

bool SameSerial(std::string_view a, std::string_view b, bool normalize) {
  return normalize ? NormalizeSerial(a) == NormalizeSerial(b) : a == b;
}

bool AssigneeNamesOrg(std::string_view assignee, std::string_view org_name,
                      std::string_view org_id) {
  const auto a = NameWords(assignee);
  if (a.empty()) return false;
  for (std::string_view name : {org_name, org_id}) {
    const auto o = NameWords(name);
    if (o.empty() || o[0] != a[0]) continue;
    // "Zhejiang Dahua" is not "Zhejiang Uniview": a second word, when both
    // names have one, must agree too.
    if (o.size() == 1 || a.size() == 1 || o[1] == a[1]) return true;
  }
  return false;
}

std::vector<std::string> ChainIssuerHashes(const std::vector<std::string>& chain_der) {
  std::vector<std::string> out;
  for (const auto& der : chain_der) {
    auto cert = ParseCertificateDer(der);
    if (!cert.ok()) continue;
    std::string h(AsStringView(Sha256(cert->issuer)));
    if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(std::move(h));
  }
  return out;
}

CertifiedIdentity IdentifyCamera(const VerifiedEvidence& ev, const CameraFacts& f, int64_t now,
                                 const std::string& manufacturer_hint) {
  CertifiedIdentity best;
  if (f.chain_der.empty()) return best;
  auto leaf = ParseCertificateDer(f.chain_der.front());
  if (!leaf.ok()) {
    best.status = leaf.status();
    return best;
  }
  best.leaf_subject = leaf->subject;
  best.spki_sha256 = leaf->spki_sha256;
  best.key_algorithm = leaf->key_algorithm;
  best.status = Status(Code::kNotFound, "NO_CA",
                       "no device-identity CA in the ledger issued the certificate (" +
                           leaf->subject + ", issued by " + leaf->issuer + ")");
  // Candidate CAs: those holding a certificate named as an issuer in the
  // chain; the hinted maker's first.
  std::vector<pb::IdentityCaSubjects::Ref> refs;
  for (const auto& issuer : ChainIssuerHashes(f.chain_der)) {
    auto h = ToHash(AsBytes(issuer));
    if (!h.ok()) continue;
    pb::IdentityCaSubjects subjects;
    auto found = GetMessage(ev.state, state_key::IdentityCaSubject(*h), &subjects);
    if (!found.ok() || !*found) continue;
    for (const auto& r : subjects.cas()) refs.push_back(r);
  }
  std::stable_partition(refs.begin(), refs.end(),
                        [&](const auto& r) { return r.manufacturer_org() == manufacturer_hint; });
  bool have_failure = false;
  for (const auto& ref : refs) {
    pb::IdentityCaState st;
    auto found =
        GetMessage(ev.state, state_key::IdentityCa(ref.manufacturer_org(), ref.ca_id()), &st);
    if (!found.ok() || !*found) continue;
    auto id = IdentifyLeaf(f.chain_der, st.ca(), st.revoked() ? st.revoked_effective() : 0, now);
    if (id.ok()) {
      best.status = Status::Ok();
      best.manufacturer_org = ref.manufacturer_org();
      best.ca_id = ref.ca_id();
      best.ca_index = st.index();
      best.normalize = st.ca().serial_normalize();
      best.serial = id->raw_serial;
      return best;
    }
    // Keep the most telling failure: a revoked CA or a wrong leaf over a
    // chain that does not verify at all.
    if (!have_failure || id.status().reason() != "CHAIN_UNVERIFIED") {
      best.status = Status(id.status().code(), id.status().reason(),
                           "under " + ref.manufacturer_org() + "/" + ref.ca_id() + " " +
                               Idx(st.index()) + ": " + id.status().message());
      best.manufacturer_org = ref.manufacturer_org();
      best.ca_id = ref.ca_id();
      best.ca_index = st.index();
      have_failure = true;
    }
  }
  return best;
}

std::vector<Subject> ScanReliesOn(const std::vector<std::string>& macs,
                                  const CertifiedIdentity& id) {
  std::vector<Subject> out;
  if (std::any_of(macs.begin(), macs.end(), [](const auto& m) { return MacHex(m).ok(); })) {
    out.push_back(subject::MacRegistry());
  }
  if (id.status.ok()) out.push_back(subject::Ca(id.manufacturer_org, id.ca_id));
  return out;
}

std::vector<RevealedMaker> MacMakers(const VerifiedEvidence& ev, const CameraFacts& f,
                                     const std::string& manufacturer_org) {
  std::vector<RevealedMaker> out;
  for (const auto& mac : f.macs) {
    auto owner = MacBlockOf(ev.state, mac);
    if (!owner.ok() || !*owner || (*owner)->block.org_id() == manufacturer_org) continue;
    const auto& b = (*owner)->block;
    if (std::any_of(out.begin(), out.end(), [&](const auto& m) { return m.org == b.org_id(); })) {
      continue;
    }
    out.push_back({b.org_id(),
                   "MAC " + ShowMac(mac) + " lies in block " + b.prefix() + " vetted for " +
                       b.org_id() + " " + Idx((*owner)->index) + ": made by",
                   {(*owner)->index}});
  }
  return out;
}

namespace {

class CameraJudge {
 public:
  CameraJudge(const VerifiedEvidence& ev, const CameraFacts& f, const CertifiedIdentity& id,
              Judgement* j)
      : ev_(ev), f_(f), id_(id), j_(j), reg_(j->device.index()) {}

  bool Run() {
    const bool proven = Identity();
    Serial();
    if (j_->registered) {
      Claims();
      Firmware();
    }
    Macs();
    if (f_.clock_skew && (*f_.clock_skew > 300 || *f_.clock_skew < -300)) {
      Add(Severity::kInfo, "CLOCK_SKEW",
          "the camera's clock is " + std::to_string(*f_.clock_skew) +
              " s off ours (its certificate was checked at our time; the ONVIF digest used its)",
          {});
    }
    Decide(j_);
    return proven;
  }

 private:
  void Add(Severity s, std::string code, std::string message, std::vector<uint64_t> idx) {
    j_->findings.push_back({s, std::move(code), std::move(message), std::move(idx)});
  }

  std::string Handshake() const {
    return f_.tls_version + " handshake with " + f_.address + " (" + f_.tls_cipher +
           (f_.tls_group.empty() ? "" : ", " + f_.tls_group) + ") signed over our fresh random";
  }

  // The certificate proves the unit: by a registered CA, or by the pinned key.
  bool Identity() {
    if (f_.chain_der.empty()) {
      Add(Severity::kUnverified, "IDENTITY_UNPROVEN",
          "no TLS handshake was completed, so nothing the camera says is proven", {});
      return false;
    }
    const pb::Device& d = j_->record;
    const std::string pin = d.identity_spki_sha256().empty() && !d.identity_certificate().empty()
                                ? PinOfCertificate(d.identity_certificate())
                                : d.identity_spki_sha256();
    const std::string leaf_spki(AsStringView(id_.spki_sha256));
    if (j_->registered && !pin.empty()) {
      if (pin == leaf_spki) {
        Add(Severity::kInfo, "IDENTITY_PROVEN",
            Handshake() + " by the key pinned in the registration " + Idx(reg_) + " (" +
                id_.key_algorithm + ", " + id_.leaf_subject + ")",
            {reg_});
        return true;
      }
      Add(Severity::kReject, "IDENTITY_KEY_MISMATCH",
          "the camera's certificate key (SPKI SHA-256 " + HexEncode(id_.spki_sha256).substr(0, 16) +
              "...) is not the key registered for " + d.serial() + " " + Idx(reg_) +
              ": a clone, or its certificate was replaced",
          {reg_});
      return false;
    }
    if (id_.status.ok()) {
      if (j_->registered && id_.manufacturer_org != d.manufacturer_org()) {
        Add(Severity::kReject, "IDENTITY_CA_MISMATCH",
            "the certificate chains to " + id_.manufacturer_org + "/" + id_.ca_id + " " +
                Idx(id_.ca_index) + ", not to a CA of " + d.manufacturer_org(),
            {id_.ca_index, reg_});
        return false;
      }
      if (j_->registered && !d.identity_ca_id().empty() && d.identity_ca_id() != id_.ca_id) {
        Add(Severity::kReject, "IDENTITY_CA_MISMATCH",
            "the certificate chains to CA " + id_.ca_id + " " + Idx(id_.ca_index) +
                ", but the registration " + Idx(reg_) + " names CA " + d.identity_ca_id(),
            {id_.ca_index, reg_});
        return false;
      }
      Add(Severity::kInfo, "IDENTITY_PROVEN",
          Handshake() + " by the key of " + id_.leaf_subject + " (" + id_.key_algorithm +
              "), which chains to device-identity CA " + id_.manufacturer_org + "/" + id_.ca_id +
              " " + Idx(id_.ca_index),
          {id_.ca_index});
      return true;
    }
    const std::string& why = id_.status.reason();
    if (why == "CA_REVOKED" || why == "LEAF_ALGORITHM" || why == "LEAF_OUTSIDE_WINDOW") {
      Add(Severity::kReject, why, id_.status.message(), {id_.ca_index});
      return false;
    }
    Add(Severity::kUnverified, "IDENTITY_UNPROVEN",
        "the camera's certificate (" + id_.leaf_subject + ") is not proven to be the unit's: " +
            id_.status.message() + " (an integrator may have replaced the factory certificate)",
        id_.ca_index ? std::vector<uint64_t>{id_.ca_index} : std::vector<uint64_t>{});
    return false;
  }

  static std::string PinOfCertificate(const std::string& der) {
    auto cert = ParseCertificateDer(der);
    return cert.ok() ? std::string(AsStringView(cert->spki_sha256)) : std::string();
  }

  // The certificate's serial, the ONVIF SerialNumber and the ledger's agree.
  void Serial() {
    const std::string ledger = j_->registered ? j_->record.serial() : "";
    if (id_.status.ok() && f_.claims_read &&
        !SameSerial(id_.serial, f_.serial_number, id_.normalize)) {
      Add(Severity::kReject, "SERIAL_MISMATCH",
          "the certificate names serial " + id_.serial + " but the camera reports " +
              f_.serial_number,
          {id_.ca_index});
    }
    if (id_.status.ok() && !ledger.empty() && !SameSerial(id_.serial, ledger, id_.normalize)) {
      Add(Severity::kReject, "SERIAL_MISMATCH",
          "the certificate names serial " + id_.serial + " but the ledger registered " + ledger +
              " " + Idx(reg_),
          {reg_});
    }
  }

  // Manufacturer and Model as the firmware prints them.
  void Claims() {
    if (!f_.claims_read) {
      Add(Severity::kUnverified, "CLAIMS_NOT_READ",
          "the camera's device information could not be read over the proven connection", {});
      return;
    }
    const pb::Device& d = j_->record;
    pb::ModelState ms;
    auto have = GetMessage(ev_.state, state_key::Model(d.manufacturer_org(), d.model_id()), &ms);
    if (!have.ok() || !*have) return;
    const pb::DeviceModel& m = ms.model();
    std::vector<std::string> makers(m.shown_manufacturer().begin(), m.shown_manufacturer().end());
    if (makers.empty()) makers = {OrgName(ev_, d.manufacturer_org()), d.manufacturer_org()};
    std::vector<std::string> models(m.shown_model().begin(), m.shown_model().end());
    if (models.empty()) models = {m.name(), m.model_id()};
    auto any = [](const std::vector<std::string>& v, const std::string& x) {
      return std::any_of(v.begin(), v.end(),
                         [&](const auto& s) { return !s.empty() && SameText(s, x); });
    };
    std::vector<std::string> wrong;
    if (!any(makers, f_.manufacturer)) {
      wrong.push_back("Manufacturer \"" + f_.manufacturer + "\" (the ledger lists \"" +
                      makers.front() + "\")");
    }
    if (!any(models, f_.model)) {
      wrong.push_back("Model \"" + f_.model + "\" (the ledger lists \"" + models.front() + "\")");
    }
    if (wrong.empty()) {
      Add(Severity::kInfo, "CLAIMS_MATCH",
          "the camera reports " + f_.manufacturer + " " + f_.model + ", as model " + m.model_id() +
              " " + Idx(ms.index()) + " lists",
          {ms.index()});
      return;
    }
    std::string text;
    for (const auto& w : wrong) text += (text.empty() ? "" : " and ") + w;
    Add(Severity::kReject, "CLAIMS_MISMATCH",
        "the camera reports " + text + " for model " + m.model_id(), {ms.index()});
  }

  // The self-reported firmware version against the model's releases.
  void Firmware() {
    if (!f_.claims_read) return;
    const pb::Device& d = j_->record;
    pb::FirmwareState fs;
    auto have = GetMessage(
        ev_.state, state_key::Firmware(d.manufacturer_org(), d.model_id(), f_.firmware_version),
        &fs);
    const std::string what = "firmware " + f_.firmware_version + " (self-reported, not measured)";
    if (!have.ok() || !*have) {
      Add(Severity::kUnverified, "FIRMWARE_UNKNOWN",
          what + " is not a release of model " + d.model_id() + " by " + d.manufacturer_org(), {});
    } else if (fs.revoked()) {
      Add(Severity::kReject, "FIRMWARE_REVOKED",
          what + " of " + d.model_id() + " was revoked " + Idx(fs.revoked_index()),
          {fs.release_index(), fs.revoked_index()});
    } else {
      Add(Severity::kInfo, "FIRMWARE_REPORTED",
          what + " is a released, unrevoked version of " + d.model_id() + " " +
              Idx(fs.release_index()),
          {fs.release_index()});
    }
  }

  // Each MAC's prefix must be the maker's: a block the authorities vetted,
  // else IEEE's registry.
  void Macs() {
    const std::string maker = j_->registered ? j_->record.manufacturer_org() : id_.manufacturer_org;
    if (!f_.claims_read) return;
    if (f_.macs.empty()) {
      Add(Severity::kUnverified, "MAC_UNVETTED", "the camera reports no MAC address", {});
      return;
    }
    for (size_t i = 0; i < f_.macs.size(); ++i) {
      const std::string mac = ShowMac(f_.macs[i]);
      auto owner = MacBlockOf(ev_.state, f_.macs[i]);
      if (!owner.ok()) {
        Add(Severity::kUnverified, "MAC_UNVETTED",
            "the camera reports a MAC address that is not one: \"" + f_.macs[i] + "\"", {});
        continue;
      }
      if (*owner) {
        const auto& b = (*owner)->block;
        const uint64_t idx = (*owner)->index;
        if (b.org_id() == maker) {
          Add(Severity::kInfo, "MAC_VENDOR",
              "MAC " + mac + " lies in block " + b.prefix() + " vetted for " + maker + " " +
                  Idx(idx),
              {idx});
        } else {
          Add(Severity::kReject, "MAC_VENDOR_MISMATCH",
              "MAC " + mac + " lies in block " + b.prefix() + " vetted for " + b.org_id() + " (" +
                  OrgName(ev_, b.org_id()) + ") " + Idx(idx) + ": the unit was made by " +
                  b.org_id() + ", whatever its label says" +
                  (maker.empty() ? "" : " (it claims " + maker + ")"),
              {idx});
        }
        continue;
      }
      const std::string assignee = i < f_.ieee_assignees.size() ? f_.ieee_assignees[i] : "";
      auto hex = MacHex(f_.macs[i]);
      const bool local = hex.ok() && (std::stoi(hex->substr(0, 2), nullptr, 16) & 0x02);
      if (local) {
        Add(Severity::kUnverified, "MAC_UNVETTED",
            "MAC " + mac + " is locally administered: it cannot tell who made the unit", {});
      } else if (assignee.empty()) {
        Add(Severity::kUnverified, "MAC_UNVETTED",
            "MAC " + mac + " is in no block vetted in the ledger nor in IEEE's registry", {});
      } else if (!maker.empty() && AssigneeNamesOrg(assignee, OrgName(ev_, maker), maker)) {
        Add(Severity::kInfo, "MAC_VENDOR",
            "MAC " + mac + ": IEEE's registry assigns its prefix to " + assignee +
                " (not vetted in the ledger)",
            {});
      } else {
        Add(Severity::kUnverified, "MAC_VENDOR_MISMATCH",
            "MAC " + mac + ": IEEE's registry assigns its prefix to " + assignee +
                (maker.empty() ? "" : ", not to " + OrgName(ev_, maker)) +
                " (no block vetted in the ledger, so a policy cannot judge that maker)",
            {});
      }
    }
  }

  const VerifiedEvidence& ev_;
  const CameraFacts& f_;
  const CertifiedIdentity& id_;
  Judgement* j_;
  const uint64_t reg_;
};

}  // namespace

bool JudgeCamera(const VerifiedEvidence& ev, const CameraFacts& f, const CertifiedIdentity& id,
                 Judgement* j) {
  return CameraJudge(ev, f, id, j).Run();
}

}  // namespace verifier
