peft_test(test_tokenizer_hf peft_tokenizer)
peft_test(test_tokenizer_hf_parts peft_tokenizer)
peft_test(test_tokenizer_encoding peft_tokenizer)
# Runs the built peft binary: build it first.
peft_test(test_tokenize_hf_cli peft_tokenizer)
if(TARGET test_tokenize_hf_cli)
  add_dependencies(test_tokenize_hf_cli peft_cli)
endif()
