#include "cli/cli_util.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "node/inference_node.h"

namespace lucid::cli {

using nlohmann::json;

Result<json> SendTx(const Context& ctx, protocol::TxBody body) {
  ASSIGN_OR_RETURN(crypto::PrivateKey key, ctx.FromKey());
  ApiClient api = ctx.api();
  ASSIGN_OR_RETURN(json status, api.Get("/status"));
  ASSIGN_OR_RETURN(json acct, api.Get("/chain/accounts/" + key.address().ToHex()));
  protocol::SignedTx tx = node::MakeTx(key, status["chain_id"].get<std::string>(), acct["nonce"].get<uint64_t>(),
                                       /*max_tx_fee=*/10'000'000, std::move(body));
  ASSIGN_OR_RETURN(auto resp, api.PostWithStatus("/chain/txs", {{"tx", ToHex(tx.Encode())}, {"wait_ms", 30000}}));
  json& j = resp.second;
  const json& refused = j["check"]["code"].get<uint32_t>() != 0 ? j["check"]
                        : (j.contains("deliver") && j["deliver"]["code"].get<uint32_t>() != 0) ? j["deliver"]
                                                                                               : json();
  if (!refused.is_null())
    return FailedPrecondition("transaction refused: " + refused["code_name"].get<std::string>() + ": " +
                              refused["log"].get<std::string>());
  if (!j.contains("height")) return Unavailable("transaction " + ToHex(tx.Hash()) + " was not included within 30 s");
  return j;
}

Result<json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json j = json::parse(b.begin(), b.end(), nullptr, false);
  if (j.is_discarded()) return InvalidArgument(path + " is not valid JSON");
  return j;
}

void PrintTensorMap(const json& tensors, const std::string& indent) {
  for (auto it = tensors.begin(); it != tensors.end(); ++it) {
    const json& t = it.value();
    std::cout << indent << it.key() << " " << t.value("dtype", "?") << t.value("shape", json::array()).dump() << " = [";
    const json& data = t.contains("data") ? t["data"] : json::array();
    for (size_t i = 0; i < data.size(); ++i) {
      if (i) std::cout << ", ";
      if (i == 64) {
        std::cout << "... " << data.size() - 64 << " more";
        break;
      }
      if (data[i].is_number_float()) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.6g", data[i].get<double>());
        std::cout << buf;
      } else {
        std::cout << data[i].dump();
      }
    }
    std::cout << "]\n";
  }
}

}  // namespace lucid::cli
