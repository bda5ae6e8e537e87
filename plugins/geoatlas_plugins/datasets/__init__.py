"""Built-in plugin: datasets that ship inside packages, synthetic generators, local loaders."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "datasets",
    "title": "Built-in datasets",
    "summary": "Data that ships in packages (scikit-learn, networkx, torch-geometric), synthetic "
    "generators (manifold samples, rotated 3-D shapes, graph families, hyperbolic trees) and "
    "loaders for user data at a local path. Nothing downloads.",
    "status": "stable",
    "api": ">=1,<2",
    "components": {
        "dataset": {
            "sklearn_digits": {"target": ".packaged:SklearnDigits", "summary": "8x8 digit images (scikit-learn), 1797 samples, 10 classes"},
            "sklearn_iris": {"target": ".packaged:SklearnIris", "summary": "iris measurements (scikit-learn), 150 x 4, 3 classes"},
            "sklearn_wine": {"target": ".packaged:SklearnWine", "summary": "wine chemistry (scikit-learn), 178 x 13, 3 classes"},
            "karate_club": {"target": ".packaged:KarateClub", "summary": "Zachary's karate club (networkx / torch-geometric), node classification"},
            "manifold_samples": {"target": ".synthetic:ManifoldSamples", "summary": "point clouds sampled on a sphere, a torus or a plane patch (class = manifold)"},
            "shapes_3d": {"target": ".synthetic:Shapes3D", "summary": "3-D shape point clouds (sphere, cube, cylinder, cone, torus, ...), optionally randomly rotated"},
            "graph_families": {"target": ".synthetic:GraphFamilies", "summary": "graphs from SBM / random geometric / Erdős–Rényi / Barabási–Albert families (class = family)"},
            "hyperbolic_tree": {"target": ".synthetic:HyperbolicTree", "summary": "a balanced tree graph, nodes labelled by their top-level subtree"},
            "local_arrays": {"target": ".local:LocalArrays", "summary": "NumPy (.npy/.npz) or CSV arrays at a local path"},
            "pyg_local": {"target": ".local:PyGLocal", "summary": "a torch-geometric TUDataset already on disk at a local root (no download)"},
            "co2_series": {"target": ".timeseries:CO2Series", "summary": "Mauna Loa weekly CO2 (statsmodels), a univariate series for forecasting"},
            "sunspots_series": {"target": ".timeseries:SunspotsSeries", "summary": "yearly sunspot numbers 1700-2008 (statsmodels), univariate"},
            "periodic_series": {"target": ".timeseries:PeriodicSeries", "summary": "synthetic multichannel series with known periods and cross-channel coupling"},
            "synthetic_ctr": {"target": ".tabular:SyntheticCTR", "summary": "click-through table: Zipf-distributed categorical fields, known informative/noise fields and interactions"},
            "synthetic_kg": {"target": ".kg:SyntheticKG", "summary": "a knowledge graph of (head, relation, tail) triples with known relation patterns (symmetry, inversion, composition)"},
            "graph_edges": {"target": ".kg:GraphEdges", "summary": "the edges of a packaged or generated graph (karate club, SBM) for link prediction"},
        }
    },
    "extras": ["timeseries"],
    "verified": ["plugins/geoatlas_plugins/datasets/tests: shapes, dtypes, determinism under a seed, clear errors for bad paths"],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
