#include "api/web.h"

#include "api/http_util.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "crypto/hash.h"
#include "hub/hub.h"
#include "node/chain_access.h"
#include "node/inference_node.h"
#include "tensor/tensor_json.h"
#include "verify/bundle.h"
#include "verify/verify.h"

namespace lucid::api {
namespace {

using http::Guard;
using http::HttpStatusFor;
using http::ParseBody;
using http::SendError;
using http::SendJson;

// Scans back at most this many blocks for a tx by hash or for non-empty blocks.
constexpr uint64_t kMaxScan = 5000;

Result<uint64_t> ParamU64(const httplib::Request& req, const char* name, uint64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return InvalidArgument(std::string(name) + " must be a number");
  return out;
}

Result<Hash32> ParseId(const std::string& text, const char* what) {
  auto id = Hash32FromHex(text);
  if (!id.ok()) return InvalidArgument(std::string(what) + " must be 64 hex characters: " + id.status().message());
  return *id;
}

// ---- static files ----

struct Served {
  std::string_view data;
  std::string content_type;
  std::string etag;
};

const std::unordered_map<std::string, Served>& ServedFiles() {
  static const auto* files = [] {
    auto* m = new std::unordered_map<std::string, Served>();
    for (const WebAsset& a : WebAssets()) {
      std::string_view data(reinterpret_cast<const char*>(a.data), a.size);
      const Hash32 h = crypto::Sha256(ByteView(a.data, a.size));
      std::string tag = ToHex(ByteView(h.data(), 8));
      (*m)[std::string(a.path)] = Served{data, std::string(WebContentType(a.path)), "\"" + tag + "\""};
    }
    return m;
  }();
  return *files;
}

void ServeFile(const httplib::Request& req, httplib::Response& res, const std::string& path) {
  const auto& files = ServedFiles();
  auto it = files.find(path);
  if (it == files.end()) return SendError(res, NotFound("no UI file " + path));
  const Served& f = it->second;
  // index.html names the other files without a version: revalidate everything (ETag, 304).
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", f.etag);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  // Nothing from elsewhere: no CDN, no inline script.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                 "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  if (req.get_header_value("If-None-Match") == f.etag) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(std::string(f.data), f.content_type);
}

class Web {
 public:
  Web(node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node, WebOptions options)
      : chain_(chain), hub_(hub), node_(node), options_(std::move(options)) {}

  Status Blocks(const httplib::Request& req, httplib::Response& res) {
    const uint64_t latest = chain_->Info().height;
    ASSIGN_OR_RETURN(uint64_t limit, ParamU64(req, "limit", 20));
    ASSIGN_OR_RETURN(uint64_t before, ParamU64(req, "before", latest + 1));
    const bool nonempty = req.has_param("nonempty") && req.get_param_value("nonempty") != "0";
    limit = std::clamp<uint64_t>(limit, 1, 100);
    json blocks = json::array();
    uint64_t scanned = 0;
    uint64_t h = std::min(before, latest + 1);
    while (h > 1 && blocks.size() < limit && scanned < kMaxScan) {
      --h;
      ++scanned;
      auto b = chain_->GetBlock(h);
      if (!b.ok()) {
        if (b.status().code() == Code::kNotFound) continue;
        return b.status();
      }
      if (nonempty && b->txs.empty()) continue;
      const auto& hd = b->header.header;
      blocks.push_back({{"height", hd.height},
                        {"hash", ToHex(hd.Hash())},
                        {"time_ms", hd.time_ms},
                        {"tx_count", b->txs.size()},
                        {"proposer", hd.proposer.ToHex()}});
    }
    SendJson(res, {{"latest", latest}, {"blocks", blocks}, {"next_before", h}, {"scanned", scanned}});
    return Status::Ok();
  }

  Status Tx(const httplib::Request& req, httplib::Response& res) {
    ASSIGN_OR_RETURN(Hash32 hash, ParseId(req.matches[1].str(), "tx hash"));
    const uint64_t latest = chain_->Info().height;
    uint64_t from = latest, to = latest > kMaxScan ? latest - kMaxScan + 1 : 1;
    if (req.has_param("height")) {
      ASSIGN_OR_RETURN(uint64_t h, ParamU64(req, "height", 0));
      from = to = h;
    }
    for (uint64_t h = from; h >= to && h >= 1; --h) {
      auto b = chain_->GetBlock(h);
      if (!b.ok()) {
        if (b.status().code() == Code::kNotFound) continue;
        return b.status();
      }
      for (size_t i = 0; i < b->txs.size(); ++i) {
        auto tx = protocol::SignedTx::Decode(b->txs[i]);
        if (!tx.ok() || tx->Hash() != hash) continue;
        json t = TxJson(*tx);
        json out = {{"height", h}, {"index", i}, {"tx", t}, {"raw", ToHex(b->txs[i])}};
        if (i < b->results.size()) out["result"] = TxResultJson(b->results[i]);
        SendJson(res, out);
        return Status::Ok();
      }
      if (h == 1) break;
    }
    return NotFound("no tx " + ToHex(hash) + (req.has_param("height") ? " in block " + std::to_string(from)
                                                                      : " in the last " + std::to_string(from - to + 1) +
                                                                            " blocks"));
  }

  // The checks of `lucid verify` (verify::CheckBundle) on the chain's record of a receipt, with
  // the pieces a caller supplies (a result bundle: request, receipt, evidence hex, inputs,
  // outputs) in place of the chain's.
  Status Verify(const std::string& id_text, const json& bundle, httplib::Response& res) {
    ASSIGN_OR_RETURN(Hash32 id, ParseId(id_text, "receipt id"));
    if (!bundle.is_null() && !bundle.is_object()) return InvalidArgument("\"bundle\" must be a JSON object");
    auto record = chain_->GetReceipt(id);
    if (!record.ok()) {
      if (record.status().code() == Code::kNotFound)
        return NotFound("no receipt " + ToHex(id) + " on this chain (unknown, mistyped or tampered id)");
      return record.status();
    }
    const chain::Genesis genesis = chain_->GenesisInfo();

    // The result under test: the chain's, with the bundle's pieces in its place.
    verify::Bundle b;
    b.receipt_id = id;
    b.request = record->result.request;
    b.receipt = record->result.receipt;
    b.evidence = record->result.evidence;
    Status decoded = Status::Ok();
    auto take = [&](const char* name, auto decode, auto& into) {
      if (bundle.is_null() || !bundle.contains(name)) return;
      if (!bundle[name].is_string()) {
        if (decoded.ok()) decoded = InvalidArgument(std::string(name) + " must be hex");
        return;
      }
      auto bytes = FromHex(bundle[name].get<std::string>());
      auto v = bytes.ok() ? decode(*bytes) : decltype(decode(*bytes))(bytes.status());
      if (!v.ok()) {
        if (decoded.ok()) decoded = v.status().WithContext(name);
        return;
      }
      into = *v;
    };
    take("request", [](const Bytes& x) { return protocol::SignedRequest::Decode(x); }, b.request);
    take("receipt", [](const Bytes& x) { return protocol::Receipt::Decode(x); }, b.receipt);
    take("evidence", [](const Bytes& x) { return protocol::Evidence::Decode(x); }, b.evidence);
    // The first piece that does not decode (its error) fails bundle_decodes.
    if (!decoded.ok()) b.request = decoded;
    const bool supplied = !bundle.is_null() && (bundle.contains("request") || bundle.contains("receipt") ||
                                                bundle.contains("evidence"));
    if (!bundle.is_null() && bundle.contains("inputs")) b.inputs = TensorMapFromJson(bundle["inputs"]);
    if (!bundle.is_null() && bundle.contains("outputs")) b.outputs = TensorMapFromJson(bundle["outputs"]);

    // Inclusion under the signed header of the receipt's block, signed by a genesis validator.
    auto block = chain_->GetBlock(record->height);
    auto proof = chain_->ProveReceipt(id);
    if (proof.ok()) b.proof = *proof;
    else b.proof = proof.status();
    if (block.ok()) b.header = block->header;
    else b.header = block.status();

    verify::BundleCheckOptions o;
    o.chain_id = genesis.chain_id;
    o.validators = genesis.validators;
    o.wording.decodes = supplied ? "the supplied request, receipt and evidence decode canonically"
                                 : "request, receipt and evidence from the chain decode canonically";
    o.wording.inputs_not_held = "no inputs given (the chain holds only their hash)";
    o.wording.outputs_not_held = "no outputs given (the chain holds only their hash)";
    o.wording.inclusion = "receipt is in the receipts root of block {block}'s signed header";
    o.wording.header_signer = "block {block} proposed by a genesis validator";
    o.wording.unknown_proposer = "is not a genesis validator";
    o.chain_facts = [&](const protocol::SubmitResultTx& result) {
      const protocol::Receipt& rec = result.receipt;
      verify::ChainFacts facts;
      facts.view.chain_id = genesis.chain_id;
      auto node_info = chain_->GetNode(rec.node);
      facts.view.node_registered_for_mode =
          node_info.ok() && (node_info->modes & protocol::ModeBit(rec.mode)) != 0;
      // An async request is authenticated by the chain's record of it (workflow runs are unsigned).
      auto async = chain_->GetAsyncRequest(result.request.request.Hash());
      facts.view.request_on_chain = async.ok() && async->request.Encode() == result.request.Encode();
      if (rec.mode == protocol::Mode::kReplay) {
        facts.settlement =
            verify::ReplaySettlement(chain::SettlementStatusName(record->settlement), record->final_height);
        facts.settlement_detail = "final: the challenge window closed at block " +
                                  std::to_string(record->final_height) + " without a successful challenge";
      }
      if (rec.mode == protocol::Mode::kZkml) {
        auto manifest = hub_->GetManifest(rec.model);
        if (manifest.ok() && manifest->zkml) facts.view.zkml_commitment = manifest->zkml->model_commitment;
      }
      if (rec.mode == protocol::Mode::kTee) {
        facts.view.time_ms = block.ok() ? block->header.header.time_ms : chain_->Info().last_time_ms;
        auto e = chain_->GetEnclave(rec.node);
        auto params = chain_->GetTeeParams();
        Status registration = !e.ok() ? e.status() : !params.ok() ? params.status() : Status::Ok();
        if (registration.ok()) {
          verify::EnclaveView ev;
          ev.enclave_address = e->enclave_address;
          ev.pcr0 = e->pcr0;
          ev.expires_at_ms = e->expires_at_ms;
          for (const Bytes& p : params->allowed_pcr0) ev.pcr0_allowed |= p == e->pcr0;
          facts.view.enclave = ev;
        }
        facts.enclave_registration = registration;
        facts.enclave_registration_detail = "the node's enclave registration on this chain (key, PCR0, expiry) is known";
      }
      return facts;
    };
    o.compare_with_chain = [&](const protocol::SubmitResultTx& result, const protocol::SignedHeader*,
                               verify::Report& report) {
      if (!supplied) return;
      const bool same = result.receipt.Encode() == record->result.receipt.Encode() &&
                        result.request.Encode() == record->result.request.Encode();
      report.Add("chain_agrees", same ? Status::Ok() : DataLoss("the chain holds a different receipt or request"),
                 "the chain holds the same request and receipt");
    };
    const verify::Report report = verify::CheckBundle(b, o);

    json checks = json::array();
    for (const auto& c : report.checks)
      checks.push_back({{"name", c.name}, {"ok", c.ok}, {"skipped", c.skipped}, {"detail", c.detail}});
    json out = {{"receipt_id", ToHex(id)},
                {"valid", report.ok()},
                {"source", supplied ? "supplied bundle, checked against this node's chain state"
                                    : "this node's chain state"},
                {"checks", checks}};
    // A bundle that does not decode is not tied to the chain's record: no height.
    if (decoded.ok()) out["height"] = record->height;
    SendJson(res, out);
    return Status::Ok();
  }

  // "try it": an ONNX (or any) version run through the node for the API key's requester.
  Status Infer(const httplib::Request& req, httplib::Response& res) {
    if (!node_) return Unavailable("this server runs no inference node");
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) != 0)
      return PermissionDenied("missing API key: send Authorization: Bearer KEY (lucid devnet: lucid-dev-key)");
    auto key = options_.api_keys.find(auth.substr(7));
    if (key == options_.api_keys.end()) return PermissionDenied("unknown API key");
    const crypto::PrivateKey& requester = key->second;
    ASSIGN_OR_RETURN(json j, ParseBody(req, options_.max_json_bytes));
    if (!j.contains("model") || !j["model"].is_string()) return InvalidArgument("missing \"model\" (NAME@MAJOR.MINOR)");
    if (!j.contains("inputs")) return InvalidArgument("missing \"inputs\": named tensors");
    const std::string ref = j["model"].get<std::string>();
    ASSIGN_OR_RETURN(chain::VersionEntry entry, chain_->ResolveModel(ref));
    ASSIGN_OR_RETURN(TensorMap inputs, TensorMapFromJson(j["inputs"]));
    protocol::Mode mode = protocol::Mode::kVanilla;
    if (j.contains("mode")) {
      if (!j["mode"].is_string()) return InvalidArgument("\"mode\" must be a string");
      ASSIGN_OR_RETURN(mode, protocol::ModeFromName(j["mode"].get<std::string>()));
    }
    uint64_t wait_ms = 10000;
    if (j.contains("wait_ms") && j["wait_ms"].is_number_unsigned()) wait_ms = std::min<uint64_t>(j["wait_ms"].get<uint64_t>(), 60000);
    ASSIGN_OR_RETURN(uint64_t fee, node_->QuoteFee(entry.manifest, mode));

    protocol::SignedRequest signed_request;
    protocol::InferenceRequest& r = signed_request.request;
    r.chain_id = chain_->Info().chain_id;
    r.requester = requester.address();
    r.model = entry.manifest;
    r.mode = mode;
    r.input_hash = HashTensorMap(inputs);
    r.max_fee = fee;
    r.node = node_->address();
    // One try-it request at a time per server: the requester's request nonces stay in order.
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(chain::Account account, chain_->GetAccount(r.requester));
    uint64_t& next = next_nonce_[r.requester];
    r.nonce = std::max(next, account.request_nonce);
    signed_request.signature = requester.Sign(protocol::SigningDigest(r.Hash()));
    auto out = node_->Infer(signed_request, inputs, std::chrono::milliseconds(wait_ms));
    if (!out.ok()) {
      next = 0;  // re-read from the chain next time
      return out.status();
    }
    next = r.nonce + 1;
    const json outputs = TensorMapToJson(out->outputs);
    json body = {{"model", ref},
                 {"model_cid", entry.manifest.ToString()},
                 {"requester", r.requester.ToHex()},
                 {"fee", fee},
                 {"outputs", outputs},
                 {"receipt_id", ToHex(out->receipt_id)},
                 {"receipt", ReceiptJson(out->result.receipt)},
                 {"request", RequestJson(out->result.request.request)},
                 {"tx_hash", ToHex(out->tx_hash)},
                 {"submitted", {{"check", TxResultJson(out->submitted.check)}}}};
    if (out->submitted.deliver) body["submitted"]["deliver"] = TxResultJson(*out->submitted.deliver);
    if (out->submitted.height) body["height"] = *out->submitted.height;
    if (out->proving) body["status"] = "proving";
    // The result bundle (`lucid verify RECEIPT --bundle FILE`, and the verify page).
    body["bundle"] = {{"receipt_id", ToHex(out->receipt_id)},
                      {"request", ToHex(out->result.request.Encode())},
                      {"receipt", ToHex(out->result.receipt.Encode())},
                      {"evidence", ToHex(out->result.evidence.Encode())},
                      {"inputs", j["inputs"]},
                      {"outputs", outputs}};
    SendJson(res, body);
    return Status::Ok();
  }

 private:
  node::ChainAccess* chain_;
  hub::Hub* hub_;
  node::InferenceNode* node_;
  WebOptions options_;
  std::mutex mu_;
  std::map<crypto::Address, uint64_t> next_nonce_;
};

}  // namespace

std::string_view WebContentType(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".txt") || ends(".md")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void AddWebRoutes(httplib::Server& s, node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node,
                  const WebOptions& options) {
  auto web = std::make_shared<Web>(chain, hub, node, options);
  s.Get("/ui/api/blocks", Guard([web](const httplib::Request& req, httplib::Response& res) { return web->Blocks(req, res); }));
  s.Get(R"(/ui/api/txs/([^/]+))", Guard([web](const httplib::Request& req, httplib::Response& res) { return web->Tx(req, res); }));
  s.Get(R"(/ui/api/verify/([^/]+))", Guard([web](const httplib::Request& req, httplib::Response& res) {
          return web->Verify(req.matches[1].str(), json(), res);
        }));
  s.Post("/ui/api/verify", Guard([web, options](const httplib::Request& req, httplib::Response& res) -> Status {
           ASSIGN_OR_RETURN(json j, ParseBody(req, options.max_json_bytes));
           if (!j.contains("receipt_id") || !j["receipt_id"].is_string())
             return InvalidArgument("body must carry \"receipt_id\"");
           return web->Verify(j["receipt_id"].get<std::string>(), j.value("bundle", json()), res);
         }));
  s.Post("/ui/api/infer", Guard([web](const httplib::Request& req, httplib::Response& res) { return web->Infer(req, res); }));
  s.Get(R"(/ui/api/(.*))", Guard([](const httplib::Request& req, httplib::Response&) -> Status {
          return NotFound("no UI route /ui/api/" + req.matches[1].str());
        }));
  s.Get("/", [](const httplib::Request& req, httplib::Response& res) { ServeFile(req, res, "index.html"); });
  s.Get(R"(/ui/([A-Za-z0-9_./-]+))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string path = req.matches[1].str();
    if (path.find("..") != std::string::npos) return SendError(res, InvalidArgument("bad path"));
    ServeFile(req, res, path);
  });
}

}  // namespace lucid::api
