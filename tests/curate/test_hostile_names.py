"""Stream names from data that try to write outside the export folder, or to break it: from a
CSV, from a Parquet file, and through the command line (ingest, then curate --export mot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assay
from assay.cli import cli
from assay.curate import to_mot
from assay.io import original_name, read_mot, read_parquet, write_parquet

HOSTILE = ["../../../escaped", "/tmp/abs", "a/b", "..", ".", "", "x\x00y", "C:\\x", "s" * 300,
           "s" * 300 + "t", "100%", "%2F", "%", "queue.csv", "nul", "NA", "a\nb", ".hidden", "TUD-Campus"]
ABSOLUTE = Path("/tmp/abs")


def observations(names: list[str]) -> pd.DataFrame:
    """Two frames per stream, two boxes per frame, different boxes in each stream."""
    n = len(names)
    i = np.repeat(np.arange(n), 4)
    df = pd.DataFrame({
        "stream": np.array(names, dtype=object)[i], "frame": np.tile([1, 1, 2, 2], n),
        "cls": "pedestrian", "x1": 10.0 * i + np.tile([0.0, 50.0, 1.0, 51.0], n), "y1": 20.0,
        "x2": 10.0 * i + np.tile([30.0, 80.0, 31.0, 81.0], n), "y2": 90.0, "score": 0.5,
    })
    return assay.as_observations(df, source="model:x", fps=10)


def snapshot(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def check_export(obs: pd.DataFrame, target: Path, tmp_path: Path, before: set[Path], abs_before: bool):
    """Nothing new outside ``target``; each stream's MOT file, found through queue.csv, holds
    that stream's boxes."""
    new = snapshot(tmp_path) - before
    assert new and all(p == target or target in p.parents for p in new), sorted(
        p for p in new if target not in p.parents)
    assert ABSOLUTE.exists() == abs_before
    listing = pd.read_csv(target / "queue.csv", dtype=str, keep_default_na=False)
    assert sorted(set(listing["stream"])) == sorted(HOSTILE)
    folders = listing.groupby("stream")["folder"].unique()
    assert folders.map(len).eq(1).all()  # one folder per stream
    folders = folders.map(lambda f: f[0])
    assert folders.nunique() == len(HOSTILE)
    assert {p.name for p in target.iterdir()} == {*folders, "queue.csv"}
    for stream, folder in folders.items():
        assert len(folder.encode()) <= 150 and Path(folder).name == folder
        if len(stream) < 100:
            assert original_name(folder) == stream
        back = read_mot(target / folder / "det" / "det.txt", kind="det", fps=10)
        want = obs.loc[obs["stream"] == stream].sort_values(["frame", "obs_id"])
        np.testing.assert_allclose(back[["x1", "y1", "x2", "y2"]].to_numpy(),
                                   want[["x1", "y1", "x2", "y2"]].to_numpy(), atol=1e-6)


def all_frames(obs: pd.DataFrame) -> pd.DataFrame:
    return obs[["stream", "frame"]].drop_duplicates(ignore_index=True)


def target_in(tmp_path: Path) -> Path:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    return deep / "out"


@pytest.fixture
def names():
    return HOSTILE


def test_from_a_csv(tmp_path):
    src = tmp_path / "obs.csv"
    observations(HOSTILE).to_csv(src, index=False)
    obs = assay.validate(pd.read_csv(src, dtype={"stream": str}, keep_default_na=False))
    assert sorted(obs["stream"].unique()) == sorted(HOSTILE)
    target = target_in(tmp_path)
    before, abs_before = snapshot(tmp_path), ABSOLUTE.exists()
    to_mot(all_frames(obs), obs, target)
    check_export(obs, target, tmp_path, before, abs_before)


def test_from_a_parquet_file(tmp_path):
    src = write_parquet(observations(HOSTILE), tmp_path / "obs.parquet")
    obs = read_parquet(src)
    target = target_in(tmp_path)
    before, abs_before = snapshot(tmp_path), ABSOLUTE.exists()
    files = to_mot(all_frames(obs), obs, target)
    assert len(files) == len(HOSTILE) + 1
    check_export(obs, target, tmp_path, before, abs_before)
    # again into the same folder: the same files, replaced
    to_mot(all_frames(obs), obs, target)
    check_export(obs, target, tmp_path, before, abs_before)


def test_through_the_command_line(tmp_path):
    obs = observations(HOSTILE)
    src = write_parquet(obs, tmp_path / "obs.parquet")
    ws = tmp_path / "w.duckdb"
    run = CliRunner().invoke
    r = run(cli, ["ingest", "parquet", str(src), "-w", str(ws), "-n", "preds"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    target = target_in(tmp_path)
    before, abs_before = snapshot(tmp_path), ABSOLUTE.exists()
    r = run(cli, ["curate", "-w", str(ws), "-o", "preds", "-s", "random", "-b", str(2 * len(HOSTILE)),
                  "--export", "mot", str(target)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    new = snapshot(tmp_path) - before
    check_export(obs, target, tmp_path, before | {p for p in new if p.name.startswith("w.duckdb")}, abs_before)


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    obs = observations(["cam"])
    target = tmp_path / "out"
    target.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (target / "cam").symlink_to(outside)
    with pytest.raises(assay.exceptions.UnsafePathError, match="outside the folder"):
        to_mot(all_frames(obs), obs, target)
    assert list(outside.iterdir()) == [] and [p.name for p in target.iterdir()] == ["cam"]


def test_the_folder_is_made_but_not_its_parents(tmp_path):
    obs = observations(["cam"])
    with pytest.raises(assay.exceptions.DataFileNotFoundError, match="does not exist"):
        to_mot(all_frames(obs), obs, tmp_path / "x" / "out")
    assert list(tmp_path.iterdir()) == []
    files = to_mot(all_frames(obs), obs, tmp_path / "out")
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["out/cam/det/det.txt", "out/queue.csv"]
