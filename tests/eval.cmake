# Evaluation: BEIR and STS readers, retrieval and STS metrics, BM25, `peft eval`.
peft_test(test_eval_data peft_data)
