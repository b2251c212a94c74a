#include "transport/camera_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

namespace transport {
namespace {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using verifier::Code;
using verifier::Status;

constexpr size_t kMaxCertificateBytes = 16 * 1024;

// TLS 1.2: ECDHE with an AEAD only, so the server signs both randoms.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";

Status Unreachable(std::string msg) {
  return Status(Code::kUnavailable, "UNREACHABLE", std::move(msg));
}
Status Timeout(std::string msg) {
  return Status(Code::kDeadlineExceeded, "TIMEOUT", std::move(msg));
}
Status WeakHandshake(std::string msg) {
  return Status(Code::kFailedPrecondition, "WEAK_HANDSHAKE", std::move(msg));
}
Status TlsFailed(std::string msg) {
  return Status(Code::kUnavailable, "TLS_FAILED", std::move(msg));
}
Status BadChain(std::string msg) { return verifier::InvalidArgument("BAD_CHAIN", std::move(msg)); }
Status BadHttp(std::string msg) { return verifier::InvalidArgument("BAD_HTTP", std::move(msg)); }
Status TooLarge(std::string msg) {
  return Status(Code::kResourceExhausted, "RESPONSE_TOO_LARGE", std::move(msg));
}
Status ConnectionClosed(std::string msg) {
  return Status(Code::kUnavailable, "CONNECTION_CLOSED", std::move(msg));
}
// Socket errors below the TLS and HTTP layers; callers turn them into one of
// the reasons above.
Status IoError(std::string msg) { return Status(Code::kUnavailable, "IO", std::move(msg)); }

std::string Errno(int err) { return std::strerror(err); }

std::string Millis(std::chrono::milliseconds t) { return std::to_string(t.count()) + " ms"; }

// The first queued OpenSSL error, e.g. "sslv3 alert handshake failure".
std::string OpenSslError() {
  unsigned long e = ERR_peek_error();
  if (e == 0) return "no OpenSSL error queued";
  const char* reason = ERR_reason_error_string(e);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return reason ? std::string(reason) + " (" + buf + ")" : std::string(buf);
}

bool IsIpLiteral(const std::string& host) {
  std::string h = host.substr(0, host.find('%'));  // an IPv6 zone
  in_addr a4{};
  in6_addr a6{};
  return inet_pton(AF_INET, h.c_str(), &a4) == 1 || inet_pton(AF_INET6, h.c_str(), &a6) == 1;
}

// "[::1]" (as a URL would write it) -> "::1".
std::string Unbracket(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// Waits until fd is ready for `events`; IO "TIMEOUT" when the deadline passes.
Status WaitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Timeout("deadline passed");
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (r > 0) return Status::Ok();  // POLLERR / POLLHUP: the next call reports it
    if (r < 0 && errno != EINTR) return IoError("poll: " + Errno(errno));
  }
}

// Sends all of data before the deadline (tries once even if it has passed).
Status SendAll(int fd, std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      PROV_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline));
    } else if (n < 0 && errno != EINTR) {
      return IoError(Errno(errno));
    }
  }
  return Status::Ok();
}

// Up to n bytes, 0 at an orderly end of stream (tries once even if the
// deadline has passed, so a passed deadline reads what is already there).
verifier::Result<size_t> RecvSome(int fd, char* buf, size_t n, Deadline deadline) {
  for (;;) {
    ssize_t r = recv(fd, buf, n, 0);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      PROV_RETURN_IF_ERROR(WaitFor(fd, POLLIN, deadline));
    } else if (errno != EINTR) {
      return IoError(Errno(errno));
    }
  }
}

// A non-blocking TCP connection to host:port before the deadline.
verifier::Result<int> Connect(const std::string& host, uint16_t port, Deadline deadline,
                              std::chrono::milliseconds timeout) {
  const std::string where = host + " port " + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  // getaddrinfo has no deadline of its own; the resolver's timeouts apply.
  int g = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
  if (g != 0) {
    return Unreachable("cannot resolve " + host + ": " +
                       (g == EAI_SYSTEM ? Errno(errno) : std::string(gai_strerror(g))));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(list, freeaddrinfo);
  std::string errors;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = "?";
    const void* addr =
        ai->ai_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr)
            : &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr;
    inet_ntop(ai->ai_family, addr, text, sizeof text);
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      errors += std::string(errors.empty() ? "" : "; ") + text + ": " + Errno(errno);
      continue;
    }
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        Status w = WaitFor(fd, POLLOUT, deadline);
        if (!w.ok()) {
          close(fd);
          return Unreachable("cannot connect to " + where + " (" + text + "): no answer within " +
                             Millis(timeout));
        }
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    close(fd);
    errors += std::string(errors.empty() ? "" : "; ") + text + ": " + Errno(err);
  }
  return Unreachable("cannot connect to " + where + " (" + errors + ")");
}

// A context for one connection. strict: the policy (TLS 1.2 ECDHE+AEAD or
// TLS 1.3); otherwise the diagnostic one that accepts anything, only to learn
// what a server that refused us picks.
ssl_ctx_st* NewContext(bool strict, const CameraTlsOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return nullptr;
  bool ok = true;
  if (strict) {
    ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) == 1;
  } else {
    SSL_CTX_set_security_level(ctx, 0);
    ok = SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) == 1 &&
         SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0") == 1;
  }
  // No session resumption at all: no tickets, no cache, never a session set.
  // A resumed session has no CertificateVerify, so it proves nothing.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // SSL_VERIFY_NONE: no anchors here, the caller verifies the chain. OpenSSL
  // still checks the handshake signature (CertificateVerify, or the TLS 1.2
  // ServerKeyExchange) with the leaf's public key whatever the verify mode,
  // so a completed handshake proves the peer holds the leaf's key.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // Bound the Certificate message: max_chain_certificates of 16 KiB each.
  SSL_CTX_set_max_cert_list(
      ctx, static_cast<long>(options.max_chain_certificates * (kMaxCertificateBytes + 64) + 1024));
  if (!ok) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

// A TLS client over memory BIOs: this file moves the bytes between them and
// the non-blocking socket (send with MSG_NOSIGNAL, so a closed peer never
// raises SIGPIPE), with a deadline on every wait.
struct TlsPipe {
  int fd;
  SSL* ssl;
  BIO* rbio;
  BIO* wbio;
  bool* eof;

  // Sends what OpenSSL has queued for the peer.
  Status Flush(Deadline deadline) {
    size_t pending;
    while ((pending = BIO_ctrl_pending(wbio)) > 0) {
      std::string chunk(pending, '\0');
      int n = BIO_read(wbio, chunk.data(), static_cast<int>(pending));
      if (n <= 0) break;
      chunk.resize(static_cast<size_t>(n));
      PROV_RETURN_IF_ERROR(SendAll(fd, chunk, deadline));
    }
    return Status::Ok();
  }

  // Runs one OpenSSL call (SSL_connect, SSL_read, ...) to completion: its
  // result and SSL_get_error, or IO / TIMEOUT from the socket.
  struct Step {
    int result;
    int error;
  };
  verifier::Result<Step> Run(const std::function<int()>& op, Deadline deadline) {
    for (;;) {
      ERR_clear_error();
      int r = op();
      int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
      Status flushed = Flush(deadline);
      if (e == SSL_ERROR_WANT_READ && !*eof) {
        PROV_RETURN_IF_ERROR(flushed);
        char buf[16 * 1024];
        PROV_ASSIGN_OR_RETURN(size_t n, RecvSome(fd, buf, sizeof buf, deadline));
        if (n == 0) {
          *eof = true;
          BIO_set_mem_eof_return(rbio, 0);  // OpenSSL now sees the end of the stream
        } else {
          BIO_write(rbio, buf, static_cast<int>(n));
        }
        continue;
      }
      if (e == SSL_ERROR_WANT_READ) e = SSL_ERROR_SYSCALL;  // wants more after EOF
      if (e == SSL_ERROR_NONE && !flushed.ok()) return flushed;
      return Step{r, e};  // a failure's alert was sent best effort
    }
  }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string DigestSuffix(int md_nid) {
  const char* sn = OBJ_nid2sn(md_nid);
  return sn ? Lower(sn) : "unknown";
}

// The TLS SignatureScheme name (RFC 8446 §4.2.3) of the server's handshake
// signature. OpenSSL 3.0 reports only the key type and the digest, so the
// name is rebuilt from them (and from the leaf's key for RSA-PSS).
std::string SignatureName(SSL* ssl, X509* leaf) {
  int type = NID_undef, md = NID_undef;
  if (SSL_get_peer_signature_type_nid(ssl, &type) != 1) return "";
  SSL_get_peer_signature_nid(ssl, &md);
  const std::string digest = DigestSuffix(md);
  switch (type) {
    case EVP_PKEY_EC:
      if (md == NID_sha256) return "ecdsa_secp256r1_sha256";
      if (md == NID_sha384) return "ecdsa_secp384r1_sha384";
      if (md == NID_sha512) return "ecdsa_secp521r1_sha512";
      return "ecdsa_" + digest;
    case EVP_PKEY_RSA_PSS: {
      EVP_PKEY* key = leaf ? X509_get0_pubkey(leaf) : nullptr;
      bool pss_key = key && EVP_PKEY_get_id(key) == EVP_PKEY_RSA_PSS;
      return (pss_key ? "rsa_pss_pss_" : "rsa_pss_rsae_") + digest;
    }
    case EVP_PKEY_RSA:
      return "rsa_pkcs1_" + digest;
    case EVP_PKEY_ED25519:
      return "ed25519";
    case EVP_PKEY_ED448:
      return "ed448";
    default: {
      const char* sn = OBJ_nid2sn(type);
      return Lower(sn ? sn : "unknown") + "_" + digest;
    }
  }
}

// What a completed TLS 1.2 handshake lacks under the policy, "" if nothing.
std::string Tls12Weakness(const SSL_CIPHER* cipher) {
  const std::string name = SSL_CIPHER_get_name(cipher);
  switch (SSL_CIPHER_get_kx_nid(cipher)) {
    case NID_kx_ecdhe:
      if (!SSL_CIPHER_is_aead(cipher)) {
        return "TLS 1.2 with ECDHE but only a non-AEAD (CBC) cipher (" + name + ")";
      }
      return "";
    case NID_kx_rsa:
      return "TLS 1.2 with static-RSA key exchange (" + name + "), which signs nothing fresh";
    case NID_kx_dhe:
      return "TLS 1.2 with finite-field DHE key exchange (" + name + "); only ECDHE is accepted";
    default:
      return "TLS 1.2 with key exchange " + std::string(OBJ_nid2sn(SSL_CIPHER_get_kx_nid(cipher))) +
             " (" + name + "), which signs nothing fresh";
  }
}

// Handshake failures after which a diagnostic handshake is worth making:
// the server refused what we offer (or picked what we do not accept).
bool RefusedOurOffer(unsigned long err, bool eof) {
  if (err == 0) return eof;  // closed without an alert
  if (ERR_GET_LIB(err) != ERR_LIB_SSL) return false;
  switch (ERR_GET_REASON(err)) {
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_WRONG_CIPHER_RETURNED:
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
      return true;
    default:
      return false;
  }
}

// One throwaway handshake that accepts anything (TLS 1.0 up, any cipher,
// security level 0), to name what the server would pick. "" if it fails too.
std::string Diagnose(const std::string& host, uint16_t port, const CameraTlsOptions& options,
                     Deadline deadline) {
  auto fd = Connect(host, port, deadline, options.timeout);
  if (!fd.ok()) return "";
  SSL_CTX* ctx = NewContext(false, options);
  SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
  std::string what;
  if (ssl != nullptr) {
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    if (!IsIpLiteral(host)) SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set_connect_state(ssl);
    bool eof = false;
    TlsPipe pipe{*fd, ssl, rbio, wbio, &eof};
    auto step = pipe.Run([&] { return SSL_connect(ssl); }, deadline);
    if (step.ok() && step->result == 1) {
      const int version = SSL_version(ssl);
      const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
      if (version < TLS1_2_VERSION) {
        what = std::string(SSL_get_version(ssl)) + " (" + SSL_CIPHER_get_name(cipher) +
               "); at least TLS 1.2 is required";
      } else if (version == TLS1_2_VERSION) {
        what = Tls12Weakness(cipher);
      }
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(*fd);
  return what;
}

// ---- HTTP responses (nodejs http-parser) ----

struct ResponseParse {
  HttpResponse response;
  std::string field, value;  // the header being read
  bool in_value = false;
  std::string transfer_encoding;
  bool has_transfer_encoding = false;
  bool done = false;
  bool keep_alive = false;
  std::string error;  // a callback's refusal

  void EndHeader() {
    if (!in_value) return;
    std::string name = Lower(field);
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      return s;
    };
    if (name == "content-type") response.content_type = trim(value);
    if (name == "transfer-encoding") {
      transfer_encoding += (has_transfer_encoding ? ", " : "") + trim(value);
      has_transfer_encoding = true;
    }
    field.clear();
    value.clear();
    in_value = false;
  }
  void NextMessage() {  // after a 1xx
    *this = ResponseParse();
  }
};

ResponseParse& State(http_parser* p) { return *static_cast<ResponseParse*>(p->data); }

const http_parser_settings& ParserSettings() {
  static const http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_header_field = [](http_parser* p, const char* at, size_t n) {
      ResponseParse& st = State(p);
      if (st.in_value) st.EndHeader();
      st.field.append(at, n);
      return 0;
    };
    s.on_header_value = [](http_parser* p, const char* at, size_t n) {
      ResponseParse& st = State(p);
      st.in_value = true;
      st.value.append(at, n);
      return 0;
    };
    s.on_headers_complete = [](http_parser* p) {
      ResponseParse& st = State(p);
      st.EndHeader();
      if (p->status_code < 100 || p->status_code > 599) {
        st.error = "status " + std::to_string(p->status_code) + " is not an HTTP status";
        return -1;
      }
      if (st.has_transfer_encoding && Lower(st.transfer_encoding) != "chunked") {
        st.error = "unsupported Transfer-Encoding \"" + st.transfer_encoding + "\"";
        return -1;
      }
      return 0;
    };
    s.on_body = [](http_parser* p, const char* at, size_t n) {
      State(p).response.body.append(at, n);
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      ResponseParse& st = State(p);
      if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
        st.NextMessage();  // 100 Continue, 103 Early Hints: the real answer follows
        return 0;
      }
      st.response.status = static_cast<int>(p->status_code);
      st.keep_alive = http_should_keep_alive(p) != 0;
      st.done = true;
      http_parser_pause(p, 1);  // stop at the end of this response
      return 0;
    };
    return s;
  }();
  return settings;
}

}  // namespace

CameraConnection::CameraConnection(int fd, std::string host, uint16_t port,
                                   const CameraTlsOptions& options)
    : fd_(fd), host_(std::move(host)), port_(port), options_(options) {}

CameraConnection::~CameraConnection() {
  if (ssl_ != nullptr) {
    if (!dead_ && !eof_) {
      SSL_shutdown(ssl_);  // queue close_notify; send it only if that cannot block
      TlsPipe{fd_, ssl_, rbio_, wbio_, &eof_}.Flush(Clock::now()).ok();
    }
    SSL_free(ssl_);
    ERR_clear_error();  // leave nothing of ours on the thread's error queue
  }
  SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

const TlsHandshake& CameraConnection::handshake() const { return handshake_; }

verifier::Result<std::unique_ptr<CameraConnection>> CameraConnection::Open(
    const std::string& host_in, uint16_t port, const CameraTlsOptions& options) {
  const std::string host = Unbracket(host_in);
  if (host.empty() || port == 0) {
    return verifier::InvalidArgument("BAD_ADDRESS", "no host or no port to connect to");
  }
  const Deadline deadline = Clock::now() + options.timeout;
  PROV_ASSIGN_OR_RETURN(int fd, Connect(host, port, deadline, options.timeout));
  std::unique_ptr<CameraConnection> c(new CameraConnection(fd, host, port, options));
  if (options.tls) {
    if (Status s = c->Handshake(deadline); !s.ok()) {
      c->dead_ = true;  // no close_notify after a failed handshake
      return s;
    }
  }
  return c;
}

Status CameraConnection::Handshake(Deadline deadline) {
  const std::string where = host_ + " port " + std::to_string(port_);
  ctx_ = NewContext(true, options_);
  ssl_ = ctx_ ? SSL_new(ctx_) : nullptr;
  if (ssl_ == nullptr) return TlsFailed("cannot set up TLS: " + OpenSslError());
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rbio_, -1);  // empty means "not yet", not "end of stream"
  SSL_set_bio(ssl_, rbio_, wbio_);
  if (!IsIpLiteral(host_) && SSL_set_tlsext_host_name(ssl_, host_.c_str()) != 1) {
    return TlsFailed("cannot set the server name " + host_ + ": " + OpenSslError());
  }
  SSL_set_connect_state(ssl_);

  TlsPipe pipe{fd_, ssl_, rbio_, wbio_, &eof_};
  auto step = pipe.Run([this] { return SSL_connect(ssl_); }, deadline);
  if (!step.ok()) {
    if (step.status().reason() == "TIMEOUT") {
      return Timeout("the TLS handshake with " + where + " took longer than " +
                     Millis(options_.timeout));
    }
    return TlsFailed("the TLS handshake with " + where + " failed: " + step.status().message());
  }
  if (step->result != 1) {
    const unsigned long err = ERR_peek_error();
    const std::string why = err == 0 && eof_ ? "the server closed the connection" : OpenSslError();
    if (ERR_GET_LIB(err) == ERR_LIB_SSL && ERR_GET_REASON(err) == SSL_R_EXCESSIVE_MESSAGE_SIZE) {
      return BadChain(where + " sent a certificate chain larger than " +
                      std::to_string(options_.max_chain_certificates) + " certificates of 16 KiB");
    }
    if (RefusedOurOffer(err, eof_)) {
      // Hang up first: some servers (s_server, small cameras) serve one
      // connection at a time and would keep the diagnostic one waiting.
      dead_ = true;
      close(fd_);
      fd_ = -1;
      std::string offers = Diagnose(host_, port_, options_, deadline);
      if (!offers.empty()) {
        return WeakHandshake("the camera at " + where + " offers only " + offers + "; refused");
      }
    }
    return TlsFailed("the TLS handshake with " + where + " failed: " + why);
  }

  // Double-check what was negotiated, whatever the context allowed.
  const int version = SSL_version(ssl_);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  if (version != TLS1_3_VERSION && version != TLS1_2_VERSION) {
    return WeakHandshake(where + " negotiated " + SSL_get_version(ssl_) +
                         "; at least TLS 1.2 is required");
  }
  if (version == TLS1_2_VERSION) {
    if (std::string weak = Tls12Weakness(cipher); !weak.empty()) {
      return WeakHandshake(where + " negotiated " + weak + "; refused");
    }
  }
  if (SSL_session_reused(ssl_) != 0) {
    return WeakHandshake(where + " resumed a session, which proves nothing fresh; refused");
  }

  X509* leaf = SSL_get0_peer_certificate(ssl_);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_);  // client side: leaf first
  if (leaf == nullptr || chain == nullptr || sk_X509_num(chain) == 0) {
    return BadChain(where + " sent no certificate");
  }
  const size_t count = static_cast<size_t>(sk_X509_num(chain));
  if (count > options_.max_chain_certificates) {
    return BadChain(where + " sent " + std::to_string(count) + " certificates, more than " +
                    std::to_string(options_.max_chain_certificates));
  }
  handshake_.peer_chain_der.clear();
  for (size_t i = 0; i < count; ++i) {
    unsigned char* der = nullptr;
    int len = i2d_X509(sk_X509_value(chain, static_cast<int>(i)), &der);  // the received encoding
    if (len <= 0)
      return BadChain(where + " sent certificate " + std::to_string(i) + " unencodable");
    std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    if (bytes.size() > kMaxCertificateBytes) {
      return BadChain(where + " sent certificate " + std::to_string(i) + " of " +
                      std::to_string(bytes.size()) + " bytes (over 16 KiB)");
    }
    handshake_.peer_chain_der.push_back(std::move(bytes));
  }

  handshake_.signature_algorithm = SignatureName(ssl_, leaf);
  if (handshake_.signature_algorithm.empty()) {
    return WeakHandshake(where + " completed the handshake without a signature; refused");
  }
  handshake_.version = SSL_get_version(ssl_);
  handshake_.cipher = SSL_CIPHER_get_name(cipher);
  const int group = SSL_get_negotiated_group(ssl_);
  const char* group_name = group != NID_undef ? OBJ_nid2sn(group) : nullptr;
  handshake_.group = group_name ? Lower(group_name) : "";
  handshake_.client_random.assign(SSL3_RANDOM_SIZE, '\0');
  SSL_get_client_random(ssl_, reinterpret_cast<unsigned char*>(handshake_.client_random.data()),
                        SSL3_RANDOM_SIZE);
  return Status::Ok();
}

Status CameraConnection::Write(std::string_view data, Deadline deadline) {
  if (ssl_ == nullptr) return SendAll(fd_, data, deadline);
  TlsPipe pipe{fd_, ssl_, rbio_, wbio_, &eof_};
  // Memory BIOs take the whole buffer; Run then sends it.
  PROV_ASSIGN_OR_RETURN(
      auto step,
      pipe.Run([&] { return SSL_write(ssl_, data.data(), static_cast<int>(data.size())); },
               deadline));
  if (step.result <= 0) return IoError("TLS write failed: " + OpenSslError());
  return Status::Ok();
}

verifier::Result<size_t> CameraConnection::Read(char* buf, size_t n, Deadline deadline) {
  if (ssl_ == nullptr) {
    PROV_ASSIGN_OR_RETURN(size_t got, RecvSome(fd_, buf, n, deadline));
    if (got == 0) eof_ = clean_eof_ = true;
    return got;
  }
  TlsPipe pipe{fd_, ssl_, rbio_, wbio_, &eof_};
  PROV_ASSIGN_OR_RETURN(
      auto step, pipe.Run([&] { return SSL_read(ssl_, buf, static_cast<int>(n)); }, deadline));
  if (step.result > 0) return static_cast<size_t>(step.result);
  if (step.error == SSL_ERROR_ZERO_RETURN) {  // close_notify
    clean_eof_ = true;
    return size_t{0};
  }
  const unsigned long err = ERR_peek_error();
  if (eof_ || (ERR_GET_LIB(err) == ERR_LIB_SSL &&
               ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    return size_t{0};  // TCP closed without close_notify
  }
  return TlsFailed("TLS error from " + host_ + " port " + std::to_string(port_) + ": " +
                   OpenSslError());
}

// Before a request on a connection: did the camera close it while idle?
// Reads only what has already arrived (TLS 1.3 session tickets are consumed
// and dropped).
Status CameraConnection::CheckStillOpen() {
  const std::string where = host_ + " port " + std::to_string(port_);
  if (ssl_ == nullptr) {
    char c;
    ssize_t r = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      eof_ = true;
      return ConnectionClosed(where + " closed the connection before our request");
    }
    if (r > 0) return BadHttp(where + " sent data before our request");
    return Status::Ok();
  }
  if (!eof_) {
    TlsPipe pipe{fd_, ssl_, rbio_, wbio_, &eof_};
    char c;
    auto step = pipe.Run([&] { return SSL_peek(ssl_, &c, 1); }, Clock::now());
    if (!step.ok()) {
      if (step.status().reason() == "TIMEOUT") return Status::Ok();  // nothing pending
      return ConnectionClosed(
          where + " broke the connection before our request: " + step.status().message());
    }
    if (step->result > 0) return BadHttp(where + " sent data before our request");
    if (step->error == SSL_ERROR_WANT_READ) return Status::Ok();
  }
  return ConnectionClosed(where + " closed the connection before our request");
}

verifier::Result<HttpResponse> CameraConnection::Post(const std::string& path,
                                                      std::string_view content_type,
                                                      std::string_view body) {
  const std::string where = host_ + " port " + std::to_string(port_);
  if (dead_) return ConnectionClosed("the connection to " + where + " is closed: " + dead_reason_);
  auto bad_char = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
      return c == '\r' || c == '\n' || c == '\0' || c == ' ' || c == '\t';
    });
  };
  if (path.empty() || path[0] != '/' || bad_char(path) ||
      content_type.find_first_of("\r\n", 0) != std::string_view::npos) {
    return verifier::InvalidArgument("BAD_REQUEST", "not a request path / content type: " + path);
  }
  const Deadline deadline = Clock::now() + options_.timeout;
  auto fail = [this](Status s) {
    dead_ = true;
    dead_reason_ = s.ToString();
    return s;
  };
  if (Status open = CheckStillOpen(); !open.ok()) return fail(open);

  const bool ipv6 = host_.find(':') != std::string::npos;
  const uint16_t default_port = options_.tls ? 443 : 80;
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: " + (ipv6 ? "[" + host_ + "]" : host_);
  if (port_ != default_port) request += ":" + std::to_string(port_);
  request += "\r\nUser-Agent: prov-scan\r\nConnection: keep-alive\r\nContent-Type: ";
  request.append(content_type);
  request += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request.append(body);
  const bool reused = requests_++ > 0;
  if (Status w = Write(request, deadline); !w.ok()) {
    if (w.reason() == "TIMEOUT") {
      return fail(Timeout("sending the request to " + where + " took longer than " +
                          Millis(options_.timeout)));
    }
    return fail(
        ConnectionClosed(where + " closed the connection before our request: " + w.message()));
  }

  ResponseParse st;
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  parser.data = &st;
  size_t total = 0;
  char buf[16 * 1024];
  while (!st.done) {
    auto got = Read(buf, sizeof buf, deadline);
    if (!got.ok()) {
      const Status& s = got.status();
      if (s.reason() == "TIMEOUT") {
        return fail(Timeout("the response from " + where + " took longer than " +
                            Millis(options_.timeout) + " (" + std::to_string(total) +
                            " bytes so far)"));
      }
      if (s.reason() == "IO" && total == 0 && reused) {
        return fail(ConnectionClosed(where + " broke the keep-alive connection: " + s.message()));
      }
      if (s.reason() == "IO") {
        return fail(BadHttp(where + " broke the connection after " + std::to_string(total) +
                            " bytes of the response: " + s.message()));
      }
      return fail(s);
    }
    if (*got == 0) {  // end of stream
      if (total == 0) {
        return fail(reused ? ConnectionClosed(where + " closed the keep-alive connection")
                           : BadHttp(where + " closed the connection without a response"));
      }
      http_parser_execute(&parser, &ParserSettings(), nullptr, 0);
      if (!st.done) {
        return fail(BadHttp(where + " closed the connection after " + std::to_string(total) +
                            " bytes, in the middle of the response"));
      }
      if (!clean_eof_) {
        return fail(BadHttp(where + " ended a close-delimited body without a TLS close_notify; "
                                    "it may be truncated"));
      }
      break;
    }
    const size_t allowed = std::min(*got, options_.max_response_bytes - total);
    const size_t used = http_parser_execute(&parser, &ParserSettings(), buf, allowed);
    total += allowed;
    const auto err = HTTP_PARSER_ERRNO(&parser);
    if (err == HPE_HEADER_OVERFLOW) {
      return fail(TooLarge(where + " sent headers over the parser's limit"));
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
      return fail(
          BadHttp(where + " sent a malformed response: " +
                  (st.error.empty() ? std::string(http_errno_description(err)) : st.error)));
    }
    if (parser.upgrade) return fail(BadHttp(where + " switched protocols (status 101)"));
    if (st.done && (used < allowed || allowed < *got)) {
      return fail(BadHttp(where + " sent bytes after the response"));
    }
    if (!st.done && total >= options_.max_response_bytes) {
      return fail(TooLarge("the response from " + where + " exceeds " +
                           std::to_string(options_.max_response_bytes) + " bytes"));
    }
  }
  if (!st.keep_alive || eof_) {
    dead_ = true;
    dead_reason_ = "the camera ended it after the previous response";
  }
  return std::move(st.response);
}

verifier::Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address,
                                                                 uint16_t default_port) {
  auto bad = [&](const std::string& why) -> Status {
    return verifier::InvalidArgument("BAD_ADDRESS",
                                     "\"" + std::string(address) + "\" is not HOST[:PORT]: " + why);
  };
  std::string_view host = address, port;
  bool bracketed = false, has_port = false;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("no closing ']'");
    host = address.substr(1, close - 1);
    std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("junk after ']'");
      port = rest.substr(1);
      has_port = true;
    }
    bracketed = true;
  } else if (const size_t colon = address.find(':'); colon != std::string_view::npos) {
    if (address.find(':', colon + 1) != std::string_view::npos) {
      return bad("an IPv6 address needs brackets, e.g. [::1]:443");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return bad("empty host");
  if (bracketed) {
    const std::string literal(host.substr(0, host.find('%')));
    in6_addr a6{};
    if (inet_pton(AF_INET6, literal.c_str(), &a6) != 1) return bad("not an IPv6 address in []");
    const std::string_view zone =
        host.find('%') == std::string_view::npos ? "" : host.substr(host.find('%') + 1);
    if (host.find('%') != std::string_view::npos &&
        (zone.empty() || !std::all_of(zone.begin(), zone.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
         }))) {
      return bad("bad IPv6 zone");
    }
  } else if (!std::all_of(host.begin(), host.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                      c == '_';
             })) {
    return bad("a host name has only letters, digits, '.', '-' and '_'");
  }
  uint32_t value = default_port;
  if (has_port) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("the port is not a number");
    }
    value = 0;
    for (char c : port) value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return bad("the port is not in 1..65535");
  return std::make_pair(std::string(host), static_cast<uint16_t>(value));
}

}  // namespace transport
