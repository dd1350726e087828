peft_test(test_model_grad peft_model)
