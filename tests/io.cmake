peft_test(test_gguf peft_io)
peft_test(test_gguf_fill peft_io)
