"""Benchmark one EMA-quantizer training step: vqlab vs vector-quantize-pytorch vs the bare floor.

Contenders, for N vectors of size d and a codebook of K codes:

- ``vqlab``: ``vqlab.quantizers.EMAQuantizer`` in training mode;
- ``vq-pytorch``: ``vector_quantize_pytorch.VectorQuantize(dim=d, codebook_size=K, decay=0.99,
  commitment_weight=0.25)`` in training mode, input (1, N, d);
- ``floor``: ``addmm(|E|^2, z, E^T, alpha=-2)`` in float32 over all N rows at once, argmin, gather;
  forward only, no EMA, no autograd: what any nearest-code search must at least do.

A quantizer step is forward + backward with the EMA update: z requires grad,
``loss = out.loss + out.quantized.square().mean()`` (the dummy downstream term makes the
straight-through path carry a gradient), ``loss.backward()``. ``--dtype bfloat16`` runs the forward
under autocast (the floor stays float32, as vqlab's distances do).

Time: the contenders are interleaved in one process (warm-up first, then round-robin repetitions),
so drifting machine load hits all of them alike; the table gives the median and the minimum.

Memory: peak extra memory of one step, measured in a fresh subprocess per contender after one
warm-up step. CUDA: ``torch.cuda.max_memory_allocated`` minus the memory allocated before the step.
CPU: the process' peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs``) minus its
resident set before the step, with glibc's mmap threshold pinned at 64 KiB so every tensor larger
than that is mapped on allocation and unmapped on free, and the resident set follows live tensors.

Run from the repository root: ``python -m experiments.bench_quantizer --repeats 15``
(``--quick``: K = 64, d = 8, N = 1024, 2 repeats, no memory subprocesses). Needs
vector-quantize-pytorch (the baseline), from the ``bench`` extra.

``--suite levers``: every lever quantizer against its vector-quantize-pytorch counterpart
(``experiments/lever_contenders.py``), forward + backward of ``loss + quantized^2``, same timing
and memory method, K = 512, d = 64 by default; the ``floor`` above at the same N, K, d is timed in
the same round-robin, and ``vqlab / floor`` is the lever's step over it (one nearest-code search:
for ``residual`` (4 searches) or ``lowdim`` (d = 8 codes) it is not that lever's own floor).
``--compile``: for each lever quantizer, the graph breaks ``torch._dynamo.explain`` finds in its
training-mode forward, and one compiled forward + backward (``--compile-backend``) timed against
eager.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from experiments.lever_contenders import LEVERS, make_lever_step
from experiments.optional import require
from experiments.timing import (
    add_device_argument,
    checked_device,
    device_line,
    synchronize,
    time_contenders,
    timed,
)

CONTENDERS = ("vqlab", "vq-pytorch", "floor")
SIZES = ((512, 64), (8192, 32))  # (codebook size K, dim d)
MIB = 1 << 20


def make_step(
    name: str, codebook_size: int, dim: int, num_vectors: int, device: str, dtype: torch.dtype
) -> Callable[[], None]:
    """A closure that runs one step of contender ``name`` on fixed random inputs."""
    z = torch.randn(num_vectors, dim, device=device)
    if name == "floor":
        codebook = torch.randn(codebook_size, dim, device=device)

        @torch.no_grad()
        def floor_step() -> None:
            codebook_sq = codebook.pow(2).sum(-1)  # (k,)
            indices = torch.addmm(codebook_sq, z, codebook.t(), alpha=-2.0).argmin(-1)
            codebook.index_select(0, indices)

        return floor_step

    if name == "vqlab":
        from vqlab.quantizers import EMAQuantizer

        quantizer = EMAQuantizer(codebook_size, dim, decay=0.99, beta=0.25)
    else:
        library = require("vector_quantize_pytorch", "vector-quantize-pytorch")
        quantizer = library.VectorQuantize(
            dim=dim, codebook_size=codebook_size, decay=0.99, commitment_weight=0.25
        )
        z = z.unsqueeze(0)  # (1, n, d): VectorQuantize expects (batch, sequence, dim)
    quantizer.to(device).train()
    z.requires_grad_(True)

    def quantizer_step() -> None:
        with torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
            if name == "vqlab":
                out = quantizer(z)
                quantized, loss = out.quantized, out.loss
            else:
                quantized, _, loss = quantizer(z)
            total = loss + quantized.float().square().mean()
        total.backward()
        z.grad = None  # an optimizer would consume it: no grad outlives a step, peaks compare

    return quantizer_step


def resident_kib(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_extra_bytes(step: Callable[[], None], device: str) -> int:
    """Peak memory one call of ``step`` allocates beyond what is live before it (see module doc)."""
    step()  # warm-up: lazy initialisation of kernels, thread pools and library workspaces
    synchronize(device)
    if device == "cuda":
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        synchronize(device)
        return torch.cuda.max_memory_allocated() - before
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
    before = resident_kib("VmRSS")
    step()
    return (resident_kib("VmHWM") - before) * 1024


def measure_memory(args: argparse.Namespace, name: str, codebook_size: int, dim: int) -> int:
    """Run ``peak_extra_bytes`` for one contender in a fresh subprocess; bytes."""
    command = [
        sys.executable, "-m", "experiments.bench_quantizer",
        "--device", args.device, "--threads", str(args.threads), "--dtype", args.dtype,
        "--num-vectors", str(args.num_vectors), "--memory-of", f"{name}:{codebook_size}:{dim}",
    ]  # fmt: skip
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=True)
    return int(result.stdout.strip().splitlines()[-1])


def lever_suite(args: argparse.Namespace) -> None:
    """Time and measure every lever quantizer and its counterpart; print one markdown table."""
    print(f"{device_line(args.device)}\nN={args.num_vectors} repeats={args.repeats}\n")
    print(
        "| lever | K | d | vqlab ms | vq-pytorch ms | vq-pytorch / vqlab | floor ms "
        "| vqlab / floor | vqlab MiB | vq-pytorch MiB | N x K float32 MiB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for codebook_size, dim in [
        tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")
    ]:
        for lever in args.levers.split(","):
            sides = ["vqlab"] + (["vq-pytorch"] if lever != "entropy" else [])
            if lever == "entropy":
                sides.append("vqlab-ste")
            steps = {
                side: make_lever_step(
                    "ste" if side == "vqlab-ste" else lever,
                    "vqlab" if side == "vqlab-ste" else side,
                    codebook_size, dim, args.num_vectors, args.device,
                )
                for side in sides
            }  # fmt: skip
            # the lever's own floor: one float32 addmm + argmin + gather at the same N, K, d
            steps["floor"] = make_step(
                "floor", codebook_size, dim, args.num_vectors, args.device, torch.float32
            )
            seconds = time_contenders(steps, args.device, args.repeats, args.warmup)
            median = {side: statistics.median(values) for side, values in seconds.items()}
            memory = {}
            for side in sides[:2]:
                if args.no_memory:
                    memory[side] = None
                    continue
                name = "ste" if side == "vqlab-ste" else lever
                spec = f"lever:{name}:{'vqlab' if side == 'vqlab-ste' else side}"
                memory[side] = measure_memory(args, spec, codebook_size, dim)
            peer = sides[1]
            mib = {k: "-" if v is None else f"{v / MIB:.1f}" for k, v in memory.items()}
            full_mib = args.num_vectors * codebook_size * 4 / MIB
            label = f"{lever} (peer: vqlab ste)" if peer == "vqlab-ste" else lever
            print(
                f"| {label} | {codebook_size} | {dim} | {median['vqlab'] * 1e3:.1f} "
                f"| {median[peer] * 1e3:.1f} | {median[peer] / median['vqlab']:.2f} "
                f"| {median['floor'] * 1e3:.1f} | {median['vqlab'] / median['floor']:.2f} "
                f"| {mib['vqlab']} | {mib[peer]} | {full_mib:.0f} |",
                flush=True,
            )


def compile_report(args: argparse.Namespace) -> None:
    """Graph breaks of each lever quantizer's training forward; compiled vs eager step time."""
    import torch._dynamo

    from experiments.lever_contenders import vqlab_loss, vqlab_quantizer

    codebook_size, dim = (int(v) for v in args.sizes.split(",")[0].split("x"))
    print(
        f"{device_line(args.device)}\n"
        f"backend={args.compile_backend} N={args.num_vectors} K={codebook_size} d={dim}\n"
    )
    print("| lever | graphs | graph breaks | break reasons | eager ms | compiled ms | compile s |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for lever in args.levers.split(","):
        torch._dynamo.reset()
        quantizer = vqlab_quantizer(lever, codebook_size, dim).to(args.device).train()
        z = torch.randn(args.num_vectors, dim, device=args.device, requires_grad=True)
        explanation = torch._dynamo.explain(quantizer)(z)
        reasons = "; ".join(
            sorted({str(b.reason).splitlines()[0][:80] for b in explanation.break_reasons})
        )
        compiled = torch.compile(quantizer, backend=args.compile_backend)
        compile_seconds = timed(lambda c=compiled, z=z: vqlab_loss(c, z).backward(), args.device)[0]
        steps = {
            "eager": lambda q=quantizer, z=z: vqlab_loss(q, z).backward(),
            "compiled": lambda q=compiled, z=z: vqlab_loss(q, z).backward(),
        }
        seconds = time_contenders(steps, args.device, args.repeats, args.warmup)
        eager, fast = (statistics.median(seconds[k]) * 1e3 for k in ("eager", "compiled"))
        print(
            f"| {lever} | {explanation.graph_count} | {explanation.graph_break_count} "
            f"| {reasons or '-'} | {eager:.1f} | {fast:.1f} | {compile_seconds:.0f} |",
            flush=True,
        )


def parse_args() -> argparse.Namespace:
    """Command-line flags; see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_device_argument(parser)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=10, help="timed rounds per contender")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per contender")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--num-vectors", type=int, default=32768, help="N, rows of z")
    parser.add_argument(
        "--sizes", default=",".join(f"{k}x{d}" for k, d in SIZES), help="KxD,KxD,..."
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)  # internal: NAME:K:D
    parser.add_argument("--suite", choices=("ema", "levers"), default="ema")
    parser.add_argument("--levers", default=",".join(LEVERS), help="comma-separated")
    parser.add_argument("--compile", action="store_true", help="graph breaks + compiled step")
    parser.add_argument("--compile-backend", default="inductor")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, no memory")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.num_vectors, args.repeats, args.warmup = "64x8", 1024, 2, 1
        args.no_memory = True
    return args


def main() -> None:
    """Time (and measure) every contender at every size; print markdown tables."""
    args = parse_args()
    checked_device(args.device)
    require("vector_quantize_pytorch", "vector-quantize-pytorch")
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    if args.memory_of:
        if args.memory_of.startswith("lever:"):
            _, lever, side, codebook_size, dim = args.memory_of.split(":")
            step = make_lever_step(
                lever, side, int(codebook_size), int(dim), args.num_vectors, args.device
            )
        else:
            name, codebook_size, dim = args.memory_of.split(":")
            step = make_step(
                name, int(codebook_size), int(dim), args.num_vectors, args.device, dtype
            )
        print(peak_extra_bytes(step, args.device))
        return
    if args.compile:
        compile_report(args)
        return
    if args.suite == "levers":
        lever_suite(args)
        return

    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    print(
        f"{device_line(args.device)}\n"
        f"dtype={args.dtype} N={args.num_vectors} repeats={args.repeats}\n"
    )
    rows, ratio_rows = [], []
    for codebook_size, dim in sizes:
        steps = {
            name: make_step(name, codebook_size, dim, args.num_vectors, args.device, dtype)
            for name in CONTENDERS
        }
        seconds = time_contenders(steps, args.device, args.repeats, args.warmup)
        del steps
        median = {name: statistics.median(values) for name, values in seconds.items()}
        memory = {
            name: None if args.no_memory else measure_memory(args, name, codebook_size, dim)
            for name in CONTENDERS
        }
        for name in CONTENDERS:
            mib = "-" if memory[name] is None else f"{memory[name] / MIB:.1f}"
            rows.append(
                f"| {codebook_size} | {dim} | {name} | {median[name] * 1e3:.1f} "
                f"| {min(seconds[name]) * 1e3:.1f} | {mib} |"
            )
        memory_ratio = "-" if args.no_memory else f"{memory['vqlab'] / memory['vq-pytorch']:.2f}"
        ratio_rows.append(
            f"| {codebook_size} | {dim} | {median['vq-pytorch'] / median['vqlab']:.2f} "
            f"| {median['vqlab'] / median['floor']:.2f} | {memory_ratio} |"
        )
    print("| K | d | contender | median ms | min ms | peak extra MiB |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    print("\n".join(rows))
    print("\n| K | d | time vq-pytorch / vqlab | time vqlab / floor | memory vqlab / vq-pytorch |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(ratio_rows))
    print(f"\nload average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
