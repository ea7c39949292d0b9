"""Safe names from data, the inside-the-folder check, and staged writes."""

from __future__ import annotations

import os
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assay
from assay.exceptions import DataFileNotFoundError, InvalidParameterError, UnsafePathError
from assay.io import (
    StagedFiles,
    check_inside,
    original_name,
    paths,
    safe_name,
    write_mot,
    write_parquet,
)

HOSTILE = ["../../../escaped", "/tmp/abs", "a/b", "..", ".", "", "x\x00y", "C:\\x", "x" * 300,
           "100%", "%2F", "%", "%~", "nul", "COM1.txt", ".hidden", "a\nb", "tab\there", "é" * 120,
           "x" * 149 + "é", "x" * 300 + "a"]


def test_public_names():
    assert paths.__all__ == ["StagedFiles", "check_inside", "original_name", "safe_name"]
    assert set(paths.__all__) <= set(assay.io.__all__)
    assert issubclass(UnsafePathError, ValueError) and issubclass(UnsafePathError, assay.AssayError)


def test_hostile_names_become_one_safe_component():
    out = [safe_name(n) for n in HOSTILE]
    assert len(set(out)) == len(HOSTILE)  # distinct names stay distinct
    for name, comp in zip(HOSTILE, out, strict=True):
        assert comp not in ("", ".", "..") and not comp.startswith(".")
        assert not set(comp) & set('/\\\x00:*?"<>|\n\t')
        assert len(comp.encode()) <= 150
        if len(name.encode()) <= 50:
            assert original_name(comp) == name
    assert [safe_name(n) for n in ["TUD-Campus", "cam 1", "caméra"]] == ["TUD-Campus", "cam 1", "caméra"]


def test_long_names_truncate_with_a_hash():
    a, b = safe_name("x" * 300), safe_name("x" * 300 + "a")
    assert a != b and a[:100] == b[:100] and len(a.encode()) == len(b.encode()) == 150
    assert len(safe_name("é" * 120, max_bytes=64).encode()) <= 64
    with pytest.raises(InvalidParameterError, match="truncated"):
        original_name(a)
    with pytest.raises(InvalidParameterError, match="'max_bytes' parameter of safe_name"):
        safe_name("x", max_bytes=300)


def test_reserved_names_are_encoded():
    assert safe_name("queue.csv", reserved=["queue.csv"]) == "%71ueue.csv"
    assert safe_name("QUEUE.CSV", reserved=["queue.csv"]) == "%51UEUE.CSV"
    assert original_name("%71ueue.csv") == "queue.csv"
    for bad in ["a/b", "..", "%zz", "%2f", "%FF", "", "x%25"[:-1]]:
        with pytest.raises(InvalidParameterError, match="a name written by safe_name"):
            original_name(bad)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=2, max_size=6, unique=True))
def test_safe_name_is_injective_and_reversible(names):
    comps = [safe_name(n, max_bytes=64) for n in names]
    assert len(set(comps)) == len(names)
    for n, c in zip(names, comps, strict=True):
        assert "/" not in c and "\x00" not in c and c not in ("", ".", "..")
        assert len(c.encode()) <= 64
        if paths.TRUNCATED not in c:
            assert original_name(c) == n


def test_check_inside(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    assert check_inside(root / "a" / "b.txt", root) == root / "a" / "b.txt"
    for bad in [root / ".." / "x", root, tmp_path / "x", root / "a" / ".." / ".." / "x"]:
        with pytest.raises(UnsafePathError, match="outside the folder"):
            check_inside(bad, root)
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        check_inside(root / "link" / "x.txt", root)
    with pytest.raises(UnsafePathError, match="not a usable path"):
        check_inside(str(root) + "/x\x00y", root)


def test_staged_files_all_or_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt), StagedFiles() as stage:
        stage.path(tmp_path / "a.txt").write_text("new")
        stage.folder(tmp_path / "made")
        stage.path(tmp_path / "made" / "b.txt").write_text("b")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"
    with StagedFiles() as stage:
        stage.path(tmp_path / "a.txt").write_text("new")
    assert (tmp_path / "a.txt").read_text() == "new" and stage.written == [tmp_path / "a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    with pytest.raises(DataFileNotFoundError, match="folder .*no.* does not exist"):
        StagedFiles().folder(tmp_path / "no" / "deeper")
    with pytest.raises(InvalidParameterError, match="it is a folder"):
        StagedFiles().path(tmp_path)


def test_staged_file_permissions_follow_the_umask(tmp_path):
    with StagedFiles() as stage:
        stage.path(tmp_path / "a.txt").write_text("a")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_writers_create_no_folders(tmp_path):
    obs = assay.as_observations(pd.DataFrame({"frame": [1], "cls": "car", "x1": [1.0], "y1": 2.0,
                                              "x2": [3.0], "y2": 4.0}), stream="s", source="m", fps=1)
    for write, name in [(write_mot, "det.txt"), (write_parquet, "obs.parquet")]:
        with pytest.raises(DataFileNotFoundError, match=re.escape(f"folder '{tmp_path / 'missing' / 'deeper'}' does not exist")):
            write(obs, tmp_path / "missing" / "deeper" / name)
        assert not (tmp_path / "missing").exists()
        assert write(obs, tmp_path / name).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["det.txt", "obs.parquet"]
