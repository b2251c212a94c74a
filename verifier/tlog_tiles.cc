#include "verifier/tlog_tiles.h"

#include <bit>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace verifier {

namespace {

Status BadPath(std::string_view path, const std::string& why) {
  return InvalidArgument("MALFORMED_TILE_PATH", "\"" + std::string(path.substr(0, 80)) +
                                                    "\": " + why);
}

// A decimal with no leading zero (except "0" itself), at most `max`.
bool ParseDecimal(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out <= max;
}

bool ThreeDigits(std::string_view s, uint64_t* out) {
  if (s.size() != 3) return false;
  *out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    *out = *out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

uint64_t StoredAt(int level, uint64_t size) {
  return level * kTileHeight >= 64 ? 0 : size >> (level * kTileHeight);
}

}  // namespace

std::string TileIndexPath(uint64_t index) {
  std::string out;
  char buf[8];
  std::vector<uint64_t> groups;
  do {
    groups.push_back(index % 1000);
    index /= 1000;
  } while (index > 0);
  for (size_t i = groups.size(); i-- > 0;) {
    std::snprintf(buf, sizeof buf, "%s%03llu", i > 0 ? "x" : "",
                  static_cast<unsigned long long>(groups[i]));
    out += buf;
    if (i > 0) out += '/';
  }
  return out;
}

std::string TilePath(const TileRef& t) {
  std::string out = t.level == kEntriesLevel ? "tile/entries/"
                                              : "tile/" + std::to_string(t.level) + "/";
  out += TileIndexPath(t.index);
  if (t.width < kTileWidth) out += ".p/" + std::to_string(t.width);
  return out;
}

Result<TileRef> ParseTilePath(std::string_view path) {
  if (path.size() > 200) return BadPath(path, "too long");
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 3 || parts[0] != "tile") return BadPath(path, "not tile/<L>/<N>");
  TileRef t;
  uint64_t level = 0;
  if (parts[1] == "entries") {
    t.level = kEntriesLevel;
  } else if (ParseDecimal(parts[1], 63, &level)) {
    t.level = static_cast<int>(level);
  } else {
    return BadPath(path, "level is not 0..63 or \"entries\"");
  }
  size_t end = parts.size();
  t.width = kTileWidth;
  if (end >= 4 && parts[end - 2].ends_with(".p")) {  // tile/<L>/<N...>.p/<W>
    uint64_t w = 0;
    if (!ParseDecimal(parts[end - 1], kTileWidth - 1, &w) || w == 0) {
      return BadPath(path, "partial width is not 1..255");
    }
    t.width = w;
    parts[end - 2].remove_suffix(2);
    end -= 1;
  }
  // parts[2, end) encode the index.
  if (end - 2 > 7) return BadPath(path, "index too long");
  unsigned __int128 index = 0;
  for (size_t i = 2; i < end; ++i) {
    std::string_view p = parts[i];
    bool last = i + 1 == end;
    if (!last) {
      if (p.empty() || p[0] != 'x') return BadPath(path, "index element without 'x'");
      p.remove_prefix(1);
    }
    uint64_t group = 0;
    if (!ThreeDigits(p, &group)) return BadPath(path, "index element is not 3 digits");
    index = index * 1000 + group;
  }
  if (end - 2 > 1 && index < 1000) return BadPath(path, "index has leading zero groups");
  if (index > UINT64_MAX) return BadPath(path, "index out of range");
  t.index = static_cast<uint64_t>(index);
  if (TilePath(t) != path) return BadPath(path, "not in canonical form");
  return t;
}

uint64_t PartialTileWidth(int level, uint64_t size) {
  return StoredAt(level, size) % kTileWidth;
}

std::vector<TileRef> TilesToPublish(uint64_t old_size, uint64_t new_size) {
  std::vector<TileRef> out;
  if (new_size <= old_size) return out;
  for (int level = kEntriesLevel; level < 8; ++level) {
    int l = level < 0 ? 0 : level;
    uint64_t from = StoredAt(l, old_size), to = StoredAt(l, new_size);
    if (to == from) {
      if (level >= 0) break;  // nothing above changes either
      continue;
    }
    for (uint64_t n = from / kTileWidth; n * kTileWidth < to; ++n) {
      uint64_t width = std::min(kTileWidth, to - n * kTileWidth);
      out.push_back({level, n, width});
    }
  }
  return out;
}

TileSlot SlotOf(uint64_t begin, uint64_t end) {
  uint64_t width = end - begin;
  int height = std::countr_zero(width);
  int level = height / kTileHeight;
  uint64_t per_hash = uint64_t{1} << (level * kTileHeight);
  uint64_t first = begin / per_hash;
  TileSlot s;
  s.count = uint64_t{1} << (height % kTileHeight);
  s.slot = first % kTileWidth;
  s.tile = {level, first / kTileWidth, s.slot + s.count};
  return s;
}

Status AppendBundleEntry(std::string* bundle, std::string_view entry) {
  if (entry.size() > kMaxBundleEntryBytes) {
    return InvalidArgument("ENTRY_TOO_LARGE", "an entry bundle holds entries of at most 65535 bytes");
  }
  bundle->push_back(static_cast<char>(entry.size() >> 8));
  bundle->push_back(static_cast<char>(entry.size() & 0xff));
  bundle->append(entry);
  return Status::Ok();
}

Result<std::vector<std::string>> ParseEntryBundle(std::string_view bytes, uint64_t count) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (out.size() == count) {
      return DataLoss("MALFORMED_BUNDLE", "entry bundle has bytes after its " +
                                              std::to_string(count) + " entries");
    }
    if (bytes.size() - pos < 2) return DataLoss("MALFORMED_BUNDLE", "truncated length prefix");
    size_t n = (static_cast<uint8_t>(bytes[pos]) << 8) | static_cast<uint8_t>(bytes[pos + 1]);
    pos += 2;
    if (bytes.size() - pos < n) return DataLoss("MALFORMED_BUNDLE", "truncated entry");
    out.emplace_back(bytes.substr(pos, n));
    pos += n;
  }
  if (out.size() != count) {
    return DataLoss("MALFORMED_BUNDLE", "entry bundle has " + std::to_string(out.size()) +
                                            " entries, expected " + std::to_string(count));
  }
  return out;
}

Result<std::vector<Hash>> ParseTile(std::string_view bytes, uint64_t width) {
  if (width == 0 || width > kTileWidth || bytes.size() != width * 32) {
    return DataLoss("MALFORMED_TILE", "tile is " + std::to_string(bytes.size()) +
                                          " bytes, expected " + std::to_string(width * 32));
  }
  std::vector<Hash> out(width);
  for (uint64_t i = 0; i < width; ++i) std::memcpy(out[i].data(), bytes.data() + 32 * i, 32);
  return out;
}

}  // namespace verifier
