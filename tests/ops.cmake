peft_test(test_ops_basic peft_ops)
peft_test(test_rope peft_ops)
peft_test(test_adamw peft_ops)
peft_test(test_attention peft_ops)
