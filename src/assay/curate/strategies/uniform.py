"""Frames the assertions flagged (:func:`flagged_frames`), one arm per assertion, and the
round-robin over them: :class:`AssertionsUniform`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._validation import Interval, validate_params
from ...exceptions import SchemaError
from ...tables import STRING
from ._machinery import GAP_RELAXED, Arm, Picks, fill_at_random, frame_keys, picks_queue
from .base import Strategy

__all__ = ["AssertionsUniform", "assertion_arms", "flagged_frames"]

def flagged_frames(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per (assertion, frame) that assertions flagged: the frames BAL chooses from.

    Parameters
    ----------
    findings : pandas.DataFrame
        A findings table (see :data:`assay.tables.FINDING_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        Columns ``arm`` (the assertion), ``stream``, ``frame`` (the middle frame of each
        finding), ``severity`` (the largest severity of the arm's findings there),
        ``findings`` (how many) and ``obs_ids`` (the observations they name, sorted), sorted
        by arm, then severity (descending), stream and frame.

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import flagged_frames
    >>> f = pd.DataFrame({"assertion": ["flicker", "flicker", "gap"], "stream": "cam",
    ...                   "frame_start": [4, 4, 7], "frame_end": [4, 4, 9],
    ...                   "obs_ids": [[1], [2], [5, 6]], "severity": [0.5, 0.9, 0.3]})
    >>> flagged_frames(f)
           arm stream  frame  severity  findings obs_ids
    0  flicker    cam      4       0.9         2  [1, 2]
    1      gap    cam      8       0.3         1  [5, 6]
    """
    cols = {"arm": STRING, "stream": STRING, "frame": np.dtype("int64"),
            "severity": np.dtype("float64"), "findings": np.dtype("int64"), "obs_ids": np.dtype("object")}
    if len(findings) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in cols.items()})
    missing = [c for c in ("assertion", "stream", "frame_start", "frame_end", "severity")
               if c not in findings.columns]
    if missing:
        raise SchemaError(f"findings: missing column(s) {', '.join(missing)}.")
    start = findings["frame_start"].to_numpy(dtype="int64")
    end = findings["frame_end"].to_numpy(dtype="int64")
    df = pd.DataFrame({
        "arm": findings["assertion"].astype(str).to_numpy(dtype=object),
        "stream": findings["stream"].astype(str).to_numpy(dtype=object),
        "frame": start + (end - start) // 2,
        "severity": findings["severity"].to_numpy(dtype="float64"),
        "obs_ids": (findings["obs_ids"] if "obs_ids" in findings.columns
                    else pd.Series([[]] * len(findings))).to_numpy(dtype=object),
    })
    keys = ["arm", "stream", "frame"]
    g = df.groupby(keys, sort=True)
    out = g["severity"].agg(["max", "size"]).rename(columns={"max": "severity", "size": "findings"})
    # the union of each group's obs ids: one flat sort, then split at group boundaries
    code = g.ngroup().to_numpy()
    lengths = np.fromiter((len(v) for v in df["obs_ids"]), dtype=np.int64, count=len(df))
    flat = np.fromiter((int(x) for v in df["obs_ids"] for x in v), dtype=np.int64, count=int(lengths.sum()))
    owner = np.repeat(code, lengths)
    order = np.lexsort((flat, owner))
    owner, flat = owner[order], flat[order]
    keep = np.r_[True, (owner[1:] != owner[:-1]) | (flat[1:] != flat[:-1])] if len(flat) else np.zeros(0, bool)
    owner, flat = owner[keep], flat[keep]
    cuts = np.searchsorted(owner, np.arange(1, len(out)))
    out["obs_ids"] = [part.tolist() for part in np.split(flat, cuts)]
    out = out.reset_index()
    out = out.sort_values(["arm", "severity", "stream", "frame"], ascending=[True, False, True, True],
                          kind="stable", ignore_index=True)
    return pd.DataFrame({
        "arm": pd.array(out["arm"].to_numpy(dtype=object), dtype=STRING),
        "stream": pd.array(out["stream"].to_numpy(dtype=object), dtype=STRING),
        "frame": out["frame"].to_numpy(dtype="int64"),
        "severity": out["severity"].to_numpy(dtype="float64"),
        "findings": out["findings"].to_numpy(dtype="int64"),
        "obs_ids": out["obs_ids"].astype(object),
    })



def assertion_arms(findings: pd.DataFrame, excluded: pd.MultiIndex | None,
                    rng: np.random.Generator) -> list[Arm]:
    """One arm per assertion: its flagged frames, most severe first, ties in random order."""
    cands = flagged_frames(findings)
    if len(cands) and excluded is not None and len(excluded):
        cands = cands.loc[~frame_keys(cands, "findings").isin(excluded)].reset_index(drop=True)
    if not len(cands):
        return []
    # one tie key per flagged frame, drawn in the order of flagged_frames
    tie = rng.random(len(cands))
    arm = cands["arm"].astype(str).to_numpy(dtype=object)
    order = np.lexsort((tie, -cands["severity"].to_numpy(), arm))
    cands = cands.iloc[order].reset_index(drop=True)
    arm = arm[order]
    out = []
    for name in sorted(set(arm.tolist())):
        part = cands.loc[arm == name]
        out.append(Arm(name, part["stream"].astype(str).to_numpy(dtype=object), part["frame"].to_numpy(),
                        part["severity"].to_numpy(), part["obs_ids"].tolist()))
    return out


class AssertionsUniform(Strategy):
    """Round-robin over assertions (in name order), each taking its most severe frame left.

    Each assertion is an arm holding the frames it flagged (see :func:`flagged_frames`),
    most severe first with ties in random order. In turn, each arm with frames left takes its
    first frame that is not queued and lies at least ``min_gap`` frames from every frame
    queued in its stream; when every frame it has left is closer, it takes the first of them
    anyway and ``reason`` says so (``"round-robin" + GAP_RELAXED``).

    Parameters
    ----------
    min_gap : int, default 3
        Least distance in frames between two picks of one stream (0 or 1: no constraint).
    fill : bool, default True
        When the flagged frames run out before the budget, fill the rest with unflagged
        frames of the pool at random, spread by ``min_gap`` too (``reason == "fill"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay.curate import AssertionsUniform
    >>> f = pd.DataFrame({"assertion": ["flicker", "flicker", "appear"], "stream": "cam",
    ...                   "frame_start": [3, 4, 9], "frame_end": [3, 4, 9],
    ...                   "obs_ids": [[1], [2], [4]], "severity": [0.9, 0.5, 1.0]})
    >>> AssertionsUniform(fill=False).rank(None, f, budget=3, seed=0)[["frame", "arm", "reason"]]
       frame      arm                    reason
    0      9   appear               round-robin
    1      3  flicker               round-robin
    2      4  flicker  round-robin:gap-relaxed
    """

    name = "assertions-uniform"
    needs_findings = True

    @validate_params({"min_gap": [Interval(int, 0, None)], "fill": [bool]})
    def __init__(self, min_gap: int = 3, fill: bool = True) -> None:
        self.min_gap = min_gap
        self.fill = fill

    def _needs_pool(self) -> bool:
        return self.fill

    def _rank(self, observations, findings, *, pool, excluded, budget, rewards, history, rng):
        arms = assertion_arms(findings, excluded, rng)
        picks = Picks(self.min_gap)
        choices: list[tuple[int, int, str]] = []
        live = list(range(len(arms)))
        while live and len(choices) < budget:
            still = []
            for a in live:
                if len(choices) >= budget:
                    break
                nxt = arms[a].next(picks)
                if nxt is None:
                    continue
                p, relaxed = nxt
                picks.add(arms[a].streams[p], arms[a].frames[p])
                choices.append((a, p, "round-robin" + (GAP_RELAXED if relaxed else "")))
                still.append(a)
            live = still
        picked = picks_queue(arms, choices)
        if self.fill and len(picked) < budget and pool is not None:
            picked = fill_at_random(picked, pool, budget, self.min_gap, rng)
        return picked
