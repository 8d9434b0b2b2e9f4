"""A module with a temperature that a schedule changes over training."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.errors import check_positive


class Annealable(nn.Module):
    """Base of every module whose ``temperature`` is annealed by ``TemperatureAnnealing``.

    ``temperature`` reads as a 0-dim float tensor and is set from a float (> 0, else
    ``ConfigValueError``). It lives in the persistent buffer ``temperature_buffer``, so checkpoints
    hold it and a resumed run starts at the temperature it was interrupted at.
    """

    temperature_buffer: Tensor

    def __init__(self, temperature: float) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        self.register_buffer("temperature_buffer", torch.tensor(float(temperature)))

    @property
    def temperature(self) -> Tensor:
        """The current temperature, a 0-dim tensor on the module's device."""
        return self.temperature_buffer

    @temperature.setter
    def temperature(self, value: float) -> None:
        check_positive("temperature", value)
        self.temperature_buffer.fill_(value)
