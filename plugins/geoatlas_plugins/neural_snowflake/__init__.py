"""Neural snowflakes (Borde & Kratsios, ICLR 2024): trainable latent geometries for latent graph inference."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "neural_snowflake",
    "title": "Neural Snowflakes: Universal Latent Graph Inference via Trainable Latent Geometries",
    "summary": "A trainable fractal-like (quasi-)metric on R^d (the neural snowflake: a snowflake "
    "activation iterated with non-negative matrices on top of ||x - y||), and latent graph "
    "inference with the differentiable graph module (explicit Gumbel top-k edge sampling, dense "
    "or memory-linear chunked) plus a GCN, with snowflake, Euclidean, hyperbolic (Poincaré ball) "
    "and product latent geometries. Use it when the graph of a GNN is missing or noisy, or to "
    "embed a weighted graph's metric that no Riemannian manifold represents.",
    "status": "experimental",
    "api": ">=1,<2",
    "papers": [
        {
            "title": "Neural Snowflakes: Universal Latent Graph Inference via Trainable Latent Geometries",
            "authors": ["Haitz Sáez de Ocáriz Borde", "Anastasis Kratsios"],
            "year": 2024,
            "venue": "ICLR",
            "arxiv": "2310.15003",
        },
        {
            "title": "Differentiable Graph Module (DGM) for Graph Convolutional Networks",
            "authors": ["Anees Kazi", "Luca Cosmo", "Seyed-Ahmad Ahmadi", "Nassir Navab", "Michael Bronstein"],
            "year": 2022,
            "venue": "IEEE TPAMI",
            "arxiv": "2002.04999",
        },
    ],
    "components": {
        "encoder": {
            "neural_snowflake": {
                "target": ".snowflake:NeuralSnowflake",
                "summary": "trainable snowflake (quasi-)metric: forward(x, y) distances, pairwise(X) matrix",
            },
            "snowflake_graph_inference": {
                "target": ".dgm:SnowflakeGraphInference",
                "summary": "dDGM latent graph inference + GCN node classifier; snowflake/euclidean/hyperbolic/product latent geometry",
            },
        },
        "dataset": {
            "latent_sbm_nodes": {
                "target": ".data:LatentSBMNodes",
                "summary": "noisy node features over a hidden SBM; the given graph is missing, noisy or clean",
            },
        },
    },
    "verified": [
        "hypothesis: identity and symmetry exact, triangle inequality (p = 0) and relaxed inequality with the derived constant for all allowed parameters",
        "constraints (A, B, C >= 0, alpha, beta in (0, 1], p >= 0) hold after every Adam step",
        "closed form: one power component gives ||x - y||^alpha (rtol 1e-14, float64)",
        "a 5-node star (no Riemannian embedding) is embedded with near-zero error by the snowflake, not by Euclidean distances",
        "Gumbel top-k at low temperature equals the exact k nearest neighbours; inclusion frequencies match Plackett-Luce",
        "chunked sampler gives the same graph and log-probabilities as the dense one",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
