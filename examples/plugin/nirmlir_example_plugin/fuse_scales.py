"""`fuse-scales`: replace a chain of two element-wise gains by one gain."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from nirmlir.dense import dense_from_numpy, numpy_from_dense
from nirmlir.dialects import nir, snn


class FuseScaleChain(RewritePattern):
    """Rewrite `scale(scale(x, a), b)` into `scale(x, a * b)` when the inner gain has no other use."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nir.ScaleOp | snn.ScaleOp, rewriter: PatternRewriter) -> None:
        if len(op.operands) != 1:
            return
        inner = op.operands[0].owner
        if type(inner) is not type(op) or len(inner.operands) != 1 or not inner.output.has_one_use():
            return
        product = numpy_from_dense(op.scale) * numpy_from_dense(inner.scale)
        fused = type(op).create(
            operands=[inner.operands[0]],
            result_types=[op.output.type],
            properties={**op.properties, "scale": dense_from_numpy(product)},
            attributes=dict(op.attributes),
        )
        # The fused op keeps the outer node's name, so the graph's outputs keep theirs.
        rewriter.replace(op, fused)
        rewriter.erase(inner)


@dataclass(frozen=True)
class FuseScalesPass(ModulePass):
    """Fuse chains of nir.scale or snn.scale ops into one gain per chain."""

    name = "fuse-scales"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FuseScaleChain()).rewrite_module(op)
