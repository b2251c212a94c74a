// Camera TLS against real peers on loopback: `openssl s_server` (the
// handshake policy) and a small OpenSSL server in a thread that answers
// canned HTTP responses (the HTTP layer). Certificates are made by the
// openssl CLI in a temporary directory.
#include "transport/camera_tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void Shell(const std::string& command) {
  ASSERT_EQ(std::system((command + " 2>/dev/null").c_str()), 0) << command;
}

// A loopback port that was free a moment ago.
uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A listening loopback socket on a kernel-chosen port.
int Listen(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 8) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// `/usr/bin/openssl s_server ARGS -accept 127.0.0.1:PORT`, ready when it
// printed ACCEPT; killed on destruction.
class SServer {
 public:
  SServer(const std::string& dir, std::vector<std::string> args) {
    for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) Start(dir, args);
  }
  ~SServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (stdin_ >= 0) close(stdin_);
  }
  bool ok() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string log() const { return ReadFile(log_); }

 private:
  void Start(const std::string& dir, const std::vector<std::string>& args) {
    port_ = FreePort();
    log_ = dir + "/s_server." + std::to_string(port_) + ".log";
    int in[2];
    if (pipe(in) != 0) return;
    std::vector<std::string> argv = {"/usr/bin/openssl", "s_server", "-accept",
                                     "127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);  // stdin stays open and silent: s_server ends a session at its EOF
      int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, 1);
      dup2(out, 2);
      chdir(dir.c_str());
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(in[0]);
    for (auto until = Clock::now() + 3s; Clock::now() < until; std::this_thread::sleep_for(10ms)) {
      if (ReadFile(log_).find("ACCEPT") != std::string::npos) {
        pid_ = pid;
        stdin_ = in[1];
        return;
      }
      if (waitpid(pid, nullptr, WNOHANG) == pid) break;  // e.g. the port was taken meanwhile
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(in[1]);
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

// One canned reply: its bytes, sent at once or one byte every `drip`; then
// optionally the connection is closed, with or without a TLS close_notify.
struct Reply {
  std::string bytes;
  std::chrono::milliseconds drip{0};
  bool close_after = false;
  bool close_notify = true;
};

// Accepts one connection (TLS with `ctx`, plain without) and answers each
// request with the next reply; then waits for the client to close.
class CannedServer {
 public:
  CannedServer(SSL_CTX* ctx, std::vector<Reply> replies) : ctx_(ctx), replies_(std::move(replies)) {
    listen_ = Listen(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    stop_ = true;
    thread_.join();
    close(listen_);
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  // >0 bytes, 0 end of stream, -1 error; retries timeouts until stop_.
  int Recv(SSL* ssl, int fd, char* buf, int n) {
    while (!stop_) {
      int r = ssl ? SSL_read(ssl, buf, n) : static_cast<int>(recv(fd, buf, n, 0));
      if (r > 0) return r;
      if (ssl) {
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) continue;
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      }
      if (r == 0) return 0;
      if (errno != EAGAIN && errno != EINTR) return -1;
    }
    return -1;
  }
  bool Send(SSL* ssl, int fd, const char* data, int n) {
    return ssl ? SSL_write(ssl, data, n) == n : send(fd, data, n, MSG_NOSIGNAL) == n;
  }
  bool ReadRequest(SSL* ssl, int fd, std::string* pending) {
    char buf[4096];
    size_t end;
    while ((end = pending->find("\r\n\r\n")) == std::string::npos) {
      int r = Recv(ssl, fd, buf, sizeof buf);
      if (r <= 0) return false;
      pending->append(buf, r);
    }
    size_t length = 0;
    if (size_t cl = pending->find("Content-Length: "); cl != std::string::npos && cl < end) {
      length = std::stoul(pending->substr(cl + 16));
    }
    while (pending->size() < end + 4 + length) {
      int r = Recv(ssl, fd, buf, sizeof buf);
      if (r <= 0) return false;
      pending->append(buf, r);
    }
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(pending->substr(0, end + 4 + length));
    pending->erase(0, end + 4 + length);
    return true;
  }
  void Serve() {
    pollfd p{listen_, POLLIN, 0};
    if (poll(&p, 1, 3000) != 1) return;
    int fd = accept(listen_, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{0, 50'000};  // so Recv notices stop_
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL* ssl = nullptr;
    bool open = true;
    if (ctx_ != nullptr) {
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      int r;
      while ((r = SSL_accept(ssl)) != 1 && SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ && !stop_) {
      }
      open = r == 1;
    }
    std::string pending;
    for (const Reply& reply : replies_) {
      if (!open || !ReadRequest(ssl, fd, &pending)) break;
      if (reply.drip.count() == 0) {
        open = Send(ssl, fd, reply.bytes.data(), static_cast<int>(reply.bytes.size()));
      } else {
        for (size_t i = 0; open && i < reply.bytes.size() && !stop_; ++i) {
          open = Send(ssl, fd, &reply.bytes[i], 1);
          std::this_thread::sleep_for(reply.drip);
        }
      }
      if (reply.close_after) {
        if (ssl && reply.close_notify) SSL_shutdown(ssl);
        open = false;
      }
    }
    char buf[256];
    while (open && Recv(ssl, fd, buf, sizeof buf) > 0) {
    }
    SSL_free(ssl);
    close(fd);
  }

  SSL_CTX* ctx_;
  std::vector<Reply> replies_;
  int listen_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

class CameraTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/prov-camtls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string o = "cd " + dir_ + " && /usr/bin/openssl ";
    // A P-256 CA and a P-256 leaf under it; a self-signed RSA-2048 leaf.
    Shell(o +
          "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
          "-out ca.pem -days 2 -subj '/CN=camera test CA'");
    Shell(o +
          "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
          "-out leaf.csr -subj '/CN=camera test leaf/serialNumber=ACCC8E000001'");
    Shell(o +
          "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2");
    Shell(o +
          "req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem -days 2 "
          "-subj '/CN=camera test RSA leaf'");
    Shell(o + "x509 -in leaf.pem -outform DER -out leaf.der");
    Shell(o + "x509 -in ca.pem -outform DER -out ca.der");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static std::string P(const std::string& name) { return dir_ + "/" + name; }
  static std::vector<std::string> Leaf() {
    return {"-cert", P("leaf.pem"), "-key", P("leaf.key"), "-cert_chain", P("ca.pem")};
  }
  static std::vector<std::string> With(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  static transport::CameraTlsOptions Fast() {
    transport::CameraTlsOptions o;
    o.timeout = 1500ms;
    return o;
  }

  // A server context with the P-256 leaf and its CA.
  static SSL_CTX* ServerContext() {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_file(ctx, P("leaf.pem").c_str(), SSL_FILETYPE_PEM), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx, P("leaf.key").c_str(), SSL_FILETYPE_PEM), 1);
    return ctx;
  }

  static inline std::string dir_;
};

TEST_F(CameraTlsTest, Tls13HandshakeFillsEveryFieldAndTheChainAsSent) {
  SServer server(dir_, With({"-tls1_3", "-rev"}, Leaf()));
  ASSERT_TRUE(server.ok());
  std::string first_random;
  for (int i = 0; i < 2; ++i) {
    auto c = transport::CameraConnection::Open("127.0.0.1", server.port(), Fast());
    ASSERT_TRUE(c.ok()) << c.status().ToString() << "\n" << server.log();
    const transport::TlsHandshake& h = (*c)->handshake();
    EXPECT_EQ(h.version, "TLSv1.3");
    EXPECT_EQ(h.cipher.rfind("TLS_", 0), 0u) << h.cipher;
    EXPECT_EQ(h.group, "x25519");
    EXPECT_EQ(h.signature_algorithm, "ecdsa_secp256r1_sha256");
    ASSERT_EQ(h.client_random.size(), 32u);
    ASSERT_EQ(h.peer_chain_der.size(), 2u);
    EXPECT_EQ(h.peer_chain_der[0], ReadFile(P("leaf.der")));
    EXPECT_EQ(h.peer_chain_der[1], ReadFile(P("ca.der")));
    if (i == 0) {
      first_random = h.client_random;
    } else {
      EXPECT_NE(h.client_random, first_random);
    }
  }
}

TEST_F(CameraTlsTest, Tls13WithAnRsaLeafSignsWithRsaPss) {
  SServer server(dir_, {"-tls1_3", "-rev", "-cert", P("rsa.pem"), "-key", P("rsa.key")});
  ASSERT_TRUE(server.ok());
  auto c = transport::CameraConnection::Open("127.0.0.1", server.port(), Fast());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->handshake().signature_algorithm, "rsa_pss_rsae_sha256");
  EXPECT_EQ((*c)->handshake().peer_chain_der.size(), 1u);
}

TEST_F(CameraTlsTest, Tls12WithEcdheIsAccepted) {
  SServer server(dir_,
                 With({"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-rev"}, Leaf()));
  ASSERT_TRUE(server.ok());
  auto c = transport::CameraConnection::Open("127.0.0.1", server.port(), Fast());
  ASSERT_TRUE(c.ok()) << c.status().ToString() << "\n" << server.log();
  const transport::TlsHandshake& h = (*c)->handshake();
  EXPECT_EQ(h.version, "TLSv1.2");
  EXPECT_EQ(h.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_FALSE(h.group.empty());
  EXPECT_EQ(h.signature_algorithm, "ecdsa_secp256r1_sha256");
  EXPECT_EQ(h.client_random.size(), 32u);
}

TEST_F(CameraTlsTest, Tls12StaticRsaIsAWeakHandshake) {
  SServer server(dir_, {"-tls1_2", "-cipher", "AES128-GCM-SHA256", "-rev", "-cert", P("rsa.pem"),
                        "-key", P("rsa.key")});
  ASSERT_TRUE(server.ok());
  auto c = transport::CameraConnection::Open("127.0.0.1", server.port(), Fast());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "WEAK_HANDSHAKE") << c.status().ToString();
  EXPECT_EQ(c.status().code(), verifier::Code::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("static-RSA"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("AES128-GCM-SHA256"), std::string::npos);
}

TEST_F(CameraTlsTest, Tls11OnlyIsAWeakHandshake) {
  SServer server(dir_, {"-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-rev", "-cert", P("rsa.pem"),
                        "-key", P("rsa.key")});
  ASSERT_TRUE(server.ok()) << "s_server refused -tls1_1";
  auto c = transport::CameraConnection::Open("127.0.0.1", server.port(), Fast());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "WEAK_HANDSHAKE") << c.status().ToString();
  EXPECT_NE(c.status().message().find("TLSv1.1"), std::string::npos) << c.status().message();
}

TEST_F(CameraTlsTest, LongerChainThanAllowedIsBadChain) {
  SServer server(dir_, With({"-tls1_3", "-rev"}, Leaf()));
  ASSERT_TRUE(server.ok());
  transport::CameraTlsOptions o = Fast();
  o.max_chain_certificates = 1;
  auto c = transport::CameraConnection::Open("127.0.0.1", server.port(), o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "BAD_CHAIN") << c.status().ToString();
}

TEST_F(CameraTlsTest, NothingListeningIsUnreachable) {
  const uint16_t port = FreePort();
  auto c = transport::CameraConnection::Open("127.0.0.1", port, Fast());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "UNREACHABLE");
  EXPECT_EQ(c.status().code(), verifier::Code::kUnavailable);
  EXPECT_NE(c.status().message().find("127.0.0.1"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("refused"), std::string::npos) << c.status().message();
}

TEST_F(CameraTlsTest, UnresolvableNameIsUnreachable) {
  auto c = transport::CameraConnection::Open("no-such-camera.invalid", 443, Fast());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "UNREACHABLE") << c.status().ToString();
}

TEST_F(CameraTlsTest, SilentServerTimesOutTheHandshake) {
  uint16_t port;
  int fd = Listen(&port);  // the kernel completes TCP handshakes; nobody ever answers
  ASSERT_GE(fd, 0);
  transport::CameraTlsOptions o;
  o.timeout = 300ms;
  const auto start = Clock::now();
  auto c = transport::CameraConnection::Open("127.0.0.1", port, o);
  const auto took = Clock::now() - start;
  close(fd);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "TIMEOUT") << c.status().ToString();
  EXPECT_EQ(c.status().code(), verifier::Code::kDeadlineExceeded);
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3s);
}

TEST_F(CameraTlsTest, PlainHttpServerIsNotTls) {
  uint16_t port;
  int fd = Listen(&port);
  ASSERT_GE(fd, 0);
  std::thread t([fd] {
    int c = accept(fd, nullptr, nullptr);
    const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
    close(c);
  });
  auto c = transport::CameraConnection::Open("127.0.0.1", port, Fast());
  t.join();
  close(fd);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "TLS_FAILED") << c.status().ToString();
}

// ---- HTTP over the connection ----

class CameraHttpTest : public CameraTlsTest {
 protected:
  void SetUp() override { ctx_ = ServerContext(); }
  void TearDown() override { SSL_CTX_free(ctx_); }

  verifier::Result<std::unique_ptr<transport::CameraConnection>> Connect(
      const CannedServer& s, transport::CameraTlsOptions o = Fast()) {
    return transport::CameraConnection::Open("127.0.0.1", s.port(), o);
  }
  static std::string Ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  SSL_CTX* ctx_ = nullptr;
};

TEST_F(CameraHttpTest, ContentLengthResponseAndTheRequestWeSent) {
  CannedServer server(ctx_, {{Ok("<ok/>")}});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/onvif/device_service", "application/soap+xml", "<get/>");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "application/soap+xml; charset=utf-8");
  EXPECT_EQ(r->body, "<ok/>");
  c->reset();
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string port = std::to_string(server.port());
  EXPECT_EQ(requests[0],
            "POST /onvif/device_service HTTP/1.1\r\nHost: 127.0.0.1:" + port +
                "\r\nUser-Agent: prov-scan\r\nConnection: keep-alive\r\n"
                "Content-Type: application/soap+xml\r\nContent-Length: 6\r\n\r\n<get/>");
}

TEST_F(CameraHttpTest, ChunkedResponseAfterA100Continue) {
  CannedServer server(ctx_, {{"HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"}});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/", "text/plain", "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
}

TEST_F(CameraHttpTest, TwoRequestsShareOneKeepAliveConnection) {
  CannedServer server(ctx_,
                      {{Ok("one")}, {"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\ntwo"}});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string random = (*c)->handshake().client_random;
  auto first = (*c)->Post("/a", "text/plain", "1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->body, "one");
  std::this_thread::sleep_for(20ms);  // let TLS 1.3 session tickets arrive in between
  auto second = (*c)->Post("/b", "text/plain", "2");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->status, 404);
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ((*c)->handshake().client_random, random);
  c->reset();
  EXPECT_EQ(server.requests().size(), 2u);  // the server accepts one connection only
}

TEST_F(CameraHttpTest, CloseDelimitedBodyEndsTheConnection) {
  Reply close_delimited{"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"};
  close_delimited.close_after = true;
  CannedServer server(ctx_, {close_delimited});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/", "text/plain", "x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "until the end");
  auto again = (*c)->Post("/", "text/plain", "x");
  EXPECT_EQ(again.status().reason(), "CONNECTION_CLOSED") << again.status().ToString();
}

TEST_F(CameraHttpTest, CloseDelimitedBodyWithoutCloseNotifyMayBeTruncated) {
  Reply truncated{"HTTP/1.1 200 OK\r\n\r\nuntil the"};
  truncated.close_after = true;
  truncated.close_notify = false;
  CannedServer server(ctx_, {truncated});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/", "text/plain", "x");
  EXPECT_EQ(r.status().reason(), "BAD_HTTP") << r.status().ToString();
}

TEST_F(CameraHttpTest, ServerClosingTheKeepAliveConnectionIsConnectionClosed) {
  Reply then_close{Ok("one")};
  then_close.close_after = true;
  CannedServer server(ctx_, {then_close});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->Post("/", "text/plain", "1").ok());
  std::this_thread::sleep_for(50ms);
  auto r = (*c)->Post("/", "text/plain", "2");
  EXPECT_EQ(r.status().reason(), "CONNECTION_CLOSED") << r.status().ToString();
  EXPECT_EQ(r.status().code(), verifier::Code::kUnavailable);
}

TEST_F(CameraHttpTest, ResponseOverTheLimitIsTooLarge) {
  CannedServer server(ctx_, {{Ok(std::string(2000, 'x'))}});
  transport::CameraTlsOptions o = Fast();
  o.max_response_bytes = 1024;
  auto c = Connect(server, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/", "text/plain", "");
  EXPECT_EQ(r.status().reason(), "RESPONSE_TOO_LARGE") << r.status().ToString();
  EXPECT_EQ(r.status().code(), verifier::Code::kResourceExhausted);
}

TEST_F(CameraHttpTest, EndlessHeadersAreTooLarge) {
  std::string headers = "HTTP/1.1 200 OK\r\n";
  while (headers.size() < 4000) headers += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  CannedServer server(ctx_, {{headers}});
  transport::CameraTlsOptions o = Fast();
  o.max_response_bytes = 1024;
  auto c = Connect(server, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/", "text/plain", "");
  EXPECT_EQ(r.status().reason(), "RESPONSE_TOO_LARGE") << r.status().ToString();
}

TEST_F(CameraHttpTest, ResponseExactlyAtTheLimitIsFine) {
  const std::string reply = Ok(std::string(100, 'y'));
  CannedServer server(ctx_, {{reply}});
  transport::CameraTlsOptions o = Fast();
  o.max_response_bytes = reply.size();
  auto c = Connect(server, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/", "text/plain", "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body.size(), 100u);
}

TEST_F(CameraHttpTest, MalformedResponsesAreBadHttp) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"status line", "HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n"},
      {"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n"},
      {"header without colon", "HTTP/1.1 200 OK\r\nbroken header\r\nContent-Length: 0\r\n\r\n"},
      {"length and chunked",
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0"
       "\r\n\r\n"},
      {"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx"},
      {"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    Reply reply{bytes};
    reply.close_after = true;
    CannedServer server(ctx_, {reply});
    auto c = Connect(server);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto r = (*c)->Post("/", "text/plain", "");
    EXPECT_EQ(r.status().reason(), "BAD_HTTP") << r.status().ToString();
    EXPECT_EQ(r.status().code(), verifier::Code::kInvalidArgument);
  }
}

TEST_F(CameraHttpTest, ConnectionClosedInTheMiddleOfTheBodyIsBadHttp) {
  Reply short_body{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"};
  short_body.close_after = true;
  CannedServer server(ctx_, {short_body});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Post("/", "text/plain", "");
  EXPECT_EQ(r.status().reason(), "BAD_HTTP") << r.status().ToString();
  EXPECT_NE(r.status().message().find("middle"), std::string::npos) << r.status().message();
}

TEST_F(CameraHttpTest, SlowDripResponseTimesOut) {
  Reply drip{Ok(std::string(40, 'z'))};
  drip.drip = 100ms;
  CannedServer server(ctx_, {drip});
  transport::CameraTlsOptions o;
  o.timeout = 300ms;
  auto c = Connect(server, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto start = Clock::now();
  auto r = (*c)->Post("/", "text/plain", "");
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.status().reason(), "TIMEOUT") << r.status().ToString();
  EXPECT_EQ(r.status().code(), verifier::Code::kDeadlineExceeded);
  EXPECT_LT(took, 1s);
  EXPECT_EQ((*c)->Post("/", "text/plain", "").status().reason(), "CONNECTION_CLOSED");
}

TEST_F(CameraHttpTest, PlainHttpWhenAskedFor) {
  CannedServer server(nullptr, {{Ok("plain")}});
  transport::CameraTlsOptions o = Fast();
  o.tls = false;
  auto c = Connect(server, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE((*c)->handshake().version.empty());
  EXPECT_TRUE((*c)->handshake().peer_chain_der.empty());
  auto r = (*c)->Post("/onvif/device_service", "application/soap+xml", "<x/>");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "plain");
}

TEST_F(CameraHttpTest, RequestPathMustBeAPath) {
  CannedServer server(ctx_, {});
  auto c = Connect(server);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->Post("no-slash", "text/plain", "").status().reason(), "BAD_REQUEST");
  EXPECT_EQ((*c)->Post("/a b", "text/plain", "").status().reason(), "BAD_REQUEST");
  EXPECT_EQ((*c)->Post("/a\r\nX: y", "text/plain", "").status().reason(), "BAD_REQUEST");
  EXPECT_EQ((*c)->Post("/", "text/plain\r\nX: y", "").status().reason(), "BAD_REQUEST");
}

// ---- SplitHostPort ----

TEST(SplitHostPortTest, AcceptsHostPortBracketedV6AndBareHost) {
  using P = std::pair<std::string, uint16_t>;
  EXPECT_EQ(*transport::SplitHostPort("cam.example:8443", 443), P("cam.example", 8443));
  EXPECT_EQ(*transport::SplitHostPort("10.0.0.7:443", 80), P("10.0.0.7", 443));
  EXPECT_EQ(*transport::SplitHostPort("10.0.0.7", 443), P("10.0.0.7", 443));
  EXPECT_EQ(*transport::SplitHostPort("[::1]:8443", 443), P("::1", 8443));
  EXPECT_EQ(*transport::SplitHostPort("[fe80::1%eth0]:443", 80), P("fe80::1%eth0", 443));
  EXPECT_EQ(*transport::SplitHostPort("[2001:db8::7]", 443), P("2001:db8::7", 443));
  EXPECT_EQ(*transport::SplitHostPort("axis-accc8e000001", 80), P("axis-accc8e000001", 80));
  EXPECT_EQ(*transport::SplitHostPort("h:65535", 1), P("h", 65535));
}

TEST(SplitHostPortTest, RefusesEverythingElse) {
  for (const char* bad :
       {"",           ":443",          "host:",  "host:0",          "host:65536", "host:99999999",
        "host:44a",   "host:+44",      "::1",    "2001:db8::1:443", "[::1",       "[::1]443",
        "[]:443",     "[not-v6]:443",  "[::1]:", "https://cam",     "cam/path",   "cam 1:443",
        "host:443:1", "[fe80::1%]:443"}) {
    auto r = transport::SplitHostPort(bad, 443);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().reason(), "BAD_ADDRESS") << bad;
    EXPECT_EQ(r.status().code(), verifier::Code::kInvalidArgument);
  }
}

}  // namespace
