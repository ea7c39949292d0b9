"""The simulation harness: run labeling campaigns end to end with labels revealed from ground
truth, over many seeds, and measure how many labels each strategy needs.

Each campaign (one strategy, one seed) starts from the same random ``initial`` frames for
every strategy of that seed, then runs ``rounds`` rounds of: the model predicts over the pool
-> assertions run over the predictions -> the strategy queues ``budget`` frames (through a
:class:`~assay.curate.Campaign`, so the bookkeeping is the one a real campaign uses) -> their
ground truth is revealed -> the model is retrained (a user callback) -> its quality is
measured on held-out data (another callback).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import Interval, Options, validate_params
from ..assertions.base import Assertion
from ..exceptions import InvalidParameterError, MissingDependencyError
from .campaign import FRAME_ORACLE, Campaign, frame_label_ids
from .strategies import (
    AGGREGATES,
    EXTRA_ARMS,
    POLICIES,
    REWARDS,
    STRATEGIES,
    UNCERTAINTY_METHODS,
    ErrorOracle,
)
from .strategies._machinery import frame_keys

__all__ = ["ERROR_ORACLE", "SimulationResult", "simulate"]

#: The name under which :func:`simulate` runs the positive control
#: :class:`~assay.curate.ErrorOracle` (it reads the simulation's ground truth).
ERROR_ORACLE = "error-oracle"
_BOX = ("x1", "y1", "x2", "y2")


@dataclass(frozen=True)
class SimulationResult:
    """Learning curves of simulated campaigns.

    Attributes
    ----------
    curves : pandas.DataFrame
        One row per strategy, seed and round: ``strategy``, ``seed``, ``round`` (0 is the
        model trained on the initial frames), ``labels`` (frames labeled so far), ``boxes``
        (rows of ``truth`` in those frames: the boxes a reviewer drew), ``quality`` (the ``evaluate`` callback), ``firings`` (findings of all assertions over
        the model's predictions at the start of the round that queued the next labels; at the
        last round, over the final model), ``picked_errors`` (mean errors against ground
        truth, as :meth:`ErrorOracle.errors <assay.curate.ErrorOracle.errors>` counts them,
        of that model's predictions in the frames queued that round; NaN at the last round
        and when the truth has no boxes), ``picked_streams`` (how many streams the frames
        queued that round come from; 0 at the last round) and ``seconds``.
    strategies : tuple of str
    seeds : tuple of int
    rounds, budget, initial : int
    params : dict
        ``epsilon``, ``reward``, ``method``, ``aggregate``, ``policy``, ``c``, ``min_gap``
        and ``extra_arms`` as run.
    """

    curves: pd.DataFrame
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    rounds: int
    budget: int
    initial: int
    params: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Per strategy and round: ``labels``, mean, standard deviation, min and max of
        ``quality`` across seeds, and the number of seeds.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.curate import SimulationResult
        >>> curves = pd.DataFrame({"strategy": "random", "seed": [0, 1, 0, 1],
        ...     "round": [0, 0, 1, 1], "labels": [10, 10, 20, 20],
        ...     "quality": [0.5, 0.7, 0.8, 0.8], "firings": 0, "seconds": 0.0})
        >>> r = SimulationResult(curves, ("random",), (0, 1), 1, 10, 10)
        >>> r.summary()[["strategy", "round", "labels", "mean", "min", "max", "seeds"]]
          strategy  round  labels  mean  min  max  seeds
        0   random      0    10.0   0.6  0.5  0.7      2
        1   random      1    20.0   0.8  0.8  0.8      2
        """
        g = self.curves.groupby(["strategy", "round"], sort=False)
        out = g.agg(labels=("labels", "mean"), mean=("quality", "mean"), std=("quality", "std"),
                    min=("quality", "min"), max=("quality", "max"), seeds=("seed", "nunique"),
                    firings=("firings", "mean"))
        return out.reset_index()

    def labels_to_reach(self, target: float) -> pd.DataFrame:
        """Frames each strategy needs for its mean quality to reach ``target``.

        The mean learning curve (quality averaged over seeds at each round) is interpolated
        linearly between rounds; per seed, the same is done on each seed's curve.

        Returns
        -------
        pandas.DataFrame
            Per strategy: ``labels`` (on the mean curve; NaN when it never reaches the
            target), ``median_seed_labels`` (median over seeds, a seed that never reaches it
            counting as infinitely many) and ``seeds_reaching``.

        Examples
        --------
        >>> import pandas as pd
        >>> from assay.curate import SimulationResult
        >>> curves = pd.DataFrame({"strategy": "random", "seed": 0, "round": [0, 1],
        ...     "labels": [10, 20], "quality": [0.5, 0.9], "firings": 0, "seconds": 0.0})
        >>> SimulationResult(curves, ("random",), (0,), 1, 10, 10).labels_to_reach(0.7)
          strategy  labels  median_seed_labels  seeds_reaching
        0   random    15.0                15.0               1
        """
        rows = []
        for strategy in self.strategies:
            part = self.curves.loc[self.curves["strategy"] == strategy]
            mean = part.groupby("round").agg(labels=("labels", "mean"), quality=("quality", "mean"))
            per_seed = [
                _first_crossing(s["labels"].to_numpy(float), s["quality"].to_numpy(float), target)
                for _, s in part.sort_values("round").groupby("seed")
            ]
            rows.append({
                "strategy": strategy,
                "labels": _first_crossing(mean["labels"].to_numpy(float), mean["quality"].to_numpy(float), target),
                "median_seed_labels": float(np.median(np.nan_to_num(per_seed, nan=np.inf))),
                "seeds_reaching": int(np.isfinite(per_seed).sum()),
            })
        return pd.DataFrame(rows)

    def plot(self, path: Any = None, *, ax: Any = None, title: str | None = None) -> Any:
        """Plot mean quality against labels with a band of one standard deviation.

        Needs matplotlib (``pip install 'assay[report]'``). Writes ``path`` when given;
        returns the matplotlib Axes.
        """
        try:
            import matplotlib

            if ax is None and path is not None:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:  # pragma: no cover - depends on the environment
            raise MissingDependencyError(
                "SimulationResult.plot needs matplotlib; install it with pip install 'assay[report]'."
            ) from None
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        summary = self.summary()
        for strategy in self.strategies:
            s = summary.loc[summary["strategy"] == strategy]
            x, m, sd = s["labels"].to_numpy(), s["mean"].to_numpy(), s["std"].fillna(0).to_numpy()
            ax.plot(x, m, marker="o", label=strategy)
            ax.fill_between(x, m - sd, m + sd, alpha=0.15)
        ax.set_xlabel("frames labeled")
        ax.set_ylabel("quality")
        ax.set_title(title or f"{len(self.seeds)} seeds, mean ± 1 sd")
        ax.legend()
        if path is not None:
            ax.figure.tight_layout()
            ax.figure.savefig(path, dpi=120)
        return ax


def _first_crossing(x: np.ndarray, y: np.ndarray, target: float) -> float:
    """The x where y first reaches ``target``, linearly interpolated; NaN if never."""
    hit = np.flatnonzero(y >= target)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(x[0])
    x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
    return float(x0 + (target - y0) * (x1 - x0) / (y1 - y0))


@validate_params({
    "truth": [pd.DataFrame],
    "frames": [pd.DataFrame],
    "retrain": [callable],
    "predict": [callable],
    "evaluate": [callable],
    "assertions": [list, tuple],
    "strategies": [list, tuple, Mapping],
    "rounds": [Interval(int, 1, None)],
    "budget": [Interval(int, 1, None)],
    "initial": [Interval(int, 0, None)],
    "seeds": [Interval(int, 1, None), list, tuple],
    "epsilon": [Interval(float, 0, 1)],
    "reward": [Options(REWARDS)],
    "method": [Options(UNCERTAINTY_METHODS)],
    "aggregate": [Options(AGGREGATES)],
    "policy": [Options(POLICIES)],
    "c": [Interval(float, 0, None)],
    "min_gap": [Interval(int, 0, None)],
    "extra_arms": [list, tuple],
    "n_jobs": [Interval(int, 1, None)],
})
def simulate(
    truth: pd.DataFrame,
    *,
    frames: pd.DataFrame,
    retrain: Callable[[pd.DataFrame, pd.DataFrame, np.random.Generator], Any],
    predict: Callable[[Any], pd.DataFrame],
    evaluate: Callable[[Any], float],
    assertions: Sequence[Assertion],
    strategies: Sequence[str] | Mapping[str, Mapping[str, Any]] = STRATEGIES,
    rounds: int = 5,
    budget: int = 50,
    initial: int = 50,
    seeds: int | Sequence[int] = 5,
    epsilon: float = 0.1,
    reward: str = "relative",
    method: str = "least_confidence",
    aggregate: str = "max",
    policy: str = "epsilon-greedy",
    c: float = 1.0,
    min_gap: int = 3,
    extra_arms: Sequence[str] = (),
    n_jobs: int = 1,
) -> SimulationResult:
    """Simulate labeling campaigns with labels revealed from ground truth.

    Parameters
    ----------
    truth : pandas.DataFrame
        Ground-truth observations of the pool; labeling a frame reveals its rows here (a
        frame with no rows is revealed as empty).
    frames : pandas.DataFrame
        The pool of frames (``stream, frame``) that may be labeled.
    retrain : callable
        ``retrain(labeled_frames, revealed_truth, rng) -> model``: train from scratch on the
        labeled frames (``stream, frame``) and their revealed truth rows.
    predict : callable
        ``predict(model) -> observations``: the model's predictions over the pool, with
        ``score`` the probability that a box is right (uncertainty reads it; assertions run
        over the table).
    evaluate : callable
        ``evaluate(model) -> float``: quality on held-out data (higher is better).
    assertions : list of Assertion
        Run over every round's predictions (BAL's arms; ``assertions-uniform``'s lists).
    strategies : list of str or mapping of str to dict, default all of :data:`~assay.curate.STRATEGIES`
        Names among :data:`~assay.curate.STRATEGIES` and :data:`ERROR_ORACLE` (the positive
        control :class:`~assay.curate.ErrorOracle` over ``truth``, which then needs the box
        columns ``x1, y1, x2, y2``), or a mapping from a label (the ``strategy`` of the
        curves) to a dict with the key ``"strategy"`` (such a name) and any of the
        parameters below that differ from the shared ones, e.g.
        ``{"bal-ucb": {"strategy": "bal", "policy": "ucb"}}``. The positive control takes
        ``min_gap`` (default 0 for it) and ``balance`` (take the streams in turn) from its own
        dict only: ``{"oracle-spread": {"strategy": "error-oracle", "min_gap": 3, "balance": True}}``.
    rounds : int, default 5
        Rounds of selection after the initial model.
    budget : int, default 50
        Frames labeled per round.
    initial : int, default 50
        Frames labeled at random before the first round (the same frames for every strategy
        of a seed).
    seeds : int or list of int, default 5
        The seeds (an int ``n`` means ``0 .. n-1``).
    epsilon, reward, method, aggregate, policy, c, min_gap, extra_arms
        As in :class:`~assay.curate.Campaign` (see :class:`~assay.curate.BAL`). No verdicts
        are imported in a simulation; instead, when ``truth`` has boxes, an extra arm earns
        what a reviewer's verdicts would give it: the share of the frames it queued so far in
        which the predictions of the model of that round had an error against ``truth``
        (:meth:`ErrorOracle.errors <assay.curate.ErrorOracle.errors>` > 0). Without boxes
        in ``truth`` extra arms earn no reward: they are drawn in uniform and explore steps
        and by UCB's bonus only.
    n_jobs : int, default 1
        Campaigns run in this many processes (the callbacks must then be picklable).

    Returns
    -------
    SimulationResult

    Examples
    --------
    A toy pool where frames with boxes are worth labeling: the model's quality is the share
    of flagged frames labeled.

    >>> import pandas as pd
    >>> import assay
    >>> from assay.assertions import Flicker
    >>> from assay.curate import simulate
    >>> frames = pd.DataFrame({"stream": "cam", "frame": range(1, 21)})
    >>> preds = assay.as_observations(pd.DataFrame({"frame": [2, 7, 12, 17], "cls": "car",
    ...     "x1": [0.0, 100, 200, 300], "y1": 0.0, "x2": [10.0, 110, 210, 310], "y2": 10.0,
    ...     "score": 0.6}),
    ...     stream="cam", source="model", fps=1)
    >>> def retrain(labeled, revealed, rng):
    ...     return set(labeled["frame"])
    >>> def predict(model):
    ...     return preds.loc[~preds["frame"].isin(model)]
    >>> def evaluate(model):
    ...     return len(model & {2, 7, 12, 17}) / 4
    >>> r = simulate(preds.iloc[:0], frames=frames, retrain=retrain, predict=predict,
    ...              evaluate=evaluate, assertions=[Flicker()], strategies=["random", "bal"],
    ...              rounds=2, budget=2, initial=0, seeds=3)
    >>> r.summary()[["strategy", "round", "labels", "mean"]]
      strategy  round  labels      mean
    0   random      0     0.0  0.000000
    1   random      1     2.0  0.166667
    2   random      2     4.0  0.333333
    3      bal      0     0.0  0.000000
    4      bal      1     2.0  0.500000
    5      bal      2     4.0  1.000000
    """
    shared = {"epsilon": epsilon, "reward": reward, "method": method, "aggregate": aggregate,
              "policy": policy, "c": c, "min_gap": min_gap, "extra_arms": list(extra_arms),
              "balance": False}
    specs = _specs(strategies, shared)
    if any(spec["strategy"] == ERROR_ORACLE for spec in specs.values()):
        missing = [c for c in _BOX if c not in truth.columns]
        if missing:
            raise InvalidParameterError(
                f"simulate: the strategy {ERROR_ORACLE!r} reads the boxes of truth, which lacks "
                f"{', '.join(missing)}. Pass ground-truth boxes as truth or leave {ERROR_ORACLE!r} out."
            )
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    pool = frame_keys(frames, "frames").unique()
    if initial + rounds * budget > len(pool):
        raise InvalidParameterError(
            f"simulate: initial + rounds * budget = {initial + rounds * budget} frames, but the "
            f"pool has {len(pool)}. Lower budget, rounds or initial."
        )
    jobs = [(s, seed) for seed in seed_list for s in specs]
    ctx = _Context(truth, pool, retrain, predict, evaluate, list(assertions), rounds, budget, initial,
                   shared, specs)
    if n_jobs == 1:
        parts = [ctx.run(s, seed) for s, seed in jobs]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=n_jobs) as pool_exec:
            parts = list(pool_exec.map(ctx.run, *zip(*jobs, strict=True)))
    curves = pd.concat(parts, ignore_index=True)
    order = {s: i for i, s in enumerate(specs)}
    curves = curves.sort_values(["strategy", "seed", "round"], key=lambda c: c.map(order) if c.name == "strategy" else c,
                                kind="stable", ignore_index=True)
    params = dict(ctx.params)
    params["strategies"] = {k: dict(v) for k, v in specs.items()}
    return SimulationResult(curves, tuple(specs), tuple(seed_list), rounds, budget, initial, params)


def _specs(strategies: Any, shared: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Label -> {"strategy": name, **parameters that differ from the shared ones}."""
    names = (*STRATEGIES, ERROR_ORACLE)
    items = (list(strategies.items()) if isinstance(strategies, Mapping)
             else [(s, {"strategy": s}) for s in strategies])
    bad = [label for label, spec in items
           if not isinstance(spec, Mapping) or spec.get("strategy") not in names
           or set(spec) - {"strategy", *shared}]
    if bad or not items or len({str(label) for label, _ in items}) < len(items):
        raise InvalidParameterError(
            f"The 'strategies' parameter of simulate must list some of {', '.join(names)}, or map "
            "distinct labels to dicts with 'strategy' (one of those) and parameters among "
            f"{', '.join(shared)}. Got {strategies!r}."
        )
    specs = {str(label): dict(spec) for label, spec in items}
    for label, spec in specs.items():
        arms = spec.get("extra_arms", ())
        if not all(a in EXTRA_ARMS for a in arms) or len(set(arms)) < len(arms):
            raise InvalidParameterError(
                f"The 'extra_arms' of the strategy {label!r} of simulate must list distinct names "
                f"among {', '.join(map(repr, EXTRA_ARMS))}. Got {list(arms)!r}."
            )
    return specs


@dataclass
class _Context:
    truth: pd.DataFrame
    pool: pd.MultiIndex
    retrain: Callable
    predict: Callable
    evaluate: Callable
    assertions: list
    rounds: int
    budget: int
    initial: int
    params: dict
    specs: dict

    def _reveal(self, labeled: pd.MultiIndex) -> pd.DataFrame:
        if len(self.truth) == 0:
            return self.truth
        keys = frame_keys(self.truth, "truth")
        return self.truth.loc[keys.isin(labeled)].reset_index(drop=True)

    def run(self, label: str, seed: int) -> pd.DataFrame:
        from ..assertions import check
        from ..store import Workspace

        spec = dict(self.specs[label])
        name = spec.pop("strategy")
        params = {**self.params, **spec}
        has_boxes = len(self.truth) > 0 and all(c in self.truth.columns for c in _BOX)
        oracle = ErrorOracle(self.truth) if has_boxes else None  # counts the errors of every queue
        control = (ErrorOracle(self.truth, min_gap=int(spec.get("min_gap", 0)), balance=bool(params["balance"]))
                   if name == ERROR_ORACLE else None)
        extra = [str(a) for a in params["extra_arms"]] if name == "bal" else []
        # an extra arm's reviewed frames and those with an error, over the rounds so far
        reviewed = dict.fromkeys(extra, 0)
        with_errors = dict.fromkeys(extra, 0)
        ss = np.random.SeedSequence(seed)
        init_ss, train_ss = ss.spawn(2)
        init_rng = np.random.default_rng(init_ss)
        # the same training randomness for every strategy of a seed, round by round
        train_rngs = [np.random.default_rng(s) for s in train_ss.spawn(self.rounds + 1)]
        labeled = self.pool[np.sort(init_rng.permutation(len(self.pool))[: self.initial])]
        rows = []
        started = time.perf_counter()
        with Workspace() as ws:
            camp = (None if name == ERROR_ORACLE else
                    Campaign(ws, f"sim-{seed}", strategy=name, seed=seed,
                             **{k: v for k, v in params.items() if k != "balance"}))
            if len(labeled):
                ws.put_labels(FRAME_ORACLE, frame_label_ids(labeled.get_level_values(0), labeled.get_level_values(1)),
                              np.ones(len(labeled)))
            revealed = self._reveal(labeled)
            model = self.retrain(_frames_df(labeled), revealed, train_rngs[0])
            for r in range(self.rounds + 1):
                quality = float(self.evaluate(model))
                preds = self.predict(model)
                findings = None
                if self.assertions:
                    # a model that predicts nothing has no findings: the assertion strategies fill
                    findings = check(preds, self.assertions) if len(preds) else _no_findings()
                rows.append({"strategy": label, "seed": seed, "round": r, "labels": len(labeled),
                             "boxes": len(revealed), "quality": quality, "firings": 0 if findings is None else len(findings),
                             "picked_errors": np.nan, "picked_streams": 0,
                             "seconds": time.perf_counter() - started})
                if r == self.rounds:
                    break
                if camp is None:
                    queue = control.rank(preds, budget=self.budget, frames=_frames_df(self.pool),
                                        exclude=_frames_df(labeled), seed=seed, round=r)
                else:
                    earned = ({a: with_errors[a] / reviewed[a] for a in extra if reviewed[a]}
                              if oracle is not None and extra else None)
                    queue = camp.next_round(preds, findings, budget=self.budget, frames=_frames_df(self.pool),
                                            arm_rewards=earned)
                new = pd.MultiIndex.from_arrays([queue["stream"].astype(str).to_numpy(dtype=object),
                                                 queue["frame"].to_numpy(dtype="int64")])
                rows[-1]["picked_streams"] = int(new.get_level_values(0).nunique())
                if oracle is not None and len(new):
                    errors = oracle.errors(preds, new)
                    rows[-1]["picked_errors"] = float(errors.mean())
                    arm = queue["arm"].fillna("").astype(str).to_numpy()
                    for a in extra:
                        mine = arm == a
                        reviewed[a] += int(mine.sum())
                        with_errors[a] += int((errors[mine] > 0).sum())
                ws.put_labels(FRAME_ORACLE, frame_label_ids(new.get_level_values(0), new.get_level_values(1)),
                              np.ones(len(new)))
                labeled = labeled.append(new)
                revealed = self._reveal(labeled)
                model = self.retrain(_frames_df(labeled), revealed, train_rngs[r + 1])
        return pd.DataFrame(rows)


def _no_findings() -> pd.DataFrame:
    from ..tables import FINDING_COLUMNS

    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in FINDING_COLUMNS.items()})


def _frames_df(keys: pd.MultiIndex) -> pd.DataFrame:
    return pd.DataFrame({"stream": keys.get_level_values(0).to_numpy(dtype=object),
                         "frame": keys.get_level_values(1).to_numpy(dtype="int64")})
