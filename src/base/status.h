// Status and Result<T>: the error model of every Lucid library.
// Errors are values; nothing throws across a library, ABCI or HTTP boundary.
// Thread-safety: plain values, safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lucid {

// Stable codes; user-caused errors map to HTTP 4xx and to tx response codes.
enum class Code : uint8_t {
  kOk = 0,
  kInvalidArgument = 1,   // malformed input (bad bytes, bad shape, bad JSON)
  kNotFound = 2,          // unknown key, CID, model, receipt
  kAlreadyExists = 3,
  kPermissionDenied = 4,  // bad signature, wrong owner, dev key on non-dev chain
  kFailedPrecondition = 5,  // low balance, wrong nonce, node not registered
  kOutOfRange = 6,        // oversized, overflow, limit exceeded
  kDataLoss = 7,          // bytes do not match their hash / CID, corrupt file
  kUnimplemented = 8,     // unsupported op / feature (refused explicitly)
  kInternal = 9,
  kUnavailable = 10,      // I/O, network
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "CODE_NAME: message"
  std::string ToString() const;

  // Prefix the message with context: "loading model: <message>".
  Status WithContext(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

// Result<T>: a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}    // NOLINT: must be non-ok

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
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

}  // namespace lucid

#define LUCID_CONCAT_INNER(a, b) a##b
#define LUCID_CONCAT(a, b) LUCID_CONCAT_INNER(a, b)

// Return the status if it is not ok.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::lucid::Status _st = (expr);              \
    if (!_st.ok()) return _st;                 \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MakeX()); returns the error status on failure.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(LUCID_CONCAT(_res_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
