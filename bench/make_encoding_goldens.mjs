// Writes tests/data/encoding_goldens/*.json: what Hugging Face's own
// tokenizers library (npm package "tokenizers", its Rust core through the
// Node binding) gives for single texts and pairs under various truncation
// and padding settings: ids, type ids, attention and special-tokens masks,
// and offsets, both as the binding reports them (code points) and as byte
// offsets (converted here). test_tokenizer_encoding compares ours to them.
//
//   mkdir /tmp/hf && npm install --prefix /tmp/hf tokenizers
//   NODE_PATH=/tmp/hf/node_modules node bench/make_encoding_goldens.mjs SHARED_DIR OUT_DIR
//
// encode_special_tokens cannot be switched on through the binding; its
// cases encode with a copy of the file whose special added tokens are
// removed, which is what the flag means (they are no longer matched in the
// text; the post-processor still adds its own by id).
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('tokenizers');

const shared = process.argv[2];
const outDir = process.argv[3];
if (!shared || !outDir) {
  console.error('usage: node make_encoding_goldens.mjs SHARED_DIR OUT_DIR');
  process.exit(2);
}

const trunc = (max_length, strategy = 'longest_first', direction = 'right', stride = 0) =>
  ({ max_length, strategy, direction, stride });
const pad = (length, extra = {}) =>
  ({ length, multiple_of: 0, pad_id: 0, pad_type_id: 0, pad_token: '[PAD]', direction: 'right', ...extra });

const common = [
  { name: 'plain', text: 'Hello world, this is a test.' },
  { name: 'unicode', text: 'Héllo wörld 😀a — naïve café, 東京タワー!' },
  { name: 'spaces', text: '  leading and   inner\tspaces\nnewline  ' },
  { name: 'empty', text: '' },
  { name: 'pair', text: 'What is the capital of France?', pair: 'Paris is the capital of France.' },
  { name: 'pair_unicode', text: 'Ünïcödé qüery 😀', pair: 'ドキュメント text' },
  { name: 'no_special_pair', text: 'first text', pair: 'second text', add_special: false },
  { name: 'trunc_single', text: 'one two three four five six seven eight nine ten', truncation: trunc(6) },
  { name: 'trunc_single_left', text: 'one two three four five six seven eight nine ten', truncation: trunc(6, 'longest_first', 'left') },
  { name: 'trunc_longest_first', text: 'a b c d e f g h i j k l', pair: 'm n o', truncation: trunc(10) },
  { name: 'trunc_longest_first_both', text: 'a b c d e f g h i j k l', pair: 'm n o p q r s t u', truncation: trunc(11) },
  { name: 'trunc_longest_first_left', text: 'a b c d e f g h i j k l', pair: 'm n o p q r s t u', truncation: trunc(12, 'longest_first', 'left') },
  { name: 'trunc_only_first', text: 'a b c d e f g h i j k l', pair: 'm n o p', truncation: trunc(12, 'only_first') },
  { name: 'trunc_only_second', text: 'a b c', pair: 'm n o p q r s t u v w', truncation: trunc(10, 'only_second') },
  { name: 'trunc_only_second_left', text: 'a b c', pair: 'm n o p q r s t u v w', truncation: trunc(10, 'only_second', 'left') },
  { name: 'error_only_second_no_pair', text: 'a b c d e f g h', truncation: trunc(5, 'only_second') },
  { name: 'error_only_first_too_short', text: 'a b', pair: 'c d e f g h i j k l', truncation: trunc(8, 'only_first') },
  { name: 'trunc_stride', text: 'one two three four five six seven eight', truncation: trunc(7, 'longest_first', 'right', 2) },
  { name: 'trunc_no_special', text: 'one two three four five six', add_special: false, truncation: trunc(3) },
  { name: 'pad_fixed', text: 'short text', padding: pad(12) },
  { name: 'pad_left', text: 'short text', pair: 'b', padding: pad(14, { direction: 'left', pad_id: 3, pad_type_id: 1, pad_token: 'PADX' }) },
  { name: 'pad_multiple', text: 'pad me to a multiple', padding: pad(null, { multiple_of: 8 }) },
  { name: 'trunc_and_pad', text: 'one two three four five six seven', pair: 'eight nine', truncation: trunc(8), padding: pad(10) },
  { name: 'batch_longest', batch: [{ text: 'a short one' }, { text: 'a rather longer sentence with more words in it' }, { text: '' }], padding: pad(null) },
  { name: 'batch_pairs', batch: [{ text: 'q one', pair: 'doc one is here' }, { text: 'query two is long', pair: 'd2' }], padding: pad(null, { multiple_of: 4, direction: 'left' }), truncation: trunc(9) },
];

// Inputs that exercise normalizers and pre-tokenizers, run on a variant of
// a real file whose sections `override` replaces.
const variantTexts = [
  { name: 'unicode', text: 'Héllo wörld 😀a — naïve café, 東京タワー!' },
  { name: 'spaces', text: '  leading and   inner\tspaces\nnewline  ' },
  { name: 'digits', text: 'Call 555-1234 at 10:30, room 42b.' },
  { name: 'pair', text: 'Ünïcödé  qüery', pair: ' second  text ' },
];
function variant(name, override, texts = variantTexts) {
  return texts.map((t) => ({ ...t, name: `${name}/${t.name}`, override }));
}
// Pieces with log-probabilities; [0..2] are the llama-2 file's added tokens.
function unigramVocab() {
  const v = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['\u2581', -2]];
  const words = ['hello', 'world', 'the', 'call', 'room', 'at', 'and', 'text', 'second', 'query', 'new', 'line', 'lead', 'ing', 'inner', 'space'];  // no piece twice: HF keeps a duplicate's last id
  for (const w of words) v.push(['\u2581' + w, -3 - w.length / 10], [w, -4 - w.length / 10]);
  for (const ch of 'abcdefghijklmnopqrstuvwxyzàáâãäåçèéêëìíîïñòóôõöùúûüÀÉÖÜ0123456789.,:-!—東京タワー') v.push([ch, -6], ['\u2581' + ch, -6.5]);
  return v;
}

const perFile = {
  'bge-small-en-v1.5': {
    file: 'bge-small-en-v1.5/tokenizer.json',
    extra: [
      { name: 'special_in_text', text: 'before [SEP] after [CLS][MASK]x' },
      { name: 'encode_special_tokens', text: 'before [SEP] after [CLS][MASK]x', encode_special_tokens: true },
      { name: 'accents_cjk', text: 'Ａｃｃｅｎｔｓ Ångström résumé 中文字符 ﬁne' },
      ...variant('nfkc_strip_whitespace_digits', {
        normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Strip', strip_left: true, strip_right: true }, { type: 'Lowercase' }, { type: 'StripAccents' }] },
        pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'Digits', individual_digits: true }, { type: 'Punctuation', behavior: 'Isolated' }] },
      }),
      ...variant('nfc_composed', {
        normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Lowercase' }] },
        pre_tokenizer: { type: 'WhitespaceSplit' },
      }, [{ name: 'decomposed', text: 'Cafe\u0301 nai\u0308ve x' }]),
    ],
  },
  'all-MiniLM-L6-v2': {
    file: 'all-MiniLM-L6-v2-st-legacy/0_Transformer/tokenizer.json',
    extra: [
      // The file's own "truncation" (128, LongestFirst) and "padding" (Fixed 128).
      { name: 'file_config_short', text: 'a sentence to embed', file_config: true },
      { name: 'file_config_long', text: 'word '.repeat(200), pair: 'other '.repeat(50), file_config: true },
      { name: 'file_config_batch', batch: [{ text: 'x' }, { text: 'y y y' }], file_config: true },
    ],
  },
  gpt2: {
    file: 'gpt2/tokenizer.json',
    extra: [
      { name: 'special_in_text', text: 'end<|endoftext|> start <|endoftext|>' },
      { name: 'encode_special_tokens', text: 'end<|endoftext|> start <|endoftext|>', encode_special_tokens: true },
      { name: 'trim_offsets', text: ' Hello  world\n again', pair: 'x  y', override: { post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true } } },
      { name: 'roberta_processing', text: ' Hello  world', pair: 'second  text', override: { post_processor: { type: 'RobertaProcessing', sep: ['</s>', 50256], cls: ['<s>', 50256], trim_offsets: true, add_prefix_space: false } } },
      { name: 'bert_processing', text: 'Hello world', pair: 'second text', override: { post_processor: { type: 'BertProcessing', sep: ['[SEP]', 50256], cls: ['[CLS]', 50256] } } },
      { name: 'no_post_processor_pair', text: 'Hello world', pair: 'second text', override: { post_processor: null } },
      ...variant('split_then_bytelevel', {
        pre_tokenizer: { type: 'Sequence', pretokenizers: [
          { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
        post_processor: { type: 'Sequence', processors: [
          { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
          { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|endoftext|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
            special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [50256], tokens: ['<|endoftext|>'] } } }] },
      }),
    ],
  },
  'llama-2': {
    file: 'llama-2/tokenizer.json',
    extra: [
      { name: 'special_in_text', text: 'a<s>b </s> c' },
      { name: 'encode_special_tokens', text: 'a<s>b </s> c', encode_special_tokens: true },
      // Newer SentencePiece-BPE files (Mistral, Llama-2 re-exports): no
      // normalizer, a Metaspace pre-tokenizer.
      ...variant('metaspace_first', { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false } }),
      ...variant('metaspace_split', { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true } }),
      // A small Unigram model (T5 / XLM-R style) behind the same pipeline.
      ...variant('unigram', {
        normalizer: { type: 'Sequence', normalizers: [{ type: 'Nmt' }, { type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
        pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
        model: { type: 'Unigram', unk_id: 0, byte_fallback: false, vocab: unigramVocab() },
      }),
    ],
  },
};

// Byte offset of each code point boundary of `text`.
function byteTable(text) {
  const table = [0];
  let b = 0;
  for (const ch of text) {
    b += Buffer.byteLength(ch, 'utf8');
    table.push(b);
  }
  return table;
}

async function runCase(json, c) {
  const root = JSON.parse(json);
  if (c.encode_special_tokens) root.added_tokens = root.added_tokens.filter((t) => !t.special);
  for (const [k, v] of Object.entries(c.override || {})) root[k] = v;
  const tok = Tokenizer.fromString(JSON.stringify(root));
  if (!c.file_config) {
    tok.disableTruncation();
    tok.disablePadding();
    if (c.truncation) {
      const t = c.truncation;
      const strategy = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' }[t.strategy];
      tok.setTruncation(t.max_length, { strategy, direction: t.direction, stride: t.stride });
    }
    if (c.padding) {
      const p = c.padding;
      const opts = { direction: p.direction, padId: p.pad_id, padTypeId: p.pad_type_id, padToken: p.pad_token };
      if (p.length !== null) opts.maxLength = p.length;
      if (p.multiple_of) opts.padToMultipleOf = p.multiple_of;
      tok.setPadding(opts);
    }
  }
  const addSpecialTokens = c.add_special !== false;
  const describe = (enc, text, pair) => {
    const seq = enc.getSequenceIds();
    const tables = [byteTable(text), pair === undefined ? null : byteTable(pair)];
    const offsets = enc.getOffsets();
    return {
      ids: enc.getIds(),
      type_ids: enc.getTypeIds(),
      attention_mask: enc.getAttentionMask(),
      special_tokens_mask: enc.getSpecialTokensMask(),
      sequence_ids: seq.map((s) => (s === null || s === undefined ? -1 : s)),
      offsets,
      byte_offsets: offsets.map(([b, e], i) => {
        if (seq[i] === null || seq[i] === undefined) return [b, e];
        const t = tables[seq[i]];
        return [t[b], t[e]];
      }),
      tokens: enc.getTokens(),
    };
  };
  if (c.batch) {
    if (c.batch.every((x) => x.pair === undefined)) {
      const encs = await tok.encodeBatch(c.batch.map((x) => x.text), { addSpecialTokens });
      return encs.map((e, i) => describe(e, c.batch[i].text, c.batch[i].pair));
    }
    // The binding's encodeBatch takes no pairs: encode each pair unpadded,
    // then again padded to the batch's longest (rounded up to the multiple),
    // which is what padding a batch to its longest does.
    const p = c.padding;
    tok.disablePadding();
    let longest = 0;
    for (const x of c.batch) longest = Math.max(longest, (await tok.encode(x.text, x.pair ?? null, { addSpecialTokens })).getLength());
    if (p.multiple_of && longest % p.multiple_of) longest += p.multiple_of - (longest % p.multiple_of);
    tok.setPadding({ maxLength: longest, direction: p.direction, padId: p.pad_id, padTypeId: p.pad_type_id, padToken: p.pad_token });
    const out = [];
    for (const x of c.batch) out.push(describe(await tok.encode(x.text, x.pair ?? null, { addSpecialTokens }), x.text, x.pair));
    return out;
  }
  const enc = await tok.encode(c.text, c.pair === undefined ? null : c.pair, { addSpecialTokens });
  return describe(enc, c.text, c.pair);
}

fs.mkdirSync(outDir, { recursive: true });
const version = require('tokenizers/package.json').version;
for (const [name, spec] of Object.entries(perFile)) {
  const json = fs.readFileSync(path.join(shared, 'hf', spec.file), 'utf8');
  const cases = [];
  const overrides = {};  // each variant's sections once; cases name theirs
  for (const c of [...common, ...spec.extra]) {
    const out = { ...c, add_special: c.add_special !== false };
    if (c.override) {
      const key = c.name.includes('/') ? c.name.split('/')[0] : c.name;
      overrides[key] = c.override;
      out.override = key;
    }
    try {
      out.expected = await runCase(json, c);
    } catch (e) {
      out.error = String(e.message || e);
    }
    cases.push(out);
  }
  const doc = { generator: `bench/make_encoding_goldens.mjs, npm tokenizers ${version}`, tokenizer: spec.file, overrides, cases };
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(doc) + '\n');
  console.log(`${name}: ${cases.length} cases`);
}
