"""The selection modes' ranking (``_select/ranking.py``) answers exactly as the full stable sort,
on its fast paths and on the fallbacks that ties and adversarial weights force."""

from __future__ import annotations

import numpy as np
import pytest

from assay.approx._select import ranking as ranking_mod
from assay.approx._select.ranking import Ranking


def _scores(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "distinct":
        return rng.random(n)
    if kind == "rounded":  # many tie groups
        return np.round(rng.random(n), 2)
    if kind == "fine-ties":  # many small tie groups, as low-precision model scores give
        return np.round(rng.random(n), 4)
    if kind == "clipped":  # two large tie groups at the ends, as saturated probabilities give
        return np.clip(rng.random(n) * 1.2 - 0.1, 0.0, 1.0)
    if kind == "constant":
        return np.full(n, 0.3)
    raise AssertionError(kind)


def _weights(kind: str, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = p.size
    if kind == "ones":
        return np.ones(n)
    if kind == "levels":
        return rng.integers(1, 5, n).astype(float)
    if kind == "continuous":
        return rng.gamma(2.0, 1.0, n)
    if kind == "increasing":  # the running maximum changes at every record: the fallback
        return 1.0 + 10.0 * p + 1e-3 * rng.random(n)
    if kind == "levels-rising":  # few levels, rising with the score: the fallback
        return np.floor(20 * p) + (rng.random(n) < 0.5)
    if kind == "rare-max":  # the largest weight sits deep in the ranking
        w = np.ones(n)
        w[np.argsort(-p, kind="stable")[n // 2]] = 9.0
        return w
    raise AssertionError(kind)


def _brute_side_max(order, w, eligible, cuts):
    ranked_w = np.where(eligible[order], w[order], 0.0)
    above = np.array([ranked_w[:c].max(initial=0.0) for c in cuts])
    below = np.array([ranked_w[c:].max(initial=0.0) for c in cuts])
    return above, below


@pytest.mark.parametrize("kind", ["distinct", "rounded", "fine-ties", "clipped", "constant"])
@pytest.mark.parametrize("n", [1, 7, 5000, 70000])  # 70000: the cached top (_HEAD) is used
def test_rank_slice_mask_value_match_the_full_sort(kind, n):
    rng = np.random.default_rng(n)
    p = _scores(kind, n, rng)
    order = np.argsort(-p, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    r = Ranking(p)
    idx = rng.choice(n, size=min(n, 300), replace=False)
    np.testing.assert_array_equal(r.rank(idx), rank[idx])
    for a, b in [(0, 1), (0, n), (n // 3, n // 3 + 150), (n - 5, n + 10), (n // 2, n // 2),
                 (65000, 66000)]:
        np.testing.assert_array_equal(r.slice(a, b), order[max(a, 0):min(b, n)])
    for k in {0, 1, n // 2, n - 1, n}:
        expect = np.zeros(n, dtype=bool)
        expect[order[:k]] = True
        np.testing.assert_array_equal(r.mask(k), expect)
        if k:
            assert r.value_at(k - 1) == p[order[k - 1]]
    np.testing.assert_array_equal(r.head(min(n, 40)), order[:40])


@pytest.mark.parametrize("wkind", ["ones", "levels", "continuous", "increasing", "levels-rising",
                                   "rare-max"])
@pytest.mark.parametrize("kind", ["distinct", "rounded", "fine-ties", "clipped"])
def test_side_max_matches_the_full_sort(kind, wkind):
    rng = np.random.default_rng(7)
    n = 20000
    p = _scores(kind, n, rng)
    w = _weights(wkind, p, rng)
    order = np.argsort(-p, kind="stable")
    within = 15000
    eligible = np.zeros(n, dtype=bool)
    eligible[order[:within]] = rng.random(within) < 0.9
    cuts = np.unique(np.r_[0, 1, np.linspace(1, within, 60).round().astype(int), within])
    expect = _brute_side_max(order, w, eligible, cuts)
    for hint in (None, within):
        got = Ranking(p).side_max(w, eligible, cuts, within=hint)
        np.testing.assert_array_equal(got[0], expect[0])
        np.testing.assert_array_equal(got[1], expect[1])
        if wkind == "ones":  # w=None stands for these weights
            got = Ranking(p).side_max(None, eligible, cuts, within=hint)
            np.testing.assert_array_equal(got[0], expect[0])
            np.testing.assert_array_equal(got[1], expect[1])


def test_side_max_with_nothing_eligible_or_one_record():
    p = np.array([0.5, 0.9, 0.1, 0.9])
    cuts = np.arange(5)
    zeros = Ranking(p).side_max(None, np.zeros(4, dtype=bool), cuts)
    assert all(np.array_equal(z, np.zeros(5)) for z in zeros)
    one = np.zeros(4, dtype=bool)
    one[0] = True  # rank 2
    above, below = Ranking(p).side_max(np.full(4, 3.0), one, cuts)
    assert above.tolist() == [0, 0, 0, 3, 3] and below.tolist() == [3, 3, 3, 0, 0]
    above, below = Ranking(p).side_max(None, one, cuts)
    assert above.tolist() == [0, 0, 0, 1, 1] and below.tolist() == [1, 1, 1, 0, 0]


def test_the_fast_paths_are_taken_and_the_fallbacks_when_they_must(monkeypatch):
    """The full sort never runs for these questions; the chain of running maxima answers
    where it is cheap and the bucketed pass where it is not (else one of them would not be
    tested at all by the cases above)."""
    sorts, buckets = [], []
    real, real_bucket = Ranking.order, Ranking._bucket_side_max

    def counted(self):
        sorts.append(1)
        return real(self)

    def counted_bucket(self, *args):
        buckets.append(1)
        return real_bucket(self, *args)

    monkeypatch.setattr(Ranking, "order", counted)
    monkeypatch.setattr(Ranking, "_bucket_side_max", counted_bucket)
    rng = np.random.default_rng(3)
    p = rng.random(50000)
    r = Ranking(p)
    eligible = np.ones(p.size, dtype=bool)
    r.rank(rng.choice(p.size, 500, replace=False))
    r.slice(20000, 20150)
    r.side_max(rng.integers(1, 5, p.size).astype(float), eligible, np.arange(1, 50000, 997))
    assert not sorts and not buckets
    # every weight a new running maximum down the ranking: the chain gives up, buckets answer
    r.side_max(1.0 + p, eligible, np.arange(1, 50000, 997))
    assert buckets and not sorts
    # more distinct tied scores among the queried records than one pass each is worth: one
    # hashed pass instead (scores stored as float32, as many models give them, tie often)
    q = np.round(rng.random(50000), 2)
    assert np.unique(q).size > ranking_mod._TIED_VALUES
    Ranking(q).rank(rng.choice(q.size, 500, replace=False))
    assert not sorts


@pytest.mark.parametrize("kind", ["distinct", "rounded", "clipped", "signed", "signed-zeros",
                                  "wide", "constant"])
@pytest.mark.parametrize("chunk", [7, 1 << 20])  # 7: many passes of a few records each
def test_bucketed_side_max_matches_the_full_sort(kind, chunk, monkeypatch):
    """The bucketed pass, called directly, on scores of either sign (-0.0 and 0.0 are one
    score), spread over many binary orders of magnitude, tied at the cutoffs, and in chunks."""
    monkeypatch.setattr(ranking_mod, "_CHUNK", chunk)
    rng = np.random.default_rng(11)
    n = 3000
    p = {
        "distinct": rng.random(n),
        "rounded": np.round(rng.random(n), 2),
        "clipped": np.clip(rng.random(n) * 1.2 - 0.1, 0.0, 1.0),
        "signed": rng.normal(size=n) * 1e3,
        "signed-zeros": np.round(rng.normal(size=n), 1) * np.where(rng.random(n) < 0.5, -1, 1),
        "wide": rng.random(n) ** 40,  # from 1 down to about 1e-140
        "constant": np.full(n, 0.3),
    }[kind]
    w = np.where(rng.random(n) < 0.5, 1.0 + np.abs(p), rng.integers(0, 4, n)).astype(float)
    order = np.argsort(-p, kind="stable")
    for share in (0.0, 0.3, 1.0):
        eligible = rng.random(n) < share
        cuts = np.unique(np.r_[0, 1, rng.integers(0, n + 1, 40), n - 1, n])
        got = Ranking(p)._bucket_side_max(w, eligible, cuts)
        expect = _brute_side_max(order, w, eligible, cuts)
        np.testing.assert_array_equal(got[0], expect[0])
        np.testing.assert_array_equal(got[1], expect[1])
