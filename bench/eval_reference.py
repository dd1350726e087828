#!/usr/bin/python3
"""Reference for `peft eval retrieval --model` and `peft eval sts --model`:
the metrics recomputed with numpy from embeddings that `peft embed` wrote
as .npy, so that everything after the embedding step (normalisation, exact
search, trec_eval's ranking order, the metric definitions, which queries
count, Spearman and Pearson) is checked against a second implementation.
Nothing here imports peft.cpp code; tests/test_eval_model.cpp runs it.

Definitions (pytrec_eval / trec_eval with relevance level 1, as BEIR uses):
  ranking   documents by cosine similarity, descending; equal scores by
            document id, descending (trec_eval sorts that way); a document
            whose id equals the query id is dropped (BEIR's default);
            the first 100 are kept.
  queries   every query in the qrels with a document of grade >= 1.
  nDCG@10   sum_{i<=10} g_i / log2(i + 1) over the ranking (g = grade,
            negative grades count 0), divided by the same sum over the
            judged grades sorted descending.
  MRR@10    1 / rank of the first document with grade >= 1 in the top 10.
  Recall@k  relevant documents in the top k / relevant documents.
  MAP@100   sum over relevant documents at rank i <= 100 of precision@i,
            divided by the number of relevant documents.
  STS       cosine of each pair's embeddings; Pearson's r against the gold
            scores and Spearman's rho (Pearson of the ranks, ties given
            their average rank).

Usage:
  eval_reference.py retrieval CORPUS.jsonl QUERIES.jsonl QRELS.tsv DOCS.npy QUERIES.npy
      (DOCS.npy rows in corpus.jsonl order, QUERIES.npy rows in QUERIES.jsonl order)
  eval_reference.py sts EMB1.npy EMB2.npy GOLD.txt
      (row i of EMB1/EMB2 is pair i's sentences; GOLD.txt one score per line)
Prints one JSON object with the metrics under peft eval's --json names;
retrieval adds "min_gap", the smallest score difference between two
neighbours of different grades in any query's top 101 (a float-rounding
swap of such a pair is the only way float32 search could differ here).
"""
import json
import math
import sys

import numpy as np


def read_ids(path):
    ids = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                v = json.loads(line)["_id"]
                ids.append(v if isinstance(v, str) else json.dumps(v))
    return ids


def read_qrels(path):
    judged = {}  # query -> {doc: grade}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines[1:]:
        if not line.strip():
            continue
        q, d, g = line.split("\t")[:3]
        judged.setdefault(q, {})[d] = int(g)
    return judged


def unit(x):
    x = x.astype(np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1
    return x / n


def retrieval(corpus, queries, qrels, docs_npy, queries_npy):
    doc_ids = read_ids(corpus)
    query_ids = read_ids(queries)
    D = unit(np.load(docs_npy))
    Q = unit(np.load(queries_npy))
    assert D.shape[0] == len(doc_ids) and Q.shape[0] == len(query_ids), "rows must match the files"
    qpos = {q: i for i, q in enumerate(query_ids)}
    judged = read_qrels(qrels)
    sums = dict.fromkeys(["ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"], 0.0)
    counted = skipped = 0
    # The closest two neighbours in any top 101 whose grades differ: only such
    # a pair, swapped by float rounding, could change a metric.
    smallest_gap = math.inf
    for q, grades in judged.items():
        relevant = {d for d, g in grades.items() if g >= 1}
        if not relevant:
            skipped += 1
            continue
        counted += 1
        scores = D @ Q[qpos[q]]
        order = sorted(range(len(doc_ids)), key=lambda i: (-scores[i], _desc(doc_ids[i])))
        ranked = [doc_ids[i] for i in order if doc_ids[i] != q][:100]
        top = [(scores[i], grades.get(doc_ids[i], 0)) for i in order[:101]]
        for (sa, ga), (sb, gb) in zip(top, top[1:]):
            if ga != gb:
                smallest_gap = min(smallest_gap, sa - sb)

        dcg = sum(max(grades.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        sums["ndcg@10"] += dcg / idcg
        first = next((i for i, d in enumerate(ranked[:10]) if d in relevant), None)
        sums["mrr@10"] += 0.0 if first is None else 1.0 / (first + 1)
        for k in (1, 10, 100):
            sums[f"recall@{k}"] += len(relevant.intersection(ranked[:k])) / len(relevant)
        hits, ap = 0, 0.0
        for i, d in enumerate(ranked[:100]):
            if d in relevant:
                hits += 1
                ap += hits / (i + 1)
        sums["map@100"] += ap / len(relevant)
    out = {k: v / counted for k, v in sums.items()}
    out.update(queries=counted, skipped=skipped, documents=len(doc_ids), min_gap=smallest_gap)
    return out


class _desc:
    """Sort key that orders strings descending (trec_eval's tie order)."""

    def __init__(self, s):
        self.s = s

    def __lt__(self, other):
        return self.s > other.s

    def __eq__(self, other):
        return self.s == other.s


def average_ranks(x):
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum()))


def sts(emb1, emb2, gold_txt):
    A = unit(np.load(emb1))
    B = unit(np.load(emb2))
    gold = np.loadtxt(gold_txt, dtype=np.float64, ndmin=1)
    assert A.shape == B.shape and A.shape[0] == gold.shape[0], "one row per pair"
    cos = (A * B).sum(axis=1)
    return {
        "spearman": pearson(average_ranks(gold), average_ranks(cos)),
        "pearson": pearson(gold, cos),
        "pairs": int(gold.shape[0]),
    }


def main(argv):
    if len(argv) == 7 and argv[1] == "retrieval":
        result = retrieval(*argv[2:])
    elif len(argv) == 5 and argv[1] == "sts":
        result = sts(*argv[2:])
    else:
        sys.exit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
