"""Gaunt tensor products (Luo, Chen & Krishnapriyan, ICLR 2024): equivariant products in the Fourier basis."""

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
            "gaunt_net": {"target": ".net:GauntNet", "summary": "O(3)-invariant (rotations and reflections) point-cloud classifier: SH embedding + Gaunt self-products"},
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
    "claims": [
        {
            "id": "pointwise_product",
            "claim": "The Gaunt tensor product computed through the 2-D Fourier basis equals the spherical-harmonic projection of the pointwise product of the two spherical functions.",
            "paper": "exact identity (Gaunt coefficients = integrals of three spherical harmonics)",
            "where": "Sec. 3.1",
            "metric": "max relative error of sum_k z_k Y_k(v) vs f_x(v) f_y(v) at random directions, float64",
            "direction": "lower",
        },
        {
            "id": "equivariance",
            "claim": "The Gaunt tensor product is SO(3)-equivariant: D(R)(x (x) y) = (D(R)x) (x) (D(R)y).",
            "paper": "exactly equivariant (error 0 up to round-off)",
            "where": "Sec. 3",
            "metric": "max relative equivariance error with e3nn Wigner-D matrices, float64",
            "direction": "lower",
        },
        {
            "id": "cubic_cost",
            "claim": "The Fourier route costs O(L^3) in the maximum degree L, against O(L^6) for the full Clebsch-Gordan tensor product.",
            "paper": "O(L^3) vs O(L^6)",
            "where": "Sec. 3.2",
            "metric": "empirical exponent of CPU time vs L (log-log slope), ours and e3nn FullTensorProduct",
            "direction": "shape",
        },
        {
            "id": "speedup_grows_with_degree",
            "claim": "The speed-up of the Gaunt tensor product over the full Clebsch-Gordan tensor product grows with the degree L.",
            "paper": "speed-up grows with L (GPU, orders of magnitude at large L)",
            "where": "Fig. 2 (efficiency comparison)",
            "metric": "time ratio ours / e3nn FullTensorProduct at the smallest and largest L",
            "direction": "shape",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
