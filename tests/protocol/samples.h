// Fixed sample values of every protocol type, shared by the protocol tests.
#pragma once

#include <string>
#include <vector>

#include "crypto/hash.h"
#include "protocol/types.h"

namespace lucid::protocol::testing {

inline crypto::PrivateKey RequesterKey() { return crypto::PrivateKey::FromSeed("requester"); }
inline crypto::PrivateKey NodeKey() { return crypto::PrivateKey::FromSeed("node"); }

inline Hash32 H(std::string_view s) { return crypto::Sha256(AsBytes(s)); }

inline InferenceRequest SampleRequest() {
  InferenceRequest q;
  q.chain_id = "lucid-test";
  q.requester = RequesterKey().address();
  q.model.digest = H("model");
  q.mode = Mode::kVanilla;
  q.input_hash = H("input");
  q.params = {0xde, 0xad, 0xbe, 0xef};
  q.seed = 0x0102030405060708ull;
  q.max_fee = 5000;
  q.nonce = 3;
  q.deadline_height = 99;
  q.node = NodeKey().address();
  return q;
}

inline SignedRequest SampleSignedRequest() {
  SignedRequest s;
  s.request = SampleRequest();
  s.signature = RequesterKey().Sign(SigningDigest(s.request.Hash()));
  return s;
}

inline Receipt SampleReceipt() {
  Receipt c;
  c.chain_id = "lucid-test";
  c.request_hash = SampleRequest().Hash();
  c.model.digest = H("model");
  c.input_hash = H("input");
  c.output_hash = H("output");
  c.mode = Mode::kVanilla;
  c.node = NodeKey().address();
  c.engine = "lucid-onnx/f32-canonical/1";
  c.fee = 1200;
  return c;
}

inline Evidence SampleEvidence() {
  const Signature sig = NodeKey().Sign(SigningDigest(SampleReceipt().Id()));
  return Evidence{Mode::kVanilla, Bytes(sig.begin(), sig.end())};
}

inline std::vector<TxBody> SampleBodies() {
  TransferTx transfer{NodeKey().address(), 77};
  CreateRepoTx repo{"digits-mlp", "# Digits\nA small MLP.", "image-classification", "MIT", {"onnx", "mnist"}};
  PublishVersionTx publish{"digits-mlp", 1, 2, Cid{H("manifest")}, 10, H("zkml commitment")};
  RegisterNodeTx node{1000000, ModeBit(Mode::kVanilla) | ModeBit(Mode::kTee), "http://127.0.0.1:8700"};
  SubmitResultTx submit{SampleSignedRequest(), SampleReceipt(), SampleEvidence()};
  // Appended after the original five so their indices stay put.
  RequestInferenceTx request{SampleSignedRequest(), Bytes{1, 2, 3, 4}};
  Receipt second = SampleReceipt();
  second.output_hash = H("other output");
  ReportConflictTx conflict{SampleReceipt(), SampleEvidence(), second, SampleEvidence()};
  ChallengeTx challenge{H("receipt"), H("claimed"), Bytes{4, 2}};
  ChallengeVoteTx vote{H("receipt"), H("voted")};
  CreateWorkflowTx workflow{Cid{H("manifest")}, Mode::kReplay, "prices", 5, 12, 300, 9, Bytes{7}};
  PostDataTx post{"prices", Bytes{5, 6}, {NodeKey().address()}};
  AnnouncePinsTx pins{"12D3KooWSamplePeer0123", "http://hub:8700", {Cid{H("manifest")}}, {Cid{H("old")}}, false};
  return {transfer, repo, publish, node, submit, request, conflict, challenge, vote, workflow, post, pins};
}

inline Tx SampleTx(TxBody body) {
  Tx t;
  t.chain_id = "lucid-test";
  t.from = RequesterKey().address();
  t.nonce = 12;
  t.max_tx_fee = 300;
  t.body = std::move(body);
  return t;
}

inline BlockHeader SampleHeader() {
  BlockHeader h;
  h.chain_id = "lucid-test";
  h.height = 42;
  h.time_ms = 1700000000123ull;
  h.prev_hash = H("prev");
  h.txs_root = H("txs");
  h.receipts_root = H("receipts");
  h.tx_count = 3;
  h.receipt_count = 2;
  h.app_hash = H("app");
  h.proposer = NodeKey().address();
  return h;
}

inline SignedHeader SampleSignedHeader() {
  SignedHeader s;
  s.header = SampleHeader();
  s.signature = NodeKey().Sign(SigningDigest(s.header.Hash()));
  return s;
}

}  // namespace lucid::protocol::testing
