"""Plugin: FaceNet's triplet loss with online semi-hard mining (Schroff et al., CVPR 2015). Light: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "facenet_triplet",
    "title": "FaceNet: triplet loss with online semi-hard negative mining",
    "summary": "The triplet loss of FaceNet on unit-norm embeddings (squared Euclidean distances, margin "
    "alpha = 0.2), with every anchor-positive pair of the mini-batch and semi-hard negatives "
    "(farther than the positive, inside the margin) mined online. Supervised with identity labels, "
    "or self-supervised in the representation task (the views of a sample share an identity). Use "
    "it to learn an embedding where distance means identity (verification, retrieval, clustering).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "FaceNet: A Unified Embedding for Face Recognition and Clustering",
            "authors": ["Florian Schroff", "Dmitry Kalenichenko", "James Philbin"],
            "year": 2015,
            "venue": "CVPR",
            "arxiv": "1503.03832",
        }
    ],
    "components": {
        "loss": {
            "triplet": {
                "target": ".triplet:TripletLoss",
                "summary": "FaceNet triplet loss on the unit sphere, online semi-hard negative mining (margin 0.2)",
            }
        },
    },
    "extras": [],
    "verified": [
        "equals pytorch-metric-learning TripletMarginLoss(margin=0.2, LpDistance(power=2)) with "
        "TripletMarginMiner(type_of_triplets='semihard', same distance): same mined triplet sets, loss to 1e-6 (float64)",
        "hardest/random selection and hard/all mining against a brute-force loop over every triplet (float64, 1e-12)",
    ],
    "claims": [
        {
            "id": "semihard_beats_hardest",
            "claim": "selecting the hardest negatives can lead to bad local minima early in training (a collapsed "
            "model); semi-hard negatives avoid it",
            "paper": "qualitative (sec. 3.2): hardest negatives can collapse f(x) to a point; semi-hard negatives are used",
            "where": "Sec. 3.2, eq. (4)",
            "metric": "held-out kNN accuracy of the embedding after training, semi-hard vs hardest negatives (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "semihard_vs_all_triplets",
            "claim": "mining semi-hard triplets is needed: with all triplets most are easy and training is slower",
            "paper": "qualitative (sec. 3.2): many triplets are easily satisfied and do not contribute",
            "where": "Sec. 3.2",
            "metric": "held-out kNN accuracy, semi-hard mining vs all triplets, after the same short training (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "lfw_accuracy",
            "claim": "99.63 % verification accuracy on LFW, 95.12 % on YouTube Faces DB",
            "paper": "LFW 99.63 +- 0.09 %, YTF 95.12 +- 0.39 %",
            "where": "Sec. 5.7, 5.8",
            "metric": "verification accuracy",
            "direction": "higher",
            "not_echoed": "needs face datasets (downloads) and a deep network trained for 1000+ CPU-cluster hours",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
