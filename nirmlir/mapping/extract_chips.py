"""Extraction of the neuron-level connectivity from the loihi2 and spinnaker2 chip dialects.

A loihi2 layer op (`dense`, `dense_rec`, `conv`) is a synapse and a neuron group in one op, so
its weights are the first stage of every path into it. SpiNNaker2 keeps populations and
projections apart, like fxp keeps neuron and weight ops.
"""

from __future__ import annotations

from xdsl.ir import Operation

from nirmlir.dense import ints_from_array
from nirmlir.dialects import loihi2, spinnaker2
from nirmlir.mapping.extract import _Extractor, _shape
from nirmlir.mapping.network import Stage


class Loihi2Extractor(_Extractor):
    INPUT = (loihi2.InputOp,)
    NEURON = (loihi2.LayerOp,)
    OUTPUT = (loihi2.OutputOp,)
    RESHAPE = (loihi2.FlattenOp,)

    def own_stages(self, neuron: Operation) -> list[Stage]:
        out_shape = _shape(neuron.output)
        if isinstance(neuron, loihi2.ConvOp):
            weight_shape = tuple(neuron.weight.get_shape())
            return [Stage("window", _shape(neuron.operands[0]), out_shape, kernel=weight_shape[2:],
                          stride=ints_from_array(neuron.stride), padding=ints_from_array(neuron.padding),
                          dilation=ints_from_array(neuron.dilation), groups=neuron.groups.value.data)]
        return [self._dense_stage(neuron, out_shape)]

    def self_stages(self, neuron: Operation) -> list[Stage] | None:
        if isinstance(neuron, loihi2.DenseRecOp):
            return [self._dense_stage(neuron, _shape(neuron.output), neuron.weight_rec)]
        return None

    def stages_of(self, op: Operation) -> list[Stage]:
        if isinstance(op, self.RESHAPE):
            return [Stage("reshape", _shape(op.operands[0]), _shape(op.results[0]))]
        raise self._error(op, "has no neuron-level connectivity that map-to-cores knows")


class SpiNNaker2Extractor(_Extractor):
    INPUT = (spinnaker2.InputOp,)
    NEURON = (spinnaker2.NeuronPopulationOp,)
    OUTPUT = (spinnaker2.OutputOp,)
    RESHAPE = ()

    def stages_of(self, op: Operation) -> list[Stage]:
        if isinstance(op, spinnaker2.ProjectionOp):
            return [self._dense_stage(op, _shape(op.output))]
        if isinstance(op, spinnaker2.Conv2dProjectionOp):
            return self._conv_stages(op)
        raise self._error(op, "has no neuron-level connectivity that map-to-cores knows")

    def _conv_stages(self, op: spinnaker2.Conv2dProjectionOp) -> list[Stage]:
        """Return the convolution, then the sum pooling before it: py-spinnaker2 pools first."""
        channels, height, width = ints_from_array(op.in_shape)
        in_channels, out_channels, kernel_y, kernel_x = tuple(op.weight.get_shape())
        pool = ints_from_array(op.pool)
        top, _, left, _ = ints_from_array(op.padding)
        pooled = (channels, height // pool[0], width // pool[1])
        out_positions = _shape(op.output)[0] // out_channels
        stride = ints_from_array(op.stride)
        out_height = (pooled[1] + sum(ints_from_array(op.padding)[:2]) - kernel_y) // stride[0] + 1
        stages = [Stage("window", pooled, (out_channels, out_height, out_positions // out_height), kernel=(kernel_y, kernel_x),
                        stride=stride, padding=(top, left), dilation=(1, 1), groups=1)]
        if pool != (1, 1):
            stages.append(Stage("window", (channels, height, width), pooled, kernel=pool, stride=pool,
                                padding=(0, 0), dilation=(1, 1), groups=channels))
        return stages


CHIP_EXTRACTORS = {"loihi2.graph": Loihi2Extractor, "spinnaker2.graph": SpiNNaker2Extractor}
