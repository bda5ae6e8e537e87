"""Plugin: TimesNet, temporal 2-D variation modelling (Wu et al., ICLR 2023)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "timesnet",
    "title": "TimesNet: Temporal 2D-Variation Modeling for General Time Series Analysis",
    "summary": "Forecasting by folding a series into 2-D arrays along its dominant FFT periods (rows: cycles, "
    "columns: phase) and modelling intra- and inter-period variation with 2-D Inception convolutions, "
    "aggregated with amplitude weights. Use it for series with several periodicities; the fft_periods measure "
    "reports the periods it sees.",
    "api": ">=1,<2",
    "status": "stable",
    "papers": [
        {
            "title": "TimesNet: Temporal 2D-Variation Modeling for General Time Series Analysis",
            "authors": ["Haixu Wu", "Tengge Hu", "Yong Liu", "Hang Zhou", "Jianmin Wang", "Mingsheng Long"],
            "year": 2023,
            "venue": "ICLR",
            "arxiv": "2210.02186",
        }
    ],
    "components": {
        "encoder": {
            "timesnet": {"target": ".model:TimesNet", "summary": "TimesNet forecaster: FFT periods, 1-D -> 2-D folding, Inception blocks, (B, L, C) -> (B, H, C)"},
        },
        "measure": {
            "fft_periods": {"target": ".model:FFTPeriods", "summary": "dominant periods T // f of a series by TimesNet's FFT rule"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "fft_finds_periods",
            "claim": "the FFT amplitude spectrum finds the series' dominant periods (period = T // f)",
            "paper": "periods from the top-k amplitudes of the FFT (Eq. 1); the 2-D folding follows them",
            "where": "Sec. 3.1, Eq. 1-2",
            "metric": "periods found on synthetic series with known periods and on Mauna Loa CO2 (yearly cycle, 52 weeks)",
            "direction": "match",
        },
        {
            "id": "beats_seasonal_naive_and_linear",
            "claim": "TimesNet forecasts better than simple baselines on a periodic series",
            "paper": "TimesNet is state of the art on long- and short-term forecasting, ahead of DLinear and the naive forecasts (Tables 2-3)",
            "where": "Sec. 4.1, Tables 2-3",
            "metric": "test MSE on CO2 (L=156, H=52) and on the synthetic coupled series, vs seasonal-naive and Linear, 3 seeds",
            "direction": "lower",
        },
        {
            "id": "folding_2d_beats_1d",
            "claim": "the 2-D folding matters: replacing the 2-D Inception kernels by 1-D ones along time lowers accuracy",
            "paper": "the 2-D variation modelling is the paper's central design; its ablations favour it (exact table not read: reconstructed)",
            "where": "ablation studies (reconstructed)",
            "metric": "test MSE, TimesNet vs the same network with period 1 (fixed_periods=[1]: no folding, (T, 1) arrays, 1-D convolutions in effect)",
            "direction": "lower",
        },
        {
            "id": "five_task_benchmarks",
            "claim": "state of the art on long/short-term forecasting, imputation, classification and anomaly detection",
            "paper": "Tables 2-6, Fig. 1",
            "where": "Sec. 4",
            "metric": "the benchmarks' metrics",
            "direction": "lower",
            "not_echoed": "the benchmark datasets need downloads; only forecasting is implemented here",
        },
    ],
    "verified": [
        "neuralforecast 3.3.0 TimesBlock with copied weights: max abs diff below 1e-6 (float32)",
        "neuralforecast 3.3.0 TimesNet (univariate, no normalisation) with copied weights: below 1e-5",
        "top-k FFT periods of sin(2 pi t/24) + 0.5 sin(2 pi t/8), T = 96: exactly {24, 8} (frequencies 4, 12)",
        "fold/unfold round trip is the identity; zero Inception weights make a TimesBlock the identity",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
