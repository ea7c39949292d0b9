"""``assay review``: a local web app where people judge findings, label-audit candidates and a
curation campaign's queue, and answer the questions of a query, each answer written to the
workspace as it is given.

* :mod:`assay.review.queues`: what is reviewed and how an answer becomes verdicts and labels;
* :class:`PageOracle`: an oracle that asks the person at the page (``review:QUESTION``);
* :class:`ReviewServer`, :func:`create_app`, :func:`serve`: the web app (Starlette and uvicorn,
  the ``review`` extra: ``pip install 'assay[review]'``).

See ``docs/review.md``.
"""

from __future__ import annotations

from typing import Any

from .oracle import Board, PageOracle, QuestionsWithdrawn, parse_page_oracle

__all__ = ["Board", "PageOracle", "QueryJob", "QuestionsWithdrawn", "ReviewServer", "create_app",
           "parse_page_oracle", "serve"]

_LAZY = {"ReviewServer": "app", "create_app": "app", "serve": "app", "QueryJob": "jobs"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
