"""Golden values of the ridge and SVR heads, from scikit-learn (libsvm).

Run once, from this directory, in a throwaway virtualenv (not committed):

    python3 -m venv /tmp/skvenv && /tmp/skvenv/bin/pip install scikit-learn numpy
    /tmp/skvenv/bin/python golden_heads.py > golden_heads.json

The features are scaled here exactly as moshead scales them (ridge:
z-scores with the population SD; SVR: min-max to [0, 1], both on the
training rows), so the fixture holds the raw rows and the reference
solutions in the scaled space. SVR runs with shrinking off and a tight
tolerance so both solvers stop at the same optimum.
"""

import json

import numpy as np
import sklearn
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.svm import SVR, NuSVR

rng = np.random.default_rng(20261201)
n, n_test = 48, 12
lo = np.array([0.0, -1.0, 100.0, 0.0])
hi = np.array([10.0, 1.0, 200.0, 0.001])
x_all = lo + (hi - lo) * rng.random((n + n_test, 4))
u = (x_all - lo) / (hi - lo)
z = 2.0 * np.sin(3.0 * u[:, 0]) + 1.5 * u[:, 1] ** 2 - u[:, 2] + 0.5 * u[:, 3]
y_all = np.clip(1.0 + 4.0 / (1.0 + np.exp(-z)) + 0.25 * rng.standard_normal(n + n_test), 1.0, 5.0)
x, y, x_test = x_all[:n], y_all[:n], x_all[n:]

# Ridge on z-scores of the training rows.
mean = x.mean(axis=0)
sd = x.std(axis=0)
xs, xs_test = (x - mean) / sd, (x_test - mean) / sd
grid = [10.0 ** (-3.0 + k / 4.0) for k in range(33)]
ridge_cv = RidgeCV(alphas=grid, fit_intercept=True).fit(xs, y)
fixed_alpha = 3.0
ridge_fixed = Ridge(alpha=fixed_alpha, fit_intercept=True, solver="svd").fit(xs, y)

# SVR on min-max scaling of the training rows.
xmin, xmax = x.min(axis=0), x.max(axis=0)
xm, xm_test = (x - xmin) / (xmax - xmin), (x_test - xmin) / (xmax - xmin)


def svr_case(name, model, params):
    model.fit(xm, y)
    return {
        "name": name,
        "params": params,
        "support": [int(i) for i in model.support_],
        "dual_coef": model.dual_coef_[0].tolist(),
        "support_vectors": model.support_vectors_.tolist(),
        "intercept": float(model.intercept_[0]),
        "predict_train": model.predict(xm).tolist(),
        "predict_test": model.predict(xm_test).tolist(),
    }


tol = 1e-9
cases = [
    svr_case(
        "epsilon-rbf",
        SVR(kernel="rbf", C=2.0, gamma=0.25, epsilon=0.1, tol=tol, shrinking=False),
        {"type": "epsilon", "kernel": "rbf", "c": 2.0, "gamma": 0.25, "epsilon": 0.1, "tol": tol},
    ),
    svr_case(
        "nu-rbf",
        NuSVR(kernel="rbf", C=1.5, gamma=0.7, nu=0.4, tol=tol, shrinking=False),
        {"type": "nu", "kernel": "rbf", "c": 1.5, "gamma": 0.7, "nu": 0.4, "tol": tol},
    ),
    svr_case(
        "epsilon-linear",
        SVR(kernel="linear", C=0.5, epsilon=0.2, tol=tol, shrinking=False),
        {"type": "epsilon", "kernel": "linear", "c": 0.5, "gamma": 0.25, "epsilon": 0.2, "tol": tol},
    ),
    svr_case(
        "nu-linear",
        NuSVR(kernel="linear", C=4.0, nu=0.6, tol=tol, shrinking=False),
        {"type": "nu", "kernel": "linear", "c": 4.0, "gamma": 0.25, "nu": 0.6, "tol": tol},
    ),
]

print(
    json.dumps(
        {
            "generator": "golden_heads.py, scikit-learn " + sklearn.__version__,
            "x": x.tolist(),
            "y": y.tolist(),
            "x_test": x_test.tolist(),
            "ridge": {
                "grid": grid,
                "loo": {
                    "alpha": float(ridge_cv.alpha_),
                    "coef": ridge_cv.coef_.tolist(),
                    "intercept": float(ridge_cv.intercept_),
                    "predict_test": ridge_cv.predict(xs_test).tolist(),
                },
                "fixed": {
                    "alpha": fixed_alpha,
                    "coef": ridge_fixed.coef_.tolist(),
                    "intercept": float(ridge_fixed.intercept_),
                    "predict_test": ridge_fixed.predict(xs_test).tolist(),
                },
            },
            "svr": cases,
        },
        indent=1,
    )
)
