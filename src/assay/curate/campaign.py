"""A labeling campaign: rounds of choosing frames, persisted in a workspace so it can stop and
resume across days (and processes) and choose exactly what an uninterrupted run would."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError
from ..store import Workspace
from ..tables import STRING
from .strategies import (
    AGGREGATES,
    REWARDS,
    STRATEGIES,
    UNCERTAINTY_METHODS,
    bal_rewards,
    rank_frames,
)

__all__ = ["FRAME_ORACLE", "Campaign", "frame_label_ids"]

#: Oracle key under which frames a reviewer has labeled are recorded (value 1.0); a campaign
#: never queues them again. Ids are ``"<stream>#<frame>"``.
FRAME_ORACLE = "curate:frames"

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")

#: Campaign parameters and their defaults.
DEFAULTS: dict[str, Any] = {
    "strategy": "bal",
    "seed": 0,
    "epsilon": 0.1,
    "reward": "relative",
    "method": "least_confidence",
    "aggregate": "max",
    "fill": True,
}


def frame_label_ids(streams: Any, frames: Any) -> list[str]:
    """Ids of frames in :data:`FRAME_ORACLE`: ``"<stream>#<frame>"``.

    Examples
    --------
    >>> from assay.curate import frame_label_ids
    >>> frame_label_ids(["cam1", "cam1"], [3, 10])
    ['cam1#3', 'cam1#10']
    """
    return [f"{s}#{int(f)}" for s, f in zip(streams, frames, strict=True)]


def _parse_frame_ids(ids: pd.Index) -> pd.DataFrame:
    text = pd.Series(ids.astype(str))
    parts = text.str.rpartition("#")
    return pd.DataFrame({"stream": parts[0].to_numpy(dtype=object),
                         "frame": parts[2].astype("int64").to_numpy()})


class Campaign:
    """Rounds of choosing frames to label, each persisted in a workspace.

    Each call to :meth:`next_round` takes the current model's predictions and the findings of
    assertions over them, records how often each assertion fired, computes BAL's rewards from
    the previous round, ranks frames with :func:`~assay.curate.rank_frames`, and stores the
    round (firings, rewards, the queue) in one transaction. A campaign reopened later, in
    another process, continues from the last stored round; round ``t`` draws its randomness
    from ``numpy.random.default_rng([seed, t])``, so an interrupted campaign chooses exactly
    what an uninterrupted one would.

    Parameters
    ----------
    workspace : Workspace
        Where the campaign lives: tables ``curate.<name>.rounds`` (one row per round and
        assertion: ``round``, ``arm``, ``firings``, ``reward``, ``chosen``) and
        ``curate.<name>.queue`` (every queued frame with its ``round``), plus one
        ``curate`` run per round.
    name : str, default "default"
        Letters, digits, ``_`` and ``-``.
    strategy, seed, epsilon, reward, method, aggregate, fill
        See :func:`~assay.curate.rank_frames` and :func:`~assay.curate.bal_rewards`. Fixed
        when the first round is stored; reopening a campaign with other values is an error,
        leaving them out takes the stored ones. ``seed`` must be an int (it is stored).

    Examples
    --------
    >>> import pandas as pd
    >>> from assay import Workspace
    >>> from assay.curate import Campaign
    >>> ws = Workspace()
    >>> f0 = pd.DataFrame({"assertion": ["flicker", "flicker", "appear"], "stream": "cam",
    ...                    "frame_start": [3, 9, 5], "frame_end": [3, 9, 5],
    ...                    "obs_ids": [[1], [7], [4]], "severity": [0.2, 0.9, 1.0]})
    >>> camp = Campaign(ws, strategy="bal", seed=0, fill=False)
    >>> camp.next_round(None, f0, budget=1)[["round", "frame", "arm", "reason"]]
       round  frame      arm       reason
    0      0      9  flicker  bal:uniform
    >>> f1 = f0.iloc[[0, 2]]  # after retraining, flicker fires once instead of twice
    >>> camp.next_round(None, f1, budget=1)[["round", "frame", "arm", "reason"]]
       round  frame      arm       reason
    0      1      3  flicker  bal:exploit
    >>> camp.rounds()[["round", "arm", "firings", "reward", "chosen"]]
       round      arm  firings  reward  chosen
    0      0   appear        1     NaN       0
    1      0  flicker        2     NaN       1
    2      1   appear        1     0.0       0
    3      1  flicker        1     0.5       1
    """

    @validate_params({
        "workspace": [Workspace], "name": [str],
        "strategy": [Options(STRATEGIES), None], "seed": [Interval(int, 0, None), None],
        "epsilon": [Interval(float, 0, 1), None], "reward": [Options(REWARDS), None],
        "method": [Options(UNCERTAINTY_METHODS), None], "aggregate": [Options(AGGREGATES), None],
        "fill": [bool, None],
    })
    def __init__(
        self,
        workspace: Workspace,
        name: str = "default",
        *,
        strategy: str | None = None,
        seed: int | None = None,
        epsilon: float | None = None,
        reward: str | None = None,
        method: str | None = None,
        aggregate: str | None = None,
        fill: bool | None = None,
    ) -> None:
        if not _NAME_RE.fullmatch(name):
            raise InvalidParameterError(
                "The 'name' parameter of Campaign must be letters, digits, '_' or '-', starting "
                f"with a letter or '_' (at most 64). Got {name!r}."
            )
        self.workspace = workspace
        self.name = name
        given = {"strategy": strategy, "seed": seed, "epsilon": epsilon, "reward": reward,
                 "method": method, "aggregate": aggregate, "fill": fill}
        stored = self._stored_params()
        if stored is not None:
            clash = {k: (v, stored[k]) for k, v in given.items() if v is not None and v != stored.get(k)}
            if clash:
                what = ", ".join(f"{k}={old!r} (got {new!r})" for k, (new, old) in clash.items())
                raise InvalidParameterError(
                    f"Campaign {name!r} in {workspace!r} was started with {what}. Leave these "
                    "parameters out to continue it, or start a campaign under another name."
                )
            self.params = {**DEFAULTS, **stored}
        else:
            self.params = {**DEFAULTS, **{k: v for k, v in given.items() if v is not None}}

    # ------------------------------------------------------------------ stored state

    @property
    def _rounds_table(self) -> str:
        return f"curate.{self.name}.rounds"

    @property
    def _queue_table(self) -> str:
        return f"curate.{self.name}.queue"

    def _stored_params(self) -> dict[str, Any] | None:
        if self._rounds_table not in self.workspace:
            return None
        return dict(self.workspace.read(self._rounds_table).attrs.get("campaign", {}))

    def rounds(self) -> pd.DataFrame:
        """Per round and assertion: ``round``, ``arm``, ``firings``, ``reward`` (NaN in round 0)
        and ``chosen`` (frames that arm queued). Empty before the first round."""
        if self._rounds_table not in self.workspace:
            return pd.DataFrame({"round": pd.Series([], dtype="int64"), "arm": pd.Series([], dtype=STRING),
                                 "firings": pd.Series([], dtype="int64"),
                                 "reward": pd.Series([], dtype="float64"),
                                 "chosen": pd.Series([], dtype="int64")})
        return self.workspace.read(self._rounds_table)

    def queue(self) -> pd.DataFrame:
        """Every frame queued so far, round by round, with ``round`` and ``run_id``."""
        if self._queue_table not in self.workspace:
            return pd.DataFrame({"round": pd.Series([], dtype="int64"), "rank": pd.Series([], dtype="int64"),
                                 "stream": pd.Series([], dtype=STRING), "frame": pd.Series([], dtype="int64")})
        return self.workspace.read(self._queue_table)

    @property
    def round(self) -> int:
        """The number of rounds stored (the next round's index)."""
        r = self.rounds()
        return int(r["round"].max()) + 1 if len(r) else 0

    def labeled_frames(self) -> pd.DataFrame:
        """Frames never to queue again: every frame queued by this campaign, and every frame
        recorded as labeled under :data:`FRAME_ORACLE` (for example by
        :func:`~assay.curate.import_verdicts`), as ``stream, frame``."""
        q = self.queue()
        parts = [pd.DataFrame({"stream": q["stream"].astype(str).to_numpy(dtype=object),
                               "frame": q["frame"].to_numpy(dtype="int64")})]
        known = self.workspace.get_labels(FRAME_ORACLE)
        if len(known):
            parts.append(_parse_frame_ids(known.index))
        out = pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)
        return out

    def firings(self, round: int | None = None) -> dict[str, int]:
        """Firings per assertion recorded in a round (default: the last one)."""
        return self._firings(self.rounds(), round)

    @staticmethod
    def _firings(r: pd.DataFrame, round: int | None) -> dict[str, int]:
        if not len(r):
            return {}
        t = int(r["round"].max()) if round is None else round
        sel = r.loc[r["round"] == t]
        return {str(a): int(f) for a, f in zip(sel["arm"], sel["firings"], strict=True) if f > 0}

    # ------------------------------------------------------------------ rounds

    @validate_params({"observations": [pd.DataFrame, None], "findings": [pd.DataFrame, None],
                      "budget": [Interval(int, 0, None)], "frames": [pd.DataFrame, None]})
    def next_round(
        self,
        observations: pd.DataFrame | None,
        findings: pd.DataFrame | None = None,
        *,
        budget: int,
        frames: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Choose the next round's frames and store the round.

        Parameters
        ----------
        observations : pandas.DataFrame or None
            The current model's predictions over the pool (see
            :func:`~assay.curate.rank_frames`).
        findings : pandas.DataFrame, optional
            Findings of the assertions over ``observations``; their counts per assertion are
            this round's firings (BAL needs them; other strategies record them when given).
        budget : int
            Frames to queue this round.
        frames : pandas.DataFrame, optional
            The pool of frames (default: the frames of ``observations``).

        Returns
        -------
        pandas.DataFrame
            This round's queue (the columns of :func:`~assay.curate.rank_frames`, plus
            ``round`` first and ``run_id`` last).
        """
        p = self.params
        old_rounds = self.rounds()
        t = int(old_rounds["round"].max()) + 1 if len(old_rounds) else 0
        before = self._firings(old_rounds, t - 1) if t > 0 else {}
        now: dict[str, int] = {}
        if findings is not None and len(findings):
            counts = findings["assertion"].astype(str).value_counts()
            now = {str(k): int(v) for k, v in counts.items()}
        rewards: dict[str, float] | None = None
        if t > 0 and p["strategy"] == "bal":
            rewards = bal_rewards(before, now, kind=p["reward"])
        exclude = self.labeled_frames()
        rng = np.random.default_rng([int(p["seed"]), t])
        queue = rank_frames(
            observations, findings, strategy=p["strategy"], budget=budget, frames=frames,
            exclude=exclude, rewards=rewards, epsilon=float(p["epsilon"]), method=p["method"],
            aggregate=p["aggregate"], fill=bool(p["fill"]), seed=rng,
        )
        arms = sorted(set(now) | set(before))
        chosen = queue["arm"].dropna().astype(str).value_counts()
        rows = pd.DataFrame({
            "round": np.full(len(arms), t, dtype="int64"),
            "arm": pd.array(arms, dtype=STRING),
            "firings": np.array([now.get(a, 0) for a in arms], dtype="int64"),
            "reward": np.array([np.nan if rewards is None else rewards.get(a, 0.0) for a in arms],
                               dtype="float64"),
            "chosen": np.array([int(chosen.get(a, 0)) for a in arms], dtype="int64"),
        })
        ws = self.workspace
        with ws.transaction():
            run_id = ws.start_run("curate", {"campaign": self.name, "round": t, "budget": budget, **p})
            queue.insert(0, "round", np.full(len(queue), t, dtype="int64"))
            queue["run_id"] = pd.array([run_id] * len(queue), dtype=STRING)
            all_rounds = pd.concat([old_rounds, rows], ignore_index=True) if len(old_rounds) else rows
            all_rounds = all_rounds.astype({"round": "int64", "firings": "int64", "chosen": "int64"})
            all_rounds.attrs = {"campaign": dict(p)}
            ws.add(self._rounds_table, all_rounds, kind="table", replace=True)
            if self._queue_table in ws:
                old = ws.read(self._queue_table)
                stored = pd.concat([old, queue], ignore_index=True) if len(queue) else old
            else:
                stored = queue
            ws.add(self._queue_table, stored, kind="table", replace=True)
            ws.finish_run(run_id, "ok", {
                "queued": len(queue), "firings": now,
                "rewards": rewards or {}, "reasons": queue["reason"].astype(str).value_counts().to_dict(),
            })
        return queue

    def __repr__(self) -> str:
        return (f"Campaign({self.name!r}, strategy={self.params['strategy']!r}, "
                f"rounds={self.round})")

