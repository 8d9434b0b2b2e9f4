"""The device-resident path serves the same batches as the DataLoader path."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from fake_datasets import write_mnist
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor, nn

from vqlab.data import MNISTDataModule
from vqlab.data.device_loader import DeviceBatchLoader
from vqlab.data.resumable import ResumableSampler
from vqlab.errors import ConfigValueError


@pytest.fixture
def mnist_root(tmp_path: Path) -> str:
    write_mnist(tmp_path, num_train=70, num_test=10)
    return str(tmp_path)


class BatchRecorder(L.LightningModule):
    """Records every training batch (as the model receives it) and fits nothing much."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.seen: list[tuple[int, Tensor, Tensor]] = []

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        self.seen.append((self.current_epoch, x.clone(), y.clone()))
        return (x.mean() - self.weight) ** 2

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit_and_record(
    root: str,
    in_memory: str,
    num_workers: int = 0,
    checkpoint_dir: Path | None = None,
    ckpt_path: Path | None = None,
    **options: object,
) -> list:
    """Fit two epochs; with ``checkpoint_dir``, save a checkpoint after every step there."""
    datamodule = MNISTDataModule(
        root, batch_size=16, num_workers=num_workers, in_memory=in_memory, seed=7, **options
    )
    model = BatchRecorder()
    callbacks = []
    if checkpoint_dir is not None:
        callbacks = [
            ModelCheckpoint(checkpoint_dir, "{step}", every_n_train_steps=1, save_top_k=-1)
        ]
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=bool(callbacks),
        callbacks=callbacks,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    assert datamodule.is_in_memory == (in_memory == "true")
    return model.seen


def test_device_resident_and_dataloader_paths_give_identical_batches(mnist_root: str) -> None:
    fast = fit_and_record(mnist_root, "true")
    slow = fit_and_record(mnist_root, "false", num_workers=1)
    assert len(fast) == len(slow) == 2 * 4  # 63 training samples, batches of 16, two epochs
    for (epoch_a, x_a, y_a), (epoch_b, x_b, y_b) in zip(fast, slow, strict=True):
        assert epoch_a == epoch_b and torch.equal(x_a, x_b) and torch.equal(y_a, y_b)
    assert x_a.dtype == torch.float32 and x_a.min() >= -1 and x_a.max() <= 1
    # each epoch has its own order (Lightning reached the sampler's set_epoch)
    assert not torch.equal(fast[0][1], fast[4][1])


@pytest.mark.parametrize(("in_memory", "num_workers"), [("true", 0), ("false", 1)])
@pytest.mark.parametrize("cut", [6])  # batch 2 of 4 in epoch 1
def test_resumed_run_continues_with_the_batch_after_the_checkpoint(
    mnist_root: str, tmp_path: Path, in_memory: str, num_workers: int, cut: int
) -> None:
    full = fit_and_record(mnist_root, in_memory, num_workers, checkpoint_dir=tmp_path)
    rest = fit_and_record(
        mnist_root, in_memory, num_workers, ckpt_path=tmp_path / f"step={cut}.ckpt"
    )
    assert len(rest) == len(full) - cut
    for (epoch_a, x_a, y_a), (epoch_b, x_b, y_b) in zip(full[cut:], rest, strict=True):
        assert epoch_a == epoch_b and torch.equal(x_a, x_b) and torch.equal(y_a, y_b)


def test_random_flips_are_the_same_on_both_paths_and_differ_between_epochs(
    mnist_root: str,
) -> None:
    fast = fit_and_record(mnist_root, "true", random_flip=True, value_range=(0.0, 1.0))
    slow = fit_and_record(mnist_root, "false", random_flip=True, value_range=(0.0, 1.0))
    plain = fit_and_record(mnist_root, "true", value_range=(0.0, 1.0))
    mirrored = []
    for (_, x_a, y_a), (_, x_b, y_b), (_, x_c, _) in zip(fast, slow, plain, strict=True):
        assert torch.equal(x_a, x_b) and torch.equal(y_a, y_b)
        same, flipped = (x_a == x_c).flatten(1).all(1), (x_a == x_c.flip(-1)).flatten(1).all(1)
        assert (same | flipped).all()  # each image is the original or its mirror
        mirrored.append(flipped & ~same)
    per_epoch = [torch.cat(mirrored[:4]), torch.cat(mirrored[4:])]
    assert 0.25 < float(per_epoch[0].float().mean()) < 0.75
    assert not torch.equal(per_epoch[0], per_epoch[1])  # a new draw every epoch
    assert float(x_a.min()) >= 0.0 and float(x_a.max()) <= 1.0


def test_value_range_scales_the_images_and_must_be_increasing(mnist_root: str) -> None:
    datamodule = MNISTDataModule(mnist_root, value_range=[0, 1], in_memory=True)
    images = torch.tensor([[0, 51, 255]], dtype=torch.uint8)
    (scaled,) = datamodule.on_after_batch_transfer((images,), 0)
    torch.testing.assert_close(scaled, torch.tensor([[0.0, 0.2, 1.0]]))
    with pytest.raises(ConfigValueError, match="value_range"):
        MNISTDataModule(mnist_root, value_range=[1, 0])


def test_resumable_sampler_skips_the_start_of_this_ranks_shard_once() -> None:
    order = list(range(10))
    shards = [list(ResumableSampler(order, num_replicas=2, rank=rank)) for rank in range(2)]
    assert shards == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    sampler = ResumableSampler(order, num_replicas=2, rank=1)
    sampler.start = 3
    assert list(sampler) == [7, 9]
    assert list(sampler) == shards[1]  # the next epoch starts from the beginning again


def test_fast_path_order_depends_only_on_seed_and_epoch(mnist_root: str) -> None:
    def labels(epoch: int, seed: int) -> Tensor:
        datamodule = MNISTDataModule(mnist_root, batch_size=8, in_memory="true", seed=seed)
        datamodule.setup("fit")
        loader = datamodule.train_dataloader()
        loader.sampler.set_epoch(epoch)
        return torch.cat([y for _, y in loader])

    assert torch.equal(labels(1, seed=0), labels(1, seed=0))
    assert not torch.equal(labels(1, seed=0), labels(2, seed=0))
    assert not torch.equal(labels(1, seed=0), labels(1, seed=1))


@pytest.mark.parametrize("in_memory", ["true", "false"])
def test_ddp_ranks_take_disjoint_shards_that_cover_the_split(
    mnist_root: str, in_memory: str
) -> None:
    shards = []
    for rank in range(2):
        datamodule = MNISTDataModule(mnist_root, batch_size=8, in_memory=in_memory, seed=1)
        datamodule.setup("fit")
        # the datamodule reads the world size, rank and device from its trainer
        datamodule.trainer = SimpleNamespace(
            world_size=2, global_rank=rank, strategy=SimpleNamespace(root_device="cpu")
        )
        loader = datamodule.train_dataloader()
        loader.sampler.set_epoch(3)
        shards.append(torch.cat([x.flatten(1) for x, _ in loader]))
    assert len(shards[0]) == len(shards[1]) == 32  # 63 samples padded to 64
    rows = {tuple(row.tolist()) for row in torch.cat(shards)}
    assert len(rows) == 63


def test_device_batch_loader_cuts_the_sampler_order_into_batches() -> None:
    data = torch.arange(10)
    order = ResumableSampler([3, 1, 4, 0, 9, 2, 6])
    loader = DeviceBatchLoader((data, -data), batch_size=4, sampler=order)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    assert batches[0][0].tolist() == [3, 1, 4, 0] and batches[1][1].tolist() == [-9, -2, -6]


def test_auto_keeps_a_small_dataset_in_memory(mnist_root: str) -> None:
    datamodule = MNISTDataModule(mnist_root, in_memory=True)  # YAML may give a bool
    datamodule.setup("fit")
    assert datamodule.is_in_memory
    automatic = MNISTDataModule(mnist_root, in_memory="auto")
    automatic.setup("fit")
    assert automatic.is_in_memory


def test_in_memory_rejects_unknown_values(mnist_root: str) -> None:
    with pytest.raises(ConfigValueError, match="in_memory"):
        MNISTDataModule(mnist_root, in_memory="sometimes")
