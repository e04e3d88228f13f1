// Chat prompt formats, written against the formats' documented shapes, and the
// choice of family from GGUF metadata.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat_template.h"
#include "gguf_kv_builder.h"

namespace {

using llm::ChatFamily;
using llm::ChatMessage;
using samepage::test::GgufKvBuilder;

const std::vector<ChatMessage> kChat = {
    {"system", "Be brief."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "2+2?"}};

TEST(TokenizerChatTemplate, ChatML) {
  EXPECT_EQ(llm::apply_chat_template(ChatFamily::ChatFamily_chatml, kChat, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nHi!<|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n"
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(llm::apply_chat_template(ChatFamily::ChatFamily_chatml, {{"user", "x"}}, false),
            "<|im_start|>user\nx<|im_end|>\n");
}

TEST(TokenizerChatTemplate, Llama3) {
  EXPECT_EQ(llm::apply_chat_template(ChatFamily::ChatFamily_llama3, kChat, true),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // Content is trimmed, as the template's | trim does.
  EXPECT_EQ(llm::apply_chat_template(ChatFamily::ChatFamily_llama3, {{"user", "  x \n"}}, false),
            "<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>");
}

TEST(TokenizerChatTemplate, Llama2) {
  EXPECT_EQ(llm::apply_chat_template(ChatFamily::ChatFamily_llama2, kChat, true),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] 2+2? [/INST]");
  EXPECT_EQ(llm::apply_chat_template(ChatFamily::ChatFamily_llama2, {{"user", "x"}}, true), "[INST] x [/INST]");
}

llm::Result<ChatFamily> family_of(const std::vector<uint8_t>& bytes) {
  auto gguf = llm::GgufFile::parse(bytes.data(), bytes.size());
  if (!gguf.is_ok()) return gguf.status();
  return llm::chat_family_from_gguf(gguf.value());
}

TEST(TokenizerChatTemplate, FamilyFromMetadata) {
  auto with_template = [](const std::string& t) {
    return GgufKvBuilder().str("tokenizer.ggml.model", "gpt2").str("tokenizer.chat_template", t).bytes();
  };
  EXPECT_EQ(family_of(with_template("{{'<|im_start|>' + message['role']}}")).value(), ChatFamily::ChatFamily_chatml);
  EXPECT_EQ(family_of(with_template("{{'<|start_header_id|>' + role}}")).value(), ChatFamily::ChatFamily_llama3);
  EXPECT_EQ(family_of(with_template("{{ bos_token + '[INST] ' }}")).value(), ChatFamily::ChatFamily_llama2);
  auto unknown = family_of(with_template("{{ '<start_of_turn>' }}"));
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.message().find("[chat_template]"), std::string::npos) << unknown.message();
  // No template: the tokenizer family decides.
  auto pre = [](const std::string& model, const std::string& p) {
    return GgufKvBuilder().str("tokenizer.ggml.model", model).str("tokenizer.ggml.pre", p).bytes();
  };
  EXPECT_EQ(family_of(pre("gpt2", "smollm")).value(), ChatFamily::ChatFamily_chatml);
  EXPECT_EQ(family_of(pre("gpt2", "qwen2")).value(), ChatFamily::ChatFamily_chatml);
  EXPECT_EQ(family_of(pre("gpt2", "llama-bpe")).value(), ChatFamily::ChatFamily_llama3);
  EXPECT_EQ(family_of(GgufKvBuilder().str("tokenizer.ggml.model", "llama").bytes()).value(),
            ChatFamily::ChatFamily_llama2);
  EXPECT_FALSE(family_of(pre("gpt2", "falcon")).is_ok());
  EXPECT_FALSE(family_of(GgufKvBuilder().bytes()).is_ok());
}

}  // namespace
