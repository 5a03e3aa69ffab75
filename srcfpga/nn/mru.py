"""Float bistable / cumulative memory recurrent units (BMRU, CMRU) in torch.

Equations (De Geeter et al., "Parallelizable memory recurrent units"; Brandoit et al., cumulative
variant; ../shared/DESIGN.md), per unit, for the layer input ``x[t]``::

    c[t]    = Wc x[t] + bc            beta[t] = Wb x[t] + bb
    z[t]    = H(|c[t]| - |beta[t]|)                      H(v) = 1 if v > 0 else 0   (strict)
    s[t]    = clip(z[t] * (sign(c[t]) + eps * s[t-1]) + (1 - z[t]) * s[t-1], -S, S)
    out[t]  = alpha * s[t]                               (per-unit alpha; next layer / readout input)

with ``sign(v) = +1 if v >= 0 else -1``. ``eps = 0``: BMRU, ``s`` in {-1, +1}; ``eps = 1``: CMRU, ``s``
counts set/reset events and saturates at ``S = 2^(count_bits-1) - 1`` (the hardware's bounded
counter; the float model saturates identically so that quantization changes nothing there). The BMRU is
trained with ``eps`` annealed from ``eps_start`` to 0 (it then starts as a counter); the clip is the
same for both and never active for a finished BMRU.

First-quadrant variant (``variant="first"``, BMRU only): ``s`` in {0, 1}, ``sign`` replaced by
``H0(c) = 1 if c >= 0 else 0``, and ``beta = bb`` a constant per unit (no ``Wb``): with
``b2 = |bb| - bc`` and ``b1 = -|bb| - bc`` the unit sets when ``Wc x > b2``, resets when ``Wc x < b1``
and holds in between - a Schmitt trigger (comparator pair) on the synaptic sum.

Gradients: ``H`` and ``sign`` are exact in the forward pass; backward they use the surrogate
derivative ``a / (1 + (pi a v)^2)`` (integral 1; twice that for ``sign``, whose step is 2 high).
Nothing is detached: ``z`` and ``c`` depend on the input only, so the recurrence is a clipped linear
one, ``s[t] = clip(A[t] s[t-1] + B[t], -S, S)`` with ``A = 1 - z + z eps >= 0`` and ``B = z sign(c)``,
computed by a parallel (Hillis-Steele, ``ceil(log2 T)`` passes) scan over the composition of such
clip-affine maps (:func:`clip_affine_scan`), checked equal to the sequential loop in the tests.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from .config import check_row_encoding, input_encoder

MRU_CELLS = ("bmru", "cmru")
VARIANTS = ("full", "first")
ENCODINGS = ("rows", "rate", "frames")


# ---- surrogate-gradient steps --------------------------------------------------------------------

class _Step(torch.autograd.Function):
    """``H(v)`` (``v > 0``, or ``v >= 0`` when ``inclusive``) forward; ``a / (1 + (pi a v)^2)`` backward."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, a: float, inclusive: bool) -> torch.Tensor:
        ctx.save_for_backward(v)
        ctx.a = a
        return (v >= 0 if inclusive else v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        a = ctx.a
        return grad * (a / (1.0 + (math.pi * a * v) ** 2)), None, None


def heaviside(v: torch.Tensor, a: float) -> torch.Tensor:
    """``1 if v > 0 else 0`` with the surrogate gradient."""
    return _Step.apply(v, a, False)


def step0(v: torch.Tensor, a: float) -> torch.Tensor:
    """``1 if v >= 0 else 0`` with the surrogate gradient."""
    return _Step.apply(v, a, True)


def sign(v: torch.Tensor, a: float) -> torch.Tensor:
    """``+1 if v >= 0 else -1`` with twice the surrogate gradient."""
    return 2.0 * _Step.apply(v, a, True) - 1.0


# ---- the recurrence: sequential and parallel scan -------------------------------------------------

def clip_affine_sequential(a: torch.Tensor, b: torch.Tensor, s0: torch.Tensor, bound: float) -> torch.Tensor:
    """``s[t] = clip(a[t] s[t-1] + b[t], -bound, bound)`` over dim 1 of ``(batch, T, n)``; returns all ``s[t]``."""
    s, out = s0, []
    for t in range(a.shape[1]):
        s = torch.clamp(a[:, t] * s + b[:, t], -bound, bound)
        out.append(s)
    return torch.stack(out, dim=1)


def _compose(later, earlier):
    """``later o earlier`` for maps ``x -> clip(A x + B, L, H)`` with ``A >= 0`` (closed under composition)."""
    a2, b2, l2, h2 = later
    a1, b1, l1, h1 = earlier
    lo1, hi1 = a2 * l1 + b2, a2 * h1 + b2           # a2 * clip(y, l1, h1) + b2 = clip(a2 y + b2, lo1, hi1)
    lo = torch.minimum(torch.maximum(lo1, l2), h2)  # clip(clip(u, lo1, hi1), l2, h2) = clip(u, lo, hi)
    hi = torch.maximum(torch.minimum(hi1, h2), l2)
    return a2 * a1, a2 * b1 + b2, lo, hi


def clip_affine_scan(a: torch.Tensor, b: torch.Tensor, s0: torch.Tensor, bound: float) -> torch.Tensor:
    """Same values as :func:`clip_affine_sequential` (exactly, for integer-valued ``a``, ``b``, ``s0``)
    in ``ceil(log2 T)`` vectorized passes: inclusive Hillis-Steele scan of the per-step maps."""
    lo = torch.full_like(b, -bound)
    hi = torch.full_like(b, bound)
    maps = (a, b, lo, hi)
    steps = a.shape[1]
    shift = 1
    while shift < steps:
        later = tuple(m[:, shift:] for m in maps)
        earlier = tuple(m[:, :-shift] for m in maps)
        combined = _compose(later, earlier)
        maps = tuple(torch.cat([m[:, :shift], c], dim=1) for m, c in zip(maps, combined))
        shift *= 2
    a_all, b_all, lo_all, hi_all = maps
    return torch.minimum(torch.maximum(a_all * s0[:, None] + b_all, lo_all), hi_all)


# ---- configuration --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MRUCellConfig:
    """Constants and training options of a BMRU / CMRU layer.

    ``variant``: ``"full"`` (s in {-1, +1}, input-dependent beta) or ``"first"`` (first quadrant:
    s in {0, 1}, constant per-unit beta; BMRU only). ``surrogate``: the width parameter ``a``.
    ``eps_start``: BMRU's eps at the start of training, annealed linearly to 0 over the first
    ``anneal`` fraction of the float epochs. ``count_bits``: the state saturates at
    ``+-(2^(count_bits-1) - 1)`` (CMRU's counter; irrelevant for a trained BMRU).
    ``scan``: parallel-scan forward (``False``: the sequential loop, same values).
    """

    variant: str = "full"
    surrogate: float = 1.0
    eps_start: float = 1.0
    anneal: float = 0.5
    count_bits: int = 6
    alpha_init: float = 1.0
    beta_init: float = 0.5
    scan: bool = True

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        if self.surrogate <= 0:
            raise ConfigError(f"surrogate width must be positive, got {self.surrogate}")
        if not 0.0 <= self.eps_start <= 1.0 or not 0.0 <= self.anneal <= 1.0:
            raise ConfigError("need 0 <= eps_start <= 1 and 0 <= anneal <= 1")
        if not 2 <= self.count_bits <= 16:
            raise ConfigError(f"count_bits must be in 2..16, got {self.count_bits}")

    @property
    def bound(self) -> int:
        return (1 << (self.count_bits - 1)) - 1


@dataclass(frozen=True)
class MRUNetConfig:
    """A stack of BMRU or CMRU layers with a linear readout.

    ``encoding``: how images become input frames - ``"rows"`` (one step per image row, pixels
    thermometer-coded at ``row_levels``; ``input_size = width * len(row_levels)``), ``"rate"`` (the
    SRC rate encoder, ``input_size`` = pixels) or ``"frames"`` (binary frames given directly, e.g. the
    recall task). ``readout_window``: logits average the readout over the last ``readout_window``
    steps (0: all steps). ``image_shape``: (rows, width) for ``"rows"``. ``front_end``: the audio
    front end's parameters (:class:`srcfpga.data.audio.LogMelFrontEnd` as a dict) when the rows are
    audio frames, else None.
    """

    input_size: int
    hidden: tuple[int, ...]
    n_classes: int = 10
    cell: str = "bmru"
    mru: MRUCellConfig = field(default_factory=MRUCellConfig)
    encoding: str = "rows"
    image_shape: tuple[int, int] | None = None
    row_levels: tuple[int, ...] = (64, 128, 192)
    rate_gain: float = 0.25
    steps: int = 28
    blank: int = 0
    readout_window: int = 0
    front_end: dict | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(n) for n in self.hidden))
        object.__setattr__(self, "row_levels", tuple(int(v) for v in self.row_levels))
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))
        if isinstance(self.mru, dict):
            object.__setattr__(self, "mru", MRUCellConfig(**self.mru))
        if self.cell not in MRU_CELLS:
            raise ConfigError(f"unknown memory cell {self.cell!r}; choose one of {', '.join(MRU_CELLS)}")
        if self.cell == "cmru" and self.mru.variant != "full":
            raise ConfigError("the first-quadrant variant exists for the BMRU only")
        if self.encoding not in ENCODINGS:
            raise ConfigError(f"encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if self.input_size < 1 or not self.hidden or min(self.hidden) < 1 or self.n_classes < 2:
            raise ConfigError(f"invalid sizes: input {self.input_size}, hidden {self.hidden}, classes {self.n_classes}")
        if self.steps < 1 or self.blank < 0 or self.readout_window < 0:
            raise ConfigError("need steps >= 1, blank >= 0 and readout_window >= 0")
        if self.encoding == "rows":
            check_row_encoding(self)

    def encoder(self, generators: int = 32):
        """The input encoder (``None`` for ``"frames"``)."""
        return input_encoder(self, generators)

    @property
    def eps_final(self) -> float:
        return 0.0 if self.cell == "bmru" else 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MRUNetConfig":
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad network config: {exc}") from None


# ---- layers and network -----------------------------------------------------------------------------

class MRULayer(nn.Module):
    """``n_in -> n_out`` BMRU / CMRU units over whole sequences ``(batch, T, n_in)``."""

    def __init__(self, n_in: int, n_out: int, cell: str, cfg: MRUCellConfig):
        super().__init__()
        self.cell, self.cfg = cell, cfg
        self.weight_c = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in))
        self.bias_c = nn.Parameter(torch.zeros(n_out))
        gated = cfg.variant == "full"
        self.weight_b = nn.Parameter(0.5 * torch.randn(n_out, n_in) / math.sqrt(n_in)) if gated else None
        self.bias_b = nn.Parameter(torch.full((n_out,), cfg.beta_init))
        self.alpha = nn.Parameter(torch.full((n_out,), cfg.alpha_init))
        s0 = -1.0 if (cell == "bmru" and gated) else 0.0
        self.register_buffer("init_s", torch.full((n_out,), s0))

    @property
    def n_in(self) -> int:
        return self.weight_c.shape[1]

    @property
    def n_out(self) -> int:
        return self.weight_c.shape[0]

    @property
    def first_quadrant(self) -> bool:
        return self.cfg.variant == "first"

    def preactivations(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = x @ self.weight_c.T + self.bias_c
        beta = x @ self.weight_b.T + self.bias_b if self.weight_b is not None else self.bias_b.expand_as(c)
        return c, beta

    def states(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        """The state ``s[t]`` for every step, ``(batch, T, n_out)``."""
        a = self.cfg.surrogate
        c, beta = self.preactivations(x)
        z = heaviside(c.abs() - beta.abs(), a)
        target = step0(c, a) if self.first_quadrant else sign(c, a)
        coef = 1.0 - z + z * eps
        s0 = self.init_s.expand(x.shape[0], -1)
        recur = clip_affine_scan if self.cfg.scan else clip_affine_sequential
        return recur(coef, z * target, s0, float(self.cfg.bound))

    def forward(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        """Layer output ``alpha * s[t]``."""
        return self.states(x, eps) * self.alpha

    def output_map(self) -> tuple[int, int]:
        """``(gain, offset)`` with ``s = gain * q + offset`` for the hardware state ``q`` (bit or count)."""
        if self.cell == "bmru" and not self.first_quadrant:
            return 2, -1
        return 1, 0


class MRUNet(nn.Module):
    """Stack of :class:`MRULayer`; ``forward(frames)`` returns logits, the readout
    ``Wout out[t] + bout`` averaged over the readout window."""

    def __init__(self, config: MRUNetConfig):
        super().__init__()
        self.config = config
        sizes = (config.input_size,) + config.hidden
        self.layers = nn.ModuleList(MRULayer(n_in, n_out, config.cell, config.mru)
                                    for n_in, n_out in zip(sizes, sizes[1:]))
        self.readout = nn.Parameter(torch.randn(config.n_classes, sizes[-1]) / math.sqrt(sizes[-1]))
        self.readout_bias = nn.Parameter(torch.zeros(config.n_classes))
        self.register_buffer("eps", torch.tensor(float(config.eps_final)))

    def set_eps(self, eps: float) -> None:
        self.eps.fill_(float(eps))

    def encoder(self, generators: int = 32):
        return self.config.encoder(generators)

    def window(self, steps: int) -> int:
        w = self.config.readout_window
        return steps if w == 0 else min(w, steps)

    def forward(self, frames: torch.Tensor, trace: bool = False):
        """``frames``: ``(batch, T, n_in)`` (binary); returns ``(batch, n_classes)`` logits
        (and the per-layer outputs when ``trace``)."""
        x = frames.float()
        eps = float(self.eps)
        outputs = []
        for layer in self.layers:
            x = layer(x, eps)
            outputs.append(x)
        w = self.window(x.shape[1])
        logits = x[:, -w:].mean(dim=1) @ self.readout.T + self.readout_bias
        return (logits, outputs) if trace else logits

    def clamp_parameters(self) -> None:
        pass


def build_net(config_dict: dict) -> nn.Module:
    """A float network from a stored config: :class:`MRUNet` for ``bmru``/``cmru``, else SRC."""
    if config_dict.get("cell", "src") in MRU_CELLS:
        return MRUNet(MRUNetConfig.from_dict(config_dict))
    from .config import NetConfig
    from .network import SRCNet

    return SRCNet(NetConfig.from_dict(config_dict))


def images_to_frames(net: nn.Module, images: np.ndarray, generator: torch.Generator | None = None) -> torch.Tensor:
    """Training input frames for uint8 ``images`` of any network with a ``config`` (SRC, BMRU, CMRU, their
    QAT wrappers): the row encoder (deterministic) or random rate spikes drawn with the hardware encoder's
    probability."""
    cfg = net.config
    if cfg.encoding == "rows":
        return torch.from_numpy(cfg.encoder().encode(images, cfg.steps, cfg.blank)).float()
    if cfg.encoding == "rate":
        from .train import rate_spikes

        return rate_spikes(images, cfg, cfg.steps, cfg.blank, generator)
    raise ConfigError("a network with encoding 'frames' takes frames, not images")


def mru_net_for_dataset(dataset, cell: str, hidden: tuple[int, ...], *, encoding: str = "rows",
                        variant: str = "full", row_levels: tuple[int, ...] = (64, 128, 192),
                        steps: int | None = None, blank: int | None = None, rate_gain: float = 0.25,
                        readout_window: int = 0, count_bits: int = 6, surrogate: float = 1.0) -> MRUNet:
    """A fresh :class:`MRUNet` sized for an image ``dataset`` (rows: one step per image row)."""
    rows, width = dataset.image_shape
    cell_cfg = MRUCellConfig(variant=variant, count_bits=count_bits, surrogate=surrogate)
    if encoding == "rows":
        if steps is not None and steps != rows:
            raise ConfigError(f"row encoding reads the {rows} rows of a {dataset.name} image: --steps must be "
                              f"{rows} (or omitted), got {steps}")
        config = MRUNetConfig(input_size=width * len(row_levels), hidden=hidden, n_classes=dataset.n_classes,
                              cell=cell, mru=cell_cfg, encoding="rows", image_shape=(rows, width),
                              row_levels=row_levels, steps=rows, blank=0 if blank is None else blank,
                              readout_window=readout_window,
                              front_end=None if dataset.front_end is None else dataset.front_end.to_dict())
    else:
        config = MRUNetConfig(input_size=dataset.n_pixels, hidden=hidden, n_classes=dataset.n_classes, cell=cell,
                              mru=cell_cfg, encoding=encoding, rate_gain=rate_gain,
                              steps=40 if steps is None else steps, blank=4 if blank is None else blank,
                              readout_window=readout_window)
    return MRUNet(config)
