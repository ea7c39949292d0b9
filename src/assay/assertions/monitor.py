"""Streaming: feed a model's outputs frame by frame, get findings as soon as they are final.

A finding is *final* once no later frame can change it. What that takes is declared by each
assertion (see :class:`~assay.assertions.Assertion`), never looked up by its name: for a
windowed assertion, ``frames_after`` frame slots after the finding's last frame (one for
:class:`Flicker`, which looks at the next frame; none for :class:`Gap`, whose findings end
at the frame that completes them); for a track-level assertion, the end of the track
segment (the track unseen for longer than the assertion's ``segment_gap``). The monitor keeps
only the frames that unfinished findings can still depend on (``slots_before`` and
``frames_after`` of each assertion), plus the rows of open track segments, and emits each
finding exactly when it becomes final, computed on the same rows a batch :func:`check` would
use: batch and stream produce the same findings.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .._validation import Interval, validate_params
from ..exceptions import InvalidParameterError
from ..tables import validate
from ._findings import empty_findings
from ._frames import StreamInfo, frame_period
from .base import Assertion
from .priority import prioritize, verdict_precision
from .runner import run_assertion

__all__ = ["Monitor"]


def _reach(a: Assertion, period: float) -> int:
    """Frame slots back from the last slot at which a windowed assertion's findings are due
    that those findings still read (one more than they span, as a margin)."""
    return a.slots_before(period) + a.frames_after + 1


class Monitor:
    """Run assertions on a live stream of model outputs, with bounded memory.

    Parameters
    ----------
    assertions : list of Assertion
        As for :func:`~assay.assertions.check` (row-level assertions judge each observation
        row as it comes).
    stride : int or dict
        Frames between consecutive frames of a stream (a live stream cannot infer it).
    workspace : assay.Workspace, optional
        Findings are stored there under one run as they are emitted.
    precision : pandas.DataFrame, optional
        As for :func:`~assay.assertions.check`: reviewers' precision per assertion, to
        weight the priorities of :attr:`findings_` (default: the workspace's verdicts when
        the monitor starts).

    Attributes
    ----------
    findings_ : pandas.DataFrame
        Every finding emitted so far, with its ``priority`` among them, most important
        first (after :meth:`close`, what :func:`~assay.assertions.check` returns for the
        same frames). The findings :meth:`update` returns and stores have no priority: it
        depends on findings still to come.

    Examples
    --------
    >>> from assay.assertions import Flicker, Gap, Monitor, check
    >>> from assay.io import read_mot, demo_path
    >>> det = read_mot(demo_path("TUD-Campus", "tracker"), kind="gt", fps=25)
    >>> mon = Monitor([Flicker(), Gap()])
    >>> for frame, outputs in det.groupby("frame"):
    ...     new = mon.update(outputs)
    >>> final = mon.close()
    >>> len(mon.findings_) == len(check(det, [Flicker(), Gap()]))
    True
    """

    @validate_params({"stride": [Interval(int, 1, None), dict], "precision": [pd.DataFrame, None]})
    def __init__(self, assertions: Iterable[Assertion], *, stride: int | dict = 1, workspace=None,
                 precision: pd.DataFrame | None = None) -> None:
        self.assertions = list(assertions)
        for a in self.assertions:
            if not isinstance(a, Assertion):
                raise InvalidParameterError(f"Monitor takes Assertion objects. Got {a!r}.")
        self.stride = stride
        self.workspace = workspace
        self.precision = precision
        self._precision = verdict_precision(workspace, precision)
        self._info = StreamInfo({}, {}, {}, {})
        self._second: dict[str, tuple[int, float]] = {}
        self._first_time: dict[str, float] = {}
        self._last_frame: dict[str, int] = {}
        self._last_time: dict[str, float] = {}
        self._buffer: list[pd.DataFrame] = []
        self._emitted: list[pd.DataFrame] = []
        self._run_id = None
        self._closed = False
        self._seg_end: dict[int, np.ndarray] = {}

    @property
    def findings_(self) -> pd.DataFrame:
        parts = [p for p in self._emitted if len(p)]
        found = pd.concat(parts, ignore_index=True) if parts else empty_findings()
        return prioritize(found, precision=self._precision)

    def _stride(self, stream: str) -> int:
        return int(self.stride.get(stream, 1)) if isinstance(self.stride, dict) else int(self.stride)

    def update(self, outputs: pd.DataFrame, *, stream: str | None = None, frame: int | None = None,
               time: float | None = None) -> pd.DataFrame:
        """Feed the next frame (or frames) of a stream; returns the findings that became final.

        ``outputs`` holds the rows of one frame of one stream (canonical observations), or of
        several consecutive frames of one stream (a chunk: the same findings, with less
        overhead per frame). An empty frame is fed as an empty table with ``stream``,
        ``frame`` and ``time`` given. Frames of a stream must arrive in increasing order.
        """
        if self._closed:
            raise InvalidParameterError("this Monitor is closed; start a new one.")
        if len(outputs):
            outputs = validate(outputs, "observations")
            outputs.attrs = {}  # pandas deep-copies attrs on every operation
            streams = outputs["stream"].unique()
            if len(streams) != 1:
                raise InvalidParameterError(
                    f"Monitor.update takes frames of one stream at a time; got {len(streams)} streams.")
            stream = str(streams[0])
            frames = outputs["frame"].to_numpy()
            times = outputs["time"].to_numpy()
            uniq, first_idx = np.unique(frames, return_index=True)
            first_times = times[first_idx]
        elif stream is None or frame is None or time is None:
            raise InvalidParameterError("an empty frame needs stream=, frame= and time=.")
        else:
            uniq, first_times = np.array([int(frame)]), np.array([float(time)])
        last = self._last_frame.get(stream)
        if last is not None and uniq[0] <= last:
            raise InvalidParameterError(
                f"stream {stream!r}: frame {int(uniq[0])} arrived after frame {last}; frames must increase.")
        info = self._info
        if stream not in info.first:
            info.first[stream] = int(uniq[0])
            info.stride[stream] = self._stride(stream)
            info.last[stream] = None
            info.period[stream] = 0.0
            self._first_time[stream] = float(first_times[0])
            uniq_rest, times_rest = uniq[1:], first_times[1:]
        else:
            uniq_rest, times_rest = uniq, first_times
        if stream not in self._second and len(uniq_rest):
            self._second[stream] = (int(uniq_rest[0]), float(times_rest[0]))
            info.period[stream] = frame_period(info.first[stream], self._first_time[stream],
                                          int(uniq_rest[0]), float(times_rest[0]), info.stride[stream])
        prev_slot = self._slot(stream, last) if last is not None else -1
        prev_time = self._last_time.get(stream, -np.inf)
        self._last_frame[stream] = int(uniq[-1])
        self._last_time[stream] = float(first_times[-1])
        if len(outputs):
            self._buffer.append(outputs)
        new = self._emit(stream, prev_slot, self._slot(stream, int(uniq[-1])), prev_time,
                         float(first_times[-1]))
        self._prune(stream)
        return new

    def close(self) -> pd.DataFrame:
        """End every stream: emit what remains and return it."""
        if self._closed:
            return empty_findings()
        for s in list(self._info.first):
            self._info.last[s] = self._last_frame[s]
        out = []
        for s in list(self._info.first):
            big = np.iinfo(np.int64).max // 8
            out.append(self._emit(s, self._slot(s, self._last_frame[s]), big,
                                  self._last_time[s], np.inf))
        self._closed = True
        parts = [p for p in out if len(p)]
        if self.workspace is not None and self._run_id is not None:
            self.workspace.finish_run(self._run_id, "ok", {"findings": len(self.findings_)})
        return pd.concat(parts, ignore_index=True) if parts else empty_findings()

    def _slot(self, stream: str, frame: int) -> int:
        return (frame - self._info.first[stream]) // self._info.stride[stream]

    def _rows(self) -> pd.DataFrame | None:
        if len(self._buffer) > 1:
            self._buffer = [pd.concat(self._buffer, ignore_index=True)]
        return self._buffer[0] if self._buffer else None

    def _segment_end(self, a: Assertion, rows: pd.DataFrame, in_stream: np.ndarray) -> np.ndarray:
        """Per row of the stream, the time of the last row of its track segment (NaN elsewhere)."""
        ident = pd.Series(pd.Series(a.identifiers(rows)).to_numpy(dtype=object, na_value=None))
        valid = in_stream & ident.notna().to_numpy()
        out = np.full(len(rows), np.nan)
        if not valid.any():
            return out
        codes = pd.factorize(ident[valid])[0]
        t = rows["time"].to_numpy()[valid]
        order = np.lexsort((t, codes))
        c, tt = codes[order], t[order]
        new = np.r_[True, (c[1:] != c[:-1]) | (np.diff(tt) > a.segment_gap)]
        seg = np.cumsum(new) - 1
        ends = np.r_[np.flatnonzero(new)[1:], len(c)] - 1
        last = np.empty(len(c))
        last[order] = tt[ends][seg]
        out[np.flatnonzero(valid)] = last
        return out

    def _emit(self, stream: str, prev_slot: int, slot: int, prev_time: float, now: float) -> pd.DataFrame:
        rows = self._rows()
        self._seg_end = {}
        if rows is None or rows.empty:
            return empty_findings()
        in_stream = (rows["stream"] == stream).to_numpy()
        found = []
        windowed = [a for a in self.assertions if not a.track_level]
        if windowed:
            slots = (rows["frame"].to_numpy() - self._info.first[stream]) // self._info.stride[stream]
            behind = max(_reach(a, self._info.period[stream]) for a in windowed)
            window = rows.loc[in_stream & (slots >= min(slot, prev_slot + 1) - behind - 2)]
            for a in windowed:
                f = run_assertion(a, window, self._info) if len(window) else empty_findings()
                if f.empty:
                    continue
                s_end = (f["frame_end"].to_numpy() - self._info.first[stream]) // self._info.stride[stream]
                due = s_end + a.frames_after
                f = f[(due <= slot) & (due > prev_slot)]
                if len(f):
                    found.append(f)
        for k, a in enumerate(self.assertions):
            if not a.track_level:
                continue
            # the same arithmetic as the batch split (a gap is dt = later - earlier)
            seg_end = self._segment_end(a, rows, in_stream)
            self._seg_end[k] = seg_end
            with np.errstate(invalid="ignore"):
                closed_now = (now - seg_end > a.segment_gap) if np.isfinite(now) else ~np.isnan(seg_end)
                closed_before = prev_time - seg_end > a.segment_gap
            ready = closed_now & ~closed_before
            if ready.any():
                f = run_assertion(a, rows.loc[ready], self._info)
                if len(f):
                    found.append(f)
        if not found:
            return empty_findings()
        new = pd.concat(found, ignore_index=True)
        if self.workspace is not None:
            if self._run_id is None:
                self._run_id = self.workspace.start_run("monitor", {"assertions": [repr(a) for a in self.assertions]})
            new["run_id"] = pd.array([self._run_id] * len(new), dtype=new["run_id"].dtype)
            self.workspace.add_findings(new, run_id=self._run_id)
        self._emitted.append(new)
        return new

    def _prune(self, stream: str) -> None:
        rows = self._rows()
        if rows is None or rows.empty:
            return
        in_stream = (rows["stream"] == stream).to_numpy()
        slots = (rows["frame"].to_numpy() - self._info.first[stream]) // self._info.stride[stream]
        now_slot = self._slot(stream, self._last_frame[stream])
        now = self._last_time[stream]
        keep = ~in_stream
        windowed = [a for a in self.assertions if not a.track_level]
        if windowed:
            behind = max(_reach(a, self._info.period[stream]) for a in windowed)
            keep |= in_stream & (slots >= now_slot - behind - 2)
        for k, a in enumerate(self.assertions):
            if a.track_level:
                seg_end = self._seg_end.get(k)
                if seg_end is None or len(seg_end) != len(rows):
                    seg_end = self._segment_end(a, rows, in_stream)
                with np.errstate(invalid="ignore"):
                    keep |= in_stream & (now - seg_end <= a.segment_gap)
        if not keep.all():
            self._buffer = [rows.loc[keep].reset_index(drop=True)]
