#!/usr/bin/env python3
"""Generates the cross-corpus fixture of tests/predict.rs and its golden values.

A chug-hdr model on the konvid-v1 schema with a hand-set linear head
(standardisation mean 0, SD 1; weights 3.0 on adm2, 0.2 on motion2, 0
elsewhere; bias -2.5), so every prediction is

    p = 1 + 4 * sigmoid(3.0 * adm2 + 0.2 * motion2 - 2.5)

scored on 40 KoNViD-1k rows whose MOS is a VQEG logistic of p plus a fixed
deterministic perturbation. Both adapters map their native scale endpoints
onto 1 and 5 (CHUG 0-100, KonViD 1-5), so the scale alignment is the
identity and the metrics are computed on p against the MOS directly.

Reference metrics, in plain Python (no numpy or scipy, so anyone can rerun
it): Pearson, Spearman (average ranks), Kendall tau-b, RMSE, and the VQEG
4-parameter logistic Q(x) = b2 + (b1 - b2) / (1 + exp(-(x - b3) / |b4|))
fitted by Levenberg-Marquardt least squares, from the VQEG start point
[max y, min y, mean x, SD x].

Run from this directory: python3 generate.py (writes konvid_rows.jsonl and
expected.json).
"""
import json
import math

WEIGHTS = {"adm2": 3.0, "motion2": 0.2}
BIAS = -2.5
TRUE_BETA = [4.6, 1.3, 3.0, 0.45]
N = 40


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logistic(beta, x):
    b1, b2, b3, b4 = beta
    return b2 + (b1 - b2) * sigmoid((x - b3) / abs(b4))


def lcg(state):
    state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
    return state, (state >> 11) / 2**53


def rows():
    state = 20260508
    out = []
    for i in range(N):
        state, u = lcg(state)
        state, v = lcg(state)
        state, w = lcg(state)
        adm2 = round(0.05 + 0.9 * (i + 0.5 * u) / N, 6)
        motion2 = round(10.0 * v, 6)
        z = WEIGHTS["adm2"] * adm2 + WEIGHTS["motion2"] * motion2 + BIAS
        p = 1.0 + 4.0 * sigmoid(z)
        mos = round(min(5.0, max(1.0, logistic(TRUE_BETA, p) + 0.5 * (w - 0.5))), 6)
        out.append({"corpus": "konvid-1k", "src": f"cross_{i:03d}.mp4",
                    "mos": mos, "adm2": adm2, "motion2": motion2})
    return out


def prediction(r):
    z = WEIGHTS["adm2"] * r["adm2"] + WEIGHTS["motion2"] * r["motion2"] + BIAS
    return 1.0 + 4.0 * sigmoid(z)


def mean(v):
    return sum(v) / len(v)


def pearson(a, b):
    ma, mb = mean(a), mean(b)
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb)


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return r


def kendall_tau_b(a, b):
    conc = disc = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    return (conc - disc) / math.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))


def rmse(a, b):
    return math.sqrt(mean([(x - y) ** 2 for x, y in zip(a, b)]))


def solve4(a, g):
    """Gaussian elimination with partial pivoting for a 4x4 system."""
    m = [row[:] + [g[i]] for i, row in enumerate(a)]
    n = len(g)
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x


def fit_logistic(x, y):
    sd = math.sqrt(sum((v - mean(x)) ** 2 for v in x) / len(x))
    beta = [max(y), min(y), mean(x), sd]

    def sse(b):
        return sum((logistic(b, xi) - yi) ** 2 for xi, yi in zip(x, y))

    lam = 1e-3
    cost = sse(beta)
    for _ in range(2000):
        b1, b2, b3, b4 = beta
        s4 = abs(b4)
        jt_j = [[0.0] * 4 for _ in range(4)]
        jt_r = [0.0] * 4
        for xi, yi in zip(x, y):
            s = sigmoid((xi - b3) / s4)
            ds = s * (1.0 - s)
            jac = [s, 1.0 - s, -(b1 - b2) * ds / s4,
                   -(b1 - b2) * ds * (xi - b3) / (s4 * s4) * (1.0 if b4 >= 0 else -1.0)]
            r = logistic(beta, xi) - yi
            for i in range(4):
                jt_r[i] += jac[i] * r
                for j in range(4):
                    jt_j[i][j] += jac[i] * jac[j]
        a = [[jt_j[i][j] * (1.0 + lam if i == j else 1.0) for j in range(4)] for i in range(4)]
        step = solve4(a, [-v for v in jt_r])
        trial = [b + d for b, d in zip(beta, step)]
        c = sse(trial)
        if c < cost:
            done = cost - c < 1e-15 * max(cost, 1e-300)
            beta, cost, lam = trial, c, lam / 10.0
            if done:
                break
        else:
            lam *= 10.0
            if lam > 1e12:
                break
    return [beta[0], beta[1], beta[2], abs(beta[3])]


def main():
    data = rows()
    with open("konvid_rows.jsonl", "w") as f:
        for r in data:
            f.write(json.dumps(r) + "\n")
    p = [prediction(r) for r in data]
    y = [r["mos"] for r in data]
    beta = fit_logistic(p, y)
    mapped = [logistic(beta, v) for v in p]
    expected = {
        "model": {"weights": WEIGHTS, "bias": BIAS},
        "rows": len(data),
        "predictions": p,
        "plcc": pearson(p, y),
        "srocc": pearson(ranks(p), ranks(y)),
        "krocc": kendall_tau_b(p, y),
        "rmse": rmse(p, y),
        "logistic_beta": beta,
        "plcc_mapped": pearson(mapped, y),
        "rmse_mapped": rmse(mapped, y),
    }
    with open("expected.json", "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
