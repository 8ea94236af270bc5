"""``perceive-ir demo``: both stages of Perceive-IR end to end on the bundled photographs."""

from __future__ import annotations

import argparse
import time

from ..errors import InvalidValueError

__all__ = ["NAME", "HELP", "add_arguments", "run"]

NAME = "demo"
HELP = ("Synthesise 3-task degradations on scikit-image photographs, train the perceiver, train a small "
        "network bare (L1) and wrapped (quality-aware loss), evaluate both and write a report.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser``, with :class:`~perceive_ir.apps.demo_settings.DemoSettings`' defaults."""
    from ..apps.demo_settings import DemoSettings

    d = DemoSettings()
    parser.add_argument("--out", default=d.out_dir, help=f"report folder (default {d.out_dir})")
    parser.add_argument("--steps", type=int, default=d.steps, help="stage-2 steps per model")
    parser.add_argument("--perceiver-steps", type=int, default=d.perceiver_steps)
    parser.add_argument("--crossfit-steps", type=int, default=d.crossfit_steps)
    parser.add_argument("--crossfit-restorer", default=d.crossfit_restorer,
                        help="medium-tier restorer: tiny, restormer-small or restormer-medium (the paper's; "
                             f"default {d.crossfit_restorer})")
    parser.add_argument("--feature-space", default=None,
                        help="L_dpl feature space: vgg16 (the paper's) or clip "
                             "(default: vgg16 when its weights are here)")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--scenes-per-photo", type=int, default=d.scenes_per_photo)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--clip-model", default=None, help="open_clip model (default: tiny random, offline)")
    parser.add_argument("--clip-pretrained", default=None, help="open_clip pretrained tag, e.g. openai")
    parser.add_argument("--semantic-encoder", default=None, help="DINOv2 Hub id (default: tiny random, offline)")
    parser.add_argument("--official-prompts", default=None,
                        help="the Perceive-IR authors' prompt checkpoint (quality_prompts_100000.pth): its held-out "
                             "tier accuracy is reported beside the demo perceiver's")
    parser.add_argument("--official-restorer", default=None,
                        help="the authors' restorer (perceiveIR_3task.pth, or a folder from convert-official): "
                             "evaluated beside the two trained models")
    parser.add_argument("--official-clip-model", default=d.official_clip_model,
                        help=f"CLIP of --official-prompts: open_clip name or .json config (default "
                             f"{d.official_clip_model})")
    parser.add_argument("--official-clip-pretrained", default=d.official_clip_pretrained,
                        help=f"its weights (default {d.official_clip_pretrained})")
    parser.add_argument("--official-semantic-encoder", default=d.official_semantic_encoder,
                        help=f"DINOv2 of --official-restorer: Hub id or folder (default {d.official_semantic_encoder})")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Run the demo with the parsed options, print its ``results.md`` and return the exit status (0)."""
    from ..apps.demo import run_demo
    from ..apps.demo_settings import DemoSettings
    from ._model_args import clip_model_from_arg

    names = ("steps", "perceiver_steps", "crossfit_steps", "batch_size", "scenes_per_photo", "seed",
             "crossfit_restorer", "feature_space", "official_prompts", "official_restorer",
             "official_clip_pretrained", "official_semantic_encoder")
    flags = {name: "--" + name.replace("_", "-") for name in names}  # the settings given as they are
    try:  # checked before anything runs, and named by the flag the user typed
        settings = DemoSettings(
            out_dir=args.out, clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
            semantic_encoder=args.semantic_encoder, progress=not args.no_progress,
            official_clip_model=clip_model_from_arg(args.official_clip_model),
            **{name: getattr(args, name) for name in flags},
        )
    except ValueError as err:
        message = str(err)
        for name, flag in flags.items():
            message = message.replace(f"`{name}`", flag)
        raise InvalidValueError(message) from None
    start = time.perf_counter()
    out = run_demo(settings)
    print((out / "results.md").read_text())
    print(f"Report: {out}/results.md (+ results.json, curves.png, crops.png), {time.perf_counter() - start:.0f} s")
    return 0
