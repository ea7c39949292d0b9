"""The driver's findings kept as Arrow columns: priorities, the canonical order and the lists
of ``obs_ids`` computed without a Python object per finding agree with the pandas way of
computing them; and a Parquet dataset, or a DataFrame larger than a group, checked a few
streams at a time finds what the whole table checked at once finds on generated boxes."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assay import _arrow
from assay.assertions import check, prioritize, sort_findings
from assay.assertions._findings import canonical_order, python_lists, sort_keys
from assay.assertions.priority import assertion_weights, priorities
from assay.assertions.registry import resolve
from assay.tables import as_observations


def random_findings(seed: int, n: int = 400) -> pd.DataFrame:
    """Findings with many ties in every sort key (few streams, frames, ids and severities)."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 6, n)
    return pd.DataFrame({
        "assertion": rng.choice(["gap", "flicker", "multibox", "é"], n),
        "scope": rng.choice(["obs", "frame"], n),
        "stream": rng.choice(["cam2", "cam10", "b"], n),
        "frame_start": start,
        "frame_end": start + rng.integers(0, 2, n),
        "obs_ids": [rng.integers(0, 4, rng.integers(0, 4)).tolist() for _ in range(n)],
        "severity": rng.choice([0.5, 1.0, 2.0, 7.25], n),
        "evidence": rng.choice(["{}", '{"a": 1}', '{"a": 10}'], n),
        "fix": [f"row {i}" for i in range(n)],  # tells apart findings equal in every key
    })


def pandas_prioritized(findings: pd.DataFrame, precision=None) -> pd.DataFrame:
    """What prioritize gave before it was columnar: pandas ranks, sorts by tuples."""
    out = findings.copy()
    name = out["assertion"].astype(str)
    rank = out["severity"].groupby(name.to_numpy()).rank(method="average", ascending=False).to_numpy()
    n = name.map(name.value_counts()).to_numpy(dtype=np.float64)
    weights = assertion_weights(list(name.unique()), precision=precision)
    out["priority"] = name.map(weights).to_numpy(dtype=np.float64) * (1.0 - (rank - 1.0) / n)
    keyed = out.assign(_k=out["obs_ids"].map(tuple))
    cols = ["assertion", "stream", "frame_start", "frame_end", "_k", "scope", "severity", "evidence"]
    out = out.loc[keyed.sort_values(cols, kind="stable").index].reset_index(drop=True)
    return out.sort_values("priority", ascending=False, kind="stable", ignore_index=True)


@pytest.mark.parametrize("seed", range(5))
def test_prioritize_is_the_pandas_computation(seed, monkeypatch):
    from assay.assertions import _findings

    if seed % 2:  # sorted by a DuckDB database of their own, as many findings are
        monkeypatch.setattr(_findings, "SHARED_SORTER_ROWS", 0)
    f = random_findings(seed)
    reviews = pd.DataFrame({"arm": ["gap", "flicker"], "reviewed": [4, 9], "confirmed": [1, 8]})
    for precision in (None, reviews):
        pd.testing.assert_frame_equal(prioritize(f, precision=precision),
                                      pandas_prioritized(f, precision=precision))


def test_priorities_rank_ties_on_average_and_leave_missing_severities_missing():
    codes = np.array([0, 0, 0, 0, 1, 1])
    sev = np.array([3.0, 1.0, 3.0, np.nan, 0.2, 0.2])
    got = priorities(codes, ["gap", "flicker"], sev)
    # gap: 3.0 and 3.0 share ranks 1-2 (1.5 of 4 findings), 1.0 is third, NaN has none;
    # flicker: both share ranks 1-2 of 2
    np.testing.assert_array_equal(got, [1 - 0.5 / 4, 1 - 2 / 4, 1 - 0.5 / 4, np.nan, 0.75, 0.75])
    assert priorities(np.zeros(0, dtype=np.int64), [], np.zeros(0)).shape == (0,)


def test_canonical_order_compares_ids_as_tuples_and_puts_missing_last():
    f = pd.DataFrame({"assertion": "gap", "stream": ["a", "a", "a", None, "a"],
                      "frame_start": 1, "frame_end": 1,
                      "obs_ids": [[2], [1, 5], [], [0], [1]], "scope": "obs",
                      "severity": [1.0, 1.0, 1.0, 1.0, np.nan], "evidence": "{}"})
    # ids: [] < [1] < [1, 5] < [2]; the missing stream last; a missing severity after a
    # present one with equal keys before it
    assert canonical_order(sort_keys(f)).tolist() == [2, 4, 1, 0, 3]
    assert canonical_order(sort_keys(f), np.array([0.1, 0.2, 0.2, np.nan, 0.2])).tolist() == [2, 4, 1, 0, 3]
    assert sort_findings(f)["obs_ids"].tolist() == [[], [1], [1, 5], [2], [0]]


def test_python_lists_are_arrow_lists_as_python():
    arr = pa.array([[1, 2], [], [3], [4, 5, 6], [7]], pa.list_(pa.int64()))
    for column in (arr, arr.slice(1, 3), pa.chunked_array([arr.slice(0, 2), arr.slice(3)]),
                   pa.array([[1], None, [2]], pa.list_(pa.int64()))):
        got = python_lists(column)
        assert got == column.to_pylist()
        assert all(type(x) is int for ids in got if ids for x in ids)


def generated_boxes(streams: int = 6, frames: int = 60, objects: int = 8, seed: int = 0) -> pd.DataFrame:
    """Boxes of objects moving across several streams, with missed boxes (gaps, flickers),
    stray boxes and stacked duplicates (multiboxes), and track ids."""
    rng = np.random.default_rng(seed)
    s, f, k = (a.ravel() for a in np.meshgrid(np.arange(streams), np.arange(frames),
                                               np.arange(objects), indexing="ij"))
    x = rng.uniform(0, 900, (streams, 1, objects)) + 4.0 * np.arange(frames)[None, :, None]
    x = (x + rng.normal(0, 1, x.shape)).ravel()
    keep = rng.random(len(s)) > 0.05
    dup = rng.random(len(s)) < 0.02  # two extra boxes on the same object
    stray = rng.random(len(s)) < 0.02
    parts = [pd.DataFrame({"stream": s[keep], "frame": f[keep], "x1": x[keep], "track": k[keep]})]
    for extra in (dup, dup):
        parts.append(pd.DataFrame({"stream": s[extra], "frame": f[extra],
                                   "x1": x[extra] + rng.normal(0, 2, extra.sum()), "track": -1}))
    parts.append(pd.DataFrame({"stream": s[stray], "frame": f[stray],
                               "x1": rng.uniform(0, 900, stray.sum()), "track": -1}))
    df = pd.concat(parts, ignore_index=True)
    df = df.assign(stream=[f"cam{v}" for v in df["stream"]], y1=100.0, cls="person", score=0.9)
    df["x2"], df["y2"] = df["x1"] + 40.0, 200.0
    df["track"] = df["track"].where(df["track"] >= 0).astype("Int64")
    return as_observations(df.sort_values(["stream", "frame"], kind="stable"), source="model:v1", fps=10)


def test_parquet_in_small_groups_finds_what_the_whole_table_finds(tmp_path):
    import pyarrow.dataset as ds

    obs = generated_boxes()
    ds.write_dataset(pa.Table.from_pandas(obs, preserve_index=False), tmp_path / "obs",
                     format="parquet", partitioning=["stream"], partitioning_flavor="hive")
    assertions = resolve("builtin:video")
    whole = check(obs, assertions)
    assert len(whole) > 100 and whole["assertion"].nunique() >= 3
    for rows in (1, 700):  # a stream per group, and a few
        pd.testing.assert_frame_equal(whole, check(str(tmp_path / "obs"), assertions, rows_per_group=rows))
        # a DataFrame with more rows than rows_per_group is checked by groups too
        pd.testing.assert_frame_equal(whole, check(obs, assertions, rows_per_group=rows))


def resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm") or _arrow._malloc_trim() is None,
                    reason="needs Linux with glibc (malloc_trim, /proc/self/statm)")
def test_release_memory_gives_the_freed_heap_back():
    # as numpy temporaries do: one large array freed raises glibc's mmap threshold, then
    # 1 MB arrays go on the heap, and a live block above them keeps the heap from shrinking
    big = np.ones(16 * 2**20 // 8)  # under glibc's largest mmap threshold (32 MB)
    del big
    arrays = [np.ones(2**20 // 8) for _ in range(120)]
    above = np.ones(2**20 // 8)
    del arrays
    before = resident_mb()
    _arrow.release_memory()
    assert before - resident_mb() > 60
    assert above.sum() == 2**20 // 8
