// Running a command line tool from a test: fork + exec with stdout and
// stderr captured separately, and small file helpers.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
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

// fork + exec `argv` with stdout and stderr captured separately in files
// under `dir`; returns the exit code (128+signal if killed) and the output.
inline Outcome Exec(const std::vector<std::string>& argv, const std::string& dir) {
  static int counter = 0;  // one process runs one test at a time
  const std::string base = dir + "/run-" + std::to_string(++counter);
  const std::string out = base + ".out", err = base + ".err";
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Outcome r;
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || null < 0) _exit(126);
    dup2(null, 0);
    dup2(o, 1);
    dup2(e, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

inline std::string Describe(const Outcome& r) {
  return "exit " + std::to_string(r.rc) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

}  // namespace testexec
