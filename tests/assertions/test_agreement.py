"""Batch, stream and subset runs agree by construction, for every built-in, a renamed
subclass of each, and user-written point and temporal assertions (a property, over random
streams).

For each random table of a few streams (random strides, frame rates, gaps, classes, tracks,
overlapping boxes, obs ids in random order): ``check(table)`` == a :class:`Monitor` fed the
streams interleaved, each frame by frame and in chunks of frames (mixed at random: half the
updates are single frames) == ``check`` of any subset of whole streams (restricted to those
streams); and a renamed subclass finds what the original finds. Findings are compared as
multisets of (assertion, stream, frame_start, frame_end, obs_ids, severity rounded, fix).

``ASSAY_AGREEMENT_EXAMPLES`` sets the number of examples (default 60, deterministic); a
longer, randomized run: ``python benchmarks/bench_assertions_agreement.py``.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assay
from assay.assertions import (
    Appear,
    ClassSwitch,
    ConsistencyAssertion,
    Flicker,
    Flying,
    Gap,
    Monitor,
    Multibox,
    NoRepeatedWords,
    OutputRange,
    PointAssertion,
    TemporalAssertion,
    TooFast,
    check,
    point_assertion,
    temporal_assertion,
)
from assay.assertions.registry import BUILTINS

EXAMPLES = int(os.environ.get("ASSAY_AGREEMENT_EXAMPLES", "60"))
RANDOMIZED = "ASSAY_AGREEMENT_EXAMPLES" in os.environ
SRC = Path(assay.__file__).parent


@point_assertion
def crowded(frame, outputs):
    return max(0.0, len(outputs) - 2.0)


@point_assertion(name="wide")
def wide(frame, outputs):
    return ((outputs.x2 - outputs.x1) > 15).astype(float)


@point_assertion(unit="row", inputs=["cls"], columns=["score"])
def low_score(cls, score):
    return 1.0 if score < 0.3 else 0.0


@temporal_assertion(window=3)
def count_jump(frames, outputs):
    counts = [len(o) for o in outputs]
    return float(max(counts) - min(counts) >= 2)


@temporal_assertion(window_seconds=0.5)
def busy_half_second(frames, outputs):
    return float(sum(len(o) for o in outputs) >= 4)


class FlickerAnyClass(Flicker):
    """A second flicker in one run needs a name of its own."""


def originals():
    """Every built-in (with thresholds that fire on small tables), the declared consistency
    assertion, and user assertions of each kind."""
    return [
        Flicker(), FlickerAnyClass(iou=0.5, class_aware=False), Gap(iou=0.3), Multibox(iou=0.1),
        ClassSwitch(segment_gap=1.0), Appear(min_duration=0.5, segment_gap=1.0),
        Flying(max_height=5.0), TooFast(coords="2d", max_speed=60.0, max_gap=1.0),
        OutputRange(column="score", high=0.8), NoRepeatedWords(column="tokens"),
        # an entity named by another column than track: segments follow identifiers()
        ConsistencyAssertion(identifier="tokens", attributes=["cls"], max_gap=1.0, min_duration=0.3,
                             segment_gap=2.0),
        crowded, wide, low_score, count_jump, busy_half_second,
    ]


def renamed(a):
    """A subclass of ``a``'s class, under another name, with the same parameters."""
    sub = type(f"Renamed{type(a).__name__}", (type(a),), {})
    params = {k: v for k, v in a.get_params().items() if k != "name"}
    if isinstance(a, (PointAssertion, TemporalAssertion)):
        params["name"] = f"renamed_{a.name}"
    return sub(**params)


def assertions():
    items = originals()
    for a in list(items):
        items.append(renamed(a))
    names = [a.name for a in items]
    assert len(set(names)) == len(names), names
    return items


def test_every_builtin_is_covered():
    covered = {type(a) for a in originals()}
    assert set(BUILTINS.values()) <= covered
    assert all(b.name.startswith("renamed_") for b in map(renamed, originals()))


def test_row_assertions_need_no_observations_whatever_their_name():
    table = pd.DataFrame({"id": [3, 4, 5], "score": [0.2, 0.95, 0.5], "cls": "house",
                          "tokens": ["a a", "b", "c c c"]})
    for a in (OutputRange(column="score", high=0.8), NoRepeatedWords(column="tokens"), low_score):
        b = renamed(a)
        assert not a.needs_observations and not b.needs_observations
        want = keys(check(table, [a]))
        assert want and keys(check(table, [b])) == Counter({(b.name, *k[1:]): n for k, n in want.items()})


def keys(findings: pd.DataFrame, streams=None) -> Counter:
    """Findings as a multiset of comparable tuples."""
    if streams is not None:
        findings = findings[findings["stream"].isin(list(streams)).to_numpy()]
    fix = findings["fix"].astype(object).where(findings["fix"].notna(), None)
    return Counter(zip(findings["assertion"].astype(str), findings["stream"].astype(str),
                       findings["frame_start"].astype(int), findings["frame_end"].astype(int),
                       findings["obs_ids"].map(tuple), findings["severity"].round(9), fix, strict=True))


ROW = st.tuples(
    st.integers(0, 7),                  # frame slot
    st.integers(0, 6),                  # x position, 10 pixels a step
    st.integers(0, 2),                  # y position, 5 pixels a step
    st.sampled_from([10.0, 12.0, 20.0]),  # width
    st.sampled_from(["car", "car", "truck"]),
    st.sampled_from([None, 0, 1, 1, 2, 3]),  # track
    st.sampled_from([0.5, 0.5, 9.0]),   # z: some cars fly
    st.sampled_from([0.1, 0.5, 0.9]),   # score
    st.sampled_from(["a b", "a a", "b b c c", "c", None]),  # tokens
)
STREAM = st.tuples(
    st.sampled_from([1, 1, 2, 3]),      # stride
    st.sampled_from([2.0, 5.0, 10.0]),  # frames per second
    st.integers(0, 4),                  # first frame, in strides
    st.lists(ROW, min_size=1, max_size=10),
)


@st.composite
def tables(draw):
    """Observations of 1-3 streams; obs ids in a random order; rows shuffled."""
    specs = draw(st.lists(STREAM, min_size=1, max_size=3))
    rows, strides = [], {}
    for s, (stride, fps, first, stream_rows) in enumerate(specs):
        name = f"cam{s}"
        strides[name] = stride
        for slot, x, y, w, cls, track, z, score, tokens in stream_rows:
            frame = (first + slot) * stride
            rows.append({"stream": name, "frame": frame, "time": frame / fps, "cls": cls, "track": track,
                         "x1": 10.0 * x, "y1": 5.0 * y, "x2": 10.0 * x + w, "y2": 5.0 * y + 2 * w,
                         "x": 10.0 * x, "y": 5.0 * y, "z": z, "l": 4.0, "w": 2.0, "h": 1.0, "yaw": 0.0,
                         "score": score, "tokens": tokens})
    df = pd.DataFrame(rows)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    df["obs_id"] = rng.permutation(len(df)).astype(np.int64) * 3 + 1
    df["source"] = "model"
    df["track"] = pd.array(df["track"], dtype="Int64")
    df = df.sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    obs = assay.validate(df, "observations")
    order = draw(st.permutations(list(range(len(specs)))))
    return obs, strides, [f"cam{i}" for i in order], rng


def frames_of(obs: pd.DataFrame, stream: str) -> list[pd.DataFrame]:
    part = obs[obs["stream"] == stream]
    return [g for _, g in part.groupby("frame", sort=True)]


def live(obs, items, strides, order, rng) -> pd.DataFrame:
    """A Monitor fed every stream's frames in order, streams interleaved at random, one frame
    at a time (half the updates) or in chunks of 2 to 4 frames."""
    mon = Monitor(items, stride=strides)
    queues = {s: frames_of(obs, s) for s in order}
    emitted = []
    while any(queues.values()):
        s = order[int(rng.integers(len(order)))]
        if not queues[s]:
            continue
        k = 1 if rng.random() < 0.5 else int(rng.integers(2, 5))
        chunk, queues[s] = queues[s][:k], queues[s][k:]
        emitted.append(mon.update(pd.concat(chunk)))
    emitted.append(mon.close())
    found = mon.findings_
    # what update() and close() returned, each finding once, is what findings_ holds
    assert keys(found) == keys(pd.concat(emitted, ignore_index=True))
    return found


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOMIZED, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tables(), st.data())
def test_batch_stream_and_subset_agree(example, data):
    obs, strides, order, rng = example
    items = assertions()
    batch = check(obs, items, stride=strides)
    want = keys(batch)
    assert set(batch["assertion"]) <= {a.name for a in items}
    # a renamed subclass finds what the original finds
    for a in originals():
        b = renamed(a)
        mine = Counter({(b.name, *k[1:]): n for k, n in keys(batch[batch["assertion"] == a.name]).items()})
        assert mine == keys(batch[batch["assertion"] == b.name]), a.name
    assert keys(live(obs, items, strides, order, rng)) == want
    subset = data.draw(st.lists(st.sampled_from(order), min_size=1, max_size=len(order), unique=True))
    part = obs[obs["stream"].isin(subset).to_numpy()]
    assert keys(check(part, items, stride=strides)) == keys(batch, subset)


def name_switches(source: str, where: str) -> list[str]:
    """Places where behaviour is keyed by an object's name: ``x.name`` compared with
    something, or used to look something up."""
    found = []
    for node in ast.walk(ast.parse(source)):
        named = []
        if isinstance(node, ast.Compare):
            named = [node.left, *node.comparators]
        elif isinstance(node, ast.Subscript):
            named = [node.slice]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            named = node.args[:1]
        if any(isinstance(n, ast.Attribute) and n.attr == "name" for n in named):
            found.append(f"{where}:{node.lineno}")
    return found


def test_the_name_switch_check_sees_switches():
    code = 'def lookahead(a):\n    return {"flicker": 1}.get(a.name, 0) if a.name != "x" else LAGS[a.name]\n'
    assert name_switches(code, "probe") == ["probe:2"] * 3
    assert name_switches("needs = any(a.needs_observations for a in items)\n", "probe") == []


def test_no_behaviour_keyed_by_a_name():
    files = sorted([*(SRC / "assertions").glob("*.py"), *(SRC / "geometry").glob("*.py")])
    assert len(files) > 5
    assert [hit for f in files for hit in name_switches(f.read_text(), f.name)] == []


@pytest.mark.parametrize("kind", ["tracker", "gt"])
def test_renamed_flicker_on_the_tud_campus_demo(kind):
    """A renamed Flicker in a Monitor waited for no next frame before (10 false findings on
    the tracker output where check found none)."""

    class Blink(Flicker):
        pass

    obs = assay.io.read_mot(assay.io.demo_path("TUD-Campus", kind), kind="gt", fps=25)
    items = [Blink(), Gap(), ClassSwitch(), Appear()]
    mon = Monitor(items)
    for _, part in obs.groupby("frame"):
        mon.update(part)
    mon.close()
    batch = check(obs, items)
    assert keys(mon.findings_) == keys(batch)
    pd.testing.assert_frame_equal(mon.findings_.drop(columns="run_id"), batch.drop(columns="run_id"))
    original = check(obs, [Flicker()])
    assert keys(batch[batch["assertion"] == "blink"]) == Counter(
        {("blink", *k[1:]): n for k, n in keys(original).items()})
