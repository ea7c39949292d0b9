"""Consistency assertions, declared rather than coded (the paper, section 3.3).

An *identifier* names the entity (a track id, a person's name read by OCR); *attributes*
must agree across its observations; temporal rules bound how it appears: ``min_duration``
(an entity that appears lasts at least this long) and ``max_gap`` (it does not vanish for
less than this and come back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError, SchemaError
from ._findings import empty_findings, make_findings
from ._frames import StreamInfo, stream_info
from .base import Assertion

__all__ = ["ConsistencyAssertion"]


class ConsistencyAssertion(Assertion):
    """Observations of one entity must agree, and the entity must not blink in and out.

    Parameters
    ----------
    identifier : str or callable
        A column, or a function of the observations table returning one identifier per row
        (rows whose identifier is missing are not checked).
    attributes : list of str
        Columns that must be constant per entity appearance. Each disagreement is reported
        with the majority value, proposed as the fix. A tie for the majority goes to the
        value seen first in the appearance, and among values first seen in the same frame
        to the smallest as text: the rule reads the appearance's own rows only.
    min_duration : float, optional
        Seconds. An appearance shorter than this is a finding (duration counts the first to
        the last frame inclusive, so one frame lasts one frame period).
    max_gap : float, optional
        Seconds. The entity missing from at least one frame and back within this time is a
        finding.
    segment_gap : float
        Seconds of absence after which the entity's return is a new appearance (at least
        ``max_gap``).
    ignore_truncated : bool
        ``min_duration`` does not flag appearances touching the first or last frame of
        their stream.
    name : str, optional

    Examples
    --------
    >>> import pandas as pd
    >>> import assay
    >>> from assay.assertions import ConsistencyAssertion
    >>> obs = assay.as_observations(pd.DataFrame({
    ...     "frame": [0, 1, 2, 3], "track": 7, "cls": ["car", "car", "truck", "car"]}),
    ...     stream="cam", source="model", fps=10)
    >>> f = ConsistencyAssertion(identifier="track", attributes=["cls"]).run(obs)
    >>> f.loc[0, "obs_ids"], f.loc[0, "severity"], f.loc[0, "fix"]
    ([2], np.float64(1.0), '{"action": "set", "obs_ids": [2], "values": {"cls": "car"}}')
    """

    track_level = True

    def __init__(
        self,
        *,
        identifier: str | Callable[[pd.DataFrame], Sequence] = "track",
        attributes: Sequence[str] = (),
        min_duration: float | None = None,
        max_gap: float | None = None,
        segment_gap: float = 10.0,
        ignore_truncated: bool = True,
        name: str | None = None,
    ) -> None:
        if not (isinstance(identifier, str) or callable(identifier)):
            raise InvalidParameterError(
                f"The 'identifier' parameter of ConsistencyAssertion must be a column name or a "
                f"callable. Got {identifier!r}.")
        if not attributes and min_duration is None and max_gap is None:
            raise InvalidParameterError(
                "ConsistencyAssertion needs at least one rule: attributes=, min_duration= or max_gap=.")
        for pname, v in (("min_duration", min_duration), ("max_gap", max_gap), ("segment_gap", segment_gap)):
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise InvalidParameterError(
                    f"The {pname!r} parameter of ConsistencyAssertion must be a float > 0. Got {v!r}.")
        self.identifier = identifier
        self.attributes = list(attributes)
        self.min_duration = min_duration
        self.max_gap = max_gap
        self.segment_gap = max(segment_gap, max_gap or 0.0)
        self.ignore_truncated = ignore_truncated
        if name is not None:
            self.name = name
        elif type(self) is ConsistencyAssertion:
            self.name = "consistency"

    def identifiers(self, obs: pd.DataFrame) -> pd.Series:
        """The identifier of each row (the ``identifier`` column, or what the function gives)."""
        if callable(self.identifier):
            ids = pd.Series(self.identifier(obs), index=obs.index)
            if len(ids) != len(obs):
                raise SchemaError(f"{self.name}: the identifier function returned {len(ids)} values for {len(obs)} rows.")
            return ids
        if self.identifier not in obs.columns:
            raise SchemaError(f"assertion {self.name!r} needs the identifier column {self.identifier!r}.")
        return obs[self.identifier]

    def blind_spot(self, observations: pd.DataFrame) -> str | None:
        ident = self.identifier
        if callable(ident) or len(observations) == 0:
            return None
        if ident in observations.columns and observations[ident].notna().any():
            return None
        hint = (" Build tracks first: assay.tracking.associate(observations), or "
                "`assay check --associate`." if ident == "track" else "")
        return (f"{self.name} groups observations by {ident!r}, which no row has: it cannot "
                f"find anything.{hint}")

    def run(self, observations: pd.DataFrame, *, info: StreamInfo | None = None) -> pd.DataFrame:
        missing = [a for a in self.attributes if a not in observations.columns]
        if missing:
            raise SchemaError(f"assertion {self.name!r} needs attribute columns {missing}.")
        ident = self.identifiers(observations)
        has = ident.notna().to_numpy()
        obs = observations.loc[has] if not has.all() else observations
        if obs.empty:
            return empty_findings()
        ent = pd.factorize(ident[has])[0].astype(np.int64)
        sc, streams = pd.factorize(obs["stream"], sort=True)
        t = obs["time"].to_numpy()
        frame = obs["frame"].to_numpy()
        oid = obs["obs_id"].to_numpy()
        order = np.lexsort((oid, t, ent, sc))
        sc_o, ent_o, t_o, f_o, oid_o = sc[order], ent[order], t[order], frame[order], oid[order]
        stride_s, first_f, last_f, period = (info or stream_info(observations)).arrays(np.asarray(streams, dtype=object))
        # appearances: split on a new entity or an absence longer than segment_gap
        new_ent = np.r_[True, (sc_o[1:] != sc_o[:-1]) | (ent_o[1:] != ent_o[:-1])]
        dt = np.r_[np.inf, np.diff(t_o)]
        new_seg = new_ent | (dt > self.segment_gap)
        seg = np.cumsum(new_seg) - 1
        seg_start = np.flatnonzero(new_seg)
        seg_end = np.r_[seg_start[1:], len(seg)] - 1
        track_col = obs["track"].to_numpy(dtype=object, na_value=pd.NA)[order] if "track" in obs.columns else None
        seg_track = track_col[seg_start] if track_col is not None else None
        parts = []
        for attr in self.attributes:
            parts.append(self._attribute(attr, obs[attr].to_numpy(dtype=object)[order], seg, seg_start,
                                         sc_o, t_o, f_o, oid_o, streams, seg_track))
        if self.min_duration is not None:
            parts.append(self._duration(seg_start, seg_end, sc_o, t_o, f_o, oid_o, streams, period,
                                        first_f, last_f, seg_track, seg))
        if self.max_gap is not None:
            parts.append(self._gaps(new_seg, dt, sc_o, f_o, oid_o, streams, stride_s, seg, seg_track))
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else empty_findings()

    def _attribute(self, attr, values, seg, seg_start, sc_o, t_o, f_o, oid_o, streams, seg_track):
        codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=False)
        n_seg = len(seg_start)
        if len(uniques) <= 1:
            return empty_findings()
        counts = np.zeros((n_seg, len(uniques)), dtype=np.int64)
        np.add.at(counts, (seg, codes), 1)
        n_values = (counts > 0).sum(axis=1)
        bad_segs = np.flatnonzero(n_values > 1)
        if bad_segs.size == 0:
            return empty_findings()
        majority = counts.argmax(axis=1)
        seg_end = np.r_[seg_start[1:], len(seg)]
        top = counts[bad_segs].max(axis=1)
        for s in bad_segs[(counts[bad_segs] == top[:, None]).sum(axis=1) > 1]:
            majority[s] = _tie_break(codes[seg_start[s]:seg_end[s]], t_o[seg_start[s]:seg_end[s]],
                                     np.flatnonzero(counts[s] == counts[s].max()), uniques)
        rows_bad = np.flatnonzero(np.isin(seg, bad_segs) & (codes != majority[seg]))
        by_seg = np.split(rows_bad, np.flatnonzero(np.diff(seg[rows_bad])) + 1)
        streams_out, f0, f1, ids, sev, fixes, maj_vals, count_ev, tracks = [], [], [], [], [], [], [], [], []
        for rows in by_seg:
            s = seg[rows[0]]
            lo, hi = seg_start[s], seg_end[s]
            maj = uniques[majority[s]]
            maj = maj.item() if hasattr(maj, "item") else maj
            streams_out.append(streams[sc_o[lo]])
            f0.append(f_o[lo])
            f1.append(f_o[hi - 1])
            ids.append(oid_o[rows].tolist())
            sev.append(float(len(rows)))
            maj_vals.append(maj)
            seen, first = np.unique(codes[lo:hi], return_index=True)  # in order of appearance
            count_ev.append({str(uniques[k]): int(counts[s, k]) for k in seen[np.argsort(first)]})
            fixes.append(json.dumps({"action": "set", "obs_ids": oid_o[rows].tolist(), "values": {attr: maj}}))
            tracks.append(seg_track[s] if seg_track is not None else pd.NA)
        return make_findings(
            self.name, "track", streams_out, np.array(f0), np.array(f1), ids, np.array(sev),
            track=np.array(tracks, dtype=object),
            evidence={"attribute": [attr] * len(sev), "majority": maj_vals, "counts": count_ev},
            fix=fixes,
        )

    def _duration(self, seg_start, seg_end, sc_o, t_o, f_o, oid_o, streams, period, first_f,
                  last_f, seg_track, seg):
        s_sc = sc_o[seg_start]
        duration = t_o[seg_end] - t_o[seg_start] + period[s_sc]
        short = duration < self.min_duration - 1e-9
        if self.ignore_truncated:
            short &= (f_o[seg_start] != first_f[s_sc]) & (f_o[seg_end] != last_f[s_sc])
        segs = np.flatnonzero(short)
        ids = [oid_o[seg_start[s]: seg_end[s] + 1].tolist() for s in segs]
        return make_findings(
            self.name, "track", streams[s_sc[segs]], f_o[seg_start[segs]], f_o[seg_end[segs]], ids,
            (self.min_duration - duration[segs]) / self.min_duration,
            track=seg_track[segs] if seg_track is not None else None,
            evidence={"duration": duration[segs], "observations": np.array([len(i) for i in ids])},
            fix=[json.dumps({"action": "remove", "obs_ids": i}) for i in ids],
        )

    def _gaps(self, new_seg, dt, sc_o, f_o, oid_o, streams, stride_s, seg, seg_track):
        step = np.r_[0, np.diff(f_o)]
        missed = step // np.maximum(stride_s[sc_o], 1) - 1
        rows = np.flatnonzero(~new_seg & (missed >= 1) & (dt <= self.max_gap))
        return make_findings(
            self.name, "window", streams[sc_o[rows]], f_o[rows - 1], f_o[rows],
            [[int(a), int(b)] for a, b in zip(oid_o[rows - 1], oid_o[rows], strict=True)],
            missed[rows].astype(np.float64),
            track=seg_track[seg[rows]] if seg_track is not None else None,
            evidence={"missing_frames": missed[rows], "gap_seconds": dt[rows]},
        )


def _tie_break(codes: np.ndarray, times: np.ndarray, tied: np.ndarray, uniques: np.ndarray) -> int:
    """The majority among values ``tied`` for the most observations of one appearance
    (``codes`` and ``times`` of its rows, in time order): the value seen first, and among
    values first seen at the same time the smallest as text. It depends on the appearance's
    own rows only, so batch, stream and subset runs propose the same fix."""
    first = np.array([times[np.argmax(codes == k)] for k in tied])
    tied = tied[first == first.min()]
    return int(min(tied, key=lambda k: str(uniques[k])))
