"""Proposed fixes (weak labels) and comparing runs. Fixes are never applied silently:
:func:`apply_fixes` returns a new table and marks every row it touched."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import Options, validate_params
from ..exceptions import InvalidParameterError, SchemaError
from ..tables import FINDING_COLUMNS, OPTIONAL_FINDING_COLUMNS, STRING, validate
from .priority import order_by

__all__ = ["apply_fixes", "diff_findings", "diff_runs", "same_source"]


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


def same_source(old_inputs, new_inputs) -> bool:
    """Whether two runs checked the same observations table (the same identity), given their
    ``inputs`` (a row of ``Workspace.runs()``): their findings can then be matched by
    observation ids."""
    def source(inputs) -> set:
        return {i.get("identity") for i in (inputs if inputs is not None else [])
                if i.get("role") in ("observations", "predictions")}

    return bool(source(old_inputs)) and source(old_inputs) == source(new_inputs)


_SAME = ("n.assertion = o.assertion AND n.stream IS NOT DISTINCT FROM o.stream AND "
         "n.frame_start = o.frame_start AND n.frame_end = o.frame_end")


def diff_runs(workspace, old_run: str, new_run: str, *, by: str = "auto", top: int | None = None,
              name: str = "findings") -> dict[str, pd.DataFrame]:
    """:func:`diff_findings` of two runs stored in a workspace, computed in DuckDB.

    Only the findings asked for come into Python, so two runs of a million findings each
    compare in about a second; the HTML report and ``assay diff`` call this.

    Parameters
    ----------
    workspace : Workspace
        Where the runs' findings are (see ``Workspace.findings``).
    old_run, new_run : str
        Run ids.
    by : {"auto", "obs_ids", "frames"}, default "auto"
        As in :func:`diff_findings`; ``"auto"`` compares observation ids when both runs
        checked the same table (:func:`same_source`), else frame ranges (two model
        versions' outputs).
    top : int, optional
        Keep only the ``top`` first findings of each of ``new``, ``resolved`` and
        ``kept`` (``counts`` still counts all of them). Default: all.
    name : str, default "findings"
        The findings table.

    Returns
    -------
    dict
        ``"new"``, ``"resolved"``, ``"kept"`` as in :func:`diff_findings`, each in
        :func:`~assay.assertions.priority.order_by` order (highest priority first), and ``"counts"``: one row per assertion
        with the number of ``new``, ``resolved`` and ``kept`` findings.
    """
    if by == "auto":
        runs = workspace.runs().set_index("run_id")
        inputs = [runs.loc[r, "inputs"] if r in runs.index else [] for r in (old_run, new_run)]
        by = "obs_ids" if same_source(*inputs) else "frames"
    if by not in ("obs_ids", "frames"):
        raise InvalidParameterError(f"diff_runs: by must be 'auto', 'obs_ids' or 'frames', got {by!r}.")
    if top is not None and (not isinstance(top, int | np.integer) or top < 0):
        raise InvalidParameterError(f"diff_runs: top must be a non-negative integer, got {top!r}.")
    if name not in workspace:
        empty = workspace.findings(name=name) if name.lower() == "findings" else None
        if empty is None:
            raise InvalidParameterError(f"diff_runs: the workspace has no findings table {name!r}.")
        return {"new": empty, "resolved": empty.copy(), "kept": empty.copy(),
                "counts": pd.DataFrame({"assertion": pd.array([], dtype=STRING),
                                        **{k: np.array([], dtype="int64") for k in ("new", "resolved", "kept")}})}
    same = _SAME + (" AND n.obs_ids IS NOT DISTINCT FROM o.obs_ids" if by == "obs_ids" else "")
    table = '"' + name.replace('"', '""') + '"'
    pair = (f"WITH o AS (SELECT * FROM {table} WHERE run_id = $old), "
            f"n AS (SELECT * FROM {table} WHERE run_id = $new) ")
    ids = {"old": old_run, "new": new_run}
    parts = {"new": f"SELECT n.* FROM n ANTI JOIN o ON {same}",
             "resolved": f"SELECT o.* FROM o ANTI JOIN n ON {same}",
             "kept": f"SELECT n.* FROM n SEMI JOIN o ON {same}"}
    counted = workspace.sql(pair + " UNION ALL ".join(
        f"SELECT '{k}' AS change, assertion, count(*) AS n FROM ({q}) GROUP BY ALL" for k, q in parts.items()),
        ids)
    counts = (counted.pivot_table(index="assertion", columns="change", values="n", aggfunc="sum", fill_value=0)
              .reindex(columns=list(parts), fill_value=0).astype("int64")
              .rename_axis(columns=None).sort_index().reset_index())
    counts["assertion"] = counts["assertion"].astype(STRING)
    columns = workspace.sql(f"SELECT * FROM {table} LIMIT 0").columns
    limit = "" if top is None else " LIMIT $top"
    out = {}
    for k, q in parts.items():
        rows = workspace.sql(pair + q + " ORDER BY " + order_by(columns) + limit,
                             ids | ({} if top is None else {"top": int(top)}))
        out[k] = _as_findings(rows)
    out["counts"] = counts
    return out


def _as_findings(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of a findings table read by SQL, with the findings dtypes."""
    dtypes = {**FINDING_COLUMNS, **OPTIONAL_FINDING_COLUMNS}
    for col, dtype in dtypes.items():
        if col in rows.columns and col != "obs_ids":
            rows[col] = rows[col].astype(dtype)
    if "obs_ids" in rows.columns:
        rows["obs_ids"] = [list(v) if v is not None else [] for v in rows["obs_ids"]]
    return rows.reset_index(drop=True)
