"""``assay ingest`` of MOT files, KITTI tracking labels and detections, now read by DuckDB into the workspace,
stores what the command stored when the Python reader read them (same table, attrs, metadata),
says the same, and leaves no workspace behind when a line is bad."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from assay import Workspace
from assay.cli import cli
from assay.io import read_kitti_detections, read_kitti_tracking, read_mot


def run(*args):
    r = CliRunner().invoke(cli, ["ingest", *map(str, args)], catch_exceptions=False)
    return r.exit_code, " ".join(r.output.split())


def stored(path, name):
    with Workspace(path, read_only=True) as ws:
        frame = ws.read(name)
        frame.attrs.pop("workspace_table")
        meta = ws.sql("SELECT * EXCLUDE (name, uid, created, modified) FROM _assay.tables "
                      "WHERE name = ?", [name])
        return frame, ws.sql(f'SELECT * FROM "{name}"'), meta


def as_before(table, path, name):
    """What the command stored before: the reader's table, its frame rates per stream only,
    image sizes as given."""
    table.attrs.pop("fps", None)
    table.attrs["image_sizes"] = dict(table.attrs.get("image_sizes") or {})
    with Workspace(path) as ws:
        ws.add(name, table)


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["mot-det", "mot-gt", "kitti-tracking", "kitti-detections"])
def test_stores_what_it_stored_before(tmp_path, shared_data, fmt):
    src = shared_data / {"kitti-tracking": "kitti/label_02",
                         "kitti-detections": "kitti/pointrcnn"}.get(fmt, "mot15")
    code, text = run(fmt, src, "-w", tmp_path / "new.duckdb", "-n", "t")
    assert code == 0, text
    readers = {"kitti-tracking": read_kitti_tracking, "kitti-detections": read_kitti_detections}
    table = readers[fmt](src) if fmt in readers else read_mot(src, kind=fmt[4:])
    as_before(table, tmp_path / "old.duckdb", "t")
    for got, expected in zip(stored(tmp_path / "new.duckdb", "t"), stored(tmp_path / "old.duckdb", "t"),
                             strict=True):
        assert got.equals(expected)
        assert got.attrs == expected.attrs
    assert f"ingested {len(table):,} rows into t" in text
    for s, n in table["stream"].value_counts().items():
        assert f"stream {s} (" in text and f"): {n:,} rows, " in text


def test_a_bad_line_names_it_and_leaves_no_workspace(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text("1,-1,281.9,187.4,79.9,209.5,0.99,-1,-1,-1\n2,-1,1,2,-3,4,0.5,-1,-1,-1\n")
    ws = tmp_path / "w.duckdb"
    code, text = run("mot-det", p, "-w", ws, "-n", "det", "--fps", "10", "--stream", "cam")
    assert code != 0
    assert f"{p}, line 2, column 5: field 'width': expected a width >= 0, got -3.0." in text
    assert not ws.exists()
    code, text = run("mot-det", p.parent, "-w", ws, "-n", "det", "--fps", "10", "--image-size", "640x480")
    assert code != 0 and not ws.exists()


def test_image_size_and_stream_options(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text("1,-1,281.9,187.4,79.9,209.5,0.99,-1,-1,-1\n")
    ws = tmp_path / "w.duckdb"
    code, text = run("mot-det", p, "-w", ws, "-n", "det", "--fps", "10", "--stream", "cam",
                     "--image-size", "cam=640x480", "--json")
    assert code == 0, text
    assert '"streams": ["cam"]' in text and '"appended": false' in text
    frame = stored(ws, "det")[0]
    assert frame.attrs["image_sizes"] == {"cam": [640, 480]} and "fps" not in frame.attrs
    code, text = run("mot-det", p, "-w", ws, "-n", "det2", "--fps", "10", "--stream", "cam",
                     "--image-size", "other=640x480")
    assert code != 0 and "no stream 'other' in what was read" in text
