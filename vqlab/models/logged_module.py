"""The training-step bookkeeping every vqlab model shares: named loss terms logged per stage,
code-usage windows, and the rules that keep both right under gradient accumulation and DDP.

A model computes one batch's ``StepOutput`` in ``step(batch, stage)``; this base logs it:

- every term as ``{stage}/{name}`` (``train/loss``, ``val/recon_mse``): per training step, and
  averaged over the epoch (synchronised across ranks) for ``val`` / ``test``;
- the quantizer's named terms (an entropy regularizer's ``entropy_loss``) as
  ``codebook/{name}`` in training and ``{stage}/{name}`` in evaluation;
- ``training_statistics`` (``temperature``, ``assign/*``, ``cae/*``, ``hcvq/*``) as named, on
  training steps only;
- ``evaluation`` metrics (PSNR and SSIM of image reconstructions, ``vqlab.metrics.image_quality``,
  in the datamodule's ``value_range``) as ``{stage}/{name}`` for ``val`` / ``test``, averaged over
  the epoch's images;
- the code histogram into the stage's usage window (``vqlab.metrics.windows``). The training
  window is logged under ``codebook/`` every ``usage_window`` optimizer steps, on the batch that
  ends the optimizer step (Lightning's accumulation rule: every ``accumulate_grad_batches``
  batches and at an epoch's last batch), then restarts; the evaluation window covers a whole
  validation or test epoch (``val/``, ``test/``). Names: ``codebook/<metric>`` over all codes,
  and with several codebooks also ``codebook/<name>/<metric>`` (``vqlab.quantizers.naming``).

The open training window is saved summed over ranks and restored on rank 0 alone (zeros on the
others), so a run resumed under DDP, on any number of ranks, reports what the uninterrupted run
reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from vqlab.distributed import rank_zero_share, summed_over_ranks
from vqlab.errors import check_positive
from vqlab.metrics.image_quality import image_quality
from vqlab.metrics.windows import UsageWindows
from vqlab.models.optimized import OptimizedModule, OptimizerFactory, SchedulerFactory
from vqlab.quantizers.naming import histogram_leaves, join_names

TRAIN_WINDOW_KEY = "usage.train_window.histogram"  # the training window's key in the state dict


@dataclass
class StepOutput:
    """What a model's ``step`` computed for one batch; ``terms["loss"]`` is what is minimised."""

    terms: dict[str, Tensor]  # named loss terms, logged as {stage}/{name}
    batch_size: int
    counts: Tensor | None = None  # (total codes,) histogram of all codebooks, concatenated
    codebook_terms: dict[str, Tensor] = field(default_factory=dict)  # the quantizer's terms
    training_statistics: dict[str, Tensor | float] = field(default_factory=dict)
    evaluation: dict[str, Tensor] = field(default_factory=dict)  # val / test only (PSNR, SSIM)

    @property
    def loss(self) -> Tensor:
        return self.terms["loss"]


class LoggedModule(OptimizedModule):
    """Base of every vqlab model: ``step`` per batch, logging and usage windows here (module doc).

    Subclasses implement ``step`` and, when they hold codebooks, ``codebooks`` (their top-level
    quantizers by display name), then call ``track_code_usage()`` at the end of ``__init__``.
    ``sparse_training_logs``: log training terms only on the steps whose logs the trainer writes
    (and the first): the logger receives the same rows and values, and Lightning's per-key log
    call is not paid on the steps in between. On for the linear lab (a step costs about what a
    log call costs) and the codebook autoencoders (VQ-VAE, VQ-VAE-2, HC-VQ: the log calls were
    ~13 % of a digits run's time under cProfile, the largest cost outside the model); off where
    a callback reads a training value every step or at an epoch's end (the CAE's
    ``StopOnConvergence``). Between two written steps the progress bar shows the last written
    values.
    """

    sparse_training_logs = False

    def __init__(
        self,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        usage_window: int = 50,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval)
        check_positive("usage_window", usage_window)
        self.usage_window = int(usage_window)
        self.usage: UsageWindows | None = None
        self.value_range: tuple[float, float] = (-1.0, 1.0)

    def setup(self, stage: str) -> None:
        """Read the inputs' range from the datamodule (PSNR, SSIM); [-1, 1] without one."""
        datamodule = self.trainer.datamodule if self._trainer is not None else None
        value_range = getattr(datamodule, "value_range", None)  # a user's datamodule may lack it
        if value_range is not None:
            self.value_range = (float(value_range[0]), float(value_range[1]))

    def image_metrics(self, x_hat: Tensor, x: Tensor, stage: str) -> dict[str, Tensor]:
        """PSNR and SSIM of an evaluation batch of images (b, c, h, w); nothing otherwise."""
        if stage == "train" or x.dim() != 4:
            return {}
        return image_quality(x_hat.reshape(x.shape), x, self.value_range)

    def codebooks(self) -> dict[str, nn.Module]:
        """The model's quantizers by display name (``""`` for a single one); none by default."""
        return {}

    def codebook_sizes(self) -> dict[str, int]:
        """Every codebook's number of codes by display name, in ``StepOutput.counts`` order."""
        return {name: q.codebook_size for name, q in histogram_leaves(self.codebooks()).items()}

    def track_code_usage(self) -> None:
        """Create the usage windows of ``codebook_sizes()`` (call once the modules are set)."""
        sizes = self.codebook_sizes()
        self.usage = UsageWindows(sizes) if sizes else None

    def step(self, batch: Any, stage: str) -> StepOutput:
        """Forward one batch and compute its terms; ``stage`` is ``train``, ``val`` or ``test``."""
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        out = self.step(batch, "train")
        self.record(out, "train", batch_idx)
        return out.loss

    def validation_step(self, batch: Any, batch_idx: int) -> Tensor:
        out = self.step(batch, "val")
        self.record(out, "val", batch_idx)
        return out.loss

    def test_step(self, batch: Any, batch_idx: int) -> Tensor:
        out = self.step(batch, "test")
        self.record(out, "test", batch_idx)
        return out.loss

    def record(self, out: StepOutput, stage: str, batch_idx: int) -> None:
        """Log ``out`` and add its codes to the stage's window (the rules of the module doc)."""
        train = stage == "train"
        if not (train and self.sparse_training_logs) or self.trainer_writes_logs():
            self.log_terms(out, stage)
        if self.usage is None or out.counts is None:
            return
        self.usage.window(stage).update(out.counts)
        window_ends = (self.global_step + 1) % self.usage_window == 0
        if train and window_ends and self.ends_optimizer_step(batch_idx):
            self.log_usage("train")

    def log_terms(self, out: StepOutput, stage: str) -> None:
        train = stage == "train"
        options = {"on_step": train, "on_epoch": not train, "sync_dist": not train}
        terms = {f"{stage}/{name}": value.detach() for name, value in out.terms.items()}
        self.log_dict(terms, prog_bar=True, batch_size=out.batch_size, **options)
        if out.codebook_terms:
            prefix = "codebook" if train else stage
            named = {f"{prefix}/{name}": value for name, value in out.codebook_terms.items()}
            self.log_dict(named, batch_size=out.batch_size, **options)
        if train and out.training_statistics:
            self.log_dict(out.training_statistics, on_step=True, on_epoch=False)
        if out.evaluation:
            named = {f"{stage}/{name}": value for name, value in out.evaluation.items()}
            self.log_dict(named, batch_size=out.batch_size, **options)

    def trainer_writes_logs(self) -> bool:
        """Whether the trainer writes this training step's logs (and always for the first):
        Lightning writes every ``log_every_n_steps`` optimizer steps, every step of a
        ``fast_dev_run`` and once a run is told to stop (``should_stop``)."""
        if self._trainer is None:
            return True
        trainer = self.trainer
        step = self.global_step  # this step's index until the optimizer steps
        if step == 0 or trainer.should_stop or trainer.fast_dev_run:
            return True
        every = trainer.log_every_n_steps
        return every > 0 and (step + 1) % every == 0

    def ends_optimizer_step(self, batch_idx: int) -> bool:
        """Whether the optimizer steps after this training batch (Lightning's accumulation rule:
        every ``accumulate_grad_batches`` batches and on the last batch of an epoch)."""
        if self._trainer is None:
            return True
        trainer = self.trainer
        return (batch_idx + 1) % trainer.accumulate_grad_batches == 0 or (
            batch_idx + 1 == trainer.num_training_batches
        )

    def log_usage(self, stage: str) -> None:
        """Log the stage's window (``codebook/`` for training) and start a new one.

        ``usage`` also shows in the progress bar. The statistics are already summed over ranks;
        ``sync_dist`` at epoch level only silences Lightning's DDP warning (averaging equal
        values); per training step it would cost a sync.
        """
        assert self.usage is not None
        prefix = "codebook" if stage == "train" else stage
        statistics = {join_names(prefix, k): v for k, v in self.usage.statistics(stage).items()}
        sync = stage != "train"
        self.log(
            f"{prefix}/usage", statistics.pop(f"{prefix}/usage"), prog_bar=True, sync_dist=sync
        )
        self.log_dict(statistics, sync_dist=sync)
        self.usage.window(stage).reset()

    def on_validation_epoch_start(self) -> None:
        if self.usage is not None:
            self.usage.eval_window.reset()

    def on_validation_epoch_end(self) -> None:
        if self.usage is not None:
            self.log_usage("val")

    def on_test_epoch_start(self) -> None:
        if self.usage is not None:
            self.usage.eval_window.reset()

    def on_test_epoch_end(self) -> None:
        if self.usage is not None:
            self.log_usage("test")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.usage is not None:  # every rank builds the checkpoint: the sum is a collective
            checkpoint["state_dict"][TRAIN_WINDOW_KEY] = summed_over_ranks(
                self.usage.train_window.histogram
            )

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        state = checkpoint["state_dict"]
        if TRAIN_WINDOW_KEY in state:
            state[TRAIN_WINDOW_KEY] = rank_zero_share(state[TRAIN_WINDOW_KEY])
