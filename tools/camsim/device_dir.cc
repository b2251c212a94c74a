#include "tools/camsim/device_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace camsim {

using verifier::Result;
using verifier::Status;

int Fail(const Status& s) {
  std::fprintf(stderr, "camsim: %s\n", s.ToString().c_str());
  return 1;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return verifier::NotFound("READ_FAILED", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) return verifier::Internal("WRITE_FAILED", "cannot write " + path);
  return Status::Ok();
}

Status WriteNewFile(const std::string& path, const std::string& bytes, int mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return verifier::FailedPrecondition(
        errno == EEXIST ? "FILE_EXISTS" : "WRITE_FAILED",
        "cannot create " + path + ": " + std::strerror(errno) + " (never overwritten)");
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return verifier::Internal("WRITE_FAILED", "cannot write " + path);
  return Status::Ok();
}

Result<nlohmann::json> ReadDeviceJson(const std::string& dir) {
  auto text = ReadFile(DeviceJsonPath(dir));
  if (!text.ok()) return text.status();
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return verifier::InvalidArgument("BAD_DEVICE_JSON",
                                     DeviceJsonPath(dir) + " is not a JSON object");
  }
  return json;
}

std::string JsonString(const nlohmann::json& json, const char* name) {
  auto it = json.find(name);
  return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace camsim
