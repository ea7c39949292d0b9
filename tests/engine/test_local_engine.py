"""The local engine reading a group of streams at a time (a DataFrame, a Parquet dataset
partitioned by stream, a workspace table) finds exactly what the in-memory path finds on the
real data; and engine="ray" without Ray says which extra to install."""

from __future__ import annotations

import builtins

import pandas as pd
import pytest
from _engine_helpers import assertions_for, cli_check_runs, to_parquet_by_stream

from assay.assertions import check
from assay.engine import Streams, get_engine
from assay.engine.streams import _balanced
from assay.exceptions import InvalidParameterError, MissingDependencyError
from assay.store import Workspace

pytestmark = pytest.mark.shared_data

TABLES = ["mot15-det", "mot15-gt", "kitti-labels", "kitti-pointrcnn"]


@pytest.fixture(scope="module")
def in_memory(real_observations):
    """Each table's findings and notes from the in-memory path."""
    return {name: check(obs, assertions_for(name)) for name, obs in real_observations.items()}


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs.get("notes") == b.attrs.get("notes")


@pytest.mark.parametrize("name", TABLES)
def test_groups_of_streams_find_what_the_whole_table_finds(name, real_observations, in_memory):
    obs = real_observations[name]
    # groups of one stream or a few: never two streams' rows in one group matter
    grouped = check(Streams.from_frame(obs), assertions_for(name), rows_per_group=2000)
    same(in_memory[name], grouped)


@pytest.mark.parametrize("name", TABLES)
def test_a_parquet_dataset_is_read_where_it_lies(name, real_observations, in_memory, tmp_path):
    folder = to_parquet_by_stream(real_observations[name], tmp_path / "obs")
    same(in_memory[name], check(folder, assertions_for(name), rows_per_group=5000))
    assert Streams.from_parquet(folder).counts().equals(
        Streams.from_frame(real_observations[name]).counts())


def test_a_workspace_table_by_groups_of_streams(real_observations, in_memory):
    ws = Workspace()
    ws.add("det", real_observations["mot15-det"])
    out = check(Streams.from_workspace(ws, "det"), assertions_for("mot15-det"), workspace=ws,
                name="det", rows_per_group=4000)
    same(in_memory["mot15-det"], out.drop(columns="run_id").assign(
        run_id=in_memory["mot15-det"]["run_id"])[in_memory["mot15-det"].columns])
    run = ws.runs().iloc[-1]
    assert run["run_id"] == out.attrs["run_id"]
    assert run["inputs"][0]["identity"] == ws.table_info("det")["identity"]
    assert ws.findings(out.attrs["run_id"]).shape[0] == len(out)


def test_workspace_reads_several_streams():
    ws = Workspace()
    ws.add("t", pd.DataFrame({"stream": ["a", "b", "c"], "frame": [1, 2, 3]}), kind="table")
    assert ws.read("t", stream=["a", "c"])["frame"].tolist() == [1, 3]
    assert ws.read("t", stream=[]).empty


def test_groups_pack_streams_and_never_split_one():
    s = Streams.from_frame(pd.DataFrame({"stream": list("aabbbbc"), "frame": range(7)}))
    assert s.groups(rows_per_group=3) == [["a"], ["b"], ["c"]]
    assert s.groups(rows_per_group=100) == [["a", "b", "c"]]
    assert s.groups(rows_per_group=100, at_least=2) == [["a"], ["b"], ["c"]]


def test_groups_for_a_cluster_are_a_multiple_of_its_workers_and_about_equal():
    # 100 streams of 100 rows, 2,000 rows a group: five groups; on two workers six of about
    # 1,667 rows (three rounds of smaller groups rather than three rounds of 2,000)
    s = Streams.from_frame(pd.DataFrame({"stream": [f"s{i:03d}" for i in range(100) for _ in range(100)]}))
    assert len(s.groups(rows_per_group=2000)) == 5
    sizes = [len(g) * 100 for g in s.groups(rows_per_group=2000, multiple_of=2)]
    assert len(sizes) == 6 and max(sizes) - min(sizes) <= 100 and max(sizes) <= 2000
    assert sum(s.groups(rows_per_group=2000, multiple_of=2), []) == list(s.counts().index)
    # fewer streams than the groups asked for: the packed groups stay
    lumpy = Streams.from_frame(pd.DataFrame({"stream": list("aaaabbbbbc")}))
    assert lumpy.groups(rows_per_group=5, multiple_of=2) == lumpy.groups(rows_per_group=5)
    # equal groups that would put several streams over the limit are not made
    counts = pd.Series([1, 5, 1, 5], index=list("abcd"))
    assert _balanced(counts, 2, 6) == [["a", "b"], ["c", "d"]]
    assert _balanced(counts, 2, 5) is None


def test_bad_engine_and_address_are_named():
    obs = pd.DataFrame({"stream": ["a"], "frame": [1]})
    with pytest.raises(InvalidParameterError, match="'engine' parameter of check must be one of"):
        check(obs, [], engine="spark")
    with pytest.raises(InvalidParameterError, match="needs engine='ray'"):
        check(obs, [], address="127.0.0.1:6379")
    with pytest.raises(InvalidParameterError, match="No Parquet dataset"):
        check("/nonexistent/obs", assertions_for("mot15-det"))


def test_ray_engine_without_ray_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(MissingDependencyError, match=r"pip install 'assay\[ray\]'"):
        get_engine("ray")
    with pytest.raises(MissingDependencyError, match=r"pip install 'assay\[ray\]'"):
        check(pd.DataFrame({"stream": ["a"], "frame": [1]}), assertions_for("mot15-det"), engine="ray")


def test_cli_check_by_groups_stores_the_same_findings(real_observations, tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.add("det", real_observations["mot15-det"])
    a, b = cli_check_runs(path, "det", [], ["--rows-per-group", "3000"])
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 0


def test_parquet_files_with_a_stream_column(real_observations, in_memory, tmp_path):
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    obs = real_observations["kitti-labels"]
    table = pa.Table.from_pandas(obs, preserve_index=False)
    pq.write_table(table, tmp_path / "one.parquet")
    ds.write_dataset(table, tmp_path / "flat", format="parquet", max_rows_per_file=5000,
                     max_rows_per_group=5000)
    for source in (tmp_path / "one.parquet", tmp_path / "flat"):
        same(in_memory["kitti-labels"], check(str(source), assertions_for("kitti-labels"),
                                             rows_per_group=4000))


def test_ray_oracle_parameters_are_checked():
    from assay.engine import RayOracle

    for bad in ({"actors": 0}, {"batch_size": 0}, {"num_gpus": -1}, {"max_restarts": -1}):
        with pytest.raises(InvalidParameterError, match=f"'{next(iter(bad))}' parameter of RayOracle"):
            RayOracle("python:math:floor", **bad)
    with pytest.raises(InvalidParameterError, match="'fn' parameter of RayOracle"):
        RayOracle("column:label")


def test_an_obs_id_repeated_across_groups_of_a_parquet_dataset_is_refused(real_observations, tmp_path):
    """Each group is validated alone, so a repeat across groups needs the dataset-wide check."""
    from assay.exceptions import SchemaError

    obs = real_observations["mot15-gt"]
    a, b = sorted(obs["stream"].unique())[:2]
    two = obs[obs["stream"].isin([a, b])].reset_index(drop=True)
    in_a = (two["stream"] == a).to_numpy()
    # numbered stream by stream (ranges apart): the cheap pass alone clears it
    ok = to_parquet_by_stream(two, tmp_path / "ok")
    assert len(check(ok, assertions_for("mot15-gt"), rows_per_group=1)) > 0
    # interleaved but unique (ranges overlap): the ids themselves are compared, and pass
    mixed = two.copy()
    mixed.loc[in_a, "obs_id"] = 2 * pd.RangeIndex(int(in_a.sum()))
    mixed.loc[~in_a, "obs_id"] = 2 * pd.RangeIndex(int((~in_a).sum())) + 1
    Streams.from_parquet(to_parquet_by_stream(mixed, tmp_path / "mixed")).check_ids()
    # one id on a row of each stream: refused, naming the id and both streams
    bad = two.copy()
    bad.loc[bad.index[~in_a][3], "obs_id"] = bad.loc[bad.index[in_a][5], "obs_id"]
    folder = to_parquet_by_stream(bad, tmp_path / "bad")
    with pytest.raises(SchemaError, match=rf"obs_id {bad.loc[bad.index[in_a][5], 'obs_id']} is on more than one "
                                          rf"row \(stream '{a}', '{b}'\); expected a unique obs_id"):
        check(folder, assertions_for("mot15-gt"), rows_per_group=1)
