#!/bin/bash
# Reference protocol of issue 4: targets all linear, 100 steps of 8x256 from random positions, AdamW constant lr, no dropout.
B=${PEFT_BIN:-build/bin/peft}
M=${PEFT_SHARED:-../shared}/models/stories260K.gguf
D=${PEFT_SHARED:-../shared}/data/tinyshakespeare/input.txt
mkdir -p ${OUT:-bench/out/ref}
common="--model $M --data $D --steps 100 --batch-size 8 --seq-len 256 --eval-windows 16 --targets all-linear --schedule constant --max-grad-norm 0 --threads 1 -q --json --seed 0"
$B train $common --method full --lr 1e-3 --out ${OUT:-bench/out/ref}/full > ${OUT:-bench/out/ref}/full.json
$B train $common --method lora --rank 8 --alpha 16 --lr 2e-3 --out ${OUT:-bench/out/ref}/lora > ${OUT:-bench/out/ref}/lora.json
$B train $common --method lora-fa --rank 8 --alpha 16 --lr 2e-3 --out ${OUT:-bench/out/ref}/lorafa > ${OUT:-bench/out/ref}/lora-fa.json
$B train $common --method delta-lora --rank 8 --alpha 16 --lr 2e-3 --delta-ratio 2 --delta-start 0 --out ${OUT:-bench/out/ref}/delta > ${OUT:-bench/out/ref}/delta-lora.json
$B train $common --method lora-plus --rank 8 --alpha 16 --lr 2e-3 --lora-plus-ratio 16 --out ${OUT:-bench/out/ref}/plus > ${OUT:-bench/out/ref}/lora-plus.json
$B train $common --method vera --rank 64 --lr 1e-2 --out ${OUT:-bench/out/ref}/vera > ${OUT:-bench/out/ref}/vera.json
echo done
