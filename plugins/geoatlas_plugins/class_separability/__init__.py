"""Plugin: unsupervised class separability from H0 persistent homology (arXiv 2305.15016). Keep
this module light (no torch import): listing reads it."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "class_separability",
    "title": "Estimating class separability of text embeddings with persistent homology",
    "summary": "A label-free separability score of an embedding: the 0-th persistent homology of its "
    "Vietoris-Rips filtration (deaths = minimum-spanning-tree edge lengths), normalised by the largest "
    "death; a few large normalised deaths over a bulk near zero mean well separated clusters. Track it "
    "over training epochs to see when the embedding stops becoming more separable, without labels. "
    "Works on features or on the embeddings of any trained encoder.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Estimating class separability of text embeddings with persistent homology",
            "authors": ["Kostis Gourgoulias", "Najah Ghalyan", "Maxime Labonne", "Yash Satsangi", "Sean Moran", "Joseph Sabelja"],
            "year": 2023,
            "venue": "arXiv preprint (v4 2024; v1 title: Estimating Class Separability of Datasets Using Persistent Homology with Application to LLM Fine-Tuning)",
            "arxiv": "2305.15016",
        }
    ],
    "components": {
        "measure": {
            "class_separability": {
                "target": ".separability:ClassSeparability",
                "summary": "mean normalised H0 persistence of an embedding (lower: more separable), persistent entropy, count of large bars",
            }
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "agrees_with_supervised_separability",
            "claim": "the label-free persistence score ranks datasets by class separability as supervised measures do",
            "paper": "the estimates align with Thornton's separability index and the AUC of a logistic regression",
            "where": "abstract; Sec. 4 (toy and text experiments)",
            "metric": "|Spearman| between the score and the Fisher ratio / Thornton index / logistic accuracy over a blob-separation sweep (k = 2 and 5, 2-D and 5-D, 5 seeds)",
            "direction": "higher",
        },
        {
            "id": "plateaus_with_probe_accuracy",
            "claim": "tracked over training epochs, the score stops improving when the supervised separability stops improving",
            "paper": "the persistence score plateaus with ROC-AUC / accuracy; usable as a stopping criterion",
            "where": "abstract; Sec. 4 (fine-tuning curves)",
            "metric": "epoch at which the score and a linear probe's held-out accuracy reach 90 % of their total change, MLP on digits (embedding = hidden layer, 300 held-out points)",
            "direction": "match",
        },
        {
            "id": "normalisation_helps",
            "claim": "with L2-normalised embeddings the score follows supervised separability better",
            "paper": "normalisation fosters well-defined connected components",
            "where": "Sec. 4/5 (normalised vs raw embeddings)",
            "metric": "signed Spearman over epochs between the score and probe accuracy (expected negative: lower score = more separable), normalize=True vs False",
            "direction": "ordering",
        },
        {
            "id": "llm_fine_tuning_stop",
            "claim": "the score detects when fine-tuning a sentence transformer stops improving separability",
            "paper": "sentence-transformer fine-tuning on text classification datasets",
            "where": "Sec. 4",
            "metric": "stopping epoch vs supervised metrics",
            "direction": "match",
            "not_echoed": "needs pretrained sentence transformers and text datasets, which cannot be downloaded here; the MLP-on-digits run is the scaled-down analogue (plateaus_with_probe_accuracy)",
        },
    ],
    "verified": [
        "H0 deaths equal gudhi 3.11 Rips persistence and scipy minimum_spanning_tree edge lengths (1e-12)",
        "normalised deaths invariant to rotation, translation and scaling (1e-12, hypothesis)",
        "score ranks a blob-separation sweep like the Fisher discriminant ratio (|Spearman| >= 0.85)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
