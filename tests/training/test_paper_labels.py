"""Every ``[paper: authors FILE:KEY]`` label of the shipped recipes is true: checked against the authors' values.

The authors' values are facts read from their files (``authors_values.yaml`` beside this test, one entry per file
and key). Each label names the recipe key it sits on; this test reads that key's value from the recipe and compares
it with the cited values, through the few conversions where our key says the same thing another way (a global batch
is the sum of the per-rank batches; a final learning rate is a ratio of the initial one).
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import torchvision
import yaml
from torch import nn

from perceive_ir.perceive.losses import VGG16FeatureSpace
from perceive_ir.training.config_files import list_builtin_configs

AUTHORS: dict[str, dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "authors_values.yaml").read_text())
LABEL = re.compile(r"\[paper: authors ([^\]]+)\]")
CITATION = re.compile(r"^([\w./-]+\.(?:yaml|py|sh|md)):([\w.]+)$")
#: Every shipped recipe: the stage-2 ones and stage 1's ``perceiver``.
RECIPES = sorted(list_builtin_configs())


def _labelled_lines(text: str) -> list[tuple[list[str | int], str]]:
    """``(recipe key path, label text)`` of every line with a ``[paper`` label; the path from the indentation."""
    stack: list[tuple[int, str | int]] = []
    counters: dict[tuple[str | int, ...], int] = {}
    found = []
    for line in text.splitlines():
        body = line.split("#", 1)[0]
        if not body.strip():
            if "[paper" in line and "[paper: authors FILE:KEY" not in line:  # the header describing the form
                raise AssertionError(f"a [paper] label must sit on the line of the key it labels: {line!r}")
            continue
        indent = len(body) - len(body.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stripped = body.strip()
        if stripped.startswith("- "):
            parent = tuple(k for _, k in stack)
            index = counters.get(parent, 0)
            counters[parent] = index + 1
            key: str | int = index
        else:
            key = stripped.split(":", 1)[0].strip()
        stack.append((indent, key))
        if "[paper" in line:
            found.append(([k for _, k in stack], line.split("#", 1)[1]))
    return found


def _value(recipe: dict[str, Any], path: list[str | int]) -> Any:
    value: Any = recipe
    for key in path:
        value = value[key]
    return value


def _effective_vgg_indices(indices: list[int]) -> list[int]:
    """Where the maps the authors keep really come from.

    torchvision's ReLUs are in place, so a conv output kept at index ``i`` is overwritten by the
    ReLU at ``i + 1`` before the loss reads it.
    """
    layers = torchvision.models.vgg16(weights=None).features
    return [
        i + 1 if isinstance(layers[i], nn.Conv2d) and isinstance(layers[i + 1], nn.ReLU) and layers[i + 1].inplace
        else i
        for i in indices
    ]


def _expected(path: str, key: str, theirs: Any, ours: Any, cited: dict[str, Any]) -> tuple[Any, Any]:
    """``(our value as compared, the authors' value as compared)`` for one citation."""
    leaf = key.rsplit(".", 1)[-1]
    if path == "train.batch_size" and key in ("prompts.batch_size_per_gpu", "NPROC_PER_NODE"):
        # stage 1: the README's per-process batch times the launcher's process count
        per_process = cited["README.md:prompts.batch_size_per_gpu"]
        return ours, per_process * cited["scripts/train_perceiveIR_stage1.sh:NPROC_PER_NODE"]
    if path == "train.batch_size":
        return ours, sum(theirs)
    if path == "train.min_lr_ratio":
        lr = next(v for k, v in cited.items() if k.endswith(".learning_rate"))
        low = next(v for k, v in cited.items() if k.endswith(".minimum_learning_rate"))
        return pytest.approx(ours), low / lr
    if path == "perceiver.clip_model":
        return ours, theirs.replace("/", "-")  # OpenAI's name, open_clip's spelling
    if path == "perceiver.style":
        return ours, {"X ... X": "official"}[theirs]
    if path == "train.mixed_precision" and key == "autocast":
        return ours, "no" if theirs is False else theirs
    if path == "model.name":
        return ours, {"PerceiveIR": "perceiveirnet"}[theirs]
    if path.endswith("semantic_encoder"):
        return ours, "facebook/" + Path(theirs).name
    if path == "loss.feature_space" and key == "pretrained.vgg16":
        return ours, "vgg16" if Path(theirs).name.startswith("vgg16-") else theirs
    if path == "loss.feature_space":  # the layers of our vgg16 feature space
        return (list(VGG16FeatureSpace.LAYER_INDICES) if ours == "vgg16" else ours), _effective_vgg_indices(theirs)
    if path == "loss.weights":
        ours_term = {"reconstruction": "rec", "contrastive": "cl", "clip": "clip", "perceptual": "dpl"}[leaf]
        return ours[ours_term], 1.0 if key == "reconstruction" and theirs == "l1" else theirs
    if path == "loss.difficulty":
        return ours, {"per_sample": "proxy_psnr_sample"}[theirs]
    if path.startswith("data.tasks."):
        if key == "NOISE_SIGMAS":
            return ours["degradations"], [f"noise{s}" for s in theirs]
        return ours["repeat"] * len(ours.get("degradations") or [None]), theirs
    return ours, theirs


@pytest.mark.parametrize("name", RECIPES)
def test_every_paper_label_matches_the_authors_value(name):
    text = (files("perceive_ir.training") / "configs" / f"{name}.yaml").read_text()
    recipe = yaml.safe_load(text)
    setting = re.match(r"(\d)task", name)
    checked = 0
    for path, comment in _labelled_lines(text):
        labels = LABEL.findall(comment)
        assert labels, f"{name}: a [paper label not in the form [paper: authors FILE:KEY, ...]: {comment!r}"
        for label in labels:
            citations = [c.strip() for c in label.split(";", 1)[0].split(",")]
            cited = {}
            for citation in citations:
                match = CITATION.match(citation)
                assert match, f"{name}: {citation!r} is not FILE:KEY"
                file, key = match.groups()
                assert file in AUTHORS and key in AUTHORS[file], f"{name}: no authors' value for {file}:{key}"
                if file.startswith("configs/perceiveIR_") and setting:
                    assert file == f"configs/perceiveIR_{setting.group(1)}task.yaml", f"{name} cites {file}"
                cited[f"{file}:{key}"] = AUTHORS[file][key]
            dotted = ".".join(str(k) for k in path)
            ours = _value(recipe, path)
            for ref, theirs in cited.items():
                key = ref.split(":", 1)[1]
                got, want = _expected(dotted, key, theirs, ours, cited)
                assert got == want, f"{name}: {dotted} = {ours!r} but the authors' {ref} is {theirs!r}"
                checked += 1
    if name in ("3task", "5task"):
        assert checked >= 30, f"{name}: only {checked} labels checked"
    if name == "perceiver":
        assert checked >= 19, f"{name}: only {checked} labels checked"


def test_the_label_check_can_fail():
    """A recipe value that differs from the cited authors' value is caught."""
    text = "train:\n  lr: 3.0e-4   # [paper: authors configs/perceiveIR_3task.yaml:train.learning_rate]\n"
    ((path, comment),) = _labelled_lines(text)
    got, want = _expected(".".join(path), "train.learning_rate", 0.0002, _value(yaml.safe_load(text), path), {})
    assert path == ["train", "lr"] and got != want


def test_paper_named_recipes_reproduce_the_authors_not_ours():
    """The recipes named after the paper carry no [ours] departure on a setting the authors' configs hold."""
    for name in ("3task", "5task"):
        recipe = yaml.safe_load((files("perceive_ir.training") / "configs" / f"{name}.yaml").read_text())
        assert recipe["model"]["name"] == "perceiveirnet" and recipe["train"]["mixed_precision"] == "bf16"
        assert recipe["loss"]["clip_logit_scale"] is False and recipe["data"]["positive"] is True
        assert "cfe_crop" not in recipe["loss"]
