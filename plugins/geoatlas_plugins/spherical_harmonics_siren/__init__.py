"""Plugin: spherical harmonics + SIREN location encoder (Rußwurm et al., ICLR 2024). Light module: no torch import."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "spherical_harmonics_siren",
    "title": "Geographic location encoding with spherical harmonics and SIRENs",
    "summary": "Encodes (longitude, latitude) locations by the real spherical harmonics of degrees "
    "0..L-1 (L^2 features, orthonormal on the sphere, smooth at the poles and across the dateline) "
    "followed by a sinusoidal network (SIREN). Use it as the location encoder of any model that "
    "takes coordinates on the globe (species distribution, land cover, climate variables).",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Geographic Location Encoding with Spherical Harmonics and Sinusoidal Representation Networks",
            "authors": ["Marc Rußwurm", "Konstantin Klemmer", "Esther Rolf", "Robin Zbinden", "Devis Tuia"],
            "year": 2024,
            "venue": "ICLR",
            "arxiv": "2310.06743",
        }
    ],
    "components": {
        "encoder": {
            "spherical_harmonics": {
                "target": ".sh:SphericalHarmonics",
                "summary": "real spherical harmonics of degrees 0..L-1 of (lon, lat) in degrees: L^2 features, no parameters",
            },
            "sh_siren": {
                "target": ".sh:SHSiren",
                "summary": "location encoder: spherical harmonics followed by a SIREN (sine layers, w0_initial=30)",
            },
        },
        "dataset": {
            "checkerboard_sphere": {
                "target": ".sh:CheckerboardSphere",
                "summary": "the paper's checkerboard on the sphere: labels of the nearest of 200 Fibonacci-lattice points (16 classes)",
            }
        },
    },
    "extras": [],
    "claims": [
        {
            "id": "sh_siren_checkerboard",
            "claim": "on the checkerboard on the sphere, SH + SIREN classifies better than the direct (lon, lat) input to a network",
            "paper": "SH + SIREN is the best (or tied) encoder/network pair on the checkerboard task",
            "where": "Table 1 (checkerboard column)",
            "metric": "test accuracy, SH(L=15)+SIREN vs direct lon/lat + MLP and vs direct + SIREN (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "sh_poles",
            "claim": "the spherical-harmonic encoding has no artefacts at the poles: the advantage over the direct lon/lat input is largest at high latitudes",
            "paper": "DFS-style and rectangular encodings degrade near the poles; SH does not (qualitative, Fig. of accuracy by latitude)",
            "where": "Sec. 4 (accuracy by latitude)",
            "metric": "test accuracy for |lat| > 60 degrees, SH+SIREN minus direct+MLP, vs the same difference for |lat| <= 60",
            "direction": "higher",
        },
        {
            "id": "siren_over_linear",
            "claim": "a SIREN on the harmonics beats a linear map of the harmonics (the network adds capacity beyond the low-pass basis)",
            "paper": "SH + SIREN above SH + linear on the checkerboard",
            "where": "Table 1",
            "metric": "test accuracy, SH(L=15)+SIREN vs SH(L=25)+linear, each with the reference's tuned checkerboard hyper-parameters (mean of 3 seeds)",
            "direction": "ordering",
        },
        {
            "id": "era5_inat",
            "claim": "SH + SIREN is the best location encoder on land-ocean, ERA5 regression and iNaturalist 2018",
            "paper": "SH + SIREN best or tied in Table 1",
            "where": "Table 1, Sec. 4",
            "metric": "accuracy / MSE",
            "direction": "ordering",
            "not_echoed": "ERA5, iNaturalist 2018 and the land-ocean shapefiles need downloads, which this machine cannot make",
        },
    ],
    "verified": [
        "every real harmonic equals scipy.special.sph_harm_y (sqrt(2) Re / sqrt(2) Im for m != 0), degrees 0..19, 400 random points and the poles, to 1e-12 (max error 2e-14)",
        "addition theorem sum_m Y_l^m(x)^2 = (2l+1)/(4 pi) at every point, every degree < 20, to 1e-12",
        "orthonormality by a 40k-point Fibonacci quadrature: |G - I| < 5e-3 for L = 8",
        "rotation about the polar axis acts on (Y_l^m, Y_l^-m) as a 2x2 rotation by m alpha (1e-10); features at the poles do not depend on longitude (1e-12)",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
