"""Synthetic pairs: degrade() is the perceive_ir.data degradation classes at random severities."""

from __future__ import annotations

import pytest
import torch

from perceive_ir.data import synthetic
from perceive_ir.data.degradations import GaussianBlur, GaussianNoise, Haze, LowLight
from perceive_ir.data.synthetic import DEGRADATION_TYPES, degrade, procedural_images, synthetic_pairs

NOISE, BLUR, HAZE, LOW_LIGHT = range(4)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def clean() -> torch.Tensor:
    return procedural_images(8, 32, generator=_gen(3))


@pytest.fixture
def made(monkeypatch) -> list:
    """Every degradation ``degrade`` makes, recorded: (class, constructor arguments, instance)."""
    record: list = []
    for cls in (GaussianNoise, GaussianBlur, Haze, LowLight):

        def spy(cls=cls, **kwargs):
            instance = cls(**kwargs)
            record.append((cls, kwargs, instance))
            return instance

        monkeypatch.setattr(synthetic, cls.__name__, spy)
    return record


def _kinds(kind: int, n: int = 8) -> torch.Tensor:
    return torch.full((n,), kind, dtype=torch.long)


def test_the_types_in_label_order():
    assert DEGRADATION_TYPES == ("noise", "blur", "haze", "low_light")


def test_each_kind_is_its_class_at_a_documented_severity(clean, made):
    kinds = torch.arange(8) % 4
    degrade(clean, kinds, generator=_gen())
    assert [cls for cls, _, _ in made] == [GaussianNoise, GaussianBlur, Haze, LowLight] * 2
    for cls, kwargs, _ in made:
        if cls is GaussianNoise:
            assert 15 <= kwargs["sigma"] <= 50
        elif cls is GaussianBlur:
            assert 1 <= kwargs["sigma"] <= 2.5
        elif cls is Haze:
            assert 0.45 <= kwargs["beta"] <= 1.05 and 0.8 <= kwargs["airlight"] <= 1
        else:
            assert 0.2 <= kwargs["exposure"] <= 0.5 and 1.2 <= kwargs["gamma"] <= 1.8
            assert kwargs["photons"] is None and kwargs["read_noise"] == 0
    severities = [kwargs["sigma"] for cls, kwargs, _ in made if cls is GaussianNoise]
    assert severities[0] != severities[1]  # drawn per image


@pytest.mark.parametrize("kind", [BLUR, LOW_LIGHT])
def test_deterministic_kinds_equal_their_class_applied_directly(clean, made, kind):
    out = degrade(clean, _kinds(kind), generator=_gen())
    assert len(made) == len(clean)
    for image, result, (_, _, degradation) in zip(clean, out, made, strict=True):
        torch.testing.assert_close(result, degradation.apply(image[None], None)[0].clamp(0, 1))


def test_same_seed_same_result_other_seed_other_result(clean):
    kinds = torch.arange(8) % 4
    first = degrade(clean, kinds, generator=_gen(1))
    assert torch.equal(first, degrade(clean, kinds, generator=_gen(1)))
    assert not torch.allclose(first, degrade(clean, kinds, generator=_gen(2)))
    d1, c1, k1 = synthetic_pairs(4, 16, generator=_gen(5))
    d2, c2, k2 = synthetic_pairs(4, 16, generator=_gen(5))
    assert torch.equal(d1, d2) and torch.equal(c1, c2) and torch.equal(k1, k2)


@pytest.mark.parametrize("kind", range(4), ids=DEGRADATION_TYPES)
def test_each_kind_changes_the_image_and_stays_in_range(clean, kind):
    out = degrade(clean, _kinds(kind), generator=_gen())
    assert out.shape == clean.shape and out.dtype == clean.dtype
    assert 0 <= out.min() and out.max() <= 1
    assert ((out - clean).abs().flatten(1).mean(1) > 0.01).all()


def test_noise_is_zero_mean_at_the_documented_level():
    gray = torch.full((6, 3, 48, 48), 0.5)
    residual = degrade(gray, _kinds(NOISE, 6), generator=_gen()) - gray
    std = residual.flatten(1).std(1)
    assert ((std > 0.9 * 15 / 255) & (std < 1.05 * 50 / 255)).all(), std
    assert residual.mean().abs() < 0.01


def test_blur_smooths_without_shifting_the_brightness(clean):
    out = degrade(clean, _kinds(BLUR), generator=_gen())

    def variation(x):
        return (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)) + (x[..., 1:] - x[..., :-1]).abs().mean((1, 2, 3))

    assert (variation(out) < 0.9 * variation(clean)).all()
    torch.testing.assert_close(out.mean((1, 2, 3)), clean.mean((1, 2, 3)), atol=0.02, rtol=0)


def test_low_light_darkens_every_pixel(clean):
    out = degrade(clean, _kinds(LOW_LIGHT), generator=_gen())
    assert (out <= clean + 1e-6).all()
    assert (out.mean((1, 2, 3)) < 0.5 * clean.mean((1, 2, 3))).all()


def test_haze_moves_every_pixel_toward_the_airlight(clean, made):
    out = degrade(clean, _kinds(HAZE), generator=_gen())
    airlight = torch.tensor([kwargs["airlight"] for _, kwargs, _ in made]).view(-1, 1, 1, 1)
    assert ((out - airlight).abs() <= (clean - airlight).abs() + 1e-6).all()
    dark = clean < 0.8  # below any airlight: haze brightens them
    assert (out[dark] >= clean[dark] - 1e-6).all()
    assert (out.mean((1, 2, 3)) > clean.mean((1, 2, 3))).all()
    assert (out.std((1, 2, 3)) < clean.std((1, 2, 3))).all()  # and washes the contrast out


def test_bad_kinds_are_refused(clean):
    with pytest.raises(ValueError, match="integer tensor of shape"):
        degrade(clean, torch.zeros(8))
    with pytest.raises(ValueError, match="integer tensor of shape"):
        degrade(clean, torch.zeros(7, dtype=torch.long))
    with pytest.raises(ValueError, match=r"lie in 0\.\.3"):
        degrade(clean, _kinds(4))
