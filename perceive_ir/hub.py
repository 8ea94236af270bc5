"""Save and load modules as ``config.json`` + ``model.safetensors``, locally or on the Hub.

Every public module of the library mixes in :class:`HubMixin`. The config holds the
constructor arguments; the weights file holds the module's own trained state. Frozen
foundation models that have a loadable source (a Hub id, an open_clip tag) are *referenced*
in the config and rebuilt on load, never copied into our files. Loading is strict: the
set of keys in the file must equal the set the module expects.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError
from safetensors.torch import save as safetensors_bytes
from torch import Tensor

from ._atomic import atomic_write_bytes
from ._files import read_json_config, read_safetensors
from ._hub_access import hub_access, unavailable_error
from ._version import __version__
from .errors import InvalidValueError, MissingFileError
from .published_weights import PUBLISHED_WEIGHTS, how_to_get_weights

__all__ = ["HubMixin", "PretrainedNotFoundError", "CONFIG_NAME", "WEIGHTS_NAME", "saved_class"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
_CLASS_KEY = "_class"
_VERSION_KEY = "_perceive_ir_version"

T = TypeVar("T", bound="HubMixin")


class PretrainedNotFoundError(MissingFileError):
    """A checkpoint name is neither a local folder, a published name, nor a reachable Hub repo."""


def saved_class(name_or_path: str | os.PathLike[str], revision: str | None = None) -> str | None:
    """The class a saved folder's (or Hub repository's) ``config.json`` records, if readable.

    Args:
        name_or_path: A folder written by ``save_pretrained``, or a Hub repository id.
        revision: Hub branch, tag or commit (ignored for local folders).

    Returns:
        The class name ``save_pretrained`` wrote, or ``None`` when there is no readable
        ``config.json`` or it names no class.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> saved_class(folder) is None
        True
        >>> _ = (folder / CONFIG_NAME).write_text('{"_class": "PerceiveIRNet", "dim": 8}')
        >>> saved_class(folder)
        'PerceiveIRNet'
    """
    folder = Path(name_or_path)
    try:
        if folder.is_dir():
            config_file: str | Path = folder / CONFIG_NAME
        else:
            with hub_access():
                config_file = hf_hub_download(repo_id=str(name_or_path), filename=CONFIG_NAME, revision=revision)
        config = read_json_config(config_file)
    except (HfHubHTTPError, LocalEntryNotFoundError, HFValidationError, OSError, ValueError):
        return None
    saved = config.get(_CLASS_KEY)
    return saved if isinstance(saved, str) else None


class HubMixin:
    """Hub I/O for an ``nn.Module``: ``save_pretrained``, ``from_pretrained``, ``push_to_hub``.

    Subclasses implement :meth:`get_config` (JSON-safe constructor arguments) and may override
    :meth:`_external_state_prefixes` (state-dict prefixes of submodules that are rebuilt from
    their own source on load and therefore not saved) and :meth:`_from_config`.
    """

    #: Files written besides the weights and config.
    _model_card_template: ClassVar[str] = (
        "---\nlibrary_name: perceive-ir\ntags:\n- image-restoration\n- perceive-ir\n---\n\n"
        "# {cls}\n\nSaved with perceive-ir {version}.\n\n```python\n"
        "from perceive_ir import {cls}\n\nmodule = {cls}.from_pretrained(\"<this repo or folder>\")\n```\n"
    )

    # -- to implement --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments that rebuild this module (without its weights)."""
        raise NotImplementedError

    def _external_state_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes that are loaded from their own source and so never saved."""
        return ()

    @classmethod
    def _from_config(cls: type[T], config: dict[str, Any], **kwargs: Any) -> T:
        return cls(**{**config, **kwargs})

    # -- state ---------------------------------------------------------------------------
    def saved_state_dict(self) -> dict[str, Tensor]:
        """The tensors ``save_pretrained`` writes: the state dict minus referenced foundation models."""
        prefixes = self._external_state_prefixes()
        state = self.state_dict()  # type: ignore[attr-defined]
        return {k: v for k, v in state.items() if not any(k.startswith(p) for p in prefixes)}

    def load_saved_state_dict(self, state: dict[str, Tensor]) -> None:
        """Load tensors written by ``save_pretrained``; the key sets must match exactly.

        Raises:
            RuntimeError: keys are missing from or unexpected in ``state``.
            InvalidValueError: a tensor is an integer one where the module holds a float one, or
                the reverse (``load_state_dict`` would cast it silently).
        """
        saved = self.saved_state_dict()
        expected = set(saved)
        got = set(state)
        missing, unexpected = sorted(expected - got), sorted(got - expected)
        # load_state_dict would cast silently: integer weights into float parameters, float ids into integer ones
        mismatched = [
            f"{k} ({state[k].dtype} for a {saved[k].dtype} tensor)"
            for k in sorted(expected & got)
            if state[k].is_floating_point() != saved[k].is_floating_point()
        ]
        if mismatched:
            raise InvalidValueError(
                f"{type(self).__name__}: the saved tensors {', '.join(mismatched[:5])}"
                f"{' ...' if len(mismatched) > 5 else ''} are of the wrong kind; the file was edited or written by "
                "something else. Save the module again with save_pretrained."
            )
        if missing or unexpected:
            raise RuntimeError(
                f"Strict key check failed while loading {type(self).__name__}: "
                f"missing keys {missing[:10]}{' ...' if len(missing) > 10 else ''}, "
                f"unexpected keys {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''}. "
                "The file was saved from a module with a different configuration."
            )
        result = self.load_state_dict(state, strict=False)  # type: ignore[attr-defined]
        # keys outside the saved set may only be the referenced foundation models
        prefixes = self._external_state_prefixes()
        stray = [k for k in result.missing_keys if not any(k.startswith(p) for p in prefixes)]
        if stray or result.unexpected_keys:
            raise RuntimeError(f"Strict key check failed: missing {stray}, unexpected {result.unexpected_keys}.")

    # -- save ----------------------------------------------------------------------------
    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (each atomically) into a folder.

        Args:
            save_directory: Folder to write; created if needed. Existing files are replaced.

        Returns:
            The folder as a ``Path``.
        """
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in self.saved_state_dict().items()}
        metadata = {"format": "pt", "class": type(self).__name__, "perceive_ir_version": __version__}
        atomic_write_bytes(folder / WEIGHTS_NAME, safetensors_bytes(tensors, metadata=metadata))
        config = {_CLASS_KEY: type(self).__name__, _VERSION_KEY: __version__, **self.get_config()}
        atomic_write_bytes(folder / CONFIG_NAME, json.dumps(config, indent=2, sort_keys=True).encode())
        card = folder / "README.md"
        if not card.exists():
            text = self._model_card_template.format(cls=type(self).__name__, version=__version__)
            atomic_write_bytes(card, text.encode())
        return folder

    def push_to_hub(
        self,
        repo_id: str,
        *,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        branch: str | None = None,
        create_pr: bool = False,
    ) -> str:
        """Save into a temporary folder and upload it to a Hub model repository.

        Returns:
            The URL of the commit (pin it with ``revision=`` when loading).
        """
        api = HfApi(token=token)
        repo_id = api.create_repo(repo_id=repo_id, private=private, exist_ok=True).repo_id
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp)
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=tmp,
                commit_message=commit_message or f"Upload {type(self).__name__} with perceive-ir {__version__}",
                revision=branch,
                create_pr=create_pr,
            )
        return str(getattr(info, "commit_url", info))

    # -- load ----------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls: type[T],
        name_or_path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        token: str | bool | None = None,
        local_files_only: bool = False,
        force_download: bool = False,
        map_location: str | torch.device = "cpu",
        **kwargs: Any,
    ) -> T:
        """Build the module from a local folder, a published name or a Hub repository id.

        Args:
            name_or_path: A folder written by ``save_pretrained``, a name from
                :data:`perceive_ir.published_weights.PUBLISHED_WEIGHTS`, or ``"user/repo"``.
            revision: Hub branch, tag or commit to load (ignored for local folders).
            cache_dir: Hub cache folder.
            token: Hub token for private repositories.
            local_files_only: Only use the local Hub cache.
            force_download: Download again even when cached.
            map_location: Device the weights are loaded onto.
            **kwargs: Override or supply constructor arguments (e.g. ``backbone=`` for a wrapped model).

        Raises:
            PretrainedNotFoundError: the files cannot be found; the message says how to make them.
            ValueError: the files were saved by a different class; ``config.json`` is not a JSON
                object or lacks a setting; ``model.safetensors`` is unreadable or holds NaN/Inf
                (each message names the file).
            RuntimeError: the weights do not match the configuration (strict key check).
        """
        config_file, weights_file = cls._resolve_files(
            name_or_path, revision, cache_dir, token, local_files_only, force_download
        )
        config = read_json_config(config_file, f"the settings of a {cls.__name__}")
        saved_class = config.pop(_CLASS_KEY, None)
        config.pop(_VERSION_KEY, None)
        if saved_class is not None and saved_class != cls.__name__:
            raise InvalidValueError(
                f"{name_or_path!s} holds a {saved_class}, not a {cls.__name__}: "
                f"load it with `{saved_class}.from_pretrained(...)`."
            )
        given = set(config) | set(kwargs)
        try:
            module = cls._from_config(dict(config), **kwargs)
        except KeyError as err:
            raise InvalidValueError(
                f"{config_file} lacks the setting {err.args[0]!r} that {cls.__name__} needs; it was edited or "
                "written by something else. Save the module again with save_pretrained."
            ) from None
        # a setting left out would silently take the constructor's default (then fail as a size mismatch)
        missing = sorted(set(module.get_config()) - given)
        if missing:
            raise InvalidValueError(
                f"{config_file} lacks the setting(s) {', '.join(missing)} that {cls.__name__} saves; "
                "it was edited or written by something else. Save the module again with save_pretrained."
            )
        state = read_safetensors(weights_file, f"the weights of a {cls.__name__}", device=map_location)
        module.load_saved_state_dict(state)
        return module

    @classmethod
    def _resolve_files(
        cls,
        name_or_path: str | os.PathLike[str],
        revision: str | None,
        cache_dir: str | os.PathLike[str] | None,
        token: str | bool | None,
        local_files_only: bool,
        force_download: bool,
    ) -> tuple[str, str]:
        path = Path(name_or_path)
        if path.is_dir():
            missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not (path / n).is_file()]
            if missing:
                raise PretrainedNotFoundError(
                    f"Folder {path} lacks {', '.join(missing)}: it was not written by "
                    f"`{cls.__name__}.save_pretrained`. {how_to_get_weights(cls.__name__)}"
                )
            return str(path / CONFIG_NAME), str(path / WEIGHTS_NAME)
        if path.exists():
            raise PretrainedNotFoundError(f"{path} is a file; pass the folder written by `save_pretrained`.")
        name = str(name_or_path)
        repo_id = name
        if name in PUBLISHED_WEIGHTS:
            entry = PUBLISHED_WEIGHTS[name]
            repo_id, revision = entry.repo_id, revision or entry.revision
        try:
            with hub_access() as unavailable:
                files = tuple(
                    hf_hub_download(
                        repo_id=repo_id,
                        filename=filename,
                        revision=revision,
                        cache_dir=None if cache_dir is None else str(cache_dir),
                        token=token,
                        local_files_only=local_files_only,
                        force_download=force_download,
                    )
                    for filename in (CONFIG_NAME, WEIGHTS_NAME)
                )
        except (HfHubHTTPError, LocalEntryNotFoundError, HFValidationError, OSError, ValueError) as err:
            if unavailable is not None and not isinstance(err, HFValidationError):
                raise PretrainedNotFoundError(str(unavailable_error(
                    f"{cls.__name__} {name!r} (not a local folder; looked for {CONFIG_NAME} and {WEIGHTS_NAME} of "
                    f"the Hub repository {repo_id!r})", unavailable,
                    "pass the folder written by save_pretrained, or run once with network to cache it",
                )) + f" {how_to_get_weights(cls.__name__)}") from err
            raise PretrainedNotFoundError(
                f"Cannot load {cls.__name__} from {name!r}: it is not a local folder, not a published "
                f"name, and the Hub did not provide it ({type(err).__name__}: {err}). "
                f"{how_to_get_weights(cls.__name__)}"
            ) from err
        return files[0], files[1]
