"""The ``ray:`` oracle spec: a ``python:`` model on Ray actors named in text, so the CLI,
``assay oracle add`` and SQL queries reach it. Parsing needs no cluster; answering is run on
the real two-node cluster of conftest.py."""

from __future__ import annotations

import pytest
from _engine_helpers import counted_people

from assay.approx import FunctionOracle, aggregate, as_oracle, frame_counts
from assay.engine import RayOracle
from assay.exceptions import InvalidParameterError
from assay.store import Workspace


def test_a_ray_spec_reads_its_options():
    o = as_oracle("ray:python:math:floor@v2?actors=3&num_cpus=0.5&num_gpus=1&batch_size=8"
                  "&max_restarts=0&address=ray://head:10001")
    assert isinstance(o, RayOracle)
    assert (o.actors, o.num_cpus, o.num_gpus, o.batch_size, o.max_restarts, o.address) == (
        3, 0.5, 1.0, 8, 0, "ray://head:10001")
    # the python: oracle's identity, so either one's cached answers serve the other
    assert o.identity("file:/x.csv") == as_oracle("python:math:floor@v2").identity("file:/x.csv")
    assert as_oracle("ray:python:math:floor").actors == 1


@pytest.mark.parametrize("spec, reason", [
    ("ray:column:label", "runs only python: oracles on Ray"),
    ("ray:python:math:floor?actor=2", "'actor=2' in 'ray:python:math:floor?actor=2' is not an option"),
    ("ray:python:math:floor?actors=", "'actors=' in"),
    ("ray:python:math:floor?actors=two", "actors='two' in 'ray:python:math:floor?actors=two' is not an integer"),
    ("ray:python:math:floor?num_gpus=lots", "is not a number"),
    ("ray:python:math:floor?actors=1&actors=2", "'actors' is given twice"),
    ("ray:python:math:floor?actors=0", "must be an int >= 1"),
    ("ray:python:no_such_module_here:f", "cannot be loaded"),
])
def test_a_bad_ray_spec_says_what_is_wrong(spec, reason):
    with pytest.raises(InvalidParameterError, match=None) as err:
        as_oracle(spec)
    assert reason in str(err.value)


def test_a_ray_spec_can_be_named():
    ws = Workspace()
    ws.add_oracle("floor", "ray:python:math:floor@v2?actors=2", value_range=(0, 10))
    assert ws.named_oracles().set_index("name").loc["floor", "spec"] == "ray:python:math:floor@v2?actors=2"
    with pytest.raises(InvalidParameterError, match="not an option"):
        ws.add_oracle("bad", "ray:python:math:floor?gpus=1")


@pytest.mark.shared_data
@pytest.mark.timeout(300)
def test_a_ray_spec_answers_as_the_local_oracle_and_shares_its_answers(
        real_observations, ray_cluster, tmp_path, monkeypatch):
    records = frame_counts(people=real_observations["mot15-gt"],
                           detections=real_observations["mot15-det"])
    query = dict(proxy="detections", stat="mean", budget=36, seed=5, batch_size=12, range=(0, 60),
                 name="frames")
    monkeypatch.setenv("ASSAY_ORACLE_LOG", str(tmp_path / "local.log"))
    local = aggregate(records, oracle=FunctionOracle(counted_people), workspace=Workspace(), **query)
    ws = Workspace(tmp_path / "ws.duckdb")
    spec = (f"ray:python:_engine_helpers:counted_people?actors=2&num_cpus=0.25&batch_size=6"
            f"&address={ray_cluster.address}")
    oracle = as_oracle(spec)
    try:
        got = aggregate(records, oracle=oracle, workspace=ws, **query)
    finally:
        oracle.shutdown()
    for field in ("estimate", "lower", "upper", "oracle_calls", "labels_paid"):
        assert getattr(got, field) == getattr(local, field), field
    assert got.labels_paid > 0
    # the same model run locally finds every answer in the workspace: nothing is paid again
    again = aggregate(records, oracle="python:_engine_helpers:counted_people", workspace=ws, **query)
    assert again.estimate == got.estimate and again.labels_paid == 0
