"""Every supported dtype comes back from a workspace exactly as it went in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import assay
from assay.exceptions import InvalidParameterError
from assay.store import Workspace
from assay.tables import STRING

N = 5

COLUMNS = {
    "int64": pd.Series(np.arange(N, dtype="int64") - 2),
    "int32": pd.Series(np.arange(N, dtype="int32")),
    "uint8": pd.Series(np.arange(N, dtype="uint8")),
    "uint64": pd.Series(np.array([0, 1, 2, 3, 2**63 + 5], dtype="uint64")),
    "float64": pd.Series([0.5, np.nan, -1e300, 3.0, 1e-300]),
    "float32": pd.Series(np.array([0.5, np.nan, 2.25, 3.0, -1.0], dtype="float32")),
    "bool": pd.Series([True, False, True, True, False]),
    "Int64": pd.Series(pd.array([1, None, 3, -(2**62), None], dtype="Int64")),
    "Int32": pd.Series(pd.array([1, None, 3, 4, 5], dtype="Int32")),
    "UInt8": pd.Series(pd.array([1, None, 3, 4, 255], dtype="UInt8")),
    "Float64": pd.Series(pd.array([1.5, None, 3.0, 4.0, 5.0], dtype="Float64")),
    "boolean": pd.Series(pd.array([True, None, False, True, None], dtype="boolean")),
    "string[pyarrow]": pd.Series(pd.array(["a", None, "", "é ü", "x"], dtype=STRING)),
    "string[python]": pd.Series(pd.array(["a", None, "c", "d", "e"], dtype=pd.StringDtype("python"))),
    "str": pd.Series(["a", np.nan, "c", "d", "e"], dtype=pd.StringDtype("pyarrow", na_value=np.nan)),
    "datetime64[ns]": pd.Series(
        pd.to_datetime(format="ISO8601", arg=["2024-01-01 00:00:00.000000001", None, "1970-01-01", "2262-01-01", "2000-02-29"])
    ).astype("datetime64[ns]"),
    "datetime64[us]": pd.Series(pd.to_datetime(format="ISO8601", arg=["2024-01-01", None, "1900-01-01", "2500-01-01", "2000-02-29"])).astype(
        "datetime64[us]"
    ),
    "datetime64[ms]": pd.Series(pd.to_datetime(format="ISO8601", arg=["2024-01-01", None, "1970-01-01", "2030-01-01", "2000-02-29"])).astype(
        "datetime64[ms]"
    ),
    "datetime64[s]": pd.Series(pd.to_datetime(format="ISO8601", arg=["2024-01-01", None, "1970-01-01", "2030-01-01", "2000-02-29"])).astype(
        "datetime64[s]"
    ),
    "datetime64[ns, Europe/Paris]": pd.Series(
        pd.to_datetime(format="ISO8601", arg=["2024-03-31 01:30", None, "2024-10-27 02:30", "2024-06-01", "1999-12-31 23:59:59.999999999"])
        .tz_localize("Europe/Paris", ambiguous=True)
        .astype("datetime64[ns, Europe/Paris]")
    ),
    "datetime64[us, UTC]": pd.Series(pd.to_datetime(format="ISO8601", arg=["2024-01-01", None, "2024-01-02", "2024-01-03", "2024-01-04"])).dt.tz_localize(
        "UTC"
    ).astype("datetime64[us, UTC]"),
    "timedelta64[ns]": pd.Series(pd.to_timedelta([1, None, -3, 10**15, 0], unit="ns")).astype("timedelta64[ns]"),
    "object lists": pd.Series([[1, 2], [], None, [3], [4, 5, 6]], dtype=object),
    "object str": pd.Series(["a", None, "b", "c", "d"], dtype=object),
    "object dicts": pd.Series([{"a": 1.0}, {"a": 2.5}, None, {"a": None}, {"a": 0.0}], dtype=object),
    "object None": pd.Series([None] * N, dtype=object),
    "category": pd.Series(pd.Categorical(["car", None, "bus", "car", "bus"], categories=["car", "bus", "truck"])),
    "category ordered ints": pd.Series(pd.Categorical([3, 1, None, 2, 3], categories=[3, 2, 1], ordered=True)),
    "int64[pyarrow]": pd.Series(pd.array([1, None, 3, 4, 5], dtype="int64[pyarrow]")),
    "double[pyarrow]": pd.Series(pd.array([1.0, None, np.nan, 4.0, 5.0], dtype="double[pyarrow]")),
    "string[pyarrow] (ArrowDtype)": pd.Series(pd.array(["a", None, "c", "d", "e"], dtype=pd.ArrowDtype(pa.string()))),
    "list<int64>[pyarrow]": pd.Series(
        pd.array([[1], None, [], [2, 3], [4]], dtype=pd.ArrowDtype(pa.list_(pa.int64())))
    ),
}


def assert_same(back: pd.DataFrame, df: pd.DataFrame) -> None:
    assert list(back.columns) == list(df.columns)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, df, check_exact=True)


@pytest.mark.parametrize("name", list(COLUMNS))
def test_each_dtype_round_trips(name):
    df = pd.DataFrame({"col": COLUMNS[name]})
    with Workspace() as ws:
        ws.add("t", df, kind="table")
        back = ws.read("t")
    assert_same(back, df)


@pytest.mark.parametrize("name", list(COLUMNS))
def test_each_dtype_round_trips_empty(name):
    df = pd.DataFrame({"col": COLUMNS[name]}).iloc[:0]
    with Workspace() as ws:
        ws.add("t", df, kind="table")
        back = ws.read("t")
    assert_same(back, df.reset_index(drop=True))


def test_all_dtypes_together_keep_column_order_and_attrs(tmp_path):
    names = list(COLUMNS)[::-1]  # not alphabetical
    df = pd.DataFrame({f"c{i}_{n}": COLUMNS[n] for i, n in enumerate(names)})
    df.attrs = {"frame": "lidar", "fps": 10.0, "tags": ["a", "b"]}
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.add("all", df, kind="table")
    with Workspace(path, read_only=True) as ws:
        back = ws.read("all")
    assert_same(back, df)
    where = back.attrs.pop("workspace_table")  # read() records where the frame came from
    assert back.attrs == df.attrs
    assert where["name"] == "all" and where["revision"] == 1 and where["rows"] == len(df)


def test_object_list_values_come_back_as_lists():
    df = pd.DataFrame({"ids": pd.Series([np.array([1, 2]), [3]], dtype=object)})
    with Workspace() as ws:
        ws.add("t", df, kind="table")
        back = ws.read("t")
    assert back["ids"].tolist() == [[1, 2], [3]]
    assert all(isinstance(v, list) for v in back["ids"])


def test_canonical_observations_round_trip_with_3d_boxes_and_attributes():
    raw = pd.DataFrame(
        {
            "frame": [0, 0, 1, 2],
            "cls": ["car", "pedestrian", "car", "car"],
            "track": [1, 2, 1, None],
            "score": [0.9, 0.4, None, 0.7],
            **{c: [1.0, 2.0, 3.0, 4.0] for c in ("x", "y", "z", "l", "w", "h", "yaw")},
            "occluded": [True, False, True, False],
        }
    )
    raw.attrs["box3d_frame"] = "ego"
    obs = assay.as_observations(raw, stream="scene-1", source="model:pointpillars", fps=10)
    with Workspace() as ws:
        ws.add("pred", obs)
        back = ws.read("pred")
    assert_same(back, obs)
    assert {k: v for k, v in back.attrs.items() if k != "workspace_table"} == {"box3d_frame": "ego"}


def test_canonical_findings_round_trip():
    findings = pd.DataFrame(
        {
            "run_id": ["check-20260101-000000-abcd"] * 2,
            "assertion": ["flicker", "multibox"],
            "scope": ["track", "frame"],
            "stream": ["cam1", "cam1"],
            "frame_start": [3, 7],
            "frame_end": [5, 7],
            "obs_ids": [[10, 11, 12], [40]],
            "track": [4, None],
            "severity": [1.0, 0.25],
            "evidence": ['{"gap": 1}', '{"iou": 0.8}'],
        }
    )
    expected = assay.validate(findings, "findings")
    with Workspace() as ws:
        ws.add("f", findings, kind="findings")
        back = ws.read("f")
    assert_same(back, expected)
    assert back["obs_ids"].tolist() == [[10, 11, 12], [40]]


@pytest.mark.parametrize("ids", [[3, 1, 2], ["b", "a", "c"]])
def test_canonical_records_round_trip(ids):
    records = pd.DataFrame({"proxy": [0.1, 0.9, 0.5], "id": ids, "oracle": [np.nan, 1.0, np.nan]})
    expected = assay.as_records(records)
    with Workspace() as ws:
        ws.add("r", records, kind="records")
        back = ws.read("r")
    assert_same(back, expected)
    assert list(back.columns) == ["id", "proxy", "oracle"]


def test_large_table_keeps_row_order():
    n = 300_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"v": rng.permutation(n), "f": rng.random(n)})
    with Workspace() as ws:
        ws.add("t", df, kind="table")
        back = ws.read("t")
    assert_same(back, df)


@pytest.mark.parametrize(
    ("column", "match"),
    [
        (pd.Series([1 + 2j, 3j]), "column 'bad' cannot be stored"),
        (pd.Series(np.array([1, 2], dtype="float16")), "column 'bad' cannot be stored"),
        (pd.Series(pd.period_range("2020-01", periods=2, freq="M")), "column 'bad' cannot be stored"),
        (pd.Series([1, "a"], dtype=object), "values do not share one type"),
        (pd.Series(pd.Categorical([pd.Timestamp("2020-01-01")])), "column 'bad' cannot be stored"),
    ],
)
def test_unstorable_columns_are_refused_by_name(column, match):
    with Workspace() as ws:
        with pytest.raises(InvalidParameterError, match=match):
            ws.add("t", pd.DataFrame({"ok": range(len(column)), "bad": column}), kind="table")
        assert "t" not in ws
