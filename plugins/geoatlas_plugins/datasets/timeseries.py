"""Time series for forecasting: one multichannel series ``(T, C)`` per dataset (data type ``"series"``).

The forecasting task cuts input/target windows out of the series and splits it
chronologically; a dataset only returns the whole series. ``co2_series`` and
``sunspots_series`` read the data that ships inside statsmodels (the optional extra
``timeseries``, ``pip install 'geoatlas[timeseries]'``); ``periodic_series`` is synthetic.
Nothing downloads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset
from geoatlas.validation import NonNegativeFloat, Size


def _statsmodels_datasets() -> Any:
    try:
        import statsmodels.datasets as smd
    except ImportError as exc:  # pragma: no cover - the extra is installed in the dev venv
        raise ImportError(
            "this dataset reads data shipped with statsmodels, which is not installed; "
            "install the optional extra: pip install 'geoatlas[timeseries]'"
        ) from exc
    return smd


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_float(name: str, value: Any, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _truncate(x: np.ndarray, n_steps: int | None) -> np.ndarray:
    if n_steps is None:
        return x
    n_steps = _check_int("n_steps", n_steps, 2)
    return x[:n_steps]


class _PackagedSeries(Dataset):
    """A series that ships with statsmodels, optionally cut to its first ``n_steps``."""

    data_type = "series"
    task = "forecasting"

    def __init__(self, n_steps: Size | None = None) -> None:
        if n_steps is not None:
            _check_int("n_steps", n_steps, 2)
        self.n_steps = n_steps


class CO2Series(_PackagedSeries):
    """Weekly atmospheric CO2 at Mauna Loa, March 1958 to December 2001 (statsmodels ``co2``).

    A univariate series of 2284 weekly values in ppm, returned as ``(T, 1)`` float64. The 59
    missing weeks are **filled by linear interpolation in time** (values at both ends, had
    there been missing ones, would take the nearest observed value); ``meta["interpolated"]``
    holds the indices of the filled steps. The series has a yearly cycle (period about 52
    steps) on a rising trend.

    Parameters
    ----------
    n_steps : int, optional
        Keep only the first ``n_steps`` weeks (shorter runs for tests and examples).
    """

    def load(self) -> DataBundle:
        smd = _statsmodels_datasets()
        df = smd.co2.load_pandas().data
        v = df["co2"].to_numpy(dtype=np.float64)
        t = np.arange(len(v), dtype=np.float64)
        missing = ~np.isfinite(v)
        filled = v.copy()
        filled[missing] = np.interp(t[missing], t[~missing], v[~missing])
        X = _truncate(filled, self.n_steps)[:, None]
        idx = np.flatnonzero(missing)
        meta = {
            "channels": ["co2"],
            "units": "ppm",
            "frequency": "weekly",
            "start": str(df.index[0].date()),
            "period": 52,
            "interpolated": idx[idx < len(X)].tolist(),
            "source": "statsmodels.datasets.co2",
        }
        return DataBundle(X, None, "series", "forecasting", meta)


class SunspotsSeries(_PackagedSeries):
    """Yearly mean sunspot numbers 1700-2008 (statsmodels ``sunspots``), ``(309, 1)`` float64.

    The solar cycle has a period of about 11 steps (years).

    Parameters
    ----------
    n_steps : int, optional
        Keep only the first ``n_steps`` years.
    """

    def load(self) -> DataBundle:
        smd = _statsmodels_datasets()
        df = smd.sunspots.load_pandas().data
        X = _truncate(df["SUNACTIVITY"].to_numpy(dtype=np.float64), self.n_steps)[:, None]
        meta = {
            "channels": ["sunactivity"],
            "frequency": "yearly",
            "start": int(df["YEAR"].iloc[0]),
            "period": 11,
            "source": "statsmodels.datasets.sunspots",
        }
        return DataBundle(X, None, "series", "forecasting", meta)


class PeriodicSeries(Dataset):
    """A synthetic multichannel series with known periods and cross-channel coupling.

    Channel ``c`` at step ``t`` is

    .. math:: x_c(t) = \\sum_k a_{c,k} \\sin(2\\pi t / p_k + \\phi_{c,k})
              + \\text{coupling} \\cdot x_{c-1}(t - \\text{lag}) + \\text{noise} \\cdot \\varepsilon_c(t)

    with amplitudes ``a_{c,k} ~ U(0.5, 1.5)``, phases ``phi_{c,k} ~ U(0, 2 pi)`` and
    ``epsilon ~ N(0, 1)`` i.i.d., all drawn from ``seed``; channel 0 has no coupling term and
    ``x_{c-1}(t - lag)`` is 0 for ``t < lag``. Channels are generated in order, so channel
    ``c`` depends on every channel before it (a chain). ``meta`` holds the periods,
    amplitudes, phases, coupling and lag (the ground truth that iTransformer-style
    cross-channel models can be checked against).

    Parameters
    ----------
    n_channels : int
        Number of channels ``C``.
    length : int
        Number of time steps ``T``.
    periods : list of float, optional
        Periods of the sinusoids (in steps), shared by all channels; default ``[24.0, 60.0]``.
    noise : float
        Standard deviation of the additive Gaussian noise.
    coupling : float
        Weight of the lagged previous channel.
    lag : int
        Lag (steps) of the coupling term.
    seed : int
        Seed of the amplitudes, phases and noise.
    """

    data_type = "series"
    task = "forecasting"

    def __init__(
        self,
        n_channels: Size = 3,
        length: Size = 1000,
        periods: list[float] | None = None,
        noise: NonNegativeFloat = 0.1,
        coupling: float = 0.5,
        lag: int = 1,
        seed: int = 0,
    ) -> None:
        self.n_channels = _check_int("n_channels", n_channels, 1)
        self.length = _check_int("length", length, 2)
        periods = [24.0, 60.0] if periods is None else list(periods)
        if not periods:
            raise ValueError("periods must name at least one period")
        self.periods = [_check_float("periods", p) for p in periods]
        if any(p <= 0 for p in self.periods):
            raise ValueError(f"periods must be positive, got {self.periods}")
        self.noise = _check_float("noise", noise, 0.0)
        self.coupling = _check_float("coupling", coupling)
        self.lag = _check_int("lag", lag, 1)
        self.seed = _check_int("seed", seed, 0)

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        C, T, K = self.n_channels, self.length, len(self.periods)
        amp = rng.uniform(0.5, 1.5, size=(C, K))
        phase = rng.uniform(0.0, 2 * np.pi, size=(C, K))
        eps = rng.standard_normal((T, C))
        t = np.arange(T, dtype=np.float64)[:, None]
        freqs = 2 * np.pi / np.asarray(self.periods)[None, :]
        X = np.empty((T, C))
        for c in range(C):
            X[:, c] = (amp[c] * np.sin(t * freqs + phase[c])).sum(1) + self.noise * eps[:, c]
            if c > 0:
                X[self.lag :, c] += self.coupling * X[: T - self.lag, c - 1]
        meta = {
            "channels": [f"x{c}" for c in range(C)],
            "periods": self.periods,
            "amplitudes": amp.tolist(),
            "phases": phase.tolist(),
            "coupling": self.coupling,
            "lag": self.lag,
            "noise": self.noise,
        }
        return DataBundle(X, None, "series", "forecasting", meta)
