# JSONL data, masks, chat rendering, packing; the end-to-end case runs the
# built peft binary, so build it first.
peft_test(test_data peft_train)
if(TARGET test_data)
  add_dependencies(test_data peft_cli)
endif()
