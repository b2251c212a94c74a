// Errors as values. A Status is OK or carries a canonical code (the gRPC
// numbering, so the service maps it 1:1), a stable machine-readable reason
// such as "BAD_SIGNATURE", and a plain-language message.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace verifier {

// Numerically identical to grpc::StatusCode.
enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // Stable identifier, e.g. "DUPLICATE_SERIAL"; empty when ok().
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }
  // "REASON: message", or "OK".
  std::string ToString() const {
    return ok() ? "OK" : reason_ + ": " + message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string reason_;
  std::string message_;
};

// Shorthands for the common codes.
inline Status InvalidArgument(std::string reason, std::string msg) {
  return {Code::kInvalidArgument, std::move(reason), std::move(msg)};
}
inline Status NotFound(std::string reason, std::string msg) {
  return {Code::kNotFound, std::move(reason), std::move(msg)};
}
inline Status AlreadyExists(std::string reason, std::string msg) {
  return {Code::kAlreadyExists, std::move(reason), std::move(msg)};
}
inline Status PermissionDenied(std::string reason, std::string msg) {
  return {Code::kPermissionDenied, std::move(reason), std::move(msg)};
}
inline Status FailedPrecondition(std::string reason, std::string msg) {
  return {Code::kFailedPrecondition, std::move(reason), std::move(msg)};
}
inline Status OutOfRange(std::string reason, std::string msg) {
  return {Code::kOutOfRange, std::move(reason), std::move(msg)};
}
inline Status DataLoss(std::string reason, std::string msg) {
  return {Code::kDataLoss, std::move(reason), std::move(msg)};
}
inline Status Unauthenticated(std::string reason, std::string msg) {
  return {Code::kUnauthenticated, std::move(reason), std::move(msg)};
}
inline Status Internal(std::string reason, std::string msg) {
  return {Code::kInternal, std::move(reason), std::move(msg)};
}

// A value or an error. REQUIRES: constructed from a non-OK Status when
// holding an error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  // REQUIRES: ok()
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

}  // namespace verifier

// Returns early from the enclosing function when `expr` is not OK.
#define PROV_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::verifier::Status _st = (expr);      \
    if (!_st.ok()) return _st;            \
  } while (0)

#define PROV_CONCAT_INNER(a, b) a##b
#define PROV_CONCAT(a, b) PROV_CONCAT_INNER(a, b)
// `PROV_ASSIGN_OR_RETURN(auto x, F());` binds x or returns F()'s error.
#define PROV_ASSIGN_OR_RETURN(lhs, expr)                         \
  auto PROV_CONCAT(_res_, __LINE__) = (expr);                    \
  if (!PROV_CONCAT(_res_, __LINE__).ok())                        \
    return PROV_CONCAT(_res_, __LINE__).status();                \
  lhs = std::move(PROV_CONCAT(_res_, __LINE__)).value()
