"""Proposed fixes (weak labels) and comparing runs. Fixes are never applied silently:
:func:`apply_fixes` returns a new table and marks every row it touched."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import Options, validate_params
from ..exceptions import InvalidParameterError, SchemaError
from ..tables import STRING, validate

__all__ = ["apply_fixes", "diff_findings", "diff_runs"]


def apply_fixes(
    observations: pd.DataFrame,
    findings: pd.DataFrame,
    *,
    assertions: Sequence[str] | None = None,
    actions: Sequence[str] = ("remove", "set", "add"),
) -> pd.DataFrame:
    """Apply the fixes that findings propose, returning a new observations table.

    Parameters
    ----------
    observations : pandas.DataFrame
        The table the findings were computed on.
    findings : pandas.DataFrame
        Findings with a ``fix`` column (JSON): ``{"action": "remove", "obs_ids": [...]}``,
        ``{"action": "set", "obs_ids": [...], "values": {column: value}}`` or
        ``{"action": "add", "stream": ..., "frame": ..., "time": ..., "cls": ..., box...}``.
    assertions : list of str, optional
        Apply only fixes proposed by these assertions.
    actions : list of str
        Which kinds of fix to apply.

    Returns
    -------
    pandas.DataFrame
        A copy with removed rows gone, values set, and added rows appended (new ``obs_id``
        values after the largest one, ``source`` ``"fix:<assertion>"``). A ``fixed_by``
        column names the assertion behind every changed or added row. Removal wins over
        a conflicting change.

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> from assay.assertions import ClassSwitch, apply_fixes, check
    >>> obs = assay.as_observations(pd.DataFrame({
    ...     "frame": [0, 1, 2], "track": 1, "cls": ["car", "truck", "car"]}),
    ...     stream="cam", source="model", fps=10)
    >>> fixed = apply_fixes(obs, check(obs, [ClassSwitch()]))
    >>> fixed[["frame", "cls", "fixed_by"]]
       frame  cls      fixed_by
    0      0  car          <NA>
    1      1  car  class_switch
    2      2  car          <NA>
    """
    obs = validate(observations, "observations")
    if "fix" not in findings.columns:
        raise SchemaError("apply_fixes: the findings have no 'fix' column.")
    unknown = set(actions) - {"remove", "set", "add"}
    if unknown:
        raise InvalidParameterError(f"apply_fixes: unknown actions {sorted(unknown)}; use remove, set, add.")
    sel = findings["fix"].notna().to_numpy().copy()
    if assertions is not None:
        sel &= findings["assertion"].isin(list(assertions)).to_numpy()
    out = obs.copy()
    fixed_by = pd.array([pd.NA] * len(out), dtype=STRING)
    index_of = pd.Series(np.arange(len(out)), index=out["obs_id"].to_numpy())
    removed: set[int] = set()
    added: list[dict] = []
    for name, text in zip(findings["assertion"][sel], findings["fix"][sel], strict=True):
        fix = json.loads(text)
        action = fix.get("action")
        if action not in actions:
            continue
        if action == "remove":
            removed.update(int(i) for i in fix["obs_ids"])
        elif action == "set":
            rows = index_of.reindex([int(i) for i in fix["obs_ids"]]).dropna().astype(int).to_numpy()
            for col, value in fix["values"].items():
                if col not in out.columns:
                    raise SchemaError(f"apply_fixes: a fix sets column {col!r}, which the observations lack.")
                out.iloc[rows, out.columns.get_loc(col)] = value
            fixed_by[rows] = name
        elif action == "add":
            row = {k: v for k, v in fix.items() if k != "action"}
            row["fixed_by"] = name
            row["source"] = f"fix:{name}"
            added.append(row)
    out["fixed_by"] = fixed_by
    if removed:
        out = out.loc[~out["obs_id"].isin(list(removed)).to_numpy()]
    if added:
        new = pd.DataFrame(added).drop_duplicates(
            subset=[c for c in ("stream", "frame", "cls", "x1", "y1", "x2", "y2") if c in added[0]])
        start = int(obs["obs_id"].max()) + 1 if len(obs) else 0
        new["obs_id"] = np.arange(start, start + len(new), dtype=np.int64)
        out = pd.concat([out, new], ignore_index=True)
    return validate(out, "observations")


def _keys(findings: pd.DataFrame, by: str) -> pd.Series:
    parts = [findings["assertion"], findings["stream"], findings["frame_start"], findings["frame_end"]]
    if by == "obs_ids":
        parts.append(findings["obs_ids"].map(tuple))
    return pd.Series(list(zip(*parts, strict=True)), index=findings.index)


@validate_params({"old": [pd.DataFrame], "new": [pd.DataFrame], "by": [Options(["obs_ids", "frames"])]})
def diff_findings(old: pd.DataFrame, new: pd.DataFrame, *, by: str = "obs_ids") -> dict[str, pd.DataFrame]:
    """What changed between two sets of findings.

    Parameters
    ----------
    old, new : pandas.DataFrame
        Findings tables.
    by : {"obs_ids", "frames"}, default "obs_ids"
        When two findings are the same: ``"obs_ids"``, same assertion, stream, frame range and
        observation ids (two runs over one table); ``"frames"``, same assertion, stream and
        frame range (two model versions, whose observations have unrelated ids).

    Returns
    -------
    dict
        ``"new"``: findings of ``new`` absent from ``old``; ``"resolved"``: findings of
        ``old`` absent from ``new``; ``"kept"``: findings of ``new`` also in ``old``.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.assertions import diff_findings
    >>> f = lambda frames: pd.DataFrame({"assertion": "flicker", "stream": "cam",
    ...     "frame_start": frames, "frame_end": frames, "obs_ids": [[i] for i in frames]})
    >>> d = diff_findings(f([1, 2]), f([2, 3]))
    >>> d["new"]["frame_start"].tolist(), d["resolved"]["frame_start"].tolist()
    ([3], [1])
    """
    ko, kn = _keys(old, by), _keys(new, by)
    in_old = kn.isin(set(ko))
    in_new = ko.isin(set(kn))
    return {
        "new": new.loc[~in_old.to_numpy()].reset_index(drop=True),
        "resolved": old.loc[~in_new.to_numpy()].reset_index(drop=True),
        "kept": new.loc[in_old.to_numpy()].reset_index(drop=True),
    }


def diff_runs(workspace, old_run: str, new_run: str, *, by: str = "auto") -> dict[str, pd.DataFrame]:
    """:func:`diff_findings` of two runs stored in a workspace (see ``Workspace.findings``).

    ``by="auto"`` compares observation ids when both runs checked the same table (same
    identity), else frame ranges (two model versions' outputs).
    """
    if by == "auto":
        runs = workspace.runs().set_index("run_id")
        sources = []
        for run in (old_run, new_run):
            inputs = runs.loc[run, "inputs"] if run in runs.index else []
            sources.append({i.get("identity") for i in inputs if i.get("role") in ("observations", "predictions")})
        by = "obs_ids" if sources[0] and sources[0] == sources[1] else "frames"
    return diff_findings(workspace.findings(run_id=old_run), workspace.findings(run_id=new_run), by=by)
