"""Gaunt tensor products (Luo, Chen & Zhang, ICLR 2024): equivariant products in the Fourier basis."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "gaunt_tensor_product",
    "title": "Enabling Efficient Equivariant Operations in the Fourier Basis via Gaunt Tensor Products",
    "summary": "The Gaunt tensor product of spherical-harmonic features: change of basis from "
    "spherical harmonics to 2-D Fourier series on the torus, a 2-D FFT convolution, and the "
    "exact projection back, in O(L^3) instead of the O(L^6) of a full Clebsch-Gordan tensor "
    "product. An equivariant layer with per-degree weights, SO(3) acting on SH features through "
    "Wigner-D matrices, and an SO(3)-invariant point-cloud encoder built from it.",
    "status": "experimental",
    "api": ">=1,<2",
    "papers": [
        {
            "title": "Enabling Efficient Equivariant Operations in the Fourier Basis via Gaunt Tensor Products",
            "authors": ["Shengjie Luo", "Tianlang Chen", "Aditi S. Krishnapriyan"],
            "year": 2024,
            "venue": "ICLR",
            "arxiv": "2401.10216",
        }
    ],
    "components": {
        "encoder": {
            "gaunt_tensor_product": {"target": ".layers:GauntTensorProduct", "summary": "channel-wise Gaunt tensor product of SH features via FFT, per-degree weights"},
            "gaunt_net": {"target": ".net:GauntNet", "summary": "SO(3)-invariant point-cloud classifier: SH embedding + Gaunt self-products"},
        },
        "group": {
            "so3_sh": {"target": ".layers:SO3OnHarmonics", "summary": "SO(3) acting on spherical-harmonic coefficients via e3nn Wigner-D matrices"},
        },
    },
    "verified": [
        "Gaunt coefficients vs sympy.physics.wigner.gaunt (complex SH) and real_gaunt: < 1e-12",
        "equivariance with e3nn Wigner-D matrices (< 1e-11 relative, L <= 6); agreement with e3nn FullTensorProduct on parity-even paths up to sqrt((2l1+1)(2l2+1)/4pi) (l1 l2 l3; 0 0 0) (< 1e-7)",
        "cost vs e3nn full tensor product (CPU, 1 thread): ratio 0.27 at L = 12, crossover at L ~ 5",
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
