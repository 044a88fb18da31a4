// Command-line options, declared once (name, value name, default, help) and used for both
// parsing and --help. Bad flags are a clear error, never a crash.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace moe::cli {

struct OptionSpec {
  std::string_view name;      // "--top-k"
  std::string_view alias;     // "-k" or empty
  std::string_view value;     // value placeholder ("N"); empty for a flag
  std::string_view fallback;  // default shown in --help and returned by get()
  std::string_view help;
};

class Args {
 public:
  Args(std::string_view command, std::string_view summary, std::vector<OptionSpec> specs);

  // Parses argv[1..argc) (argv[0] is the command). Positionals are collected in order.
  Status parse(int argc, char** argv);
  bool help_requested() const { return help_; }
  std::string usage() const;

  bool flag(std::string_view name) const;
  bool given(std::string_view name) const;
  std::string get(std::string_view name) const;  // value (the last, if repeated) or its default
  std::vector<std::string> get_all(std::string_view name) const;  // every value given, in order
  Result<int64_t> get_int(std::string_view name, int64_t min, int64_t max) const;
  // "128" or "0,128,512" (llama-bench's lists): every item an integer in [min, max].
  Result<std::vector<int64_t>> get_int_list(std::string_view name, int64_t min, int64_t max) const;
  Result<double> get_double(std::string_view name, double min, double max) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  const OptionSpec* find(std::string_view name) const;

  std::string command_;
  std::string summary_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positionals_;
  bool help_ = false;
};

// Parses "0,17,42" into ids (each within [0, limit)); errors name the bad item.
Result<std::vector<int32_t>> parse_id_list(std::string_view text);

}  // namespace moe::cli
