peft_test(test_safetensors peft_io)
peft_test(test_hf_config peft_model)
