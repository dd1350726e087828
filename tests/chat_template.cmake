peft_test(test_chat_template peft_tokenizer)
# The CLI test runs the built peft binary: build it first.
peft_test(test_chat_template_cli peft_tokenizer)
if(TARGET test_chat_template_cli)
  add_dependencies(test_chat_template_cli peft_cli)
endif()
# Replays of what fuzzing found (fuzz/, docs/fuzzing.md); links every layer a
# fuzz target reads with.
peft_test(test_fuzz_regressions peft_data peft_model peft_search)
