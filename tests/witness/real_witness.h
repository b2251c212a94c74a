// A real provwitness process for tests: `provwitness init` in DIR/NAME, then
// `provwitness serve --listen 127.0.0.1:0 --log LOG_VKEY`, stopped with
// SIGTERM when destroyed. REQUIRES: PROVWITNESS_PATH is defined.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/client/exec.h"
#include "verifier/cosignature.h"
#include "verifier/tlog_policy.h"

namespace witness {

// A real provwitness on a loopback port.
class RealWitness {
 public:
  RealWitness(const std::filesystem::path& dir, const std::string& name, const std::string& log_vkey)
      : RealWitness(dir, name, std::vector<std::string>{log_vkey}) {}
  // A witness of one log known by several keys (before and after a rotation).
  RealWitness(const std::filesystem::path& dir, const std::string& name,
              const std::vector<std::string>& log_vkeys)
      : dir_(dir / name) {
    std::filesystem::create_directories(dir_);
    auto init = testexec::Exec({PROVWITNESS_PATH, "init", "--state-dir", (dir_ / "s").string(),
                                "--name", name},
                               dir_.string());
    vkey_ = init.out.substr(0, init.out.find('\n'));
    std::vector<std::string> argv = {PROVWITNESS_PATH, "serve", "--state-dir",
                                     (dir_ / "s").string(), "--listen", "127.0.0.1:0"};
    for (const auto& v : log_vkeys) argv.insert(argv.end(), {"--log", v});
    proc_ = testexec::Start(argv, dir_.string());
    const std::string marker = "provwitness: serving on 127.0.0.1:";
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::string out = testexec::Slurp(proc_.out);
      if (size_t at = out.find(marker); at != std::string::npos) {
        port_ = std::atoi(out.c_str() + at + marker.size());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~RealWitness() { Stop(); }
  RealWitness(const RealWitness&) = delete;
  RealWitness& operator=(const RealWitness&) = delete;
  // SIGTERM and wait; the port then refuses connections.
  void Stop() {
    if (proc_.pid < 0) return;
    ::kill(proc_.pid, SIGTERM);
    testexec::Finish(proc_);
    proc_.pid = -1;
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // "witness NAME VKEY URL" for a tlog-policy file.
  std::string PolicyLine(const std::string& name) const {
    return "witness " + name + " " + vkey_ + " " + url() + "\n";
  }
  const std::string& vkey() const { return vkey_; }
  verifier::PolicyWitness Policy(const std::string& name, std::string url = "") const {
    return {name, *verifier::ParseWitnessKey(vkey_), vkey_,
            url.empty() ? "http://127.0.0.1:" + std::to_string(port_) : url};
  }

 private:
  std::filesystem::path dir_;
  std::string vkey_;
  testexec::Running proc_;
  int port_ = 0;
};

}  // namespace witness
