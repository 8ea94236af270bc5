"""Tiled restoration: memory and time against image size, seams, and shared guidance.

Three measurements, in one run:

1. **Size sweep** (512² … 4096²): each size runs ``restore(model, image, tile=T)`` in a fresh
   subprocess and reports wall time and the peak working memory — the peak resident set
   during ``restore`` (the kernel's VmHWM mark, reset just before the call) minus the resident
   set just before it (the input image is already
   held then), less the one image-sized buffer any method must add: the output
   (3 channels × 4 bytes × kH × kW, k the network's scale). ``--model sr-x2`` measures a wrapped
   ×2 super-resolution network (a local conv body and a pixel-shuffle upsampler), blended and
   stitched at output resolution. That remainder is what tiling bounds. Target: flat within
   10 % from 1024² up. On CUDA the peak is ``torch.cuda.max_memory_allocated`` over the same
   interval. On CPU, each size runs twice: once for the time, and once for the memory with
   ``MALLOC_MMAP_THRESHOLD_=65536``, which makes glibc return every freed tensor to the system
   at once, so the resident set follows the live tensors (otherwise freed chunks stay in the
   allocator's heap and the peak moves by ±15 MiB from run to run; the setting slows the run
   about 3×, which is why the time comes from the other run). ``--condition tree`` or
   ``cfe+tree`` measures AMIRNet's degradation tree as the condition source (its encoder's
   first convolution runs at full resolution).
2. **Seams**: PSNR between tiled and whole-image output at 512², for a plain conv net (local
   operations only; target ≥ 45 dB) and for NAFNet / Restormer, whose channel attention pools
   over the whole input, over tile sizes and overlaps.
3. **Shared guidance**: how often the condition source (CFE) and the DINOv2 encoder run during a
   tiled restore of one image, against the number of tiles.

``--model official`` (or ``official-small``) measures the authors' restorer, ``PerceiveIRNet``,
at their size (or a small one), with its own guidance (CFE + DINOv2).

Models are the library's ``small`` presets with random weights (speed and seams do not need
trained weights; the seam figure for attention networks may differ with trained weights).

    .venv/bin/python benchmarks/bench_tiled_restore.py [--sizes 512 1024 2048 4096] [--tile 256] [--condition cfe]
    .venv/bin/python benchmarks/bench_tiled_restore.py --model sr-x2 --sizes 512 1024 2048 --skip seams guidance
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch
from torch import nn

from perceive_ir import restore, wrap_backbone
from perceive_ir.amirnet import DegradationTree
from perceive_ir.models import create_model
from perceive_ir.models.official import PerceiveIRNet
from perceive_ir.testing import tiny_dinov2_config


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: The authors' restorer (``PerceiveIRNet``): at their size, and a small one for quick runs.
_OFFICIAL = {"official": {}, "official-small": {"dim": 16, "blocks": (1, 1, 1, 1), "heads": (1, 1, 1, 1),
                                                "refinement_blocks": 1}}


def _model(name: str, condition: str = "cfe") -> nn.Module:
    torch.manual_seed(0)
    if name in _OFFICIAL:  # guidance of its own (CFE + DINOv2), whatever --condition says
        return PerceiveIRNet(**_OFFICIAL[name], semantic_encoder=tiny_dinov2_config()).eval()
    if name == "conv":
        body = [m for i in range(4) for m in (nn.Conv2d(3 if i == 0 else 32, 32, 3, padding=1), nn.GELU())]
        return nn.Sequential(*body, nn.Conv2d(32, 3, 3, padding=1)).eval()
    sources = {"cfe": "cfe", "tree": DegradationTree(), "cfe+tree": ["cfe", DegradationTree()]}
    if name == "sr-x2":
        body = [m for i in range(4) for m in (nn.Conv2d(3 if i == 0 else 32, 32, 3, padding=1), nn.GELU())]
        net = nn.Sequential(*body, nn.Conv2d(32, 12, 3, padding=1), nn.PixelShuffle(2))
        return wrap_backbone(net, semantic_encoder=tiny_dinov2_config(), condition=sources[condition]).eval()
    return create_model(name, semantic_encoder=tiny_dinov2_config(), condition=sources[condition]).eval()


def one_size(name: str, condition: str, size: int, tile: int, overlap: int, device: str) -> dict:
    """Run in a subprocess: a fresh process gives a clean peak-RSS reading."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = _model(name, condition).to(device)
    image = torch.rand(1, 3, size, size)
    restore(model, image[..., :64, :64], tile=None, device=device)  # warm up allocators and kernels
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    before = _rss_mib()
    # without a reset, the lifetime peak (e.g. from building the model) could hide the restore's
    if not _reset_peak_rss():
        raise SystemExit("cannot reset the peak-RSS mark (/proc/self/clear_refs); run on Linux >= 4.0")
    start = time.perf_counter()
    out = restore(model, image, tile=tile, overlap=overlap, device=device)
    seconds = time.perf_counter() - start
    if device.startswith("cuda"):
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = _peak_rss_mib() - before
    image_buffers = out.numel() * out.element_size() / 2**20  # the output (k² times the input for ×k)
    return {"size": size, "seconds": seconds, "peak_mib": peak, "image_buffers_mib": image_buffers,
            "working_mib": peak - image_buffers}


def size_sweep(args: argparse.Namespace) -> None:
    print(f"\n1. size sweep: model {args.model}, condition {args.condition}, tile {args.tile}, "
          f"overlap {args.overlap}, device {args.device}")
    print(f"{'size':>6}{'seconds':>10}{'peak MiB':>10}{'output MiB':>12}{'working MiB':>13}")
    rows = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", args.model, args.condition, str(size), str(args.tile),
                   str(args.overlap), args.device]
        timed = _run_one(command, {})
        row = _run_one(command, {"MALLOC_MMAP_THRESHOLD_": "65536"}) if args.device == "cpu" else timed
        row["seconds"] = timed["seconds"]
        rows.append(row)
        print(f"{size:>6}{row['seconds']:>10.2f}{row['peak_mib']:>10.0f}{row['image_buffers_mib']:>12.0f}{row['working_mib']:>13.0f}")
    big = [r["working_mib"] for r in rows if r["size"] >= 1024]
    if len(big) >= 2:
        spread = max(big) / min(big) - 1
        print(f"working memory from 1024² up: max/min − 1 = {spread * 100:.1f} % (target ≤ 10 %): "
              f"{'met' if spread <= 0.10 else 'NOT met'}")


def _run_one(command: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ, **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    from torchmetrics.functional.image import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(a, b, data_range=1.0))


def seams(args: argparse.Namespace) -> None:
    print(f"\n2. seams at {args.seam_size}²: PSNR(tiled, whole) in dB")
    image = torch.rand(1, 3, args.seam_size, args.seam_size)
    tiles, overlaps = (128, 256), (16, 32, 64)
    print(f"{'model':<18}" + "".join(f"{f't{t}/o{o}':>11}" for t in tiles for o in overlaps))
    for name in ("conv", "nafnet-small", "restormer-small"):
        model = _model(name)
        whole = restore(model, image, tile=None).clamp(0, 1)
        cells = [psnr(restore(model, image, tile=t, overlap=o).clamp(0, 1), whole) for t in tiles for o in overlaps]
        print(f"{name:<18}" + "".join(f"{c:>11.1f}" for c in cells))
    print("target: the plain conv net (local operations) ≥ 45 dB")


def shared_guidance(args: argparse.Namespace) -> None:
    model = _model("nafnet-small")
    calls = {"condition": 0, "encoder": 0, "backbone": 0}
    model.adapter.condition[0].register_forward_hook(lambda *_: calls.__setitem__("condition", calls["condition"] + 1))
    model.adapter.semantic.encoder.register_forward_hook(lambda *_: calls.__setitem__("encoder", calls["encoder"] + 1))
    model.backbone.register_forward_hook(lambda *_: calls.__setitem__("backbone", calls["backbone"] + 1))
    restore(model, torch.rand(1, 3, 512, 512), tile=128, overlap=32)
    print(f"\n3. shared guidance, one 512² image in 128² tiles: backbone ran {calls['backbone']}× (tiles), "
          f"condition source {calls['condition']}×, DINOv2 {calls['encoder']}×")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        name, condition, size, tile, overlap, device = sys.argv[2:8]
        print(json.dumps(one_size(name, condition, int(size), int(tile), int(overlap), device)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="nafnet-small")
    parser.add_argument("--condition", default="cfe", choices=["cfe", "tree", "cfe+tree"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--seam-size", type=int, default=512)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--skip", nargs="*", default=[], choices=["sweep", "seams", "guidance"])
    args = parser.parse_args()
    if "sweep" not in args.skip:
        size_sweep(args)
    if "seams" not in args.skip:
        seams(args)
    if "guidance" not in args.skip:
        shared_guidance(args)


if __name__ == "__main__":
    main()
