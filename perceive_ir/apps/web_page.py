"""The restoration web page behind ``perceive-ir app`` (Gradio, the optional extra ``app``).

On the page a user uploads a photograph or picks one of the scikit-image photographs, chooses a
degradation to synthesise (or none), chooses a model from a
:class:`~perceive_ir.apps.model_catalog.ModelCatalog` (or types a local folder or file), and
sees the input and the restored image side by side with a slider, the quality perceiver's tier
probabilities for both, the time taken and, for a synthesised degradation, the PSNR gain. Large
images restore in tiles with a progress bar (:func:`~perceive_ir.apps.photo_restoration.restore_photo`).

Gradio is imported when the page is built, so this module imports without it. Gradio's usage
analytics are off unless ``GRADIO_ANALYTICS_ENABLED`` says otherwise, and the page's fonts are
the system's: the page needs no connection beyond the one to its own server.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._validation import check_int
from ..data.degradations.presets import list_degradations
from ..data.io import array_to_image, image_to_array, read_image_file
from ..errors import InvalidValueError
from ..inference.compiled import FastOptions
from ..perceive.perceiver import QualityPerceiver
from .model_catalog import ModelCatalog
from .photo_restoration import PhotoResult, restore_photo

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["AS_IT_IS", "PageSettings", "build_page", "import_gradio", "launch_page"]

#: The degradation choice that restores the photograph as it is.
AS_IT_IS = "none: restore the photograph as it is"

#: What a request can fail with because of what the user chose or uploaded: a message on the page.
_USER_ERRORS = (ValueError, TypeError, KeyError, OSError, ImportError, RuntimeError)

_INTRO = """# perceive-ir: restore a photograph
Upload a photograph (or pick a bundled one), synthesise a degradation or keep it as it is, choose a
model, then **Restore**. Drag the slider over the result to compare the input with the restored image."""


class PageSettings:
    """How the page restores: tiling, device, and what it rates with.

    Args:
        perceiver: Rates input and output (tier probabilities); ``None``: the page says it has none.
        tile: Images with a side above this restore in tiles of this side; ``None``: always whole.
        overlap: Overlap between tiles, in pixels.
        device: Where to restore (``None``: CUDA when available, else the CPU).
        default_degradation: The degradation selected when the page opens.
        perceiver_note: What the perceiver is, shown beside its ratings (e.g. that a demo's
            perceiver was trained for minutes on a few photographs, so its verdicts are rough).
        fast: Compiled / channels-last / bfloat16 restoration
            (:class:`~perceive_ir.inference.compiled.FastOptions`; ``None``: float32 eager).
    """

    def __init__(
        self,
        *,
        perceiver: QualityPerceiver | None = None,
        tile: int | None = 512,
        overlap: int = 32,
        device: str | torch.device | None = None,
        default_degradation: str = "noise25",
        perceiver_note: str | None = None,
        fast: FastOptions | None = None,
    ) -> None:
        check_int(tile, "tile", optional=True)
        if not isinstance(overlap, int) or overlap < 0 or (tile is not None and overlap >= tile):
            raise InvalidValueError(f"`overlap` must be an int in [0, tile={tile}), got {overlap!r}.")
        if default_degradation not in (AS_IT_IS, *list_degradations()):
            raise InvalidValueError(f"`default_degradation` must be one of {list_degradations()} or AS_IT_IS, "
                                    f"got {default_degradation!r}.")
        self.perceiver = perceiver
        self.tile = tile
        self.overlap = overlap
        self.device = torch.device(device) if device is not None else torch.device(
            "cuda" if torch.cuda.is_available() else "cpu")
        self.default_degradation = default_degradation
        self.perceiver_note = perceiver_note
        self.fast = fast or FastOptions()
        if perceiver is not None:
            perceiver.to(self.device).eval()


def import_gradio() -> Any:
    """Import Gradio, with its usage analytics off unless the environment says otherwise.

    Raises:
        ImportError: Gradio is not installed (the message says how to install it).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError as err:
        raise ImportError(
            f"The web page needs Gradio ({err}); install it with: pip install 'perceive-ir[app]'"
        ) from None
    return gradio


def _comparison(result: PhotoResult) -> tuple[np.ndarray, np.ndarray]:
    """The slider's pair: a super-resolution network's input is enlarged (bicubic) to its output's size."""
    degraded = result.degraded
    if degraded.shape != result.restored.shape:
        degraded = torch.nn.functional.interpolate(degraded[None], size=result.restored.shape[-2:], mode="bicubic",
                                                   align_corners=False)[0]
    return image_to_array(degraded), image_to_array(result.restored)


def _read_uploads_with_the_library(photo: Any, gr: Any) -> Any:
    """Make Gradio's image box read uploads with the library's image policy and refuse bad ones on the page.

    An uploaded file is read by :func:`~perceive_ir.data.io.read_image_file` (EXIF orientation,
    16-bit and float scaling, animations and decompression bombs refused) rather than by Gradio's
    own decoder, and a file that cannot be read is a message naming it instead of Gradio's
    generic "upstream app raised an exception". The box's own ``preprocess`` is replaced on this
    instance only (a subclass would make Gradio write a ``.pyi`` stub beside this module).
    """
    gradio_preprocess = photo.preprocess

    def preprocess(payload: Any) -> np.ndarray | None:
        path = getattr(payload, "path", None)
        if payload is None or path is None or str(getattr(payload, "url", "") or "").startswith("data:"):
            return gradio_preprocess(payload)  # a pasted image: Gradio decodes it
        name = getattr(payload, "orig_name", None) or Path(path).name
        try:
            return image_to_array(read_image_file(path).image)
        except (OSError, ValueError) as err:
            reason = str(err).replace(str(path), name)
            raise gr.Error(f"{reason} Upload a PNG, JPEG, TIFF, WebP or BMP photograph.") from None

    photo.preprocess = preprocess
    return photo


def _bundled_photo(name: str | None) -> np.ndarray | None:
    from ..data.samples import sample_images

    if not name:
        return None
    return image_to_array(sample_images([name])[name])


def _restore_handler(catalog: ModelCatalog, settings: PageSettings, gr: Any) -> Callable[..., Any]:
    """The function behind the Restore button; a user error becomes a message on the page, not a traceback."""

    def on_restore(
        photo: np.ndarray | None,
        bundled: str | None,
        degradation: str,
        seed: float | None,
        model_label: str,
        model_path: str,
        progress: Any = gr.Progress(track_tqdm=True),  # noqa: B008 (Gradio's way to ask for a progress bar)
    ) -> tuple[Any, Any, Any, str]:
        if photo is None:  # a bundled photograph picked a moment ago may not have reached the image box yet
            photo = _bundled_photo(bundled)
        if photo is None:
            raise gr.Error("Upload a photograph or pick a bundled one first.")
        choice = (model_path or "").strip() or model_label
        if not choice:
            raise gr.Error("Choose a model, or type the path of a local model folder or file.")
        try:
            progress(0, desc=f"loading {choice}")
            model = catalog.load(choice)
            progress(0.1, desc="restoring")
            result: PhotoResult = restore_photo(
                array_to_image(photo), model, degradation=None if degradation == AS_IT_IS else degradation,
                seed=int(seed or 0), perceiver=settings.perceiver, tile=settings.tile, overlap=settings.overlap,
                device=settings.device, progress=True, fast=settings.fast,
            )
        except _USER_ERRORS as err:
            raise gr.Error(str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)) from None
        no_rating = {"no perceiver: start the page with --perceiver": 1.0}
        summary = result.summary(choice)
        if settings.perceiver is not None and settings.perceiver_note:
            summary += f"\n\nRatings: {settings.perceiver_note}"
        return (
            _comparison(result),
            result.input_tiers or no_rating,
            result.output_tiers or no_rating,
            summary,
        )

    return on_restore


def build_page(catalog: ModelCatalog, settings: PageSettings | None = None) -> gr.Blocks:
    """Build the restoration page.

    Args:
        catalog: The models offered (the first is selected). With ``catalog.allow_paths`` the
            page also has a box for the path of a local model folder or file.
        settings: Tiling, device and perceiver (default :class:`PageSettings`).

    Returns:
        The Gradio ``Blocks``; start it with :func:`launch_page` (or its ``launch``).

    Raises:
        ImportError: Gradio is not installed.
        ValueError: a catalog that offers no model and takes no path.

    Example:
        >>> from perceive_ir.apps.model_catalog import ModelCatalog
        >>> page = build_page(ModelCatalog({"nafnet": "nafnet-small"}))  # doctest: +SKIP
        >>> launch_page(page, port=7860)  # doctest: +SKIP
    """
    gr = import_gradio()
    from ..data.samples import SAMPLE_IMAGE_NAMES

    settings = settings or PageSettings()
    if not catalog.labels and not catalog.allow_paths:
        raise InvalidValueError(
            "`catalog` offers no model and takes no path: the page would have nothing to restore with."
        )
    # the images of each request are files in Gradio's cache: those older than an hour go, hourly
    with gr.Blocks(title="perceive-ir", analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.Markdown(_INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                # PNG both ways: the default WebP would change the pixels the network restores
                photo = _read_uploads_with_the_library(
                    gr.Image(label="Photograph", type="numpy", image_mode="RGB", sources=["upload", "clipboard"],
                             format="png", elem_id="photo"),
                    gr,
                )
                bundled = gr.Dropdown(choices=list(SAMPLE_IMAGE_NAMES), value=None, label="…or a bundled photograph",
                                      info="from scikit-image", elem_id="bundled")
                degradation = gr.Dropdown(choices=[AS_IT_IS, *list_degradations()],
                                          value=settings.default_degradation, label="Degradation to synthesise",
                                          elem_id="degradation")
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed of the degradation", elem_id="seed")
                model = gr.Dropdown(choices=catalog.labels, value=catalog.labels[0] if catalog.labels else None,
                                    label="Model", elem_id="model")
                model_path = gr.Textbox(label="…or a local model folder or file", visible=catalog.allow_paths,
                                        placeholder="a folder from convert-official or save_restoration_model, "
                                                    "or a .pth / .safetensors file", elem_id="model-path")
                button = gr.Button("Restore", variant="primary", elem_id="restore")
            with gr.Column(scale=2):
                comparison = gr.ImageSlider(label="Input ↔ restored", type="numpy", format="png",
                                            elem_id="comparison")
                caveat = f" ({settings.perceiver_note})" if settings.perceiver_note else ""
                with gr.Row():
                    input_rating = gr.Label(label=f"Perceiver on the input{caveat}", elem_id="input-tiers")
                    output_rating = gr.Label(label=f"Perceiver on the restored image{caveat}", elem_id="output-tiers")
                summary = gr.Markdown(elem_id="summary")
        bundled.change(_bundled_photo, inputs=bundled, outputs=photo)
        button.click(_restore_handler(catalog, settings, gr),
                     inputs=[photo, bundled, degradation, seed, model, model_path],
                     outputs=[comparison, input_rating, output_rating, summary])
    return page


def launch_page(
    page: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = False,
    block: bool = True,
) -> str:
    """Serve the page; returns its local address.

    Args:
        page: From :func:`build_page`.
        host: Address to listen on; ``127.0.0.1`` keeps the page (and the model-path box, which
            reads local files) to this machine. ``0.0.0.0`` serves the network.
        port: Port; ``None``: Gradio's (7860, or the next free one).
        open_browser: Open the page in the default browser.
        block: Serve until interrupted (Ctrl+C), then return. ``False`` returns at once with the
            server running in a thread: announce the address, then ``page.block_thread()`` to wait,
            or ``page.close()`` to stop it.

    Raises:
        OSError: the port is taken.
    """
    gr = import_gradio()
    # system fonts: the default theme would fetch its fonts from the internet
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    _, url, _ = page.launch(server_name=host, server_port=port, inbrowser=open_browser, prevent_thread_lock=True,
                            share=False, theme=theme, footer_links=["gradio"], quiet=True)
    if block:
        page.block_thread()
    return str(url)
