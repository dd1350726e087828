# Evaluation: BEIR and STS readers, retrieval and STS metrics, BM25, `peft eval`.
peft_test(test_eval_data peft_data)
peft_test(test_eval_metrics peft_embed)
# Runs the built peft binary.
peft_test(test_eval_cli peft_core)
if(TARGET test_eval_cli)
  add_dependencies(test_eval_cli peft_cli)
endif()
peft_test(test_eval_model peft_embed)
# peft eval --model against bench/eval_reference.py (numpy); runs the built peft binary.
peft_test(test_eval_model_cli peft_embed)
if(TARGET test_eval_model_cli)
  add_dependencies(test_eval_model_cli peft_cli)
endif()
