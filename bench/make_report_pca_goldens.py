#!/usr/bin/env python3
"""Writes the goldens of the report's embedding pictures (tests/test_report.cpp).

tests/data/report_embedding/embedding_eval.json: an embedding run's
evaluation record as `peft train --task embedding` writes it (before/after:
positive_cos, negative_cos, queries, documents), from made-up vectors with a
clear structure (a few dominant directions, so the two leading principal
components are well separated); float32 values, written exactly.

tests/data/report_embedding/pca_expected.json: the two leading principal
components of all those vectors together (before and after, queries and
documents), computed independently of peft.cpp with numpy's symmetric
eigensolver on the population covariance C = Xc^T Xc / n; each axis signed
so that its largest-magnitude component is positive; and the projection of
every vector, in file order (before queries, before documents, after
queries, after documents).

Run: /usr/bin/python3 bench/make_report_pca_goldens.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(20261207)
D, NQ, ND = 16, 20, 30
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "report_embedding")

# Dominant directions with decreasing spread: eigenvalues far apart.
scales = np.array([3.0, 1.8, 1.0, 0.6] + [0.25] * (D - 4))
basis, _ = np.linalg.qr(rng.standard_normal((D, D)))


def phase(shift, noise):
    q = (rng.standard_normal((NQ, D)) * scales) @ basis.T + shift
    # Document i is query i's positive: near it, closer after training.
    d = np.concatenate([q + rng.standard_normal((NQ, D)) * noise,
                        (rng.standard_normal((ND - NQ, D)) * scales) @ basis.T + shift])
    q, d = q.astype(np.float32), d.astype(np.float32)

    def cos(a, b):
        a, b = a.astype(np.float64), b.astype(np.float64)
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    pos = [cos(q[i], d[i]) for i in range(NQ)]
    neg = [cos(q[i], d[(i + 7) % ND]) for i in range(NQ)] + [cos(q[i], d[(i + 13) % ND]) for i in range(NQ)]
    return {"positive_cos": pos, "negative_cos": neg,
            "queries": [[float(x) for x in row] for row in q],
            "documents": [[float(x) for x in row] for row in d]}


before = phase(0.0, 0.9)
after = phase(np.full(D, 0.5), 0.4)
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "embedding_eval.json"), "w") as f:
    json.dump({"before": before, "after": after}, f)

rows = np.array(before["queries"] + before["documents"] + after["queries"] + after["documents"], dtype=np.float64)
mean = rows.mean(axis=0)
xc = rows - mean
cov = xc.T @ xc / len(rows)
w, v = np.linalg.eigh(cov)
order = np.argsort(w)[::-1]
axes = []
for c in order[:2]:
    a = v[:, c]
    if a[np.argmax(np.abs(a))] < 0:
        a = -a
    axes.append(a)
proj = xc @ np.array(axes).T
with open(os.path.join(OUT, "pca_expected.json"), "w") as f:
    json.dump({"mean": mean.tolist(), "axes": [a.tolist() for a in axes],
               "variance": [float(w[order[0]]), float(w[order[1]])], "total_variance": float(np.trace(cov)),
               "projections": proj.tolist()}, f)
print("eigenvalues", np.round(w[order][:5], 4))
