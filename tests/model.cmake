peft_test(test_model_grad peft_model)
peft_test(test_bert_grad peft_model peft_adapters)
peft_test(test_bert_load peft_model)
peft_test(test_decode peft_model)
