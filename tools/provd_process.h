// A real `provd` child process, for provbench and the integration tests:
// `provd init` a data directory, start `provd serve` on a loopback port
// chosen by the kernel, and stop it with a signal. Its stdout and stderr go
// to <data-dir>/provd.log; the port is read from the "provd: serving" line
// (the tiles URL from "provd: tiles on", the metrics URL from "provd:
// metrics on").
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "transport/credentials.h"
#include "verifier/crypto.h"
#include "verifier/status.h"

namespace tools {

using verifier::Result;
using verifier::Status;

// Runs `provd init` in `data_dir` with the given authorities; returns the
// log's verifier key (vkey text).
Result<std::string> InitLedger(
    const std::string& provd, const std::string& data_dir, const std::string& origin,
    const std::vector<std::pair<std::string, verifier::PublicKey>>& authorities,
    uint32_t threshold);

class ProvdProcess {
 public:
  // Starts `provd serve --data-dir DIR --listen 127.0.0.1:0 EXTRA...` and
  // waits (up to 60 s) until it serves. A `wrapper` (e.g.
  // FiuControl::Wrapper()) is put before provd on the command line and must
  // exec it (keeping the pid).
  static Result<std::unique_ptr<ProvdProcess>> Start(const std::string& provd,
                                                     const std::string& data_dir,
                                                     std::vector<std::string> extra = {},
                                                     std::vector<std::string> wrapper = {});
  ~ProvdProcess();  // SIGKILL if still running
  ProvdProcess(const ProvdProcess&) = delete;
  ProvdProcess& operator=(const ProvdProcess&) = delete;

  const std::string& target() const { return target_; }  // "127.0.0.1:PORT"
  // "http://127.0.0.1:PORT" with --tiles-dir and --http-listen; else empty.
  const std::string& tiles_url() const { return tiles_url_; }
  // "http://127.0.0.1:PORT/metrics" with --metrics-listen; else empty.
  const std::string& metrics_url() const { return metrics_url_; }
  pid_t pid() const { return pid_; }
  // Peak resident set size (VmHWM) in bytes; 0 if unknown.
  uint64_t PeakRssBytes() const;

  // Sends `sig` and waits for the exit; returns the exit code (128+signal
  // for a death by signal).
  int Stop(int sig);

 private:
  ProvdProcess() = default;
  pid_t pid_ = -1;
  std::string target_;
  std::string tiles_url_;
  std::string metrics_url_;
};

// A real `provwitness` child process: `provwitness init --state-dir DIR
// --name NAME`, then `serve` on a loopback port chosen by the kernel for the
// log `log_vkey`; output goes to DIR.log. Stopped with SIGTERM.
class WitnessProcess {
 public:
  static Result<std::unique_ptr<WitnessProcess>> Start(const std::string& provwitness,
                                                       const std::string& state_dir,
                                                       const std::string& name,
                                                       const std::string& log_vkey);
  ~WitnessProcess();
  WitnessProcess(const WitnessProcess&) = delete;
  WitnessProcess& operator=(const WitnessProcess&) = delete;

  const std::string& url() const { return url_; }    // "http://127.0.0.1:PORT"
  const std::string& vkey() const { return vkey_; }  // its cosignature verifier key

 private:
  WitnessProcess() = default;
  pid_t pid_ = -1;
  std::string url_, vkey_;
};

// Disk faults in a live process, with libfiu (Debian fiu-utils): a process
// started under `fiu-run -x -f PREFIX` (Wrapper()) has libfiu's POSIX
// wrappers preloaded, and takes fiu-ctrl's commands on the named pipes
// PREFIX-PID.in and PREFIX-PID.out. A failure point such as
// posix/io/rw/write or posix/io/sync/fdatasync then fails every call of that
// function in the whole process (any thread, any fd; glibc's own stdio does
// not go through them) with the given errno, until disabled.
class FiuControl {
 public:
  // `fiu-run -x -f PREFIX`; NOT_FOUND if fiu-run is not installed.
  static Result<std::vector<std::string>> Wrapper(const std::string& prefix);
  FiuControl(std::string prefix, pid_t pid) : prefix_(std::move(prefix)), pid_(pid) {}

  // Every call behind `point` (e.g. "posix/io/rw/write") fails with `err`.
  Status Enable(const std::string& point, int err);
  Status Disable(const std::string& point);

 private:
  Status Command(const std::string& line);
  std::string prefix_;
  pid_t pid_;
};

// The standard gRPC health status of `service` ("": the server as a whole)
// at `target` (grpc.health.v1.Health/Check): 1 SERVING, 2 NOT_SERVING,
// 0 UNKNOWN; -1 if the call failed (NOT_FOUND for a service not served).
int HealthStatus(const std::string& target,
                 const transport::TlsFiles& tls = transport::TlsFiles::Plaintext(),
                 const std::string& service = "");

// Runs a command to completion with stdout/stderr appended to `log`;
// returns its exit code (128+signal if killed).
int RunCommand(const std::vector<std::string>& argv, const std::string& log);

// Total size of the files under `dir` (recursively), in bytes.
uint64_t DirectoryBytes(const std::string& dir);

}  // namespace tools
