// Status and Result<T>: how errors cross module boundaries (no exceptions do).
// Untrusted input (GGUF bytes, HTTP bodies, CLI flags) is validated at the boundary and any
// problem comes back as a Status whose message names the file, tensor or field involved.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace moe {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool is_ok() const { return !message_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // Prefixes context ("loading foo.gguf: ") to an error; no-op on success.
  Status with_context(const std::string& context) const {
    return is_ok() ? *this : Status(context + ": " + *message_);
  }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {
    if (std::get<Status>(v_).is_ok()) std::abort();  // a Result error must carry a message
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace moe

#define MOE_CONCAT_INNER(a, b) a##b
#define MOE_CONCAT(a, b) MOE_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is an error.
#define MOE_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::moe::Status moe_status_ = (expr);           \
    if (!moe_status_.is_ok()) return moe_status_; \
  } while (0)

// `MOE_ASSIGN_OR_RETURN(auto x, make_x());` unwraps a Result or returns its Status.
#define MOE_ASSIGN_OR_RETURN(lhs, expr) MOE_ASSIGN_OR_RETURN_IMPL(MOE_CONCAT(moe_result_, __LINE__), lhs, expr)
#define MOE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.is_ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
