"""Priorities: comparable across assertions, calibrated by reviewers, stored with the run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assay
from assay.assertions import (
    Flicker,
    Gap,
    Monitor,
    Multibox,
    assertion_weights,
    check,
    prioritize,
)
from assay.curate import assertion_precision, import_verdicts
from assay.exceptions import InvalidParameterError, SchemaError


def findings(assertion, severities):
    n = len(severities)
    return pd.DataFrame({"assertion": assertion, "scope": "obs", "stream": "cam",
                         "frame_start": np.arange(n), "frame_end": np.arange(n),
                         "obs_ids": [[i] for i in range(n)], "severity": severities, "evidence": "{}"})


def test_quantile_within_each_assertion():
    f = pd.concat([findings("multibox", [40.0, 3.0, 3.0, 1.0]), findings("flicker", [1.0, 0.2])],
                  ignore_index=True)
    out = prioritize(f)
    got = {(a, s): p for a, s, p in zip(out["assertion"], out["severity"], out["priority"], strict=True)}
    # multibox: ranks 1, 2.5, 2.5, 4 of 4; flicker: ranks 1, 2 of 2
    assert got == {("multibox", 40.0): 1.0, ("multibox", 3.0): pytest.approx(1 - 1.5 / 4),
                   ("multibox", 1.0): pytest.approx(0.25), ("flicker", 1.0): 1.0, ("flicker", 0.2): 0.5}
    assert (np.diff(out["priority"].to_numpy()) <= 0).all()
    # ties in priority in canonical order: flicker before multibox
    assert out["assertion"].tolist()[:2] == ["flicker", "multibox"]
    # severities are untouched, and the input too
    assert sorted(out["severity"]) == sorted(f["severity"]) and "priority" not in f.columns


def test_priority_does_not_follow_raw_scale():
    # multibox counts triples in the hundreds, flicker's severity is at most 1: sorted by
    # severity every flicker would come last; by priority the two interleave
    f = pd.concat([findings("multibox", list(np.arange(100.0, 200.0))),
                   findings("flicker", list(np.linspace(0.01, 1.0, 10)))], ignore_index=True)
    top = prioritize(f).head(20)["assertion"]
    assert (top == "flicker").sum() == 2 and (top == "multibox").sum() == 18
    assert prioritize(f).sort_values("severity", ascending=False).head(100)["assertion"].eq("multibox").all()


def test_weights_from_reviewers():
    reviews = pd.DataFrame({"arm": ["flicker", "gap", "random"], "reviewed": [3, 3, 10],
                            "confirmed": [3, 0, 5]})
    w = assertion_weights(["gap", "flicker", "multibox"], precision=reviews)
    # posterior means 4/5, 1/5, 1/2 (never reviewed), over the largest
    assert w == {"flicker": 1.0, "gap": pytest.approx(0.25), "multibox": pytest.approx(0.625)}
    assert assertion_weights(["gap", "flicker"]) == {"flicker": 1.0, "gap": 1.0}
    f = pd.concat([findings("flicker", [0.5, 0.4]), findings("gap", [9.0])], ignore_index=True)
    out = prioritize(f, precision=reviews)
    assert out["assertion"].tolist() == ["flicker", "flicker", "gap"]
    assert out["priority"].tolist() == pytest.approx([1.0, 0.5, 0.25])
    with pytest.raises(InvalidParameterError, match="lacks 'confirmed'"):
        prioritize(f, precision=reviews.drop(columns="confirmed"))
    with pytest.raises(InvalidParameterError, match="The 'precision' parameter of check"):
        check(pd.DataFrame({"x": [1]}), [], precision={"flicker": 1})


def scene():
    """Flicker (boxes that appear in one frame only) and Multibox (stacked boxes) findings."""
    rows = [(f, 0.0) for f in range(1, 9)]
    rows += [(2, 308.0), (3, 300.0), (6, 500.0)]           # three flickers
    # 3, 4, then 5 stacked boxes in frames 4-6: 1, 4, then 10 triples
    rows += [(f, 100.0 + k) for f in (4, 5, 6) for k in range(f - 1)]
    df = pd.DataFrame(rows, columns=["frame", "x1"]).assign(cls="car", y1=0.0, y2=10.0, score=0.8)
    df["x2"] = df["x1"] + 10
    return assay.as_observations(df, stream="cam", source="model:v1", fps=10)


def labelstudio_task(frame, arm, oid, *, rejected):
    region = {"id": f"obs{oid}", "type": "rectanglelabels", "original_width": 640, "original_height": 480,
              "value": {"x": 1.0, "y": 1.0, "width": 5.0, "height": 5.0, "rectanglelabels": ["car"]}}
    return {"data": {"stream": "cam", "frame": frame, "arm": arm, "flagged": [oid]},
            "predictions": [{"result": [region]}], "annotations": [{"result": [] if rejected else [region]}]}


def test_check_weights_priorities_by_the_workspace_verdicts(tmp_path):
    obs = scene()
    items = [Flicker(), Multibox(iou=0.1)]
    plain = check(obs, items)
    assert [(a, s) for a, s in zip(plain["assertion"], plain["severity"].round(3), strict=True)] == [
        ("flicker", 1.0), ("multibox", 10.0), ("multibox", 4.0), ("flicker", 0.889), ("flicker", 0.889),
        ("multibox", 1.0)]
    assert plain["priority"].tolist() == pytest.approx([1.0, 1.0, 2 / 3, 0.5, 0.5, 1 / 3])
    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        # reviewers rejected what multibox flagged twice out of two, flicker's once out of four
        tasks = [labelstudio_task(10 + k, "multibox", 100 + k, rejected=True) for k in range(2)]
        tasks += [labelstudio_task(20 + k, "flicker", 200 + k, rejected=k == 0) for k in range(4)]
        import_verdicts(tasks, ws, campaign=None)
        reviews = assertion_precision(ws)
        weighted = check(obs, items, workspace=ws)
        summary = ws.runs().set_index("run_id").loc[weighted.attrs["run_id"], "summary"]
        stored = ws.findings(weighted.attrs["run_id"])
    w = assertion_weights(["flicker", "multibox"], precision=reviews)
    assert w == {"multibox": 1.0, "flicker": pytest.approx((2 / 6) / (3 / 4))}
    assert summary["priority_weights"] == pytest.approx(w)
    assert weighted["assertion"].iloc[0] == "multibox"
    by_key = plain.set_index(plain["obs_ids"].map(tuple))["priority"]
    for key, a, p in zip(weighted["obs_ids"].map(tuple), weighted["assertion"], weighted["priority"], strict=True):
        assert p == pytest.approx(by_key[key] * w[a])
    pd.testing.assert_frame_equal(stored, weighted.reset_index(drop=True), check_like=False)
    # an explicit table wins over the workspace's
    assert check(obs, items, precision=reviews.iloc[:0])["priority"].max() == 1.0


def test_priority_travels_through_the_workspace(tmp_path):
    obs = scene()
    path = tmp_path / "w.duckdb"

    def monitor(ws):
        mon = Monitor([Flicker()], workspace=ws)
        for _, part in obs.groupby("frame"):
            mon.update(part)
        mon.close()
        return mon

    with assay.Workspace(path) as ws:
        first = monitor(ws)                  # a findings table without priority
        assert "priority" not in ws.findings().columns
        batch = check(obs, [Flicker(), Gap()], workspace=ws)   # gains the column
        second = monitor(ws)                 # appends without it again
    with assay.Workspace(path, read_only=True) as ws:
        stored = ws.findings()
        runs = stored["run_id"].unique().tolist()
        assert len(runs) == 3 and stored["priority"].dtype == np.float64
        mine = stored[stored["run_id"] == batch.attrs["run_id"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, batch)
        assert stored.loc[stored["run_id"] != batch.attrs["run_id"], "priority"].isna().all()
        assert len(stored) == len(batch) + 2 * len(first.findings_)
    # a monitor's findings_ carry the priorities check gives the same findings
    pd.testing.assert_frame_equal(second.findings_.drop(columns="run_id"),
                                  check(obs, [Flicker()]).drop(columns="run_id"))


def test_priority_is_validated():
    f = findings("flicker", [1.0, 0.5]).assign(run_id="check-1", priority=[0.5, 1.5])
    with pytest.raises(SchemaError, match=r"column 'priority'.*a priority in \[0, 1\], or missing; got 1.5"):
        assay.validate(f, "findings")
    ok = assay.validate(f.assign(priority=[np.nan, 1.0]), "findings")
    assert list(ok.columns)[-1] == "priority" and np.isnan(ok["priority"].iloc[0])
