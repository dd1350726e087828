peft_test(test_hf_model peft_train)
if(TARGET test_hf_model)
  add_dependencies(test_hf_model peft_cli)
endif()
