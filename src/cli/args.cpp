#include "cli/args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace moe::cli {

Args::Args(std::string_view command, std::string_view summary, std::vector<OptionSpec> specs)
    : command_(command), summary_(summary), specs_(std::move(specs)) {}

const OptionSpec* Args::find(std::string_view name) const {
  for (const OptionSpec& s : specs_) {
    if (s.name == name || (!s.alias.empty() && s.alias == name)) return &s;
  }
  return nullptr;
}

Status Args::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-' && !(arg.size() > 1 && std::isdigit(static_cast<unsigned char>(arg[1])))) {
      std::string_view name = arg;
      std::optional<std::string> inline_value;
      if (const size_t eq = arg.find('='); eq != std::string_view::npos && arg.starts_with("--")) {
        name = arg.substr(0, eq);
        inline_value = std::string(arg.substr(eq + 1));
      }
      const OptionSpec* spec = find(name);
      if (spec == nullptr) return Status::error("unknown option " + std::string(name) + " for '" + command_ + "'");
      if (spec->value.empty()) {
        if (inline_value) return Status::error("option " + std::string(spec->name) + " takes no value");
        values_[std::string(spec->name)].push_back("1");
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= argc) return Status::error("option " + std::string(spec->name) + " needs a value (" +
                                                std::string(spec->value) + ")");
        inline_value = argv[++i];
      }
      values_[std::string(spec->name)].push_back(*inline_value);
      continue;
    }
    positionals_.emplace_back(arg);
  }
  return Status::ok();
}

std::string Args::usage() const {
  std::string out = "usage: moeinfer " + command_ + " [options]\n" + summary_ + "\noptions:\n";
  for (const OptionSpec& s : specs_) {
    // appends, not `", " + std::string(...)`: GCC 12 warns falsely (-Wrestrict) on that form
    std::string left = "  ";
    left.append(s.name);
    if (!s.alias.empty()) left.append(", ").append(s.alias);
    if (!s.value.empty()) left.append(" ").append(s.value);
    if (left.size() < 30) left.resize(30, ' ');
    out.append(left).append(" ").append(s.help);
    if (!s.fallback.empty()) out.append(" (default: ").append(s.fallback).append(")");
    out += "\n";
  }
  return out;
}

bool Args::given(std::string_view name) const { return values_.count(name) > 0; }
bool Args::flag(std::string_view name) const { return given(name); }

std::string Args::get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second.back();
  const OptionSpec* s = find(name);
  return s != nullptr ? std::string(s->fallback) : std::string();
}

std::vector<std::string> Args::get_all(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  return {};
}

namespace {

Result<int64_t> parse_int_in(std::string_view name, const std::string& v, int64_t min, int64_t max) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || errno != 0 || end == nullptr || *end != '\0' || x < min || x > max) {
    return Status::error("option " + std::string(name) + ": '" + v + "' is not an integer in [" +
                         std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int64_t>(x);
}

}  // namespace

Result<int64_t> Args::get_int(std::string_view name, int64_t min, int64_t max) const {
  return parse_int_in(name, get(name), min, max);
}

Result<std::vector<int64_t>> Args::get_int_list(std::string_view name, int64_t min, int64_t max) const {
  const std::string v = get(name);
  std::vector<int64_t> out;
  std::string_view rest = v;
  while (true) {
    const size_t comma = rest.find(',');
    MOE_ASSIGN_OR_RETURN(int64_t x, parse_int_in(name, std::string(rest.substr(0, comma)), min, max));
    out.push_back(x);
    if (comma == std::string_view::npos) return out;
    rest.remove_prefix(comma + 1);
  }
}

Result<double> Args::get_double(std::string_view name, double min, double max) const {
  const std::string v = get(name);
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || errno != 0 || end == nullptr || *end != '\0' || !std::isfinite(x) || x < min || x > max) {
    return Status::error("option " + std::string(name) + ": '" + v + "' is not a number in [" +
                         std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return x;
}

Result<std::vector<int32_t>> parse_id_list(std::string_view text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string item(text.substr(start, end - start));
    errno = 0;
    char* stop = nullptr;
    const long long v = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || errno != 0 || *stop != '\0' || v < 0 || v > INT32_MAX) {
      return Status::error("bad token id '" + item + "' in list");
    }
    ids.push_back(static_cast<int32_t>(v));
    start = end + 1;
  }
  return ids;
}

}  // namespace moe::cli
