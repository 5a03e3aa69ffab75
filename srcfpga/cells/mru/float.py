"""Float bistable / cumulative memory recurrent units (BMRU, CMRU) in torch (the ``float`` part of both kinds).

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

import torch
from torch import nn

from .config import MRUCellConfig

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


# ---- the layer ---------------------------------------------------------------------------------------

class MRULayer(nn.Module):
    """``n_in -> n_out`` BMRU (``cumulative`` False) or CMRU units over whole sequences ``(batch, T, n_in)``."""

    def __init__(self, n_in: int, n_out: int, cumulative: bool, cfg: MRUCellConfig):
        super().__init__()
        self.cumulative, self.cfg = cumulative, cfg
        self.weight_c = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in))
        self.bias_c = nn.Parameter(torch.zeros(n_out))
        gated = cfg.variant == "full"
        self.weight_b = nn.Parameter(0.5 * torch.randn(n_out, n_in) / math.sqrt(n_in)) if gated else None
        self.bias_b = nn.Parameter(torch.full((n_out,), cfg.beta_init))
        self.alpha = nn.Parameter(torch.full((n_out,), cfg.alpha_init))
        s0 = -1.0 if (gated and not cumulative) else 0.0
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

    def clamp_parameters(self) -> None:
        """Nothing is clamped."""

    def output_map(self) -> tuple[int, int]:
        """``(gain, offset)`` with ``s = gain * q + offset`` for the hardware state ``q`` (bit or count)."""
        if not self.cumulative and not self.first_quadrant:
            return 2, -1
        return 1, 0


def bmru_layer(n_in: int, n_out: int, config, index: int) -> MRULayer:
    """The BMRU layer of a network config (:class:`srcfpga.nn.NetConfig` with MRU constants)."""
    return MRULayer(n_in, n_out, False, config.cell_config)


def cmru_layer(n_in: int, n_out: int, config, index: int) -> MRULayer:
    """The CMRU layer of a network config."""
    return MRULayer(n_in, n_out, True, config.cell_config)


class AlphaCMRULayer(MRULayer):
    """``n_in -> n_out`` alphaCMRU units: the CMRU whose update scales the previous state by the relaxation
    ``relax = 1 - 2^-relax_shift`` (:class:`~srcfpga.cells.mru.config.AlphaCMRUCellConfig`)::

        s[t] = clip(z[t] * (sign(c[t]) + relax * s[t-1]) + (1 - z[t]) * s[t-1], -S, S)

    the module equation with ``eps = relax`` fixed (no schedule), ``S`` the config's real ``bound``. The
    hardware state is ``q = s * 2^relax_shift`` (:meth:`output_map`)."""

    def __init__(self, n_in: int, n_out: int, cfg):
        super().__init__(n_in, n_out, True, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Layer output ``alpha * s[t]`` (``alpha`` the per-unit output scale, not the relaxation)."""
        return self.states(x, self.cfg.relax) * self.alpha

    def output_map(self) -> tuple[float, int]:
        """``s = q / 2^relax_shift``: the hardware state has ``relax_shift`` fractional bits."""
        return 2.0 ** -self.cfg.relax_shift, 0


def alphacmru_layer(n_in: int, n_out: int, config, index: int) -> AlphaCMRULayer:
    """The alphaCMRU layer of a network config."""
    return AlphaCMRULayer(n_in, n_out, config.cell_config)


def anneal_eps(net, progress: float) -> None:
    """BMRU's schedule: eps goes linearly from ``eps_start`` to 0 over the first ``anneal`` fraction of the
    float training (``progress`` in [0, 1))."""
    cfg = net.config.cell_config
    net.set_schedule(eps=0.0 if cfg.anneal <= 0.0 else cfg.eps_start * max(0.0, 1.0 - progress / cfg.anneal))
