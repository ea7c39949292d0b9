"""Named tables, transactions, runs, read-only mode and bad files."""

from __future__ import annotations

import os
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

import assay
from assay.exceptions import (
    AssayError,
    InvalidParameterError,
    SchemaError,
    WorkspaceError,
    WorkspaceLockedError,
)
from assay.store import Workspace


def make_obs(n_frames: int = 4, stream: str = "cam1", source: str = "labels") -> pd.DataFrame:
    frames = np.repeat(np.arange(n_frames), 2)
    return assay.as_observations(
        pd.DataFrame(
            {
                "frame": frames,
                "cls": np.where(np.arange(len(frames)) % 2 == 0, "car", "person"),
                "x1": 0.0,
                "y1": 0.0,
                "x2": 10.0,
                "y2": 20.0,
            }
        ),
        stream=stream,
        source=source,
        fps=10,
    )


@pytest.fixture
def ws():
    with Workspace() as w:
        yield w


# ---------------------------------------------------------------- add / list / read / delete


def test_add_list_read_delete(ws):
    obs = make_obs()
    recs = pd.DataFrame({"id": [1, 2, 3], "proxy": [0.1, 0.5, 0.9]})
    ws.add("labels", obs)
    ws.add("recs", recs, kind="records")
    ws.add("notes", pd.DataFrame({"a": ["x"], "b": [1.5]}), kind="table")

    listing = ws.tables()
    assert listing["name"].tolist() == ["labels", "notes", "recs"]
    assert listing["kind"].tolist() == ["observations", "table", "records"]
    assert listing["rows"].tolist() == [8, 1, 3]
    assert listing["columns"].tolist() == [obs.shape[1], 2, 2]
    assert listing["streams"].tolist() == [1, pd.NA, pd.NA]
    assert listing["classes"].tolist() == [2, pd.NA, pd.NA]
    assert listing["sources"].tolist() == [1, pd.NA, pd.NA]
    assert str(listing["created"].dtype) == "datetime64[us]"
    assert str(listing["rows"].dtype) == "int64"
    assert str(listing["streams"].dtype) == "Int64"

    pd.testing.assert_frame_equal(ws.read("labels"), obs)
    assert "labels" in ws and "LABELS" in ws and "nope" not in ws and 3 not in ws

    ws.delete("notes")
    assert ws.tables()["name"].tolist() == ["labels", "recs"]
    with pytest.raises(WorkspaceError, match=r"no table named 'notes'; its tables are 'labels', 'recs'"):
        ws.read("notes")
    with pytest.raises(WorkspaceError, match="no table named 'notes'"):
        ws.delete("notes")


def test_empty_workspace_lists_nothing(ws):
    listing = ws.tables()
    assert listing.empty
    assert list(listing.columns) == [
        "name", "kind", "rows", "columns", "created", "streams", "classes", "sources",
        "revision", "modified", "writer",
    ]
    with pytest.raises(WorkspaceError, match=r"has no tables yet \(add one with Workspace.add\)"):
        ws.read("x")


def test_names_are_case_insensitive(ws):
    ws.add("Obs", make_obs())
    pd.testing.assert_frame_equal(ws.read("obs"), make_obs())
    with pytest.raises(WorkspaceError, match="already has a table named 'Obs'"):
        ws.add("OBS", make_obs())
    ws.add("OBS", make_obs(2), replace=True)
    assert ws.tables()["name"].tolist() == ["OBS"]
    assert len(ws.read("obs")) == 4


def test_replace_semantics(ws):
    ws.add("a", make_obs())
    ws.add("b", make_obs())
    msg = (
        "Workspace ':memory:' already has a table named 'a'; pass replace=True to overwrite it, "
        "append to add rows, or pick another name. Its tables are 'a', 'b'."
    )
    with pytest.raises(WorkspaceError, match=re.escape(msg)):
        ws.add("a", make_obs(1))
    assert len(ws.read("a")) == 8  # untouched

    ws.add("a", pd.DataFrame({"z": [1, 2, 3]}), kind="table", replace=True)
    assert ws.read("a").columns.tolist() == ["z"]
    assert ws.tables().set_index("name").loc["a", "kind"] == "table"
    ws.add("c", make_obs(), replace=True)  # replace of a new name just adds
    assert "c" in ws


def test_schema_error_stores_nothing(ws):
    bad = make_obs().drop(columns="cls")
    with pytest.raises(SchemaError, match="missing required column 'cls'"):
        ws.add("bad", bad)
    assert "bad" not in ws
    with pytest.raises(SchemaError, match="expected a unique id"):
        ws.add("r", pd.DataFrame({"id": [1, 1]}), kind="records")


def test_canonical_kinds_are_validated_and_stored_canonical(ws):
    raw = make_obs().astype({"frame": "float64", "stream": object})
    ws.add("o", raw)
    back = ws.read("o")
    assert back["frame"].dtype == np.dtype("int64")
    assert back["stream"].dtype == assay.tables.STRING


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a;drop", 'x"y', "a" * 129])
def test_bad_names_are_refused(ws, name):
    with pytest.raises(InvalidParameterError, match="The 'name' parameter of add must be"):
        ws.add(name, make_obs())


def test_good_unusual_names(ws):
    for name in ["tud-campus", "run.2024", "_x", "select", "a" * 128]:
        ws.add(name, pd.DataFrame({"v": [1]}), kind="table")
        assert ws.read(name)["v"].tolist() == [1]


def test_bad_parameters(ws):
    with pytest.raises(InvalidParameterError, match=r"The 'kind' parameter of add must be one of"):
        ws.add("x", make_obs(), kind="obs")
    with pytest.raises(InvalidParameterError, match="The 'table' parameter of add must be"):
        ws.add("x", [1, 2])
    with pytest.raises(InvalidParameterError, match="The 'replace' parameter of add must be"):
        ws.add("x", make_obs(), replace=1)


def test_index_and_column_rules(ws):
    named = pd.DataFrame({"v": [1, 2]}, index=pd.Index([5, 6], name="frame"))
    with pytest.raises(InvalidParameterError, match=r"named index \(frame\).*reset_index\(\)"):
        ws.add("t", named, kind="table")
    unnamed = pd.DataFrame({"v": [1, 2]}, index=[5, 6])
    ws.add("t", unnamed, kind="table")
    assert ws.read("t").index.equals(pd.RangeIndex(2))
    with pytest.raises(InvalidParameterError, match="differ only in case"):
        ws.add("u", pd.DataFrame({"a": [1], "A": [2]}), kind="table")
    with pytest.raises(InvalidParameterError, match="column names must be non-empty strings"):
        ws.add("u", pd.DataFrame({0: [1]}), kind="table")
    with pytest.raises(InvalidParameterError, match="has no columns"):
        ws.add("u", pd.DataFrame(index=range(3)), kind="table")
    df = pd.DataFrame({"a": [1]})
    df.attrs["bad"] = object()
    with pytest.raises(InvalidParameterError, match="attrs must be JSON-serializable"):
        ws.add("u", df, kind="table")
    assert ws.tables()["name"].tolist() == ["t"]


def test_summary(ws):
    obs = pd.concat(
        [make_obs(3, "cam1", "labels"), make_obs(2, "cam2", "model:yolo")], ignore_index=True
    )
    obs["obs_id"] = np.arange(len(obs))
    obs.loc[0, "cls"] = "bus"
    obs["track"] = pd.array([1, 1, 2, None, 3, 3, 1, 1, None, None], dtype="Int64")
    ws.add("o", obs)

    per_stream = ws.summary("O")
    expected = pd.DataFrame(
        {
            "stream": pd.array(["cam1", "cam2"], dtype=assay.tables.STRING),
            "rows": [6, 4],
            "frames": [3, 2],
            "tracks": [3, 1],
            "classes": [3, 2],
            "sources": [1, 1],
            "first_frame": [0, 0],
            "last_frame": [2, 1],
            "seconds": [0.2, 0.1],
        }
    )
    pd.testing.assert_frame_equal(per_stream, expected)

    per_class = ws.summary("o", by="cls")
    assert per_class["cls"].tolist() == ["person", "car", "bus"]
    assert per_class["rows"].tolist() == [5, 4, 1]
    assert per_class["frames"].tolist() == [5, 4, 1]
    assert per_class["streams"].tolist() == [2, 2, 1]
    assert per_class["tracks"].tolist() == [3, 3, 1]  # distinct (stream, track), nulls not counted
    assert list(per_class.columns) == ["cls", "rows", "frames", "tracks", "streams", "sources"]

    per_source = ws.summary("o", by="source")
    assert per_source[["source", "rows", "streams", "classes"]].values.tolist() == [
        ["labels", 6, 1, 3],
        ["model:yolo", 4, 1, 2],
    ]

    ws.add("notrack", make_obs().drop(columns="track", errors="ignore"))
    assert ws.summary("notrack")["tracks"].tolist() == [0]
    ws.add("r", pd.DataFrame({"id": [1]}), kind="records")
    with pytest.raises(WorkspaceError, match="summary\\(\\) needs an observations table; 'r'"):
        ws.summary("r")
    with pytest.raises(InvalidParameterError, match="The 'by' parameter of summary must be one of"):
        ws.summary("o", by="frame")


def make_findings(n: int = 2, assertion: str = "flicker") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "assertion": [assertion] * n,
            "scope": ["track"] * n,
            "stream": ["cam1"] * n,
            "frame_start": np.arange(n),
            "frame_end": np.arange(n) + 2,
            "obs_ids": [list(range(i + 1)) for i in range(n)],
            "track": pd.array([1] * n, dtype="Int64"),
            "severity": np.linspace(0.5, 1.0, n),
            "evidence": ['{"k": 1}'] * n,
        }
    )


def test_add_findings_appends_per_run(ws):
    first = ws.start_run("monitor", {})
    assert ws.add_findings(make_findings(0), run_id=first) == 0
    empty = ws.findings(first)  # no table yet: an empty canonical findings table
    assert empty.empty and list(empty.columns) == list(assay.tables.FINDING_COLUMNS)
    assert ws.add_findings(make_findings(2), run_id=first) == 2
    assert ws.add_findings(make_findings(0), run_id=first) == 0
    assert ws.add_findings(make_findings(3, "gap"), run_id=first) == 3
    second = ws.start_run("check", {})
    ws.add_findings(make_findings(1, "multibox").assign(run_id="ignored"), run_id=second)

    everything = ws.findings()
    assert everything["run_id"].tolist() == [first] * 5 + [second]
    assert everything["assertion"].tolist() == ["flicker"] * 2 + ["gap"] * 3 + ["multibox"]
    assert everything["obs_ids"].tolist() == [[0], [0, 1], [0], [0, 1], [0, 1, 2], [0]]
    mine = ws.findings(second)
    run_col = pd.array([second], dtype=assay.tables.STRING)  # add_findings sets run_id so
    expected = assay.validate(make_findings(1, "multibox").assign(run_id=run_col), "findings")
    pd.testing.assert_frame_equal(mine, expected)
    assert ws.findings("check-nope").empty
    assert ws.tables().set_index("name").loc["findings", "rows"] == 6
    pd.testing.assert_frame_equal(ws.read("findings"), everything)


def test_add_findings_errors(ws):
    run = ws.start_run("check", {})
    with pytest.raises(WorkspaceError, match="has no run 'check-x'"):
        ws.add_findings(make_findings(), run_id="check-x")
    ws.add_findings(make_findings(), run_id=run)
    with pytest.raises(InvalidParameterError, match="must have the columns it has"):
        ws.add_findings(make_findings().assign(extra=1), run_id=run)
    ws.add("obs", make_obs())
    with pytest.raises(WorkspaceError, match="Cannot add findings to 'obs'.*holds observations"):
        ws.add_findings(make_findings(), run_id=run, name="obs")
    with pytest.raises(SchemaError):
        ws.add_findings(make_findings().drop(columns="severity"), run_id=run)
    assert len(ws.findings()) == 2
    with pytest.raises(WorkspaceError, match="no table named 'other'"):
        ws.findings(name="other")


# ---------------------------------------------------------------- transactions


def test_exception_in_transaction_rolls_back_everything(ws):
    ws.add("keep", make_obs())
    ws.put_labels("o", [1], [1.0])
    run = ws.start_run("check", {})
    with pytest.raises(ZeroDivisionError):
        with ws.transaction():
            ws.add("new", make_obs())
            ws.delete("keep")
            ws.put_labels("o", [1, 2], [5.0, 6.0])
            ws.finish_run(run, "ok", {})
            ws.start_run("audit", {})
            assert "new" in ws and "keep" not in ws  # visible inside
            raise ZeroDivisionError("mid-transaction")
    assert ws.tables()["name"].tolist() == ["keep"]
    pd.testing.assert_frame_equal(ws.read("keep"), make_obs())
    assert ws.get_labels("o").to_dict() == {1: 1.0}
    runs = ws.runs()
    assert runs["run_id"].tolist() == [run]
    assert runs["status"].tolist() == ["running"]
    assert not ws.in_transaction


def test_transaction_commits_on_success(ws):
    with ws.transaction() as same:
        assert same is ws and ws.in_transaction
        ws.add("a", make_obs())
        ws.add("b", make_obs())
    assert ws.tables()["name"].tolist() == ["a", "b"]


def test_refused_write_inside_transaction_does_not_spoil_it(ws):
    ws.add("a", make_obs())
    with ws.transaction():
        ws.add("b", make_obs())
        with pytest.raises(WorkspaceError, match="already has a table named 'a'"):
            ws.add("a", make_obs())
        with pytest.raises(SchemaError):
            ws.add("c", pd.DataFrame({"x": [1]}))
    assert ws.tables()["name"].tolist() == ["a", "b"]


def test_caught_exception_from_nested_transaction_rolls_back_outer(ws):
    with pytest.raises(WorkspaceError, match="was rolled back"):
        with ws.transaction():
            ws.add("a", make_obs())
            try:
                with ws.transaction():
                    ws.add("b", make_obs())
                    raise ValueError("inner")
            except ValueError:
                pass
    assert ws.tables().empty
    ws.add("after", make_obs())  # the workspace is usable again
    assert "after" in ws


def test_failed_sql_inside_add_rolls_back(ws, monkeypatch):
    ws.add("a", make_obs())
    real = duckdb.DuckDBPyConnection

    def boom(*args, **kwargs):
        raise duckdb.IOException("disk full (simulated)")

    con = ws._con
    assert isinstance(con, real)
    with pytest.raises(WorkspaceError, match="disk full"):
        with ws.transaction():
            ws.add("b", make_obs())
            monkeypatch.setattr(ws, "_con", _FailingInsert(con, boom))
            ws.add("c", make_obs())
    monkeypatch.setattr(ws, "_con", con)
    assert ws.tables()["name"].tolist() == ["a"]


class _FailingInsert:
    """A connection whose metadata INSERT fails, to test a failure half-way through add."""

    def __init__(self, con, fail):
        self._c, self._fail = con, fail

    def execute(self, sql, *args, **kwargs):
        if sql.startswith("INSERT INTO _assay.tables"):
            self._fail()
        return self._c.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._c, name)


# ---------------------------------------------------------------- runs


def test_runs(ws):
    run = ws.start_run("check", {"window": np.int64(5), "delta": np.float64(0.05), "tags": {"b", "a"}})
    assert re.fullmatch(r"check-\d{8}-\d{6}-[0-9a-f]{4}", run)
    other = ws.start_run("query", None)
    ws.finish_run(run, "ok", {"findings": 12, "path": __import__("pathlib").Path("/x")})
    runs = ws.runs()
    assert runs["run_id"].tolist() == [run, other]
    first = runs.iloc[0]
    assert first["status"] == "ok" and first["kind"] == "check"
    assert first["params"] == {"window": 5, "delta": 0.05, "tags": ["a", "b"]}
    assert first["summary"] == {"findings": 12, "path": "/x"}
    assert first["finished"] >= first["started"]
    second = runs.iloc[1]
    assert second["status"] == "running" and second["summary"] is None and pd.isna(second["finished"])
    with pytest.raises(WorkspaceError, match="already finished with status 'ok'"):
        ws.finish_run(run, "failed", {})
    with pytest.raises(WorkspaceError, match="has no run 'nope'"):
        ws.finish_run("nope", "ok", {})
    with pytest.raises(InvalidParameterError, match="The 'status' parameter of finish_run must be one of"):
        ws.finish_run(other, "done", {})
    with pytest.raises(InvalidParameterError, match="The 'kind' parameter of start_run"):
        ws.start_run("Check-1", {})
    with pytest.raises(InvalidParameterError, match="must be JSON-serializable"):
        ws.start_run("check", {"f": object()})
    assert len(ws.runs()) == 2


def test_run_ids_are_unique(ws):
    ids = {ws.start_run("check", {}) for _ in range(200)}
    assert len(ids) == 200


# ---------------------------------------------------------------- files, modes, errors


def test_persists_across_close_and_reopen(tmp_path):
    path = tmp_path / "assay.duckdb"
    with Workspace(str(path)) as ws:
        ws.add("o", make_obs())
        run = ws.start_run("check", {"a": 1})
    with Workspace(path) as ws:
        pd.testing.assert_frame_equal(ws.read("o"), make_obs())
        assert ws.runs()["run_id"].tolist() == [run]


def test_read_only_refuses_writes(tmp_path):
    path = tmp_path / "assay.duckdb"
    with Workspace(path) as ws:
        ws.add("o", make_obs())
        run = ws.start_run("check", {})
        ws.put_labels("or", [1], [1.0])
    with Workspace(path, read_only=True) as ro:
        assert ro.read_only
        pd.testing.assert_frame_equal(ro.read("o"), make_obs())
        assert ro.summary("o")["rows"].tolist() == [8]
        assert ro.get_labels("or").tolist() == [1.0]
        assert len(ro.runs()) == 1 and len(ro.tables()) == 1
        writes = [
            lambda: ro.add("x", make_obs()),
            lambda: ro.delete("o"),
            lambda: ro.put_labels("or", [2], [1.0]),
            lambda: ro.fetch_labels("or", [2], lambda ids: ids * 1.0),
            lambda: ro.start_run("check", {}),
            lambda: ro.finish_run(run, "ok", {}),
            lambda: ro.transaction().__enter__(),
        ]
        for write in writes:
            with pytest.raises(WorkspaceError, match=r"is open read-only\. Reopen it with Workspace\(path\)"):
                write()
    with Workspace(path, read_only=True) as a, Workspace(path, read_only=True) as b:
        assert a.tables().equals(b.tables())  # many readers at once


def test_read_only_needs_an_existing_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="No workspace at .*does not exist"):
        Workspace(tmp_path / "none.duckdb", read_only=True)
    with pytest.raises(InvalidParameterError, match="must be False for an in-memory workspace"):
        Workspace(":memory:", read_only=True)
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()
    with pytest.raises(WorkspaceError, match="not an assay workspace"):
        Workspace(plain, read_only=True)
    with Workspace(plain) as ws:  # read-write makes it one
        assert ws.tables().empty
    with Workspace(plain, read_only=True) as ws:
        assert ws.tables().empty


def test_same_process_mixed_modes(tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        with Workspace(path) as again:  # DuckDB shares one database within a process
            again.add("t", pd.DataFrame({"v": [1]}), kind="table")
        assert "t" in ws
        with pytest.raises(WorkspaceLockedError, match="already open in this process with read_only=False"):
            Workspace(path, read_only=True)


def test_non_duckdb_file_is_a_clear_error(tmp_path):
    junk = tmp_path / "notes.duckdb"
    junk.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(WorkspaceError, match="the file is not a DuckDB database, so it is not an assay workspace") as err:
        Workspace(junk)
    assert str(junk) in str(err.value)
    assert isinstance(err.value, AssayError) and isinstance(err.value, RuntimeError)
    assert junk.read_text().startswith("these are my notes")  # untouched
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    with pytest.raises(WorkspaceError, match="not a DuckDB database"):
        Workspace(empty)


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_corrupt_file_is_a_clear_error(tmp_path, damage):
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        n = 200_000
        ws.add("big", pd.DataFrame({"v": np.arange(n), "s": [f"row {i}" for i in range(n)]}), kind="table")
    size = os.path.getsize(path)
    if damage == "truncate":
        os.truncate(path, size // 2)
    else:
        with open(path, "r+b") as f:
            f.seek(4096 * 3)  # past the headers: the catalog / data blocks
            f.write(os.urandom(size - 4096 * 3))
    with pytest.raises(WorkspaceError, match="damaged"):
        with Workspace(path) as ws:
            ws.read("big")


def test_bad_paths(tmp_path):
    with pytest.raises(WorkspaceError, match="is a directory"):
        Workspace(tmp_path)
    with pytest.raises(WorkspaceError, match="directory .* does not exist"):
        Workspace(tmp_path / "missing" / "w.duckdb")
    with pytest.raises(InvalidParameterError, match="The 'path' parameter of Workspace must be a str or os.PathLike. Got 3"):
        Workspace(3)


def test_newer_format_is_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    Workspace(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE _assay.meta SET value = '99' WHERE key = 'format_version'")
    con.close()
    with pytest.raises(WorkspaceError, match="format version 99, written by a newer assay"):
        Workspace(path)


def test_closed_workspace(tmp_path):
    ws = Workspace()
    ws.close()
    ws.close()
    assert ws.closed and "closed" in repr(ws)
    with pytest.raises(WorkspaceError, match="is closed"):
        ws.tables()
    with pytest.raises(WorkspaceError, match="is closed"):
        ws.add("x", make_obs())
    assert repr(Workspace(tmp_path / "w.duckdb", read_only=False)).startswith("Workspace('")


def test_sql_reads_and_never_writes(tmp_path):
    ws = Workspace(tmp_path / "w.duckdb")
    ws.add("obs", make_obs(4))
    ws.add("curate.night-shift.rounds", pd.DataFrame({"round": [0, 1], "arm": ["a", "b"]}), kind="table")
    got = ws.sql("SELECT cls, count(*) AS n, list(frame ORDER BY frame) AS frames FROM obs "
                 "WHERE frame >= ? GROUP BY cls ORDER BY cls", [1])
    assert got["cls"].tolist() == ["car", "person"] and got["n"].tolist() == [3, 3]
    assert got["frames"].tolist() == [[1, 2, 3], [1, 2, 3]]  # lists as Python lists
    named = ws.sql('SELECT arm FROM "curate.night-shift.rounds" WHERE round = $r', {"r": 1})
    assert named["arm"].tolist() == ["b"]
    for bad in ("DELETE FROM obs", "DROP TABLE obs", "SELECT 1; DROP TABLE obs",
                "CREATE TABLE x AS SELECT 1", "COPY obs TO 'x.csv'", "ATTACH 'y.duckdb'", ""):
        with pytest.raises(InvalidParameterError, match="one SELECT statement"):
            ws.sql(bad)
    with pytest.raises(InvalidParameterError, match="valid SQL"):
        ws.sql("SELEC 1")
    with pytest.raises(WorkspaceError, match="nope"):
        ws.sql("SELECT * FROM nope")
    assert ws.table_info("obs")["rows"] == 8 and not (tmp_path / "x.csv").exists()
    ws.close()
    with Workspace(tmp_path / "w.duckdb", read_only=True) as ro:  # read-only workspaces too
        assert ro.sql("SELECT count(*) AS n FROM obs")["n"].tolist() == [8]


def test_add_query_numbers_rows_in_their_order(tmp_path):
    """``numbered`` numbers the queries' rows in order, over many row groups, keeping the
    column's type; a table without rows is stored as well."""
    like = pd.DataFrame({"obs_id": [7, 8], "k": [-1, -2]}).astype("int64")
    queries = [f"SELECT i * 2 + {j} AS k FROM range(150000) t(i)" for j in range(2)]
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert ws.add_query("t", queries, like=like, kind="table", numbered="obs_id") == 300_000
        assert ws.add_query("e", "SELECT 1 AS k WHERE false", like=like.iloc[:0], kind="table",
                            numbered="obs_id") == 0
    with Workspace(tmp_path / "w.duckdb", read_only=True) as ws:
        got = ws.read("t")
        assert got["obs_id"].dtype == "int64" and len(ws.read("e")) == 0
        assert (got["obs_id"].to_numpy() == np.arange(300_000)).all()
        want = np.concatenate([np.arange(150000) * 2, np.arange(150000) * 2 + 1])
        assert (got["k"].to_numpy() == want).all()
        assert ws.sql("SELECT count(*) FROM duckdb_sequences()").iloc[0, 0] == 0


def test_add_query_computed_columns_in_row_order():
    """``computed`` sets a column from another's values, in numpy, in the rows' order."""
    like = pd.DataFrame({"x": [0.5], "y": [0.5]}).astype("float64")
    seen = []

    def doubled(values):
        seen.append(values.copy())
        return values * 2

    ws = Workspace()
    rows = ws.add_query("t", ["SELECT 3.0 AS x", "SELECT CASE WHEN i = 1 THEN NULL ELSE i END AS x "
                              "FROM range(3) t(i)"], like=like, kind="table",
                        computed={"y": ("x", doubled)})
    assert rows == 4
    got = ws.read("t")
    np.testing.assert_array_equal(seen[0], [3.0, 0.0, np.nan, 2.0])
    np.testing.assert_array_equal(got["y"].to_numpy(), [6.0, 0.0, np.nan, 4.0])
    assert ws.table_info("t")["rows"] == 4
