"""Identities, content-keyed labels, appends, protected results, lineage and migration."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pandas as pd
import pytest

import assay
from assay.exceptions import InvalidParameterError, WorkspaceError
from assay.store import Workspace
from assay.store.identity import describe_input, file_identity, function_identity, record_keys


def obs(stream, n=3, **extra):
    return assay.as_observations(
        pd.DataFrame({"frame": np.arange(n), "cls": "car", **extra}), stream=stream,
        source="labels", fps=10)


# ---------------------------------------------------------------------- record keys


def test_record_keys_follow_values_not_how_they_were_read():
    a = pd.DataFrame({"n": [3, 4], "s": ["x", "y"], "b": [True, False]})
    b = pd.DataFrame({"n": [3.0, 4.0], "s": pd.array(["x", "y"], dtype="string"), "b": [1, 0]})
    assert (record_keys(a, ["n", "s", "b"]) == record_keys(b, ["n", "s", "b"])).all()
    missing = pd.DataFrame({"n": [np.nan, None], "m": pd.array([None, 1], dtype="Int64")})
    keys = record_keys(missing, ["n"])
    assert keys[0] == keys[1]
    # a value, its field's name and the field order all matter
    assert record_keys(a.assign(n=[3, 5]), ["n"])[1] != record_keys(a, ["n"])[1]
    assert record_keys(a.rename(columns={"n": "m"}), ["m"])[0] != record_keys(a, ["n"])[0]
    assert record_keys(a, ["n", "s"])[0] != record_keys(a, ["s", "n"])[0]
    # no separator trick: field boundaries are length-prefixed
    t = pd.DataFrame({"x": ["a|b", "a"], "y": ["c", "b|c"]})
    assert record_keys(t, ["x", "y"])[0] != record_keys(t, ["x", "y"])[1]
    lists = pd.DataFrame({"v": [[1, 2], [1, 2], [2, 1]]})
    k = record_keys(lists, ["v"])
    assert k[0] == k[1] != k[2]
    with pytest.raises(InvalidParameterError, match="no column 'zz'"):
        record_keys(a, ["zz"])


def test_file_identity_resolves_links_and_dots(tmp_path):
    (tmp_path / "d").mkdir()
    f = tmp_path / "d" / "r.csv"
    f.write_text("id\n1\n")
    (tmp_path / "link.csv").symlink_to(f)
    assert file_identity(tmp_path / "link.csv") == file_identity(tmp_path / "d" / ".." / "d" / "r.csv")
    entry = describe_input("records", f)
    assert entry["bytes"] == 5 and entry["path"] == str(f.resolve())


def test_function_identity_tells_functions_apart():
    def make(threshold):
        return lambda rows: rows["x"] > threshold

    low, high, low2 = make(0.1), make(0.9), make(0.1)
    assert function_identity(low)[0] != function_identity(high)[0]
    assert function_identity(low)[0] == function_identity(low2)[0]
    log = []

    def logging(rows):
        log.append(len(rows))
        return rows

    before = function_identity(logging)[0]
    log.extend(range(1000))  # state it writes to is not what it is
    assert function_identity(logging)[0] == before
    assert function_identity(len)[1]["basis"] == "name only"


# ---------------------------------------------------------------------- labels keyed by content


def test_labels_with_content_keys_are_separate_answers():
    ws = Workspace()
    ws.put_labels("o", [1, 1], [0.0, 1.0], content=["a", "b"])
    assert ws.get_labels("o", [1], content=["b"]).tolist() == [1.0]
    assert ws.get_labels("o", [1, 1], content=["a", "zz"]).tolist() == [0.0]
    assert ws.get_labels("o", [1]).empty  # an id-only lookup does not see content-keyed answers
    with pytest.raises(InvalidParameterError, match="one content key"):
        ws.put_labels("o", [1, 2], [0.0, 1.0], content=["a"])
    with pytest.raises(InvalidParameterError, match="must not repeat an id"):
        ws.put_labels("o", [1, 1], [0.0, 1.0], content=["a", "a"])


def test_streamed_answers_are_kept_when_the_oracle_fails_midway():
    ws = Workspace()

    def person(batch):
        for i, x in enumerate(batch):
            if x == 4:
                raise RuntimeError("the labeler went home")
            yield i, x * 10.0

    with pytest.raises(RuntimeError, match="went home"):
        ws.fetch_labels("o", [1, 2, 3, 4, 5], person)
    assert ws.get_labels("o").to_dict() == {1: 10.0, 2: 20.0, 3: 30.0}
    got = ws.fetch_labels("o", [1, 2, 3, 5], lambda b: iter([(np.arange(len(b)), b * 10.0)]))
    assert got.tolist() == [10.0, 20.0, 30.0, 50.0]

    with pytest.raises(InvalidParameterError, match="streamed answers for 1 of the 2"):
        ws.fetch_labels("p", [1, 2], lambda b: iter([(0, 1.0)]))
    assert ws.get_labels("p").to_dict() == {1: 1.0}  # what came is kept
    with pytest.raises(InvalidParameterError, match="integer positions into the batch of 1"):
        ws.fetch_labels("q", [1], lambda b: iter([(5, 1.0)]))
    with pytest.raises(InvalidParameterError, match="must yield"):
        ws.fetch_labels("q", [1], lambda b: iter([1.0]))


def test_oracle_registry_listing_export_and_clear():
    ws = Workspace()
    ws.register_oracle("column:y@file:/a.csv", kind="column", spec="column:y",
                       detail={"column": "y"})
    ws.register_oracle("column:y@file:/a.csv", kind="other", spec="ignored")  # kept once
    ws.put_labels("column:y@file:/a.csv", [2, 1], [1.0, 0.0], content=["k2", "k1"])
    ws.register_oracle("human:/x#default", kind="human", spec="human:/x")
    got = ws.oracles().set_index("oracle")
    assert got.loc["column:y@file:/a.csv", "kind"] == "column"
    assert got.loc["column:y@file:/a.csv", "labels"] == 2
    assert got.loc["column:y@file:/a.csv", "detail"] == {"column": "y"}
    assert got.loc["human:/x#default", "labels"] == 0
    table = ws.labels("column:y@file:/a.csv")
    assert sorted(table["id"]) == [1, 2] and set(table["content"]) == {"k1", "k2"}
    assert ws.clear_labels("column:y@file:/a.csv") == 2
    assert ws.labels("column:y@file:/a.csv").empty


# ---------------------------------------------------------------------- tables: identity, append


def test_append_keeps_identity_and_refuses_collisions():
    ws = Workspace()
    assert ws.append("obs", obs("cam1")) == 3
    info = ws.table_info("obs")
    assert ws.append("obs", obs("cam2"), renumber=True) == 3
    after = ws.table_info("obs")
    assert after["uid"] == info["uid"] and after["revision"] == 2 and after["rows"] == 6
    assert ws.tables().set_index("name").loc["obs", "streams"] == 2
    with pytest.raises(WorkspaceError, match="already holds stream 'cam1'"):
        ws.append("obs", obs("cam1"), renumber=True)
    with pytest.raises(WorkspaceError, match="already holds obs_id 0. Pass renumber=True"):
        ws.append("obs", obs("cam3"))
    with pytest.raises(InvalidParameterError, match="must have the columns it has"):
        ws.append("obs", obs("cam4", score=[0.5, 0.6, 0.7]), renumber=True)
    with pytest.raises(WorkspaceError, match="Cannot append rows to 'obs'"):
        ws.append("obs", pd.DataFrame({"id": [1]}), kind="records")
    ws.append("recs", pd.DataFrame({"id": [1, 2], "p": [0.1, 0.2]}), kind="records")
    with pytest.raises(WorkspaceError, match="already holds record id 2"):
        ws.append("recs", pd.DataFrame({"id": [2, 3], "p": [0.1, 0.2]}))
    assert ws.table_info("obs")["revision"] == 2  # refused appends changed nothing


def test_append_merges_mapping_attrs():
    ws = Workspace()
    a = obs("cam1")
    a.attrs["image_sizes"] = {"cam1": [640, 480]}
    b = obs("cam2")
    b.attrs["image_sizes"] = {"cam2": [1920, 1080]}
    ws.append("obs", a)
    ws.append("obs", b, renumber=True)
    assert ws.read("obs").attrs["image_sizes"] == {"cam1": [640, 480], "cam2": [1920, 1080]}


def test_read_records_where_a_frame_came_from():
    ws = Workspace()
    ws.add("obs", obs("cam1"))
    df = ws.read("obs")
    where = df.attrs["workspace_table"]
    assert where["uid"] == ws.table_info("obs")["uid"] and where["rows"] == 3
    ws.add("copy", df)  # the record is not stored with a copy
    assert ws.read("copy").attrs["workspace_table"]["name"] == "copy"
    entry = describe_input("observations", df.iloc[:2])
    assert entry["identity"] == f"table:{where['uid']}" and entry["rows"] == 2
    assert entry["table_rows"] == 3  # a filtered frame says so


def test_results_of_runs_are_not_replaced_silently():
    ws = Workspace()
    run = ws.start_run("check", {})
    found = pd.DataFrame({"assertion": ["flicker"], "scope": ["obs"], "stream": ["cam1"],
                          "frame_start": [3], "frame_end": [3], "obs_ids": [[10]],
                          "severity": [1.0], "evidence": ["{}"]})
    ws.add_findings(found, run_id=run)
    with pytest.raises(WorkspaceError, match=r"holds the 1 findings of 1 run\(s\) \(check-.*discard_results=True"):
        ws.add("findings", obs("cam1"), replace=True)
    assert len(ws.findings()) == 1
    ws.add("findings", obs("cam1"), replace=True, discard_results=True)
    assert ws.tables().set_index("name").loc["findings", "kind"] == "observations"
    # a component rewrites its own table freely
    ws.add("curate.x.queue", pd.DataFrame({"a": [1]}), kind="table", writer="curate")
    ws.add("curate.x.queue", pd.DataFrame({"a": [2]}), kind="table", writer="curate", replace=True)
    with pytest.raises(WorkspaceError, match="results written by assay's curate runs"):
        ws.add("curate.x.queue", pd.DataFrame({"a": [3]}), kind="table", replace=True)


def test_runs_record_inputs_and_versions():
    ws = Workspace()
    ws.add("obs", obs("cam1"))
    run = ws.start_run("check", {"a": 1},
                       inputs=[describe_input("observations", ws.read("obs"))])
    got = ws.runs().iloc[0]
    assert got["inputs"][0]["table"] == "obs" and got["inputs"][0]["revision"] == 1
    assert got["versions"]["assay"] == assay.__version__
    with pytest.raises(InvalidParameterError, match="needs a 'role' and an 'identity'"):
        ws.start_run("check", {}, inputs=[{"table": "obs"}])
    ws.finish_run(run)


# ---------------------------------------------------------------------- migration

_V1 = """
CREATE SCHEMA _assay;
CREATE TABLE _assay.meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE _assay.tables (name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, rows BIGINT NOT NULL,
    columns VARCHAR NOT NULL, arrow_schema BLOB NOT NULL, attrs VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL, streams BIGINT, classes BIGINT, sources BIGINT);
CREATE TABLE _assay.labels (oracle VARCHAR NOT NULL, id VARCHAR NOT NULL,
    id_is_int BOOLEAN NOT NULL, value DOUBLE NOT NULL, time TIMESTAMP NOT NULL, run_id VARCHAR,
    PRIMARY KEY (oracle, id));
CREATE TABLE _assay.runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL, started TIMESTAMP NOT NULL, finished TIMESTAMP,
    params VARCHAR NOT NULL, summary VARCHAR);
INSERT INTO _assay.meta VALUES ('format_version', '1'), ('created', '2026-11-01T00:00:00');
"""


def make_v1(path):
    """A workspace as assay 0.1 (format 1) wrote it: a table, labels and a run."""
    with Workspace() as ws:  # borrow today's encoding of the table's columns
        ws.add("recs", pd.DataFrame({"id": [1, 2, 3], "proxy": [0.1, 0.5, 0.9]}), kind="records")
        meta = ws._query("SELECT kind, rows, columns, arrow_schema, attrs FROM _assay.tables")[0]
    con = duckdb.connect(str(path))
    con.execute(_V1)
    con.execute("CREATE TABLE recs AS SELECT * FROM (VALUES (1, 0.1), (2, 0.5), (3, 0.9)) t(id, proxy)")
    con.execute("INSERT INTO _assay.tables VALUES ('recs', ?, ?, ?, ?, ?, now(), NULL, NULL, NULL)",
                list(meta))
    con.execute("INSERT INTO _assay.labels VALUES ('column:label@recs', '1', true, 1.0, now(), 'q-1'),"
                " ('column:label@recs', '2', true, 0.0, now(), 'q-1')")
    con.execute("INSERT INTO _assay.runs VALUES ('q-1', 'query', 'ok', now(), now(), '{}', '{}')")
    con.close()


def test_an_older_workspace_is_migrated_when_opened_for_writing(tmp_path):
    path = tmp_path / "old.duckdb"
    make_v1(path)
    with pytest.raises(WorkspaceError, match=r"format version 1; .*`assay migrate"):
        Workspace(path, read_only=True)
    with Workspace(path) as ws:
        assert ws.migrated_from == 1
        assert ws.read("recs")["proxy"].tolist() == [0.1, 0.5, 0.9]
        assert ws.table_info("recs")["revision"] == 1 and ws.table_info("recs")["uid"]
        # old answers are kept, reusable only under their old key, by id alone
        assert ws.get_labels("column:label@recs").to_dict() == {1: 1.0, 2: 0.0}
        assert ws.runs()["inputs"].tolist() == [[]]
        r = assay.approx.aggregate(
            ws.read("recs").assign(label=[1, 0, 1]), oracle="column:label", budget=2,
            range=(0, 1), seed=0, workspace=ws, labels="column:label@recs")
        assert r.labels_paid <= 1  # ids 1 and 2 were answered before
    with Workspace(path, read_only=True) as ws:
        assert ws.migrated_from is None and "recs" in ws


def test_a_failed_migration_leaves_the_old_workspace(tmp_path, monkeypatch):
    from assay.store import _schema

    path = tmp_path / "old.duckdb"
    make_v1(path)

    def broken(con):
        con.execute("ALTER TABLE _assay.tables RENAME TO tables_v1")
        raise RuntimeError("power cut")

    monkeypatch.setitem(_schema.MIGRATIONS, 1, broken)
    with pytest.raises(RuntimeError, match="power cut"):
        Workspace(path)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT value FROM _assay.meta WHERE key='format_version'").fetchall() == [("1",)]
    assert con.execute("SELECT count(*) FROM _assay.tables").fetchall() == [(1,)]
    con.close()


# ---------------------------------------------------------------------- durability

_FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
import pandas as pd
from assay.store import Workspace
path = sys.argv[1]
ws = Workspace(path)
ws.add("base", pd.DataFrame({"x": [1]}), kind="table")
ws.checkpoint()
import os
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 4096, resource.RLIM_INFINITY))
ws.add("more", pd.DataFrame({"x": range(3000)}), kind="table")
try:
    ws.checkpoint()
    print("CHECKPOINTED")
except Exception as exc:
    print("REPORTED:", exc)
"""


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_checkpoint_that_cannot_write_says_so(tmp_path):
    script = tmp_path / "full.py"
    script.write_text(textwrap.dedent(_FULL_DISK))
    path = tmp_path / "w.duckdb"
    proc = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert "REPORTED:" in proc.stdout, proc.stdout + proc.stderr
    assert "write-ahead log" in proc.stdout and "It is not lost" in proc.stdout
    with Workspace(path) as ws:  # the log is replayed once there is room
        assert len(ws.read("more")) == 3000
    assert signal.SIGXFSZ  # the child ignored it: an over-limit write fails instead of killing


def test_per_stream_summary_is_kept_through_appends():
    ws = Workspace()
    a = obs("cam2", n=5, track=[1, 1, 2, None, 2])
    b = obs("cam1", n=3, track=[7, 7, 7])
    ws.append("grown", a)
    ws.append("grown", b, renumber=True)
    ws.add("whole", pd.concat([a, b.assign(obs_id=b["obs_id"] + 5)], ignore_index=True))
    kept = ws.summary("grown")
    assert kept["stream"].tolist() == ["cam1", "cam2"]
    pd.testing.assert_frame_equal(kept, ws.summary("whole"))
    ws._query("UPDATE _assay.tables SET stream_summary = NULL")  # as a workspace of format 1
    pd.testing.assert_frame_equal(ws.summary("grown"), kept)  # computed from the rows instead


@pytest.mark.parametrize("tables", ["one stream", "one stream, no track", "two streams", "empty"])
def test_stored_summary_and_counts_are_those_of_the_rows(tables):
    """A table of one stream is summarised without grouping: the same summary and counts as
    the grouping computes from the rows."""
    cam = obs("cam1", n=6, track=[1, 1, 2, None, 2, 3], score=[0.5, np.nan, 1, 1, 1, 1])
    cam["cls"] = ["car", "car", "bus", "car", "bus", "car"]
    cam.loc[3, "source"] = "model:x"
    frames = {"one stream": cam, "one stream, no track": cam.drop(columns="track"),
              "two streams": pd.concat([cam, obs("cam0", n=2).assign(obs_id=[6, 7])],
                                       ignore_index=True),
              "empty": cam.iloc[:0]}
    ws = Workspace()
    ws.add("t", frames[tables])
    kept = ws.summary("t")
    counts = ws.tables()[["streams", "classes", "sources"]].values.tolist()
    ws._query("UPDATE _assay.tables SET stream_summary = NULL")  # computed from the rows instead
    pd.testing.assert_frame_equal(ws.summary("t"), kept)
    assert counts == ws.sql("SELECT count(DISTINCT stream), count(DISTINCT cls), "
                            "count(DISTINCT source) FROM t").values.tolist()
    assert len(kept) == {"one stream": 1, "one stream, no track": 1, "two streams": 2, "empty": 0}[tables]
