"""Concrete autoencoder feature selection against PCA and the highest-variance pixels.

Abid, Balin & Zou, "Concrete Autoencoders", ICML 2019, arXiv:1901.09346, Sec. 4: select k pixels,
then score them by the test MSE of a linear regression from the k pixels to the whole image
(pixel values in [0, 1]); their MNIST k = 50 numbers are CAE 0.026, PCA 0.012, PFA 0.051,
Laplacian score 0.070. The GJS regularizer is from Nilsson et al., ICML 2024, arXiv:2403.00563.

Digits (64 pixels, embedded): k in {8, 16, 32}, CAE with and without GJS, and with
``--indirect-dim m`` each also with indirectly parameterised logits (IP-CAE, Nilsson et al. 2024:
a learned m-dim embedding per selector and one shared linear map); MNIST k = 50 when
``--mnist-root`` holds torchvision's MNIST (else skipped). ``python -m experiments.cae``
(``--quick``: k = 4, 1 epoch, no MNIST).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import lightning as L
import matplotlib
import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from torch.utils.data import DataLoader, TensorDataset

from vqlab.callbacks import TemperatureAnnealing
from vqlab.data import DigitsDataModule
from vqlab.models import ConcreteAutoencoder
from vqlab.nets import MLPDecoder
from vqlab.quantizers import ConcreteSelector

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FIGURES = Path(__file__).resolve().parent / "figures"


def regression_mse(train: np.ndarray, test: np.ndarray, features: np.ndarray) -> float:
    """Test MSE of a linear regression from the ``features`` columns to all columns."""
    columns = np.unique(features)
    regression = LinearRegression().fit(train[:, columns], train)
    return float(np.mean((regression.predict(test[:, columns]) - test) ** 2))


def pca_mse(train: np.ndarray, test: np.ndarray, k: int) -> float:
    """Test MSE of the rank-k PCA reconstruction (the linear limit of k features)."""
    pca = PCA(n_components=k).fit(train)
    return float(np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2))


@dataclass(frozen=True)
class TrainSettings:
    """How each CAE is trained (the script's CLI defaults are the tuned digits settings)."""

    epochs: int = 260
    batch_size: int = 64
    lr: float = 3e-2
    gjs_weight: float = 0.0
    seed: int = 0
    indirect_dim: int | None = None


def train_cae(
    splits: dict[str, torch.Tensor], k: int, settings: TrainSettings
) -> ConcreteAutoencoder:
    """Fit a CAE (the paper's decoder: one hidden layer of 3k/2) on images in [0, 1].

    The temperature anneals exponentially from 10 to 0.01 per optimizer step (the paper's
    ``T(b) = T0 (T_B / T0)^(b / B)`` over all B steps), not per epoch.
    """
    L.seed_everything(settings.seed, verbose=False)
    shape = list(splits["train"].shape[1:])
    model = ConcreteAutoencoder(
        ConcreteSelector(
            num_features=int(np.prod(shape)),
            num_selected=k,
            indirect_dim=settings.indirect_dim,
        ),
        MLPDecoder(
            shape,
            hidden_features=[3 * k // 2],
            latent_dim=k,
            activation="leaky_relu",
            dropout=0.1,
            output_activation="sigmoid",
        ),
        optimizer=partial(torch.optim.Adam, lr=settings.lr),
        gjs_weight=settings.gjs_weight,
    )
    loader = DataLoader(
        TensorDataset(splits["train"]), batch_size=settings.batch_size, shuffle=True
    )
    trainer = L.Trainer(
        max_epochs=settings.epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        accelerator="auto",
        devices=1,
        callbacks=[TemperatureAnnealing(10.0, 0.01, "exp", interval="step")],
    )
    trainer.fit(model, loader)
    return model.cpu().eval()


def decoder_mse(model: ConcreteAutoencoder, images: torch.Tensor) -> float:
    """MSE of the CAE's own (argmax-selection) reconstruction of ``images``."""
    with torch.no_grad():
        return torch.mean((model(images)[0] - images) ** 2).item()


VARIANTS = ("cae", "gjs", "ip", "gjs_ip")


def cae_variants(
    settings: TrainSettings, names: tuple[str, ...] = VARIANTS
) -> list[tuple[float, int | None]]:
    """(GJS weight, indirect_dim) of each CAE to train: ``cae`` free logits without GJS, ``gjs``
    with ``settings.gjs_weight``, ``ip`` IP logits (``settings.indirect_dim``), ``gjs_ip`` both;
    a variant whose knob is off (weight 0, no indirect_dim) falls back to ``cae`` (run once)."""
    weight, indirect = settings.gjs_weight, settings.indirect_dim
    chosen = {
        "cae": (0.0, None),
        "gjs": (weight, None),
        "ip": (0.0, indirect),
        "gjs_ip": (weight, indirect),
    }
    return list(dict.fromkeys(chosen[name] for name in names))


def compare(
    name: str,
    splits: dict[str, torch.Tensor],
    ks: list[int],
    settings: TrainSettings,
    figures: Path = FIGURES,
    variants: tuple[str, ...] = VARIANTS,
) -> list[dict]:
    """One row per (k, method); saves the masks as ``<figures>/cae_<name>_masks.png``."""
    train, test = (splits[split].flatten(1).numpy() for split in ("train", "test"))
    by_variance = np.argsort(train.var(0))[::-1]
    rows, masks = [], {}
    for k in ks:
        variance_pixels = by_variance[:k]
        rows.append({"k": k, "method": "PCA (k components)", "test_mse": pca_mse(train, test, k)})
        rows.append(
            {
                "k": k,
                "method": "highest-variance pixels",
                "distinct": k,
                "test_mse": regression_mse(train, test, variance_pixels),
            }
        )
        masks[(k, "highest variance")] = variance_pixels
        for weight, indirect in cae_variants(settings, variants):
            start = time.perf_counter()
            model = train_cae(
                splits, k, replace(settings, gjs_weight=weight, indirect_dim=indirect)
            )
            selected = model.selector.selected_features().numpy()
            stats = model.selection_statistics()
            label = f"CAE, GJS weight {weight:g}" if weight else "CAE (no GJS)"
            label += f", IP (m = {indirect})" if indirect else ""
            masks[(k, label)] = selected
            rows.append(
                {
                    "k": k,
                    "method": label,
                    "distinct": len(np.unique(selected)),
                    "mean_max_prob": stats["cae/mean_max_prob"].item(),
                    "val_recon_mse": decoder_mse(model, splits["val"]),
                    "test_recon_mse": decoder_mse(model, splits["test"]),
                    "test_mse": regression_mse(train, test, selected),
                    "seconds": time.perf_counter() - start,
                }
            )
    save_masks(name, splits["train"], ks, masks, figures)
    return rows


def save_masks(name: str, images: torch.Tensor, ks: list[int], masks: dict, figures: Path) -> None:
    """Selected pixels (white) over the mean training image, one row per k."""
    labels = list(dict.fromkeys(label for _, label in masks))
    mean_image = images.mean(0)[0].numpy()
    figure, axes = plt.subplots(
        len(ks), len(labels), squeeze=False, figsize=(2.2 * len(labels), 2.2 * len(ks))
    )
    for row, k in enumerate(ks):
        for column, label in enumerate(labels):
            mask = np.zeros(mean_image.size)
            mask[masks[(k, label)]] = 1.0
            overlay = np.stack([mean_image, mean_image, mean_image], -1) * 0.5
            overlay[mask.reshape(mean_image.shape) > 0] = (1.0, 0.85, 0.0)
            axes[row, column].imshow(overlay)
            axes[row, column].set_title(f"k={k}: {label}", fontsize=7)
            axes[row, column].axis("off")
    figures.mkdir(exist_ok=True)
    figure.tight_layout()
    figure.savefig(figures / f"cae_{name}_masks.png", dpi=120)
    plt.close(figure)


def digits_splits(seed: int) -> dict[str, torch.Tensor]:
    """The digits datamodule's train / val / test split, rescaled from [-1, 1] to [0, 1]."""
    datamodule = DigitsDataModule(seed=seed)
    datamodule.setup()
    return {split: (dataset.tensors[0] + 1) / 2 for split, dataset in datamodule.splits.items()}


def mnist_splits(root: Path, num_train: int, seed: int) -> dict[str, torch.Tensor] | None:
    """torchvision's MNIST in [0, 1] (train subsample / 10k val from train / the test set)."""
    from torchvision.datasets import MNIST

    try:
        train, test = MNIST(root, train=True), MNIST(root, train=False)
    except RuntimeError:
        return None
    images = train.data.float().div(255).unsqueeze(1)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return {
        "train": images[order[:num_train]],
        "val": images[order[-10000:]],
        "test": test.data.float().div(255).unsqueeze(1),
    }


def print_table(title: str, rows: list[dict]) -> None:
    columns = ["k", "method", "distinct", "mean_max_prob", "val_recon_mse", "test_recon_mse"]
    columns += ["test_mse", "seconds"]
    print(f"\n### {title}\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [row.get(column, "") for column in columns]
        print(
            "| " + " | ".join(f"{c:.4f}" if isinstance(c, float) else str(c) for c in cells) + " |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    parser.add_argument("--batch-size", type=int, default=TrainSettings.batch_size)
    parser.add_argument("--lr", type=float, default=TrainSettings.lr)
    parser.add_argument("--gjs-weight", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--indirect-dim", type=int, default=None, help="also train each CAE with IP logits"
    )
    parser.add_argument("--mnist-root", type=Path, default=Path("data"))
    parser.add_argument("--mnist-train", type=int, default=50000)
    parser.add_argument("--mnist-epochs", type=int, default=100)
    parser.add_argument("--mnist-batch-size", type=int, default=256)
    parser.add_argument("--mnist-lr", type=float, default=1e-3)
    parser.add_argument("--figures", type=Path, default=FIGURES, help="where the masks go")
    parser.add_argument(
        "--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), help="CAEs to train"
    )
    parser.add_argument("--skip-digits", action="store_true", help="only the MNIST k = 50 table")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: k = 4, 1 epoch, figures in a temp dir"
    )
    args = parser.parse_args()
    if args.quick:  # the committed figures stay as they are
        args.ks, args.epochs, args.mnist_root = [4], 1, None
        args.figures = Path(tempfile.mkdtemp(prefix="vqlab_cae_"))
    torch.set_num_threads(1)  # tiny models: threads only add overhead
    settings = TrainSettings(
        args.epochs, args.batch_size, args.lr, args.gjs_weight, args.seed, args.indirect_dim
    )
    variants = tuple(args.variants)
    if not args.skip_digits:
        name = "digits" if args.indirect_dim is None else f"digits_ip{args.indirect_dim}"
        rows = compare(name, digits_splits(args.seed), args.ks, settings, args.figures, variants)
        print_table("digits (64 pixels; MSE in [0, 1] pixel units)", rows)
    if args.mnist_root is None:
        return
    splits = mnist_splits(args.mnist_root, args.mnist_train, args.seed)
    if splits is None:
        print(
            f"\nMNIST not found under {args.mnist_root}/MNIST (torchvision layout): "
            "skipping the k = 50 MNIST comparison; pass --mnist-root"
        )
        return
    mnist = replace(
        settings, epochs=args.mnist_epochs, batch_size=args.mnist_batch_size, lr=args.mnist_lr
    )
    rows = compare(f"mnist_seed{args.seed}", splits, [50], mnist, args.figures, variants)
    print_table("MNIST k = 50 (paper: CAE 0.026, PCA 0.012, PFA 0.051, LS 0.070)", rows)


if __name__ == "__main__":
    main()
