// The reference for bench/tokenizer_bench.cpp: Hugging Face's Rust
// tokenizers (npm package "tokenizers", installed by bench/tokenizers.sh)
// on the same text and files, best of N runs: one call on the whole text,
// and encodeBatch over the lines (run with TOKENIZERS_PARALLELISM=false so
// it stays on one thread, like ours). Prints Markdown table rows in the
// same format.
//
//   node bench/tokenizers_ref.mjs SHARED_DIR [REPS]
import fs from 'fs';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('tokenizers');

const shared = process.argv[2];
const reps = Number(process.argv[3] || 5);
const text = fs.readFileSync(`${shared}/data/tinyshakespeare/input.txt`, 'utf8');
const mb = Buffer.byteLength(text, 'utf8') / 1e6;
for (const name of ['gpt2', 'llama-2', 'bge-small-en-v1.5']) {
  const t0 = process.hrtime.bigint();
  const tok = Tokenizer.fromFile(`${shared}/hf/${name}/tokenizer.json`);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  let best = Infinity;
  let nTokens = 0;
  for (let r = 0; r < reps; r++) {
    const t1 = process.hrtime.bigint();
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    best = Math.min(best, Number(process.hrtime.bigint() - t1) / 1e9);
    nTokens = enc.getIds().length;
  }
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  let bestLines = Infinity;
  let nLineTokens = 0;
  for (let r = 0; r < reps; r++) {
    const t1 = process.hrtime.bigint();
    const encs = await tok.encodeBatch(lines, { addSpecialTokens: false });
    bestLines = Math.min(bestLines, Number(process.hrtime.bigint() - t1) / 1e9);
    nLineTokens = encs.reduce((n, e) => n + e.getIds().length, 0);
  }
  console.log(`| ${name} | HF tokenizers (Rust, npm) | ${nTokens} | ${loadMs.toFixed(0)} | ${(mb / best).toFixed(2)} | ${nLineTokens} | ${(mb / bestLines).toFixed(2)} |`);
}
