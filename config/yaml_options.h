// `--config FILE` for a daemon's CLI11 subcommand: FILE is a YAML mapping
// whose keys are the subcommand's long option names without the dashes
// (`data-dir: /var/lib/provd` is `--data-dir /var/lib/provd`). One loader
// for provd and provmirror, so every daemon's file means the same thing
// (docs/config.md).
//
// Precedence: a flag given on the command line wins over the file's key; the
// file wins over the option's default. Every key is checked, overridden or
// not. Every mistake is refused as
// "FILE:LINE: message" before the daemon opens or changes anything: unknown
// keys (with the nearest known key), repeated keys, lists or mappings where
// one value belongs, switches that are not true/false, values the option's
// own type or validator refuses (the same checks as on the command line),
// and required options given neither in the file nor as a flag.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "verifier/status.h"

namespace config {

class YamlOptions {
 public:
  // Adds `flag` (default --config) to `app`. Call after every other option of
  // `app` is added and before parsing: options marked required() are then
  // required of the flags and the file together, which Apply() checks.
  explicit YamlOptions(CLI::App* app, std::string flag = "--config");
  YamlOptions(const YamlOptions&) = delete;
  YamlOptions& operator=(const YamlOptions&) = delete;

  // After app's parse: reads the file (if the flag was given), fills in the
  // options the command line left unset, checks the required ones.
  // Errors are INVALID_ARGUMENT / BAD_CONFIG, message "FILE:LINE: ...".
  [[nodiscard]] verifier::Status Apply();

  // As Apply(), with the file's text given (`file` names it in messages).
  [[nodiscard]] verifier::Status ApplyText(const std::string& file, const std::string& text);

  // The keys a file may hold (long option names without "--"), in the
  // order the options were added.
  std::vector<std::string> Keys() const;

  const std::string& file() const { return file_; }

 private:
  [[nodiscard]] verifier::Status CheckRequired(const std::string& file) const;

  CLI::App* app_;                       // not owned; outlives this
  CLI::Option* flag_;                   // owned by app_
  std::string file_;                    // the flag's value after parsing
  std::vector<CLI::Option*> required_;  // required of flags and file together
};

}  // namespace config
