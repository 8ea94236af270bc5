"""``perceive-ir app`` in a real headless browser: the page loads, restores a photograph and shows the result.

The page is served by the console script itself (a subprocess), on a tiny demo report of random
networks, and driven by Playwright in Debian's Chromium. Screenshots go to the test's temporary folder.
"""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from perceive_ir.apps.photo_restoration import restore_photo
from perceive_ir.data import sample_images
from perceive_ir.data.io import save_png
from perceive_ir.inference import count_tiles
from perceive_ir.models import load_model

from .._browser import CHROMIUM_FLAGS, chromium_executable, served_app, sync_playwright

#: A served app and a headless Chromium, started once for the module: 18 s of setup, then 7 s for the
#: first page, on the shared 2-core test box.
pytestmark = pytest.mark.slow

TILE = 128
WRAPPED = "demo: wrapped (quality-aware)"


@pytest.fixture(scope="module")
def app_url(tiny_report, tmp_path_factory):
    folder, _ = tiny_report
    log = tmp_path_factory.mktemp("app") / "app.log"
    with served_app(["--demo-report", str(folder), "--tile", str(TILE), "--device", "cpu"], log) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    executable = chromium_executable()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=list(CHROMIUM_FLAGS))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.wait_for_selector("#restore")
    yield page
    page.close()


def _choose(page, field: str, option: str) -> None:
    page.locator(f"#{field} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def _restored_summary(page) -> str:
    page.wait_for_function("document.querySelector('#summary').innerText.includes('Restored')")
    return page.inner_text("#summary")


def test_a_bundled_photograph_is_degraded_restored_and_shown_with_its_ratings(page, tiny_report, tmp_path):
    assert page.title() == "perceive-ir"
    _choose(page, "bundled", "chelsea")
    page.wait_for_selector("#photo img")
    _choose(page, "model", WRAPPED)
    page.click("#restore")
    summary = _restored_summary(page)
    chelsea = sample_images(["chelsea"])["chelsea"]
    tiles = count_tiles(*chelsea.shape[-2:], tile=TILE, overlap=32, multiple=16)
    assert f"Restored 451×300 with {WRAPPED} on cpu in" in summary and f"(in {tiles} tiles)" in summary
    assert "synthesised noise25" in summary and "PSNR against the clean photograph: input" in summary

    # the slider shows the synthesised input and the network's output, pixel for pixel
    sources = [img.get_attribute("src") for img in page.locator("#comparison img").all()]
    assert len(sources) == 2
    shown = [np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB")) for src in sources]
    expected = restore_photo(chelsea, load_model(tiny_report[1].models[WRAPPED]), degradation="noise25", seed=0,
                             tile=TILE)
    for image, reference in zip(shown, (expected.degraded, expected.restored), strict=True):
        reference = (reference * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        assert image.shape == reference.shape == (300, 451, 3)
        assert np.abs(image.astype(int) - reference).max() <= 1  # PNG is lossless; float order may round apart

    for rating in ("#input-tiers", "#output-tiers"):
        text = page.inner_text(rating)
        assert all(tier in text for tier in ("low", "medium", "high")) and "%" in text
    shot = tmp_path / "restored.png"
    page.screenshot(path=str(shot), full_page=True)
    assert Image.open(shot).size[0] == 1400 and shot.stat().st_size > 50_000


def test_an_uploaded_photograph_restores_as_it_is(page, tmp_path):
    upload = tmp_path / "upload.png"
    save_png(torch.rand(3, 90, 120), upload)
    page.locator("#photo input[type=file]").set_input_files(str(upload))
    page.wait_for_selector("#photo img")
    _choose(page, "degradation", "none: restore the photograph as it is")
    page.click("#restore")
    summary = _restored_summary(page)
    assert "Restored 120×90 with demo: bare (L1) on cpu in" in summary and "(whole)" in summary
    assert "as it is (no clean reference, so no PSNR)" in summary
    page.screenshot(path=str(tmp_path / "as-it-is.png"))


def test_a_bad_model_path_is_a_message_on_the_page_not_a_traceback(page, tmp_path):
    _choose(page, "bundled", "coffee")
    page.wait_for_selector("#photo img")
    page.locator("#model-path textarea").fill(str(tmp_path / "no-such-model"))
    page.click("#restore")
    toast = page.locator("[data-testid=toast-text]").first
    toast.wait_for()
    assert "is not a model label or an existing local folder or file" in toast.inner_text()
    assert "Traceback" not in page.content()
    page.screenshot(path=str(tmp_path / "error.png"))


def test_a_malformed_upload_is_a_message_naming_it(page, tmp_path):
    upload = tmp_path / "holiday.png"
    upload.write_bytes(b"\x89PNG\r\n\x1a\n" + b"truncated: not the rest of a PNG")
    page.locator("#photo input[type=file]").set_input_files(str(upload))
    page.click("#restore")
    toast = page.locator("[data-testid=toast-text]").first
    toast.wait_for()
    text = toast.inner_text()
    assert "Cannot read image holiday.png" in text and "Upload a PNG, JPEG" in text
    assert "upstream" not in text.lower() and "Traceback" not in page.content()
