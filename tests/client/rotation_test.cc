// Key rotation end to end, against a real provd and the real prov
// (issue 16): the authority set replaced by a threshold-signed record that
// every verifier follows from the genesis, racing with submissions and
// attacked with too few signatures; enrolled keys renewed without a gap;
// and the log key rotated with provd stopped, followed by clients that
// pinned the old key, with an interrupted rotation finished by a rerun.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "client/ledger_client.h"
#include "records/records.h"
#include "tests/client/prov_fixture.h"
#include "verifier/note.h"
#include "verifier/rules.h"

namespace testexec {
namespace {

using json = nlohmann::json;
namespace pb = provenance::v1;
namespace fs = std::filesystem;

constexpr char kOrigin[] = "rotation.example/log";

class RotationTest : public ProvLedgerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartLedger("rotation", kOrigin, {"a", "b", "c"}, 2));
  }

  std::string Key(const std::string& name) { return dir_ + "/" + name + ".key"; }
  std::string Pub(const std::string& name) {
    return verifier::HexEncode(keys_.at(name).public_key());
  }
  std::vector<std::string> With(std::vector<std::string> args,
                                const std::vector<std::string>& signers) {
    for (const auto& s : signers) args.insert(args.end(), {"--key", Key(s)});
    return args;
  }
  void Ok(std::vector<std::string> args) {
    Outcome r = Prov(std::move(args));
    EXPECT_EQ(r.rc, 0) << Describe(r);
  }
  // A refusal: exit 1 naming `reason`, and the log unchanged.
  void Refused(std::vector<std::string> args, const std::string& reason) {
    const uint64_t before = TreeSize();
    Outcome r = Prov(std::move(args));
    EXPECT_EQ(r.rc, 1) << Describe(r);
    EXPECT_NE(r.err.find(reason), std::string::npos) << Describe(r);
    EXPECT_EQ(TreeSize(), before);
  }
  // An org, a manufacturer key and a device of it, registered with
  // `authorities` signing the authority records.
  void RegisterDevice(const std::string& org, const std::vector<std::string>& authorities) {
    Ok(With({"authority", "org", "--id", org, "--name", org + " Ltd", "--country", "GB"},
            authorities));
    KeyFile(org);
    Ok(With({"authority", "enroll", "--key-file", Key(org), "--org", org, "--role", "manufacturer"},
            authorities));
    Ok({"manufacturer", "model", "--org", org, "--model-id", "M1", "--name", "Dome", "--key",
        Key(org)});
    Ok({"manufacturer", "device", "--org", org, "--serial", "SN-1", "--model-id", "M1",
        "--device-key", verifier::HexEncode(verifier::SigningKey::Generate().public_key()),
        "--manufactured", "2026-01-01", "--country", "GB", "--key", Key(org)});
  }
  std::string Verdict(const std::string& org) {
    Outcome r = Prov({"check", "--manufacturer", org, "--serial", "SN-1", "--buyer", org}, true);
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded() || j.value("verdict", "") != "TRUSTED") ADD_FAILURE() << Describe(r);
    return j.is_discarded() ? "" : j.value("verdict", "");
  }
};

TEST_F(RotationTest, AuthoritySetRotationIsFollowedFromTheGenesis) {
  RegisterDevice("acme", {"a", "b"});
  json shown = ProvJson({"authority", "show"});
  EXPECT_EQ(shown["since"], 0);
  EXPECT_EQ(shown["threshold"], 2);
  ASSERT_EQ(shown["keys"].size(), 3u);

  // a retires, d joins: signed by two of {a, b, c}, and by d.
  KeyFile("d");
  json j = ProvJson(
      With({"authority", "rotate", "--authority", "b=" + Pub("b"), "--authority", "c=" + Pub("c"),
            "--authority", "d=" + Pub("d"), "--threshold", "2", "--reason", "a retires"},
           {"a", "b", "d"}));
  EXPECT_EQ(j["kind"], "authority set");
  const uint64_t at = j["index"];
  shown = ProvJson({"authority", "show"});
  EXPECT_EQ(shown["since"], at);
  EXPECT_EQ(shown["keys"][2]["name"], "d");

  // a's signature no longer counts; the new set's does.
  Refused(
      With({"authority", "org", "--id", "old-way", "--name", "Old", "--country", "GB"}, {"a", "b"}),
      "UNKNOWN_SIGNER");
  RegisterDevice("beta", {"c", "d"});
  // Verifiers follow the chain: devices registered before and after the
  // rotation are judged from evidence that proves every authority set.
  EXPECT_EQ(Verdict("acme"), "TRUSTED");
  EXPECT_EQ(Verdict("beta"), "TRUSTED");
  j = ProvJson({"audit"});
  EXPECT_EQ(j["ok"], true);

  // A rotation drawn up against the genesis set is stale now.
  Refused(With({"authority", "rotate", "--authority", "c=" + Pub("c"), "--authority",
                "d=" + Pub("d"), "--threshold", "1", "--replaces", "0"},
               {"c", "d"}),
          "STALE_AUTHORITY_SET");
  // An attacker holding one current key and keys of their own.
  KeyFile("evil1");
  KeyFile("evil2");
  Refused(
      With({"authority", "rotate", "--authority", "c=" + Pub("c"), "--authority",
            "evil1=" + Pub("evil1"), "--authority", "evil2=" + Pub("evil2"), "--threshold", "1"},
           {"c", "evil1", "evil2"}),
      "INSUFFICIENT_SIGNATURES");
  // The retired key with the attacker's: a is a stranger now.
  Refused(With({"authority", "rotate", "--authority", "evil1=" + Pub("evil1"), "--threshold", "1"},
               {"a", "evil1"}),
          "UNKNOWN_SIGNER");
  // A key added must sign.
  Refused(With({"authority", "rotate", "--authority", "c=" + Pub("c"), "--authority",
                "d=" + Pub("d"), "--authority", "evil1=" + Pub("evil1"), "--threshold", "2"},
               {"c", "d"}),
          "NEW_KEY_MUST_SIGN");
  // Malformed sets are usage errors or refusals, and log nothing.
  Outcome r =
      Prov(With({"authority", "rotate", "--authority", "nokey", "--threshold", "1"}, {"c"}));
  EXPECT_EQ(r.rc, 64) << Describe(r);
  Refused(
      With({"authority", "rotate", "--authority", "c=" + Pub("c"), "--threshold", "2"}, {"c", "d"}),
      "INVALID_FIELD");
}

TEST_F(RotationTest, RotationRacesWithSubmissions) {
  const std::string vkey = Slurp(vkey_file_);
  auto client = client::LedgerClient::Connect(server_, vkey.substr(0, vkey.find('\n')));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const verifier::SigningKey& a = keys_.at("a");
  const verifier::SigningKey& b = keys_.at("b");
  KeyFile("d");

  // One thread logs orgs signed by a and b as fast as it can, while prov
  // replaces the set with one without a.
  std::atomic<bool> stop{false};
  std::vector<std::pair<uint64_t, bool>> outcomes;  // (index, logged)
  std::vector<std::string> refusals;
  std::thread writer([&] {
    // Until the rotation is logged, and five more after it.
    int after = 0;
    for (int i = 0; after < 5; ++i) {
      if (stop.load()) ++after;
      auto rec =
          records::SignRecord(records::OrganizationRecord(static_cast<int64_t>(std::time(nullptr)),
                                                          "race-" + std::to_string(i),
                                                          "Race " + std::to_string(i), "GB"),
                              {&a, &b});
      auto r = (*client)->Submit(rec);
      if (r.ok()) {
        outcomes.emplace_back(r->index, true);
      } else {
        refusals.push_back(r.status().reason());
      }
      if (i > 2000) break;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  json j = ProvJson(With({"authority", "rotate", "--authority", "b=" + Pub("b"), "--authority",
                          "d=" + Pub("d"), "--threshold", "2"},
                         {"a", "b", "d"}));
  stop = true;
  writer.join();
  const uint64_t at = j["index"];
  ASSERT_FALSE(outcomes.empty()) << "nothing was logged before the rotation";
  ASSERT_FALSE(refusals.empty()) << "nothing was submitted after the rotation";
  // Everything a and b signed is before the rotation; everything after it
  // was refused, for the right reason.
  for (const auto& [index, logged] : outcomes) EXPECT_LT(index, at);
  for (const auto& reason : refusals) EXPECT_EQ(reason, "UNKNOWN_SIGNER");
  // And the log replays: the rulebook agrees with what provd did.
  j = ProvJson({"audit"});
  EXPECT_EQ(j["ok"], true);
}

TEST_F(RotationTest, EnrolledKeysAreRenewedWithoutAGap) {
  Ok(With({"authority", "org", "--id", "acme", "--name", "Acme", "--country", "GB"}, {"a", "b"}));
  KeyFile("acme");
  // Valid until tomorrow: renewed today for a year, the same key.
  const int64_t now = std::time(nullptr);
  const std::string tomorrow = std::to_string(now + 86400),
                    next_year = std::to_string(now + 365 * 86400);
  Ok(With({"authority", "enroll", "--key-file", Key("acme"), "--org", "acme", "--role",
           "manufacturer", "--not-before", std::to_string(now - 86400), "--not-after", tomorrow},
          {"a", "b"}));
  json j = ProvJson(With(
      {"authority", "enroll", "--key-file", Key("acme"), "--org", "acme", "--role", "manufacturer",
       "--not-before", tomorrow, "--not-after", next_year, "--renews", Pub("acme")},
      {"a", "b"}));
  EXPECT_EQ(j["kind"], "key enrollment");
  // A successor that would start after the key ends leaves a gap.
  KeyFile("acme2");
  Refused(With({"authority", "enroll", "--key-file", Key("acme2"), "--org", "acme", "--role",
                "manufacturer", "--not-before", std::to_string(now + 400 * 86400), "--renews",
                Pub("acme")},
               {"a", "b"}),
          "RENEWAL_GAP");
  // Enrolling the same key again is not a renewal.
  Refused(With({"authority", "enroll", "--key-file", Key("acme"), "--org", "acme", "--role",
                "manufacturer"},
               {"a", "b"}),
          "KEY_ALREADY_ENROLLED");
  Outcome r = Prov(With({"authority", "enroll", "--key-file", Key("acme2"), "--org", "acme",
                         "--role", "manufacturer", "--renews", "xyz"},
                        {"a", "b"}));
  EXPECT_EQ(r.rc, 64) << Describe(r);
  Ok({"manufacturer", "model", "--org", "acme", "--model-id", "M1", "--name", "Dome", "--key",
      Key("acme")});
  j = ProvJson({"audit"});
  EXPECT_EQ(j["ok"], true);
}

class LogKeyRotationTest : public RotationTest {
 protected:
  std::string Ledger() { return dir_ + "/ledger"; }
  Outcome Provd(std::vector<std::string> args) {
    args.insert(args.begin(), PROVD_PATH);
    return Exec(args, dir_);
  }
  void Restart(std::vector<std::string> extra = {}) {
    auto p = tools::ProvdProcess::Start(PROVD_PATH, Ledger(), std::move(extra));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    server_ = provd_->target();
  }
};

TEST_F(LogKeyRotationTest, ClientsThatPinnedTheOldKeyFollowTheRotation) {
  // Served with static tiles too: a checkpoint the old key signed is published.
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  const std::vector<std::string> tiles = {"--tiles-dir", dir_ + "/tiles", "--http-listen",
                                          "127.0.0.1:0"};
  ASSERT_NO_FATAL_FAILURE(Restart(tiles));
  RegisterDevice("acme", {"a", "b"});
  const uint64_t before = TreeSize();  // the trust store holds a head the old key signed
  const std::string old_vkey = Slurp(vkey_file_);
  for (int i = 0;
       i < 100 && Slurp(dir_ + "/tiles/checkpoint").find("\n" + std::to_string(before) + "\n") ==
                      std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string published = Slurp(dir_ + "/tiles/checkpoint");
  ASSERT_NE(published.find("\n" + std::to_string(before) + "\n"), std::string::npos) << published;

  // Not while provd serves the ledger.
  Outcome r = Provd({"rotate-log-key", "--data-dir", Ledger()});
  EXPECT_EQ(r.rc, 1) << Describe(r);
  EXPECT_NE(r.err.find("DATABASE_IN_USE"), std::string::npos) << Describe(r);

  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  provd_.reset();
  r = Provd({"rotate-log-key", "--data-dir", Ledger()});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  const std::string new_vkey = r.out.substr(0, r.out.find('\n'));
  EXPECT_NE(new_vkey + "\n", old_vkey);
  EXPECT_EQ(Slurp(Ledger() + "/log.vkey"), new_vkey + "\n");
  struct stat st;
  ASSERT_EQ(stat((Ledger() + "/log.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_FALSE(fs::exists(Ledger() + "/log.key.next"));
  r = Provd({"verify", "--data-dir", Ledger()});
  EXPECT_EQ(r.rc, 0) << Describe(r);
  // The tiles published under the old key are taken up again.
  ASSERT_NO_FATAL_FAILURE(Restart(tiles));

  // The old pin, and the trust store's old head: followed, proven, consistent.
  EXPECT_GT(TreeSize(), before);
  RegisterDevice("beta", {"a", "b"});
  EXPECT_EQ(Verdict("acme"), "TRUSTED");
  EXPECT_EQ(Verdict("beta"), "TRUSTED");
  json j = ProvJson({"audit"});
  EXPECT_EQ(j["ok"], true);
  // Over the static tiles too: the rotations are published beside them.
  EXPECT_NE(Slurp(dir_ + "/tiles/log-key-rotations"), "");
  Spit(dir_ + "/old.vkey", old_vkey);
  for (int i = 0;
       i < 100 && Slurp(dir_ + "/tiles/checkpoint").find(new_vkey.substr(0, new_vkey.find('+'))) ==
                      std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Outcome tiles_read =
      Exec({PROV_PATH, "--tiles-url", provd_->tiles_url(), "--vkey", dir_ + "/old.vkey",
            "--state-dir", dir_ + "/tiles-trust", "--json", "audit"},
           dir_);
  EXPECT_EQ(tiles_read.rc, 0) << Describe(tiles_read);
  // A new client pinning the old key, and one pinning the new key.
  state_dir_ = dir_ + "/fresh-trust";
  EXPECT_EQ(Verdict("beta"), "TRUSTED");
  Spit(vkey_file_, new_vkey + "\n");
  state_dir_ = dir_ + "/new-pin-trust";
  EXPECT_EQ(Verdict("acme"), "TRUSTED");
  j = ProvJson({"audit"});
  EXPECT_EQ(j["ok"], true);
}

TEST_F(LogKeyRotationTest, AnotherKeyWithoutARotationIsRefused) {
  // A different ledger under the same origin: its key is not the pinned
  // one and no rotation signed by the pinned key leads to it.
  auto other = tools::InitLedger(PROVD_PATH, dir_ + "/other", kOrigin,
                                 {{"a", keys_.at("a").public_key()}}, 1);
  ASSERT_TRUE(other.ok());
  auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_ + "/other");
  ASSERT_TRUE(p.ok());
  std::string real = server_;
  server_ = (*p)->target();
  Outcome r = Prov({"log", "checkpoint"});
  EXPECT_EQ(r.rc, 3) << Describe(r);
  server_ = real;
  EXPECT_EQ((*p)->Stop(SIGTERM), 0);
}

TEST_F(LogKeyRotationTest, AnInterruptedRotationIsFinishedByARerun) {
  RegisterDevice("acme", {"a", "b"});
  // The next key prepared while provd serves (for the witnesses): the
  // rotation uses it, and preparing again gives the same key.
  Outcome r = Provd({"rotate-log-key", "--prepare", "--data-dir", Ledger()});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  const std::string prepared = r.out.substr(0, r.out.find('\n'));
  r = Provd({"rotate-log-key", "--prepare", "--data-dir", Ledger()});
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), prepared);
  struct stat st;
  ASSERT_EQ(stat((Ledger() + "/log.key.next").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(Slurp(Ledger() + "/log.vkey"), Slurp(vkey_file_)) << "preparing changes nothing else";
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  provd_.reset();
  const std::string old_key = Slurp(Ledger() + "/log.key");
  r = Provd({"rotate-log-key", "--data-dir", Ledger()});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  const std::string new_vkey = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(new_vkey, prepared);

  // Now as if it had crashed after the log was written and before the key
  // files were swapped: the old key back in log.key, the new in log.key.next.
  fs::rename(Ledger() + "/log.key", Ledger() + "/log.key.next");
  Spit(Ledger() + "/log.key", old_key);
  chmod((Ledger() + "/log.key").c_str(), 0600);
  r = Provd({"verify", "--data-dir", Ledger()});
  EXPECT_EQ(r.rc, 3) << Describe(r);  // the head is not the old key's
  auto refused = tools::ProvdProcess::Start(PROVD_PATH, Ledger());
  EXPECT_FALSE(refused.ok());
  r = Provd({"rotate-log-key", "--data-dir", Ledger()});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  EXPECT_NE(r.err.find("finished an interrupted rotation"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), new_vkey);
  r = Provd({"verify", "--data-dir", Ledger()});
  EXPECT_EQ(r.rc, 0) << Describe(r);
  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_EQ(Verdict("acme"), "TRUSTED");
}

}  // namespace
}  // namespace testexec
