// Debian's cpp-httplib is a shared build with OpenSSL and zlib support; its
// class layouts depend on these macros, which its pkg-config flags define
// (CMake) — as here, for clarity.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include "client/tiles_source.h"

#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "verifier/index.h"
#include "verifier/merkle.h"

namespace client {

using verifier::Hash;
using verifier::Result;
using verifier::Status;
using verifier::TileRef;

class TilesSource::Http {
 public:
  explicit Http(const std::string& scheme_host_port) : client(scheme_host_port) {}
  httplib::Client client;
};

namespace {

constexpr size_t kMaxTileBytes = 2 * 32 * verifier::kTileWidth;  // then ParseTile is exact
constexpr int kMaxLevel = 8;  // 256^8 = 2^64: no tree has hashes at level 8

Status Unavailable(std::string reason, std::string message) {
  return Status(verifier::Code::kUnavailable, std::move(reason), std::move(message));
}

uint64_t StoredAt(int level, uint64_t size) { return size >> (level * verifier::kTileHeight); }

std::string HeadText(const verifier::Checkpoint& c) {
  return "size " + std::to_string(c.size) + " root " + verifier::HexEncode(c.root);
}

// Prefixes a parse error with the resource it is about; keeps code and reason.
Status About(const std::string& url, const Status& s) {
  return Status(s.code(), s.reason(), url + ": " + s.message());
}

template <typename Duration>
void SplitSeconds(Duration d, time_t* sec, time_t* usec) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  if (us < 0) us = 0;
  *sec = static_cast<time_t>(us / 1000000);
  *usec = static_cast<time_t>(us % 1000000);
}

}  // namespace

TilesSource::TilesSource(TilesOptions options) : options_(std::move(options)) {}
TilesSource::~TilesSource() = default;

Result<std::unique_ptr<TilesSource>> TilesSource::Open(TilesOptions options) {
  const std::string& url = options.url;
  auto bad = [&](const std::string& why) {
    return verifier::InvalidArgument("BAD_TILES_URL",
                                     "--tiles-url \"" + url.substr(0, 200) + "\" " + why +
                                         " (give the log's prefix, like https://HOST/PATH)");
  };
  std::string rest;
  bool https = false;
  if (url.rfind("https://", 0) == 0) {
    https = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return bad("is not an http:// or https:// URL");
  }
  if (url.size() > 2000) return bad("is too long");
  for (char c : url) {
    if (c <= ' ' || c == 0x7f) return bad("has a space or control character");
  }
  if (url.find_first_of("?#") != std::string::npos) return bad("has a query or fragment");
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty()) return bad("has no host");
  if (authority.find('@') != std::string::npos) return bad("has user information");
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.back() != '/') path += '/';

  std::unique_ptr<TilesSource> s(new TilesSource(std::move(options)));
  s->scheme_host_port_ = (https ? "https://" : "http://") + authority;
  s->base_path_ = path;
  s->options_.url = s->scheme_host_port_ + (path == "/" ? "" : path.substr(0, path.size() - 1));
  s->http_ = std::make_unique<Http>(s->scheme_host_port_);
  httplib::Client& c = s->http_->client;
  if (!c.is_valid()) return bad("is not a valid host and port");
  time_t sec = 0, usec = 0;
  SplitSeconds(s->options_.connect_timeout, &sec, &usec);
  c.set_connection_timeout(sec, usec);
  SplitSeconds(s->options_.read_timeout, &sec, &usec);
  c.set_read_timeout(sec, usec);
  c.set_write_timeout(sec, usec);
  c.set_follow_location(false);
  c.set_keep_alive(true);
  if (https) {
    c.enable_server_certificate_verification(true);
    if (!s->options_.ca_file.empty()) {
      if (!std::ifstream(s->options_.ca_file)) {
        return verifier::InvalidArgument("BAD_TILES_CA",
                                         "cannot read the CA file " + s->options_.ca_file);
      }
      c.set_ca_cert_path(s->options_.ca_file);
    }
  } else if (!s->options_.ca_file.empty()) {
    return verifier::InvalidArgument(
        "BAD_TILES_CA", "a CA file is for an https:// --tiles-url, not " + s->options_.url);
  }
  return s;
}

Result<std::string> TilesSource::IndexTile(const verifier::Hash& hash) {
  const std::string path = verifier::IndexTilePath(hash);
  auto body = Get(path, 1 << 20);
  if (body.ok() || body.status().code() != verifier::Code::kNotFound) return body;
  // The verified head's index root (or a tile above) names it: the copy is
  // incomplete, or predates the index.
  return Unavailable("TILE_MISSING", "the head's index requires " + scheme_host_port_ +
                                         base_path_ + path +
                                         ", which the server does not have (HTTP 404)");
}

Result<std::string> TilesSource::Get(const std::string& path, size_t max_bytes) {
  requested_.push_back(path);
  const std::string url = scheme_host_port_ + base_path_ + path;
  std::string body;
  bool too_large = false;
  int status = 0;
  std::string location;
  httplib::Headers headers{{"Accept-Encoding", "gzip, identity"}};
  auto res = http_->client.Get(
      base_path_ + path, headers,
      [&](const httplib::Response& r) {
        status = r.status;
        if (status != 200) {
          location = r.get_header_value("Location").substr(0, 200);
          return false;  // the body of an error is not read
        }
        if (r.has_header("Content-Length") && !r.has_header("Content-Encoding")) {
          const std::string n = r.get_header_value("Content-Length");
          char* end = nullptr;
          unsigned long long length = std::strtoull(n.c_str(), &end, 10);
          if (end == n.c_str() || length > max_bytes) {
            too_large = true;
            return false;
          }
        }
        return true;
      },
      [&](const char* data, size_t n) {
        if (n > max_bytes - body.size()) {
          too_large = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
  if (too_large) {
    return verifier::DataLoss(
        "RESPONSE_TOO_LARGE",
        url + " is larger than " + std::to_string(max_bytes) + " bytes, more than it can hold");
  }
  if (status == 200 && res) return body;
  if (status == 0 || (status == 200 && !res)) {
    const httplib::Error e = res.error();
    const std::string why = httplib::to_string(e);
    switch (e) {
      case httplib::Error::Connection:
      case httplib::Error::ConnectionTimeout:
        return Unavailable("UNREACHABLE", "cannot connect to " + url + ": " + why);
      case httplib::Error::Read:
        return Unavailable("HTTP_TIMEOUT",
                           "no complete answer from " + url + " within " +
                               std::to_string(options_.read_timeout.count()) +
                               " ms (timed out, or the server closed the connection)");
      case httplib::Error::SSLServerVerification:
        return verifier::DataLoss(
            "TLS_UNTRUSTED_PEER",
            "the TLS certificate of " + scheme_host_port_ + " does not verify against " +
                (options_.ca_file.empty() ? std::string("the system CAs") : options_.ca_file) +
                " (or does not name the host)");
      case httplib::Error::SSLLoadingCerts:
        return verifier::InvalidArgument(
            "BAD_TILES_CA",
            "cannot load CA certificates from " +
                (options_.ca_file.empty() ? std::string("the system") : options_.ca_file));
      default:
        return Unavailable("UNREACHABLE", "GET " + url + " failed: " + why);
    }
  }
  const std::string code = "HTTP " + std::to_string(status);
  if (status == 404) return verifier::NotFound("HTTP_NOT_FOUND", url + ": " + code);
  if (status >= 300 && status < 400) {
    return verifier::InvalidArgument(
        "HTTP_REDIRECT", url + " redirects (" + code + ") to \"" + location +
                             "\"; redirects are not followed: give the log's final prefix "
                             "as --tiles-url");
  }
  if (status >= 500) return Unavailable("HTTP_SERVER_ERROR", url + ": " + code);
  return Unavailable("HTTP_STATUS", url + ": " + code + " (expected 200)");
}

Result<std::string> TilesSource::Checkpoint() {
  auto note = Get("checkpoint", options_.max_checkpoint_bytes);
  if (!note.ok() && note.status().code() == verifier::Code::kNotFound) {
    return verifier::NotFound("NO_CHECKPOINT", "no checkpoint at " + scheme_host_port_ +
                                                   base_path_ +
                                                   "checkpoint (HTTP 404): is --tiles-url the "
                                                   "log's prefix?");
  }
  return note;
}

Result<std::vector<verifier::RotationLeaf>> TilesSource::LogKeyRotations() {
  auto body = Get(verifier::kLogKeyRotationsPath, 1 << 20);
  if (!body.ok() && body.status().code() == verifier::Code::kNotFound) {
    return std::vector<verifier::RotationLeaf>{};  // the key never changed
  }
  if (!body.ok()) return body.status();
  return verifier::ParseLogKeyRotations(*body);
}

Result<std::string> TilesSource::FetchResource(const TileRef& ref, const verifier::Checkpoint& at,
                                               bool* full) {
  const size_t max =
      ref.level == verifier::kEntriesLevel ? options_.max_bundle_bytes : kMaxTileBytes;
  const std::string path = verifier::TilePath(ref);
  auto body = Get(path, max);
  *full = ref.full();
  if (body.ok() || body.status().code() != verifier::Code::kNotFound) return body;
  std::string missing = scheme_host_port_ + base_path_ + path;
  if (!ref.full()) {
    // A partial tile may be deleted once its full tile exists.
    const TileRef whole{ref.level, ref.index, verifier::kTileWidth};
    body = Get(verifier::TilePath(whole), max);
    *full = true;
    if (body.ok() || body.status().code() != verifier::Code::kNotFound) return body;
    missing += " nor " + verifier::TilePath(whole);
  }
  return Unavailable("TILE_MISSING", "the checkpoint of " + HeadText(at) + " requires " + missing +
                                         ", which the server does not have (HTTP 404)");
}

void TilesSource::UseHead(const verifier::Checkpoint& at) {
  std::pair<uint64_t, Hash> head{at.size, at.root};
  if (head_ == head) return;
  head_ = head;
  tiles_.clear();
  lru_.clear();
  last_bundle_.reset();
}

void TilesSource::Remember(int level, uint64_t index, std::vector<Hash> hashes) {
  const TileKey key{level, index};
  auto it = tiles_.find(key);
  if (it != tiles_.end()) {
    lru_.erase(it->second.second);
    tiles_.erase(it);
  }
  lru_.push_front(key);
  tiles_.emplace(key, std::make_pair(std::make_shared<const std::vector<Hash>>(std::move(hashes)),
                                     lru_.begin()));
  const size_t capacity = std::max<size_t>(options_.cache_tiles, 2 * kMaxLevel);
  while (tiles_.size() > capacity) {
    tiles_.erase(lru_.back());
    lru_.pop_back();
  }
}

Status TilesSource::VerifyEdge(const verifier::Checkpoint& at) {
  struct Edge {
    TileRef ref;
    std::vector<Hash> hashes;
  };
  std::vector<Edge> edge;
  std::string paths;
  for (int level = 0; level < kMaxLevel; ++level) {
    const uint64_t width = verifier::PartialTileWidth(level, at.size);
    if (width == 0) continue;
    const TileRef ref{level, StoredAt(level, at.size) / verifier::kTileWidth, width};
    const std::string url = scheme_host_port_ + base_path_ + verifier::TilePath(ref);
    bool full = false;
    PROV_ASSIGN_OR_RETURN(std::string bytes, FetchResource(ref, at, &full));
    auto hashes = verifier::ParseTile(bytes, full ? verifier::kTileWidth : width);
    if (!hashes.ok()) {
      return About(full ? url + " (its full tile)" : url, hashes.status());
    }
    hashes->resize(width);
    edge.push_back({ref, std::move(hashes).value()});
    paths += (paths.empty() ? "" : ", ") + verifier::TilePath(ref);
  }
  // The root is made of the complete subtrees of the tree, and each one is
  // a run of hashes in the rightmost tile of its level.
  std::vector<Hash> roots;
  for (const auto& span : verifier::CompactRange::Subtrees(at.size)) {
    const verifier::TileSlot s = verifier::SlotOf(span.begin, span.end);
    auto it = std::find_if(edge.begin(), edge.end(),
                           [&](const Edge& e) { return e.ref.level == s.tile.level; });
    if (it == edge.end() || it->ref.index != s.tile.index || s.slot + s.count > it->ref.width) {
      return verifier::Internal("TILE_LAYOUT", "subtree [" + std::to_string(span.begin) + ", " +
                                                   std::to_string(span.end) +
                                                   ") is not in a rightmost tile");
    }
    roots.push_back(verifier::RootOf(std::span<const Hash>(it->hashes).subspan(s.slot, s.count)));
  }
  PROV_ASSIGN_OR_RETURN(auto range, verifier::CompactRange::FromHashes(at.size, roots));
  const Hash root = at.size == 0 ? verifier::EmptyRoot() : range.Root();
  if (root != at.root) {
    return verifier::DataLoss(
        "TILE_MISMATCH", "the rightmost tiles " + paths + " of " + options_.url + " hash to root " +
                             verifier::HexEncode(root) + ", not to the signed checkpoint's " +
                             HeadText(at));
  }
  for (auto& e : edge) Remember(e.ref.level, e.ref.index, std::move(e.hashes));
  return Status::Ok();
}

Result<std::shared_ptr<const std::vector<Hash>>> TilesSource::VerifiedTile(
    int level, uint64_t index, const verifier::Checkpoint& at) {
  UseHead(at);
  const uint64_t stored = level < kMaxLevel ? StoredAt(level, at.size) : 0;
  if (index >= stored / verifier::kTileWidth + (stored % verifier::kTileWidth ? 1 : 0)) {
    return verifier::OutOfRange("BEYOND_CHECKPOINT",
                                "tile " + std::to_string(level) + "/" + std::to_string(index) +
                                    " is beyond the tree of the checkpoint of " + HeadText(at));
  }
  const uint64_t width = std::min(verifier::kTileWidth, stored - index * verifier::kTileWidth);
  auto cached = [&]() -> std::shared_ptr<const std::vector<Hash>> {
    auto it = tiles_.find({level, index});
    if (it == tiles_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first;
  };
  if (auto hit = cached()) return hit;
  if (width < verifier::kTileWidth) {
    PROV_RETURN_IF_ERROR(VerifyEdge(at));
    if (auto hit = cached()) return hit;
    return verifier::Internal("TILE_CACHE", "a verified rightmost tile was evicted");
  }
  const TileRef ref{level, index, verifier::kTileWidth};
  const std::string url = scheme_host_port_ + base_path_ + verifier::TilePath(ref);
  bool full = false;
  PROV_ASSIGN_OR_RETURN(std::string bytes, FetchResource(ref, at, &full));
  auto hashes = verifier::ParseTile(bytes, verifier::kTileWidth);
  if (!hashes.ok()) return About(url, hashes.status());
  // Its hash is slot index%256 of the tile above, verified first (up to the
  // rightmost tiles, which hash to the signed root).
  PROV_ASSIGN_OR_RETURN(auto parent, VerifiedTile(level + 1, index / verifier::kTileWidth, at));
  const Hash expected = (*parent)[index % verifier::kTileWidth];
  const Hash got = verifier::RootOf(*hashes);
  if (got != expected) {
    const TileRef up{level + 1, index / verifier::kTileWidth, parent->size()};
    return verifier::DataLoss(
        "TILE_MISMATCH", url + " hashes to " + verifier::HexEncode(got) + ", not to " +
                             verifier::HexEncode(expected) + " which " + verifier::TilePath(up) +
                             " holds for it under the signed checkpoint's " + HeadText(at));
  }
  Remember(level, index, std::move(hashes).value());
  return cached();
}

Result<Hash> TilesSource::SubtreeHash(uint64_t begin, uint64_t end,
                                      const verifier::Checkpoint& at) {
  const verifier::TileSlot s = verifier::SlotOf(begin, end);
  PROV_ASSIGN_OR_RETURN(auto tile, VerifiedTile(s.tile.level, s.tile.index, at));
  if (s.slot + s.count > tile->size()) {
    return verifier::OutOfRange("BEYOND_CHECKPOINT",
                                "subtree [" + std::to_string(begin) + ", " + std::to_string(end) +
                                    ") is beyond the checkpoint of " + HeadText(at));
  }
  return verifier::RootOf(std::span<const Hash>(*tile).subspan(s.slot, s.count));
}

namespace {
Status Beyond(const std::string& what, const verifier::Checkpoint& at) {
  return verifier::OutOfRange("BEYOND_CHECKPOINT",
                              what + " is not within the checkpoint of " + HeadText(at));
}
}  // namespace

Result<std::vector<Hash>> TilesSource::InclusionProof(uint64_t index, uint64_t size,
                                                      const verifier::Checkpoint& at) {
  if (index >= size || size > at.size) {
    return Beyond("leaf " + std::to_string(index) + " of a tree of size " + std::to_string(size),
                  at);
  }
  return verifier::MakeInclusionProof(
      index, size, [&](uint64_t b, uint64_t e) { return SubtreeHash(b, e, at); });
}

Result<std::vector<Hash>> TilesSource::ConsistencyProof(uint64_t size1, uint64_t size2,
                                                        const verifier::Checkpoint& at) {
  if (size1 > size2 || size2 > at.size) {
    return Beyond(
        "a consistency proof from size " + std::to_string(size1) + " to " + std::to_string(size2),
        at);
  }
  if (size1 == 0 || size1 == size2) return std::vector<Hash>{};
  return verifier::MakeConsistencyProof(
      size1, size2, [&](uint64_t b, uint64_t e) { return SubtreeHash(b, e, at); });
}

Result<std::vector<std::string>> TilesSource::Entries(uint64_t start, uint64_t end,
                                                      const verifier::Checkpoint& at) {
  if (start >= end || end > at.size) {
    return Beyond("entries [" + std::to_string(start) + ", " + std::to_string(end) + ")", at);
  }
  UseHead(at);
  std::vector<std::string> out;
  out.reserve(end - start);
  const uint64_t w = verifier::kTileWidth;
  for (uint64_t n = start / w; n * w < end; ++n) {
    const uint64_t width = std::min(w, at.size - n * w);
    if (!last_bundle_ || last_bundle_->first != n) {
      const TileRef ref{verifier::kEntriesLevel, n, width};
      bool full = false;
      PROV_ASSIGN_OR_RETURN(std::string bytes, FetchResource(ref, at, &full));
      const std::string url = scheme_host_port_ + base_path_ +
                              verifier::TilePath(full ? TileRef{ref.level, n, w} : ref);
      auto entries = verifier::ParseEntryBundle(bytes, full ? w : width);
      if (!entries.ok()) return About(url, entries.status());
      entries->resize(width);
      PROV_ASSIGN_OR_RETURN(auto tile, VerifiedTile(0, n, at));
      for (uint64_t i = 0; i < width; ++i) {
        const Hash leaf = verifier::LeafHash(verifier::AsBytes((*entries)[i]));
        if (leaf != (*tile)[i]) {
          return verifier::DataLoss(
              "BUNDLE_MISMATCH",
              "entry " + std::to_string(i) + " of " + url + " (leaf #" + std::to_string(n * w + i) +
                  ") hashes to " + verifier::HexEncode(leaf) + ", not to the leaf hash " +
                  verifier::HexEncode((*tile)[i]) + " that " + verifier::TilePath({0, n, width}) +
                  " holds under the signed checkpoint's " + HeadText(at));
        }
      }
      last_bundle_.emplace(n, std::move(entries).value());
    }
    const auto& bundle = last_bundle_->second;
    for (uint64_t i = std::max(start, n * w); i < std::min(end, n * w + width); ++i) {
      out.push_back(bundle[i - n * w]);
    }
  }
  return out;
}

}  // namespace client
