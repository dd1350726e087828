#!/usr/bin/python3
"""Golden values for the retrieval and STS metrics (tests/test_eval_metrics.cpp).

An independent implementation of the definitions in docs/evaluation.md,
written from trec_eval's documentation (ndcg_cut, map_cut, recall, recip_rank)
and scipy's definitions of pearsonr / spearmanr, in plain Python and numpy.
It builds a small random problem full of the cases that go wrong (tied
scores, ids whose byte order differs from their numeric order, graded
relevance, queries with only grade-0 judgments, queries the run does not
cover, relevant documents ranked past 10 and past 100, a document whose id
equals its query's) and writes the inputs with the expected values to
tests/data/retrieval/golden.json.

    /usr/bin/python3 bench/make_retrieval_goldens.py
"""
import collections
import json
import math
import os
import re

import numpy as np

rng = np.random.default_rng(20261207)

# ---- the problem -----------------------------------------------------------
n_docs = 160
doc_ids = [f"d{i}" for i in range(n_docs)] + ["D7", "d7a", "q5"]
queries = [f"q{i}" for i in range(24)]

qrels = {}  # query -> {doc: grade}
for qi, q in enumerate(queries):
    n_judged = int(rng.integers(1, 7))
    docs = rng.choice(len(doc_ids), size=n_judged, replace=False)
    grades = rng.integers(0, 4, size=n_judged)
    qrels[q] = {doc_ids[d]: int(g) for d, g in zip(docs, grades)}
qrels["q3"] = {"d1": 0, "d2": 0}  # judged, nothing relevant: skipped
qrels["q4"] = {"d9": 0}
qrels["q7"] = {doc_ids[d]: 1 for d in range(0, 150, 10)}  # 15 relevant: AP@100 divides by 15
qrels["q5"]["q5"] = 2
qrels["q0"].update({"d10": 2, "d100": 1, "d7a": 3})  # among the tied documents below  # a document with the query's own id, judged relevant

run = {}  # query -> {doc: score}
for qi, q in enumerate(queries):
    if q == "q11":
        continue  # the run has nothing for q11: it scores 0
    depth = len(doc_ids) if qi % 3 else int(rng.integers(3, 40))
    docs = rng.choice(len(doc_ids), size=depth, replace=False)
    # Scores on a coarse grid: many ties, which only the id order resolves.
    scores = np.round(rng.normal(size=depth), 1)
    run[q] = {doc_ids[d]: float(s) for d, s in zip(docs, scores)}
    if qi % 2 == 0:  # half the queries: a system that is better than chance
        for d in run[q]:
            run[q][d] = round(run[q][d] + 0.8 * qrels[q].get(d, 0), 1)
# Force ties between ids whose byte order is not their numeric order.
for d in ("d9", "d10", "d1", "d100", "D7", "d7a"):
    run["q0"][d] = 3.5
run["q5"]["q5"] = 9.0  # ranks first unless identical ids are ignored


# ---- the definitions --------------------------------------------------------
def ranking(doc_scores, qid, ignore_identical):
    items = [(s, d) for d, s in doc_scores.items() if not (ignore_identical and d == qid)]
    # Score descending, then id descending by bytes: sort the pair in reverse.
    items.sort(key=lambda t: (t[0], t[1].encode("utf-8")), reverse=True)
    return [d for _, d in items]


def metrics(qid, ignore_identical):
    judged = qrels[qid]
    docs = ranking(run.get(qid, {}), qid, ignore_identical)
    rel = [judged.get(d, 0) for d in docs]
    R = sum(1 for g in judged.values() if g >= 1)

    def dcg(grades, k):
        return sum(g / math.log2(i + 2) for i, g in enumerate(grades[:k]) if g > 0)

    ideal = sorted(judged.values(), reverse=True)
    idcg = dcg(ideal, 10)
    ndcg = dcg(rel, 10) / idcg if idcg > 0 else 0.0
    rr = 0.0
    for i, g in enumerate(rel[:10]):
        if g >= 1:
            rr = 1.0 / (i + 1)
            break

    def recall(k):
        return sum(1 for g in rel[:k] if g >= 1) / R

    hits, ap = 0, 0.0
    for i, g in enumerate(rel[:100]):
        if g >= 1:
            hits += 1
            ap += hits / (i + 1)
    ap /= R
    return {"ndcg@10": ndcg, "mrr@10": rr, "recall@1": recall(1), "recall@10": recall(10),
            "recall@100": recall(100), "map@100": ap}


def evaluate(ignore_identical):
    counted = [q for q in queries if any(g >= 1 for g in qrels[q].values())]
    per = {q: metrics(q, ignore_identical) for q in counted}
    keys = ["ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"]
    mean = {k: float(np.mean([per[q][k] for q in counted])) for k in keys}
    return {"per_query": per, "mean": mean, "queries": len(counted), "skipped": len(queries) - len(counted)}


def average_ranks(v):
    v = np.asarray(v, dtype=np.float64)
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v))
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(x, y):
    return float(np.corrcoef(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))[0, 1])


gold = np.round(rng.uniform(0, 5, size=57) * 5) / 5  # STS-like grid: ties
pred = np.round(0.3 * gold + rng.normal(size=57), 2)  # noisy, with ties
sts = {"gold": gold.tolist(), "pred": pred.tolist(), "pearson": pearson(gold, pred),
       "spearman": pearson(average_ranks(gold), average_ranks(pred))}


# ---- BM25 on ../shared/data/manpages-ir, test split --------------------------
# The analyzer and formula of docs/evaluation.md, written again here: the
# CLI's numbers on the real files must match these.
STOP = set("a an and are as at be but by for if in into is it no not of on or such that the their then "
           "there these they this to was will with".split())


def analyze(text):
    # Runs of ASCII letters/digits or non-ASCII bytes; ASCII lowercased.
    words = re.findall(rb"[a-z0-9\x80-\xff]+", text.encode("utf-8").lower())
    return [w for w in words if w.decode("utf-8", "replace") not in STOP]


def bm25_metrics(k1, b):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.join(os.environ.get("PEFT_SHARED", os.path.join(repo, "..", "shared")), "data", "manpages-ir")
    corpus = [json.loads(l) for l in open(os.path.join(root, "corpus.jsonl"), encoding="utf-8")]
    qtext = {}
    for l in open(os.path.join(root, "queries.jsonl"), encoding="utf-8"):
        r = json.loads(l)
        qtext[r["_id"]] = r["text"]
    judged = {}
    with open(os.path.join(root, "qrels", "test.tsv"), encoding="utf-8") as f:
        next(f)
        for l in f:
            q, d, g = l.rstrip("\n").split("\t")
            judged.setdefault(q, {})[d] = int(g)
    docs = []
    for c in corpus:
        title = c.get("title") or ""
        docs.append(analyze(title + " " + c["text"] if title else c["text"]))
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    tf = [collections.Counter(d) for d in docs]
    df = collections.Counter()
    for t in tf:
        df.update(t.keys())
    global qrels, run, queries
    saved = (qrels, run, queries)
    qrels, run, queries = judged, {}, list(judged)
    for q in queries:
        terms = analyze(qtext[q])
        scores = {}
        for i, t in enumerate(tf):
            if not any(w in t for w in terms):
                continue
            s = 0.0
            for w in terms:
                if w in t:
                    idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                    s += idf * t[w] * (k1 + 1) / (t[w] + k1 * (1 - b + b * len(docs[i]) / avgdl))
            scores[corpus[i]["_id"]] = s
        top = sorted(scores.items(), key=lambda t: (t[1], t[0].encode("utf-8")), reverse=True)[:100]
        run[q] = dict(top)
    result = evaluate(True)
    qrels, run, queries = saved
    return {"k1": k1, "b": b, "mean": result["mean"], "queries": result["queries"]}


qrels_tsv = "query-id\tcorpus-id\tscore\n" + "".join(
    f"{q}\t{d}\t{g}\n" for q in queries for d, g in qrels[q].items())
out = {
    "generator": "bench/make_retrieval_goldens.py",
    "qrels_tsv": qrels_tsv,
    "run": {q: [[d, s] for d, s in docs.items()] for q, docs in run.items()},
    "ignore_identical_ids": evaluate(True),
    "keep_identical_ids": evaluate(False),
    "sts": sts,
    "manpages_bm25": [bm25_metrics(0.9, 0.4), bm25_metrics(1.2, 0.75)],
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "retrieval", "golden.json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(path))
