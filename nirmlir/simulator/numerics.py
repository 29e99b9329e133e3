"""Array math shared by the snn and fxp kernels: affine maps, convolutions and pools over a batch.

Every function takes arrays with a leading batch axis and works for float64 and int64 alike.
Integer inputs stay integer: numpy's integer matmul is exact until it wraps past int64, which
the fxp kernels rule out at compile time.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def affine(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Return `W x` over the last axis for a batch x of shape (B, ..., in) and W of shape (..., out, in)."""
    if weight.ndim == 2:
        return x @ weight.T
    # Leading weight axes pair with the leading axes of each sample: y[b,...,o] = Σ_i W[...,o,i] x[b,...,i].
    return np.einsum("...oi,b...i->b...o", weight, x)


def _windows(
    x: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...]
) -> np.ndarray:
    """Return the strided windows of x (B, C, *spatial) as a view (B, C, *out_spatial, *kernel).

    The input is zero-padded symmetrically by `padding` on each spatial axis.
    """
    rank = len(kernel)
    if any(padding):
        x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    axes = tuple(range(2, 2 + rank))
    windows = sliding_window_view(x, spans, axis=axes)
    index = (slice(None), slice(None))
    index += tuple(slice(None, None, s) for s in stride)
    index += tuple(slice(None, None, d) for d in dilation)
    return windows[index]


def convolution(
    x: np.ndarray,
    weight: np.ndarray,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """Return the PyTorch-style cross-correlation of x (B, C_in, *spatial) with W (C_out, C_in/groups, *kernel).

    Windows are gathered once (im2col) and multiplied with one matrix product per group. Float
    data put the kernel axis first, which suits BLAS; numpy's integer matmul, which has no BLAS,
    is faster with the positions first. Both orders compute the same sums.
    """
    batch = x.shape[0]
    out_channels, group_channels = weight.shape[:2]
    per_group = out_channels // groups
    kernel = weight.shape[2:]
    rank = len(kernel)
    windows = _windows(x, kernel, stride, padding, dilation)
    out_spatial = tuple(windows.shape[2 : 2 + rank])
    positions = int(np.prod(out_spatial))
    # (B, C, *out, *k) -> (B, G, Cg, *out, *k)
    windows = windows.reshape((batch, groups, group_channels) + windows.shape[2:])
    out_axes = tuple(range(3, 3 + rank))
    kernel_axes = tuple(range(3 + rank, 3 + 2 * rank))
    matrices = weight.reshape(groups, per_group, -1)

    if x.dtype.kind == "f":
        # (G, Cg·prod(k), B·positions): (G, C_out/G, K) @ columns -> (G, C_out/G, B·positions)
        columns = windows.transpose((1, 2) + kernel_axes + (0,) + out_axes).reshape(groups, -1, batch * positions)
        products = np.matmul(matrices, columns).reshape(groups, per_group, batch, positions)
        return products.transpose(2, 0, 1, 3).reshape((batch, out_channels) + out_spatial)

    # (G, B·positions, Cg·prod(k)) @ (G, K, C_out/G) -> (G, B·positions, C_out/G)
    columns = windows.transpose((1, 0) + out_axes + (2,) + kernel_axes).reshape(groups, batch * positions, -1)
    products = np.matmul(columns, matrices.transpose(0, 2, 1)).reshape(groups, batch, positions, per_group)
    return products.transpose(1, 0, 3, 2).reshape((batch, out_channels) + out_spatial)


def sum_pool(x: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...]) -> np.ndarray:
    """Return the zero-padded sum pool of x (B, C, *spatial) over windows of `kernel`."""
    spatial = x.shape[2:]
    if stride == kernel and not any(padding) and all(size % k == 0 for size, k in zip(spatial, kernel)):
        # Windows that tile the input exactly are a reshape: (B, C, H/kh, kh, W/kw, kw).
        tiled = x.reshape(x.shape[:2] + tuple(d for size, k in zip(spatial, kernel) for d in (size // k, k)))
        return tiled.sum(axis=tuple(range(3, 3 + 2 * len(kernel), 2)))
    windows = _windows(x, kernel, stride, padding, (1,) * len(kernel))
    return windows.sum(axis=tuple(range(-len(kernel), 0)))
