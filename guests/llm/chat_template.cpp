#include "chat_template.h"

#include <string_view>

namespace llm {
namespace {

// Leading and trailing whitespace removed, as the templates' | trim and .strip() do.
std::string_view trim(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// <|im_start|>{role}\n{content}<|im_end|>\n ...; prompt: <|im_start|>assistant\n
std::string chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// <|start_header_id|>{role}<|end_header_id|>\n\n{content | trim}<|eot_id|> ...
// (the official template's leading <|begin_of_text|> is the BOS the caller adds).
std::string llama3(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
    out += trim(m.content);
    out += "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Llama 2 chat: [INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] ...
// The system prompt folds into the first user turn; the model answers after [/INST],
// so there is no separate generation header.
std::string llama2(const std::vector<ChatMessage>& messages) {
  std::string out;
  std::string system;
  bool first_user = true;
  size_t i = 0;
  if (!messages.empty() && messages[0].role == "system") {
    system = std::string(trim(messages[0].content));
    i = 1;
  }
  for (; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "assistant") {
      out += " ";
      out += trim(m.content);
      out += " </s>";
      continue;
    }
    // A user turn (any role other than assistant is treated as the user's).
    if (!first_user) out += "<s>";
    out += "[INST] ";
    if (first_user && !system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
    out += trim(m.content);
    out += " [/INST]";
    first_user = false;
  }
  return out;
}

}  // namespace

const char* chat_family_name(ChatFamily family) {
  switch (family) {
    case ChatFamily::ChatFamily_chatml: return "chatml";
    case ChatFamily::ChatFamily_llama3: return "llama3";
    case ChatFamily::ChatFamily_llama2: return "llama2";
  }
  return "unknown";
}

Result<ChatFamily> chat_family_from_gguf(const GgufFile& gguf) {
  if (gguf.find("tokenizer.chat_template") != nullptr) {
    auto text = gguf.get_string("tokenizer.chat_template");
    if (!text.is_ok()) return Status::error("[chat_template] " + text.message());
    std::string_view t = text.value();
    if (t.find("<|im_start|>") != std::string_view::npos) return ChatFamily::ChatFamily_chatml;
    if (t.find("<|start_header_id|>") != std::string_view::npos) return ChatFamily::ChatFamily_llama3;
    if (t.find("[INST]") != std::string_view::npos) return ChatFamily::ChatFamily_llama2;
    return Status::error("[chat_template] tokenizer.chat_template has none of the markers of a known format "
                         "(<|im_start|>, <|start_header_id|>, [INST])");
  }
  // No template: the tokenizer family's usual format.
  auto model = gguf.get_string("tokenizer.ggml.model");
  if (!model.is_ok()) return Status::error("[chat_template] no tokenizer.chat_template, and " + model.message());
  if (model.value() == "llama") return ChatFamily::ChatFamily_llama2;
  if (model.value() == "gpt2" && gguf.find("tokenizer.ggml.pre") != nullptr) {
    auto pre = gguf.get_string("tokenizer.ggml.pre");
    if (pre.is_ok() && (pre.value() == "smollm" || pre.value() == "qwen2")) return ChatFamily::ChatFamily_chatml;
    if (pre.is_ok() && (pre.value() == "llama-bpe" || pre.value() == "llama3")) return ChatFamily::ChatFamily_llama3;
  }
  return Status::error("[chat_template] no tokenizer.chat_template and no known default for tokenizer.ggml.model = \"" +
                       std::string(model.value()) + "\"");
}

std::string apply_chat_template(ChatFamily family, const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  switch (family) {
    case ChatFamily::ChatFamily_chatml: return chatml(messages, add_generation_prompt);
    case ChatFamily::ChatFamily_llama3: return llama3(messages, add_generation_prompt);
    case ChatFamily::ChatFamily_llama2: return llama2(messages);
  }
  return {};
}

}  // namespace llm
