"""The API reference of perceive-ir, generated from the package at each documentation build.

:func:`write_pages` walks :mod:`perceive_ir` and writes one page per public module (no path part
starting with ``_``): the module's docstring and the names of its ``__all__`` that it defines, each
described once, where it is defined; a package's page lists the names it re-exports, linked to
that description, and its submodules. A new module therefore appears without editing the docs.

Two Sphinx hooks keep the reference honest: a public module, class or function without a docstring
is a warning (an error under ``-W``), and a reference through a re-exported name
(``perceive_ir.models.load_model``) resolves to the object's one description, or stays broken.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

from sphinx.util import logging

import perceive_ir

__all__ = [
    "EXTERNAL_NAMES",
    "drop_type_docstring",
    "napoleon_plain_attributes",
    "plain_factory_defaults",
    "public_modules",
    "require_member_docstring",
    "require_docstring",
    "resolve_reexport",
    "write_pages",
]

LOGGER = logging.getLogger(__name__)

#: Names of other libraries in signatures and docstrings: the build is offline (no intersphinx), so
#: references to them cannot resolve and are let through. Everything under ``perceive_ir`` must.
EXTERNAL_NAMES = [
    r"(torch|torchvision|numpy|np|PIL|open_clip|transformers|safetensors|huggingface_hub|einops|torchmetrics"
    r"|kornia|omegaconf|sklearn|gradio|spandrel|spandrel_extra_arches|accelerate|onnx|onnxruntime|matplotlib"
    r"|skimage|tqdm|filelock|playwright)(\..*)?",
    r"(pathlib|os|collections|typing|typing_extensions|dataclasses|enum|argparse|concurrent|logging|json|io"
    r"|random|types|abc|contextlib|functools|numbers|datetime|subprocess|threading|multiprocessing|re"
    r"|tempfile|zipfile|tarfile|csv|hashlib|itertools|shutil|sys|socket|http|urllib|queue|signal)(\..*)?",
    r"(Tensor|Path|PathLike|Module|Callable|Iterable|Iterator|Mapping|Sequence|Generator|Any|Literal)",
    r"(nn|gr|F)\..*",  # string annotations through the usual aliases (torch.nn, gradio, torch.nn.functional)
    r"PretrainedConfig",
]


def public_modules() -> list[str]:
    """The dotted names of the public modules of :mod:`perceive_ir`, the package first.

    Returns:
        ``perceive_ir`` and every module or package below it none of whose name parts starts with
        ``_``, sorted.
    """
    names = ["perceive_ir"]
    for info in pkgutil.walk_packages(perceive_ir.__path__, "perceive_ir."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _assigned_names(module: Any) -> set[str]:
    """Names bound by a top-level assignment in ``module``'s source."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


def _is_code(obj: Any) -> bool:
    """Whether ``obj`` is a class or a function (it knows its module), not a constant."""
    return inspect.isclass(obj) or inspect.isroutine(obj)


def _public_names(module: Any) -> list[str]:
    """The names ``module`` exports: its ``__all__`` (else its public names), submodules left out."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    return [name for name in names if not inspect.ismodule(getattr(module, name))]


def _homes(modules: list[str]) -> dict[int, str]:
    """Where each exported object is described: ``id(object)`` to ``module.name``.

    A class or function is described in the module that defines it; one defined in a private module
    (``perceive_ir._official_format``), or a constant, in the public module that assigns it, else in
    the shortest-named public module that exports it.
    """
    homes: dict[int, str] = {}
    adopted: dict[int, str] = {}
    for modname in modules:
        module = importlib.import_module(modname)
        assigned = _assigned_names(module)
        for name in _public_names(module):
            obj = getattr(module, name)
            home = getattr(obj, "__module__", None) if (inspect.isclass(obj) or inspect.isroutine(obj)) else None
            if home == modname or (home is None and name in assigned):
                homes[id(obj)] = f"{modname}.{name}"
            elif home is None or any(part.startswith("_") for part in home.split(".")):
                best = adopted.get(id(obj))
                if best is None or len(modname) < len(best.rpartition(".")[0]):
                    adopted[id(obj)] = f"{modname}.{name}"
    return {**adopted, **homes}


def _page(name: str, children: list[str], homes: dict[int, str]) -> str:
    """The reStructuredText of module ``name``'s page."""
    module = importlib.import_module(name)
    own: list[str] = []
    reexported: list[tuple[str, str]] = []
    for short in _public_names(module):
        obj = getattr(module, short)
        home = homes.get(id(obj))
        if home is None and (inspect.isclass(obj) or inspect.isroutine(obj)):
            home = f"{obj.__module__}.{obj.__qualname__}"
        if home == f"{name}.{short}":
            own.append(short)
        else:
            reexported.append((short, home or f"{name}.{short}"))
    lines = [f"``{name}``", "=" * (len(name) + 4), "", f".. automodule:: {name}"]
    code = [short for short in own if _is_code(getattr(module, short))]
    if code:
        lines.append(f"   :members: {', '.join(code)}")
    lines.append("")
    # constants one by one: ``:members:`` would leave out one without a doc comment, or imported
    lines += [f".. autodata:: {name}.{short}\n" for short in own if short not in code]
    if reexported:
        lines += ["Re-exported names", "-----------------", ""]
        for short, target in reexported:
            lines.append(f"* ``{name}.{short}``: :py:obj:`{target}`")
        lines.append("")
    if children:
        lines += ["Modules", "-------", "", ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {child}" for child in children]
        lines.append("")
    return "\n".join(lines)


def write_pages(folder: Path) -> None:
    """Write the API reference: ``index.rst`` and one ``<module>.rst`` per public module.

    A page whose text is unchanged is left alone (Sphinx then rereads only what changed); a page
    of a module that is gone is removed.

    Args:
        folder: The folder to fill, inside the Sphinx source folder.
    """
    modules = public_modules()
    homes = _homes(modules)
    pages = {"index.rst": "\n".join(["API reference", "=============", "", ".. toctree::", "   :maxdepth: 2", ""])}
    pages["index.rst"] += "\n   perceive_ir\n"
    for name in modules:
        children = [other for other in modules if other.rpartition(".")[0] == name]
        pages[f"{name}.rst"] = _page(name, children, homes)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in set(path.name for path in folder.iterdir()) - set(pages):
        (folder / stale).unlink()
    for filename, text in pages.items():
        path = folder / filename
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def require_docstring(app, what, name, obj, options, lines) -> None:
    """``autodoc-process-docstring`` hook: warn about a module, class or function without a docstring."""
    if what in ("module", "class", "exception", "function") and not any(line.strip() for line in lines):
        LOGGER.warning("%s %s has no docstring", what, name, type="perceive_ir", subtype="docstring")


def plain_factory_defaults(app, what, name, obj, options, signature, return_annotation):
    """``autodoc-process-signature`` hook: show a dataclass field's ``default_factory`` as ``...``.

    A dataclass's ``__init__`` shows such a default as ``<factory>``, which is not Python: Sphinx
    cannot parse the signature then and splits it at every comma (``dict[str`` becomes a type).
    """
    if signature and "<factory>" in signature:
        return re.sub(r"=\s*<factory>", "= ...", signature), return_annotation
    return None


def drop_type_docstring(app, what, name, obj, options, lines) -> None:
    """``autodoc-process-docstring`` hook: a constant without a docstring shows none.

    autodoc falls back to the docstring of the constant's type (``dict() -> new empty dictionary``).
    """
    if what in ("data", "attribute") and obj is not None and lines:
        if "\n".join(lines).strip() == inspect.cleandoc(type(obj).__doc__ or ""):
            lines[:] = []


def require_member_docstring(app, what, name, obj, skip, options) -> bool | None:
    """``autodoc-skip-member`` hook: warn about a public class, function or method without a docstring.

    autodoc leaves undocumented members out silently; here they fail the build instead.
    """
    if (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True  # a NamedTuple field: its class docstring's Attributes describe it
    if name.startswith("_") or not (inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, property)):
        return None
    if not inspect.getdoc(obj.fget if isinstance(obj, property) else obj):
        target = obj.fget if isinstance(obj, property) else obj
        where = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', name)}"
        message = "%s has no docstring (a public member of a %s)"
        LOGGER.warning(message, where, what, type="perceive_ir", subtype="docstring")
    return None


def napoleon_plain_attributes(app) -> None:
    """Read a constant's, attribute's or property's docstring as prose, not ``type: description``.

    napoleon takes the text before a first-line colon of such a docstring for its type; this
    package's docstrings are prose (``Batch key: the CFE positive``) and give types as annotations.
    """
    from sphinx.ext.napoleon import _process_docstring

    listeners = app.events.listeners["autodoc-process-docstring"]
    for listener in list(listeners):
        if listener.handler is _process_docstring:
            app.disconnect(listener.id)

    def process(app, what, name, obj, options, lines):
        what = "object" if what in ("data", "attribute", "property") else what
        _process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", process)


def _lookup(dotted: str) -> Any:
    """The object named ``dotted`` (a module, then attributes), or ``None``."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - any failure means "not this prefix"
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute, None)
            if obj is None:
                return None
        return obj
    return None


def _same(a: Any, b: Any) -> bool:
    return a is b or getattr(a, "__func__", a) is getattr(b, "__func__", b)


def resolve_reexport(app, env, node, contnode):
    """``missing-reference`` hook: resolve a Python reference through a re-exported name.

    ``perceive_ir.models.load_model`` (or ``load_official`` written in a module that imports it)
    names an object described under the module that defines it; the reference goes there. A name
    that is not an object of perceive-ir, or whose object is not described, stays unresolved.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if node.get("refdoc", "").startswith("api/perceive_ir"):
        candidates.insert(0, f"{node['refdoc'][4:]}.{target}")  # the page's module (fields lack py:module)
    if module:
        candidates.insert(0, f"{module}.{target}")
        if cls:
            candidates.insert(0, f"{module}.{cls}.{target}")
    domain = env.get_domain("py")
    last = target.rpartition(".")[2]
    described = [name for name in domain.objects if name.rpartition(".")[2] == last]
    for candidate in candidates:
        if not candidate.startswith("perceive_ir"):
            continue
        obj = _lookup(candidate)
        if obj is None:
            continue
        for name in described:
            if _same(_lookup(name), obj):
                return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)
        if not _is_public(obj, candidate):
            return contnode  # an existing private object: shown as code, not linked
    if len(described) == 1 and described[0].startswith("perceive_ir.") and "." not in target:
        # a string annotation (``"InputAdapter"`` under TYPE_CHECKING): the one object of that name
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], described[0], node, contnode)
    return None


def _is_public(obj: Any, dotted: str) -> bool:
    """Whether ``obj`` (found as ``dotted``) belongs to the documented API.

    A class or function counts by where it is defined (``module.qualname``); anything else (a
    constant, a type variable) by whether a public module exports it in ``__all__``.
    """
    home = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if (inspect.isclass(obj) or inspect.isroutine(obj)) and home and qualname:
        return not any(part.startswith("_") for part in f"{home}.{qualname}".split("."))
    if not _PUBLIC_MODULES:
        _PUBLIC_MODULES.extend(public_modules())
    return any(
        any(getattr(module, name, None) is obj for name in getattr(module, "__all__", ()))
        for module in map(importlib.import_module, _PUBLIC_MODULES)
    )


_PUBLIC_MODULES: list[str] = []  # filled on first use
