// JSON log lines: messages with quotes, backslashes, newlines, control
// characters and bytes that are not UTF-8, logged through spdlog with
// UseJsonLogLines, must each be one line that python3's json module parses
// back to the message (tests/testdata/metrics/json_lines.py).
#include "ledger/json_log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/client/exec.h"

namespace ledger {
namespace {

TEST(JsonLogTest, EscapesQuotesNewlinesControlsAndBadUtf8) {
  EXPECT_EQ(JsonEscape("say \"hi\"\\n"), "say \\\"hi\\\"\\\\n");
  EXPECT_EQ(JsonEscape("a\nb\r\tc"), "a\\nb\\r\\tc");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f\x7f", 3)), "\\u0001\\u001f\\u007f");
  EXPECT_EQ(JsonEscape("caf\xc3\xa9 \xf0\x9f\x93\xb7"), "caf\xc3\xa9 \xf0\x9f\x93\xb7");
  EXPECT_EQ(JsonEscape("bad \xff \xc3 \xed\xa0\x80!"),
            "bad \\ufffd \\ufffd \\ufffd\\ufffd\\ufffd!");
}

TEST(JsonLogTest, LineHasTimeLevelMessage) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  EXPECT_EQ(JsonLogLine(t, "info", "", "x"),
            R"({"time":"2023-11-14T22:13:20.123Z","level":"info","message":"x"})");
  EXPECT_EQ(
      JsonLogLine(t, "error", "provd", "y"),
      R"({"time":"2023-11-14T22:13:20.123Z","level":"error","logger":"provd","message":"y"})");
}

TEST(JsonLogTest, SpdlogLinesParseWithPythonJson) {
  char tmpl[] = "/tmp/json-log-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, file = dir + "/log.jsonl";
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(spdlog::basic_logger_mt("json-log-test", file, /*truncate=*/true));
  UseJsonLogLines();
  const std::vector<std::string> messages = {"plain",
                                             "with \"quotes\" and \\backslashes\\",
                                             "two\nlines\r\nand\ttab",
                                             std::string("nul \0 and bell \x07", 16),
                                             "caf\xc3\xa9 \xf0\x9f\x93\xb7",
                                             "not utf-8: \xff\xfe"};
  for (const auto& m : messages) spdlog::warn("{}", m);
  spdlog::info("a {} with \"{}\"", "format", "args");
  spdlog::default_logger()->flush();
  spdlog::set_default_logger(previous);
  spdlog::drop("json-log-test");

  auto r =
      testexec::Exec({"/usr/bin/python3",
                      std::string(PROV_SOURCE_DIR) + "/tests/testdata/metrics/json_lines.py", file},
                     dir);
  ASSERT_EQ(r.rc, 0) << testexec::Describe(r);
  auto parsed = nlohmann::json::parse(r.out);
  ASSERT_EQ(parsed.size(), messages.size() + 1);
  for (size_t i = 0; i + 1 < messages.size(); ++i) EXPECT_EQ(parsed[i], messages[i]) << i;
  EXPECT_EQ(parsed[messages.size() - 1], "not utf-8: \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(parsed.back(), "a format with \"args\"");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace ledger
