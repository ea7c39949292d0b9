"""A labeling campaign: rounds of choosing frames, persisted in a workspace so it can stop and
resume across days (and processes) and choose exactly what an uninterrupted run would."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError, WorkspaceError
from ..store import Workspace
from ..tables import STRING
from .strategies import (
    AGGREGATES,
    EXTRA_ARMS,
    POLICIES,
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
    "policy": "epsilon-greedy",
    "c": 1.0,
    "min_gap": 3,
    "extra_arms": [],
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
    the previous round (and, for BAL's extra arms, from the verdicts imported so far, see
    :func:`~assay.curate.error_rates`), ranks frames with :func:`~assay.curate.rank_frames`
    (passing the stored rounds as ``history``, which BAL's UCB policy reads), and stores the
    round (firings, rewards, the queue, its run) in one transaction, together with its
    export when one is given: a round whose export fails is not recorded. A campaign
    reopened later, in another process, continues from the last stored round; round ``t``
    draws its randomness from ``numpy.random.default_rng([seed, t])`` (see
    :func:`~assay.curate.round_rng`), so an interrupted campaign chooses exactly what an
    uninterrupted one would. :meth:`export_round` exports a stored round again.

    Parameters
    ----------
    workspace : Workspace
        Where the campaign lives: tables ``curate.<name>.rounds`` (one row per round and
        assertion: ``round``, ``arm``, ``firings``, ``reward``, ``chosen``) and
        ``curate.<name>.queue`` (every queued frame with its ``round``), plus one
        ``curate`` run per round.
    name : str, default "default"
        Letters, digits, ``_`` and ``-``.
    strategy, seed, epsilon, reward, method, aggregate, fill, policy, c, min_gap, extra_arms
        See :func:`~assay.curate.rank_frames`, :class:`~assay.curate.BAL` and
        :func:`~assay.curate.bal_rewards` (``extra_arms``: names among
        :data:`~assay.curate.EXTRA_ARMS`; an extra arm's row in :meth:`rounds` has firings 0
        and a reward only once verdicts on its frames are imported). Fixed
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
       round  frame     arm       reason
    0      0      5  appear  bal:uniform
    >>> f1 = f0.iloc[[0, 2]]  # after retraining, flicker fires once instead of twice
    >>> camp.next_round(None, f1, budget=1)[["round", "frame", "arm", "reason"]]
       round  frame      arm       reason
    0      1      3  flicker  bal:exploit
    >>> camp.rounds()[["round", "arm", "firings", "reward", "chosen"]]
       round      arm  firings  reward  chosen
    0      0   appear        1     NaN       1
    1      0  flicker        2     NaN       0
    2      1   appear        1     0.0       0
    3      1  flicker        1     0.5       1
    """

    @validate_params({
        "workspace": [Workspace], "name": [str],
        "strategy": [Options(STRATEGIES), None], "seed": [Interval(int, 0, None), None],
        "epsilon": [Interval(float, 0, 1), None], "reward": [Options(REWARDS), None],
        "method": [Options(UNCERTAINTY_METHODS), None], "aggregate": [Options(AGGREGATES), None],
        "fill": [bool, None], "policy": [Options(POLICIES), None],
        "c": [Interval(float, 0, None), None], "min_gap": [Interval(int, 0, None), None],
        "extra_arms": [list, tuple, None],
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
        policy: str | None = None,
        c: float | None = None,
        min_gap: int | None = None,
        extra_arms: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        if not _NAME_RE.fullmatch(name):
            raise InvalidParameterError(
                "The 'name' parameter of Campaign must be letters, digits, '_' or '-', starting "
                f"with a letter or '_' (at most 64). Got {name!r}."
            )
        if extra_arms is not None:
            if not all(isinstance(a, str) and a in EXTRA_ARMS for a in extra_arms) or len(set(extra_arms)) < len(extra_arms):
                raise InvalidParameterError(
                    "The 'extra_arms' parameter of Campaign must list distinct names among "
                    f"{', '.join(map(repr, EXTRA_ARMS))}. Got {list(extra_arms)!r}."
                )
            extra_arms = list(extra_arms)
        self.workspace = workspace
        self.name = name
        given = {"strategy": strategy, "seed": seed, "epsilon": epsilon, "reward": reward,
                 "method": method, "aggregate": aggregate, "fill": fill, "policy": policy,
                 "c": c, "min_gap": min_gap, "extra_arms": extra_arms}
        stored = self._stored_params()
        if stored is not None:
            # a campaign stored before a parameter existed ran with its default
            known = {**DEFAULTS, **stored}
            clash = {k: (v, known[k]) for k, v in given.items() if v is not None and v != known.get(k)}
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

    def queue(self, round: int | None = None) -> pd.DataFrame:
        """Every frame queued so far, round by round, with ``round`` and ``run_id``; with
        ``round``, the frames of that stored round only, in queue order."""
        if round is not None:
            self._check_round(round, "queue")
        if self._queue_table not in self.workspace:
            return pd.DataFrame({"round": pd.Series([], dtype="int64"), "rank": pd.Series([], dtype="int64"),
                                 "stream": pd.Series([], dtype=STRING), "frame": pd.Series([], dtype="int64")})
        q = self.workspace.read(self._queue_table)
        if round is None:
            return q
        return q.loc[q["round"] == round].sort_values("rank", kind="stable").reset_index(drop=True)

    def _check_round(self, round: Any, caller: str) -> int:
        n = self.round
        if isinstance(round, bool) or not isinstance(round, (int, np.integer)) or not 0 <= round < n:
            have = f"rounds 0 to {n - 1}" if n else "no round yet"
            raise InvalidParameterError(
                f"The 'round' parameter of {caller} must be a stored round of campaign "
                f"{self.name!r} ({have}). Got {round!r}."
            )
        return int(round)

    def round_params(self, round: int) -> dict[str, Any]:
        """The parameters recorded with a stored round's ``curate`` run.

        They hold the campaign's parameters, ``round``, ``budget`` and, when
        :meth:`next_round` was given ``table``, ``observations`` (the workspace table the
        round's predictions came from) and ``observations_created`` (when that table was
        added, to tell a replaced table from the one the round used).
        """
        t = self._check_round(round, "round_params")
        runs = self.workspace.runs()
        mine = [p for k, st, p in zip(runs["kind"], runs["status"], runs["params"], strict=True)
                if k == "curate" and st == "ok" and isinstance(p, dict)
                and p.get("campaign") == self.name and p.get("round") == t]
        return dict(mine[-1]) if mine else {}

    @property
    def round(self) -> int:
        """The number of rounds stored (the next round's index)."""
        return self._count_rounds(self.rounds())

    @staticmethod
    def _count_rounds(rounds: pd.DataFrame) -> int:
        # a round without findings has no row in the rounds table: the count is in its attrs
        n = int(rounds["round"].max()) + 1 if len(rounds) else 0
        return max(n, int(rounds.attrs.get("rounds", 0)))

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
                      "budget": [Interval(int, 0, None)], "frames": [pd.DataFrame, None],
                      "table": [str, None], "export": [callable, None],
                      "arm_rewards": [Mapping, None]})
    def next_round(
        self,
        observations: pd.DataFrame | None,
        findings: pd.DataFrame | None = None,
        *,
        budget: int,
        frames: pd.DataFrame | None = None,
        table: str | None = None,
        export: Callable[[pd.DataFrame, pd.DataFrame | None], Any] | None = None,
        arm_rewards: Mapping[str, float] | None = None,
    ) -> pd.DataFrame:
        """Choose the next round's frames, export them, and store the round: all or nothing.

        The queue is computed first; then, in one workspace transaction, the round is written
        (queue, rounds table, a ``curate`` run), ``export(queue, observations)`` runs, and the
        transaction commits. If ``export`` raises (a missing image size, a full disk, an
        interrupt), nothing of the round is recorded, and the next call queues exactly the
        same frames. An export should write its files whole, renamed into place only when all
        are written (as :func:`~assay.curate.to_labelstudio`, :func:`~assay.curate.to_cvat`
        and :func:`~assay.curate.to_mot` do, see :class:`assay.io.StagedFiles`): should the
        process die after the rename but before the commit, the next call writes the same
        files again.

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
        table : str, optional
            The workspace table ``observations`` was read from; recorded with the round (see
            :meth:`round_params`) so :meth:`export_round` can export it again.
        export : callable, optional
            ``export(queue, observations)``, called with this round's queue before the round
            is committed. A dict it returns (e.g. the paths written; JSON-serialisable) is
            recorded in the round's run summary under ``"export"``; any other return value
            is ignored.
        arm_rewards : mapping of str to float, optional
            The extra arms' rewards earned elsewhere (a simulation computes them from ground
            truth); when given they replace the error rates of imported verdicts (see
            :func:`~assay.curate.error_rates`). Names that are not extra arms are ignored.

        Returns
        -------
        pandas.DataFrame
            This round's queue (the columns of :func:`~assay.curate.rank_frames`, plus
            ``round`` first and ``run_id`` last).

        Examples
        --------
        >>> import pandas as pd
        >>> from assay import Workspace
        >>> from assay.curate import Campaign
        >>> camp = Campaign(Workspace(), strategy="assertions-uniform", fill=False)
        >>> found = pd.DataFrame({"assertion": "flicker", "stream": "cam", "frame_start": [3, 9],
        ...                       "frame_end": [3, 9], "obs_ids": [[1], [7]], "severity": [0.2, 0.9]})
        >>> def failing_export(queue, observations):
        ...     raise OSError("disk full")
        >>> camp.next_round(None, found, budget=1, export=failing_export)
        Traceback (most recent call last):
        ...
        OSError: disk full
        >>> camp.round  # nothing was recorded
        0
        >>> exported = []
        >>> def export(queue, observations):
        ...     exported.append(queue)
        ...     return {"frames": len(queue)}  # a dict is recorded with the round's run
        >>> camp.next_round(None, found, budget=1, export=export)["frame"].tolist()
        [9]
        >>> camp.round, exported[0]["frame"].tolist(), camp.workspace.runs()["summary"][0]["export"]
        (1, [9], {'frames': 1})
        """
        p = self.params
        old_rounds = self.rounds()
        t = self._count_rounds(old_rounds)
        before = self._firings(old_rounds, t - 1) if t > 0 else {}
        now: dict[str, int] = {}
        if findings is not None and len(findings):
            counts = findings["assertion"].astype(str).value_counts()
            now = {str(k): int(v) for k, v in counts.items()}
        extra = list(p["extra_arms"]) if p["strategy"] == "bal" else []
        rewards: dict[str, float] | None = None
        if t > 0 and p["strategy"] == "bal":
            rewards = bal_rewards(before, now, kind=p["reward"])
        if extra:
            # extra arms cannot earn a drop in firings: their reward is the share of their
            # reviewed frames with an error found, once verdicts are imported
            from .verdicts import error_rates

            if arm_rewards is not None:
                earned = {str(a): float(r) for a, r in arm_rewards.items() if a in extra}
            else:
                rates = error_rates(self.workspace)
                earned = {str(a): float(r) for a, r in zip(rates["arm"], rates["rate"], strict=True)
                          if a in extra}
            if earned:
                rewards = {**(rewards or {}), **earned}
        exclude = self.labeled_frames()
        queue = rank_frames(
            observations, findings, strategy=p["strategy"], budget=budget, frames=frames,
            exclude=exclude, rewards=rewards, history=old_rounds if len(old_rounds) else None,
            epsilon=float(p["epsilon"]), policy=p["policy"], c=float(p["c"]),
            extra_arms=tuple(extra), min_gap=int(p["min_gap"]), method=p["method"],
            aggregate=p["aggregate"], fill=bool(p["fill"]), seed=int(p["seed"]), round=t,
        )
        arms = sorted(set(now) | set(before) | set(extra))
        chosen = queue["arm"].dropna().astype(str).value_counts()
        rows = pd.DataFrame({
            "round": np.full(len(arms), t, dtype="int64"),
            "arm": pd.array(arms, dtype=STRING),
            "firings": np.array([now.get(a, 0) for a in arms], dtype="int64"),
            "reward": np.array([np.nan if rewards is None else rewards.get(a, np.nan if a in extra else 0.0)
                                for a in arms], dtype="float64"),
            "chosen": np.array([int(chosen.get(a, 0)) for a in arms], dtype="int64"),
        })
        ws = self.workspace
        params: dict[str, Any] = {"campaign": self.name, "round": t, "budget": budget, **p}
        if table is not None:
            params.update(self._table_identity(table))
        if findings is not None and findings.attrs.get("run_id"):
            params["findings_run"] = str(findings.attrs["run_id"])
        inputs = []
        if table is not None:
            inputs.append({"role": "observations", "identity": params["observations_identity"],
                           "table": params["observations"],
                           "revision": params["observations_revision"],
                           "rows": 0 if observations is None else len(observations)})
        if "findings_run" in params:
            inputs.append({"role": "findings", "identity": f"run:{params['findings_run']}",
                           "run": params["findings_run"]})
        with ws.transaction():
            run_id = ws.start_run("curate", params, inputs=inputs)
            queue.insert(0, "round", np.full(len(queue), t, dtype="int64"))
            queue["run_id"] = pd.array([run_id] * len(queue), dtype=STRING)
            all_rounds = pd.concat([old_rounds, rows], ignore_index=True) if len(old_rounds) else rows
            all_rounds = all_rounds.astype({"round": "int64", "firings": "int64", "chosen": "int64"})
            all_rounds.attrs = {"campaign": dict(p), "rounds": t + 1}
            ws.add(self._rounds_table, all_rounds, kind="table", replace=True)
            if self._queue_table in ws:
                old = ws.read(self._queue_table)
                stored = pd.concat([old, queue], ignore_index=True) if len(queue) else old
            else:
                stored = queue
            ws.add(self._queue_table, stored, kind="table", replace=True)
            summary: dict[str, Any] = {
                "queued": len(queue), "firings": now,
                "rewards": rewards or {}, "reasons": queue["reason"].astype(str).value_counts().to_dict(),
            }
            if export is not None:
                # last before the commit: a failure rolls the round back; files the export
                # renamed into place are what the next call writes again
                exported = export(queue.copy(), observations)
                if isinstance(exported, Mapping):
                    summary["export"] = dict(exported)
            ws.finish_run(run_id, "ok", summary)
        return queue

    def _table_identity(self, table: str) -> dict[str, str]:
        t = self.workspace.tables()
        row = t.loc[t["name"].str.lower() == table.lower()]
        if not len(row):
            raise InvalidParameterError(
                f"The 'table' parameter of next_round must name a table of {self.workspace!r}. "
                f"Got {table!r}; its tables are {', '.join(map(repr, t['name']))}."
            )
        info = self.workspace.table_info(str(row["name"].iloc[0]))
        return {"observations": info["name"],
                "observations_created": row["created"].iloc[0].isoformat(),
                "observations_identity": info["identity"],
                "observations_revision": info["revision"]}

    @validate_params({"round": [Interval(int, 0, None)], "export": [callable],
                      "observations": [pd.DataFrame, None]})
    def export_round(
        self,
        round: int,
        export: Callable[[pd.DataFrame, pd.DataFrame | None], Any],
        *,
        observations: pd.DataFrame | None = None,
    ) -> Any:
        """Export a stored round again: ``export(queue, observations)`` with its stored queue.

        Parameters
        ----------
        round : int
            A stored round.
        export : callable
            As for :meth:`next_round`; called with the round's queue as stored (the queue
            :meth:`next_round` returned, in the same order), so an exporter writes the same
            files it wrote then, given the same observations.
        observations : pandas.DataFrame, optional
            The predictions to export with the queue (default: the workspace table the round
            recorded, see :meth:`round_params`).

        Returns
        -------
        object
            What ``export`` returns. Nothing is written to the workspace.

        Raises
        ------
        InvalidParameterError
            ``round`` is not a stored round, or it recorded no observations table and
            ``observations`` is not given.
        WorkspaceError
            The table the round used is no longer in the workspace.

        Warns
        -----
        UserWarning
            The table the round used was replaced since (added again under its name).

        Examples
        --------
        >>> import pandas as pd
        >>> import assay
        >>> from assay.curate import Campaign
        >>> ws = assay.Workspace()
        >>> obs = assay.as_observations(pd.DataFrame({"frame": [1, 2, 3], "cls": "car",
        ...     "score": [0.9, 0.5, 0.6]}), stream="cam", source="model", fps=1)
        >>> ws.add("preds", obs)
        >>> camp = Campaign(ws, strategy="uncertainty")
        >>> camp.next_round(obs, budget=2, table="preds")["frame"].tolist()
        [2, 3]
        >>> camp.export_round(0, lambda q, o: (q["frame"].tolist(), len(o)))
        ([2, 3], 3)
        """
        t = self._check_round(round, "export_round")
        queue = self.queue(t)
        if observations is None:
            params = self.round_params(t)
            table = params.get("observations")
            if table is None:
                raise InvalidParameterError(
                    f"Round {t} of campaign {self.name!r} does not record the observations table "
                    "it used (it was queued by an older assay, or by next_round without table=). "
                    "Pass the predictions as observations=."
                )
            ws = self.workspace
            if table not in ws:
                raise WorkspaceError(
                    f"Round {t} of campaign {self.name!r} used the observations table {table!r}, "
                    f"which is no longer in {ws!r}. Add the same predictions again under that "
                    "name, or pass them as observations=."
                )
            now = self._table_identity(table)
            if (now["observations_identity"] != params.get("observations_identity", now["observations_identity"])
                    or now["observations_created"] != params.get("observations_created")):
                warnings.warn(
                    f"The observations table {table!r} was replaced after round {t} of campaign "
                    f"{self.name!r} was queued; exporting the round with its current rows.",
                    UserWarning, stacklevel=2)
            observations = ws.read(table)
        return export(queue, observations)

    def __repr__(self) -> str:
        return (f"Campaign({self.name!r}, strategy={self.params['strategy']!r}, "
                f"rounds={self.round})")

