// libFuzzer target: the ABCI application behind `lucid validator` (consensus/abci_app.h), fed
// what reaches it from outside: CometBFT relays anyone's txs (CheckTx, proposals, blocks) and
// anyone's abci_query path and data. Three shapes, chosen by the first byte:
//   0: uvarint-delimited tendermint.abci.Request frames (the socket protocol's framing), each
//      parsed and handed to AbciApp::Handle whatever it asks for;
//   1: the rest split into txs (uvarint-delimited), run through one block cycle: CheckTx each,
//      PrepareProposal, ProcessProposal of what was prepared (it must be accepted: a proposal
//      this app prepared and its own check disagreeing is a bug), FinalizeBlock, Commit;
//   2: a Transfer signed by the funded genesis key whose amount, recipient, nonce and fee cap
//      come from the input, plus the rest as one raw tx, through the same block cycle (valid
//      signatures reach execution, which random bytes never do);
//   3: settlement txs (docs/settlement.md) signed by one of four funded keys, their fields from
//      the input: repos and versions, node registrations, async requests and their answers,
//      challenges and votes on receipts answered earlier, conflict evidence, feeds and
//      workflows, hub pin announcements (registration with its bond, pins and unpins of
//      published and unpublished versions, retirement), through the same block cycle. The
//      genesis has short settlement windows, so EndBlock's expiries, committee draws, vote
//      deadlines and replay payments run during the fuzzing, and replication params off their
//      defaults; a FinalizeBlock error (a chain halt) aborts.
// One application for the whole run, in a temporary folder: state carries across inputs.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "consensus/abci_app.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "protocol/types.h"
#include "tensor/tensor.h"

using namespace lucid;
using consensus::AbciApp;
namespace abci = tendermint::abci;

namespace {

constexpr const char* kChainId = "lucid-fuzz";

const crypto::PrivateKey& FundedKey() {
  static const crypto::PrivateKey key = crypto::PrivateKey::FromSeed("abci-fuzz-funded");
  return key;
}

// Shape 3's signers: FundedKey and three more, all funded at genesis.
const crypto::PrivateKey& Key(size_t i) {
  static const crypto::PrivateKey keys[4] = {FundedKey(), crypto::PrivateKey::FromSeed("abci-fuzz-k1"),
                                             crypto::PrivateKey::FromSeed("abci-fuzz-k2"),
                                             crypto::PrivateKey::FromSeed("abci-fuzz-k3")};
  return keys[i % 4];
}

std::string ProposerAddress() {
  static const std::string pk(32, 'v');
  const crypto::Address a = consensus::CometAddress(ByteView(reinterpret_cast<const uint8_t*>(pk.data()), pk.size()));
  return std::string(a.bytes.begin(), a.bytes.end());
}

std::filesystem::path& AppDir() {
  static std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("lucid_abci_fuzz_" + std::to_string(::getpid()));
  return dir;
}

AbciApp* MakeApp() {
  const auto& dir = AppDir();
  std::filesystem::remove_all(dir);
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(AppDir(), ec);  // the app itself is left open: a store in a deleted folder
  });
  std::filesystem::create_directories(dir);
  auto app = AbciApp::Open((dir / "chain").string());
  if (!app.ok()) {
    std::fprintf(stderr, "abci_fuzz: %s\n", app.status().ToString().c_str());
    std::abort();
  }
  (*app)->set_log([](const std::string&) {});
  chain::Genesis g;
  g.chain_id = kChainId;
  g.params.tx_fee_per_byte = 1;
  g.params.min_node_stake = 1000;
  for (size_t i = 0; i < 4; ++i) g.accounts.push_back({Key(i).address(), 1'000'000'000'000});
  g.params.settlement.async_min_deadline_blocks = 1;
  g.params.settlement.async_max_deadline_blocks = 6;
  g.params.settlement.replay_challenge_blocks = 3;
  g.params.settlement.challenge_vote_blocks = 3;
  g.params.settlement.challenge_committee = 2;
  g.params.replication.min_replicas = 2;
  g.params.replication.hub_bond = 5000;
  nlohmann::json state = api::GenesisJson(g);
  state.erase("validators");
  state.erase("genesis_time_ms");
  abci::RequestInitChain init;
  init.set_chain_id(kChainId);
  init.mutable_time()->set_seconds(1'700'000'000);
  init.set_app_state_bytes(state.dump());
  init.set_initial_height(1);
  abci::ValidatorUpdate* v = init.add_validators();
  v->mutable_pub_key()->set_ed25519(std::string(32, 'v'));
  v->set_power(10);
  if (auto r = (*app)->InitChain(init); !r.ok()) {
    std::fprintf(stderr, "abci_fuzz: InitChain: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return app->release();
}

// Reads a uvarint at data[pos..]; false when the input ends or it runs past 10 bytes.
bool ReadUvarint(const uint8_t* data, size_t size, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 70 && pos < size; shift += 7) {
    const uint8_t b = data[pos++];
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

std::vector<std::string> SplitDelimited(const uint8_t* data, size_t size) {
  std::vector<std::string> out;
  size_t pos = 0;
  uint64_t len = 0;
  while (pos < size && ReadUvarint(data, size, pos, len) && len <= size - pos) {
    out.emplace_back(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
  }
  return out;
}

int64_t CommittedHeight(AbciApp& app) { return app.Info(abci::RequestInfo()).last_block_height(); }

void BlockCycle(AbciApp& app, const std::vector<std::string>& txs) {
  for (const std::string& tx : txs) {
    abci::RequestCheckTx check;
    check.set_tx(tx);
    (void)app.CheckTx(check);
  }
  const int64_t height = CommittedHeight(app) + 1;
  const int64_t seconds = 1'700'000'000 + height;
  abci::RequestPrepareProposal prepare;
  prepare.set_height(height);
  prepare.mutable_time()->set_seconds(seconds);
  prepare.set_proposer_address(ProposerAddress());
  prepare.set_max_tx_bytes(1 << 20);
  for (const std::string& tx : txs) prepare.add_txs(tx);
  auto prepared = app.PrepareProposal(prepare);
  if (!prepared.ok()) return;  // shape 0 may have left the app mid-block (as no CometBFT would)
  abci::RequestProcessProposal process;
  process.set_height(height);
  process.mutable_time()->set_seconds(seconds);
  process.set_proposer_address(ProposerAddress());
  for (const std::string& tx : prepared->txs()) process.add_txs(tx);
  if (app.ProcessProposal(process).status() != abci::ResponseProcessProposal::ACCEPT) std::abort();
  abci::RequestFinalizeBlock finalize;
  finalize.set_height(height);
  finalize.mutable_time()->set_seconds(seconds);
  finalize.set_proposer_address(ProposerAddress());
  for (const std::string& tx : prepared->txs()) finalize.add_txs(tx);
  auto finalized = app.FinalizeBlock(finalize);
  if (!finalized.ok() || finalized->tx_results_size() != prepared->txs_size()) std::abort();
  if (!app.Commit().ok() || CommittedHeight(app) != height) std::abort();
}

uint64_t TakeU64(const uint8_t* data, size_t size, size_t& pos) {
  uint64_t v = 0;
  for (int i = 0; i < 8 && pos < size; ++i) v |= static_cast<uint64_t>(data[pos++]) << (8 * i);
  return v;
}

std::string SignedTransfer(AbciApp& app, const uint8_t* data, size_t size, size_t& pos) {
  const crypto::PrivateKey& key = FundedKey();
  const uint64_t next = app.WithApp([&](const chain::Application& a) {
    auto acct = a.GetAccount(key.address());
    return acct.ok() ? acct->nonce : 0;
  });
  protocol::Tx tx;
  tx.chain_id = kChainId;
  tx.from = key.address();
  const uint8_t nonce_shift = pos < size ? data[pos++] : 0;
  tx.nonce = next + (nonce_shift % 4 == 0 ? 0 : nonce_shift);  // mostly the right nonce
  tx.max_tx_fee = TakeU64(data, size, pos) % 10'000'000;
  protocol::TransferTx transfer;
  for (auto& b : transfer.to.bytes) b = pos < size ? data[pos++] : 0;
  transfer.amount = TakeU64(data, size, pos) >> (pos < size ? data[pos++] % 64 : 0);
  tx.body = transfer;
  const Bytes encoded = protocol::SignedTx::Sign(std::move(tx), key).Encode();
  return std::string(encoded.begin(), encoded.end());
}

// Shape 3: one settlement-related tx whose kind and fields come from the input.
struct Cursor {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
  uint8_t Byte() { return pos < size ? data[pos++] : 0; }
  uint64_t Small(uint64_t mod) { return Byte() % mod; }
  uint64_t U64() { return TakeU64(data, size, pos); }
};

crypto::Cid ModelCid(uint8_t which) { return crypto::Cid::Of(ToBytes("abci-fuzz-model-" + std::to_string(which % 4))); }

Bytes Inputs(Cursor& c) {
  if (c.Small(8) == 0) return Bytes{c.Byte(), c.Byte()};  // not canonical tensors
  TensorMap m;
  m["x"] = Tensor::Scalar(static_cast<float>(c.Small(4)));
  return EncodeTensorMap(m);
}

std::vector<Hash32>& Receipts() {  // receipts answered through shape 3, newest last
  static std::vector<Hash32> ids;
  return ids;
}

std::string SettlementTx(AbciApp& app, Cursor& c) {
  const crypto::PrivateKey& key = Key(c.Byte());
  const auto [nonce, request_nonce, height] = app.WithApp([&](const chain::Application& a) {
    auto acct = a.GetAccount(key.address());
    return std::tuple<uint64_t, uint64_t, uint64_t>(acct.ok() ? acct->nonce : 0, acct.ok() ? acct->request_nonce : 0,
                                                     a.Info().height);
  });
  protocol::TxBody body;
  const std::string repo = "m" + std::to_string(c.Small(4));
  switch (c.Small(11)) {
    case 0:
      body = protocol::CreateRepoTx{repo, "", "", "", {}};
      break;
    case 1:
      body = protocol::PublishVersionTx{repo, 1, static_cast<uint32_t>(c.Small(8)), ModelCid(c.Byte()), c.Small(20),
                                        std::nullopt};
      break;
    case 2:
      body = protocol::RegisterNodeTx{1000 + c.Small(5000), static_cast<uint32_t>(c.Byte() & 0x16) | 0x10, "http://n"};
      break;
    case 3: {  // an async request
      protocol::InferenceRequest q;
      q.chain_id = kChainId;
      q.requester = key.address();
      q.model = ModelCid(c.Byte());
      q.mode = c.Small(2) == 0 ? protocol::Mode::kReplay : protocol::Mode::kVanilla;
      q.max_fee = c.Small(100);
      q.nonce = request_nonce + c.Small(3);
      q.deadline_height = height + c.Small(9);
      if (c.Small(4) == 0) q.node = Key(c.Byte()).address();
      const Bytes inputs = Inputs(c);
      auto decoded = DecodeTensorMap(inputs);
      q.input_hash = decoded.ok() && c.Small(8) != 0 ? HashTensorMap(*decoded) : Hash32{};
      body = protocol::RequestInferenceTx{{q, key.Sign(protocol::SigningDigest(q.Hash()))}, inputs};
      break;
    }
    case 4: {  // this key answers its oldest pending async request
      auto pending = app.WithApp([&](const chain::Application& a) { return a.PendingRequestsFor(key.address()); });
      if (!pending.ok() || pending->empty()) return {};
      const protocol::SignedRequest& sr = pending->front().request;
      protocol::Receipt r;
      r.chain_id = kChainId;
      r.request_hash = sr.request.Hash();
      r.model = sr.request.model;
      r.input_hash = sr.request.input_hash;
      r.output_hash = crypto::Sha256(Bytes{c.Byte()});
      r.mode = sr.request.mode;
      r.node = key.address();
      r.engine = "fuzz";
      r.fee = c.Small(30);
      const crypto::Signature sig = key.Sign(protocol::SigningDigest(r.Id()));
      Receipts().push_back(r.Id());
      body = protocol::SubmitResultTx{sr, r, protocol::Evidence{r.mode, Bytes(sig.begin(), sig.end())}};
      break;
    }
    case 5:
    case 6: {  // a challenge, or a vote, on a receipt answered earlier
      if (Receipts().empty()) return {};
      const Hash32 id = Receipts()[Receipts().size() - 1 - c.Small(std::min<size_t>(Receipts().size(), 4))];
      const Hash32 claim = crypto::Sha256(Bytes{c.Byte()});
      if (c.Small(2) == 0) body = protocol::ChallengeTx{id, claim, c.Small(2) == 0 ? Inputs(c) : Bytes{}};
      else body = protocol::ChallengeVoteTx{id, claim};
      break;
    }
    case 7: {  // conflict evidence: two outputs this key signed for one request
      protocol::Receipt a;
      a.chain_id = kChainId;
      a.request_hash = crypto::Sha256(Bytes{c.Byte()});
      a.model = ModelCid(c.Byte());
      a.mode = protocol::Mode::kVanilla;
      a.node = key.address();
      a.output_hash = crypto::Sha256(Bytes{1, c.Byte()});
      protocol::Receipt b = a;
      b.output_hash = crypto::Sha256(Bytes{2, c.Byte()});
      auto sign = [&](const protocol::Receipt& r) {
        const crypto::Signature s = key.Sign(protocol::SigningDigest(r.Id()));
        return protocol::Evidence{protocol::Mode::kVanilla, Bytes(s.begin(), s.end())};
      };
      body = protocol::ReportConflictTx{a, sign(a), b, sign(b)};
      break;
    }
    case 9: {  // a hub's pin announcement: mostly shape-3 model CIDs (published by case 1 or not)
      protocol::AnnouncePinsTx a;
      static const char* const kPeers[] = {"", "12D3KooWFuzzHubPeer0123456789", "QmFuzzHubPeerXyZ0123456789", "bad peer"};
      static const char* const kEndpoints[] = {"", "http://hub:8700", "https://hub.example", "ftp://hub"};
      a.ipfs_peer = kPeers[c.Small(4)];
      a.endpoint = kEndpoints[c.Small(4)];
      auto cid = [&] { return c.Small(8) == 0 ? crypto::Cid::Of(Bytes{c.Byte()}) : ModelCid(c.Byte()); };
      for (uint64_t n = c.Small(4); n > 0; --n) a.pin.push_back(cid());
      for (uint64_t n = c.Small(3); n > 0; --n) a.unpin.push_back(cid());
      a.retire = c.Small(6) == 0;
      if (a.retire && c.Small(2) == 0) a = protocol::AnnouncePinsTx{"", "", {}, {}, true};  // a clean retire
      body = std::move(a);
      break;
    }
    case 8:
      body = protocol::PostDataTx{"f" + std::to_string(c.Small(2)), Inputs(c), {Key(c.Byte()).address()}};
      break;
    default:
      body = protocol::CreateWorkflowTx{ModelCid(c.Byte()), c.Small(2) == 0 ? protocol::Mode::kReplay : protocol::Mode::kVanilla,
                                        "f" + std::to_string(c.Small(2)), 1 + c.Small(3), 1 + c.Small(4), c.Small(60), 0, {}};
      break;
  }
  protocol::Tx tx;
  tx.chain_id = kChainId;
  tx.from = key.address();
  tx.nonce = nonce;
  tx.max_tx_fee = 10'000'000;
  tx.body = std::move(body);
  const Bytes encoded = protocol::SignedTx::Sign(std::move(tx), key).Encode();
  return std::string(encoded.begin(), encoded.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static AbciApp* app = MakeApp();
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 4;
  ++data;
  --size;
  if (mode == 0) {
    for (const std::string& frame : SplitDelimited(data, size)) {
      abci::Request req;
      if (!req.ParseFromString(frame)) continue;
      (void)app->Handle(req);
    }
  } else if (mode == 1) {
    BlockCycle(*app, SplitDelimited(data, size));
  } else if (mode == 3) {
    // Up to 4 txs, one per key so their nonces do not collide within the block.
    Cursor c{data, size};
    std::vector<std::string> txs;
    for (int i = 0; i < 4 && c.pos < c.size; ++i) {
      std::string tx = SettlementTx(*app, c);
      if (!tx.empty()) txs.push_back(std::move(tx));
    }
    BlockCycle(*app, txs);
    // Hub records and pin indexes agree: a pin naming no hub, or a count off the index, aborts.
    app->WithApp([](const chain::Application& a) {
      auto hubs = a.ListHubs();
      if (!hubs.ok() || !a.ListReplication().ok()) std::abort();
      for (const chain::HubRecord& h : *hubs) {
        auto pins = a.HubPins(h.address);
        if (!pins.ok() || pins->size() != h.pins) std::abort();
      }
    });
  } else {
    size_t pos = 0;
    std::vector<std::string> txs{SignedTransfer(*app, data, size, pos)};
    txs.emplace_back(reinterpret_cast<const char*>(data + pos), size - pos);
    BlockCycle(*app, txs);
  }
  return 0;
}
