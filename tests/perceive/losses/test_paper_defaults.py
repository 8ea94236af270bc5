"""The quality-aware loss is the paper's by default: feature space, layers, weights, λ, the a_k rule, the masks."""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
import torch.nn.functional as F

from perceive_ir import LossWeights, Proxy, QualityAwareLoss, QualityPerceiver
from perceive_ir.perceive.losses import ProxyPSNRDifficulty, VGG16FeatureSpace, VGG16WeightsNotFoundError
from perceive_ir.perceive.losses.feature_spaces import VGG16_ENV, VGG16_FILE, vgg16_cache_path


@pytest.fixture
def perceiver(tiny_clip_config):
    return QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=4)


@pytest.fixture
def local_vgg16(tmp_path, monkeypatch):
    """A random VGG-16 state dict (convolutional part, torchvision key names) offered as the local weights file."""
    torch.manual_seed(3)
    random = VGG16FeatureSpace(weights=None)
    path = tmp_path / VGG16_FILE
    torch.save({f"features.{k}": v for k, v in random.features.state_dict().items()}, path)
    monkeypatch.setenv(VGG16_ENV, str(path))
    return random


def test_the_default_loss_is_the_papers(perceiver, local_vgg16):
    signature = inspect.signature(QualityAwareLoss)
    assert signature.parameters["feature_space"].default == "vgg16"
    assert signature.parameters["difficulty"].default == "proxy_psnr"

    loss_fn = QualityAwareLoss(perceiver)
    space = loss_fn.feature_space
    assert isinstance(space, VGG16FeatureSpace) and space.weights == "IMAGENET1K_V1"
    # relu1_2, relu2_2, relu3_1, relu3_3 of torchvision's vgg16().features, weighted 1/12, 1/6, 1/3, 1
    assert space.LAYER_INDICES == (3, 8, 11, 15)
    assert space.LAYER_NAMES == ("relu1_2", "relu2_2", "relu3_1", "relu3_3")
    assert space.layer_weights == (1 / 12, 1 / 6, 1 / 3, 1.0)
    # the weights were read from the local file, not left random
    torch.testing.assert_close(space.features[0].weight, local_vgg16.features[0].weight)
    # λ1 (cl), λ2 (clip), λ3 (dpl) = 0.1, 0.05, 0.1 with L_rec = L1 at weight 1
    assert loss_fn.weights == LossWeights(rec=1.0, cl=0.1, clip=0.05, dpl=0.1)
    # a_k: 1.25 when the proxy's PSNR is at or below the model's, else 0.75
    rule = loss_fn.difficulty
    assert isinstance(rule, ProxyPSNRDifficulty) and (rule.hard, rule.easy) == (1.25, 0.75)
    assert rule.set_from_psnr(30.0, [29.0, 30.0, 31.0]) == [1.25, 1.25, 0.75]


def test_missing_vgg_weights_fail_fast_offline_and_say_how_to_provide_them(perceiver, tmp_path, monkeypatch):
    monkeypatch.delenv(VGG16_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(VGG16WeightsNotFoundError) as info:
        QualityAwareLoss(perceiver)
    message = str(info.value)
    assert VGG16_FILE in message and VGG16_ENV in message and str(vgg16_cache_path()) in message
    assert "feature_space='clip'" in message
    # a path given explicitly but missing: the same error, naming the path
    with pytest.raises(VGG16WeightsNotFoundError, match="nope.pth"):
        VGG16FeatureSpace(weights=tmp_path / "nope.pth")


def test_a_vgg_file_with_features_only_keys_loads(tmp_path):
    random = VGG16FeatureSpace(weights=None)
    path = tmp_path / "features.pth"
    torch.save(random.features.state_dict(), path)
    loaded = VGG16FeatureSpace(weights=str(path))
    torch.testing.assert_close(loaded.features[14].weight, random.features[14].weight)


def _features(x):
    return [x, F.avg_pool2d(x, 4)]


def test_each_proxy_counts_only_on_the_samples_of_its_tasks():
    torch.manual_seed(0)
    clean = torch.rand(3, 3, 16, 16)
    degraded = (clean + 0.2).clamp(0, 1)
    restored = (0.5 * clean + 0.5 * degraded).requires_grad_()
    calls = []

    def dehazer(x):
        calls.append(x.shape[0])
        return x * 0.9

    proxies = [Proxy(dehazer, tasks=["dehaze"], name="dehazer"), Proxy(lambda x: x * 0.8, name="any")]
    loss_fn = QualityAwareLoss(None, weights={"clip": 0}, feature_space=_features, difficulty=[1.25, 0.75],
                               layer_weights=[0.5, 1.0], proxies=proxies)
    tasks = ["denoise", "dehaze", "derain"]
    out = loss_fn(restored, clean, degraded, tasks=tasks)
    assert calls == [1]  # the dehazer ran on the hazy sample only
    # medium weights are a_k · m_k
    torch.testing.assert_close(out.medium_weights, torch.tensor([[0.0, 0.75], [1.25, 0.75], [0.0, 0.75]]))

    def d(a, b):
        return (a - b).abs().flatten(1).mean(1)

    with torch.no_grad():
        m1, m2 = degraded * 0.9, degraded * 0.8
        mask = torch.tensor([0.0, 1.0, 0.0])
        total = 0
        layers = (_features(t) for t in [restored, clean, degraded, m1, m2])
        for w, fr, fg, fl, f1, f2 in zip([0.5, 1.0], *layers, strict=True):
            total = total + w * d(fr, fg) / (2 * d(fr, fl) + mask * 1.25 * d(fr, f1) + 0.75 * d(fr, f2)).clamp_min(1e-6)
    torch.testing.assert_close(out.terms["dpl"], total.mean())
    with pytest.raises(ValueError, match="tasks="):
        loss_fn(restored, clean, degraded)  # a task-restricted proxy needs the samples' tasks


def test_the_probe_measures_per_task_and_each_sample_gets_its_tasks_weights():
    torch.manual_seed(0)
    clean = F.interpolate(torch.rand(4, 3, 8, 8), size=32, mode="bilinear", align_corners=False)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    dark = clean * 0.5
    # task 0 (denoise): noisy inputs; task 4 (lowlight): dark inputs
    probe = [(noisy[:2], clean[:2], torch.tensor([0, 0])), (dark[2:], clean[2:], ["lowlight", "lowlight"])]

    def smoother(x):
        return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)

    def brightener(x):
        return (x * 2).clamp(0, 1)

    loss_fn = QualityAwareLoss(None, weights={"clip": 0}, feature_space=_features,
                               proxies=[Proxy(smoother, name="smooth"), Proxy(brightener, tasks=["lowlight"],
                                                                                name="bright")])
    weights = loss_fn.update_difficulty(torch.nn.Identity(), probe)
    # the identity model does not beat the smoother on noise (0.75) but beats it on dark images (1.25);
    # the brightener is perfect on dark images (0.75) and not valid for denoising (None)
    assert weights == {"denoise": [0.75, None], "lowlight": [1.25, 0.75]}
    assert {k for k in loss_fn.difficulty.logged() if k.startswith("a/")} == {
        "a/smooth/denoise", "a/smooth/lowlight", "a/bright/lowlight"}
    assert "psnr/model/lowlight" in loss_fn.difficulty.logged()
    batch = torch.rand(2, 3, 32, 32)
    out = loss_fn(batch, batch.flip(0), batch, tasks=torch.tensor([4, 0]))
    torch.testing.assert_close(out.medium_weights, torch.tensor([[1.25, 0.75], [0.75, 0.0]]))
    with pytest.raises(ValueError, match="tasks="):
        loss_fn.difficulty.weights(2, 2, torch.device("cpu"))


def test_update_difficulty_needs_proxies_and_the_psnr_rule():
    with pytest.raises(ValueError, match="proxies"):
        QualityAwareLoss(None, weights={"clip": 0}, feature_space=_features).update_difficulty(
            torch.nn.Identity(), [(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))]
        )
    with pytest.raises(ValueError, match="proxy_psnr"):
        QualityAwareLoss(None, weights={"clip": 0}, feature_space=_features, difficulty=1.0,
                         proxies=[lambda x: x]).update_difficulty(torch.nn.Identity(), [])
    with pytest.raises(TypeError, match="restorer"):
        Proxy("not a network")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown task"):
        Proxy(lambda x: x, tasks=["desnow"])


def test_the_authors_per_sample_variant_compares_each_samples_proxy_psnr_with_the_probe_mean():
    torch.manual_seed(0)
    clean = F.interpolate(torch.rand(4, 3, 8, 8), size=32, mode="bilinear", align_corners=False)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    loss_fn = QualityAwareLoss(None, weights={"clip": 0}, feature_space=_features, difficulty="proxy_psnr_sample",
                               proxies=[Proxy(lambda x: x, name="identity")])
    batch = torch.rand(2, 3, 32, 32)
    out = loss_fn(batch, batch, batch)
    torch.testing.assert_close(out.medium_weights, torch.ones(2, 1))  # neutral before the first probe
    loss_fn.update_difficulty(torch.nn.Identity(), [(noisy, clean)])
    reference = loss_fn.difficulty.reference
    with torch.no_grad():
        expected_reference = (-10 * torch.log10((noisy - clean).square().flatten(1).mean(1))).mean()
    assert reference == pytest.approx(float(expected_reference), abs=1e-4)
    # a sample whose proxy output (here: its input) is worse than the reference gets 1.25, a better one 0.75
    target = clean[:2]
    degraded = torch.stack([(target[0] + 0.3 * torch.randn_like(target[0])).clamp(0, 1), target[1] * 0.999])
    out = loss_fn(degraded, target, degraded)
    torch.testing.assert_close(out.medium_weights, torch.tensor([[1.25], [0.75]]))
    assert loss_fn.difficulty.logged() == {"a/reference_psnr": pytest.approx(reference)}
    with pytest.raises(ValueError, match="per"):
        ProxyPSNRDifficulty(per="batch")


def test_proxy_outputs_are_clamped_like_the_authors_and_must_keep_the_size():
    image = torch.rand(2, 3, 16, 16)
    assert Proxy(lambda x: x * 3 - 1).render(image).aminmax() == (torch.tensor(0.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match="keep the image size"):
        Proxy(lambda x: x[..., :8, :8], name="cropper").render(image)
    with pytest.raises(TypeError, match="expected a tensor"):
        Proxy(lambda x: [x]).render(image)


def test_an_unmeasured_psnr_rule_warns_once():
    batch = torch.rand(2, 3, 16, 16)
    loss_fn = QualityAwareLoss(None, weights={"clip": 0}, feature_space=_features, proxies=[lambda x: x])
    with pytest.warns(UserWarning, match="update_difficulty"):
        loss_fn(batch, batch, batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss_fn(batch, batch, batch)  # once only
        loss_fn.update_difficulty(torch.nn.Identity(), [(batch, batch.flip(0))])
        loss_fn(batch, batch, batch)
