"""Plugin: graphlet orbit counts and orbit adjacencies (Windels, Malod-Dognin, Pržulj, arXiv 2405.14194)."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "graphlet_orbits",
    "title": "Graphlets correct for the topological information missed by random walks",
    "summary": "Per-node graphlet orbit counts (graphlet degree vectors, 73 orbits of the 2-5-node "
    "graphlets in the standard Pržulj numbering) and orbit-adjacency matrices (pairs of nodes "
    "co-occurring on given orbits of a graphlet, by hop), exact counts by enumeration. Descriptors "
    "on graph_nodes data: structural-role features for node classification, and the paper's "
    "orbit adjacencies, which random walks cannot separate.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Graphlets correct for the topological information missed by random walks",
            "authors": ["Sam Windels", "Noël Malod-Dognin", "Nataša Pržulj"],
            "year": 2024,
            "venue": "arXiv preprint",
            "arxiv": "2405.14194",
        },
        {
            "title": "Biological network comparison using graphlet degree distribution",
            "authors": ["Nataša Pržulj"],
            "year": 2007,
            "venue": "Bioinformatics",
        },
    ],
    "components": {
        "descriptor": {
            "graphlet_orbits": {"target": ".descriptors:GraphletOrbits", "summary": "(n_nodes, 73) graphlet orbit counts (2-5-node graphlets, standard numbering: 0 = degree, 3 = triangles)"},
            "orbit_adjacency": {"target": ".descriptors:OrbitAdjacency", "summary": "orbit-adjacency matrices A^(hop, o1, o2) of 2-4(5)-node graphlets, as node rows or SVD embeddings"},
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "walks_mix_orbit_adjacencies",
            "claim": "random walks capture topology only through sums of orbit adjacencies and miss the distinctions between them (proved)",
            "paper": "theorem: random-walk matrices are linear combinations of orbit adjacencies (plus non-induced terms) and cannot separate several of them",
            "where": "theory section",
            "metric": "exactness of (A^2)_uv = A^(1,3,3)_uv + A^(2,1,1)_uv, and node pairs with equal (A, A^2, A^3) entries but different orbit adjacencies",
            "direction": "match",
        },
        {
            "id": "orbit_adjacency_beats_walks",
            "claim": "orbit adjacencies carry node-label information that random walks miss",
            "paper": "orbit-adjacency-based embeddings improve multiclass node-label prediction over random-walk-based ones (numbers not in our notes)",
            "where": "node-label prediction experiments",
            "metric": "5-fold logistic-regression accuracy of structural roles (BA graph + house motifs), SVD-8 features of orbit adjacencies vs of walk matrices",
            "direction": "ordering",
        },
    ],
    "verified": [
        "orbit counts (73 orbits) and orbit adjacencies (2-4-node graphlets, by hop) equal an independent brute force over all node subsets (itertools + networkx isomorphism) on random G(n, p) graphs, exactly",
        "orbit 0 = networkx degree, orbit 3 = networkx triangles, orbits 1/2 = their closed forms; K_n, stars, cycles, paths: closed-form counts of orbits 3, 14, 72, 1, 2, 6, 7, 22, 23, 4, 5, 15-17, 8, 34",
        "the 21 five-node graphlets and their orbit ids (15-72) were checked against an independent implementation's rules (GraphletCounter, Whelan 2010): all 58 orbits consistent",
        "GDVs equal ORCA (Hocevar & Demsar 2014; run once by the reviewer, not shipped) in all 73 orbits on 8 G(n, p) graphs and the karate club; the ORCA orbit ids of single 5-node graphlets (G10, G11, G12, G16, G20) are a test",
        "(A^2)_uv = A^(1,3,3)_uv + A^(2,1,1)_uv exactly; check_descriptor passes; gradco (the authors' counter) is not installable here (needs numpy < 2)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
