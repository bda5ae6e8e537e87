"""Plugin: knowledge-graph embedding by normalizing flows (NFE; Xiao, He, Cao, arXiv 2409.19977)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "kg_normalizing_flows",
    "title": "Knowledge Graph Embedding by Normalizing Flows (NFE)",
    "summary": "Entities as diagonal Gaussian random variables and relations as element-wise affine "
    "flows acting on them (elements of a symmetric group); a triple scores gamma minus the squared "
    "2-Wasserstein distance (NFE-1) or the KL divergence (NFE-3) between the head pushed through the "
    "relation and the tail, trained with the authors' per-entity binary (softplus) 1-vs-all loss on "
    "reciprocal triples. Also TransE, scored and trained the same way. Use it for link prediction on "
    "a knowledge graph (the link_prediction task); the baselines plugin's distmult is the bilinear "
    "reference.",
    "api": ">=1,<2",
    "status": "stable",
    "papers": [
        {
            "title": "Knowledge Graph Embedding by Normalizing Flows",
            "authors": ["Changyi Xiao", "Xiangnan He", "Yixin Cao"],
            "year": 2024,
            "venue": "arXiv preprint",
            "arxiv": "2409.19977",
        },
        {
            "title": "Translating Embeddings for Modeling Multi-relational Data",
            "authors": ["Antoine Bordes", "Nicolas Usunier", "Alberto Garcia-Duran", "Jason Weston", "Oksana Yakhnenko"],
            "year": 2013,
            "venue": "NeurIPS",
        },
    ],
    "components": {
        "encoder": {
            "nfe": {"target": ".nfe:NFE", "summary": "NFE knowledge-graph scorer: Gaussian entities, affine-flow relations, gamma - W2^2 (or KL); 1-vs-all binary loss"},
            "transe": {"target": ".nfe:TransE", "summary": "TransE scorer gamma - ||h + r - t||^2 with the NFE authors' 1-vs-all binary loss"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "uncertainty_helps",
            "claim": "NFE-1 (entities as random variables) predicts links better than the same model without uncertainty (means only, NFE w/o uncertainty)",
            "paper": "NFE-1 above NFE w/o uncertainty on WN18RR, FB15k-237, YAGO3-10 (the paper's ablation; its numbers are not in our notes)",
            "where": "ablation study (introducing uncertainty)",
            "metric": "filtered MRR on held-out triples of the synthetic family KG (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "nfe_beats_baselines",
            "claim": "NFE-1 predicts links better than TransE and DistMult",
            "paper": "NFE above point-embedding baselines on the three benchmarks (numbers not in our notes)",
            "where": "main link-prediction table",
            "metric": "filtered MRR on held-out triples of the synthetic family KG (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "logical_rules",
            "claim": "NFE can learn symmetry, inversion and composition rules (proved), unlike DistMult, which scores every relation symmetrically",
            "paper": "propositions: NFE can infer symmetry, antisymmetry, inversion and composition",
            "where": "theory section (logical rules)",
            "metric": "filtered MRR per relation (sibling: symmetric, child: inverse of parent, grandparent: composition) for NFE-1 vs DistMult",
            "direction": "ordering",
        },
        {
            "id": "benchmark_mrr",
            "claim": "state-of-the-art MRR on WN18RR, FB15k-237 and YAGO3-10",
            "paper": "main table (numbers not read here)",
            "where": "main link-prediction table",
            "metric": "filtered MRR",
            "direction": "higher",
            "not_echoed": "the benchmarks (40k-120k entities, d = 1024, 50-150 epochs on a GPU) are beyond this CPU, and no KG ships in an installed package",
        },
    ],
    "verified": [
        "NFE-1 distance equals the squared closed-form 2-Wasserstein distance of POT (ot.gaussian.bures_wasserstein_distance) to 1e-10 (float64, hypothesis)",
        "NFE-3 distance equals torch.distributions.kl_divergence of the Normal pair summed over coordinates to 1e-10 (float64)",
        "score_all (matrix-product expansion, all five variants, TransE) equals scoring every candidate triple, 1e-10",
        "relation algebra: composition/inverse of affine flows act on (mean, scale) compatibly (1e-12); sigma = -1 relations are symmetric",
        "the 1-vs-all loss equals an explicit per-entity softplus sum written in the test",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
