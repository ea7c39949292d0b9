"""An oracle that asks a person through the review page: :class:`PageOracle`.

A query (:func:`~assay.approx.select`, :func:`~assay.approx.aggregate`) calls its oracle
with a batch of records. A :class:`PageOracle` posts the batch on a :class:`Board`, which
the page of ``assay review`` reads, and hands each answer the person gives back to the query
as it arrives (:meth:`PageOracle.stream`). The workspace commits every answer before the
oracle takes the next one, and the page is told only then (:meth:`Board.answer` returns
once the answer is saved), so an answer the page showed as saved survives a killed server,
and a rerun of the same query (same seed) asks only for what is still missing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..approx.oracle import LabelsPending, StreamedOracle
from ..exceptions import InvalidParameterError
from ..store._labels import COMMIT_EVERY

__all__ = ["Board", "PageOracle", "QuestionsWithdrawn", "parse_page_oracle"]

#: Oracle specs naming a page oracle start with this: ``review:QUESTION[#LABEL_SET]``.
PREFIX = "review:"


class QuestionsWithdrawn(LabelsPending):
    """The page stopped asking (the query was cancelled, or the server is shutting down);
    the answers given so far are kept, and the same query (same seed) resumes from them."""


@dataclass
class Batch:
    """One batch of records a query asks about.

    ``rows`` are the records as the oracle was given them (``id`` and the fields it shows);
    ``given`` holds answers the page gave that the query has not taken yet, ``saved`` the
    positions whose answers the workspace has committed.
    """

    number: int
    question: str
    oracle: PageOracle
    rows: pd.DataFrame
    given: dict[int, float] = field(default_factory=dict)
    queue: list[int] = field(default_factory=list)
    saved: dict[int, float] = field(default_factory=dict)
    failed: str | None = None

    @property
    def open(self) -> list[int]:
        """Positions nobody has answered yet."""
        return [p for p in range(len(self.rows)) if p not in self.given and p not in self.saved]


class Board:
    """Where a query's :class:`PageOracle` and the review page meet (thread-safe).

    The oracle :meth:`post`\\ s a batch and :meth:`take`\\ s answers one at a time; the page
    reads the batch (:meth:`current`) and gives answers (:meth:`answer`), each returning once
    the query has stored it. :meth:`withdraw` ends the asking: the oracle's :meth:`take`
    raises :class:`QuestionsWithdrawn`.

    Examples
    --------
    >>> import threading
    >>> import pandas as pd
    >>> from assay.review import Board, PageOracle
    >>> board = Board()
    >>> oracle = PageOracle("cars in the frame?", range=(0, 20), board=board)
    >>> rows = pd.DataFrame({"id": [4, 9], "frame": [10, 20]})
    >>> got = []
    >>> t = threading.Thread(target=lambda: got.extend(oracle(rows).tolist()))
    >>> t.start()
    >>> while board.current() is None: pass
    >>> [board.answer(board.current().number, p, v)["saved"] for p, v in [(1, 3), (0, 2)]]
    [True, True]
    >>> t.join(); got
    [2.0, 3.0]
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._batch: Batch | None = None
        self._count = 0
        self._withdrawn: str | None = None
        #: Batches the query finished taking answers for.
        self.batches_done = 0
        #: Answers stored through this board.
        self.answers_saved = 0

    # ------------------------------------------------------------------ the oracle's side

    def post(self, oracle: PageOracle, rows: pd.DataFrame) -> Batch:
        """A new batch of records to ask about (the previous one is over)."""
        with self._cond:
            if self._withdrawn is not None:
                raise QuestionsWithdrawn(self._withdrawn)
            self._count += 1
            self._batch = Batch(self._count, oracle.question, oracle, rows.reset_index(drop=True))
            self._cond.notify_all()
            return self._batch

    def take(self, batch: Batch) -> tuple[int, float]:
        """The next answer given for ``batch`` (waits for one)."""
        with self._cond:
            while not batch.queue:
                if self._withdrawn is not None:
                    raise QuestionsWithdrawn(self._withdrawn)
                self._cond.wait(timeout=1.0)
            p = batch.queue.pop(0)
            return p, batch.given[p]

    def stored(self, batch: Batch, position: int) -> None:
        """The workspace has committed the answer at ``position``: tell the page."""
        with self._cond:
            batch.saved[position] = batch.given.pop(position)
            self.answers_saved += 1
            self._cond.notify_all()

    def finish(self, batch: Batch, failure: str | None = None) -> None:
        """The query took what it needed from ``batch`` (or failed with ``failure``)."""
        with self._cond:
            if failure is not None:
                batch.failed = failure
            elif self._batch is batch:
                self.batches_done += 1
            if self._batch is batch:
                self._batch = None
            self._cond.notify_all()

    # ------------------------------------------------------------------ the page's side

    def current(self) -> Batch | None:
        """The batch being asked about, if any."""
        with self._cond:
            return self._batch

    def answer(self, number: int, position: int, value: Any, *, timeout: float = 30.0) -> dict[str, Any]:
        """Give the answer ``value`` for record ``position`` of batch ``number``.

        Returns once the answer is stored: ``{"saved": True}``; ``{"saved": False, "reason":
        ...}`` when the record was answered already (in another tab), the batch is over, or
        the query failed. Raises :class:`~assay.exceptions.InvalidParameterError` for an
        answer the question does not allow.
        """
        with self._cond:
            batch = self._batch
            if batch is None or batch.number != number:
                return {"saved": False, "reason": "this batch is over: the page shows the next one"}
            if not 0 <= position < len(batch.rows):
                raise InvalidParameterError(
                    f"record position {position} is not in batch {number} of {len(batch.rows)} records.")
            if position in batch.given or position in batch.saved:
                return {"saved": False, "reason": "already answered (in another tab or window)"}
            batch.given[position] = batch.oracle.check_answer(value)
            batch.queue.append(position)
            self._cond.notify_all()
            deadline = time.monotonic() + timeout
            while position not in batch.saved:
                if batch.failed is not None:
                    return {"saved": False, "reason": f"the query stopped: {batch.failed}"}
                if self._withdrawn is not None:
                    return {"saved": False, "reason": f"the query stopped: {self._withdrawn}"}
                left = deadline - time.monotonic()
                if left <= 0:
                    return {"saved": False, "reason": "the query did not store the answer in time"}
                self._cond.wait(timeout=min(left, 1.0))
            return {"saved": True}

    def withdraw(self, reason: str) -> None:
        """Stop asking: the oracle's next :meth:`take` raises :class:`QuestionsWithdrawn`."""
        with self._cond:
            self._withdrawn = reason
            self._cond.notify_all()

    @property
    def withdrawn(self) -> str | None:
        """Why the board stopped asking, or None."""
        return self._withdrawn


class PageOracle(StreamedOracle):
    """A person answers through the review page of ``assay review``.

    Parameters
    ----------
    question : str
        What the person is asked about each record ("how many people are in this frame?").
        It names the oracle: answers are cached under ``review:<question>#<label_set>``
        (and each record's id and the values of the fields the person saw).
    label_set : str, default "default"
        Names one set of answers to the question (a second pass by another person is another
        label set, another oracle).
    yes_no : bool, default False
        The answer is yes (1) or no (0): what :func:`~assay.approx.select` and a ``where``
        predicate need.
    range : (float, float), optional
        The least and greatest number the person may answer (``aggregate``'s ``range``).
    fields : sequence of str, optional
        Columns the person sees (default: all but ``id`` and the query's proxy).
    board : Board, optional
        Where the questions are posted; the review server gives its own. Without one the
        oracle cannot ask.

    Examples
    --------
    >>> from assay.review import PageOracle
    >>> o = PageOracle("is there a bus?", label_set="pass-2", yes_no=True)
    >>> o.identity("file:/x.csv"), o.name
    ('review:is there a bus?#pass-2', 'review:is there a bus?')
    >>> o.check_answer("1"), o.check_answer(0)
    (1.0, 0.0)
    """

    def __init__(
        self,
        question: str,
        *,
        label_set: str = "default",
        yes_no: bool = False,
        range: tuple[float, float] | None = None,
        fields: Sequence[str] | None = None,
        board: Board | None = None,
    ) -> None:
        for what, text in (("question", question), ("label_set", label_set)):
            if not isinstance(text, str) or not text.strip() or "#" in text or len(text) > 300:
                raise InvalidParameterError(
                    f"The {what!r} parameter of PageOracle must be non-empty text without '#' "
                    f"(at most 300 characters). Got {text!r}.")
        if range is not None:
            try:
                lo, hi = (float(v) for v in range)
            except (TypeError, ValueError):
                raise InvalidParameterError(
                    f"The 'range' parameter of PageOracle must be a pair (lo, hi) of numbers. Got {range!r}.") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise InvalidParameterError(
                    f"The 'range' parameter of PageOracle must be finite numbers with lo < hi. Got {range!r}.")
            range = (lo, hi)
        self.question = question.strip()
        self.label_set = label_set.strip()
        self.yes_no = bool(yes_no)
        self.range = (0.0, 1.0) if self.yes_no else range
        self.board = board
        self.name = f"{PREFIX}{self.question}"
        self._fields = None if fields is None else list(fields)

    def identity(self, records: str) -> str:
        return f"{PREFIX}{self.question}#{self.label_set}"

    def detail(self) -> dict[str, Any]:
        return {"question": self.question, "label_set": self.label_set, "yes_no": self.yes_no,
                "range": None if self.range is None else list(self.range)}

    def check_answer(self, value: Any) -> float:
        """``value`` as the number stored, or :class:`~assay.exceptions.InvalidParameterError`
        naming what the question allows."""
        if isinstance(value, bool):
            value = float(value)
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if self.yes_no:
            if v not in (0.0, 1.0):
                raise InvalidParameterError(f"the answer to {self.question!r} is yes (1) or no (0); got {value!r}.")
            return v
        if not math.isfinite(v):
            raise InvalidParameterError(f"the answer to {self.question!r} must be a number; got {value!r}.")
        if self.range is not None and not self.range[0] <= v <= self.range[1]:
            raise InvalidParameterError(
                f"the answer to {self.question!r} must lie in [{self.range[0]:g}, {self.range[1]:g}]; got {v:g}.")
        return v

    def stream(self, rows: pd.DataFrame) -> Iterator[tuple[np.ndarray, Any]]:
        """Post the records on the board and hand over each answer as the person gives it.

        The next answer is taken only after the workspace has stored the previous one (the
        query stores an answer before it asks for the next; answers handed over at least
        :data:`~assay.store._labels.COMMIT_EVERY` seconds apart are each committed on their
        own), and only then is the page told the answer is saved.
        """
        if self.board is None:
            raise InvalidParameterError(
                f"the oracle {self.name} asks a person on the page of `assay review`: start the "
                "query from that page or with `assay review --query ...` (or give it a Board).")
        batch = self.board.post(self, rows)
        failure: str | None = "the query stopped before every answer was stored"
        try:
            resumed = time.monotonic()
            for _ in range(len(rows)):
                position, value = self.board.take(batch)
                pause = COMMIT_EVERY * 1.2 - (time.monotonic() - resumed)
                if pause > 0:
                    time.sleep(pause)  # so the workspace commits this answer on its own
                yield np.array([position]), np.array([value])
                self.board.stored(batch, position)  # the query resumed us: it is committed
                resumed = time.monotonic()
            failure = None
        except QuestionsWithdrawn as exc:
            failure = str(exc)
            raise
        finally:
            self.board.finish(batch, failure)


def parse_page_oracle(spec: str, *, yes_no: bool = False, range: tuple[float, float] | None = None,
                      board: Board | None = None) -> PageOracle:
    """A :class:`PageOracle` from ``review:QUESTION[#LABEL_SET]``.

    Examples
    --------
    >>> from assay.review import parse_page_oracle
    >>> parse_page_oracle("review:people in the frame#alice").identity("x")
    'review:people in the frame#alice'
    """
    if not isinstance(spec, str) or not spec.startswith(PREFIX) or not spec[len(PREFIX):].strip():
        raise InvalidParameterError(
            f"a question for the page is review:QUESTION[#LABEL_SET] (e.g. 'review:how many people?'). Got {spec!r}.")
    question, _, label_set = spec[len(PREFIX):].partition("#")
    return PageOracle(question, label_set=label_set or "default", yes_no=yes_no, range=range, board=board)
