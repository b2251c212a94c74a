#include "config/yaml_options.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "verifier/suggest.h"

namespace config {
namespace {

using verifier::Status;

// 1-based line of a node (yaml-cpp marks are 0-based).
int Line(const YAML::Mark& m) { return m.line + 1; }

Status Error(const std::string& file, int line, const std::string& what) {
  return verifier::InvalidArgument("BAD_CONFIG", file + ":" + std::to_string(line) + ": " + what);
}

std::string Key(const CLI::Option* o) { return o->get_lnames().front(); }

std::string Shown(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  std::ostringstream out;
  out << n;
  return out.str();
}

// YAML 1.2's core schema booleans.
bool ParseSwitch(const std::string& s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") return *out = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *out = false, true;
  return false;
}

}  // namespace

YamlOptions::YamlOptions(CLI::App* app, std::string flag) : app_(app) {
  for (CLI::Option* o : app_->get_options()) {
    if (o->get_required()) {
      required_.push_back(o);
      o->required(false);
      o->description(o->get_description() + " (required: as a flag or in " + flag + ")");
    }
  }
  flag_ = app_->add_option(flag, file_,
                           "YAML file of settings: each key a long option without the dashes "
                           "(docs/config.md); flags given here win over the file");
}

std::vector<std::string> YamlOptions::Keys() const {
  std::vector<std::string> keys;
  for (const CLI::Option* o : app_->get_options()) {
    if (o == flag_ || o == app_->get_help_ptr() || o == app_->get_help_all_ptr() ||
        o->get_lnames().empty() || !o->get_configurable()) {
      continue;
    }
    keys.push_back(Key(o));
  }
  return keys;
}

Status YamlOptions::Apply() {
  if (file_.empty()) return CheckRequired("");
  std::ifstream in(file_, std::ios::binary);
  if (!in) {
    return verifier::InvalidArgument(
        "BAD_CONFIG", file_ + ": cannot read the config file: " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return verifier::InvalidArgument("BAD_CONFIG", file_ + ": cannot read the config file");
  }
  return ApplyText(file_, text.str());
}

Status YamlOptions::ApplyText(const std::string& file, const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error(file, Line(e.mark), "not valid YAML: " + e.msg);
  }
  // "provd serve" (argv[0]'s file name and the subcommand).
  std::string command = app_->get_name();
  if (const CLI::App* parent = app_->get_parent(); parent && !parent->get_name().empty()) {
    command.insert(0, std::filesystem::path(parent->get_name()).filename().string() + " ");
  }
  if (root.IsDefined() && !root.IsNull()) {
    if (!root.IsMap()) {
      return Error(file, Line(root.Mark()),
                   "the top level must be a mapping of `key: value` lines (keys: the long "
                   "options of `" +
                       command + "` without the dashes)");
    }
    const std::vector<std::string> keys = Keys();
    std::map<std::string, int> seen;
    for (const auto& kv : root) {
      const int line = Line(kv.first.Mark());
      if (!kv.first.IsScalar()) return Error(file, line, "a key must be a plain name");
      const std::string key = kv.first.Scalar();
      if (auto [it, fresh] = seen.emplace(key, line); !fresh) {
        return Error(
            file, line,
            "key '" + key + "' is repeated (first on line " + std::to_string(it->second) + ")");
      }
      if (key == flag_->get_lnames().front() || key.rfind("-", 0) == 0) {
        return Error(file, line,
                     "'" + key +
                         "' is not a setting: keys are option names without the "
                         "dashes, and a config file cannot name another one");
      }
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        return Error(file, line,
                     "unknown key '" + key + "' for `" + command + "`" +
                         verifier::DidYouMean(verifier::Nearest(key, keys)));
      }
      CLI::Option* o = app_->get_option("--" + key);
      const YAML::Node& v = kv.second;
      const int vline = Line(v.Mark());
      const bool is_switch = o->get_expected_max() == 0;
      const bool is_list = o->get_items_expected_max() > 1;

      std::vector<std::string> values;
      if (!v.IsDefined() || v.IsNull()) {
        return Error(file, line, key + ": has no value");
      } else if (v.IsMap()) {
        return Error(file, vline, key + ": a mapping is not a value here");
      } else if (v.IsSequence()) {
        if (!is_list) return Error(file, vline, key + ": takes one value, not a list");
        for (const auto& item : v) {
          if (!item.IsScalar()) {
            return Error(file, Line(item.Mark()), key + ": each list item must be one value");
          }
          values.push_back(item.Scalar());
        }
        if (values.empty()) return Error(file, vline, key + ": the list is empty");
      } else {
        values.push_back(v.Scalar());
      }

      bool on = false;
      if (is_switch && !ParseSwitch(values.front(), &on)) {
        return Error(file, vline, key + ": is a switch: true or false, got '" + Shown(v) + "'");
      }
      // The file's value is checked as the flag would be, even where a flag
      // on the command line wins (then applied again over it).
      const std::vector<std::string> from_flags = o->results();
      try {
        o->clear();
        if (is_switch) {
          o->add_result(o->get_flag_value(key, on ? "true" : "false"));
        } else {
          for (const auto& s : values) o->add_result(s);
        }
        o->run_callback();
      } catch (const CLI::Error& e) {
        o->clear();
        return Error(file, vline, key + ": '" + Shown(v) + "' refused: " + e.what());
      }
      if (!from_flags.empty()) {
        o->clear();
        for (const auto& s : from_flags) o->add_result(s);
        o->run_callback();  // accepted when the command line was parsed
      }
    }
  }
  return CheckRequired(file);
}

Status YamlOptions::CheckRequired(const std::string& file) const {
  for (const CLI::Option* o : required_) {
    if (o->count() > 0) continue;
    if (file.empty()) {
      return verifier::InvalidArgument("BAD_CONFIG", "--" + Key(o) +
                                                         " is required (as a flag or in --" +
                                                         flag_->get_lnames().front() + " FILE)");
    }
    return Error(file, 1, "missing required key '" + Key(o) + "' (or give --" + Key(o) + ")");
  }
  return Status::Ok();
}

}  // namespace config
