// The device directory `camsim provision` makes, and small file helpers the
// subcommands share. Layout (all paths relative to --dir):
//   device.key      Ed25519 seed, hex (0600)   — verifier/crypto.h WriteKeyFile
//   firmware.bin    the firmware image
//   device.json     what the manufacturer registers (printed by provision)
//   identity.key    PKCS#8 PEM P-256 key (0600)  — only with --identity-ca
//   identity.pem    the 802.1AR-style leaf, then the issuing intermediate
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "verifier/status.h"

namespace camsim {

inline std::string DeviceKeyPath(const std::string& dir) { return dir + "/device.key"; }
inline std::string FirmwarePath(const std::string& dir) { return dir + "/firmware.bin"; }
inline std::string DeviceJsonPath(const std::string& dir) { return dir + "/device.json"; }
inline std::string IdentityKeyPath(const std::string& dir) { return dir + "/identity.key"; }
inline std::string IdentityPemPath(const std::string& dir) { return dir + "/identity.pem"; }

// Prints "camsim: REASON: message" to stderr and returns 1.
int Fail(const verifier::Status& s);

int64_t UnixNow();

verifier::Result<std::string> ReadFile(const std::string& path);
// Creates or truncates `path`.
verifier::Status WriteFile(const std::string& path, const std::string& bytes);
// Creates `path` with `mode`; fails (FAILED_PRECONDITION FILE_EXISTS) if it
// exists — never overwrites. Syncs before returning.
verifier::Status WriteNewFile(const std::string& path, const std::string& bytes, int mode);

// device.json as an object; BAD_DEVICE_JSON otherwise.
verifier::Result<nlohmann::json> ReadDeviceJson(const std::string& dir);
// A string field of `json`, "" when missing or not a string.
std::string JsonString(const nlohmann::json& json, const char* name);

}  // namespace camsim
