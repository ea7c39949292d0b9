"""Named oracles: a name for a spec, used by queries in Python and on the command line;
answers stay keyed by the spec."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assay
from assay.approx import aggregate, select
from assay.cli import cli
from assay.exceptions import InvalidParameterError, WorkspaceError


def records(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.2).astype(float)
    proxy = np.clip(0.6 * label + 0.4 * rng.random(n), 0, 1)
    return pd.DataFrame({"id": np.arange(n), "proxy": proxy, "label": label, "value": 3 * label})


def test_add_list_replace_remove(tmp_path):
    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        assert ws.named_oracles().empty and ws.oracle_named("truth") is None
        ws.add_oracle("truth", "column:label", value_range=(0, 1))
        ws.add_oracle("value", "column:value", value_range=[0, 3])
        assert ws.named_oracles()["name"].tolist() == ["truth", "value"]
        assert ws.oracle_named("value") == ("column:value", (0.0, 3.0))
        with pytest.raises(WorkspaceError, match="already names an oracle 'truth'"):
            ws.add_oracle("truth", "column:other")
        ws.add_oracle("truth", "column:other", replace=True)
        assert ws.oracle_named("truth") == ("column:other", None)
        ws.remove_oracle("truth")
        with pytest.raises(WorkspaceError, match="names no oracle 'truth'.*'value'"):
            ws.remove_oracle("truth")
    with assay.Workspace(tmp_path / "w.duckdb", read_only=True) as ws:  # stored, and readable
        assert ws.named_oracles()["name"].tolist() == ["value"]


@pytest.mark.parametrize("name, spec, rng, message", [
    ("1st", "column:label", None, "letters, digits and '_'"),
    ("a-b", "column:label", None, "letters, digits and '_'"),
    ("ok", "label", None, "An oracle spec is"),
    ("ok", "sql:select 1", None, "An oracle spec is"),
    ("ok", "python:no_such_module_xyz:f", None, "cannot be loaded"),
    ("ok", "column:label", (1, 0), "finite LO < HI"),
    ("ok", "column:label", (0, float("inf")), "finite LO < HI"),
])
def test_bad_names_specs_and_ranges_are_refused(name, spec, rng, message):
    ws = assay.Workspace()
    with pytest.raises(InvalidParameterError, match=message):
        ws.add_oracle(name, spec, value_range=rng)
    assert ws.named_oracles().empty


def test_queries_use_the_name_and_share_answers_with_the_spec(tmp_path):
    rec = records()
    with assay.Workspace(tmp_path / "w.duckdb") as ws:
        ws.add("r", rec, kind="records")
        ws.add_oracle("truth", "column:label")
        ws.add_oracle("worth", "column:value", value_range=(0, 3))
        by_name = aggregate(ws.read("r"), oracle="worth", proxy="proxy", budget=300, workspace=ws, seed=1)
        assert by_name.labels_paid == by_name.oracle_calls > 0
        # the range came with the name; the spec's answers are the name's
        by_spec = aggregate(ws.read("r"), oracle="column:value", proxy="proxy", budget=300, range=(0, 3),
                            workspace=ws, seed=1)
        assert by_spec.labels_paid == 0 and by_spec.estimate == by_name.estimate
        sel = select(ws.read("r"), proxy="proxy", oracle="truth", target="recall", value=0.9, budget=500, workspace=ws, seed=0)
        assert sel.oracle_calls > 0
        with pytest.raises(InvalidParameterError, match="neither an oracle spec .* nor an oracle name .*'truth'"):
            aggregate(ws.read("r"), oracle="truthy", proxy="proxy", budget=100, workspace=ws)


def test_cli_oracle_commands_and_a_query_by_name(tmp_path):
    rec = records()
    csv = tmp_path / "r.csv"
    rec.to_csv(csv, index=False)
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    got = runner.invoke(cli, ["oracle", "add", "worth", "column:value", "--range", "0", "3", "-w", w])
    assert got.exit_code == 0, got.output
    assert "worth = column:value, values in [0, 3]" in got.output
    listed = runner.invoke(cli, ["oracle", "list", "-w", w, "--json"])
    assert json.loads(listed.output)[0]["spec"] == "column:value"
    q = runner.invoke(cli, ["query", "aggregate", "-r", str(csv), "-p", "proxy", "-o", "worth",
                            "--budget", "200", "-w", w, "--json"])
    assert q.exit_code == 0, q.output
    res = json.loads(q.output)
    assert res["oracle_calls"] > 0 and 0 <= res["lower"] <= res["estimate"] <= res["upper"] <= 3
    bad = runner.invoke(cli, ["oracle", "add", "x", "nonsense", "-w", w])
    assert bad.exit_code != 0 and "An oracle spec is" in bad.output
    gone = runner.invoke(cli, ["oracle", "remove", "worth", "-w", w])
    assert gone.exit_code == 0
    again = runner.invoke(cli, ["oracle", "remove", "worth", "-w", w])
    assert again.exit_code != 0 and "names no oracle 'worth'" in again.output
