"""``blazeit++``: BlazeIt++, the seed paper's Algorithm 1 (Kang et al., "Data
management for ML-based analytics and beyond", Section 5.2.3), with a correct Bennett
inversion: a control-variate pilot bounds the variance of ``O*``, then simple random samples
double until Bennett's interval meets the target. With the paper's chi-square variance
bound its guarantee assumes normal per-sample terms (reported as asymptotic); with
``variance_bound="maurer-pontil"`` it is finite-sample.
"""

from __future__ import annotations

import math

import numpy as np

from ...exceptions import InvalidParameterError
from .._confseq import bennett_radius, chi2_variance_upper, maurer_pontil_variance_upper
from .blazeit import _cv_range, _fit_coefficient
from .common import _cut_to_budget, _exact_run, _Oracle, _Run, _Strata, _target_met, _z


def _blazeit_pp(
    proxy: np.ndarray | None,
    oracle: _Oracle,
    *,
    error: float | None,
    relative: bool,
    delta: float,
    budget: int | None,
    rng: np.random.Generator,
    pilot: int = 1000,
    variance_bound: str = "chi2",
) -> _Run:
    """The seed paper's BlazeIt++ (Algorithm 1) with a correct Bennett inversion.

    Pilot: ``pilot`` labels give the control-variate coefficient and an upper bound
    ``V_UB`` on the variance of ``O*`` at ``delta/2`` (``"chi2"``: the paper's
    ``(n - 1) V / chi2_{delta/2, n-1}``, valid for normal data only; ``"maurer-pontil"``:
    a bound valid for any bounded data, from an i.i.d. pilot split in two halves, one
    fitting ``c``, the other bounding the variance). Then, with ``phi = delta/4`` and
    ``n = Z(phi)^2 V_UB / eps^2``: label a simple random sample of size n (independent of the
    pilot; samples are nested), form Bennett's two-sided interval at ``phi`` with
    ``C = range of O*``; stop when it is within the target, else ``phi /= 2``, ``n *= 2``.
    The union bound gives total failure ``<= delta/2 + sum phi_j <= delta``.
    With a budget and no error target: one round with everything left, at ``phi = delta/2``.
    """
    if proxy is None:
        raise InvalidParameterError("Method 'blazeit++' needs a proxy.")
    if variance_bound not in ("chi2", "maurer-pontil"):
        raise InvalidParameterError(
            "The 'variance_bound' option of blazeit++ must be 'chi2' or 'maurer-pontil'. "
            f"Got {variance_bound!r}."
        )
    n = oracle.n
    lo, hi = oracle.lo, oracle.hi
    cap = n if budget is None else min(budget, n)
    n_pilot = int(min(pilot, max(cap // 2, min(4, cap)), n))
    p_mean, pmin, pmax = float(proxy.mean()), float(proxy.min()), float(proxy.max())
    if variance_bound == "chi2":
        pilot_idx = _Strata(None, n, 1, rng).draw(0, n_pilot)
        y_p = oracle.values(pilot_idx)
        c = _fit_coefficient(y_p, proxy[pilot_idx])
        o_star = y_p - c * (proxy[pilot_idx] - p_mean)
        lo_s, hi_s = _cv_range(c, p_mean, pmin, pmax, lo, hi)
        if n_pilot >= 2:
            v_ub = chi2_variance_upper(float(np.var(o_star, ddof=1)), n_pilot, delta / 2.0)
        else:  # no variance estimate: the largest variance the range allows
            v_ub = 0.25 * (hi_s - lo_s) ** 2
        kind = "asymptotic"
        assumption = "normal per-sample terms (chi-square variance bound)"
    else:
        draws = rng.integers(0, n, size=n_pilot)
        draws = _cut_to_budget(draws, oracle, cap - oracle.calls)
        half = draws.size // 2
        a_idx, b_idx = draws[:half], draws[half:]
        c = _fit_coefficient(oracle.values(a_idx), proxy[a_idx])
        lo_s, hi_s = _cv_range(c, p_mean, pmin, pmax, lo, hi)
        o_b = oracle.values(b_idx) - c * (proxy[b_idx] - p_mean)
        v_ub = 0.25 * (hi_s - lo_s) ** 2  # the largest variance the range allows
        if b_idx.size >= 2:
            v_ub = min(
                v_ub,
                maurer_pontil_variance_upper(
                    float(np.var(o_b, ddof=1)), b_idx.size, hi_s - lo_s, delta / 2.0
                ),
            )
        y_p = oracle.values(draws)
        kind = "finite-sample"
        assumption = f"every oracle value lies in [{lo!r}, {hi!r}]"
    bound = hi_s - lo_s
    notes = {
        "assumes": assumption,
        "variance_bound": variance_bound,
        "coefficient": c,
        "variance_upper_bound": v_ub,
    }
    stream = _Strata(None, n, 1, rng)
    sample = np.zeros(0, dtype=np.int64)
    pilot_mean = float(np.mean(y_p))
    rounds = 0

    def extend(m: int) -> None:
        nonlocal sample
        if m > sample.size:
            sample = np.concatenate([sample, stream.draw(0, m - sample.size)])

    def unpaid(m: int) -> int:
        return int(np.count_nonzero(~oracle.known(sample[:m])))

    def interval(m: int, phi: float) -> tuple[float, float, float]:
        o = oracle.values(sample[:m]) - c * (proxy[sample[:m]] - p_mean)
        mu = float(o.mean())
        rad = bennett_radius(m, v_ub, bound, phi / 2.0)
        return mu, max(mu - rad, lo), min(mu + rad, hi)

    phi = delta / 2.0
    if error is not None:
        phi = delta / 4.0
        e = error * max(abs(pilot_mean), 1e-12 * (hi - lo)) if relative else error
        m = max(2, int(math.ceil(_z(phi) ** 2 * v_ub / (e * e))))
        while True:
            rounds += 1
            if m >= n:
                if cap >= n:
                    oracle.fetch(np.arange(n))
                    return _exact_run(oracle, kind, False, notes, {"rounds": rounds})
                break
            extend(m)
            if unpaid(m) > cap - oracle.calls:
                break  # the budget ends the doubling: one last round with what it allows
            mu, lower, upper = interval(m, phi)
            if _target_met(lower, upper, error, relative):
                diag = {"rounds": rounds, "sample": m, "pilot": n_pilot}
                return _Run(mu, lower, upper, "error", kind, False, notes, diag)
            phi /= 2.0
            m *= 2
    # budget round: the largest simple random sample the budget pays for (records already
    # labeled, e.g. by the pilot, are free)
    while sample.size < n:
        need = cap - oracle.calls - unpaid(sample.size)
        if need <= 0:
            break
        extend(min(sample.size + need, n))
    m = sample.size
    while m > 0 and unpaid(m) > cap - oracle.calls:
        m -= 1
    if m >= n:
        oracle.fetch(sample)
        return _exact_run(oracle, kind, False, notes, {"rounds": rounds})
    if m < 2:
        return _Run(pilot_mean, lo, hi, "budget", kind, False, notes, {"rounds": rounds})
    mu, lower, upper = interval(m, phi)
    diag = {"rounds": rounds, "sample": int(m), "pilot": n_pilot}
    return _Run(mu, lower, upper, "budget", kind, False, notes, diag)
