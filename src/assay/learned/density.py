"""One-dimensional kernel density estimates with data-driven bandwidths.

The priors of :mod:`assay.learned` are products of one-dimensional densities, one per
feature and class. Each is a Gaussian kernel density estimate on a (optionally log)
transformed scale, with the bandwidth chosen from the data:

- ``"silverman"`` (default): ``0.9 * min(sd, IQR / 1.349) * n ** (-1/5)``. The robust
  scale keeps a skewed or two-humped feature (parked and moving cars) from being smoothed
  into one bump, which Scott's rule does.
- ``"scott"``: ``1.059 * sd * n ** (-1/5)`` (optimal for Gaussian data).
- a positive float: the bandwidth on the transformed scale.

Features that are positive and span orders of magnitude (box volume, area, track duration)
are estimated on the log scale, so one bandwidth suits small and large values alike; this
is what makes a data-driven bandwidth meaningful across units (the published LOA code left
the bandwidth at 1.0 in raw units, so a 1 m^3 change in a pedestrian's volume counted as
much as in a truck's).

The density is evaluated by linear binning on a grid and an exact Gaussian convolution,
then linear interpolation (fast for millions of values), with the exact Gaussian tail of the
outermost sample beyond the grid.

Past the data the estimate needs a tail model. A kernel estimate's own tail falls with the
square of the distance, so one value far out (a 400 m "car") outweighs everything else a
track shows; a floor (the old design) stops that, but makes every extreme value tie (a 40 m
car with a 400 m one, a 300 m/s jump with a 60 m/s one). Here, within the sample's range
the log density is floored at what one sample gives ``max_z`` bandwidths away (a gap
between two clusters of values is not evidence that grows without bound), and beyond the
range it is the larger of the kernel estimate and an exponential tail that starts at that
floor ``max_z`` bandwidths past the outermost sample and falls by one nat per bandwidth
further out: continuous, decreasing for ever, and linear rather than quadratic, so an
impossible value ranks below a merely rare one without drowning every other factor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal

from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError

__all__ = ["KernelDensity1D", "select_bandwidth"]

_LOG2PI = 0.5 * np.log(2 * np.pi)
_EPS_LOG = 1e-9  # added before taking logs of non-negative features
_SUBSAMPLE = 100_000
_TINY = np.finfo(np.float64).tiny


def select_bandwidth(values: np.ndarray, rule: str = "silverman", n_effective: float | None = None) -> float:
    """Bandwidth of a Gaussian kernel density estimate by a rule of thumb.

    Parameters
    ----------
    values : array-like
        The sample (already on the scale the density is estimated on).
    rule : {"silverman", "scott"}
        ``silverman``: ``0.9 * min(sd, IQR / 1.349) * n ** (-1/5)``;
        ``scott``: ``1.059 * sd * n ** (-1/5)``.
    n_effective : float, optional
        The ``n`` of the rule when the values are not independent: the boxes of one track
        are strongly correlated, so a prior passes the number of tracks (the rules assume
        independent values and would otherwise pick a bandwidth far too narrow for a class
        seen in few tracks). Default: the number of values.

    Returns
    -------
    float
        The bandwidth, > 0, and at least 1e-3 of the largest magnitude in the sample (at
        least 1e-6): a sample without spread (one value, or all values equal) gets a narrow
        bump rather than an undefined density.

    Examples
    --------
    >>> import numpy as np
    >>> from assay.learned import select_bandwidth
    >>> x = np.random.default_rng(0).normal(size=1000)
    >>> round(select_bandwidth(x, "scott"), 3), round(select_bandwidth(x, "silverman"), 3)
    (0.26, 0.219)
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        raise InvalidParameterError("select_bandwidth needs at least one finite value. Got none.")
    sd = float(x.std(ddof=1)) if n > 1 else 0.0
    if rule == "scott":
        scale, factor = sd, 1.059
    elif rule == "silverman":
        q75, q25 = np.percentile(x, [75, 25])
        iqr = float(q75 - q25) / 1.349
        scale = min(sd, iqr) if iqr > 0 else sd
        factor = 0.9
    else:
        raise InvalidParameterError(
            f"The 'rule' parameter of select_bandwidth must be one of {{'silverman', 'scott'}}. "
            f"Got {rule!r}."
        )
    n_rule = float(n_effective) if n_effective else n
    h = factor * scale * max(n_rule, 1.0) ** (-0.2)
    # a sample without spread (one value, or all equal up to rounding) gets a narrow bump
    return float(max(h, 1e-3 * float(np.abs(x).max()), 1e-6))


class KernelDensity1D:
    """A Gaussian kernel density estimate of one feature, on a raw or log scale.

    Parameters
    ----------
    bandwidth : {"silverman", "scott"} or float, default "silverman"
        The rule that picks the bandwidth from the data (see :func:`select_bandwidth`), or a
        fixed bandwidth on the transformed scale.
    transform : {"none", "log"}, default "none"
        Scale the density is estimated on. ``"log"`` uses ``log(value + offset)``; values
        must then be >= 0.
    offset : float, default 0.0
        Added before the log (0 means 1e-9). A feature that can be exactly 0 (a track's
        duration, a speed) needs an offset of the size of its resolution (one frame, say),
        or its zeros end up far below every other value on the log scale.
    grid_size : int, default 512
        Grid points the density is tabulated on.
    max_z : float, default 6.0
        Within the sample's range, log densities are floored at what a single sample gives
        ``max_z`` bandwidths away; past the range, that is where the exponential tail
        starts (one nat less per bandwidth further out; see the module docstring).

    Attributes
    ----------
    bandwidth_ : float
        The bandwidth used, on the transformed scale.
    n_samples_ : int
        Sample size.
    grid_, log_density_ : numpy.ndarray
        The tabulated log density (transformed scale).
    floor_ : float
        The least log density returned within the sample's range, and where the tail
        starts ``max_z`` bandwidths past it.
    typical_log_density_ : float
        Mean log density of the training sample: subtract it for a log-likelihood that is
        0 for a typical value and negative for an unusual one (comparable across features
        and classes).

    Examples
    --------
    >>> import numpy as np
    >>> from assay.learned import KernelDensity1D
    >>> x = np.random.default_rng(0).normal(10.0, 2.0, size=2000)
    >>> kde = KernelDensity1D().fit(x)
    >>> round(float(np.exp(kde.log_density([10.0])[0])), 2)  # N(10, 2) peak is 0.199
    0.2
    >>> kde2 = KernelDensity1D.from_dict(kde.to_dict())
    >>> bool(np.allclose(kde2.log_density([7.0, 30.0]), kde.log_density([7.0, 30.0])))
    True

    Past the data the log density keeps falling, one nat per bandwidth:

    >>> far = kde.log_density([40.0, 400.0])
    >>> bool(far[1] < far[0] < kde.floor_), round(float((far[0] - far[1]) * kde.bandwidth_))
    (True, 360)
    """

    @validate_params(
        {
            "bandwidth": [Options(("silverman", "scott")), Interval(float, 0, None, closed="neither")],
            "transform": [Options(("none", "log"))],
            "grid_size": [Interval(int, 16, None)],
            "offset": [Interval(float, 0, None)],
            "max_z": [Interval(float, 0, None, closed="neither")],
        }
    )
    def __init__(
        self,
        bandwidth: str | float = "silverman",
        *,
        transform: str = "none",
        offset: float = 0.0,
        grid_size: int = 512,
        max_z: float = 6.0,
    ) -> None:
        self.bandwidth = bandwidth
        self.transform = transform
        self.offset = offset
        self.grid_size = grid_size
        self.max_z = max_z

    def _forward(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.transform == "log":
            return np.log(np.maximum(v, 0.0) + (self.offset or _EPS_LOG))
        return v

    def fit(self, values: Any, *, n_effective: float | None = None) -> KernelDensity1D:
        """Estimate the density from a sample (non-finite values are ignored).

        ``n_effective``: the number of independent values, for the bandwidth rule (see
        :func:`select_bandwidth`); default all of them.

        Raises
        ------
        InvalidParameterError
            If the sample has no finite value.
        """
        x = self._forward(np.asarray(values, dtype=np.float64).ravel())
        x = x[np.isfinite(x)]
        if x.size == 0:
            raise InvalidParameterError(
                "KernelDensity1D.fit needs at least one finite value. Got none."
            )
        # the spread (for the bandwidth) and the typical log density are estimated on an
        # evenly strided subsample of at most 100,000 values: as exact as needed, and fast
        sub = x[:: max(1, x.size // _SUBSAMPLE)]
        n_rule = x.size if n_effective is None else min(float(n_effective), x.size)
        h = (select_bandwidth(sub, self.bandwidth, n_rule) if isinstance(self.bandwidth, str)
             else float(self.bandwidth))
        lo, hi = float(x.min()), float(x.max())
        grid = np.linspace(lo - 4 * h, hi + 4 * h, self.grid_size)
        step = grid[1] - grid[0]
        # linear binning of the sample onto the grid
        pos = (x - grid[0]) / step
        left = np.clip(np.floor(pos).astype(np.int64), 0, self.grid_size - 2)
        frac = pos - left
        counts = np.bincount(left, 1.0 - frac, self.grid_size) + np.bincount(
            left + 1, frac, self.grid_size
        )
        # exact Gaussian convolution of the binned counts (direct, the grid is small)
        offsets = np.arange(-(self.grid_size - 1), self.grid_size) * step
        kernel = np.exp(-0.5 * (offsets / h) ** 2) / (h * np.sqrt(2 * np.pi))
        dens = signal.fftconvolve(counts, kernel)[
            self.grid_size - 1 : 2 * self.grid_size - 1
        ] / x.size
        self.n_samples_ = int(x.size)
        self.bandwidth_ = float(h)
        self.grid_ = grid
        self.floor_ = float(-0.5 * self.max_z**2 - _LOG2PI - np.log(h) - np.log(x.size))
        # kept unfloored (down to the smallest positive double) so the tail past the range
        # can be the larger of the estimate and the exponential tail
        self.log_density_ = np.log(np.maximum(dens, _TINY))
        self.sample_range_ = (lo, hi)
        self.typical_log_density_ = float(np.mean(self._eval(sub)))
        return self

    def _eval(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        out = np.interp(t, self.grid_, self.log_density_)
        lo, hi = self.sample_range_
        h, n = self.bandwidth_, self.n_samples_
        below, above = t < self.grid_[0], t > self.grid_[-1]
        if below.any() or above.any():
            gauss = lambda edge, v: -0.5 * ((v - edge) / h) ** 2 - _LOG2PI - np.log(h) - np.log(n)  # noqa: E731
            out[below] = gauss(lo, t[below])
            out[above] = gauss(hi, t[above])
        # bandwidths past the sample's range (0 within it)
        with np.errstate(invalid="ignore"):
            beyond = np.maximum(np.maximum(lo - t, t - hi), 0.0) / h
        tail = self.floor_ - np.maximum(beyond - self.max_z, 0.0)
        out = np.maximum(out, tail)
        out[np.isnan(t)] = np.nan
        return out

    def log_density(self, values: Any) -> np.ndarray:
        """Log density at ``values`` (on the transformed scale; NaN stays NaN)."""
        self._check_fitted()
        return self._eval(self._forward(np.asarray(values, dtype=np.float64)))

    def log_likelihood(self, values: Any) -> np.ndarray:
        """Log density relative to a typical training value (``log_density - typical``):
        about 0 for common values, negative for rare ones, positive near the mode."""
        return self.log_density(values) - self.typical_log_density_

    def _check_fitted(self) -> None:
        if not hasattr(self, "bandwidth_"):
            from ..exceptions import AssayError

            raise AssayError("This KernelDensity1D is not fitted yet; call fit(values) first.")

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters."""
        return {"bandwidth": self.bandwidth, "transform": self.transform, "offset": self.offset,
                "grid_size": self.grid_size, "max_z": self.max_z}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable description of the fitted density (no pickle)."""
        self._check_fitted()
        return {
            "params": self.get_params(),
            "n_samples": self.n_samples_,
            "bandwidth": self.bandwidth_,
            "grid": [float(self.grid_[0]), float(self.grid_[-1])],
            "log_density": self.log_density_.tolist(),
            "floor": self.floor_,
            "sample_range": list(self.sample_range_),
            "typical_log_density": self.typical_log_density_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KernelDensity1D:
        """Rebuild a fitted density written by :meth:`to_dict`."""
        kde = cls(**data["params"])
        kde.n_samples_ = int(data["n_samples"])
        kde.bandwidth_ = float(data["bandwidth"])
        kde.log_density_ = np.asarray(data["log_density"], dtype=np.float64)
        kde.grid_ = np.linspace(data["grid"][0], data["grid"][1], kde.log_density_.size)
        kde.floor_ = float(data["floor"])
        kde.sample_range_ = tuple(float(v) for v in data["sample_range"])
        kde.typical_log_density_ = float(data["typical_log_density"])
        return kde

    def __repr__(self) -> str:
        fitted = f", bandwidth_={self.bandwidth_:.4g}, n={self.n_samples_}" if hasattr(self, "bandwidth_") else ""
        return f"KernelDensity1D(bandwidth={self.bandwidth!r}, transform={self.transform!r}{fitted})"
