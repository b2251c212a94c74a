// A real nginx (/usr/sbin/nginx) serving a directory on a free loopback
// port, for the tlog-tiles client tests: generated config, `daemon off;`,
// pid, logs and temp paths under the test's directory. Optionally HTTPS with
// a given certificate. Stopped (SIGQUIT, then SIGKILL) on destruction.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

namespace testnginx {

inline constexpr char kNginx[] = "/usr/sbin/nginx";

// A port the kernel had free on 127.0.0.1 a moment ago.
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

inline bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class Nginx {
 public:
  struct Tls {
    std::string cert, key;  // PEM files
  };
  // Serves `root` (URL path /X is file root/X) from `work` (config, logs).
  // Returns nullptr (and the error log in *error) when nginx does not start.
  static std::unique_ptr<Nginx> Start(const std::string& root, const std::string& work,
                                      std::string* error, const Tls* tls = nullptr) {
    std::filesystem::create_directories(work + "/tmp");
    for (int attempt = 0; attempt < 5; ++attempt) {
      int port = FreePort();
      std::string conf = work + "/nginx.conf";
      std::ofstream out(conf, std::ios::trunc);
      out << "daemon off;\n"
          << "worker_processes 1;\n"
          << "pid " << work << "/nginx.pid;\n"
          << "error_log " << work << "/error.log info;\n"
          << (geteuid() == 0 ? "user root;\n" : "") << "events { worker_connections 64; }\n"
          << "http {\n"
          << "  access_log " << work << "/access.log;\n"
          << "  client_body_temp_path " << work << "/tmp/body;\n"
          << "  proxy_temp_path " << work << "/tmp/proxy;\n"
          << "  fastcgi_temp_path " << work << "/tmp/fastcgi;\n"
          << "  uwsgi_temp_path " << work << "/tmp/uwsgi;\n"
          << "  scgi_temp_path " << work << "/tmp/scgi;\n"
          << "  types { }\n"
          << "  default_type application/octet-stream;\n"
          << "  server {\n"
          << "    listen 127.0.0.1:" << port << (tls ? " ssl" : "") << ";\n";
      if (tls) {
        out << "    ssl_certificate " << tls->cert << ";\n"
            << "    ssl_certificate_key " << tls->key << ";\n";
      }
      out << "    root " << root << ";\n"
          << "    location ~ /checkpoint$ {\n"
          << "      default_type \"text/plain; charset=utf-8\";\n"
          << "      add_header Cache-Control \"no-cache\";\n"
          << "    }\n"
          << "  }\n"
          << "}\n";
      out.close();
      pid_t pid = fork();
      if (pid == 0) {
        std::string log = work + "/stderr.log";
        FILE* f = std::freopen(log.c_str(), "a", stderr);
        (void)f;
        execl(kNginx, kNginx, "-p", work.c_str(), "-c", conf.c_str(), "-e",
              (work + "/error.log").c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
          pid = -1;
          break;
        }
        if (Accepts(port)) {
          std::unique_ptr<Nginx> n(new Nginx());
          n->pid_ = pid;
          n->port_ = port;
          n->work_ = work;
          return n;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
    std::ifstream log(work + "/error.log");
    *error = std::string(std::istreambuf_iterator<char>(log), {});
    return nullptr;
  }

  ~Nginx() {
    if (pid_ <= 0) return;
    kill(pid_, SIGQUIT);
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (no trailing slash).
  std::string Url(bool https = false) const {
    return std::string(https ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  std::string access_log() const { return work_ + "/access.log"; }

 private:
  Nginx() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string work_;
};

}  // namespace testnginx
