peft_test(test_dtype peft_core)
