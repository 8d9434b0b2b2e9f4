"""Two runs given the same run directory (or a ``${now:}`` pattern that resolves to the same path)
cannot both start: the directory is claimed atomically before Hydra writes into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqlab.cli.preflight import preflight
from vqlab.cli.run_dir import check_fresh_output_dir
from vqlab.errors import ConfigError, RunDirectoryExistsError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


@pytest.mark.parametrize("pattern", ["{tmp}/run", "{tmp}/runs/${{now:%Y}}"])
def test_the_second_of_two_runs_on_one_directory_is_refused(tmp_path: Path, pattern: str):
    argument = f"hydra.run.dir={pattern.format(tmp=tmp_path)}"
    # both start before either has written anything: the old check passed both
    first = check_fresh_output_dir(["model=vqvae_ste", argument], CONF_DIR)
    with pytest.raises(RunDirectoryExistsError, match="already holds a run") as refused:
        check_fresh_output_dir(["model=vqvae_ste", argument], CONF_DIR)
    assert "\n" not in str(refused.value)
    pinned = Path(first[-1].removeprefix("hydra.run.dir="))
    assert first[-1].startswith("hydra.run.dir=") and "${" not in first[-1]
    assert pinned.is_dir() and tmp_path in pinned.parents


def test_an_existing_empty_directory_can_be_claimed_once(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    check_fresh_output_dir([f"hydra.run.dir={tmp_path / 'run'}"], CONF_DIR)
    with pytest.raises(RunDirectoryExistsError):
        check_fresh_output_dir([f"hydra.run.dir={tmp_path / 'run'}"], CONF_DIR)


def test_an_unquoted_equals_sign_in_a_value_is_one_line_naming_the_quotes() -> None:
    with pytest.raises(ConfigError) as error:
        preflight(["ckpt_path=/runs/x/checkpoints/step=6.ckpt"], CONF_DIR)
    message = str(error.value)
    assert "\n" not in message
    assert message.endswith("e.g. \"ckpt_path='/runs/x/checkpoints/step=6.ckpt'\"")
