"""Degradation synthesis: effect, monotone severity, seeding, shapes, validation."""

from __future__ import annotations

import pytest
import torch

from perceive_ir.data import (
    JPEG,
    Compose,
    Degradation,
    GaussianBlur,
    GaussianNoise,
    Haze,
    LowLight,
    MotionBlur,
    Rain,
    get_degradation,
    list_degradations,
    register_degradation,
    sample_images,
)

from ._helpers import psnr

CLASSES = [GaussianNoise, Rain, Haze, GaussianBlur, MotionBlur, LowLight, JPEG]
SEVERITIES = [0.1, 0.4, 0.7, 1.0]


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    img = sample_images(["astronaut"])["astronaut"]
    return img[:, 32:480:5, 32:480:5].contiguous()  # 90×90 real photograph


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_more_severity_degrades_more(cls: type[Degradation], photo: torch.Tensor) -> None:
    scores = [psnr(cls.from_severity(s)(photo, seed=0), photo) for s in SEVERITIES]
    assert all(a > b for a, b in zip(scores, scores[1:], strict=False)), scores
    assert scores[0] < 45, f"{cls.__name__} barely changes the image: {scores}"


@pytest.mark.parametrize(
    "make",
    [
        lambda v: GaussianNoise(sigma=v),
        lambda v: Haze(beta=v / 25),
        lambda v: GaussianBlur(sigma=v / 15),
        lambda v: LowLight(exposure=1.0 / (1 + v / 10)),
        lambda v: JPEG(quality=int(80 - v)),
    ],
    ids=["noise", "haze", "gblur", "lowlight", "jpeg"],
)
def test_native_parameters_monotone(make, photo: torch.Tensor) -> None:
    scores = [psnr(make(v)(photo, seed=1), photo) for v in (15, 25, 50)]
    assert scores[0] > scores[1] > scores[2], scores


@pytest.mark.parametrize("name", sorted(["noise15", "noise25", "noise50", "rain", "haze", "blur", "lowlight"]))
def test_presets_exist_and_degrade(name: str, photo: torch.Tensor) -> None:
    assert name in list_degradations()
    out = get_degradation(name)(photo, seed=0)
    assert out.shape == photo.shape and out.dtype == photo.dtype
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    assert (out - photo).abs().mean() > 0.005


def test_noise_presets_are_ordered(photo: torch.Tensor) -> None:
    p = [psnr(get_degradation(f"noise{s}")(photo, seed=0), photo) for s in (15, 25, 50)]
    assert p[0] > p[1] > p[2]


def test_gaussian_noise_has_the_requested_sigma() -> None:
    gray = torch.full((1, 3, 128, 128), 0.5)
    for sigma in (15, 25, 50):
        noise = GaussianNoise(sigma)(gray, seed=3) - gray
        assert abs(float(noise.std()) * 255 - sigma) < 0.05 * sigma


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_seed_reproduces_and_keeps_global_rng(cls: type[Degradation], photo: torch.Tensor) -> None:
    d = cls.from_severity(0.5)
    state = torch.get_rng_state()
    a = d(photo, seed=7)
    b = d(photo, seed=7)
    assert torch.equal(torch.get_rng_state(), state), "a seeded call touched the global RNG"
    assert torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(d(photo, generator=g1), d(photo, generator=g2))
    c = d(photo, seed=8)
    if d.stochastic:
        assert not torch.equal(a, c)
    else:
        assert torch.equal(a, c)


def test_stochastic_flags() -> None:
    assert GaussianNoise().stochastic and Rain().stochastic and Haze().stochastic
    assert not GaussianBlur().stochastic and not JPEG().stochastic
    assert not Haze(depth="luminance").stochastic
    assert MotionBlur(angle=None).stochastic and not MotionBlur(angle=30.0).stochastic
    assert not LowLight(photons=None, read_noise=0.0).stochastic


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_single_images_and_batches(cls: type[Degradation], photo: torch.Tensor) -> None:
    d = cls.from_severity(0.5)
    batch = torch.stack([photo, photo.flip(-1), photo * 0.8])
    out = d(batch, seed=0)
    assert out.shape == batch.shape
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    single = d(photo, seed=0)
    assert single.shape == photo.shape
    if not d.stochastic:
        assert torch.allclose(out[1], d(batch[1]), atol=1e-6)


def test_deterministic_parts_match_their_model(photo: torch.Tensor) -> None:
    x = photo.unsqueeze(0)
    ll = LowLight(exposure=0.3, gamma=2.0, photons=None, read_noise=0.0)
    assert torch.allclose(ll(x), 0.3 * x.pow(2.0), atol=1e-6)
    assert torch.allclose(Haze(beta=0.0)(x, seed=0), x, atol=1e-6)
    thick = Haze(beta=60.0, airlight=(0.9, 0.8, 0.7), depth="luminance")(x)
    far = thick[..., :, :]  # where depth ≈ 1 the image is ≈ airlight; check the farthest pixel
    depth = Haze(depth="luminance").depth_map(x, None)
    iy, ix = divmod(int(depth.flatten().argmax()), x.shape[-1])
    assert torch.allclose(far[0, :, iy, ix], torch.tensor([0.9, 0.8, 0.7]), atol=1e-3)
    # the scattering model with the same depth map
    h = Haze(beta=1.3, airlight=0.85)
    t = torch.exp(-1.3 * h.depth_map(x, torch.Generator().manual_seed(5)))
    assert torch.allclose(h(x, seed=5), (x * t + 0.85 * (1 - t)).clamp(0, 1), atol=1e-6)


def test_gaussian_blur_kernel_is_the_requested_gaussian() -> None:
    dot = torch.zeros(1, 3, 41, 41)
    dot[..., 20, 20] = 1.0
    for sigma in (1.0, 2.0, 3.0):
        k = GaussianBlur(sigma=sigma)(dot)[0, 0]
        assert abs(float(k.sum()) - 1.0) < 1e-4
        offsets = torch.arange(41.0) - 20
        var_x = float((k.sum(0) * offsets**2).sum())
        var_y = float((k.sum(1) * offsets**2).sum())
        assert abs(var_x - sigma**2) < 0.05 * sigma**2 and abs(var_y - sigma**2) < 0.05 * sigma**2


def test_motion_blur_direction_follows_kornia_convention() -> None:
    dot = torch.zeros(1, 3, 21, 21)
    dot[..., 10, 10] = 1.0
    horiz = MotionBlur(length=7, angle=0.0)(dot)[0, 0]
    vert = MotionBlur(length=7, angle=90.0)(dot)[0, 0]
    assert (horiz[10] > 0).sum() == 7 and (horiz[:, 10] > 0).sum() == 1
    assert (vert[:, 10] > 0).sum() == 7 and (vert[10] > 0).sum() == 1


def test_rain_only_brightens_and_streaks_are_long(photo: torch.Tensor) -> None:
    x = photo.unsqueeze(0) * 0.5
    r = Rain(density=0.002, length=21, angle=0.0, angle_jitter=0.0, intensity=0.9)
    out = r(x, seed=0)
    assert (out >= x - 1e-6).all()
    layer = r.streaks((1, x.shape[-2], x.shape[-1]), torch.Generator().manual_seed(0), x)
    assert 0.99 <= float(layer.max()) <= 1.0
    # vertical streaks: the layer varies much more across columns than along them
    assert (layer.diff(dim=-1).abs().mean() > 2 * layer.diff(dim=-2).abs().mean())


def test_jpeg_output_is_8bit(photo: torch.Tensor) -> None:
    out = JPEG(quality=20)(photo)
    assert torch.allclose(out * 255, (out * 255).round(), atol=1e-4)


def test_compose_applies_all_in_order_and_reproduces(photo: torch.Tensor) -> None:
    comp = Compose([Haze(beta=1.0), GaussianNoise(sigma=25)])
    a, b = comp(photo, seed=3), comp(photo, seed=3)
    assert torch.equal(a, b)
    assert psnr(a, photo) < psnr(Haze(beta=1.0)(photo, seed=3), photo)
    g = torch.Generator().manual_seed(3)
    manual = GaussianNoise(25)(Haze(beta=1.0)(photo, generator=g), generator=g)
    assert torch.equal(a, manual)
    with pytest.raises(ValueError, match="degradations"):
        Compose([])
    with pytest.raises(TypeError, match=r"degradations\[1\]"):
        Compose([Haze(), "noise"])  # type: ignore[list-item]


def test_register_preset() -> None:
    register_degradation("test-haze-noise", lambda: Compose([Haze(), GaussianNoise(15)]), overwrite=True)
    assert isinstance(get_degradation("test-haze-noise"), Compose)
    with pytest.raises(ValueError, match="already registered"):
        register_degradation("noise25", lambda: GaussianNoise(1))
    with pytest.raises(KeyError, match="noise25"):
        get_degradation("nope")


def test_input_validation() -> None:
    with pytest.raises(TypeError, match="image"):
        GaussianNoise()(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="255"):
        GaussianNoise()(torch.full((3, 8, 8), 200.0))
    with pytest.raises(ValueError, match="channels"):
        GaussianNoise()(torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match="seed"):
        GaussianNoise()(torch.rand(3, 8, 8), seed=1, generator=torch.Generator())
    with pytest.raises(TypeError, match="generator"):
        GaussianNoise()(torch.rand(3, 8, 8), generator=3)  # type: ignore[arg-type]
    for bad in (lambda: GaussianNoise(-1), lambda: Rain(density=0), lambda: Rain(length=4),
                lambda: Haze(airlight=2.0), lambda: Haze(depth="x"), lambda: GaussianBlur(0),
                lambda: MotionBlur(length=4), lambda: LowLight(exposure=0), lambda: JPEG(quality=0),
                lambda: GaussianNoise.from_severity(1.5)):
        with pytest.raises(ValueError):
            bad()
