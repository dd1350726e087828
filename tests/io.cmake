peft_test(test_gguf peft_io)
