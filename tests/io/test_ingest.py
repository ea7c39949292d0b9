"""assay.io.ingest: DuckDB's CSV reader stores exactly the table the Python reader returns,
and a bad line raises exactly the Python reader's error."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from assay.exceptions import AssayError
from assay.io import read_kitti_detections, read_kitti_tracking, read_mot
from assay.io.ingest import ingest
from assay.store import Workspace


def stored(ws: Workspace, name: str) -> tuple:
    """Everything a workspace keeps of a table, but the ids and times of its creation."""
    frame = ws.read(name)
    frame.attrs.pop("workspace_table")
    rows = ws.sql(f'SELECT * FROM "{name}"')
    meta = ws.sql("SELECT * EXCLUDE (name, uid, created, modified) FROM _assay.tables "
                  "WHERE name = ?", [name])
    return frame, rows, meta


def assert_same(a: Workspace, b: Workspace, name: str = "t") -> None:
    (fa, ra, ma), (fb, rb, mb) = stored(a, name), stored(b, name)
    assert list(fa.columns) == list(fb.columns)
    assert list(fa.dtypes) == list(fb.dtypes)
    assert fa.equals(fb)
    assert fa.attrs == fb.attrs
    assert ra.equals(rb)
    assert ma.equals(mb)


def through_python(path, fmt: str, **kw) -> Workspace:
    ws = Workspace()
    if fmt == "kitti-tracking":
        ws.add("t", read_kitti_tracking(path, **kw))
    elif fmt == "kitti-detections":
        ws.add("t", read_kitti_detections(path, **kw))
    else:
        ws.add("t", read_mot(path, kind=fmt[4:], **kw))
    return ws


# ------------------------------------------------------------------ real data, DuckDB's reader


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["mot-det", "mot-gt"])
@pytest.mark.parametrize("where", ["root", "sequence"])
def test_mot15_stored_as_the_reader_stores_it(shared_data, fmt, where):
    path = shared_data / "mot15"
    if where == "sequence":  # world coordinates in its ground truth
        path = path / "PETS09-S2L1"
    ws = Workspace()
    done = ingest(path, ws, name="t", format=fmt)
    assert done.reader == "duckdb"
    assert_same(ws, through_python(path, fmt))
    assert done.rows == ws.table_info("t")["rows"]
    assert done.streams == sorted(done.streams) and len(done.streams) == (6 if where == "root" else 1)


@pytest.mark.shared_data
def test_mot15_every_file_and_option(shared_data):
    for f in sorted((shared_data / "mot15").glob("*/*.txt")):
        fmt = "mot-gt" if f.name == "gt.txt" else "mot-det"
        kw = {"fps": 7.5, "stream": f"cam {f.parent.name}'s", "source": "model:x"}
        ws = Workspace()
        assert ingest(f, ws, name="t", format=fmt, **kw).reader == "duckdb", f
        assert_same(ws, through_python(f, fmt, **kw))


@pytest.mark.shared_data
def test_kitti_tracking_stored_as_the_reader_stores_it(shared_data):
    folder = shared_data / "kitti" / "label_02"
    ws = Workspace()
    done = ingest(folder, ws, name="t", format="kitti-tracking")
    assert done.reader == "duckdb" and len(done.streams) == 10
    assert_same(ws, through_python(folder, "kitti-tracking"))
    assert ws.read("t").attrs["dropped_rows"]["DontCare"] > 0
    one = sorted(folder.glob("*.txt"))[3]
    kw = {"stream": "cam 1", "source": "model:x", "fps": 12.5}
    ws = Workspace()
    assert ingest(one, ws, name="t", format="kitti-tracking", **kw).reader == "duckdb"
    assert_same(ws, through_python(one, "kitti-tracking", **kw))


@pytest.mark.shared_data
def test_kitti_detections_stored_as_the_reader_stores_them(shared_data):
    """Files of one stream in several class folders, sorted as the reader sorts them; the
    score, numpy's logistic function of the raw score, bit for bit."""
    folder = shared_data / "kitti" / "pointrcnn"
    ws = Workspace()
    done = ingest(folder, ws, name="t", format="kitti-detections")
    assert done.reader == "duckdb" and len(done.streams) == 10
    assert_same(ws, through_python(folder, "kitti-detections"))
    one = sorted(folder.glob("*/*.txt"))[3]
    kw = {"stream": "cam 1", "source": "model:x", "fps": 12.5}
    ws = Workspace()
    assert ingest(one, ws, name="t", format="kitti-detections", **kw).reader == "duckdb"
    assert_same(ws, through_python(one, "kitti-detections", **kw))


# ------------------------------------------------------------------ bad and unusual lines

GOOD = "1,-1,281.9,187.4,79.9,209.5,0.99,-1,-1,-1\n2,-1,281.0,187.0,80.0,210.0,0.98,-1,-1,-1\n"
GT9 = "1,1,10,20,5,8,1,1,0.5\n2,1,11,21,5,8,0,7,1\n"

CASES = {
    # rows DuckDB alone would read, or read otherwise: the Python reader decides
    "fractional frame": GOOD + "3.5,-1,1,2,3,4,0.5,-1,-1,-1\n",
    "frame 1.0": "1.0,-1,1,2,3,4,0.5,-1,-1,-1\n",
    "frame 1e3": GOOD + "1e3,-1,1,2,3,4,0.5,-1,-1,-1\n",
    "plus sign": GOOD + "+3,-1,1,2,3,4,0.5,-1,-1,-1\n",
    "underscore": GOOD + "3,-1,1_000,2,3,4,0.5,-1,-1,-1\n",
    "hex id": GOOD + "3,0x10,1,2,3,4,0.5,-1,-1,-1\n",
    "trailing comma": GOOD + "3,-1,1,2,3,4,0.5,-1,-1,-1,\n",
    "two trailing commas": GOOD + "3,-1,1,2,3,4,0.5,-1,-1,-1,,\n",
    "empty field": GOOD + "3,-1,,2,3,4,0.5,-1,-1,-1\n",
    "empty last field": GOOD + "3,-1,1,2,3,4,0.5,-1,-1,\n",
    "field missing": GOOD + "3,-1,1,2,3,4,0.5,-1,-1\n",
    "field too many": GOOD + "3,-1,1,2,3,4,0.5,-1,-1,-1,7\n",
    "text": GOOD + "3,-1,abc,2,3,4,0.5,-1,-1,-1\n",
    "header": "frame,id,left,top,w,h,score,x,y,z\n" + GOOD,
    "quoted": GOOD + '3,-1,"1",2,3,4,0.5,-1,-1,-1\n',
    "spaces only line": GOOD + "   \n" + GOOD,
    "frame 0": GOOD + "0,-1,1,2,3,4,0.5,-1,-1,-1\n",
    "negative width": GOOD + "\n4,-1,10,20,-5,40,0.7,-1,-1,-1\n",
    "negative zero width": GOOD + "4,-1,10,20,-0,40,0.7,-1,-1,-1\n",
    "nan score": GOOD + "3,-1,10,20,5,40,nan,-1,-1,-1\n",
    "inf left": GOOD + "3,-1,inf,20,5,40,0.5,-1,-1,-1\n",
    "overflowing box": GOOD + "3,-1,1e308,20,1e308,40,0.5,-1,-1,-1\n",
    "huge frame": GOOD + "99999999999999999999,-1,1,2,3,4,0.5,-1,-1,-1\n",
    "world coordinates late": GOOD * 60 + "3,-1,1,2,3,4,0.5,7,8,9\n",
    "world nan": "1,-1,1,2,3,4,0.5,nan,1,2\n" + GOOD,
    "world -1.0": "1,-1,1,2,3,4,0.5,-1.0,-1,-1.0\n" + GOOD,
    "world set": "1,-1,1,2,3,4,0.5,4.5,1,2\n" + GOOD,
    "score -1": GOOD + "3,-1,1,2,3,4,-1,-1,-1,-1\n",
    "spaces around numbers": GOOD + " 3 , -1 ,1 ,2,3,4,0.5 ,-1,-1,-1\n",
    "tab before number": GOOD + "3,\t-1,1,2,3,4,0.5,-1,-1,-1\n",
    "crlf": GOOD.replace("\n", "\r\n"),
    "blank lines": "\n\n" + GOOD + "\n\n",
    "no final newline": GOOD.rstrip("\n"),
    "utf-8 bom": "\ufeff" + GOOD,
    "not utf-8": GOOD.encode() + b"3,-1,1,2,3,4,0.5,-1,-1,\xff1\n",
    "utf-16": GOOD.encode("utf-16"),
    "nul byte": GOOD.encode() + b"3,-1,1,2\x00,3,4,0.5,-1,-1,-1\n",
    "empty file": "",
    "five fields": "1,2,3,4,5\n",
    "nine fields, det": GT9,
    "gt id -1": "1,-1,10,20,5,8,1,-1,-1,-1\n",
    "gt9": GT9,
    "gt9 unknown class": GT9 + "3,1,10,20,5,8,1,13,1\n",
    "gt9 nan visibility": GT9 + "3,1,10,20,5,8,1,1,nan\n",
    "gt9 fractional class": GT9 + "3,1,10,20,5,8,1,1.0,1\n",
}


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the reader's, on 1e308
@pytest.mark.parametrize("fmt", ["mot-det", "mot-gt"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_or_unusual_lines_as_the_reader_reads_them(tmp_path, case, fmt):
    content = CASES[case]
    p = tmp_path / "det.txt"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    try:
        with warnings.catch_warnings(record=True) as expected_warnings:
            warnings.simplefilter("always")
            expected = through_python(p, fmt, fps=10)
    except AssayError as e:
        with pytest.raises(type(e)) as got:
            ingest(p, Workspace(), name="t", format=fmt, fps=10)
        assert str(got.value) == str(e)
        assert (getattr(got.value, "line", None), getattr(got.value, "column", None)) == (
            getattr(e, "line", None), getattr(e, "column", None))
        return
    ws = Workspace()
    with warnings.catch_warnings(record=True) as got_warnings:
        warnings.simplefilter("always")
        ingest(p, ws, name="t", format=fmt, fps=10)
    assert_same(ws, expected)
    assert [str(w.message) for w in got_warnings] == [str(w.message) for w in expected_warnings]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_good_lines_are_read_by_duckdb(tmp_path, newline):
    p = tmp_path / "det.txt"
    text = "\ufeff" + GOOD + "\n\n3, -1 ,1,2,3,4,-1,-1,-1,-1\n4,-1,1,2,0,4,1e-3,-1,-1,-1"
    p.write_bytes(text.replace("\n", newline).encode())
    ws = Workspace()
    assert ingest(p, ws, name="t", format="mot-det", fps=10).reader == "duckdb"
    assert_same(ws, through_python(p, "mot-det", fps=10))


def test_a_bad_line_leaves_nothing_stored_and_the_workspace_usable(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text(GOOD + "3,-1,1,2,-3,4,0.5,-1,-1,-1\n")
    ws = Workspace()
    with pytest.raises(AssayError, match="line 3, column 5"):
        ingest(p, ws, name="t", format="mot-det", fps=10)
    assert "t" not in ws
    p.write_text(GOOD)
    assert ingest(p, ws, name="t", format="mot-det", fps=10).reader == "duckdb"


def test_inside_a_transaction_the_python_reader_reads(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text(GOOD)
    ws = Workspace()
    with ws.transaction():
        done = ingest(p, ws, name="t", format="mot-det", fps=10)
        ws.add("u", read_mot(p, fps=10))
    assert done.reader == "python"
    assert ws.read("t").equals(ws.read("u"))


def test_replace_and_attrs(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text(GOOD)
    ws = Workspace()
    ingest(p, ws, name="t", format="mot-det", fps=10)
    with pytest.raises(AssayError, match="already has a table named 't'"):
        ingest(p, ws, name="t", format="mot-det", fps=10)
    done = ingest(p, ws, name="t", format="mot-det", fps=10, replace=True,
                  attrs={"fps": None, "image_sizes": {"det": [640, 480]}})
    assert done.reader == "duckdb" and "fps" not in done.attrs
    assert ws.read("t").attrs["image_sizes"] == {"det": [640, 480]}
    assert ws.table_info("t")["rows"] == 2


def test_read_only_workspace_refuses(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text(GOOD)
    Workspace(tmp_path / "w.duckdb").close()
    with Workspace(tmp_path / "w.duckdb", read_only=True) as ws, pytest.raises(AssayError, match="read-only"):
        ingest(p, ws, name="t", format="mot-det", fps=10)


def test_path_with_a_quote(tmp_path):
    d = tmp_path / "it's"
    d.mkdir()
    p = d / "det.txt"
    p.write_text(GOOD)
    ws = Workspace()
    assert ingest(Path(p), ws, name="t", format="mot-det", fps=10).reader == "duckdb"
    assert_same(ws, through_python(p, "mot-det", fps=10))


KITTI = "0 0 Car 0 0 -1.79 296.7 161.8 455.2 292.4 2.0 1.82 4.43 -4.55 1.86 13.41 -2.12\n"
DONTCARE = "0 -1 DontCare -1 -1 -10 219.3 188.5 245.5 218.6 -1000 -1000 -1000 -10 -1 -1 -1\n"
KITTI_CASES = {
    "good": DONTCARE + KITTI + KITTI.replace("Car", "Person_sitting").replace("0 0 ", "1 3 ", 1),
    "scored": KITTI.replace("\n", " 0.7\n") * 2,
    "double space": KITTI.replace("Car ", "Car  "),
    "negative size": KITTI.replace(" 2.0 1.82 ", " 2.0 -1.82 "),
    "negative size, DontCare": DONTCARE.replace("-1000 -1000", "-1000 -1"),
    "unknown type": KITTI + KITTI.replace("Car", "Hovercraft"),
    "underscore number": KITTI + KITTI.replace("296.7", "29_6.7"),
    "underscore type": KITTI.replace("Car", "My_car"),
    "frame -1": KITTI + KITTI.replace("0 0 Car", "-1 0 Car"),
    "track -1": KITTI + KITTI.replace("0 0 Car", "0 -1 Car"),
    "x2 < x1": KITTI + KITTI.replace("455.2", "200.0"),
    "occluded 1.0": KITTI.replace("Car 0 0 ", "Car 0 1.0 "),
    "nan alpha": KITTI.replace("-1.79", "nan"),
    "rot_y -pi/2": KITTI.replace("-2.12", "-1.5707963267948966"),
    "rot_y on the wrap": KITTI.replace("-2.12", "1.5707963267948966"),
    "sixteen fields": KITTI.replace(" -2.12", ""),
    "comma separated": KITTI.replace(" ", ","),
    "only DontCare": DONTCARE,
}


def read_as_the_reader(p: Path, fmt: str, duckdb_reads: bool) -> None:
    """``ingest`` of ``p`` raises the reader's error (the same line and column), or stores
    the reader's table with its warnings; and DuckDB reads it if ``duckdb_reads``."""
    try:
        with warnings.catch_warnings(record=True) as expected_warnings:
            warnings.simplefilter("always")
            expected = through_python(p, fmt)
    except AssayError as e:
        with pytest.raises(type(e)) as got:
            ingest(p, Workspace(), name="t", format=fmt)
        assert str(got.value) == str(e)
        assert (getattr(got.value, "line", None), getattr(got.value, "column", None)) == (
            getattr(e, "line", None), getattr(e, "column", None))
        return
    ws = Workspace()
    with warnings.catch_warnings(record=True) as got_warnings:
        warnings.simplefilter("always")
        done = ingest(p, ws, name="t", format=fmt)
    assert_same(ws, expected)
    assert [str(w.message) for w in got_warnings] == [str(w.message) for w in expected_warnings]
    assert done.reader == "duckdb" or not duckdb_reads


@pytest.mark.parametrize("case", list(KITTI_CASES))
def test_kitti_lines_as_the_reader_reads_them(tmp_path, case):
    p = tmp_path / "0007.txt"
    p.write_text(KITTI_CASES[case])
    read_as_the_reader(p, "kitti-tracking", case in ("good", "scored", "rot_y -pi/2",
                                                     "rot_y on the wrap", "only DontCare"))


def test_a_large_file_keeps_its_order_in_a_workspace_file(tmp_path):
    """Big enough for DuckDB to read it on several threads: rows stay in file order and
    ``obs_id`` numbers them so, as the reader does."""
    import numpy as np

    rng = np.random.default_rng(3)
    n = 400_000
    rows = np.column_stack([np.arange(n) // 7 + 1, np.full(n, -1), rng.uniform(0, 1800, n).round(2),
                            rng.uniform(0, 900, n).round(2), rng.uniform(5, 200, n).round(2),
                            rng.uniform(5, 300, n).round(2), rng.uniform(0, 1, n).round(4)])
    p = tmp_path / "det.txt"
    np.savetxt(p, np.column_stack([rows, np.full((n, 3), -1)]), delimiter=",",
               fmt=["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f", "%.4f", "%d", "%d", "%d"])
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert ingest(p, ws, name="t", format="mot-det", fps=30).reader == "duckdb"
    with Workspace(tmp_path / "w.duckdb", read_only=True) as ws:
        assert_same(ws, through_python(p, "mot-det", fps=30))


DET = "0,2,298.3125,165.18,458.2292,293.4391,8.2981,1.9605,1.8137,4.7549,-4.572,1.8435,13.5308,-2.1125,-1.7867\n"
DET_CASES = {
    "good": DET + DET.replace("0,2,", "1,1,", 1) + DET.replace("0,2,", "0,3,", 1),
    "frames out of order": DET.replace("0,2,", "5,2,", 1) + DET + DET.replace("0,2,", "2,1,", 1),
    "negative logit": DET.replace("8.2981", "-3.5"),
    "unknown class": DET + DET.replace("0,2,", "0,4,", 1),
    "frame -1": DET + DET.replace("0,2,", "-1,2,", 1),
    "negative size": DET.replace("1.9605", "-1.9605"),
    "x2 < x1": DET.replace("458.2292", "200.0"),
    "nan score": DET.replace("8.2981", "nan"),
    "inf size": DET.replace("4.7549", "inf"),
    "fractional frame": DET + DET.replace("0,2,", "1.5,2,", 1),
    "underscore": DET + DET.replace("298.3125", "29_8.3125"),
    "fourteen fields": DET.replace(",-1.7867", ""),
    "space separated": DET.replace(",", " "),
    "crlf": (DET * 2).replace("\n", "\r\n"),
}


@pytest.mark.parametrize("case", list(DET_CASES))
def test_kitti_detection_lines_as_the_reader_reads_them(tmp_path, case):
    p = tmp_path / "0007.txt"
    p.write_text(DET_CASES[case])
    read_as_the_reader(p, "kitti-detections",
                       case in ("good", "frames out of order", "negative logit", "crlf"))


_CRASH = """
import os, sys
from assay.io.ingest import ingest
from assay.store import Workspace
ws = Workspace(sys.argv[1])
print(ingest(sys.argv[2], ws, name="t", format=sys.argv[3], fps=10).reader)
sys.stdout.flush()
os._exit(0)  # no close, no checkpoint: the table is in the write-ahead log only
"""


@pytest.mark.parametrize("fmt", ["mot-det", "kitti-detections"])
def test_a_crash_after_the_commit_keeps_the_same_table(tmp_path, fmt):
    """What a commit leaves in the write-ahead log (the numbering's ALTER, the computed score)
    is replayed, when the workspace is next opened, into the table the reader would store."""
    import subprocess
    import sys

    p = tmp_path / "0007.txt"
    p.write_text(GOOD * 3 if fmt == "mot-det" else DET_CASES["frames out of order"])
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(tmp_path / "w.duckdb"), str(p), fmt],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["duckdb"], proc.stdout + proc.stderr
    assert (tmp_path / "w.duckdb.wal").exists()
    expected = Workspace()
    expected.add("t", read_mot(p, fps=10) if fmt == "mot-det" else read_kitti_detections(p, fps=10))
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert_same(ws, expected)
        assert ws.sql("SELECT count(*) FROM duckdb_sequences()").iloc[0, 0] == 0
