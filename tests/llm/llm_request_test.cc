// LLM requests and answers as hashed data (docs/formats/llm.md): canonical encodings with
// golden vectors, decode refusals, the OpenAI parser's errors (with the param named), tool-call
// parsing, and tamper tests through the verifier (a flipped byte in the output text, the
// tokens or the receipt is refused).
//
// Golden vectors: the hex below was produced by this implementation when the format was
// written (docs/formats/llm.md, version 1) and checked by hand against the field table there.
// They pin the format: if one changes, the encoding changed, and that needs a new version
// byte, not a new golden value.
#include <random>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "llm/request.h"
#include "protocol/dev_keys.h"
#include "verify/verify.h"

namespace lucid::llm {
namespace {

LlmRequest Sample() {
  LlmRequest q;
  q.kind = RequestKind::kChat;
  q.model = "bafkreitest";
  ChatMessage sys{"system", "Be brief.", {}, "", ""};
  ChatMessage user{"user", "Weather in Paris?", {}, "", ""};
  ChatMessage call{"assistant", "", {{"call_1", "get_weather", R"({"city":"Paris"})"}}, "", ""};
  ChatMessage tool{"tool", "18C", {}, "call_1", "get_weather"};
  q.messages = {sys, user, call, tool};
  q.tools = {R"({"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}})"};
  q.sampling.temperature = 0.5f;
  q.sampling.top_k = 40;
  q.sampling.top_p = 0.9f;
  q.sampling.min_p = 0.05f;
  q.sampling.repeat_penalty = 1.1f;
  q.sampling.repeat_last_n = 64;
  q.sampling.seed = 42;
  q.max_tokens = 32;
  q.stop = {"\n\n"};
  return q;
}

// Golden: the canonical bytes of Sample(), its input hash, SampleOutput()'s llm_output bytes
// and the output hash (HashTensorMap of both output tensors).
constexpr char kGoldenRequestHex[] =
    "01010000000b6261666b72656974657374000000040000000673797374656d0000000942652062726965662e00000000"
    "00000000000000000000000475736572000000115765617468657220696e2050617269733f0000000000000000000000"
    "0000000009617373697374616e7400000000000000010000000663616c6c5f310000000b6765745f7765617468657200"
    "0000107b2263697479223a225061726973227d000000000000000000000004746f6f6c00000003313843000000000000"
    "000663616c6c5f310000000b6765745f776561746865720000000000000001000000547b2274797065223a2266756e63"
    "74696f6e222c2266756e6374696f6e223a7b226e616d65223a226765745f77656174686572222c22706172616d657465"
    "7273223a7b2274797065223a226f626a656374227d7d7d000000046175746f3f000000000000283f6666663d4ccccd3f"
    "8ccccd00000040000000000000002a0000002000000001000000020a0a";
constexpr char kGoldenInputHash[] = "127c3829ab91a0b2d744b8dd88163ba573e58b6159d2dd0bac763ba337f2ec17";
constexpr char kGoldenOutputHex[] =
    "01030000000d4c6574206d6520636865636b2e000000010000000863616c6c5f6162630000000b6765745f7765617468"
    "6572000000107b2263697479223a225061726973227d";
constexpr char kGoldenOutputHash[] = "da88ba212351f5b45dc809bf7d8770d0804794d9d3c707e360155ded028d5395";

TEST(LlmRequestTest, EncodeDecodeRoundTrip) {
  LlmRequest q = Sample();
  Bytes b = q.Encode();
  auto d = LlmRequest::Decode(b);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->Encode(), b);
  EXPECT_EQ(d->messages.size(), 4u);
  EXPECT_EQ(d->messages[2].tool_calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(d->sampling.seed, 42u);
  EXPECT_EQ(d->sampling.top_p, 0.9f);
  auto fi = LlmRequest::FromInputs(q.ToInputs());
  ASSERT_TRUE(fi.ok());
  EXPECT_EQ(fi->Encode(), b);
}

TEST(LlmRequestTest, GoldenVector) {
  EXPECT_EQ(ToHex(Sample().Encode()), kGoldenRequestHex);
  EXPECT_EQ(ToHex(Sample().InputHash()), kGoldenInputHash);
}

TEST(LlmRequestTest, EveryFieldChangesTheHash) {
  const Hash32 base = Sample().InputHash();
  std::vector<std::function<void(LlmRequest&)>> edits = {
      [](LlmRequest& q) { q.model = "bafkreiother"; },
      [](LlmRequest& q) { q.messages[1].content += "!"; },
      [](LlmRequest& q) { q.messages[1].role = "system"; },
      [](LlmRequest& q) { q.messages[2].tool_calls[0].arguments = R"({"city":"Lyon"})"; },
      [](LlmRequest& q) { q.messages[3].tool_call_id = "call_2"; },
      [](LlmRequest& q) { q.tools.clear(); },
      [](LlmRequest& q) { q.tool_choice = "none"; },
      [](LlmRequest& q) { q.sampling.temperature = 0.6f; },
      [](LlmRequest& q) { q.sampling.top_k = 41; },
      [](LlmRequest& q) { q.sampling.top_p = 0.95f; },
      [](LlmRequest& q) { q.sampling.min_p = 0.0f; },
      [](LlmRequest& q) { q.sampling.repeat_penalty = 1.0f; },
      [](LlmRequest& q) { q.sampling.repeat_last_n = -1; },
      [](LlmRequest& q) { q.sampling.seed = 43; },
      [](LlmRequest& q) { q.max_tokens = 33; },
      [](LlmRequest& q) { q.stop.push_back("END"); },
      [](LlmRequest& q) { q.kind = RequestKind::kCompletion; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    LlmRequest q = Sample();
    edits[i](q);
    EXPECT_NE(q.InputHash(), base) << "edit " << i;
  }
}

TEST(LlmRequestTest, DecodeRefusesNonCanonicalAndBadValues) {
  Bytes b = Sample().Encode();
  Bytes trailing = b;
  trailing.push_back(0);
  EXPECT_FALSE(LlmRequest::Decode(trailing).ok());
  for (size_t cut = 0; cut < b.size(); ++cut)
    EXPECT_FALSE(LlmRequest::Decode(ByteView(b.data(), cut)).ok()) << cut;
  Bytes bad_version = b;
  bad_version[0] = 2;
  EXPECT_FALSE(LlmRequest::Decode(bad_version).ok());
  LlmRequest q = Sample();
  q.sampling.top_p = 0;
  EXPECT_FALSE(LlmRequest::Decode(q.Encode()).ok());
  q = Sample();
  q.sampling.temperature = -1;
  EXPECT_FALSE(LlmRequest::Decode(q.Encode()).ok());
  q = Sample();
  q.tool_choice = "required";
  EXPECT_FALSE(LlmRequest::Decode(q.Encode()).ok());
  q = Sample();
  q.stop = {""};
  EXPECT_FALSE(LlmRequest::Decode(q.Encode()).ok());
  q = Sample();
  q.stop = {"a", "b", "c", "d", "e"};
  EXPECT_FALSE(LlmRequest::Decode(q.Encode()).ok());
  q = Sample();
  q.prompt = "also a prompt";
  EXPECT_FALSE(LlmRequest::Decode(q.Encode()).ok());
  // -0.0 encodes as +0.0: one encoding per value.
  q = Sample();
  q.sampling.min_p = -0.0f;
  LlmRequest p = Sample();
  p.sampling.min_p = 0.0f;
  EXPECT_EQ(q.Encode(), p.Encode());
}

LlmOutput SampleOutput() {
  LlmOutput o;
  o.tokens = {28, 1000, 49151, 2};
  o.finish = OutputFinish::kToolCalls;
  o.text = "Let me check.";
  o.tool_calls = {{"call_abc", "get_weather", R"({"city":"Paris"})"}};
  return o;
}

TEST(LlmOutputTest, RoundTripAndGolden) {
  LlmOutput o = SampleOutput();
  auto back = LlmOutput::FromOutputs(o.ToOutputs());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->tokens, o.tokens);
  EXPECT_EQ(back->text, o.text);
  EXPECT_EQ(back->finish, o.finish);
  ASSERT_EQ(back->tool_calls.size(), 1u);
  EXPECT_EQ(back->tool_calls[0].arguments, o.tool_calls[0].arguments);
  EXPECT_EQ(ToHex(o.EncodeOutput()), kGoldenOutputHex);
  EXPECT_EQ(ToHex(HashTensorMap(o.ToOutputs())), kGoldenOutputHash);
}

TEST(LlmOutputTest, TamperedOutputsAreRefusedByTheVerifier) {
  const crypto::PrivateKey node = protocol::DevKey(2);
  LlmOutput o = SampleOutput();
  protocol::Receipt r;
  r.chain_id = "test";
  r.output_hash = HashTensorMap(o.ToOutputs());
  r.input_hash = Sample().InputHash();
  r.node = node.address();
  r.engine = std::string(kLlmEngineId);
  ASSERT_TRUE(verify::VerifyOutputs(r, o.ToOutputs()).ok());
  // A flipped byte of the text, of a token id, of a tool call.
  for (const std::string name : {"llm_output", "tokens"}) {
    TensorMap t = o.ToOutputs();
    Bytes& bytes = t.at(name).mutable_bytes();
    for (size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] ^= 1;
      EXPECT_FALSE(verify::VerifyOutputs(r, t).ok()) << name << " byte " << i;
      bytes[i] ^= 1;
    }
  }
  // A flipped byte of the receipt: its id changes, so the node's signature does not verify.
  protocol::Evidence ev = verify::MakeVanillaEvidence(r, node);
  ASSERT_TRUE(verify::VerifyEvidence(r, ev).ok());
  Bytes enc = r.Encode();
  for (size_t i = 0; i < enc.size(); i += 7) {
    Bytes bad = enc;
    bad[i] ^= 0x01;
    auto d = protocol::Receipt::Decode(bad);
    if (!d.ok()) continue;  // refused by the decoder: also a refusal
    EXPECT_FALSE(verify::VerifyEvidence(*d, ev).ok()) << "receipt byte " << i;
  }
}

bool Parse(const std::string& body, bool chat, LlmRequest* q, ApiError* e) {
  return ParseOpenAiRequest(body, chat, "bafkreitest", q, e);
}

TEST(OpenAiParseTest, ChatWithToolsAndSampling) {
  LlmRequest q;
  ApiError e;
  ASSERT_TRUE(Parse(R"({"model":"m@1.0","messages":[{"role":"user","content":"hi"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
       "function":{"name":"f","arguments":"{ \"a\" : 1 }"}}]},
      {"role":"tool","tool_call_id":"c1","content":"ok"}],
      "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"}}}}}],
      "temperature":0,"seed":7,"max_tokens":12,"stop":["x","yy"],"top_k":5})",
                    true, &q, &e))
      << e.status.ToString();
  EXPECT_EQ(q.messages.size(), 3u);
  EXPECT_EQ(q.messages[1].tool_calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(q.tools[0], R"({"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"}}}}})");
  EXPECT_EQ(q.sampling.temperature, 0.0f);
  EXPECT_EQ(q.sampling.seed, 7u);
  EXPECT_EQ(q.sampling.top_k, 5);
  EXPECT_EQ(q.max_tokens, 12);
  EXPECT_EQ(q.stop.size(), 2u);
}

TEST(OpenAiParseTest, CallerMistakesNameTheParam) {
  struct Case {
    const char* body;
    bool chat;
    const char* param;
  };
  const Case cases[] = {
      {"{not json", true, ""},
      {R"([1,2])", true, ""},
      {R"({"messages":[]})", true, "messages"},
      {R"({"messages":[{"role":"wizard","content":"x"}]})", true, "messages[0].role"},
      {R"({"messages":[{"role":"user","content":5}]})", true, "messages[0].content"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":-1})", true, "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", true, "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_p":0})", true, "top_p"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_p":1.5})", true, "top_p"},
      {R"({"messages":[{"role":"user","content":"x"}],"min_p":2})", true, "min_p"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_k":-3})", true, "top_k"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":-1})", true, "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":2})", true, "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", true, "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})", true, "tools[0]"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":"nope"}}]})",
       true, "tools[0].function.parameters"},
      {R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"required"})", true, "tool_choice"},
      {R"({"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{bad"}}]}]})", true,
       "messages[0].tool_calls"},
      {R"({"prompt":5})", false, "prompt"},
  };
  for (const Case& c : cases) {
    LlmRequest q;
    ApiError e;
    EXPECT_FALSE(Parse(c.body, c.chat, &q, &e)) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.status.ToString();
    EXPECT_EQ(e.status.code(), Code::kInvalidArgument) << c.body;
  }
}

TEST(OpenAiParseTest, CanonicalJsonRefusesDuplicates) {
  EXPECT_FALSE(CanonicalJson(R"({"a":1,"a":2})", "x").ok());
  EXPECT_FALSE(CanonicalJson(R"({"a":{"b":1,"b":1}})", "x").ok());
  EXPECT_EQ(*CanonicalJson(R"({ "b" : [1, 2.5, "é"], "a": null })", "x"), R"({"b":[1,2.5,"é"],"a":null})");
}

TEST(ToolCallParseTest, ChatmlHermesAndLlama3) {
  Hash32 h{};
  std::string text = "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
  std::vector<ToolCall> calls;
  ParseToolCalls(ChatTemplate::Chatml(), h, &text, &calls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "get_weather");
  EXPECT_EQ(calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(calls[0].id.substr(0, 5), "call_");
  EXPECT_EQ(calls[0].id.size(), 5u + 24u);
  EXPECT_EQ(text, "Sure.");
  // Two calls, ids distinct, missing arguments → {}.
  text = "<tool_call>{\"name\":\"a\",\"arguments\":{}}</tool_call><tool_call>{\"name\":\"b\"}</tool_call>";
  calls.clear();
  ParseToolCalls(ChatTemplate::Chatml(), h, &text, &calls);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_NE(calls[0].id, calls[1].id);
  EXPECT_EQ(calls[1].arguments, "{}");
  // Not JSON: stays text.
  text = "<tool_call>oops</tool_call>";
  calls.clear();
  ParseToolCalls(ChatTemplate::Chatml(), h, &text, &calls);
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(text, "<tool_call>oops</tool_call>");
  text = R"({"name": "f", "parameters": {"x": 1}})";
  ParseToolCalls(ChatTemplate::Llama3(), h, &text, &calls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments, R"({"x":1})");
  EXPECT_EQ(text, "");
}

// Bad input never crashes: random byte flips, insertions and truncations of a valid OpenAI
// body and of canonical request/output bytes are parsed or refused, nothing else.
TEST(RobustnessTest, MutatedInputsAreParsedOrRefused) {
  const std::string body = R"({"model":"m@1.0","messages":[{"role":"user","content":"hi"},{"role":"assistant",
    "tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}]},{"role":"tool","content":"x"}],
    "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"stop":["a","b"],
    "temperature":0.5,"top_p":0.9,"top_k":3,"seed":9,"max_tokens":4})";
  const Bytes req = Sample().Encode();
  const Bytes out = SampleOutput().EncodeOutput();
  std::mt19937 rng(1234);
  size_t parsed = 0, decoded = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string b = body;
    Bytes r = req, o = out;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const uint8_t v = static_cast<uint8_t>(rng());
      switch (rng() % 3) {
        case 0:
          b[rng() % b.size()] = static_cast<char>(v);
          r[rng() % r.size()] = v;
          o[rng() % o.size()] = v;
          break;
        case 1:
          b.insert(b.begin() + static_cast<long>(rng() % b.size()), static_cast<char>(v));
          r.insert(r.begin() + static_cast<long>(rng() % r.size()), v);
          break;
        default:
          b.resize(rng() % b.size() + 1);
          r.resize(rng() % r.size() + 1);
          o.resize(rng() % o.size() + 1);
      }
    }
    LlmRequest q;
    ApiError err;
    if (ParseOpenAiRequest(b, iter % 2 == 0, "bafkreitest", &q, &err)) {
      ++parsed;
      auto back = LlmRequest::Decode(q.max_tokens < 0 ? Bytes{} : q.Encode());
      if (q.max_tokens >= 0) {
        EXPECT_TRUE(back.ok()) << back.status().ToString();
      }
    } else {
      EXPECT_EQ(err.status.code(), Code::kInvalidArgument) << err.status.ToString();
    }
    auto d = LlmRequest::Decode(r);
    if (d.ok()) {
      ++decoded;
      EXPECT_EQ(d->Encode(), r);
    }
    TensorMap t = SampleOutput().ToOutputs();
    t.at("llm_output") = *Tensor::FromBytes(DType::kUint8, {static_cast<int64_t>(o.size())}, o);
    (void)LlmOutput::FromOutputs(t);
  }
  std::printf("mutations: %zu of 20000 OpenAI bodies still parsed, %zu canonical requests still decoded\n", parsed,
              decoded);
}

}  // namespace
}  // namespace lucid::llm
