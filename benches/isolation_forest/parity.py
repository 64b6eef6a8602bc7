"""Side-by-side check of `fds model eval` against scikit-learn's IsolationForest.

Two steps, nothing downloaded (the classic sets are built from data bundled inside
scikit-learn):

    python parity.py make-data DIR            # writes the CSV files into DIR
    python parity.py compare DIR --fds PATH   # runs both on every CSV, prints a table

Both sides use 100 trees and 256 rows per tree and are run with seeds 0..SEEDS-1; the
table shows the mean (and the spread, min-max) over the seeds. Times are training plus
scoring every row, CSV parsing excluded, one thread.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

LABEL = "outlier"


def write_csv(path, X, y):
    rows = np.column_stack([np.arange(len(y)), X, y.astype(int)])
    header = ["id"] + [f"x{i}" for i in range(X.shape[1])] + [LABEL]
    fmt = ["%d"] + ["%.17g"] * X.shape[1] + ["%d"]
    np.savetxt(path, rows, delimiter=",", header=",".join(header), comments="", fmt=fmt)


def blobs(seed, n=2000, d=6, outlier_share=0.05, centres=3):
    """Gaussian blobs (unit variance, centres in [-5, 5]^d) plus uniform outliers over
    the blobs' bounding box widened by 2 on each side. Outliers that land inside a blob
    stay labelled outliers: the task is not perfectly separable, as in real data."""
    rng = np.random.default_rng(seed)
    n_out = int(n * outlier_share)
    n_in = n - n_out
    c = rng.uniform(-5, 5, size=(centres, d))
    X_in = c[rng.integers(0, centres, n_in)] + rng.normal(size=(n_in, d))
    lo, hi = X_in.min(axis=0) - 2, X_in.max(axis=0) + 2
    X_out = rng.uniform(lo, hi, size=(n_out, d))
    X = np.vstack([X_in, X_out])
    y = np.r_[np.zeros(n_in), np.ones(n_out)]
    order = rng.permutation(n)
    return X[order], y[order]


def rare_class(X, target, inlier_classes, outlier_class, n_outliers, seed):
    """Inliers: every row of `inlier_classes`; outliers: `n_outliers` rows drawn from
    `outlier_class` (the usual construction of the ODDS benchmark sets)."""
    rng = np.random.default_rng(seed)
    inl = np.flatnonzero(np.isin(target, inlier_classes))
    out = rng.choice(np.flatnonzero(target == outlier_class), n_outliers, replace=False)
    idx = np.r_[inl, out]
    y = np.r_[np.zeros(len(inl)), np.ones(len(out))]
    order = rng.permutation(len(idx))
    return X[idx][order], y[order]


def make_data(out):
    out.mkdir(parents=True, exist_ok=True)
    for seed in (1, 2, 3):
        write_csv(out / f"blobs-s{seed}.csv", *blobs(seed))
    write_csv(out / "blobs-large.csv", *blobs(4, n=50000, d=10, outlier_share=0.02, centres=5))
    # Breast cancer (Wisconsin diagnostic): benign inliers, 21 malignant outliers (as ODDS "wbc").
    bc = load_breast_cancer()
    write_csv(out / "breast-cancer.csv", *rare_class(bc.data, bc.target, [1], 0, 21, 7))
    # Wine: classes 1 and 2 inliers, 10 of class 0 as outliers (as ODDS "wine").
    wine = load_wine()
    write_csv(out / "wine.csv", *rare_class(wine.data, wine.target, [1, 2], 0, 10, 7))
    # Digits: 1..9 inliers, 90 zeros as outliers (5 %); 64 pixel features, some constant.
    digits = load_digits()
    write_csv(out / "digits-0.csv", *rare_class(digits.data, digits.target, list(range(1, 10)), 0, 90, 7))


def sklearn_run(X, y, seed):
    # scikit-learn warns when max_samples exceeds the rows (wine); it then uses every row,
    # as `fds` does.
    warnings.filterwarnings("ignore", message="max_samples")
    started = time.perf_counter()
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=seed, n_jobs=1).fit(X)
    scores = -model.score_samples(X)
    elapsed = time.perf_counter() - started
    return roc_auc_score(y, scores), average_precision_score(y, scores), elapsed * 1e3


def fds_run(fds, path, seed):
    cmd = [fds, "model", "eval", "--csv", str(path), "--label", LABEL, "--drop", "id", "--seed", str(seed), "--json"]
    report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return report["roc_auc"], report["pr_auc"], report["train_ms"] + report["score_ms"]


def summary(values):
    mean = statistics.fmean(values)
    return f"{mean:.3f} ({min(values):.3f}–{max(values):.3f})" if len(values) > 1 else f"{mean:.3f}"


def compare(data, fds, seeds, only):
    print("| dataset | rows | features | outliers | ROC-AUC sklearn | ROC-AUC fds | PR-AUC sklearn | PR-AUC fds | ms sklearn | ms fds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in sorted(data.glob("*.csv")):
        if only and path.stem not in only:
            continue
        raw = np.loadtxt(path, delimiter=",", skiprows=1)
        X, y = raw[:, 1:-1], raw[:, -1]
        sk = [sklearn_run(X, y, s) for s in range(seeds)]
        fd = [fds_run(fds, path, s) for s in range(seeds)]
        col = lambda runs, i: [r[i] for r in runs]  # noqa: E731
        print(
            f"| {path.stem} | {len(y)} | {X.shape[1]} | {100 * y.mean():.1f} % "
            f"| {summary(col(sk, 0))} | {summary(col(fd, 0))} "
            f"| {summary(col(sk, 1))} | {summary(col(fd, 1))} "
            f"| {statistics.fmean(col(sk, 2)):.0f} | {statistics.fmean(col(fd, 2)):.1f} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-data")
    make.add_argument("dir", type=pathlib.Path)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("dir", type=pathlib.Path)
    cmp_.add_argument("--fds", required=True)
    cmp_.add_argument("--seeds", type=int, default=5)
    cmp_.add_argument("--only", nargs="*", help="dataset names (file stems) to run; all by default")
    args = parser.parse_args()
    if args.command == "make-data":
        make_data(args.dir)
    else:
        compare(args.dir, args.fds, args.seeds, args.only)


if __name__ == "__main__":
    main()
