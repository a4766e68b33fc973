#!/usr/bin/env python3
"""The practitioner's scikit-learn recipe on moshead-bench's own splits.

Runs what the BVQA benchmarks run (non-finite features set to 0, MinMaxScaler
on the training part, GridSearchCV(SVR(), C in 2^{1,4,7,10} x gamma in
2^{-8,-5,-2,1}, cv=3), refit, predict) on the splits that
`moshead-bench accuracy --splits-out FILE` wrote, with the training rows in
the order the bench's Rust reproduction (`bench/src/recipe.rs`) cuts its three
inner folds, and prints per split SROCC and the chosen C and gamma as JSON
lines, then the median. Compare them with the bench's `recipe` and `auto`
rows (`--json`: `per_split_srocc`): given the bench's `--json` output as a
third argument, the script ends with every bench head paired with
scikit-learn split by split (median and mean of the per-split differences of
SROCC, the standard error of the mean, splits won).

    moshead-bench accuracy --only dev-set --heads auto,recipe --json \
        --splits-out splits.json > bench.json
    python3 bench/scripts/sklearn_recipe.py DEV.csv splits.json bench.json

Needs numpy, scipy and scikit-learn (pip install scikit-learn).
"""
import csv
import json
import math
import sys

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVR


def read_dev_set(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in rows[0] if c.startswith("videval_")]
    x = np.array([[float(r[c]) if r[c].strip() else math.nan for c in cols] for r in rows])
    x[~np.isfinite(x)] = 0.0
    y = np.array([float(r["mos"]) for r in rows])
    return x, y


def main():
    x, y = read_dev_set(sys.argv[1])
    with open(sys.argv[2]) as f:
        corpora = json.load(f)
    dev = next(c for c in corpora if c["corpus"] == "dev-set")
    assert dev["rows"] == len(y), "the splits are of another file"
    grid = {"C": [2.0**k for k in (1, 4, 7, 10)], "gamma": [2.0**k for k in (-8, -5, -2, 1)]}
    sroccs = []
    for s in dev["splits"]:
        order = np.array(s["recipe_order"])
        test = np.array(s["eval"])
        scaler = MinMaxScaler().fit(x[order])
        search = GridSearchCV(SVR(), grid, cv=KFold(3), n_jobs=2)
        search.fit(scaler.transform(x[order]), y[order])
        pred = search.predict(scaler.transform(x[test]))
        srocc = spearmanr(pred, y[test])[0]
        plcc = pearsonr(pred, y[test])[0]
        sroccs.append(srocc)
        p = search.best_params_
        print(json.dumps({
            "index": s["index"], "srocc": srocc, "plcc": plcc,
            "C": f"2^{round(math.log2(p['C']))}", "gamma": f"2^{round(math.log2(p['gamma']))}",
        }), flush=True)
    print(json.dumps({"splits": len(sroccs), "median_srocc": float(np.median(sroccs))}))
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            bench = json.load(f)
        corpus = next(c for c in bench["accuracy"] if c["corpus"] == "dev-set")
        for head in corpus["heads"]:
            d = np.array(head["per_split_srocc"], dtype=float) - np.array(sroccs)
            d = d[np.isfinite(d)]
            print(json.dumps({
                "head": head["head"], "against": "scikit-learn", "splits": len(d),
                "median_srocc": head["median_srocc"], "against_median_srocc": float(np.median(sroccs)),
                "median_diff": float(np.median(d)), "mean_diff": float(d.mean()),
                "se_diff": float(d.std(ddof=1) / math.sqrt(len(d))), "higher": int((d > 0).sum()),
            }))


if __name__ == "__main__":
    main()
