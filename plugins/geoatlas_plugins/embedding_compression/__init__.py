"""Plugin: embedding-compression methods under one memory budget and the benchmark protocol (Zhang et al., VLDB 2024)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "embedding_compression",
    "title": "Experimental analysis of large-scale learnable vector storage compression",
    "summary": "Six embedding-table compression methods as click-through encoders behind one budget "
    "convention (rate = kept fraction of the full table's parameters): hashing trick, quotient-remainder "
    "trick, mixed dimensions, TT-Rec, ROBE-Z and DeepLight-style magnitude pruning; plus the paper's "
    "benchmark protocol (memory budget x accuracy x time) as a measure. Use it to pick a compression "
    "method for a given memory budget.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Experimental Analysis of Large-scale Learnable Vector Storage Compression",
            "authors": ["Hailin Zhang", "Penghao Zhao", "Xupeng Miao", "Yingxia Shao", "Zirui Liu", "Tong Yang", "Bin Cui"],
            "year": 2024,
            "venue": "VLDB (PVLDB 17)",
            "arxiv": "2311.15578",
        }
    ],
    "components": {
        "encoder": {
            "hash_trick_embedding": {"target": ".compression:HashTrickEmbedding",
                                     "summary": "hashing trick: floor(rate N) shared rows, e(v) = E[h(v)], + MLP click model"},
            "qr_embedding": {"target": ".compression:QREmbedding",
                             "summary": "quotient-remainder trick: E_Q[v // m] * E_R[v mod m] within the budget, + MLP"},
            "mixed_dim_embedding": {"target": ".compression:MixedDimEmbedding",
                                    "summary": "mixed dimensions: d_f ~ p_f^alpha per field with projections, + MLP"},
            "tt_rec_embedding": {"target": ".compression:TTRecEmbedding",
                                 "summary": "TT-Rec: the table as a 3-core tensor train, largest rank in the budget, + MLP"},
            "robe_embedding": {"target": ".compression:ROBEEmbedding",
                               "summary": "ROBE-Z: signed blocks read from one shared circular array, + MLP"},
            "pruned_embedding": {"target": ".compression:PrunedEmbedding",
                                 "summary": "DeepLight-style gradual magnitude pruning of table entries to density rate, + MLP"},
        },
        "measure": {
            "embedding_compression_benchmark": {
                "target": ".benchmark_measure:EmbeddingCompressionBenchmark",
                "summary": "the paper's protocol: every method at every memory budget -> AUC, logloss, memory, train/inference time",
            }
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "hashing_strong_at_tight_budgets",
            "claim": "hash-based (inter-feature) methods keep accuracy best when the memory budget is tight",
            "paper": "hash-based and deduplication methods are strong overall; the ranking varies with dataset and budget",
            "where": "Sec. 5 (DLRM experiments) and the recommendations",
            "metric": "held-out AUC at rate 0.04 (25x): best hash-based (hash, QR, ROBE) minus best of the others (MDE, TT-Rec, pruning)",
            "direction": "ordering",
        },
        {
            "id": "graceful_degradation",
            "claim": "accuracy degrades gracefully as the budget shrinks (no method collapses at 10x compression)",
            "paper": "most methods stay close to the uncompressed model at moderate compression",
            "where": "Sec. 5, budget sweeps",
            "metric": "AUC drop from the full table to rate 0.1, worst method",
            "direction": "lower",
        },
        {
            "id": "qr_beats_plain_hash",
            "claim": "the quotient-remainder trick (unique pair of rows per id) is at least as good as the plain hashing trick at the same budget",
            "paper": "compositional embeddings improve on hashing (QR paper) and are competitive in the benchmark",
            "where": "Sec. 5",
            "metric": "AUC, QR minus hash trick, at rates 0.1 and 0.04",
            "direction": "ordering",
        },
        {
            "id": "tt_rec_slower",
            "claim": "tensor-train compression costs extra computation per lookup (the latency side of the trade-off)",
            "paper": "TT-Rec and DHE trade memory for computation: higher training/inference latency",
            "where": "Sec. 5 (efficiency)",
            "metric": "inference microseconds per row, TT-Rec / hash trick at rate 0.1",
            "direction": "higher",
        },
        {
            "id": "criteo_avazu_kdd12_numbers",
            "claim": "absolute AUC of each method on Criteo/Avazu (and the company dataset; the harness lists criteo, avazu, company, not KDD12) at each compression ratio, and the retrieval-augmented LLM part",
            "paper": "the paper's tables",
            "where": "Sec. 5-6",
            "metric": "AUC",
            "direction": "higher",
            "not_echoed": "the datasets need downloads and GPUs; the paper's tables could not be read here",
        },
    ],
    "verified": [
        "parameter counts: hash M d with M = floor(rate N), QR (ceil(N/m) + m) d <= rate N d, ROBE S = floor(rate N d), MDE and TT-Rec <= budget, pruning exactly floor(rate N d) non-zeros (exact integers)",
        "collision counts: mod hashing equals the closed form r C(q+1, 2) + (M - r) C(q, 2); QR pairs are unique (no collisions)",
        "full budget equals the uncompressed table: hash (mod), ROBE (identity layout), MDE and pruning at rate 1 give ctr_embedding_mlp's outputs with copied weights exactly",
        "TT-Rec lookup equals the explicit contraction of the three cores (1e-6)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
