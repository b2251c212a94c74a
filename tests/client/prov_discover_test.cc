// `prov discover` over real processes: three camsim cameras answering
// WS-Discovery on the loopback multicast group, the unicast --target mode, a
// responder in the group answering junk (ignored, and hostile scopes made
// safe to print), and the exit codes. No provd: discover needs no ledger.
// Other camsims on this machine may answer too, so every assertion looks
// only at the cameras started here.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "onvif/discovery.h"
#include "tests/client/exec.h"
#include "tests/client/udp_responder.h"

namespace {

using json = nlohmann::json;
using testexec::Describe;
using testexec::Exec;
using testexec::Outcome;
using testexec::Slurp;
using testudp::UdpResponder;

constexpr int kCameras = 3;

// A `camsim serve --onvif 127.0.0.1:0 --discovery` and its device-service URL.
class Camera {
 public:
  Camera(const std::string& dir, const std::string& work) {
    run_ = testexec::Start({CAMSIM_PATH, "serve", "--dir", dir, "--onvif", "127.0.0.1:0",
                            "--discovery", "--discovery-interface", "127.0.0.1"},
                           work);
    static const std::regex kServing(R"(camsim: serving \S+ onvif on (https://\S+)\n)");
    for (int i = 0; i < 1500 && url_.empty(); ++i) {
      std::smatch m;
      const std::string text = Slurp(run_.out);
      if (std::regex_search(text, m, kServing)) {
        url_ = m[1];
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  ~Camera() {
    kill(run_.pid, SIGTERM);
    testexec::Finish(run_);
  }
  const std::string& url() const { return url_; }
  std::string log() const { return Slurp(run_.out) + Slurp(run_.err); }

 private:
  testexec::Running run_;
  std::string url_;
};

class ProvDiscoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/prov-discover-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Serials (hence endpoints) of our own: tests run in parallel.
    serial_ =
        "DSC-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device()() % 100000);
    Outcome ca =
        Exec({CAMSIM_PATH, "make-ca", "--dir", dir_ + "/ca", "--name", "Acme Device ID"}, dir_);
    ASSERT_EQ(ca.rc, 0) << Describe(ca);
    for (int i = 1; i <= kCameras; ++i) {
      const std::string n = std::to_string(i), cam = dir_ + "/cam" + n;
      Outcome p = Exec({CAMSIM_PATH, "provision", "--dir", cam, "--manufacturer-org", "acme-cam",
                        "--manufacturer-name", "Acme Cameras", "--serial", serial_ + "-" + n,
                        "--model-id", "acme-x" + n, "--model-name", "Acme X" + n,
                        "--firmware-version", "1.0.0", "--identity-ca", dir_ + "/ca"},
                       dir_);
      ASSERT_EQ(p.rc, 0) << Describe(p);
      cameras_.push_back(std::make_unique<Camera>(cam, dir_));
      ASSERT_FALSE(cameras_.back()->url().empty()) << cameras_.back()->log();
    }
  }
  void TearDown() override {
    cameras_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // prov ARGS..., with no ledger settings at all in the environment.
  Outcome Prov(std::vector<std::string> args) {
    args.insert(args.begin(), PROV_PATH);
    return Exec(args, dir_, {{"PROV_SERVER", std::nullopt}, {"PROV_VKEY", std::nullopt}});
  }
  json ProvJson(std::vector<std::string> args, int want_rc = 0) {
    args.insert(args.begin(), "--json");
    Outcome r = Prov(args);
    EXPECT_EQ(r.rc, want_rc) << Describe(r);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    return j;
  }

  // The entries of `cameras` (a JSON array) whose first XAddr is `url`.
  static std::vector<json> With(const json& cameras, const std::string& url) {
    std::vector<json> out;
    for (const auto& c : cameras) {
      if (!c["xaddrs"].empty() && c["xaddrs"][0] == url) out.push_back(c);
    }
    return out;
  }

  std::string dir_, serial_;
  std::vector<std::unique_ptr<Camera>> cameras_;
};

TEST_F(ProvDiscoverTest, ListsEveryCameraOnTheLoopbackGroupOnce) {
  json j = ProvJson({"discover", "--interface", "127.0.0.1", "--wait-ms", "1500"});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["wait_ms"], 1500);
  EXPECT_TRUE(j["ignored"].is_number_unsigned()) << j.dump();
  std::set<std::string> endpoints;
  for (int i = 0; i < kCameras; ++i) {
    const auto found = With(j["cameras"], cameras_[i]->url());
    ASSERT_EQ(found.size(), 1u) << cameras_[i]->url() << " in " << j.dump(2);
    const json& c = found[0];
    EXPECT_EQ(c["address"], "127.0.0.1");
    EXPECT_EQ(c["xaddrs"].size(), 1u);
    EXPECT_EQ(c["name"], "Acme Cameras");
    EXPECT_EQ(c["hardware"], "Acme X" + std::to_string(i + 1));
    EXPECT_EQ(c["types"], json({"dn:NetworkVideoTransmitter", "tds:Device"}));
    EXPECT_EQ(c["scopes"], json({"onvif://www.onvif.org/hardware/Acme%20X" + std::to_string(i + 1),
                                 "onvif://www.onvif.org/name/Acme%20Cameras"}));
    EXPECT_TRUE(
        std::regex_match(c["endpoint"].get<std::string>(), std::regex("urn:uuid:[0-9a-f-]{36}")))
        << c;
    endpoints.insert(c["endpoint"]);
  }
  EXPECT_EQ(endpoints.size(), 3u);
  // Each endpoint at each XAddrs is listed once, whoever else answered.
  std::set<std::string> all;
  for (const auto& c : j["cameras"]) {
    EXPECT_TRUE(all.insert(c["endpoint"].get<std::string>() + " " + c["xaddrs"].dump()).second)
        << c;
  }
}

TEST_F(ProvDiscoverTest, TextListsOneLinePerCameraACountAndWhatToRunNext) {
  Outcome r = Prov({"discover", "--interface", "127.0.0.1", "--wait-ms", "1500"});
  ASSERT_EQ(r.rc, 0) << Describe(r);
  for (int i = 0; i < kCameras; ++i) {
    const std::regex line("(^|\n)" + cameras_[i]->url() + " +Acme Cameras, Acme X" +
                          std::to_string(i + 1) + "  urn:uuid:[0-9a-f-]{36}\n");
    EXPECT_TRUE(std::regex_search(r.out, line)) << cameras_[i]->url() << "\n" << r.out;
  }
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("\n\\d+ ONVIF cameras answered within 1500 ms( \\(\\d+ other datagrams "
                        "ignored\\))?\n")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("prov scan --onvif 127\\.0\\.0\\.1:\\d+`\n$")))
      << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(ProvDiscoverTest, UnicastTargetIsAnsweredByTheResponderItReaches) {
  // The cameras share port 3702 (SO_REUSEPORT): a unicast Probe reaches one
  // socket, chosen by the sender's port. Try until one of ours answers.
  std::set<std::string> ours;
  for (const auto& c : cameras_) ours.insert(c->url());
  json mine;
  for (int attempt = 0; attempt < 20 && mine.is_null(); ++attempt) {
    json j = ProvJson({"discover", "--target", "127.0.0.1:3702", "--wait-ms", "400"});
    ASSERT_TRUE(j["cameras"].is_array()) << j.dump();
    for (const auto& c : j["cameras"]) {
      if (!c["xaddrs"].empty() && ours.count(c["xaddrs"][0])) mine = c;
    }
  }
  ASSERT_FALSE(mine.is_null()) << "no answer from our cameras to a unicast Probe";
  EXPECT_EQ(mine["address"], "127.0.0.1");
  EXPECT_EQ(mine["name"], "Acme Cameras");

  // The port defaults to 3702; text mode names the target.
  Outcome r = Prov({"discover", "--target", "127.0.0.1", "--wait-ms", "400"});
  EXPECT_EQ(r.rc, 0) << Describe(r);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("answered at 127\\.0\\.0\\.1 within 400 ms")))
      << r.out;
}

TEST_F(ProvDiscoverTest, JunkAnswersInTheGroupAreIgnoredAndHostileScopesMadeSafe) {
  const std::string evil_url = "http://127.0.0.1:9/evil-" + std::to_string(getpid());
  UdpResponder junk(true, [evil_url](std::string_view datagram) {
    std::vector<std::string> out;
    auto id = onvif::ParseProbe(datagram);
    if (!id.ok()) return out;
    onvif::ProbeMatch evil;
    evil.endpoint = "urn:uuid:evil-" + std::to_string(getpid());
    evil.xaddrs = evil_url;
    evil.scopes =
        "onvif://www.onvif.org/name/%1B[2J%E2%80%AEevil%FF "
        "onvif://www.onvif.org/hardware/%07bell";
    out.push_back(std::string("\x00\x01\x02 not xml \xff", 14));
    out.push_back(std::string(20000, '<'));  // over kMaxDiscoveryBytes
    out.push_back(onvif::BuildProbeMatches("urn:uuid:not-your-probe", evil));
    out.push_back("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>");
    out.push_back(onvif::BuildProbeMatches(*id, evil));
    evil.xaddrs += "-clone";  // the same endpoint elsewhere
    out.push_back(onvif::BuildProbeMatches(*id, evil));
    return out;
  });
  ASSERT_TRUE(junk.ok());

  json j = ProvJson({"discover", "--interface", "127.0.0.1", "--wait-ms", "1500"});
  for (const auto& cam : cameras_) {
    EXPECT_EQ(With(j["cameras"], cam->url()).size(), 1u) << cam->url() << " in " << j.dump(2);
  }
  EXPECT_GE(j["ignored"].get<int>(), 4) << j.dump();  // 4 bad datagrams for each Probe
  const auto evil = With(j["cameras"], evil_url);
  ASSERT_EQ(evil.size(), 1u) << j.dump(2);
  EXPECT_EQ(evil[0]["name"], "?[2J?evil?");
  EXPECT_EQ(evil[0]["hardware"], "?bell");
  EXPECT_GE(junk.received(), 2);

  Outcome r = Prov({"discover", "--interface", "127.0.0.1", "--wait-ms", "1000"});
  EXPECT_EQ(r.rc, 0) << Describe(r);
  const size_t at = r.out.find(evil_url);
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_NE(line.find("  ?[2J?evil?, ?bell  urn:uuid:evil-"), std::string::npos) << line;
  EXPECT_NE(r.out.find("\nwarning: urn:uuid:evil-" + std::to_string(getpid()) +
                       " answered from 2 addresses: a cloned camera, or one camera on several "
                       "networks\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.out.find('\x07'), std::string::npos);
}

TEST_F(ProvDiscoverTest, NoAnswerIsNotAnError) {
  UdpResponder silent(false, [](std::string_view) { return std::vector<std::string>{}; });
  ASSERT_TRUE(silent.ok());
  Outcome r = Prov({"discover", "--target", silent.target(), "--wait-ms", "300"});
  EXPECT_EQ(r.rc, 0) << Describe(r);
  EXPECT_EQ(r.out, "no ONVIF cameras answered at " + silent.target() + " within 300 ms\n");
  json j = ProvJson({"discover", "--target", silent.target(), "--wait-ms", "300"});
  EXPECT_EQ(j, json({{"ok", true},
                     {"cameras", json::array()},
                     {"ignored", 0},
                     {"wait_ms", 300},
                     {"exit_code", 0}}));
  EXPECT_EQ(silent.received(), 4);  // two Probes per run
  // Ledger options are accepted and unused.
  r = Prov({"--server", "127.0.0.1:1", "--vkey", dir_ + "/missing.vkey", "discover", "--target",
            silent.target(), "--wait-ms", "100"});
  EXPECT_EQ(r.rc, 0) << Describe(r);
}

TEST_F(ProvDiscoverTest, ExitCodes) {
  json j = ProvJson({"discover", "--interface", "192.0.2.1", "--wait-ms", "100"}, 64);
  EXPECT_EQ(j["reason"], "BAD_INTERFACE");
  j = ProvJson({"discover", "--interface", "lo", "--wait-ms", "100"}, 64);
  EXPECT_EQ(j["reason"], "BAD_INTERFACE");
  j = ProvJson({"discover", "--target", "[::1]:3702"}, 64);
  EXPECT_EQ(j["reason"], "BAD_TARGET");
  j = ProvJson({"discover", "--wait-ms", "-1"}, 64);
  EXPECT_EQ(j["reason"], "USAGE");
  // Sending fails (a broadcast address, without SO_BROADCAST): unavailable.
  j = ProvJson({"discover", "--target", "255.255.255.255", "--wait-ms", "100"}, 4);
  EXPECT_EQ(j["reason"], "DISCOVERY_FAILED");
  EXPECT_NE(j["message"].get<std::string>().find("255.255.255.255:3702"), std::string::npos) << j;
  Outcome r = Prov({"discover", "--target", "255.255.255.255", "--wait-ms", "100"});
  EXPECT_EQ(r.rc, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("prov: DISCOVERY_FAILED: sending the Probe to 255.255.255.255:3702"),
            std::string::npos)
      << r.err;
}

}  // namespace
