peft_test(test_safetensors peft_io)
