# CLI tests run the built peft binary: build it before them.
peft_test(test_golden peft_core nlohmann_json::nlohmann_json)
if(TARGET test_golden)
  add_dependencies(test_golden peft_cli)
endif()
peft_test(test_cli_e2e peft_io nlohmann_json::nlohmann_json)
if(TARGET test_cli_e2e)
  add_dependencies(test_cli_e2e peft_cli)
endif()
