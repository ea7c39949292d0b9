"""Reviewers' verdicts back into the workspace: a Label Studio round trip, assay's own list,
oracle labels, reviewed frames, assertion precision."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

import assay
from assay import Workspace
from assay.curate import (
    FRAME_ORACLE,
    VERDICT_ORACLE,
    Campaign,
    assertion_precision,
    import_verdicts,
    read_verdicts,
    to_cvat,
    to_labelstudio,
)
from assay.exceptions import DataFormatError


def predictions():
    # frame 1: a box (0) overlapping nothing next door; frame 2: boxes 1, 2; frame 3: box 3
    return assay.as_observations(pd.DataFrame({
        "frame": [1, 2, 2, 3], "cls": "pedestrian", "x1": [10.0, 100.0, 300.0, 102.0], "y1": 20.0,
        "x2": [50.0, 140.0, 340.0, 142.0], "y2": 120.0, "score": [0.55, 0.9, 0.6, 0.8]}),
        stream="cam", source="model:det", fps=10)


def queued(ws: Workspace) -> pd.DataFrame:
    f = pd.DataFrame({"assertion": ["flicker", "multibox"], "stream": "cam", "frame_start": [1, 2],
                      "frame_end": [1, 2], "obs_ids": [[0], [1, 2]], "severity": [0.8, 1.0]})
    camp = Campaign(ws, "default", strategy="assertions-uniform", fill=False)
    return camp.next_round(predictions(), f, budget=5)


def review(tasks: list[dict]) -> list[dict]:
    """What Label Studio exports after a reviewer worked on the tasks."""
    out = copy.deepcopy(tasks)
    for k, task in enumerate(out):
        result = copy.deepcopy(task["predictions"][0]["result"])
        if task["data"]["frame"] == 1:
            result = []  # the flickering box is not a person: deleted
        else:
            result[0]["value"]["x"] += 2.0  # box 1 moved: corrected; box 2 left: accepted
            new = copy.deepcopy(result[1])
            new["id"] = "x7Yq"  # a person the model missed
            new["value"].update(x=70.0, width=5.0)
            result.append(new)
        task["id"] = k + 1
        task["annotations"] = [{"id": k + 10, "result": result, "was_cancelled": False}]
    return out


def test_labelstudio_round_trip(tmp_path):
    ws = Workspace()
    q = queued(ws)
    tasks = to_labelstudio(q, predictions(), image_size=(400, 200))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(review(tasks)))
    check_round_trip(path, ws, corrected_x2=148.0)


def check_round_trip(path, ws, corrected_x2):  # type: ignore[no-untyped-def]
    """The reviewed export (``review`` / ``review_cvat``) reads back as what was done, and
    imports into oracle labels, reviewed frames and precision evidence."""
    verdicts, frames = read_verdicts(path)
    got = verdicts.sort_values(["frame", "verdict"])[["frame", "obs_id", "verdict"]]
    assert got.astype(object).where(got.notna(), None).values.tolist() == [
        [1, 0, "rejected"], [2, 2, "accepted"], [2, None, "added"], [2, 1, "corrected"]]
    corrected = verdicts.loc[verdicts["verdict"] == "corrected"].iloc[0]
    assert corrected[["x1", "y1", "x2", "y2"]].tolist() == pytest.approx([108.0, 20.0, corrected_x2, 120.0])
    added = verdicts.loc[verdicts["verdict"] == "added"].iloc[0]
    assert added[["x1", "x2"]].tolist() == pytest.approx([280.0, 300.0])
    assert frames.set_index("frame")["arm"].to_dict() == {1: "flicker", 2: "multibox"}

    counts = import_verdicts(path, ws)
    assert counts == {"frames": 2, "accepted": 1, "rejected": 1, "corrected": 1, "added": 1}
    assert ws.get_labels(VERDICT_ORACLE).to_dict() == {0: 0.0, 1: 2.0, 2: 1.0}
    assert set(ws.get_labels(FRAME_ORACLE).index) == {"cam#1", "cam#2"}
    prec = assertion_precision(ws)
    assert prec.set_index("arm")["precision"].to_dict() == {"flicker": 1.0, "multibox": 1.0}
    return frames
    stored = ws.read("curate.verdicts")
    assert len(stored) == 4


def review_cvat(text: str) -> str:
    """What CVAT exports after a reviewer worked on the task written by to_cvat."""
    root = ET.fromstring(text)
    for img in root.iter("image"):
        boxes = img.findall("box")
        if img.find("tag/attribute[@name='frame']").text == "1":
            img.remove(boxes[0])  # the flickering box is not a person: deleted
            continue
        boxes[0].set("xtl", f"{float(boxes[0].get('xtl')) + 8:.2f}")  # box 1 moved: corrected
        new = ET.SubElement(img, "box", label="pedestrian", source="manual", occluded="0",
                            xtl="280.00", ytl="20.00", xbr="300.00", ybr="120.00", z_order="0")
        ET.SubElement(new, "attribute", name="obs_id").text = ""  # a person the model missed
    return ET.tostring(root, encoding="unicode")


def test_cvat_round_trip(tmp_path):
    ws = Workspace()
    q = queued(ws)
    path = tmp_path / "annotations.xml"
    path.write_text(review_cvat(to_cvat(q, predictions(), image_size=(400, 200))))
    frames = check_round_trip(path, ws, corrected_x2=140.0)
    assert frames.set_index("frame")["flagged"].to_dict() == {1: [0], 2: [1, 2]}


def test_cvat_relabeled_box_is_corrected_and_bad_xml_is_located(tmp_path):
    ws = Workspace()
    root = ET.fromstring(to_cvat(queued(ws), predictions(), image_size=(400, 200)))
    for box in root.iter("box"):
        box.set("label", "cyclist")  # same corners, another class
    path = tmp_path / "relabeled.xml"
    path.write_text(ET.tostring(root, encoding="unicode"))
    verdicts, _ = read_verdicts(path)
    assert set(verdicts["verdict"]) == {"corrected"} and set(verdicts["cls"]) == {"cyclist"}

    bad = tmp_path / "bad.xml"
    bad.write_text("<annotations>\n  <image id='0'>\n</annotations>\n")
    with pytest.raises(DataFormatError, match="not valid XML") as e:
        read_verdicts(bad)
    assert e.value.line == 3
    foreign = tmp_path / "foreign.xml"
    foreign.write_text("<annotations><image id='0' name='a.jpg' width='4' height='4'/></annotations>")
    with pytest.raises(DataFormatError, match="assay.curate.to_cvat"):
        read_verdicts(foreign)


def test_unreviewed_and_cancelled_tasks_are_skipped():
    ws = Workspace()
    q = queued(ws)
    tasks = review(to_labelstudio(q, predictions(), image_size=(400, 200)))
    tasks[0]["annotations"][0]["was_cancelled"] = True
    del tasks[1]["annotations"]
    assert import_verdicts(tasks, ws)["frames"] == 0
    assert assertion_precision(ws).empty


def test_verdict_list_and_precision_evidence_accumulate():
    ws = Workspace()
    queued(ws)
    first = [{"stream": "cam", "frame": 1, "obs_id": 0, "verdict": "accepted"}]
    import_verdicts(first, ws)
    prec = assertion_precision(ws)
    assert prec.values.tolist() == [["flicker", 1, 0, 0.0]]
    second = {"verdicts": [{"stream": "cam", "frame": 2, "obs_id": 1, "verdict": "rejected"},
                           {"stream": "cam", "frame": 2, "verdict": "added", "cls": "pedestrian",
                            "box": [1, 2, 3, 4]}]}
    assert import_verdicts(second, ws)["added"] == 1
    prec = assertion_precision(ws).set_index("arm")
    assert prec.loc["multibox", "confirmed"] == 1 and prec.loc["flicker", "reviewed"] == 1
    # reviewed frames are never queued again
    camp = Campaign(ws, "default")
    f = pd.DataFrame({"assertion": ["flicker"] * 3, "stream": "cam", "frame_start": [1, 2, 3],
                      "frame_end": [1, 2, 3], "obs_ids": [[0], [1], [3]], "severity": 1.0})
    assert camp.next_round(predictions(), f, budget=5)["frame"].tolist() == [3]


def test_a_verdict_list_may_name_the_arm_that_chose_each_frame():
    # what assay review writes for a finding a person judged: no campaign, the arm said
    ws = Workspace()
    judged = [{"stream": "cam", "frame": 2, "obs_id": 1, "verdict": "rejected", "arm": "multibox",
               "flagged": [1, 2]},
              {"stream": "cam", "frame": 2, "obs_id": 2, "verdict": "accepted", "arm": "multibox",
               "flagged": [1, 2]},
              {"stream": "cam", "frame": 3, "obs_id": 3, "verdict": "accepted", "arm": "flicker",
               "flagged": [3]}]
    _, frames = read_verdicts(judged)
    assert frames.values.tolist() == [["cam", 2, "multibox", [1, 2]], ["cam", 3, "flicker", [3]]]
    import_verdicts(judged, ws, campaign=None)
    prec = assertion_precision(ws).set_index("arm")
    assert prec["confirmed"].to_dict() == {"flicker": 0, "multibox": 1}
    with pytest.raises(DataFormatError, match="verdict 0: 'flagged' must be a list of integer"):
        read_verdicts([{**judged[0], "flagged": ["x"]}])


def test_bad_verdicts_name_the_problem(tmp_path):
    with pytest.raises(DataFormatError, match="verdict 0: 'verdict' must be one of"):
        read_verdicts([{"stream": "cam", "frame": 1, "obs_id": 1, "verdict": "maybe"}])
    with pytest.raises(DataFormatError, match="needs 'box'"):
        read_verdicts([{"stream": "cam", "frame": 1, "verdict": "added"}])
    bad = tmp_path / "bad.json"
    bad.write_text("[{\"stream\": 1,,}]")
    with pytest.raises(DataFormatError, match=r"bad.json, line 1, column \d+: not valid JSON"):
        read_verdicts(bad)
    with pytest.raises(DataFormatError, match="no data.stream"):
        read_verdicts([{"data": {"image": "a.jpg"}}])
    assert np.isnan(read_verdicts([{"stream": "c", "frame": 1, "obs_id": 2, "verdict": "accepted"}])[0]["x1"]).all()


def test_verdicts_on_two_tables_with_the_same_obs_ids_stay_apart():
    import assay
    from assay.curate import Campaign, verdict_oracle

    ws = assay.Workspace()
    for name in ("model_a", "model_b"):
        obs = assay.as_observations(pd.DataFrame({"frame": [1, 2], "cls": "car", "score": [0.4, 0.6],
                                                  "x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 10.0}),
                                    stream="cam", source=f"model:{name}", fps=1)
        ws.add(name, obs)
        Campaign(ws, name, strategy="uncertainty").next_round(obs, budget=2, table=name)
    import_verdicts([{"stream": "cam", "frame": 1, "obs_id": 0, "verdict": "accepted"}], ws, campaign="model_a")
    import_verdicts([{"stream": "cam", "frame": 1, "obs_id": 0, "verdict": "rejected"}], ws, campaign="model_b")
    a, b = verdict_oracle(ws, "model_a"), verdict_oracle(ws, "model_b")
    assert a != b and a.startswith("curate:verdict@table:")
    assert ws.get_labels(a).to_dict() == {0: 1.0} and ws.get_labels(b).to_dict() == {0: 0.0}
