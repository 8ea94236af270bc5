"""The authors' network, fast: eager against compiled, channels-last and bfloat16, side by side.

``PerceiveIRNet`` at the authors' size (dim 48, blocks 4/6/6/8, 4 refinement blocks, heads
1/2/4/8) with a random DINOv2-base built offline from ``transformers.Dinov2Config()`` (speed does
not depend on the weights), in eval mode under ``torch.inference_mode``. For each size the
variants run round-robin in one process (:mod:`_timing`: order reversed every other round), and
each ratio is the per-round median of ``eager / variant`` with its spread (quartiles, or min–max
under four rounds). Variants (``--variants``), all through
:func:`perceive_ir.inference.compiled.fast_path` except ``eager``:

* ``eager``            — ``net(x)`` as is (float32);
* ``compiled``         — ``torch.compile`` (inductor, static shapes);
* ``channels_last``    — compiled, weights and input channels-last;
* ``bf16``             — compiled, bfloat16 autocast;
* ``eager_bf16`` / ``eager_channels_last`` — the same without compiling;
* ``compiled_freezing`` — compiled with inductor's ``freezing`` (weights folded in as constants;
  inference only — a network whose weights change afterwards must be compiled again).
* ``channels_last_freezing`` / ``channels_last_1x1_mm`` — ``channels_last`` with inductor's ``freezing``,
  or with its ``conv_1x1_as_mm`` (1×1 convolutions as matrix multiplications).

Each compiled variant and size compiles once before the rounds; its first call (compile + run) is
printed. Also printed: the FLOPs of one forward (``torch.utils.flop_counter.FlopCounterMode``:
matmuls, convolutions and attention), the achieved GFLOP/s of each variant, and that as a share of
the machine's fp32 matmul peak measured in the same run, just before each size's rounds (the
best of five ``2048² @ 2048²`` float32 matmuls), and each variant's max |difference| from eager.

``--tiled N`` adds a tiled restore of an ``N × N`` image (``restore(net, image, tile=--tile)``)
eager against each compiled variant of ``--variants`` that ``restore`` can run (``compile=True`` with
its ``channels_last`` / ``dtype``): time per restore, and working memory — the peak resident set
during the call (the kernel's VmHWM mark, reset through ``/proc/self/clear_refs`` just before) minus
the resident set just before it. Run it with ``MALLOC_MMAP_THRESHOLD_=65536`` so that freed tensors
go back to the system at once and the resident set follows the live tensors (as
``bench_tiled_restore.py`` does). The compiled variant's memory is measured on a call after its
compile.

    .venv/bin/python benchmarks/bench_official.py [--sizes 128 256 512] [--rounds 5] [--variants ...]
    MALLOC_MMAP_THRESHOLD_=65536 .venv/bin/python benchmarks/bench_official.py --sizes --tiled 2048 --tile 512
    .venv/bin/python benchmarks/bench_official.py --sizes 256 --profile channels_last   # where the time goes

Targets on CPU at 256²: compiled ≥ 3× eager and ≥ 30 % of the measured matmul peak; the tiled
2048² restore compiled ≥ 2× eager with the same flat working memory.
"""

from __future__ import annotations

import argparse
import copy
import math
import resource
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _timing import interleaved_times, paired_ratio  # noqa: E402

from perceive_ir import restore  # noqa: E402
from perceive_ir.inference import compiled  # noqa: E402
from perceive_ir.inference.compiled import FastDtype, clear_compiled, compile_reports, fast_path  # noqa: E402
from perceive_ir.models.official import PerceiveIRNet  # noqa: E402

#: Each variant: (compile, channels_last, dtype, inductor options); ``None``: eager as is.
VARIANTS: dict[str, tuple[bool, bool, FastDtype, dict[str, Any] | None] | None] = {
    "eager": None,
    "compiled": (True, False, "fp32", None),
    "channels_last": (True, True, "fp32", None),
    "bf16": (True, False, "bf16", None),
    "eager_bf16": (False, False, "bf16", None),
    "eager_channels_last": (False, True, "fp32", None),
    "compiled_freezing": (True, False, "fp32", {"freezing": True}),
    "channels_last_freezing": (True, True, "fp32", {"freezing": True}),
    "channels_last_1x1_mm": (True, True, "fp32", {"conv_1x1_as_mm": True}),
}


def _compiles(name: str) -> bool:
    spec = VARIANTS[name]
    return spec is not None and spec[0]


def build_network(small: bool = False) -> nn.Module:
    """``PerceiveIRNet`` at the authors' size with a random DINOv2-base (``small``: a tiny one for smoke runs)."""
    torch.manual_seed(0)
    if small:
        from perceive_ir.testing import tiny_dinov2_config

        return PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
                             semantic_encoder=tiny_dinov2_config()).eval()
    from transformers import Dinov2Config

    return PerceiveIRNet(semantic_encoder=Dinov2Config().to_dict()).eval()


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The best achieved fp32 GFLOP/s of an ``n × n`` matmul on the CPU (one warm-up first)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def forward_flops(net: nn.Module, x: Tensor) -> int:
    """FLOPs of one forward of ``net`` on ``x`` (matmuls, convolutions, attention)."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        net(x)
    return counter.get_total_flops()


def make_variants(net: nn.Module, names: list[str]) -> dict[str, Callable[[Tensor], Tensor]]:
    """One callable per variant; a channels-last variant gets its own copy (the conversion is in place)."""
    runners: dict[str, Callable[[Tensor], Tensor]] = {}
    for name in names:
        spec = VARIANTS[name]
        if spec is None:
            runners[name] = net
            continue
        compile_, channels_last, dtype, options = spec
        model = copy.deepcopy(net) if channels_last or options else net
        runners[name] = fast_path(model, compile=compile_, channels_last=channels_last, dtype=dtype, options=options)
    return runners


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def working_memory_mib(fn: Callable[[], object]) -> float:
    """Peak resident set during ``fn()`` above the resident set before it, in MiB."""
    before = _rss_mib()
    _reset_peak_rss()
    fn()
    return _peak_rss_mib() - before


def bench_sizes(net: nn.Module, sizes: list[int], names: list[str], rounds: int) -> None:
    """The side-by-side table over ``sizes`` (the matmul peak measured again before each size's rounds)."""
    runners = make_variants(net, names)
    rows = []
    for size in sizes:
        x = torch.rand(1, 3, size, size)
        flops = forward_flops(net, x)
        with torch.inference_mode():
            reference = net(x)
            errors, first = {}, {}
            for name, run in runners.items():
                start = time.perf_counter()
                out = run(x)
                first[name] = time.perf_counter() - start
                errors[name] = float((out - reference).abs().max())
            calls: dict[str, Callable[[], object]] = {n: partial(r, x) for n, r in runners.items()}
            peak = matmul_peak_gflops()  # the machine as it is now (a shared machine's peak moves)
            times = interleaved_times(calls, torch.device("cpu"), rounds=rounds, warmup=0)
        compiles = ", ".join(f"{n} {first[n]:.1f} s" for n in names if _compiles(n))
        print(f"\n{size}²: {flops / 1e9:.1f} GFLOP per forward; fp32 matmul peak now {peak:.0f} GFLOP/s"
              + (f"; first call (compile + run): {compiles}" if compiles else ""))
        for name in names:
            median = statistics.median(times[name])
            ratio, lo, hi = paired_ratio(times, ["eager"], [name]) if "eager" in times else (math.nan,) * 3
            gflops = flops / median / 1e9
            rows.append(f"{size:>5}  {name:<20}{median:>9.2f}{ratio:>8.2f}× [{lo:.2f}–{hi:.2f}]"
                        f"{gflops:>9.1f}{100 * gflops / peak:>7.1f} %{errors[name]:>11.1e}")
    print(f"\n{'size':>5}  {'variant':<20}{'median s':>9}{'vs eager (spread)':>22}{'GFLOP/s':>9}{'peak':>9}"
          f"{'max|diff|':>11}")
    print("\n".join(rows))
    print("vs eager = per-round median of eager / variant, [quartiles, or min–max under 4 rounds]; "
          "peak = share of the fp32 matmul peak measured before that size's rounds")


def bench_tiled(net: nn.Module, side: int, tile: int, overlap: int, rounds: int, names: list[str]) -> None:
    """Tiled restore of a ``side²`` image: eager against the fast-path variants in ``names``, time and working memory.

    A variant without compiling (``eager_*``) or one of inductor's options has no ``restore`` switch and is skipped;
    a channels-last variant restores a copy of ``net`` (``restore`` converts the network in place).
    """
    image = torch.rand(3, side, side)
    variants: dict[str, Callable[[], object]] = {"eager": partial(restore, net, image, tile=tile, overlap=overlap)}
    first: dict[str, str] = {}  # per variant: its first call, and each compile in it
    for name in names:
        spec = VARIANTS[name]
        if spec is None or not spec[0] or spec[3] is not None:
            continue
        _, channels_last, dtype, _ = spec
        model = copy.deepcopy(net) if channels_last else net
        run = partial(restore, model, image, tile=tile, overlap=overlap, compile=True,
                      channels_last=channels_last, dtype=dtype)
        start = time.perf_counter()
        run()  # compiles (the guidance at the image's size, the network at the tile's)
        seconds = time.perf_counter() - start
        compiles = ", ".join(f"{r.method} {'×'.join(map(str, r.shape))} {r.seconds:.1f} s"
                             for r in compile_reports(model) if (r.channels_last, r.dtype) == (channels_last, dtype))
        first[name] = f"{name} {seconds:.1f} s ({compiles})"
        variants[name] = run
    memory = {name: working_memory_mib(run) for name, run in variants.items()}
    times = interleaved_times(variants, torch.device("cpu"), rounds=rounds, warmup=0)
    print(f"\ntiled restore {side}² (tile {tile}, overlap {overlap}); first call (compile + restore): "
          + ", ".join(first.values()))
    for name in variants:
        line = f"  {name:<15} median {statistics.median(times[name]):8.2f} s   working memory {memory[name]:7.1f} MiB"
        if name != "eager":
            ratio, lo, hi = paired_ratio(times, ["eager"], [name])
            line += f"   vs eager {ratio:.2f}× [{lo:.2f}–{hi:.2f}]"
        print(line)


def profile_variant(net: nn.Module, size: int, name: str, rows: int = 15) -> None:
    """Where one forward of variant ``name`` at ``size²`` spends its time: ``torch.profiler``'s table of ops.

    A compiled variant shows its fused kernels as one ``CompiledFxGraph`` row and the library calls it makes
    (convolutions, matmuls) as their own rows.
    """
    from torch.profiler import ProfilerActivity, profile

    run = make_variants(net, [name])[name]
    x = torch.rand(1, 3, size, size)
    with torch.inference_mode():
        run(x)  # compiles, warms up
        run(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run(x)
    print(f"\n{name} at {size}²: one forward, ops by own time")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=50))


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[128, 256, 512], help="square input sides")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per size (after the compiles)")
    parser.add_argument("--variants", nargs="+", default=["eager", "compiled", "channels_last", "bf16"],
                        choices=list(VARIANTS), help="what to run side by side (eager first for the ratios)")
    parser.add_argument("--tiled", type=int, default=None, metavar="N", help="also a tiled restore of an N² image")
    parser.add_argument("--tile", type=int, default=512, help="tile side for --tiled (default 512)")
    parser.add_argument("--overlap", type=int, default=32, help="tile overlap for --tiled (default 32)")
    parser.add_argument("--profile", default=None, choices=list(VARIANTS), metavar="VARIANT",
                        help="instead of timing: the profiler's table of one forward of VARIANT at the first size")
    parser.add_argument("--small", action="store_true", help="a tiny network (smoke test of the script)")
    parser.add_argument("--backend", default="inductor",
                        help="torch.compile backend (default inductor; 'eager' checks the script without compiling)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    # torch counts the compiles of one method of one network class across variants and sizes; past its limit
    # (8 by default) it runs the rest eagerly: room for every variant at every size, and the tiled run's tile
    buckets = len(args.variants) * (len(args.sizes) + 1)
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, buckets)
    compiled.COMPILE_BACKEND = args.backend
    net = build_network(args.small)
    count = sum(p.numel() for p in net.parameters())
    peak = matmul_peak_gflops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; PerceiveIRNet "
          f"{'tiny' if args.small else 'at the authors size'}, {count / 1e6:.1f} M parameters with DINOv2; "
          f"fp32 matmul peak {peak:.0f} GFLOP/s; rounds={args.rounds}; compile backend {args.backend}")
    if args.profile:
        profile_variant(net, args.sizes[0] if args.sizes else 256, args.profile)
        return
    if args.sizes:
        bench_sizes(net, args.sizes, args.variants, args.rounds)
    if args.tiled:
        clear_compiled()
        bench_tiled(net, args.tiled, args.tile, args.overlap, args.rounds, args.variants)


if __name__ == "__main__":
    main()
