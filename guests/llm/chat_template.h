// Prompt formats for the chat families we run. The GGUF's Jinja template
// (tokenizer.chat_template) only picks the family: we write each format out
// rather than interpret Jinja in the guest.
#pragma once

#include <string>
#include <vector>

#include "gguf.h"
#include "status.h"

namespace llm {

enum class ChatFamily { ChatFamily_chatml, ChatFamily_llama3, ChatFamily_llama2 };
struct ChatMessage { std::string role; std::string content; };  // "system" | "user" | "assistant"

// Chosen from tokenizer.chat_template (the Jinja text: markers "<|im_start|>",
// "<|start_header_id|>", "[INST]"), else from tokenizer.ggml.pre / model; error when none fits.
Result<ChatFamily> chat_family_from_gguf(const GgufFile& gguf);
// The prompt text for messages (then encode with parse_special=true); add_generation_prompt
// appends the assistant header. The text never starts with BOS: the caller adds it
// when Tokenizer::add_bos() says so. Llama 2 opens each later user turn with "<s>".
std::string apply_chat_template(ChatFamily family, const std::vector<ChatMessage>& messages, bool add_generation_prompt);
const char* chat_family_name(ChatFamily family);

}  // namespace llm
