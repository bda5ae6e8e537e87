"""Plugin: Schur complement entropy and embedding defocus (Ospanov, Jalali, Farnia 2024)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "schur_complement_entropy",
    "title": "Dissecting CLIP: Schur complement entropy (SCE) and embedding defocus",
    "summary": "Decompose the kernel covariance of image embeddings into a part explained by paired "
    "text (prompt) embeddings and a Schur-complement remainder; score the remainder's spectral "
    "entropy (SCE, the intrinsic diversity of a text-to-image model) and defocus image embeddings "
    "away from the text information. Works on any pair of embedding matrices (no CLIP download).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Dissecting CLIP: Decomposition with a Schur Complement-based Approach",
            "authors": ["Azim Ospanov", "Mohammad Jalali", "Farzan Farnia"],
            "year": 2024,
            "venue": "arXiv preprint",
            "arxiv": "2412.18645",
        }
    ],
    "components": {
        "descriptor": {
            "schur_defocus": {
                "target": ".sce:SchurDefocus",
                "summary": "image embedding minus its text-predictable part, phi(x_I) - A*^T phi(x_T)",
            }
        }
    },
    "extras": [],
    "verified": [
        "Schur complement equals the residual covariance of least-squares regression of image on text features (numpy lstsq), ~1e-15",
        "SCE from feature covariances equals SCE from n x n kernel matrices (projector form), ~1e-10",
        "single prompt: complement equals the centred covariance; image = text: SCE = 1",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
