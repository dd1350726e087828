# Interop checked by the other programs: llama.cpp's tools from ../shared run
# against what the CLI writes, so the CLI is built first.
peft_test(test_llama_cpp_interop peft_tokenizer nlohmann_json::nlohmann_json)
if(TARGET test_llama_cpp_interop)
  add_dependencies(test_llama_cpp_interop peft_cli)
endif()
# What `peft train` writes against hand-written goldens of PEFT's format.
peft_test(test_peft_format nlohmann_json::nlohmann_json)
if(TARGET test_peft_format)
  add_dependencies(test_peft_format peft_cli)
endif()
# The perplexity protocols of src/train/perplexity.h, in the library.
peft_test(test_perplexity peft_train)
peft_test(test_stored_interop peft_model)
if(TARGET test_stored_interop)
  target_link_libraries(test_stored_interop PRIVATE nlohmann_json::nlohmann_json)
  add_dependencies(test_stored_interop peft_cli)
endif()
# Greedy text from a Q8_0 file: int8 decode products against f32 ones and llama.cpp.
peft_test(test_quant_decode peft_io)
if(TARGET test_quant_decode)
  target_link_libraries(test_quant_decode PRIVATE nlohmann_json::nlohmann_json)
  add_dependencies(test_quant_decode peft_cli)
endif()
