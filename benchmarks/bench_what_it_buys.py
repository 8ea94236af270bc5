"""What does the method buy? A small restoration protocol anyone can rerun on CPU.

Data: the demo's protocol (``perceive_ir.apps.demo``): 3-task degradations (noise σ 25, rain, haze)
on fixed scenes of the scikit-image photographs, disjoint train / test photographs. The
perceiver is trained once (stage 1, cross-fitted medium tier). Then, for every seed, the
``nafnet-small`` backbone is trained from the same initial weights on the same budget as:

* ``bare_l1``           — the bare backbone, L1;
* ``wrapped_full``      — wrapped (CFE + semantic guidance), full ``QualityAwareLoss``;
* ``wrapped_l1``        — wrapped, L1 only (what the guidance alone buys);
* ``no_clip``, ``no_dpl``, ``no_cl`` — wrapped, the full loss without one term.

Reported: mean ± std over seeds of PSNR / SSIM per task and averaged (torchmetrics, RGB in
[0, 1], whole image). Offline (no Hub) CLIP and DINOv2 are tiny random models, so the CLIP
quality term, the CLIP-space perceptual term and the semantic guidance have no pretrained
knowledge to offer: the offline figures measure the CFE conditioning and the loss machinery,
not the paper's method. Pass --clip-model/--clip-pretrained/--semantic-encoder where the Hub
is reachable.

    .venv/bin/python benchmarks/bench_what_it_buys.py [--steps 400] [--seeds 0 1 2] [--out reports/what-it-buys]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from perceive_ir import QualityAwareLoss
from perceive_ir.apps.demo import DemoWorkspace
from perceive_ir.apps.demo_settings import DEMO_TASKS, DemoSettings
from perceive_ir.hub import atomic_write_bytes

VARIANTS = {
    "bare_l1": (False, None),
    "wrapped_full": (True, {}),
    "wrapped_l1": (True, None),
    "no_clip": (True, {"clip": 0.0}),
    "no_dpl": (True, {"dpl": 0.0}),
    "no_cl": (True, {"cl": 0.0}),
}


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--clip-model", default=None)
    parser.add_argument("--clip-pretrained", default=None)
    parser.add_argument("--semantic-encoder", default=None)
    parser.add_argument("--out", type=Path, default=Path("reports/what-it-buys"))
    args = parser.parse_args()
    started = time.time()
    settings = DemoSettings(out_dir=str(args.out), steps=args.steps, clip_model=args.clip_model,
                            clip_pretrained=args.clip_pretrained, semantic_encoder=args.semantic_encoder,
                            progress=False)
    workspace = DemoWorkspace(settings)
    perceiver = workspace.train_perceiver()
    scores: dict[str, list[dict]] = {v: [] for v in args.variants}
    for seed in args.seeds:
        for variant in args.variants:
            wrapped_model, weights = VARIANTS[variant]
            bare, wrapped = workspace.models(seed)
            model = wrapped if wrapped_model else bare
            # the CLIP feature space, as when docs/benchmarks.md's figures were measured (no VGG download)
            loss = "l1" if weights is None else QualityAwareLoss(perceiver, weights=weights, feature_space="clip")
            workspace.train(f"{variant}-seed{seed}", model, loss, seed)
            scores[variant].append(workspace.evaluate(model))
            psnrs = ", ".join(f"{t} {r['psnr']:.2f}" for t, r in scores[variant][-1].items())
            print(f"seed {seed} {variant}: {psnrs}", flush=True)

    summary = {}
    for variant, runs in scores.items():
        row = {}
        for task in DEMO_TASKS:
            row[task] = {"psnr": _mean_std([r[task]["psnr"] for r in runs]),
                         "ssim": _mean_std([r[task]["ssim"] for r in runs])}
        row["average"] = {"psnr": _mean_std([statistics.fmean(r[t]["psnr"] for t in DEMO_TASKS) for r in runs]),
                          "ssim": _mean_std([statistics.fmean(r[t]["ssim"] for t in DEMO_TASKS) for r in runs])}
        summary[variant] = row
    offline = settings.offline
    doc = {"offline_random_encoders": offline, "steps": args.steps, "seeds": args.seeds, "summary": summary,
           "runs": scores, "seconds": round(time.time() - started)}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "results.json", json.dumps(doc, indent=2).encode())
    cols = [*DEMO_TASKS, "average"]
    lines = [f"{'offline: tiny random CLIP/DINOv2' if offline else 'real encoders'}; {args.steps} steps; "
             f"seeds {args.seeds}; PSNR mean ± std (SSIM mean)", "",
             "| variant | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for variant, row in summary.items():
        cells = [f"{row[c]['psnr'][0]:.2f} ± {row[c]['psnr'][1]:.2f} ({row[c]['ssim'][0]:.3f})" for c in cols]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    atomic_write_bytes(args.out / "results.md", table.encode())
    print("\n" + table + f"\n{doc['seconds']} s")


if __name__ == "__main__":
    main()
