// JSON log lines (provd serve --log-format json): one JSON object per line,
//   {"time":"2026-11-30T03:42:20.123Z","level":"info","message":"..."}
// time is UTC with milliseconds; level is spdlog's name (trace, debug, info,
// warning, error, critical); "logger" follows level for a named
// logger (provd logs through the default, unnamed one); message is escaped per RFC 8259 (quotes,
// backslashes, control characters), with bytes that are not UTF-8 replaced by
// U+FFFD, so every line parses as JSON whatever was logged.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace ledger {

// `s` as the body of a JSON string (without the surrounding quotes).
std::string JsonEscape(std::string_view s);

// One log line (without the newline); `logger` may be empty.
std::string JsonLogLine(std::chrono::system_clock::time_point time, std::string_view level,
                        std::string_view logger, std::string_view message);

// Makes spdlog's default logger write JsonLogLine lines. Call before other
// threads log.
void UseJsonLogLines();

}  // namespace ledger
