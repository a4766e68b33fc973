"""Reference values for host/src/evaluation/compare.rs: the ITU-T P.1401
(section 7.6) tests between two models' predictions and the distributions
their p-values come from, computed with scipy and numpy (independently of
moshead). Run from the repository root:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy numpy
    /tmp/venv/bin/python tests/data/golden/compare.py > tests/data/golden/compare.json

Tests read the JSON; they never run Python.

- Dependent correlations (two models' PLCC with the same MOS): Steiger
  (1980), Psychological Bulletin 87(2), eq. 15 (Z1*, pooled r).
- RMSE: P.1401 7.6.4, rmse with N - d in the denominator, F = larger^2 /
  smaller^2 with (N - d, N - d) degrees of freedom, two-sided p = 2 sf.
- Outlier ratio: P.1401 7.6.2, |error| > 2 SE over rows with a known SE,
  two proportions with the pooled proportion, two-sided normal p.
"""
import json

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261207)
out = {
    "generator": f"scipy {scipy.__version__}, numpy {np.__version__}",
    "normal_sf": [],
    "f_sf": [],
    "p1401": [],
}

for z in [0.0, 0.5, 1.959963984540054, 3.0, 6.5, -1.2]:
    out["normal_sf"].append({"z": z, "sf": float(stats.norm.sf(z))})

for f, d1, d2 in [(1.0, 10, 10), (1.7, 36, 36), (2.5, 4, 7), (0.3, 20, 50), (12.0, 116, 116), (1.05, 1000, 1000)]:
    out["f_sf"].append({"f": f, "d1": d1, "d2": d2, "sf": float(stats.f.sf(f, d1, d2))})

for n, noise_a, noise_b, d in [(30, 0.3, 0.6, 4), (80, 0.5, 0.55, 4), (12, 0.4, 1.0, 0), (200, 0.7, 0.6, 4)]:
    mos = np.round(rng.uniform(1, 5, n), 6)
    a = np.round(mos + rng.normal(0, noise_a, n), 6)
    b = np.round(mos + rng.normal(0, noise_b, n), 6)
    se = np.round(rng.uniform(0.05, 0.4, n), 6)
    se_list = [float(s) for s in se]
    # every fifth row has no known SE
    for i in range(0, n, 5):
        se_list[i] = None

    r_a = stats.pearsonr(a, mos).statistic
    r_b = stats.pearsonr(b, mos).statistic
    r_ab = stats.pearsonr(a, b).statistic
    rbar = (r_a + r_b) / 2
    psi = r_ab * (1 - 2 * rbar**2) - 0.5 * rbar**2 * (1 - 2 * rbar**2 - r_ab**2)
    c = psi / (1 - rbar**2) ** 2
    z = np.sqrt(n - 3) * (np.arctanh(r_a) - np.arctanh(r_b)) / np.sqrt(2 - 2 * c)
    steiger_p = 2 * stats.norm.sf(abs(z))

    rmse_a = np.sqrt(np.sum((a - mos) ** 2) / (n - d))
    rmse_b = np.sqrt(np.sum((b - mos) ** 2) / (n - d))
    f = max(rmse_a, rmse_b) ** 2 / min(rmse_a, rmse_b) ** 2
    f_p = min(1.0, 2 * stats.f.sf(f, n - d, n - d))

    known = np.array([s is not None for s in se_list])
    s = np.array([x if x is not None else np.nan for x in se_list])[known]
    out_a = np.abs(mos[known] - a[known]) > 2 * s
    out_b = np.abs(mos[known] - b[known]) > 2 * s
    m = int(known.sum())
    or_a, or_b = out_a.mean(), out_b.mean()
    p = (or_a * m + or_b * m) / (2 * m)
    or_z = (or_a - or_b) / np.sqrt(p * (1 - p) * (1 / m + 1 / m))
    or_p = 2 * stats.norm.sf(abs(or_z))

    out["p1401"].append(
        {
            "a": a.tolist(),
            "b": b.tolist(),
            "mos": mos.tolist(),
            "se": se_list,
            "d": d,
            "r_a": float(r_a),
            "r_ab": float(r_ab),
            "steiger_z": float(z),
            "steiger_p": float(steiger_p),
            "rmse_a": float(rmse_a),
            "rmse_b": float(rmse_b),
            "f": float(f),
            "f_p": float(f_p),
            "or_a": float(or_a),
            "or_b": float(or_b),
            "or_n": m,
            "or_z": float(or_z),
            "or_p": float(or_p),
        }
    )

print(json.dumps(out))
