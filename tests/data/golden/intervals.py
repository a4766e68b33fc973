"""Reference values for host/src/evaluation/intervals.rs, computed with scipy
and numpy (independently of moshead). Run from the repository root:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy numpy
    /tmp/venv/bin/python tests/data/golden/intervals.py > tests/data/golden/intervals.json

Tests read the JSON; they never run Python.
"""
import json

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261207)
out = {"generator": f"scipy {scipy.__version__}, numpy {np.__version__}", "fisher_z": [], "percentile": []}

for n, noise in [(8, 0.8), (40, 0.5), (200, 1.5)]:
    x = np.round(rng.uniform(1, 5, n), 6)
    y = np.round(x + rng.normal(0, noise, n), 6)
    res = stats.pearsonr(x, y)
    ci = res.confidence_interval(confidence_level=0.95)  # Fisher z
    out["fisher_z"].append(
        {"x": x.tolist(), "y": y.tolist(), "r": float(res.statistic), "ci95": [float(ci.low), float(ci.high)]}
    )

for m in [7, 1000]:
    v = np.round(rng.normal(0.8, 0.05, m), 6)
    q = [0.0, 0.025, 0.05, 0.5, 0.95, 0.975, 1.0]
    out["percentile"].append({"values": v.tolist(), "q": q, "want": [float(np.percentile(v, 100 * p)) for p in q]})

print(json.dumps(out))
