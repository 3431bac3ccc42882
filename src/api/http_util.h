// Internal to src/api: how every JSON route answers. Errors are {"error": {"code", "message"}}
// with the HTTP status of the Status code; nothing a handler throws escapes (Guard).
#pragma once

#include <httplib.h>

#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace lucid::api::http {

using nlohmann::json;

inline int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return 400;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kPermissionDenied: return 403;
    case Code::kFailedPrecondition: return 422;
    case Code::kOutOfRange: return 413;
    case Code::kDataLoss: return 422;
    case Code::kUnimplemented: return 501;
    case Code::kUnavailable: return 503;
    default: return 500;
  }
}

// JSON answers are never cached (chain state moves). `replace`: an error message may quote
// caller bytes that are not UTF-8 (found by schemathesis: GET /hub/manifests/<a binary file's
// CID> threw from dump() and answered 500).
inline void SendJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

inline void SendError(httplib::Response& res, const Status& s) {
  SendJson(res, {{"error", {{"code", CodeName(s.code())}, {"message", s.message()}}}}, HttpStatusFor(s.code()));
}

// A request body that must be a JSON object of at most `limit` bytes.
inline Result<json> ParseBody(const httplib::Request& req, uint64_t limit) {
  if (req.body.size() > limit)
    return OutOfRange("request body is " + std::to_string(req.body.size()) + " bytes, limit " + std::to_string(limit));
  json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("request body must be a JSON object");
  return j;
}

// Wraps a handler returning Status so that no exception escapes and every error becomes JSON.
template <typename Fn>
httplib::Server::Handler Guard(Fn fn) {
  return [fn](const httplib::Request& req, httplib::Response& res) {
    try {
      Status s = fn(req, res);
      if (!s.ok()) SendError(res, s);
    } catch (const std::exception& e) {
      SendError(res, Internal(std::string("unexpected: ") + e.what()));
    }
  };
}

}  // namespace lucid::api::http
