// GET /metrics and GET /openapi.json bodies (docs/api.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lucid::api {

// Prometheus text exposition format 0.0.4 of base/metrics.h's process-wide registry, plus
// the chain height this node serves (read at scrape time).
std::string PrometheusText(uint64_t chain_height);

// src/api/openapi.json as compiled in (cmake/embed_openapi.cmake).
std::string_view OpenApiJson();

}  // namespace lucid::api
