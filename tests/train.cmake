peft_test(test_methods_e2e peft_train)
# Runs the built peft binary too: build it first.
peft_test(test_run_settings peft_train)
if(TARGET test_run_settings)
  add_dependencies(test_run_settings peft_cli)
endif()
peft_test(test_stored_base_train peft_train)
