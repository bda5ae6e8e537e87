"""Plugin: transitive invariance for self-supervised visual representation learning (Wang, He, Gupta, ICCV 2017)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "transitive_invariance",
    "title": "Transitive invariance for self-supervised visual representation learning",
    "summary": "A graph of instances with intra-instance edges (views of one object) and inter-instance edges "
    "(similar-looking different objects); transitivity yields positive pairs that carry both invariances, "
    "trained with a triplet ranking loss on the cosine distance. Loss `transitive_triplet` with its graph miner "
    "(`transitive_pairs`, `nearest_neighbour_edges`).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Transitive Invariance for Self-supervised Visual Representation Learning",
            "authors": ["Xiaolong Wang", "Kaiming He", "Abhinav Gupta"],
            "year": 2017,
            "venue": "ICCV",
            "arxiv": "1708.02901",
        }
    ],
    "components": {
        "loss": {
            "transitive_triplet": {"target": ".transitive:TransitiveTripletLoss", "summary": "triplet ranking loss (1 - cos, margin 0.5) on intra, inter and transitive positive pairs mined in the batch"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "transitive_beats_single_invariance",
            "claim": "training on the transitive pairs (intra + inter + transitive) gives better features than either invariance alone (intra-instance only, inter-instance only)",
            "paper": "ablation on VOC 2007 detection: the transitive graph above intra-only and inter-only training (the paper's ablation table; numbers not retrieved here)",
            "where": "Sec. 5, ablation of the edge types",
            "metric": "linear-probe and 20-NN test accuracy on digits, same network, views and epochs, mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "transitive_beats_random_init",
            "claim": "the self-supervised transitive features are better than a randomly initialised network",
            "paper": "VOC 2007 Fast R-CNN 63.2 mAP (ImageNet-supervised 67.3); COCO Faster R-CNN 23.5 (supervised 24.4)",
            "where": "abstract; Sec. 5 detection tables",
            "metric": "linear-probe test accuracy on digits, mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "voc_detection",
            "claim": "63.2 mAP on PASCAL VOC 2007 with Fast R-CNN and 23.5 on COCO, close to ImageNet pre-training",
            "paper": "63.2 (VOC07), 23.5 (COCO)",
            "where": "abstract",
            "metric": "detection mAP",
            "direction": "higher",
            "not_echoed": "needs the paper's video corpus, VGG16 and VOC/COCO, none of which can be downloaded here",
        },
    ],
    "verified": [
        "the graph miner on hand-built graphs (4 instances x 3 views, chains, edges inside an instance, isolated nodes): transitive pairs equal the closed-form sets",
        "triplet ranking loss equals pytorch-metric-learning TripletMarginLoss (CosineSimilarity, MeanReducer) on the same triplets to 1e-6",
        "intra-only edges reduce to instance discrimination: every positive is another view of the anchor's sample (hand-written loss, 1e-6)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
