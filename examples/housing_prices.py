"""Negative house prices: the paper's tabular example of a model assertion (section 3.2).

A linear regression (numpy.linalg.lstsq, with an intercept) predicts the median value of
owner-occupied homes (``medv``, in $1000s) from the 13 features of the Boston housing data,
fit on a training split and applied to a test split. Prices cannot be negative, so
``OutputRange(column="predicted_price", low=0)`` is a model assertion that catches
impossible predictions; the paper reports two negative predictions on its test split.

The paper gives no split, only a tutorial it followed. The main run uses the split such
tutorials typically use (scikit-learn's ``train_test_split(test_size=0.33,
random_state=5)``, reproduced here without scikit-learn: that function tests on the first
``ceil(0.33 * n)`` indices of ``numpy.random.RandomState(5).permutation(n)``); whether it is
exactly the tutorial's split is not verified. Because one split is one draw, the script then
reports how often negative predictions occur over 1,000 seeded random splits of the same
sizes, and for leave-one-out predictions (each house predicted by a model fit on the 505
others).

    python examples/housing_prices.py

Needs ``../shared/data/tabular/boston.csv`` (or ``$ASSAY_SHARED_DATA/tabular/boston.csv``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from assay.assertions import OutputRange, check


def shared_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("ASSAY_SHARED_DATA", repo.parent / "shared" / "data"))


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``y ~ 1 + x``."""
    coef, *_ = np.linalg.lstsq(np.c_[np.ones(len(x)), x], y, rcond=None)
    return coef


def predict(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.c_[np.ones(len(x)), x] @ coef


def main() -> None:
    path = shared_data() / "tabular" / "boston.csv"
    if not path.is_file():
        sys.exit(f"this example needs the Boston housing data at {path}; "
                 "set ASSAY_SHARED_DATA to the folder holding tabular/boston.csv")
    data = pd.read_csv(path, index_col=0)
    features = [c for c in data.columns if c != "medv"]
    x, y = data[features].to_numpy(np.float64), data["medv"].to_numpy(np.float64)
    n = len(y)
    n_test = int(np.ceil(0.33 * n))

    # The tutorial-style split: test = first ceil(0.33 n) of RandomState(5).permutation(n).
    perm = np.random.RandomState(5).permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    coef = fit(x[train], y[train])
    predictions = pd.DataFrame({
        "id": data.index[test].to_numpy(dtype=np.int64),  # the row number in boston.csv
        "medv": y[test],
        "predicted_price": predict(coef, x[test]),
    })
    rmse = float(np.sqrt(np.mean((predictions["predicted_price"] - predictions["medv"]) ** 2)))
    print(f"linear regression on {len(features)} features: {len(train)} training houses, "
          f"{len(test)} test houses, test RMSE {rmse:.2f} ($1000s)\n")

    # The model assertion: a predicted price must not be negative.
    findings = check(predictions, [OutputRange(column="predicted_price", low=0)])
    print(f"OutputRange(column='predicted_price', low=0): {len(findings)} negative "
          f"prediction(s) on the test split (the paper: 2)")
    if len(findings):
        flagged = predictions.set_index("id").loc[[ids[0] for ids in findings["obs_ids"]]]
        shown = flagged.join(data[["crim", "rm", "lstat", "nox"]]).round(3)
        print(shown.to_string())
        print("(id: row in boston.csv; medv: the true value; severity of each finding = how "
              "far below 0)")

    # One split is one draw: how often do negative predictions occur?
    counts = np.zeros(n_test + 1, dtype=np.int64)
    for seed in range(1000):
        p = np.random.default_rng(seed).permutation(n)
        counts[int((predict(fit(x[p[n_test:]], y[p[n_test:]]), x[p[:n_test]]) < 0).sum())] += 1
    dist = ", ".join(f"{k}: {c}" for k, c in enumerate(counts) if c)
    print(f"\nover 1,000 random splits of the same sizes (numpy default_rng seeds 0-999), "
          f"number of negative test predictions -> number of splits: {dist}")

    loo = np.array([predict(fit(np.delete(x, i, 0), np.delete(y, i)), x[i:i + 1])[0] for i in range(n)])
    negative = np.flatnonzero(loo < 0)
    print(f"leave-one-out: {len(negative)} of {n} houses get a negative predicted price "
          f"(rows {', '.join(str(data.index[i]) for i in negative)}; true medv "
          f"{', '.join(f'{y[i]:g}' for i in negative)})")


if __name__ == "__main__":
    main()
