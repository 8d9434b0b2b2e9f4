"""Codebook-dimension curriculum: the mask, opening dimensions without new parameters, resume."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import pytest
import torch

from vqlab.callbacks import DimensionCurriculum
from vqlab.errors import ConfigValueError
from vqlab.quantizers import DimensionCurriculumQuantizer, STEQuantizer


def make() -> DimensionCurriculumQuantizer:
    torch.manual_seed(0)
    return DimensionCurriculumQuantizer(
        6, codebook_dim=4, quantizer=partial(STEQuantizer, 16), initial_dims=1
    )


def test_only_the_active_dimensions_reach_the_codebook_and_the_output() -> None:
    quantizer = make()
    z = torch.randn(30, 6)
    seen = []
    quantizer.quantizers[0].register_forward_hook(lambda m, args, out: seen.append(args[0]))
    out = quantizer(z)
    projected = quantizer.project_in(z)
    expected_input = torch.cat([projected[:, :1], torch.zeros(30, 3)], dim=1)
    torch.testing.assert_close(seen[0], expected_input)
    codes = quantizer.quantizers[0].codebook[out.indices].detach()
    codes[:, 1:] = 0
    torch.testing.assert_close(out.quantized, quantizer.project_out(codes))
    torch.testing.assert_close(quantizer.decode(quantizer.encode(z)), out.quantized)


def test_callback_opens_dimensions_at_its_steps_without_new_parameters() -> None:
    quantizer = make()
    model = torch.nn.Sequential(quantizer)
    shapes = [p.shape for p in model.parameters()]
    callback = DimensionCurriculum(steps=[2, 5], sizes=[2, 4])
    callback.setup(None, model, "fit")
    opened = []
    for step in range(7):
        callback.on_train_batch_start(SimpleNamespace(global_step=step), model, None, 0)
        opened.append(int(quantizer.active_dims))
    assert opened == [1, 1, 2, 2, 2, 4, 4]
    assert [p.shape for p in model.parameters()] == shapes
    # the open dimensions are checkpointed state: a fresh quantizer resumes with them
    resumed = make()
    resumed.load_state_dict(quantizer.state_dict())
    assert int(resumed.active_dims) == 4


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"steps": [5, 5], "sizes": [2, 4]}, "steps"),
        ({"steps": [5, 3], "sizes": [2, 4]}, "steps"),
        ({"steps": [1, 2], "sizes": [4, 2]}, "sizes"),
        ({"steps": [1], "sizes": [2, 4]}, "sizes"),
    ],
)
def test_bad_schedules_name_their_key(kwargs, key: str) -> None:
    with pytest.raises(ConfigValueError) as error:
        DimensionCurriculum(**kwargs)
    assert error.value.argument == key


def test_sizes_beyond_codebook_dim_are_refused_at_setup() -> None:
    callback = DimensionCurriculum(steps=[1], sizes=[5])
    with pytest.raises(ConfigValueError) as error:
        callback.setup(None, torch.nn.Sequential(make()), "fit")
    assert error.value.argument == "sizes"
