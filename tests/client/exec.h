// Running a command line tool from a test: fork + exec with stdout and
// stderr captured separately (to completion, or several at once), and
// small file helpers.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace testexec {

struct Outcome {
  int rc = -1;
  std::string out, err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Environment changes for a child: NAME -> value, or nullopt to unset it.
using Env = std::map<std::string, std::optional<std::string>>;

// A started child process and the files its stdout and stderr go to.
struct Running {
  pid_t pid = -1;
  std::string out, err;
};

// fork + exec `argv` with stdout and stderr captured separately in files
// under `dir`. The child gets XDG_STATE_HOME=DIR/xdg-state (so a prov
// without --state-dir keeps its trust store under `dir`, never in the real
// home), then the changes in `env`.
inline Running Start(const std::vector<std::string>& argv, const std::string& dir,
                     const Env& env = {}) {
  static std::atomic<int> counter{0};
  const std::string base =
      dir + "/run-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  Running r{-1, base + ".out", base + ".err"};
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The child's environment, built before fork: ours with the changes.
  Env changes = env;
  changes.emplace("XDG_STATE_HOME", dir + "/xdg-state");  // unless `env` sets it
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string var = *e;
    if (!changes.count(var.substr(0, var.find('=')))) vars.push_back(std::move(var));
  }
  for (const auto& [name, value] : changes) {
    if (value) vars.push_back(name + "=" + *value);
  }
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(r.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(r.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || null < 0) _exit(126);
    dup2(null, 0);
    dup2(o, 1);
    dup2(e, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  r.pid = pid;
  return r;
}

// Waits for `r`; returns the exit code (128+signal if killed) and the output.
inline Outcome Finish(const Running& r) {
  Outcome o;
  if (r.pid < 0) return o;
  int status = 0;
  waitpid(r.pid, &status, 0);
  o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = Slurp(r.out);
  o.err = Slurp(r.err);
  return o;
}

// Start + Finish.
inline Outcome Exec(const std::vector<std::string>& argv, const std::string& dir,
                    const Env& env = {}) {
  return Finish(Start(argv, dir, env));
}

inline std::string Describe(const Outcome& r) {
  return "exit " + std::to_string(r.rc) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

}  // namespace testexec
