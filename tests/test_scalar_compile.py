"""FSQ and LFQ trace into one graph: torch.compile sees no graph break in training mode."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from vqlab.quantizers import FSQQuantizer, LFQQuantizer


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [lambda: FSQQuantizer(8, levels=[8, 5, 5]), lambda: LFQQuantizer(8, codebook_size=64)],
    ids=["fsq", "lfq"],
)
def test_training_forward_has_no_graph_break(make) -> None:
    torch._dynamo.reset()
    quantizer = make().train()
    explanation = torch._dynamo.explain(quantizer)(torch.randn(256, 8, requires_grad=True))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1
