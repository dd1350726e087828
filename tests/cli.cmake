# CLI tests run the built peft binary: build it before them.
peft_test(test_golden peft_core nlohmann_json::nlohmann_json)
if(TARGET test_golden)
  add_dependencies(test_golden peft_cli)
endif()
