"""Class names as real files write them: kept verbatim, the undocumented ones summarised in
one AssayWarning, never an error."""

from __future__ import annotations

import warnings

import pytest

from assay.exceptions import AssayWarning
from assay.io import read_kitti_detections, read_kitti_tracking, read_mot
from assay.io.kitti import KITTI_CLASSES

# one row per type of the KITTI tracking labels (the devkit's eight, Person, DontCare)
KITTI_TYPES = ["Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Person", "Cyclist", "Tram",
               "Misc", "DontCare"]
ROW = "{frame} {track} {type} 0 0 -1.79 296.7 161.8 455.2 292.4 1.7 0.6 0.9 -4.55 1.86 13.41 -2.12"
DC = "{frame} -1 DontCare -1 -1 -10 219.3 188.5 245.5 218.6 -1000 -1000 -1000 -10 -1 -1 -1"


def kitti_rows(types, frame=0):
    return "".join((DC if t == "DontCare" else ROW).format(frame=frame, track=i, type=t) + "\n"
                   for i, t in enumerate(types))


def test_every_kitti_tracking_type_reads_without_warning(tmp_path):
    assert set(KITTI_CLASSES) | {"DontCare"} == set(KITTI_TYPES)
    p = tmp_path / "0013.txt"
    p.write_text(kitti_rows(KITTI_TYPES))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obs = read_kitti_tracking(p)
        only = read_kitti_tracking(p, dontcare="only")
    assert obs["cls"].tolist() == KITTI_TYPES[:-1]  # verbatim, in file order
    assert only["cls"].tolist() == ["DontCare"]


def test_kitti_person_rows_as_in_held_out_sequences(tmp_path):
    # the held-out KITTI tracking sequences label 676 rows 'Person' (a person on a bench, a
    # person pushing a cart): people, but not the devkit's 'Pedestrian' or 'Person_sitting'
    p = tmp_path / "0019.txt"
    p.write_text("".join(kitti_rows(["Person", "Person", "Pedestrian", "Car"], frame=f)
                         for f in range(5)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obs = read_kitti_tracking(p)
    assert (obs["cls"] == "Person").sum() == 10
    person = obs[obs["cls"] == "Person"]
    assert person["track"].unique().tolist() == [0, 1]
    assert person["x"].tolist() == pytest.approx([13.41] * 10)  # a 3-D box like any object
    assert person["frame"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_unknown_kitti_type_is_kept_and_summarised_once(tmp_path):
    (tmp_path / "0000.txt").write_text(kitti_rows(["Car", "Bus", "Bus"]))
    (tmp_path / "0001.txt").write_text(kitti_rows(["Bus", "Scooter", "DontCare"]))
    with pytest.warns(AssayWarning) as record:
        obs = read_kitti_tracking(tmp_path)
    assert len(record) == 1
    text = str(record[0].message)
    assert text.startswith("read_kitti_tracking: 4 rows with class names outside the KITTI "
                           "tracking types (Car, Van, Truck, Pedestrian, Person_sitting, Person, ")
    assert f"'Bus' (3 rows, first at {tmp_path / '0000.txt'}, line 2)" in text
    assert f"'Scooter' (1 row, first at {tmp_path / '0001.txt'}, line 2)" in text
    assert record[0].filename == __file__  # points at the caller's line
    assert obs["cls"].tolist() == ["Car", "Bus", "Bus", "Bus", "Scooter"]
    assert obs.loc[obs["cls"] == "Scooter", "track"].tolist() == [1]


def test_unknown_mot16_class_id_is_kept_as_written(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,1,10,20,5,40,1,1,0.8\n2,1,10,20,5,40,1,13,0.8\n3,2,10,20,5,40,1,13,0.8\n")
    with pytest.warns(AssayWarning, match=rf"read_mot: 2 rows .*'13' \(2 rows, first at {p}, line 2\)"):
        obs = read_mot(p, kind="gt", fps=10)
    assert obs["cls"].tolist() == ["pedestrian", "13", "13"]


def test_unknown_pointrcnn_code_is_kept_as_written(tmp_path):
    row = "0,2,298.3,165.2,458.2,293.4,8.2981,1.96,1.81,4.75,-4.57,1.84,13.53,-2.11,-1.79"
    p = tmp_path / "0000.txt"
    p.write_text(row + "\n" + row.replace("0,2,", "1,4,", 1) + "\n")
    with pytest.warns(AssayWarning, match=r"'4' \(1 row, first at .*0000.txt, line 2\)"):
        obs = read_kitti_detections(p)
    assert obs["cls"].tolist() == ["Car", "4"]


@pytest.mark.shared_data
def test_real_kitti_labels_read_without_warning(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obs = read_kitti_tracking(shared_data / "kitti" / "label_02")
    assert set(obs["cls"].unique()) <= set(KITTI_CLASSES)
