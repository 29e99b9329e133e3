"""Unit tests of lower-to-speck: sinabs' scale rule and the placement of layers on cores."""

from __future__ import annotations

import numpy as np
import pytest

from nirmlir.diagnostics import DiagnosticError
from nirmlir.dialects import speck
from nirmlir.passes.lower_to_speck import Layer, discretization_scale, discretize, place_layers


def make_layer(name: str, out_channels: int, size: int) -> Layer:
    """Return a layer of 1x1 kernels from one channel to `out_channels` channels on a size x size map."""
    return Layer(
        name=name,
        neuron=name,
        in_shape=(1, size, size),
        weight=np.zeros((out_channels, 1, 1, 1), dtype=np.float32),
        bias=np.zeros(out_channels, dtype=np.float32),
        stride=(1, 1),
        padding=(0, 0),
        threshold=np.float32(1.0),
        floor=np.float32(-1.0),
        return_to_zero=False,
        sources=(None,),
    )


def raise_error(node, message):
    return DiagnosticError(f"{node}: {message}")


def test_memory_formulas():
    # c·2^(⌈log2 k²⌉ + ⌈log2 f⌉), f·2^(⌈log2 f_y⌉ + ⌈log2 f_x⌉), f.
    assert speck.memory_use(8, 256, 4, (1, 1)) == {"kernel": 8 * 2 ** (4 + 8), "neuron": 256, "bias": 256}
    assert speck.memory_use(2, 16, 5, (16, 16)) == {"kernel": 2 * 2 ** (5 + 4), "neuron": 16 * 2**8, "bias": 16}
    assert speck.memory_use(3, 10, 1, (5, 3)) == {"kernel": 3 * 2**4, "neuron": 10 * 2 ** (3 + 2), "bias": 10}


def test_scale_positive_bound_binds():
    assert discretization_scale(np.array([-0.5, 1.0]), 8) == np.float32(127.0)


def test_scale_negative_bound_binds():
    # |min| exceeds max·128/127, so 128/|min| binds.
    assert discretization_scale(np.array([-2.0, 1.0]), 8) == np.float32(64.0)


def test_scale_of_zeros_is_infinite():
    assert np.isinf(discretization_scale(np.zeros(4), 8))


def test_rounding_halves_to_even():
    # torch.round, which sinabs uses, rounds halves to even.
    assert discretize(np.array([0.5, 1.5, 2.5, -0.5]), np.float32(1.0)).tolist() == [0, 2, 2, 0]


def test_placement_leaves_room_for_later_layers():
    # Layers b, c and d need 16·2^12 = 65536 neuron entries, which only cores 0 to 2 have, so
    # the small layer a goes to core 3 although it fits core 0.
    layers = [make_layer("a", 1, 1)] + [make_layer(name, 16, 64) for name in "bcd"]
    place_layers(layers, raise_error)
    assert [layer.core for layer in layers] == [3, 0, 1, 2]


def test_placement_takes_lowest_cores():
    layers = [make_layer(name, 4, 8) for name in "abc"]
    place_layers(layers, raise_error)
    assert [layer.core for layer in layers] == [0, 1, 2]


def test_placement_without_enough_cores():
    layers = [make_layer(name, 16, 64) for name in "abcd"]
    with pytest.raises(DiagnosticError, match=r"cannot all get a core of their own \('a' fits cores \[0, 1, 2\]"):
        place_layers(layers, raise_error)


def test_layer_too_large_for_every_core():
    layers = [make_layer("big", 32, 64)]
    with pytest.raises(
        DiagnosticError, match="needs 131072 neuron memory entries, 65536 more than the largest core's 65536"
    ):
        place_layers(layers, raise_error)
