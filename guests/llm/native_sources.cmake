# The LLM guest's sources that also build natively, for the test binary and
# the fuzzers (both read untrusted bytes). Absolute paths, so any CMake
# project can include this file.
set(LLM_GGUF_SOURCES ${CMAKE_CURRENT_LIST_DIR}/gguf.cpp)
set(LLM_TOKENIZER_SOURCES ${LLM_GGUF_SOURCES})
foreach(file unicode byte_unicode pretokenize tokenizer tokenizer_encode)
  list(APPEND LLM_TOKENIZER_SOURCES ${CMAKE_CURRENT_LIST_DIR}/${file}.cpp)
endforeach()
