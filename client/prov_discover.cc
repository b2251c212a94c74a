// prov discover: list the ONVIF cameras that answer a WS-Discovery Probe
// (client/discover.h). Talks to no ledger: needs no --server or --vkey, and
// proves nothing about the cameras it lists; `prov scan` checks one.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "client/cli.h"
#include "client/discover.h"

namespace prov {
namespace {

struct DiscoverOpts {
  std::string interface_address, target;
  int wait_ms = 2000;
  size_t max_devices = 256;
};

std::vector<std::string> Words(const std::string& list) {
  std::vector<std::string> out;
  std::istringstream in(list);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

int Discover(const DiscoverOpts& o) {
  client::DiscoverOptions options;
  options.interface_address = o.interface_address;
  options.target = o.target;
  options.wait = std::chrono::milliseconds(o.wait_ms);
  options.max_devices = o.max_devices;
  size_t ignored = 0;
  auto cameras = client::Discover(options, &ignored);
  if (!cameras.ok()) return Report(cameras.status());

  if (G().json) {
    json list = json::array();
    for (const auto& c : *cameras) {
      list.push_back({{"endpoint", c.endpoint},
                      {"address", c.address},
                      {"xaddrs", Words(c.xaddrs)},
                      {"types", Words(c.types)},
                      {"scopes", Words(c.scopes)},
                      {"hardware", c.hardware},
                      {"name", c.name}});
    }
    std::cout << json{{"ok", true},
                      {"cameras", list},
                      {"ignored", ignored},
                      {"wait_ms", o.wait_ms},
                      {"exit_code", kOk}}
                     .dump()
              << "\n";
    return kOk;
  }

  const std::string where = o.target.empty() ? "" : " at " + o.target;
  const std::string others =
      ignored == 0 ? "" : " (" + std::to_string(ignored) + " other datagrams ignored)";
  if (cameras->empty()) {
    std::printf("no ONVIF cameras answered%s within %d ms%s\n", where.c_str(), o.wait_ms,
                others.c_str());
    if (o.interface_address.empty() && o.target.empty()) {
      std::printf("on another network? give --interface IP (this machine's address on it)\n");
    }
    return kOk;
  }
  std::vector<std::string> urls;
  size_t width = 0;
  for (const auto& c : *cameras) {
    std::string url = Join(Words(c.xaddrs), ",");
    if (url.empty()) url = "(no address; from " + c.address + ")";
    width = std::max(width, url.size());
    urls.push_back(std::move(url));
  }
  std::string scan_hint;
  for (size_t i = 0; i < cameras->size(); ++i) {
    const auto& c = (*cameras)[i];
    std::string label = c.name;
    if (!c.hardware.empty() && c.hardware != c.name) {
      label += (label.empty() ? "" : ", ") + c.hardware;
    }
    if (label.empty()) label = "-";
    std::printf("%-*s  %s  %s\n", static_cast<int>(width), urls[i].c_str(), label.c_str(),
                c.endpoint.c_str());
    if (scan_hint.empty()) {
      const auto xaddrs = Words(c.xaddrs);
      if (!xaddrs.empty()) scan_hint = client::XAddrHostPort(xaddrs[0]);
    }
  }
  std::map<std::string, int> per_endpoint;
  for (const auto& c : *cameras) ++per_endpoint[c.endpoint];
  for (const auto& [endpoint, n] : per_endpoint) {
    if (n > 1) {
      std::printf(
          "warning: %s answered from %d addresses: a cloned camera, or one camera on "
          "several networks\n",
          endpoint.c_str(), n);
    }
  }
  std::printf("%zu ONVIF camera%s answered%s within %d ms%s\n", cameras->size(),
              cameras->size() == 1 ? "" : "s", where.c_str(), o.wait_ms, others.c_str());
  std::printf("unverified answers: check a camera with `prov scan --onvif %s`\n",
              scan_hint.empty() ? "HOST:PORT" : scan_hint.c_str());
  return kOk;
}

}  // namespace

void AddDiscoverCommands(CLI::App& app) {
  auto o = std::make_shared<DiscoverOpts>();
  auto* discover = app.add_subcommand(
      "discover", "installer: list the ONVIF cameras answering WS-Discovery (no ledger needed)");
  discover->add_option("--interface", o->interface_address,
                       "IPv4 address of the interface to probe on (default: the default route's)");
  discover->add_option("--wait-ms", o->wait_ms, "how long to collect answers")
      ->default_val(o->wait_ms)
      ->check(CLI::Range(0, 600000));
  discover->add_option("--target", o->target,
                       "probe HOST[:PORT] (default port 3702) by unicast instead of multicast");
  discover->add_option("--max-devices", o->max_devices, "stop after this many cameras")
      ->default_val(o->max_devices)
      ->check(CLI::Range(1, 1 << 20));
  OnRun(discover, [o] { return Discover(*o); });
}

}  // namespace prov
