"""Statistical core of approximate selection: pure numpy over arrays.

Every method takes the proxy score of each of ``N`` records (``proxy``, in [0, 1]) and a
callback ``label(idx) -> 0/1 array`` that the method calls in batches, always with *distinct*
record indices it has never asked for before. The budget counts distinct records labeled, so
draws with replacement never pay twice for a record. Each method returns a frozen
:class:`SelectionOutcome`.

One module per method family (:data:`METHODS`):

``uniform``: :mod:`.uniform`
    Uniform sampling with SUPG's normal-approximation bounds (the SUPG paper's U-CI
    baselines), with the lower bound used where a lower bound is meant. Asymptotic.
``supg``: :mod:`.supg`
    SUPG (Kang et al., PVLDB 2020): importance sampling proportional to ``sqrt(proxy)`` mixed
    with 10% uniform; recall target through an adjusted target; two-stage precision target.
    Asymptotic (normal bounds), reproduced as a baseline.
``supg++``: :mod:`.supgpp`
    The seed paper's Algorithm 2: SUPG with the weight of the top ``3 * sum(proxy)`` records
    set to 1. Asymptotic.
``joint``: :mod:`.joint`
    A recall-target method, then every returned candidate is sent to the oracle and only the
    positives are kept: precision 1, recall guarantee of the base method; the verification
    labels are counted separately (``verification_calls``).
``assay``: :mod:`.default`
    assay's own method, finite-sample valid for any labels. Recall target: below a budget
    read from the proxy, one simple random sample of all records places the cutoff by the
    positives it finds (an exact hypergeometric test given their number, any cutoff, no
    grid); above it, the top of the proxy ranking is labeled top-down, the rest is covered by
    a simple random sample, exact hypergeometric bounds certify candidate cutoffs, and
    fixed-sequence testing over the nested candidates removes any multiplicity correction.
    See :func:`assay_select`.
``assay-pilot``: :mod:`.pilot`
    Opt-in recall design (issue 17): a stratified pilot locates the positives, a plan made from
    the pilot alone sizes the head, the kept and left-out regions, the certification sample
    split and each candidate's split of delta, then fresh samples certify (exact bounds,
    fixed-sequence testing). Finite-sample valid. See :func:`pilot_select`.

The modes of :func:`~assay.approx.select` beyond a plain target (issue 17, items 4-6), picked
by :func:`.modes.run_mode`:

``assume=MinDensity(...)``: :mod:`.assume`
    Recall under a minimum-density assumption (guarantee ``conditional``, the assumption
    stated in the result and checked on a sample below the cut).
``weight=``: :mod:`.weighted`
    Weighted recall / precision, certified by the betting test of :mod:`.certify`.
``target="joint"``: :func:`.joint.joint_targets_select`
    Recall and precision together (union bound, delta split in half).
``events=``: :mod:`.events`
    Contiguous records with one key form an event; the targets count events.

:mod:`.common` holds the machinery they share (result, oracle bookkeeping, ranking, simple
random samples); :mod:`.ranking` answers the modes' questions about the proxy ranking (ranks,
windows, prefixes, the largest weight on either side of a cutoff) without sorting every
record; :mod:`.dispatch` holds :data:`METHODS` and :func:`run_selection`.
"""

from __future__ import annotations

from .common import SelectionOutcome
from .default import assay_select
from .dispatch import METHODS, run_selection
from .joint import joint_select
from .pilot import pilot_select
from .supg import supg_select
from .supgpp import supgpp_select
from .uniform import uniform_select

__all__ = [
    "METHODS",
    "SelectionOutcome",
    "assay_select",
    "joint_select",
    "pilot_select",
    "run_selection",
    "supg_select",
    "supgpp_select",
    "uniform_select",
]
