# The LLM guest's sources that also build natively, for the test binary and
# the fuzzers (both read untrusted bytes). Absolute paths, so any CMake
# project can include this file.
set(LLM_GGUF_SOURCES ${CMAKE_CURRENT_LIST_DIR}/gguf.cpp)
set(LLM_TOKENIZER_SOURCES ${LLM_GGUF_SOURCES})
foreach(file unicode byte_unicode pretokenize tokenizer tokenizer_encode)
  list(APPEND LLM_TOKENIZER_SOURCES ${CMAKE_CURRENT_LIST_DIR}/${file}.cpp)
endforeach()
# Session files (safetensors): untrusted bytes, so tested and fuzzed natively.
set(LLM_SESSION_SOURCES ${CMAKE_CURRENT_LIST_DIR}/safetensors.cpp ${CMAKE_CURRENT_LIST_DIR}/session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sha256.cpp)
# The engine's SHA-256, which sha256.cpp calls: a target without samepage_core needs it too.
set(LLM_SHA256_ENGINE_SOURCE ${CMAKE_CURRENT_LIST_DIR}/../../src/engine/sha256.cpp)
