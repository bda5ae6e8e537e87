"""Plugin: RVGP, Gaussian processes of vector fields on point clouds via the connection Laplacian (ICLR 2024). Light."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "rvgp",
    "title": "RVGP: implicit GP representation of vector fields over latent manifolds",
    "summary": "Gaussian-process regression of a tangent vector field sampled on a point cloud: tangent frames by "
    "local PCA, connections by Procrustes alignment, the connection Laplacian's smallest eigenvectors lifted to "
    "the ambient space as positional encodings, and a Matern (or SE) spectral kernel on them. Posterior mean and "
    "variance at unobserved points; predictions lie in the estimated tangent spaces. Use it to interpolate or "
    "super-resolve vector fields on surfaces or data manifolds.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Implicit Gaussian process representation of vector fields over arbitrary latent manifolds",
            "authors": ["Robert L. Peach", "Matteo Vinao-Carl", "Nir Grossman", "Michael David", "Emma Mallas",
                        "David Sharp", "Paresh A. Malhotra", "Pierre Vandergheynst", "Adam Gosztolai"],
            "year": 2024,
            "venue": "ICLR",
            "arxiv": "2309.16746",
        }
    ],
    "components": {
        "encoder": {
            "rvgp": {"target": ".rvgp:RVGP", "summary": "vector-field GP on a point cloud: connection-Laplacian eigenvectors, spectral kernel, posterior mean/variance"},
        },
        "dataset": {
            "sphere_vector_field": {"target": ".rvgp:SphereVectorField", "summary": "smooth tangent field (rotation + harmonic gradient) on Fibonacci points of S^2, 30% observed"},
        },
    },
    "extras": [],
    "verified": [
        "frames from graph-geodesic neighbourhoods (the authors' hop-count Dijkstra): selected nodes ordered by hops, "
        "every nearer hop ring complete (networkx BFS oracle)",
        "posterior mean, variance and marginal likelihood equal gpytorch ExactGP with the same kernel (float64, 1e-6 relative)",
        "S^2 (500 Fibonacci points): the 30 smallest connection-Laplacian eigenvalues group into 6, 10, 14 "
        "(ratios 1 : 5 : 11 as l(l+1)-1), the scalar Laplacian's into 1, 3, 5",
        "with m = 1 and trivial connections, L_c equals the combinatorial graph Laplacian exactly",
        "predictions lie in the estimated tangent spaces (1e-8 relative) and rotate with the point cloud (SO(3), 1e-6)",
    ],
    "claims": [
        {
            "id": "rvgp_beats_euclidean_gp",
            "claim": "RVGP reconstructs a vector field on a manifold from sparse samples better than a Euclidean "
            "vector GP on ambient coordinates (channel-wise RBF GPs)",
            "paper": "RVGP lower reconstruction error than Euclidean / channel-wise GPs (super-resolution experiments)",
            "where": "Sec. 4 (sphere / surface experiments, EEG super-resolution)",
            "metric": "mean angular error (deg) on the 70% unobserved points of S^2, 600 points, mean of 3 seeds",
            "direction": "ordering",
        },
        {
            "id": "rvgp_tangent_predictions",
            "claim": "RVGP predictions lie in the tangent spaces; a Euclidean GP's leak into the normal direction",
            "paper": "vector fields respect the manifold's tangent bundle by construction",
            "where": "Sec. 3",
            "metric": "mean |normal component| / |prediction| on the unobserved points",
            "direction": "ordering",
        },
        {
            "id": "sphere_spectrum_multiplicities",
            "claim": "the connection Laplacian of a sphere point cloud approximates the Bochner Laplacian: eigenvalue clusters of sizes 6, 10, 14",
            "paper": "connection Laplacian converges to the connection (Bochner) Laplacian of the manifold",
            "where": "Sec. 3 (background on the connection Laplacian)",
            "metric": "sizes of the clusters of the 30 smallest eigenvalues (largest relative gaps), 1000 Fibonacci points",
            "direction": "match",
        },
        {
            "id": "eeg_super_resolution",
            "claim": "RVGP super-resolves EEG cortical vector fields and helps classify patients",
            "paper": "EEG super-resolution and classification results",
            "where": "Sec. 5 (EEG)",
            "metric": "reconstruction error / classification accuracy",
            "direction": "ordering",
            "not_echoed": "the EEG recordings are not public here and cannot be downloaded",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
