// Status and Result<T>: how every fallible call in coffer reports failure.
//
// A Status carries an AWS error code (core/error_code.h: the wire `__type`, e.g.
// ResourceNotFoundException) and a human-readable message. Only the protocol layer knows how a code
// is put on the wire (HTTP status, JSON or XML shape); everything below it just returns Status.
// Messages must never contain secret material.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/error_code.h"

namespace coffer {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != ErrorCode::kOk);
  }

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  // The code as AWS spells it on the wire.
  std::string_view code_name() const { return ErrorCodeName(code_); }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
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

}  // namespace coffer

// Propagates a non-OK Status out of the calling function.
#define COFFER_RETURN_IF_ERROR(expr)   \
  do {                                 \
    ::coffer::Status status_ = (expr); \
    if (!status_.ok()) return status_; \
  } while (false)

#define COFFER_CONCAT_INNER(a, b) a##b
#define COFFER_CONCAT(a, b) COFFER_CONCAT_INNER(a, b)
#define COFFER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

// `COFFER_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its Status.
#define COFFER_ASSIGN_OR_RETURN(lhs, expr) \
  COFFER_ASSIGN_OR_RETURN_IMPL(COFFER_CONCAT(result_, __LINE__), lhs, expr)
