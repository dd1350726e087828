#!/usr/bin/env python3
"""Seed inputs for the fuzz targets (docs/fuzzing.md).

  seeds.py handmade DIR          small hand-made edge cases (committed as fuzz/corpus/)
  seeds.py shared DIR SHARED     seeds cut from the real files in ../shared, made at
                                 run time so no copy of a large file is committed

Each writes DIR/<target>/<name>. Multi-part inputs join their parts with the
separator line fuzz_util.h's part() splits on.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_py as G  # noqa: E402

SEP = b"\n--8<--\n"


def put(root, target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)


def join(*parts):
    return SEP.join(p.encode() if isinstance(p, str) else p for p in parts)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, off, body = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape, b in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
        body += b
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + body


def tiny_llama_kv(vocab):
    kv = [("general.architecture", G.STRING, "llama"), ("general.name", G.STRING, "tiny"),
          ("llama.context_length", G.U32, 64), ("llama.embedding_length", G.U32, 8),
          ("llama.feed_forward_length", G.U32, 12), ("llama.attention.head_count", G.U32, 2),
          ("llama.attention.head_count_kv", G.U32, 1), ("llama.block_count", G.U32, 1),
          ("llama.rope.dimension_count", G.U32, 4),
          ("llama.attention.layer_norm_rms_epsilon", G.F32, 1e-5)]
    return kv + vocab


def tiny_llama_tensors(dtype=0):
    shapes = [("token_embd.weight", [8, 16]), ("output_norm.weight", [8]), ("output.weight", [8, 16]),
              ("blk.0.attn_q.weight", [8, 8]), ("blk.0.attn_k.weight", [8, 4]),
              ("blk.0.attn_v.weight", [8, 4]), ("blk.0.attn_output.weight", [8, 8]),
              ("blk.0.attn_norm.weight", [8]), ("blk.0.ffn_gate.weight", [8, 12]),
              ("blk.0.ffn_down.weight", [12, 8]), ("blk.0.ffn_up.weight", [8, 12]),
              ("blk.0.ffn_norm.weight", [8])]
    out = []
    for name, ne in shapes:
        n = 1
        for d in ne:
            n *= d
        vals = [((i * 7) % 13 - 6) / 20.0 for i in range(n)]
        if dtype == 1 and len(ne) == 2:  # F16 matrices
            out.append((name, ne, 1, struct.pack("<%de" % n, *vals)))
        else:
            out.append((name, ne, 0, f32(vals)))
    return out


def spm_vocab(n=16):
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in (0x0A, 0x20, 0xE2)] + \
           ["\u2581", "\u2581a", "a", "b", "\u2581ab", "c", "\u2581the", "t", "h", "e"]
    toks = toks[:n]
    return [("tokenizer.ggml.model", G.STRING, "llama"),
            ("tokenizer.ggml.tokens", G.ARRAY, (G.STRING, toks)),
            ("tokenizer.ggml.scores", G.ARRAY, (G.F32, [-float(i) for i in range(len(toks))])),
            ("tokenizer.ggml.token_type", G.ARRAY, (G.I32, [2, 3, 3, 6, 6, 6] + [1] * (len(toks) - 6))),
            ("tokenizer.ggml.bos_token_id", G.U32, 1), ("tokenizer.ggml.eos_token_id", G.U32, 2),
            ("tokenizer.ggml.unknown_token_id", G.U32, 0)]


def gpt2_vocab():
    toks = ["<|endoftext|>", "a", "b", "c", "\u0120", "\u0120a", "ab", "\u0120ab", "h", "e", "l", "o", "he",
            "ll", "hell", "hello"]
    merges = ["\u0120 a", "a b", "\u0120a b", "h e", "l l", "he ll", "hell o"]
    return [("tokenizer.ggml.model", G.STRING, "gpt2"), ("tokenizer.ggml.pre", G.STRING, "gpt-2"),
            ("tokenizer.ggml.tokens", G.ARRAY, (G.STRING, toks)),
            ("tokenizer.ggml.token_type", G.ARRAY, (G.I32, [3] + [1] * (len(toks) - 1))),
            ("tokenizer.ggml.merges", G.ARRAY, (G.STRING, merges)),
            ("tokenizer.ggml.bos_token_id", G.U32, 0), ("tokenizer.ggml.eos_token_id", G.U32, 0)]


def bert_vocab():
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "the", "a", "##b", ",", "."]
    return [("tokenizer.ggml.model", G.STRING, "bert"),
            ("tokenizer.ggml.tokens", G.ARRAY, (G.STRING, toks)),
            ("tokenizer.ggml.token_type", G.ARRAY, (G.I32, [3, 2, 3, 3, 3] + [1] * (len(toks) - 5))),
            ("tokenizer.ggml.unknown_token_id", G.U32, 1), ("tokenizer.ggml.cls_token_id", G.U32, 2),
            ("tokenizer.ggml.seperator_token_id", G.U32, 3), ("tokenizer.ggml.padding_token_id", G.U32, 0)]


def handmade(root):
    # --- GGUF: header only, every metadata type, a tiny llama in f32 and f16
    put(root, "gguf", "empty_v3.gguf", G.write([], []))
    put(root, "gguf", "empty_v2.gguf", G.write([], [], version=2))
    every = [("u8", G.U8, 1), ("i8", G.I8, -1), ("u16", G.U16, 2), ("i16", G.I16, -2), ("u32", G.U32, 3),
             ("i32", G.I32, -3), ("f32", G.F32, 0.5), ("bool", G.BOOL, True), ("str", G.STRING, "x"),
             ("u64", G.U64, 4), ("i64", G.I64, -4), ("f64", G.F64, 0.25),
             ("arr", G.ARRAY, (G.I32, [1, 2, 3])), ("nested", G.ARRAY, (G.ARRAY, [(G.U8, [1]), (G.U8, [])])),
             ("general.alignment", G.U32, 64)]
    put(root, "gguf", "every_type.gguf", G.write(every, [("t", [2, 3], 0, f32([1, 2, 3, 4, 5, 6]))], align=64))
    put(root, "gguf", "tiny_llama_f32.gguf", G.write(tiny_llama_kv(spm_vocab()), tiny_llama_tensors()))
    put(root, "gguf", "tiny_llama_f16.gguf", G.write(tiny_llama_kv(spm_vocab()), tiny_llama_tensors(1)))
    # --- GGUF vocabularies, each with a text to encode
    text = "hello the ab, world\n\u00e9\u2603 <s> [CLS]"
    for name, vocab in (("spm", spm_vocab()), ("gpt2", gpt2_vocab()), ("bert", bert_vocab())):
        put(root, "gguf_vocab", name + ".gguf", join(G.write(vocab, []), text))
    # --- safetensors: one of each dtype family, metadata, an empty tensor
    st = safetensors([("a", "F32", [2, 2], f32([1, 2, 3, 4])), ("b", "F16", [3], struct.pack("<3e", 1, 2, 3)),
                      ("c", "BF16", [1, 2], b"\x80\x3f\x00\x40"), ("d", "I64", [1], struct.pack("<q", 7)),
                      ("e", "F32", [0, 4], b"")], {"format": "pt"})
    put(root, "safetensors", "small.safetensors", st)
    put(root, "safetensors", "header_only.safetensors", safetensors([]))
    # --- sharded index + two shards
    s1 = safetensors([("x.weight", "F32", [2], f32([1, 2]))])
    s2 = safetensors([("y.weight", "F32", [1, 2], f32([3, 4]))])
    idx = json.dumps({"metadata": {"total_size": 16}, "weight_map": {
        "x.weight": "model-00001-of-00002.safetensors", "y.weight": "model-00002-of-00002.safetensors"}})
    put(root, "safetensors_index", "two_shards", join(idx, s1, s2))
    # --- config.json
    llama_cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8,
                 "intermediate_size": 12, "num_attention_heads": 2, "num_key_value_heads": 1,
                 "num_hidden_layers": 1, "vocab_size": 16, "max_position_embeddings": 64,
                 "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
                 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}
    put(root, "hf_config", "llama.json", json.dumps(llama_cfg))
    put(root, "hf_config", "qwen3.json", json.dumps(dict(llama_cfg, model_type="qwen3", head_dim=4,
                                                           architectures=["Qwen3ForCausalLM"])))
    put(root, "hf_config", "bert.json", json.dumps({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": 8, "intermediate_size": 12,
        "num_attention_heads": 2, "num_hidden_layers": 1, "vocab_size": 16, "max_position_embeddings": 64,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"}))
    # --- tokenizer.json: word-level, BPE with byte-level, WordPiece, Unigram
    wl = {"version": "1.0", "added_tokens": [{"id": 0, "content": "[UNK]", "special": True, "single_word": False,
                                              "lstrip": False, "rstrip": False, "normalized": False}],
          "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
          "post_processor": None, "decoder": None,
          "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2}, "unk_token": "[UNK]"}}
    put(root, "tokenizer_json", "wordlevel", join(json.dumps(wl), "Hello world [UNK]!"))
    bpe = {"version": "1.0", "added_tokens": [{"id": 7, "content": "<|end|>", "special": True, "single_word": False,
                                               "lstrip": False, "rstrip": False, "normalized": False}],
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                     "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "he": 4, "ll": 5, "hell": 6, "<|end|>": 7,
                               "\u0120": 8},
                     "merges": ["h e", "l l", "he ll"]}}
    put(root, "tokenizer_json", "bpe_bytelevel", join(json.dumps(bpe), "hello<|end|> hell\u00e9"))
    wp = {"version": "1.0", "added_tokens": [], "normalizer": {"type": "BertNormalizer", "clean_text": True,
          "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "post_processor": {"type": "TemplateProcessing",
                             "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                        {"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                             "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
          "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
          "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                    "max_input_chars_per_word": 100,
                    "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "##s": 5, "world": 6}}}
    put(root, "tokenizer_json", "wordpiece", join(json.dumps(wp), "Hellos, WORLD \u4e2d\u6587"))
    uni = {"version": "1.0", "added_tokens": [], "normalizer": {"type": "Sequence", "normalizers": [
               {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}, {"type": "NFKC"}]},
           "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
           "post_processor": None, "decoder": {"type": "Metaspace", "replacement": "\u2581",
                                               "prepend_scheme": "always", "split": True},
           "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": True,
                     "vocab": [["<unk>", 0.0], ["\u2581", -1.0], ["a", -2.0], ["\u2581ab", -1.5], ["b", -2.5],
                               ["<0x0A>", -5.0], ["<0xC3>", -5.0], ["<0xA9>", -5.0]]}}
    put(root, "tokenizer_json", "unigram", join(json.dumps(uni), "ab a\n\u00e9"))
    # --- chat templates: loops, macros, filters, namespaces, and the limits
    tpls = {
        "chatml": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                  "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        "macro": "{% macro f(x, y=2) %}{{ x * y }}{% if x > 0 %}{{ f(x - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
        "filters": "{{ messages | map(attribute='role') | join(',') | upper | replace('U', 'u') }}"
                   "{{ '%s-%d' % ('a', 3) }}{{ (messages|length) ~ 'x' * 3 }}{{ [3,1,2]|sort|reverse|list }}"
                   "{{ {'a': 1}|tojson }}{{ 'abc'[::-1] }}{{ range(5)|sum }}",
        "namespace": "{% set ns = namespace(n=0) %}{% for m in messages if m.role != 'system' %}"
                     "{% set ns.n = ns.n + loop.index %}{{ loop.first }}{{ loop.last }}{{ loop.revindex }}"
                     "{% endfor %}{{ ns.n }}{% raw %}{{ not parsed }}{% endraw %}",
        "strftime": "{{ strftime_now('%Y-%m-%d') }}{{ raise_exception('x') if false else 'ok' }}"
                    "{%- if messages[0]['content'] is string -%}s{%- elif x is defined -%}d{%- else -%}e{%- endif -%}",
        "nested_loops": "{% for i in range(20) %}{% for j in range(20) %}{{ i * j }}{% endfor %}{% endfor %}",
        "call_block": "{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}in{% endcall %}"
                      "{% filter upper %}up{% endfilter %}{% generation %}g{% endgeneration %}",
    }
    ctx = json.dumps({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                                   {"role": "assistant", "content": "A", "tool_calls": [
                                       {"function": {"name": "f", "arguments": {"x": 1}}}]}],
                      "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
                      "bos_token": "<s>", "eos_token": "</s>"})
    for name, src in tpls.items():
        put(root, "chat_template", name, join(src, ctx))
    # --- JSONL training records of each kind, with the edge cases
    put(root, "jsonl", "text.jsonl", '{"text": "a b c"}\n\n{"text": "\\u00e9\\ud83d\\ude00"}\r\n')
    put(root, "jsonl", "prompt_completion.jsonl", '{"prompt": "1+1=", "completion": "2"}\n{"prompt": "", "completion": ""}\n')
    put(root, "jsonl", "messages.jsonl", json.dumps({"messages": [
        {"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]})
        + "\n" + json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n")
    put(root, "jsonl", "bad_second.jsonl", '{"text": "a"}\n{"prompt": 1}\n[1,2]\n')
    # --- BEIR corpus + qrels
    put(root, "beir", "corpus", join('{"_id": "d1", "title": "T", "text": "x"}\n{"_id": 2, "text": "y"}\n',
                                     "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\t2\t0\n"))
    put(root, "beir", "trec", join('{"_id": "q1", "text": "what"}\n', "q1 0 d1 2\nq2 0 d9 1\n"))
    # --- PEFT adapters: LoRA and VeRA
    lora_cfg = {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "lora_dropout": 0.0, "use_rslora": False,
                "target_modules": ["q_proj", "v_proj"], "rank_pattern": {"q_proj": 2}, "alpha_pattern": {"v_proj": 8},
                "task_type": "CAUSAL_LM", "bias": "none", "base_model_name_or_path": "x"}
    lora = safetensors([("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "F32", [2, 4], f32([0.1] * 8)),
                        ("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "F32", [4, 2], f32([0] * 8))])
    put(root, "peft_adapter", "lora", join(json.dumps(lora_cfg), lora))
    vera_cfg = {"peft_type": "VERA", "r": 2, "target_modules": ["q_proj"], "projection_prng_key": 0,
                "save_projection": True, "vera_dropout": 0.0, "d_initial": 0.1}
    vera = safetensors([("base_model.vera_A", "F32", [2, 4], f32([0.5] * 8)),
                        ("base_model.vera_B", "F32", [4, 2], f32([0.5] * 8)),
                        ("base_model.model.model.layers.0.self_attn.q_proj.vera_lambda_b", "F32", [4], f32([0] * 4)),
                        ("base_model.model.model.layers.0.self_attn.q_proj.vera_lambda_d", "F32", [2], f32([0.1] * 2))])
    put(root, "peft_adapter", "vera", join(json.dumps(vera_cfg), vera))
    # --- a llama.cpp LoRA adapter GGUF as peft export writes it (read back
    # through the GGUF reader, the only path that opens one).
    lora_kv = [("general.type", G.STRING, "adapter"), ("general.architecture", G.STRING, "llama"),
               ("adapter.type", G.STRING, "lora"), ("adapter.lora.alpha", G.F32, 4.0)]
    put(root, "gguf", "lora_adapter.gguf", G.write(lora_kv, [
        ("blk.0.attn_q.weight.lora_a", [8, 2], 0, f32([0.1] * 16)),
        ("blk.0.attn_q.weight.lora_b", [2, 8], 0, f32([0.0] * 16))]))
    # --- a Hugging Face model folder: the tiny llama under transformers'
    # names ([out, in] shapes), the word-level tokenizer, a tokenizer_config
    hf_names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                "output.weight": "lm_head.weight", "blk.0.attn_q.weight": "model.layers.0.self_attn.q_proj.weight",
                "blk.0.attn_k.weight": "model.layers.0.self_attn.k_proj.weight",
                "blk.0.attn_v.weight": "model.layers.0.self_attn.v_proj.weight",
                "blk.0.attn_output.weight": "model.layers.0.self_attn.o_proj.weight",
                "blk.0.attn_norm.weight": "model.layers.0.input_layernorm.weight",
                "blk.0.ffn_gate.weight": "model.layers.0.mlp.gate_proj.weight",
                "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight",
                "blk.0.ffn_up.weight": "model.layers.0.mlp.up_proj.weight",
                "blk.0.ffn_norm.weight": "model.layers.0.post_attention_layernorm.weight"}
    hf_st = safetensors([(hf_names[n], "F32", list(reversed(ne)), b) for n, ne, _, b in tiny_llama_tensors()],
                        {"format": "pt"})
    hf_cfg = dict(llama_cfg)
    del hf_cfg["rope_scaling"]
    tok_cfg = {"add_bos_token": False, "bos_token": "[UNK]", "eos_token": {"content": "[UNK]"},
               "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}
    put(root, "hf_model", "tiny_llama", join(json.dumps(hf_cfg), hf_st, json.dumps(wl), "", "hello world hello"))
    put(root, "hf_model", "tiny_llama_tokcfg", join(json.dumps(dict(hf_cfg, tie_word_embeddings=True)), hf_st,
                                                    json.dumps(wl), json.dumps(tok_cfg), "world hello [UNK]"))
    # --- peft serve requests (METHOD TARGET, then the body), several per input
    put(root, "serve", "add_search_delete", join(
        'POST /documents\n[{"id": "a", "title": "Cats", "text": "the cat sat on the mat", "section": "5"},'
        ' {"id": "b", "text": "dogs run", "n": 3}]',
        "GET /search?q=cat+mat&k=2&mode=hybrid&where=section=5",
        'POST /search\n{"q": "dogs", "k": 1, "mode": "bm25", "where": {"n": 3}}',
        "GET /documents/a", "DELETE /documents/b", "GET /info", "GET /health"))
    put(root, "serve", "embed_errors", join('POST /embed\n{"texts": ["a", "b c"]}', "POST /embed\n{\"texts\": [1]}",
                                            "PUT /search", "GET /search?q=&k=x", 'POST /documents\n{"documents": []}',
                                            "GET /nowhere", "GET /"))
    # --- an index manifest.json as peft index build writes it
    manifest = {"format": 1, "model": "m.gguf", "model_id": "0123", "adapters": ["a:0.5"], "adapter_id": "",
                "embedder": "encoder", "pooling": "mean", "normalize": True, "dims": 4, "query_prompt": "q: ",
                "document_prompt": "", "max_tokens": 0, "chunk_tokens": 0, "chunk_overlap": 0,
                "metric": "cosine", "hnsw": {"m": 16, "ef_construction": 100, "ef_search": 64}}
    put(root, "index_manifest", "dims4.json", json.dumps(manifest, indent=2))
    put(root, "index_manifest", "dims8.json", json.dumps(dict(manifest, dims=8, chunk_tokens=64, chunk_overlap=8)))


def head_lines(path, n):
    with open(path, "rb") as f:
        return b"".join(f.readline() for _ in range(n))


def cut_gguf_vocab(kv, n):
    """A real GGUF vocabulary cut to its first n pieces (merges and special
    ids that point past them dropped), so a seed stays a few KB."""
    out = []
    toks = None
    for k, t, v in kv:
        if k in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
            v = (v[0], v[1][:n])
            if k == "tokenizer.ggml.tokens":
                toks = set(v[1])
        out.append((k, t, v))
    result = []
    for k, t, v in out:
        if k == "tokenizer.ggml.merges":
            v = (v[0], [m for m in v[1] if all(p in toks for p in m.split(" ", 1)) and m.replace(" ", "", 1) in toks])
        if k.startswith("tokenizer.ggml.") and k.endswith("_token_id") and isinstance(v, int) and v >= n:
            continue
        result.append((k, t, v))
    return result


def cut_tokenizer_json(tj, n):
    """A real tokenizer.json cut to its first n pieces plus its added tokens."""
    model = tj.get("model", {})
    added = {a["content"]: a["id"] for a in tj.get("added_tokens", [])}
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        kept = dict(sorted(vocab.items(), key=lambda kv: kv[1])[:n])
        kept.update({k: i for k, i in added.items() if k not in kept})
        model["vocab"] = kept
        if "merges" in model:
            def ok(m):
                a, b = m.split(" ", 1) if isinstance(m, str) else m
                return a in kept and b in kept and a + b in kept
            model["merges"] = [m for m in model["merges"] if ok(m)]
    elif isinstance(vocab, list):
        model["vocab"] = vocab[:n]
        tj["added_tokens"] = [a for a in tj.get("added_tokens", []) if a["id"] < n]
    return tj


def from_shared(root, shared):
    p = lambda *a: os.path.join(shared, *a)  # noqa: E731
    # The real GGUF model's metadata (vocabulary cut) and its first layer's
    # tensors: the whole 1.1 MB file would make every run slow.
    kv, tensors = G.read(p("models", "stories260K.gguf"))
    put(root, "gguf", "stories260K_head.gguf",
        G.write(cut_gguf_vocab(kv, 300), [t for t in tensors if t[0].startswith("blk.0.")]))
    # The three real vocabulary kinds, cut to 400 pieces, with llama.cpp's
    # test text.
    for v in ("gpt-2", "llama-spm", "bert-bge"):
        kv, _ = G.read(p("tokenizers", "llama.cpp-vocab", "ggml-vocab-%s.gguf" % v))
        inp = p("tokenizers", "llama.cpp-vocab", "ggml-vocab-%s.gguf.inp" % v)
        put(root, "gguf_vocab", v, join(G.write(cut_gguf_vocab(kv, 400), []), open(inp, "rb").read()[:400]))
    kv, _ = G.read(p("models", "stories260K.gguf"))
    put(root, "gguf_vocab", "stories_300", join(G.write(cut_gguf_vocab(kv, 300), []),
                                                "Once upon a time, there was a little girl."))
    # config.json files of the real models.
    for m in ("llama-3.2-1b", "qwen3-4b", "devstral-small-sharded"):
        put(root, "hf_config", m + ".json", open(p("hf", m, "config.json"), "rb").read())
    # The sharded index (shards are not in ../shared: empty parts).
    put(root, "safetensors_index", "devstral", open(p("hf", "devstral-small-sharded", "model.safetensors.index.json"),
                                                    "rb").read())
    # Real tokenizer.json files cut to 400 pieces, with a sample text.
    sample = "Hello world! Ça va? 日本語 1234 <|endoftext|> [CLS]"
    for m in ("bge-small-en-v1.5", "gpt2", "llama-2"):
        tj = cut_tokenizer_json(json.load(open(p("hf", m, "tokenizer.json"), encoding="utf-8")), 400)
        put(root, "tokenizer_json", m, join(json.dumps(tj, ensure_ascii=False), sample))
    # Every chat template of the Hugging Face end-to-end cases, with its data,
    # and the templates in the real tokenizer_config.json files.
    cases = json.load(open(p("hf", "chat-templates", "hf-jinja-e2e.cases.json")))
    i = 0
    for group in cases.values():
        for case in group.values():
            if isinstance(case, dict) and "chat_template" in case:
                put(root, "chat_template", "hf_%03d" % i, join(case["chat_template"], json.dumps(case.get("data", {}))))
                i += 1
    for m in ("qwen2.5-instruct", "qwen3-4b", "gpt2", "llama-2"):
        t = json.load(open(p("hf", m, "tokenizer_config.json"))).get("chat_template")
        if isinstance(t, str):
            put(root, "chat_template", "tc_" + m, t.encode())
    # The first lines of the real data files.
    put(root, "jsonl", "gsm8k", head_lines(p("data", "gsm8k", "train.jsonl"), 3))
    put(root, "jsonl", "self_instruct", head_lines(p("data", "self-instruct", "seed_tasks.jsonl"), 3))
    put(root, "beir", "manpages", join(head_lines(p("data", "manpages-ir", "corpus.jsonl"), 3),
                                       head_lines(p("data", "manpages-ir", "qrels.tsv"), 6)))
    put(root, "beir", "manpages_q", join(head_lines(p("data", "manpages-ir", "queries.jsonl"), 3), ""))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "handmade":
        handmade(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "shared":
        from_shared(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
