# Interop checked by the other programs: llama.cpp's tools from ../shared run
# against what the CLI writes, so the CLI is built first.
peft_test(test_llama_cpp_interop peft_tokenizer nlohmann_json::nlohmann_json)
if(TARGET test_llama_cpp_interop)
  add_dependencies(test_llama_cpp_interop peft_cli)
endif()
