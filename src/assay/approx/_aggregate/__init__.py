"""Statistical core of approximate aggregation: estimate the mean (sum, count) of an
expensive oracle over N records, with a cheap proxy, from as few oracle labels as possible.

The public :func:`assay.approx.aggregate` (built on top of this package) adds records, oracle
caching and validation. Here everything works on plain arrays:

* ``proxy``: ``numpy.ndarray`` of shape ``(N,)`` (or ``None`` for methods that need none);
* ``label(idx) -> values``: called in batches with **distinct, never-asked** record indices
  (so the cost is the number of distinct records labeled). For a query without ``where`` it
  returns one value per index; with ``where`` it returns ``(passes, values)`` (two arrays, or
  an array of shape ``(k, 2)``): whether the record satisfies the expensive predicate, and
  the statistic;
* ``[lo, hi]``: a range known to contain every oracle value (stated by the user or implied by
  the value's type; never estimated from the sample: every finite-sample guarantee rests on
  it).

One module per method family (:data:`METHODS`), each method returning what
:func:`estimate_aggregate` turns into an :class:`AggregateOutcome`:

``betting`` (the default): :mod:`.betting`
    Proxy-stratified sampling without replacement, predictable control variates, an
    anytime-valid betting confidence sequence (Waudby-Smith and Ramdas 2024).
    Finite-sample and anytime valid.
``uniform``: :mod:`.uniform`
    Uniform sampling with the EBGStop empirical-Bernstein stopping rule (Mnih, Szepesvari
    and Audibert 2008), as used by BlazeIt. Finite-sample.
``blazeit``: :mod:`.blazeit`
    BlazeIt control variates with ``c`` fit on a separate pilot and an honest range, then
    EBGStop. Finite-sample.
``blazeit++``: :mod:`.blazeit_pp`
    The seed paper's Algorithm 1 with a correct Bennett inversion. Asymptotic with the
    paper's chi-square variance bound, finite-sample with ``variance_bound="maurer-pontil"``.
``abae``: :mod:`.abae`
    ABAE (Kang et al. 2021): proxy-quantile strata, two stages, bootstrap interval.
    Asymptotic.
``ppi``: :mod:`.ppi`
    Prediction-powered inference with the PPI++ power-tuned coefficient. Asymptotic.
``clt``: :mod:`.clt`
    Classical normal interval for a simple random sample (with the finite-population
    correction). Asymptotic.

:mod:`.common` holds the machinery they share (oracle access, proxy strata, stopping rule);
:mod:`.dispatch` holds :data:`METHODS` and :func:`estimate_aggregate`.
"""

from __future__ import annotations

from .common import OracleRangeError
from .dispatch import DEFAULT_METHOD, METHODS, AggregateOutcome, estimate_aggregate

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "AggregateOutcome",
    "OracleRangeError",
    "estimate_aggregate",
]
