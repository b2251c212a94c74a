#include "tools/provd_process.h"

#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace tools {
namespace {

namespace fs = std::filesystem;

// fork + exec with stdout and stderr appended to `log`.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int ExitCode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

std::string ReadFrom(const std::string& path, std::streamoff offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int RunCommand(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = Spawn(argv, log);
  if (pid < 0) return -1;
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  return ExitCode(wstatus);
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

Result<std::string> InitLedger(
    const std::string& provd, const std::string& data_dir, const std::string& origin,
    const std::vector<std::pair<std::string, verifier::PublicKey>>& authorities,
    uint32_t threshold) {
  std::vector<std::string> argv = {provd,      "init", "--data-dir",  data_dir,
                                   "--origin", origin, "--threshold", std::to_string(threshold)};
  for (const auto& [name, key] : authorities) {
    argv.push_back("--authority");
    argv.push_back(name + "=" + verifier::HexEncode(key));
  }
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  const std::string log = data_dir + "/provd.log";
  if (int rc = RunCommand(argv, log); rc != 0) {
    return verifier::Internal("PROVD_INIT",
                              "provd init exited " + std::to_string(rc) + "; see " + log);
  }
  std::ifstream in(data_dir + "/log.vkey");
  std::string vkey;
  if (!std::getline(in, vkey) || vkey.empty()) {
    return verifier::Internal("PROVD_INIT", "no log.vkey in " + data_dir);
  }
  return vkey;
}

Result<std::unique_ptr<ProvdProcess>> ProvdProcess::Start(const std::string& provd,
                                                          const std::string& data_dir,
                                                          std::vector<std::string> extra,
                                                          std::vector<std::string> wrapper) {
  const std::string log = data_dir + "/provd.log";
  std::error_code ec;
  const auto offset = static_cast<std::streamoff>(fs::exists(log, ec) ? fs::file_size(log, ec) : 0);
  std::vector<std::string> argv = {provd,    "serve",    "--data-dir",
                                   data_dir, "--listen", "127.0.0.1:0"};
  // Plaintext on loopback unless the caller configures TLS.
  if (std::find(extra.begin(), extra.end(), "--tls-cert") == extra.end()) {
    argv.push_back("--plaintext");
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.begin(), wrapper.begin(), wrapper.end());
  std::unique_ptr<ProvdProcess> p(new ProvdProcess);
  p->pid_ = Spawn(argv, log);
  if (p->pid_ < 0) return verifier::Internal("PROVD_START", "fork failed");

  static const std::regex kServing(R"(provd: serving \S+ \(size \d+\) on (\S+:\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string text = ReadFrom(log, offset);
    if (std::regex_search(text, m, kServing)) {
      p->target_ = m[1];
      static const std::regex kTiles(R"(provd: tiles on (http://\S+:\d+))");
      if (std::regex_search(text, m, kTiles)) p->tiles_url_ = m[1];
      static const std::regex kMetrics(R"(provd: metrics on (http://\S+:\d+/metrics))");
      if (std::regex_search(text, m, kMetrics)) p->metrics_url_ = m[1];
      return p;
    }
    int wstatus = 0;
    if (waitpid(p->pid_, &wstatus, WNOHANG) == p->pid_) {
      p->pid_ = -1;
      return verifier::Internal("PROVD_START", "provd exited " + std::to_string(ExitCode(wstatus)) +
                                                   ": " + text.substr(0, 2000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return verifier::Internal("PROVD_START", "provd did not start serving within 60 s; see " + log);
}

Result<std::unique_ptr<WitnessProcess>> WitnessProcess::Start(const std::string& provwitness,
                                                              const std::string& state_dir,
                                                              const std::string& name,
                                                              const std::string& log_vkey) {
  const std::string log = state_dir + ".log";
  if (int rc = RunCommand({provwitness, "init", "--state-dir", state_dir, "--name", name}, log);
      rc != 0) {
    return verifier::Internal("WITNESS_START",
                              "provwitness init exited " + std::to_string(rc) + "; see " + log);
  }
  std::error_code ec;
  const auto offset = static_cast<std::streamoff>(fs::file_size(log, ec));
  std::unique_ptr<WitnessProcess> w(new WitnessProcess);
  w->pid_ = Spawn({provwitness, "serve", "--state-dir", state_dir, "--listen", "127.0.0.1:0",
                   "--log", log_vkey},
                  log);
  if (w->pid_ < 0) return verifier::Internal("WITNESS_START", "fork failed");
  static const std::regex kServing(R"(provwitness: serving on (\S+:\d+) as (\S+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string text = ReadFrom(log, offset);
    if (std::regex_search(text, m, kServing)) {
      w->url_ = "http://" + m[1].str();
      w->vkey_ = m[2];
      return w;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return verifier::Internal("WITNESS_START", "provwitness did not start within 30 s; see " + log);
}

WitnessProcess::~WitnessProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
}

Result<std::vector<std::string>> FiuControl::Wrapper(const std::string& prefix) {
  for (const char* path : {"/usr/bin/fiu-run", "/usr/local/bin/fiu-run"}) {
    if (access(path, X_OK) == 0) return std::vector<std::string>{path, "-x", "-f", prefix};
  }
  return verifier::NotFound("NO_FIU_RUN", "fiu-run is not installed (apt-get install fiu-utils)");
}

Status FiuControl::Enable(const std::string& point, int err) {
  return Command("enable name=" + point + ",failinfo=" + std::to_string(err));
}

Status FiuControl::Disable(const std::string& point) { return Command("disable name=" + point); }

// What fiu-ctrl does: the command line into PREFIX-PID.in, the answer ("0"
// or "-1") from PREFIX-PID.out.
Status FiuControl::Command(const std::string& line) {
  const std::string base = prefix_ + "-" + std::to_string(pid_);
  // Non-blocking: ENXIO at once if nobody (a dead process) reads the pipe.
  int in = -1;
  for (int tries = 0; tries < 100 && in < 0; ++tries) {
    in = open((base + ".in").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (in < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (in < 0) {
    return verifier::Internal("FIU_CTRL", "cannot open " + base + ".in: " + std::strerror(errno));
  }
  const std::string text = line + "\n";
  const bool wrote = write(in, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(in);
  if (!wrote) return verifier::Internal("FIU_CTRL", "cannot write " + base + ".in");
  std::string reply;
  int out = open((base + ".out").c_str(), O_RDONLY | O_CLOEXEC);
  if (out < 0) {
    return verifier::Internal("FIU_CTRL", "cannot open " + base + ".out: " + std::strerror(errno));
  }
  char buf[64];
  for (ssize_t n; (n = read(out, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  close(out);
  if (reply.rfind("0", 0) != 0) {
    return verifier::Internal("FIU_CTRL", "libfiu refused '" + line + "': '" + reply + "'");
  }
  return Status::Ok();
}

int HealthStatus(const std::string& target, const transport::TlsFiles& tls,
                 const std::string& service) {
  auto creds = transport::ChannelCredentials(tls, target);
  if (!creds.ok() || service.size() > 127) return -1;
  grpc::GenericStub stub(grpc::CreateChannel(target, *creds));
  // HealthCheckRequest{service = 1 (string)}; "" is encoded empty.
  std::string bytes;
  if (!service.empty()) bytes = std::string("\x0a") + static_cast<char>(service.size()) + service;
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  if (!cq.Next(&tag, &ok) || !status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  bytes.clear();
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1 (varint)}; UNKNOWN (0) is encoded empty.
  if (bytes.empty()) return 0;
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -1;
}

ProvdProcess::~ProvdProcess() {
  if (pid_ > 0) Stop(SIGKILL);
}

uint64_t ProvdProcess::PeakRssBytes() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // kB
  }
  return 0;
}

int ProvdProcess::Stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  return ExitCode(wstatus);
}

}  // namespace tools
