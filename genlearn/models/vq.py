r"""Vector quantisation: the discrete bottleneck of a VQ-VAE (van den Oord et al., 2017).

A codebook holds K vectors :math:`e_1..e_K` in :math:`R^D`. Each encoder output
:math:`z` (one D-vector per position) is replaced by its nearest code

    k(z) = argmin_k ||z - e_k||^2 = argmin_k (||z||^2 - 2 z.e_k + ||e_k||^2),

computed for all N vectors at once with one matrix product (``torch.addmm``),
never an (N, K, D) tensor. ``argmin`` has no gradient, so the output uses the
straight-through estimator

    z_q = z + sg(e_k - z)        (value e_k, gradient d z_q / d z = I)

where ``sg`` stops gradients. Two terms train the codebook and the encoder:

    codebook   = ||sg(z) - e_k||^2            (moves codes towards encoder outputs)
    commitment = beta * ||z - sg(e_k)||^2     (keeps the encoder near its codes)

The default forward pass is written exactly so, with ``.detach()`` as ``sg``::

    quantized  = z + (e - z).detach()
    codebook   = (z.detach() - e).pow(2).sum() / B
    commitment = beta * (z - e.detach()).pow(2).sum() / B

``fused=True`` computes the same three values and gradients in one ``autograd.Function``
that shares the difference ``z - e`` (:class:`_StraightThrough`; a test checks both paths
agree): an opt-in fast path, not a different method.

Reduction, as for the reconstruction term in genlearn: squared error **summed**
over the elements and positions of each example and **averaged** over the batch.

With ``ema=True`` the codebook is not learned by gradient (:class:`EMACodebook`): in
training mode each step sets, with counts :math:`n_k` and sums :math:`s_k` of the vectors assigned to code k,

    N_k <- decay N_k + (1 - decay) n_k,        m_k <- decay m_k + (1 - decay) s_k,
    e_k  = m_k / Ntilde_k,     Ntilde_k = (N_k + eps) / (n + K eps) * n,   n = sum_k N_k

(Laplace smoothing keeps Ntilde_k > 0), and the codebook loss is 0. The averages start
at one pseudo-observation per code (N_k = 1, m_k = e_k), so an unused code stays put
instead of jumping; the step's output uses the codebook from before the update.

Codebook health: ``perplexity`` = exp(entropy of code usage) is the effective number of
codes in use (1 to K). A code that no vector picks is *dead*; with ``restart_after=T`` a
code idle for T consecutive training steps is re-seeded at a random encoder output.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from genlearn._validate import check_count, check_finite, check_number

__all__ = ["VectorQuantizer", "VQOutput", "EMACodebook", "perplexity"]


class VQOutput(NamedTuple):
    r"""What :class:`VectorQuantizer` returns.

    quantized: straight-through output :math:`z + sg(e_k - z)`, same shape as the input.
    indices: chosen code per position, the input's shape without the channel dimension (long).
    codebook_loss: :math:`||sg(z) - e||^2` summed per example, meaned over the batch (0 with EMA).
    commitment_loss: :math:`\beta ||z - sg(e)||^2`, same reduction.
    perplexity: :math:`\exp(-\sum_k p_k \log p_k)` of code usage in this batch (1 to K).
    usage: (K,) float counts of how many vectors chose each code in this batch.
    """

    quantized: Tensor
    indices: Tensor
    codebook_loss: Tensor
    commitment_loss: Tensor
    perplexity: Tensor
    usage: Tensor

    @property
    def loss(self) -> Tensor:
        """codebook_loss + commitment_loss (add the reconstruction term yourself)."""
        return self.codebook_loss + self.commitment_loss


def perplexity(
    indices_or_counts: Tensor, num_codes: int, *, counts: bool | None = None
) -> Tensor:
    r"""Perplexity :math:`\exp(H)`, :math:`H = -\sum_k p_k \log p_k`, of code usage.

    It is the effective number of codes in use: K when every code is used equally
    often, 1 when one code takes everything. Pass either code indices (an integer
    tensor of any shape, values in [0, num_codes)) or per-code counts (a float tensor
    of shape (num_codes,), such as ``VQOutput.usage``). ``counts`` overrides the
    guess made from the dtype (integer = indices, floating = counts).
    """
    num_codes = check_count(num_codes, "num_codes")
    x = indices_or_counts
    if not isinstance(x, Tensor):
        raise ValueError(
            f"perplexity expects a tensor of indices or counts, got {type(x).__name__}"
        )
    if counts is None:
        counts = x.is_floating_point()
    if counts:
        c = x.to(torch.float64) if not x.is_floating_point() else x
        if c.shape != (num_codes,):
            raise ValueError(f"counts must have shape ({num_codes},), got {tuple(c.shape)}")
        check_finite(c, "counts")
        if (c < 0).any():
            raise ValueError("counts must be >= 0")
    else:
        if x.is_floating_point() or x.is_complex():
            raise ValueError(f"indices must be an integer tensor, got {x.dtype}")
        if x.numel() and (x.min() < 0 or x.max() >= num_codes):
            raise ValueError(
                f"indices must lie in [0, {num_codes}), got min {int(x.min())}, max {int(x.max())}"
            )
        c = torch.bincount(x.reshape(-1), minlength=num_codes).to(torch.float64)
    total = c.sum()
    if total <= 0:
        raise ValueError("perplexity needs at least one used code (all counts are 0)")
    return _perplexity_from_counts(c)


def _perplexity_from_counts(c: Tensor) -> Tensor:
    p = c / c.sum()
    log_p = p.clamp_min(torch.finfo(p.dtype).tiny).log()  # so 0 log 0 = 0
    return torch.exp(-(p * log_p).sum())


class _StraightThrough(torch.autograd.Function):
    r"""Fused straight-through output and the two VQ losses, sharing one difference tensor.

    Forward, with :math:`d = z - e_k` (rows of ``flat`` minus their codes):
    ``quantized = z - d`` (bit-identical to ``z + sg(e_k - z)``), ``codebook = sum d^2 / B``,
    ``commitment = beta * sum d^2 / B``. Backward routes each gradient as autograd would
    with the stop-gradients: d quantized / d z = I, d codebook / d e_k = -2 sum_{i->k} d_i / B
    (codebook only), d commitment / d z = 2 beta d / B (encoder only).
    """

    @staticmethod
    def forward(ctx, flat: Tensor, codebook: Tensor, indices: Tensor, batch: int, beta: float):
        diff = flat - codebook.index_select(0, indices).to(flat.dtype)
        d = diff.view(-1) if diff.dtype in (torch.float32, torch.float64) else diff.view(-1).float()
        sq = torch.dot(d, d)  # sum of squares, accumulated in >= float32
        ctx.save_for_backward(diff, indices)
        ctx.batch, ctx.beta, ctx.codebook_dtype = batch, beta, codebook.dtype
        ctx.num_codes = codebook.shape[0]
        return flat - diff, sq / batch, sq * (beta / batch)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_quantized: Tensor, g_codebook: Tensor, g_commitment: Tensor):
        diff, indices = ctx.saved_tensors
        grad_flat = grad_codebook = None
        if ctx.needs_input_grad[0]:
            grad_flat = torch.addcmul(
                g_quantized, diff, g_commitment, value=2.0 * ctx.beta / ctx.batch
            )
        if ctx.needs_input_grad[1]:
            rows = diff.to(ctx.codebook_dtype)  # accumulate in the codebook's precision
            sums = rows.new_zeros(ctx.num_codes, rows.shape[1]).index_add_(0, indices, rows)
            grad_codebook = sums.mul_(g_codebook * (-2.0 / ctx.batch))
        return grad_flat, grad_codebook, None, None, None


class EMACodebook(nn.Module):
    r"""Exponential moving averages of code counts ``N_k`` and vector sums ``m_k`` (module
    docstring); :meth:`update` writes the new codebook ``e_k = m_k / Ntilde_k`` in place."""

    size: Tensor
    sum: Tensor

    def __init__(self, num_codes: int, code_dim: int, decay: float = 0.99, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_codes = check_count(num_codes, "num_codes")
        self.decay = check_number(decay, "decay", hi=1.0)
        self.eps = check_number(eps, "eps", strict=True)
        self.register_buffer("size", torch.ones(self.num_codes))
        self.register_buffer("sum", torch.zeros(self.num_codes, check_count(code_dim, "code_dim")))

    def reset(self, codebook: Tensor, codes: Tensor | None = None) -> None:
        """One pseudo-observation at each code (all codes, or those where ``codes`` is True)."""
        if codes is None:
            self.size.fill_(1.0)
            self.sum.copy_(codebook)
        else:
            self.size.copy_(torch.where(codes, torch.ones_like(self.size), self.size))
            self.sum.copy_(torch.where(codes.unsqueeze(1), codebook, self.sum))

    def update(self, codebook: Tensor, flat: Tensor, indices: Tensor, counts: Tensor) -> None:
        """N_k, m_k <- decay * old + (1 - decay) * batch; ``codebook`` <- m_k / Laplace-smoothed N_k."""
        flat = flat.to(self.sum.dtype)
        sums = torch.zeros_like(self.sum).index_add_(0, indices, flat)
        self.size.mul_(self.decay).add_(counts, alpha=1.0 - self.decay)
        self.sum.mul_(self.decay).add_(sums, alpha=1.0 - self.decay)
        n = self.size.sum()
        smoothed = (self.size + self.eps) / (n + self.num_codes * self.eps) * n
        torch.div(self.sum, smoothed.unsqueeze(1), out=codebook)


class VectorQuantizer(nn.Module):
    r"""Replace each D-vector of the input by its nearest of ``num_codes`` codebook vectors.

    Args:
        num_codes: K, the codebook size.
        code_dim: D, the length of each code (the input's channel size).
        beta: weight of the commitment loss (0.25 in the paper).
        ema: learn the codebook by exponential moving averages instead of the codebook loss.
        decay, eps: EMA decay and Laplace smoothing (used only with ``ema=True``).
        fused: compute the straight-through output and both losses in one fused autograd
            function (same values and gradients, fewer operations) instead of the plain lines.
        restart_after: if set, a code unused for this many consecutive training steps is
            re-seeded with a random encoder output of the current batch (a dead-code restart).
        channel_dim: where D sits in the input: ``1`` for channel-first conv feature maps
            (B, D, H, W) and for (N, D); ``-1`` for channel-last (B, ..., D).

    ``forward(z)`` returns a :class:`VQOutput`; the first dimension of ``z`` is the batch
    (losses are summed per example and averaged over it). In training mode it also updates
    the EMA codebook, the idle counters ``unused_steps`` and restarts dead codes.
    """

    codebook: Tensor
    unused_steps: Tensor

    def __init__(
        self,
        num_codes: int,
        code_dim: int,
        beta: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        eps: float = 1e-5,
        restart_after: int | None = None,
        channel_dim: int = 1,
        fused: bool = False,
    ) -> None:
        super().__init__()
        self.num_codes = check_count(num_codes, "num_codes")
        self.code_dim = check_count(code_dim, "code_dim")
        self.beta = check_number(beta, "beta")
        self.ema = bool(ema)
        self.fused = bool(fused)
        self.decay = check_number(decay, "decay", hi=1.0)
        self.eps = check_number(eps, "eps", strict=True)
        self.restart_after = (
            None if restart_after is None else check_count(restart_after, "restart_after")
        )
        if isinstance(channel_dim, bool) or channel_dim not in (1, -1):
            raise ValueError(f"channel_dim must be 1 (channel-first) or -1 (channel-last), got "
                             f"{channel_dim!r}")
        self.channel_dim = int(channel_dim)

        init = torch.empty(self.num_codes, self.code_dim)
        self.ema_state: EMACodebook | None = None
        if self.ema:  # learned by moving averages, never by an optimizer
            self.register_buffer("codebook", init)
            self.ema_state = EMACodebook(self.num_codes, self.code_dim, self.decay, self.eps)
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("unused_steps", torch.zeros(self.num_codes, dtype=torch.long))
        self.register_buffer("num_restarts", torch.zeros((), dtype=torch.long))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Codes uniform in [-1/K, 1/K]; EMA state = one pseudo-observation at each code."""
        k = self.num_codes
        self.init_codebook(torch.empty_like(self.codebook).uniform_(-1.0 / k, 1.0 / k))
        self.num_restarts.zero_()

    def init_codebook(self, codes: Tensor) -> None:
        """Set the codebook to ``codes`` (K, D), e.g. encoder outputs or k-means centres.

        Also restarts the EMA state at the new codes and the idle counters.
        """
        if not isinstance(codes, Tensor) or codes.shape != self.codebook.shape:
            got = tuple(codes.shape) if isinstance(codes, Tensor) else type(codes).__name__
            raise ValueError(
                f"codes must have shape ({self.num_codes}, {self.code_dim}), got {got}"
            )
        check_finite(codes, "codes")
        with torch.no_grad():
            self.codebook.copy_(codes)
            if self.ema_state is not None:
                self.ema_state.reset(self.codebook)
            self.unused_steps.zero_()

    def extra_repr(self) -> str:
        s = f"num_codes={self.num_codes}, code_dim={self.code_dim}, beta={self.beta}"
        if self.ema:
            s += f", ema=True, decay={self.decay}, eps={self.eps}"
        if self.restart_after is not None:
            s += f", restart_after={self.restart_after}"
        if self.fused:
            s += ", fused=True"
        return s + f", channel_dim={self.channel_dim}"

    # --- layout -------------------------------------------------------------------------
    def _flatten(self, z: Tensor, name: str = "z") -> Tensor:
        """(B, D, ...) or (B, ..., D) -> (N, D) rows; a view when D is already last."""
        if not isinstance(z, Tensor) or not z.is_floating_point():
            what = z.dtype if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"{name} must be a floating-point tensor, got {what}")
        layout = "(B, D, ...)" if self.channel_dim == 1 else "(B, ..., D)"
        if z.ndim < 2:
            raise ValueError(f"{name} must have shape {layout} with D={self.code_dim}, got "
                             f"shape {tuple(z.shape)}")
        if z.shape[self.channel_dim] != self.code_dim:
            raise ValueError(
                f"{name} has {z.shape[self.channel_dim]} channels on dim {self.channel_dim} "
                f"but the codebook expects D={self.code_dim} (layout {layout}, got shape "
                f"{tuple(z.shape)})"
            )
        if z.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(z.shape)})")
        return z.movedim(self.channel_dim, -1).reshape(-1, self.code_dim)

    def _unflatten(self, rows: Tensor, z_shape: torch.Size) -> Tensor:
        """Inverse of :meth:`_flatten` for (N, D) rows of an input of shape ``z_shape``."""
        last = list(z_shape)
        last.append(last.pop(self.channel_dim))
        return rows.view(last).movedim(-1, self.channel_dim).contiguous()  # so .view() works

    def _index_shape(self, z_shape: torch.Size) -> list[int]:
        shape = list(z_shape)
        del shape[self.channel_dim]
        return shape

    # --- the quantiser --------------------------------------------------------------------
    @staticmethod
    def _nearest_rows(flat: Tensor, codebook: Tensor) -> Tensor:
        """argmin_k ||z - e_k||^2 per row; ||z||^2 is the same for every k, so it is dropped."""
        with torch.no_grad():
            e_sq = codebook.square().sum(1)
            dist = torch.addmm(e_sq, flat, codebook.t(), alpha=-2.0)  # (N, K) = ||e||^2 - 2 z.e
            return dist.min(dim=1).indices  # .min(dim) is faster than .argmin on CPU

    def nearest(self, z: Tensor) -> Tensor:
        """Index of the nearest code for every position of ``z`` (no gradient)."""
        flat = self._flatten(z)
        check_finite(flat, "z")
        idx = self._nearest_rows(flat, self.codebook.to(flat.dtype))
        return idx.view(self._index_shape(z.shape))

    def lookup(self, indices: Tensor) -> Tensor:
        """Code vectors for integer ``indices`` of shape (B, ...), in the input layout."""
        if not isinstance(indices, Tensor) or indices.is_floating_point() or indices.is_complex():
            raise ValueError("indices must be an integer tensor of code numbers")
        if indices.ndim < 1:
            raise ValueError("indices need a batch dimension, got a 0-dim tensor")
        if indices.numel() and (indices.min() < 0 or indices.max() >= self.num_codes):
            raise ValueError(f"indices must lie in [0, {self.num_codes}), got min "
                             f"{int(indices.min())}, max {int(indices.max())}")
        codes = self.codebook[indices.long()]  # (B, ..., D)
        return codes.movedim(-1, self.channel_dim)

    def forward(self, z: Tensor) -> VQOutput:
        """Quantise ``z`` (layout set by ``channel_dim``); see :class:`VQOutput` for the result.

        Raises ValueError for a wrong channel size or a NaN/inf input (checked on the one
        summed squared distance, so a finite input costs no extra pass over ``z``).
        """
        flat = self._flatten(z)
        batch = z.shape[0]
        indices = self._nearest_rows(flat, self.codebook.detach().to(flat.dtype))
        if self.fused:
            quantized, codebook_loss, commitment = _StraightThrough.apply(
                flat, self.codebook, indices, batch, self.beta
            )
        else:  # the lesson's three lines
            e = self.codebook.index_select(0, indices).to(flat.dtype)
            quantized = flat + (e - flat).detach()
            codebook_loss = (flat.detach() - e).pow(2).sum() / batch
            commitment = self.beta * (flat - e.detach()).pow(2).sum() / batch
        if not torch.isfinite(codebook_loss):  # one scalar check instead of a pass over z
            self._explain_non_finite(z)
        if self.ema:
            codebook_loss = torch.zeros_like(commitment)  # the codebook learns by EMA instead

        with torch.no_grad():
            usage = torch.bincount(indices, minlength=self.num_codes).to(self.codebook.dtype)
            if self.training:
                if self.ema_state is not None:
                    self.ema_state.update(self.codebook, flat.detach(), indices, usage)
                self.unused_steps.add_(1).masked_fill_(usage > 0, 0)
                if self.restart_after is not None:
                    self._restart_dead(flat.detach())
            ppl = _perplexity_from_counts(usage)

        return VQOutput(
            quantized=self._unflatten(quantized, z.shape),
            indices=indices.view(self._index_shape(z.shape)),
            codebook_loss=codebook_loss,
            commitment_loss=commitment,
            perplexity=ppl,
            usage=usage,
        )

    def _explain_non_finite(self, z: Tensor) -> None:
        check_finite(z.detach(), "z")
        check_finite(self.codebook.detach(), "codebook")
        raise ValueError("squared distance to the codes overflowed to inf; z is too large "
                         f"(max |z| = {z.detach().abs().max().item():.3g})")

    def _restart_dead(self, flat: Tensor) -> None:
        """Re-seed codes idle for ``restart_after`` steps with random rows of ``flat``.

        Vectorised over all codes (no host sync): every code draws a candidate row and
        ``torch.where`` keeps it only for dead codes.
        """
        dead = self.unused_steps >= self.restart_after
        n = flat.shape[0]
        if n >= self.num_codes:  # distinct rows, so two revived codes never coincide
            rows = torch.randperm(n, device=flat.device)[: self.num_codes]
        else:
            rows = torch.randint(n, (self.num_codes,), device=flat.device)
        fresh = flat.index_select(0, rows).to(self.codebook.dtype)
        dead_rows = dead.unsqueeze(1)
        self.codebook.copy_(torch.where(dead_rows, fresh, self.codebook))
        if self.ema_state is not None:  # restart the averages as one pseudo-observation at the new code
            self.ema_state.reset(self.codebook, dead)
        self.num_restarts.add_(dead.sum())
        self.unused_steps.masked_fill_(dead, 0)
