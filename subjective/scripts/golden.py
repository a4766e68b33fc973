#!/usr/bin/env python3
"""Golden values for moshead-subjective, from SUREAL itself.

Writes, under subjective/tests/data/:
  truth.json           the generating parameters (clip quality, subject bias
                       and inconsistency) of the synthetic studies
  votes_wide.csv       study A, wide: clip, s01..s24 (empty = no vote)
  votes_long.csv       study A, long: clip, subject, score (same votes)
  votes_sessions.csv   study B, long with sessions: clip, subject, session, score
  votes_dmos.csv       study C, wide with references: clip, content, is_ref,
                       u01..u12 (each content's reference clip rated too)
  golden.json          per study and model: what SUREAL (and scipy, for the
                       Student-t CI95 and the quantiles) gives

Run once, by hand (tests never run Python):
  python3 -m venv /tmp/sureal-venv && /tmp/sureal-venv/bin/pip install sureal==0.9.0
  /tmp/sureal-venv/bin/python subjective/scripts/golden.py
Made with sureal 0.9.0, numpy 2.4.6, scipy 1.17.1.

Models, as moshead names them:
  mean   sureal.subjective_model.MosModel
  bt500  sureal.subjective_model.MosModel, run_modeling(subject_rejection=True)
  mle    sureal.subjective_model.MaximumLikelihoodEstimationModelContentObliviousAlternativeProjection2
         (TYPE 'MLE_CO_AP2')
Study C runs each with dscore_mode=True (SUREAL's differential scores,
DMOS: every vote + ref_score - the plain MOS of its content's reference
clip, before screening or the MLE), ref_score 100: `mean` is SUREAL's
DmosModel, `bt500` its SubjrejDmosModel.
"""
import csv
import io
import json
import math
import os
import sys
import contextlib
from types import SimpleNamespace

import numpy as np
import scipy
from scipy import stats
import sureal
from sureal.dataset_reader import RawDatasetReader
from sureal.subjective_model import (
    MosModel,
    MaximumLikelihoodEstimationModelContentObliviousAlternativeProjection2 as MleCoAp2,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")


def study_a(rng):
    """40 clips x 24 subjects, 0-100 integer votes, ~15% missing, three
    careless subjects: s06 votes at random, s11 is erratic, s18 strongly
    biased."""
    n_clips, n_subj = 40, 24
    q = rng.uniform(15, 90, n_clips)
    b = rng.normal(0, 6, n_subj)
    v = rng.uniform(4, 14, n_subj)
    v[10] = 30.0  # s11: erratic
    b[17] = 25.0  # s18: strongly biased
    votes = np.full((n_clips, n_subj), np.nan)
    for j in range(n_clips):
        for i in range(n_subj):
            if rng.uniform() < 0.15:
                continue
            vote = q[j] + b[i] + v[i] * rng.normal()
            if i == 5:  # s06: at random
                vote = rng.uniform(0, 100)
            votes[j, i] = min(100, max(0, round(vote)))
    return q, b, v, votes


def study_b(rng):
    """15 clips x 8 subjects x 2 sessions, ACR-5 style 1..5 continuous
    (one decimal), ~10% missing."""
    n_clips, n_subj, n_sess = 15, 8, 2
    q = rng.uniform(1.5, 4.5, n_clips)
    b = rng.normal(0, 0.3, n_subj)
    v = rng.uniform(0.2, 0.7, n_subj)
    votes = np.full((n_clips, n_subj, n_sess), np.nan)
    for j in range(n_clips):
        for i in range(n_subj):
            for r in range(n_sess):
                if rng.uniform() < 0.10:
                    continue
                votes[j, i, r] = min(5, max(1, round(q[j] + b[i] + v[i] * rng.normal(), 1)))
    return q, b, v, votes


def study_c(rng):
    """6 contents x (a reference and 4 distortions) x 12 subjects, 0-100
    integer votes, ~10% missing (never a reference vote: SUREAL's DMOS
    needs every reference rated), the reference best on average."""
    n_cont, per, n_subj = 6, 5, 12
    contents = [k for k in range(n_cont) for _ in range(per)]
    is_ref = [j % per == 0 for j in range(n_cont * per)]
    top = rng.uniform(75, 95, n_cont)
    q = np.array([top[contents[j]] - (0 if is_ref[j] else rng.uniform(5, 60))
                  for j in range(n_cont * per)])
    b = rng.normal(0, 5, n_subj)
    v = rng.uniform(3, 12, n_subj)
    votes = np.full((n_cont * per, n_subj), np.nan)
    for j in range(n_cont * per):
        for i in range(n_subj):
            if not is_ref[j] and rng.uniform() < 0.10:
                continue
            votes[j, i] = min(100, max(0, round(q[j] + b[i] + v[i] * rng.normal())))
    return q, b, v, votes, contents, is_ref


def dataset(clips, subjects, votes3, contents=None, refs=None, ref_score=None):
    """A SUREAL dataset object: dict 'os' keyed by subject (sorted as SUREAL
    sorts them), a list of repetitions each, NaN for a missing one. With
    `contents` (a content id per clip) and `refs` (the reference clip of
    each content), a reference clip's path is its content's ref path."""
    dis = []
    for j, clip in enumerate(clips):
        os_ = {}
        for i, s in enumerate(subjects):
            reps = list(votes3[j, i, :])
            if all(math.isnan(x) for x in reps):
                continue
            os_[s] = reps if len(reps) > 1 else reps[0]
        content = 0 if contents is None else contents[j]
        dis.append({"content_id": content, "asset_id": j, "os": os_, "path": clip})
    if refs is None:
        ref_videos = [{"content_id": 0, "content_name": "c", "path": "ref"}]
    else:
        ref_videos = [{"content_id": k, "content_name": "c%d" % k, "path": r}
                      for k, r in enumerate(refs)]
    return SimpleNamespace(
        dataset_name="moshead-golden",
        ref_videos=ref_videos,
        dis_videos=dis,
        ref_score=ref_score,
    )


def fl(x):
    x = float(x)
    return x if math.isfinite(x) else None


def run(clips, subjects, votes3, contents=None, refs=None, ref_score=None):
    reader = RawDatasetReader(dataset(clips, subjects, votes3, contents, refs, ref_score))
    dscore = {} if ref_score is None else {"dscore_mode": True}
    # SUREAL sorts observers; ours are named so that sorted = given
    assert reader._get_list_observers() == subjects
    out = {}
    flat = votes3.reshape(votes3.shape[0], -1)
    counts = np.sum(~np.isnan(flat), axis=1)
    for name, model, kwargs in [
        ("mean", MosModel, {}),
        ("bt500", MosModel, {"subject_rejection": True}),
        ("mle", MleCoAp2, {}),
    ]:
        with contextlib.redirect_stdout(io.StringIO()):
            res = model(reader).run_modeling(**kwargs, **dscore)
        scores = res["quality_scores"]
        std = res["quality_scores_std"]
        m = {"clips": {}, "subjects": {}}
        kept = list(range(len(subjects)))
        if name == "bt500":
            kept = [i for i, r in enumerate(res["observer_rejected"]) if not r]
        for j, clip in enumerate(clips):
            if name == "mle":
                n = int(counts[j])
                ci = 1.95996 * std[j]
            else:
                n = int(np.sum(~np.isnan(votes3[j][kept, :])))
                # moshead's CI95 for a mean: Student-t with n - 1 df
                ci = stats.t.ppf(0.975, n - 1) * std[j] if n >= 2 else float("nan")
            m["clips"][clip] = {
                "score": fl(scores[j]),
                "std_err": fl(std[j]),
                "ci95": fl(ci),
                "votes": n,
            }
            # SUREAL's own CI95 (normal), for the record
            m["clips"][clip]["sureal_ci95"] = fl(res["quality_scores_ci95"][0][j])
        for i, s in enumerate(subjects):
            d = {}
            if name == "mle":
                d = {
                    "bias": fl(res["observer_bias"][i]),
                    "bias_std": fl(res["observer_bias_std"][i]),
                    "inconsistency": fl(res["observer_inconsistency"][i]),
                    "inconsistency_std": fl(res["observer_inconsistency_std"][i]),
                    "inconsistency_ci95": [
                        fl(res["observer_inconsistency_ci95"][0][i]),
                        fl(res["observer_inconsistency_ci95"][1][i]),
                    ],
                }
            if name == "bt500":
                d = {
                    "rejected": bool(res["observer_rejected"][i]),
                    "first_stat": fl(res["observer_rejected_1st_stats"][i]),
                    "second_stat": fl(res["observer_rejected_2nd_stats"][i]),
                }
            m["subjects"][s] = d
        if name == "mle":
            m["num_iter"] = int(res["num_iter"])
        out[name] = m
    return out


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def num(x):
    return "" if math.isnan(x) else ("%d" % x if float(x).is_integer() else repr(float(x)))


def main():
    rng = np.random.default_rng(20261207)
    golden = {
        "sureal": sureal.__version__ if hasattr(sureal, "__version__") else "0.9.0",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    truth = {}

    # study A
    q, b, v, votes = study_a(rng)
    clips = ["a%02d" % (j + 1) for j in range(votes.shape[0])]
    subjects = ["s%02d" % (i + 1) for i in range(votes.shape[1])]
    # every subject and clip has two votes or more (moshead drops less)
    assert (np.sum(~np.isnan(votes), axis=0) >= 2).all()
    assert (np.sum(~np.isnan(votes), axis=1) >= 2).all()
    truth["a"] = {"quality": dict(zip(clips, q.tolist())), "bias": dict(zip(subjects, b.tolist())),
                  "inconsistency": dict(zip(subjects, v.tolist()))}
    write_csv(os.path.join(OUT, "votes_wide.csv"), ["clip"] + subjects,
              [[c] + [num(x) for x in votes[j]] for j, c in enumerate(clips)])
    write_csv(os.path.join(OUT, "votes_long.csv"), ["clip", "subject", "score"],
              [[c, s, num(votes[j, i])] for j, c in enumerate(clips)
               for i, s in enumerate(subjects) if not math.isnan(votes[j, i])])
    golden["a"] = run(clips, subjects, votes[:, :, None])

    # study B (sessions)
    q, b, v, votes = study_b(rng)
    clips = ["b%02d" % (j + 1) for j in range(votes.shape[0])]
    subjects = ["t%d" % (i + 1) for i in range(votes.shape[1])]
    assert (np.sum(~np.isnan(votes.reshape(votes.shape[0], -1)), axis=1) >= 2).all()
    truth["b"] = {"quality": dict(zip(clips, q.tolist())), "bias": dict(zip(subjects, b.tolist())),
                  "inconsistency": dict(zip(subjects, v.tolist()))}
    write_csv(os.path.join(OUT, "votes_sessions.csv"), ["clip", "subject", "session", "score"],
              [[c, s, "day%d" % (r + 1), num(votes[j, i, r])] for j, c in enumerate(clips)
               for i, s in enumerate(subjects) for r in range(votes.shape[2])
               if not math.isnan(votes[j, i, r])])
    golden["b"] = run(clips, subjects, votes)

    # study C (differential scores against each content's reference)
    q, b, v, votes, contents, is_ref = study_c(rng)
    clips = ["c%d_%s" % (contents[j], "ref" if is_ref[j] else "d%d" % (j % 5))
             for j in range(votes.shape[0])]
    subjects = ["u%02d" % (i + 1) for i in range(votes.shape[1])]
    refs = [clips[j] for j in range(len(clips)) if is_ref[j]]
    assert (np.sum(~np.isnan(votes), axis=0) >= 2).all()
    assert (np.sum(~np.isnan(votes), axis=1) >= 2).all()
    truth["c"] = {"quality": dict(zip(clips, q.tolist())), "bias": dict(zip(subjects, b.tolist())),
                  "inconsistency": dict(zip(subjects, v.tolist())), "ref_score": 100}
    write_csv(os.path.join(OUT, "votes_dmos.csv"), ["clip", "content", "is_ref"] + subjects,
              [[c, "c%d" % contents[j], "1" if is_ref[j] else "0"] + [num(x) for x in votes[j]]
               for j, c in enumerate(clips)])
    golden["c"] = run(clips, subjects, votes[:, :, None], contents, refs, 100)

    # quantiles the special functions are checked against
    golden["quantiles"] = {
        "t975": {str(df): float(stats.t.ppf(0.975, df)) for df in [1, 2, 3, 5, 9, 17, 30, 100, 1000]},
        "chi2_025": {str(df): float(stats.chi2.ppf(0.025, df)) for df in [1, 2, 3, 7, 20, 34, 60, 500]},
        "chi2_975": {str(df): float(stats.chi2.ppf(0.975, df)) for df in [1, 2, 3, 7, 20, 34, 60, 500]},
    }

    with open(os.path.join(OUT, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")
    rej = [s for s, d in golden["a"]["bt500"]["subjects"].items() if d["rejected"]]
    print("study A: bt500 rejects", rej, "; mle iterations", golden["a"]["mle"]["num_iter"],
          "; study B mle iterations", golden["b"]["mle"]["num_iter"], file=sys.stderr)


if __name__ == "__main__":
    main()
