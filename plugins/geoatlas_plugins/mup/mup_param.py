"""Maximal update parametrization (μP; Yang & Hu, "Feature Learning in Infinite-Width Neural
Networks", ICML 2021) for any registered encoder, and the coordinate check.

The wrapper builds the backbone at the target width and at a base width, marks every dimension
whose size differs as *infinite*, and classifies each parameter as the ``mup`` package does:
matrix-like (two infinite dimensions: hidden weights), vector-like (one: input weights, hidden
biases, the readout weight) or fixed (none: the readout bias). μP then means, with width
multiplier ``m = width / base_width``:

* readout: ``y = W (output_mult · x / m) + b`` with ``W`` and ``b`` initialised at ``√m`` times
  the standard initialisation (``mup.MuReadout`` after ``set_base_shapes``);
* per-parameter learning-rate factors ``f``: Adam — matrix-like ``1/m``, others 1 (``MuAdam``);
  SGD — vector-like ``m``, matrix-like ``fanout_mult / fanin_mult``, fixed 1 (``MuSGD``).

So that the pipeline's ordinary optimiser (one learning rate) trains in μP, each factor is
realised as a parameter multiplier: the stored tensor is ``w = θ / s`` and the forward pass uses
``θ = s · w``, with ``s = f`` for Adam (its step is invariant to the gradient's scale) and
``s = √f`` for SGD (the step scales with the gradient). ``param_groups(lr)`` gives the explicit
groups instead, for training without multipliers (``multipliers=False``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from geoatlas.interfaces import Encoder, Measure
from geoatlas.utils import backbone_params as resolve_backbone

__all__ = ["MuP", "CoordinateCheck", "classify_parameters"]


def _scaled_params(params: dict[str, Any], width_param: str, width: int | None) -> dict[str, Any]:
    out = dict(params)
    val = out.get(width_param)
    if val is None:
        raise ValueError(f"backbone_params must set the width parameter {width_param!r}")
    if isinstance(val, (list, tuple)):
        out[width_param] = [width] * len(val) if width is not None else list(val)
    else:
        out[width_param] = width if width is not None else val
    return out


def classify_parameters(model: torch.nn.Module, base: torch.nn.Module) -> dict[str, dict[str, Any]]:
    """For every parameter: its infinite dimensions (those whose size differs from ``base``),
    ``ninf``, the width multiplier of each dimension, and whether it is the readout weight/bias
    (a weight whose fan-in is infinite and fan-out finite, and that module's bias)."""
    bshapes = {n: p.shape for n, p in base.named_parameters()}
    info: dict[str, dict[str, Any]] = {}
    readout_mods = set()
    for n, p in model.named_parameters():
        if n not in bshapes or len(bshapes[n]) != p.dim():
            raise ValueError(f"the base model has no parameter {n!r} of the same rank; is width_param right?")
        mult = [p.shape[i] / bshapes[n][i] for i in range(p.dim())]
        inf = [m != 1 for m in mult]
        info[n] = {"shape": tuple(p.shape), "mult": mult, "inf": inf, "ninf": sum(inf)}
        if p.dim() >= 2 and inf[1] and not inf[0]:
            readout_mods.add(n.rsplit(".", 1)[0])
    for n, d in info.items():
        mod = n.rsplit(".", 1)[0] if "." in n else ""
        d["readout"] = mod in readout_mods
    return info


class MuP(Encoder):
    """A registered encoder in the maximal update parametrization (μP), as the ``mup`` package
    defines it, with μP realised as parameter multipliers for a plain optimiser.

    Parameters
    ----------
    backbone : str
        A registered encoder (``mlp``, ``cnn``, ...).
    backbone_params : dict
        Its parameters at the target width (must include ``width_param``).
    width_param : str
        The backbone parameter that sets the width (``hidden`` for ``mlp``, ``channels`` for
        ``cnn``); a list is set entry-wise to ``base_width`` for the base model.
    base_width : int
        Width at which μP equals the standard parametrization (``m = 1``).
    optimizer : {"adam", "sgd"}
        Which optimiser's μP learning-rate rules to realise.
    output_mult : float
        Readout multiplier (``MuReadout(output_mult=...)``).
    multipliers : bool
        Realise the learning-rate factors as parameter multipliers (default) or leave them to
        ``param_groups(lr)``.
    parametrization : {"mup", "sp"}
        ``"sp"`` builds the plain backbone (standard parametrization) behind the same interface,
        for comparisons.
    """

    def __init__(self, backbone: str = "mlp", backbone_params: dict[str, Any] | None = None, width_param: str = "hidden",
                 base_width: int = 64, optimizer: Literal["adam", "sgd"] = "adam", output_mult: float = 1.0,
                 multipliers: bool = True, parametrization: Literal["mup", "sp"] = "mup",
                 in_features: int | None = None, out_features: int | None = None, in_channels: int | None = None,
                 num_classes: int | None = None) -> None:
        super().__init__()
        import geoatlas as ga

        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        if parametrization not in ("mup", "sp"):
            raise ValueError(f"parametrization must be 'mup' or 'sp', got {parametrization!r}")
        if isinstance(base_width, bool) or not isinstance(base_width, (int, np.integer)) or base_width < 1:
            raise ValueError(f"base_width must be a positive integer, got {base_width!r}")
        if not (isinstance(output_mult, (int, float)) and math.isfinite(output_mult) and output_mult > 0):
            raise ValueError(f"output_mult must be a positive number, got {output_mult!r}")
        params = resolve_backbone(backbone, backbone_params, in_features=in_features, out_features=out_features,
                                  in_channels=in_channels, num_classes=num_classes)
        target = _scaled_params(params, width_param, None)
        with torch.random.fork_rng():
            base = ga.create("encoder", backbone, **_scaled_params(params, width_param, int(base_width)))
        self.net = ga.create("encoder", backbone, **target)
        self.input_type = getattr(self.net, "input_type", "vector")  # type: ignore[misc]
        self.optimizer_rule, self.output_mult, self.parametrization = optimizer, float(output_mult), parametrization
        self.info = classify_parameters(self.net, base)
        self.names = [n for n, _ in self.net.named_parameters()]
        self.lr_factors: dict[str, float] = {}
        scales: dict[str, float] = {}
        forward_const: dict[str, float] = {}
        init_scale: dict[str, float] = {}
        for n in self.names:
            d = self.info[n]
            wm = max((m for m, i in zip(d["mult"], d["inf"], strict=True) if i), default=1.0)
            self.lr_factors[n] = self._lr_factor(d, wm) if parametrization == "mup" else 1.0
            readout_w = d["readout"] and d["ninf"] == 1 and len(d["shape"]) >= 2
            init_scale[n] = math.sqrt(wm) if (parametrization == "mup" and readout_w) else 1.0
            mod_name, _, leaf = n.rpartition(".")
            sib = f"{mod_name}.weight" if mod_name else "weight"
            mod = self.net.get_submodule(mod_name) if mod_name else self.net
            if (parametrization == "mup" and leaf == "bias" and sib in self.info and len(self.info[sib]["shape"]) >= 2
                    and isinstance(mod, (torch.nn.Linear, torch.nn.modules.conv._ConvNd))):
                # PyTorch's bias init shrinks like 1/sqrt(fan_in): muP keeps it O(1) (mup.rescale_linear_bias)
                init_scale[n] = math.sqrt(self.info[sib]["mult"][1])
            forward_const[n] = self.output_mult / wm if (parametrization == "mup" and readout_w) else 1.0
            f = self.lr_factors[n]
            scales[n] = (f if optimizer == "adam" else math.sqrt(f)) if multipliers else 1.0
        self.multipliers = bool(multipliers)
        self.scale = scales
        self.forward_const = forward_const
        self.w = torch.nn.ParameterList()
        with torch.no_grad():
            for n, p in self.net.named_parameters():
                self.w.append(torch.nn.Parameter(p.detach() * init_scale[n] / scales[n]))
        for p in self.net.parameters():
            p.requires_grad_(False)

    def _lr_factor(self, d: dict[str, Any], wm: float) -> float:
        if d["ninf"] == 2:
            if self.optimizer_rule == "adam":
                return 1.0 / wm
            fan_out, fan_in = d["mult"][0], d["mult"][1]
            return fan_out / fan_in
        if d["ninf"] == 1:
            return wm if self.optimizer_rule == "sgd" else 1.0
        if d["ninf"] > 2:
            raise ValueError("parameters with more than 2 width dimensions are not supported")
        return 1.0

    def effective_parameters(self) -> dict[str, torch.Tensor]:
        """The backbone's parameters as the forward pass uses them."""
        return {n: self.forward_const[n] * self.scale[n] * w for n, w in zip(self.names, self.w, strict=True)}

    def forward(self, x: Any) -> Any:
        return torch.func.functional_call(self.net, self.effective_parameters(), (x,), strict=False)

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Explicit per-parameter learning rates (what ``MuAdam``/``MuSGD`` would use) for the
        stored tensors; with ``multipliers=True`` they are all ``lr`` (the multipliers do it)."""
        return [{"params": [w], "lr": lr * (1.0 if self.multipliers else self.lr_factors[n])} for n, w in zip(self.names, self.w, strict=True)]


class CoordinateCheck(Measure):
    """Coordinate check (the ``mup`` package's ``coord_check``; TP IV Sec. 8): how the size of
    each layer's activations changes with width after a few training steps.

    For each width in ``widths`` it builds the backbone (``mup`` encoder wrapper with
    ``parametrization``), trains ``steps`` steps of the chosen optimiser with learning rate
    ``lr`` on batches of ``data`` (cross-entropy on the class ids), and records the mean absolute
    coordinate ``mean |h|`` of every leaf module's output at the last step, on the first batch.
    Reports, per layer, the slope of ``log mean|h|`` against ``log width``: about 0 for every
    layer under μP; growing with width (positive slope) for SP at a fixed learning rate.

    Parameters
    ----------
    backbone, backbone_params, width_param, base_width : as for the ``mup`` encoder
    widths : list of int
    parametrization : {"mup", "sp"}
    optimizer : {"adam", "sgd"}
    lr : float
    steps : int
    batch_size : int
    seed : int
    """

    needs_model: ClassVar[bool] = False

    def __init__(self, backbone: str = "mlp", backbone_params: dict[str, Any] | None = None, width_param: str = "hidden",
                 base_width: int = 64, widths: list[int] | None = None, parametrization: Literal["mup", "sp"] = "mup",
                 optimizer: Literal["adam", "sgd"] = "adam", lr: float = 1e-2, steps: int = 5, batch_size: int = 64, seed: int = 0) -> None:
        self.widths = [64, 128, 256, 512, 1024] if widths is None else list(widths)
        if len(self.widths) < 2 or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in self.widths):
            raise ValueError(f"widths must list at least two positive integers, got {widths!r}")
        if parametrization not in ("mup", "sp"):
            raise ValueError(f"parametrization must be 'mup' or 'sp', got {parametrization!r}")
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        for name, v in (("steps", steps), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.backbone, self.backbone_params = backbone, dict(backbone_params or {"hidden": [64, 64]})
        self.width_param, self.base_width, self.parametrization, self.optimizer = width_param, int(base_width), parametrization, optimizer
        self.lr, self.steps, self.batch_size, self.seed = float(lr), int(steps), int(batch_size), int(seed)

    def sizes(self, X: Any, y: np.ndarray, data_type: str = "vector") -> dict[str, list[float]]:
        """``{layer: [mean |h| at each width]}`` after ``steps`` steps."""
        from geoatlas.pipeline.models import to_batch

        out: dict[str, list[float]] = {}
        n_classes = int(np.max(y)) + 1
        Xb0 = to_batch(X, np.arange(min(len(y), self.batch_size)), data_type)
        in_f = int(np.prod(np.asarray(X).shape[1:]))
        for width in self.widths:
            torch.manual_seed(self.seed)
            params = _scaled_params(self.backbone_params, self.width_param, int(width))
            m = MuP(self.backbone, params, self.width_param, self.base_width, self.optimizer, parametrization=self.parametrization,
                    in_features=in_f, out_features=n_classes, num_classes=n_classes)
            opt = (torch.optim.Adam if self.optimizer == "adam" else torch.optim.SGD)(m.parameters(), lr=self.lr)
            g = torch.Generator().manual_seed(self.seed)
            yt = torch.as_tensor(y, dtype=torch.long)
            for _ in range(self.steps):
                idx = torch.randint(0, len(y), (self.batch_size,), generator=g).numpy()
                opt.zero_grad()
                torch.nn.functional.cross_entropy(m(to_batch(X, idx, data_type)), yt[idx]).backward()
                opt.step()
            record: dict[str, float] = {}
            hooks = [mod.register_forward_hook(lambda mod, i, o, name=name, record=record: record.__setitem__(name, float(o.detach().abs().mean())))
                     for name, mod in m.net.named_modules() if len(list(mod.children())) == 0 and name]
            with torch.no_grad():
                m(Xb0)
            for h in hooks:
                h.remove()
            for k, v in record.items():
                out.setdefault(k, []).append(v)
        return out

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(data, dict) or "X" not in data or data.get("y") is None:
            raise ValueError("coordinate_check needs data={'X': samples, 'y': class ids}")
        y = np.asarray(data["y"])
        if y.dtype.kind not in "iu":
            raise TypeError(f"coordinate_check needs integer class ids in data['y'], got dtype {y.dtype}")
        if len(y) != len(data["X"]) or len(y) == 0:
            raise ValueError(f"coordinate_check: data['X'] has {len(data['X'])} samples and data['y'] {len(y)}")
        sizes = self.sizes(data["X"], y, data.get("data_type") or "vector")
        lw = np.log(np.asarray(self.widths, dtype=np.float64))
        res: dict[str, Any] = {}
        for layer, vals in sizes.items():
            v = np.log(np.maximum(np.asarray(vals), 1e-30))
            res[f"slope_{layer}"] = float(np.polyfit(lw, v, 1)[0])
        res["max_abs_slope"] = float(max(abs(s) for s in res.values()))
        res["widths"] = [float(w) for w in self.widths]
        return res



