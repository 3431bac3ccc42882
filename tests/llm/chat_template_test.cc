// Chat templates: recognition from the Jinja text, ChatML and Llama-3 rendering, tools.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "llm/chat_template.h"

namespace lucid::llm {
namespace {

TEST(ChatTemplate, RecognisesAndRefuses) {
  auto c = ChatTemplate::FromJinja("{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'}}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->format(), ChatFormat::kChatml);
  EXPECT_EQ(c->default_system(), "");
  auto l = ChatTemplate::FromJinja("{{ bos_token }}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}<|eot_id|>");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->format(), ChatFormat::kLlama3);
  auto u = ChatTemplate::FromJinja("{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), Code::kUnimplemented);
  EXPECT_NE(u.status().message().find("[INST]"), std::string::npos);
  EXPECT_EQ(ChatTemplate::FromJinja("").status().code(), Code::kUnimplemented);
}

TEST(ChatTemplate, ChatmlDefaultSystem) {
  auto c = ChatTemplate::FromJinja(
      "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are Bob.<|im_end|>\\n' }}"
      "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->default_system(), "You are Bob.");
  auto r = c->Render({{"user", "Hi", {}, "", ""}}, {}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "<|im_start|>system\nYou are Bob.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  auto r2 = c->Render({{"system", "S", {}, "", ""}, {"user", "Hi", {}, "", ""}}, {}, false);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, ChatmlTools) {
  auto c = ChatTemplate::Chatml("");
  std::vector<std::string> tools = {
      R"({"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}})"};
  std::vector<ChatMessage> msgs = {
      {"user", "Weather in Paris?", {}, "", ""},
      {"assistant", "", {{"call_1", "get_weather", R"({"city":"Paris"})"}}, "", ""},
      {"tool", "{\"temp\": 21}", {}, "call_1", "get_weather"},
  };
  auto r = c.Render(msgs, tools, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r,
            "<|im_start|>system\n\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", "
            "\"properties\": {\"city\": {\"type\": \"string\"}}}}}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments within "
            "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
            "<args-json-object>}\n</tool_call><|im_end|>\n"
            "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
            "</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, Llama3) {
  auto l = ChatTemplate::Llama3();
  auto r = l.Render({{"system", " Be brief. ", {}, "", ""}, {"user", "Hi\n", {}, "", ""}}, {}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  std::vector<ChatMessage> msgs = {
      {"user", "Weather?", {}, "", ""},
      {"assistant", "", {{"c", "w", R"({"city":"Oslo"})"}}, "", ""},
      {"tool", "cold", {}, "c", ""},
  };
  auto t = l.Render(msgs, {R"({"type":"function","function":{"name":"w"}})"}, false);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_NE(t->find("Environment: ipython\n"), std::string::npos);
  EXPECT_NE(t->find("{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"w\"\n    }\n}\n\nWeather?"),
            std::string::npos) << *t;
  EXPECT_NE(t->find("{\"name\": \"w\", \"parameters\": {\"city\": \"Oslo\"}}<|eot_id|>"), std::string::npos);
  EXPECT_NE(t->find("<|start_header_id|>ipython<|end_header_id|>\n\ncold<|eot_id|>"), std::string::npos);
}

TEST(ChatTemplate, BadInput) {
  auto c = ChatTemplate::Chatml();
  EXPECT_EQ(c.Render({{"wizard", "x", {}, "", ""}}, {}, true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.Render({{"user", "x", {}, "", ""}}, {"{not json"}, true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.Render({{"tool", "x", {}, "id", ""}}, {}, true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.Render({{"assistant", "", {{"i", "f", "[1,"}}, "", ""}}, {}, true).status().code(),
            Code::kInvalidArgument);
}

TEST(ChatTemplate, ParseAssistantToolCalls) {
  auto c = ChatTemplate::Chatml();
  auto p = c.ParseAssistant("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].id, "call_0");
  EXPECT_EQ(p.tool_calls[0].name, "get_weather");
  EXPECT_EQ(p.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
  EXPECT_EQ(p.content, "Let me check.");
  // A list in one block (SmolLM2 writes this), then a second block.
  p = c.ParseAssistant("<tool_call>[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\"}]</tool_call>"
                       "<tool_call>{\"name\": \"c\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call>");
  ASSERT_EQ(p.tool_calls.size(), 3u);
  EXPECT_EQ(p.tool_calls[1].name, "b");
  EXPECT_EQ(p.tool_calls[1].arguments, "{}");
  EXPECT_EQ(p.tool_calls[2].id, "call_2");
  EXPECT_EQ(p.tool_calls[2].arguments, "{\"x\": 1}");
  EXPECT_EQ(p.content, "");
  // Broken JSON, no name, unterminated: plain content.
  for (const char* text : {"<tool_call>{\"name\": </tool_call>", "<tool_call>{\"x\": 1}</tool_call>",
                           "<tool_call>{\"name\": \"a\"}", "just text"}) {
    p = c.ParseAssistant(text);
    EXPECT_TRUE(p.tool_calls.empty()) << text;
    EXPECT_EQ(p.content, text);
  }
  auto l = ChatTemplate::Llama3();
  p = l.ParseAssistant(" {\"name\": \"w\", \"parameters\": {\"city\": \"Oslo\"}} ");
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].arguments, "{\"city\":\"Oslo\"}");
  p = l.ParseAssistant("{\"temperature\": 3}");
  EXPECT_TRUE(p.tool_calls.empty());
  EXPECT_EQ(p.content, "{\"temperature\": 3}");
}

// Prompts Jinja2 rendered from Meta's Llama-3 template (tests/data/llm/chat_templates.json,
// made by tests/llm/make_tokenizer_goldens.py): recognised from the same text, same prompt.
TEST(ChatTemplate, Llama3MatchesJinja) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/llm/chat_templates.json", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = nlohmann::json::parse(ss.str());
  auto t = ChatTemplate::FromJinja(doc["llama3"]["jinja"].get<std::string>());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->format(), ChatFormat::kLlama3);
  int n = 0;
  for (const auto& r : doc["llama3"]["renders"]) {
    std::vector<ChatMessage> msgs;
    for (const auto& m : r["messages"]) msgs.push_back({m["role"], m["content"], {}, "", ""});
    auto p = t->Render(msgs, {}, true);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(*p, r["prompt"].get<std::string>()) << r["name"];
    ++n;
  }
  EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace lucid::llm
