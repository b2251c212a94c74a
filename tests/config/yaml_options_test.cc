// config::YamlOptions over a real CLI11 subcommand shaped like `provd serve`:
// every key kind applied, flags winning over the file, and every refusal
// with its FILE:LINE.
#include "config/yaml_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace config {
namespace {

class YamlOptionsTest : public ::testing::Test {
 protected:
  YamlOptionsTest() {
    app_.require_subcommand(1);
    serve_ = app_.add_subcommand("serve", "serve");
    serve_->add_option("--data-dir", dir_, "data")->required();
    serve_->add_option("--listen", listen_, "address")->default_val(listen_);
    serve_->add_option("--max-batch", max_batch_, "records per commit")
        ->check(CLI::Range(1, 1 << 20))
        ->default_val(4096);
    serve_->add_flag("--plaintext", plaintext_, "no TLS");
    serve_->add_option("--witness", witnesses_, "repeatable");
    serve_->add_option("--log-format", log_format_, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->default_val(log_format_);
    yaml_ = std::make_unique<YamlOptions>(serve_);
  }

  // Parses `flags` after "prov serve", then applies `text` as file "f.yaml".
  verifier::Status Run(const std::string& text, std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"serve"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::reverse(args.begin(), args.end());
    app_.parse(args);
    return yaml_->ApplyText("f.yaml", text);
  }

  // The message of a refusal (and that it is one).
  std::string Refusal(const std::string& text, std::vector<std::string> flags = {}) {
    verifier::Status s = Run(text, std::move(flags));
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), verifier::Code::kInvalidArgument);
    return s.message();
  }

  CLI::App app_{"a daemon", "/usr/bin/test"};
  CLI::App* serve_ = nullptr;
  std::unique_ptr<YamlOptions> yaml_;
  std::string dir_, listen_ = "127.0.0.1:7400", log_format_ = "text";
  uint32_t max_batch_ = 0;
  bool plaintext_ = false;
  std::vector<std::string> witnesses_;
};

TEST_F(YamlOptionsTest, AppliesStringsNumbersSwitchesAndLists) {
  ASSERT_TRUE(Run("# a comment\n"
                  "data-dir: /var/lib/provd\n"
                  "listen: \"[::1]:7400\"\n"
                  "max-batch: 512\n"
                  "plaintext: true\n"
                  "witness: [a, b]\n"
                  "log-format: json\n")
                  .ok());
  EXPECT_EQ(dir_, "/var/lib/provd");
  EXPECT_EQ(listen_, "[::1]:7400");
  EXPECT_EQ(max_batch_, 512u);
  EXPECT_TRUE(plaintext_);
  EXPECT_EQ(witnesses_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(log_format_, "json");
}

TEST_F(YamlOptionsTest, KeysLeftOutKeepTheirDefaults) {
  ASSERT_TRUE(Run("data-dir: /d\nplaintext: false\n").ok());
  EXPECT_EQ(listen_, "127.0.0.1:7400");
  EXPECT_EQ(max_batch_, 4096u);
  EXPECT_FALSE(plaintext_);
  EXPECT_EQ(log_format_, "text");
}

TEST_F(YamlOptionsTest, CommandLineFlagsWinOverTheFile) {
  ASSERT_TRUE(Run("data-dir: /from-file\nmax-batch: 512\nlisten: 127.0.0.1:1\n",
                  {"--max-batch", "7", "--listen", "127.0.0.1:2"})
                  .ok());
  EXPECT_EQ(dir_, "/from-file");
  EXPECT_EQ(max_batch_, 7u);
  EXPECT_EQ(listen_, "127.0.0.1:2");
}

TEST_F(YamlOptionsTest, SwitchesAndListsOnTheCommandLineWinToo) {
  ASSERT_TRUE(
      Run("data-dir: /d\nplaintext: false\nwitness: [a, b]\n", {"--plaintext", "--witness", "c"})
          .ok());
  EXPECT_TRUE(plaintext_);
  EXPECT_EQ(witnesses_, (std::vector<std::string>{"c"}));
}

TEST_F(YamlOptionsTest, AKeyAFlagOverridesIsStillChecked) {
  std::string m = Refusal("data-dir: /d\nmax-batch: 0\n", {"--max-batch", "7"});
  EXPECT_EQ(m.rfind("f.yaml:2: max-batch: '0' refused: ", 0), 0u) << m;
}

TEST_F(YamlOptionsTest, RequiredOptionMayComeFromTheFlagAlone) {
  ASSERT_TRUE(Run("", {"--data-dir", "/d"}).ok());
  EXPECT_EQ(dir_, "/d");
}

TEST_F(YamlOptionsTest, KeysListsTheLongOptionsButNotHelpOrConfig) {
  EXPECT_EQ(yaml_->Keys(), (std::vector<std::string>{"data-dir", "listen", "max-batch", "plaintext",
                                                     "witness", "log-format"}));
}

TEST_F(YamlOptionsTest, UnknownKeySuggestsTheNearest) {
  EXPECT_EQ(Refusal("data-dir: /d\nmax_batch: 5\n"),
            "f.yaml:2: unknown key 'max_batch' for `test serve` (did you mean 'max-batch'?)");
}

TEST_F(YamlOptionsTest, UnknownKeyFarFromAllHasNoSuggestion) {
  EXPECT_EQ(Refusal("data-dir: /d\n\nzzzzqqqq: 1\n"),
            "f.yaml:3: unknown key 'zzzzqqqq' for `test serve`");
}

TEST_F(YamlOptionsTest, RepeatedKeyNamesTheFirstLine) {
  EXPECT_EQ(Refusal("data-dir: /a\nlisten: x:1\ndata-dir: /b\n"),
            "f.yaml:3: key 'data-dir' is repeated (first on line 1)");
}

TEST_F(YamlOptionsTest, WordForANumberIsRefused) {
  std::string m = Refusal("data-dir: /d\nmax-batch: lots\n");
  EXPECT_EQ(m.rfind("f.yaml:2: max-batch: 'lots' refused: ", 0), 0u) << m;
}

TEST_F(YamlOptionsTest, NumberOutOfRangeIsRefused) {
  std::string m = Refusal("data-dir: /d\nmax-batch: 0\n");
  EXPECT_EQ(m.rfind("f.yaml:2: max-batch: '0' refused: ", 0), 0u) << m;
  EXPECT_NE(m.find("not in range 1 to 1048576"), std::string::npos) << m;
}

TEST_F(YamlOptionsTest, NegativeNumberForAnUnsignedOptionIsRefused) {
  std::string m = Refusal("data-dir: /d\nmax-batch: -1\n");
  EXPECT_EQ(m.rfind("f.yaml:2: max-batch: '-1' refused: ", 0), 0u) << m;
}

TEST_F(YamlOptionsTest, ValueOutsideTheOptionsChoicesIsRefused) {
  std::string m = Refusal("data-dir: /d\nlog-format: xml\n");
  EXPECT_EQ(m.rfind("f.yaml:2: log-format: 'xml' refused: ", 0), 0u) << m;
}

TEST_F(YamlOptionsTest, SwitchMustBeTrueOrFalse) {
  EXPECT_EQ(Refusal("data-dir: /d\nplaintext: yes\n"),
            "f.yaml:2: plaintext: is a switch: true or false, got 'yes'");
}

TEST_F(YamlOptionsTest, ListWhereOneValueBelongsIsRefused) {
  EXPECT_EQ(Refusal("data-dir: /d\nlisten:\n  - a:1\n  - b:2\n"),
            "f.yaml:3: listen: takes one value, not a list");
}

TEST_F(YamlOptionsTest, MappingValueIsRefused) {
  EXPECT_EQ(Refusal("data-dir:\n  path: /d\n"),
            "f.yaml:2: data-dir: a mapping is not a value here");
}

TEST_F(YamlOptionsTest, KeyWithoutValueIsRefused) {
  EXPECT_EQ(Refusal("data-dir: /d\nlisten:\n"), "f.yaml:2: listen: has no value");
}

TEST_F(YamlOptionsTest, ListItemThatIsAListIsRefused) {
  EXPECT_EQ(Refusal("data-dir: /d\nwitness:\n  - a\n  - [b, c]\n"),
            "f.yaml:4: witness: each list item must be one value");
}

TEST_F(YamlOptionsTest, MissingRequiredKeyIsRefused) {
  EXPECT_EQ(Refusal("listen: 127.0.0.1:1\n"),
            "f.yaml:1: missing required key 'data-dir' (or give --data-dir)");
}

TEST_F(YamlOptionsTest, MissingRequiredOptionWithoutAFileIsRefused) {
  app_.parse(std::vector<std::string>{"serve"});
  verifier::Status s = yaml_->Apply();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "--data-dir is required (as a flag or in --config FILE)");
}

TEST_F(YamlOptionsTest, BrokenYamlNamesItsLine) {
  std::string m = Refusal("data-dir: /d\nlisten: [unclosed\nmax-batch: 3\n");
  EXPECT_EQ(m.rfind("f.yaml:", 0), 0u) << m;
  EXPECT_NE(m.find("not valid YAML"), std::string::npos) << m;
}

TEST_F(YamlOptionsTest, TopLevelMustBeAMapping) {
  std::string m = Refusal("- data-dir\n- /d\n");
  EXPECT_EQ(m.rfind("f.yaml:1: the top level must be a mapping", 0), 0u) << m;
}

TEST_F(YamlOptionsTest, ConfigCannotNameAnotherConfig) {
  std::string m = Refusal("data-dir: /d\nconfig: other.yaml\n");
  EXPECT_EQ(m.rfind("f.yaml:2: 'config' is not a setting", 0), 0u) << m;
}

TEST_F(YamlOptionsTest, KeyWithDashesIsRefused) {
  std::string m = Refusal("--data-dir: /d\n");
  EXPECT_EQ(m.rfind("f.yaml:1: '--data-dir' is not a setting", 0), 0u) << m;
}

TEST_F(YamlOptionsTest, UnreadableFileIsRefused) {
  app_.parse(std::vector<std::string>{"/nonexistent/provd.yaml", "--config", "serve"});
  verifier::Status s = yaml_->Apply();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "/nonexistent/provd.yaml: cannot read the config file: No such file or directory");
}

TEST_F(YamlOptionsTest, ApplyReadsTheFileNamedByTheFlag) {
  auto path = std::filesystem::temp_directory_path() /
              ("yaml_options_test_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "data-dir: /from/file\nmax-batch: 9\n";
  app_.parse(std::vector<std::string>{path.string(), "--config", "serve"});
  verifier::Status s = yaml_->Apply();
  std::filesystem::remove(path);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(yaml_->file(), path.string());
  EXPECT_EQ(dir_, "/from/file");
  EXPECT_EQ(max_batch_, 9u);
}

}  // namespace
}  // namespace config
