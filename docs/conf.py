"""Sphinx configuration of the perceive-ir documentation site.

Build (offline, warnings are errors; ``-E`` rereads every page, so that a warning of an unchanged
page is not hidden by the saved environment of an earlier build)::

    python -m sphinx -E -W --keep-going -q -b html docs build/docs

The Markdown pages of ``docs/`` are read by myst-parser and listed by a glob in ``index.md``; the
API reference (``docs/api/``, generated at each build, not committed) has one page per public module
of :mod:`perceive_ir`, found by walking the package (see :mod:`_api_pages`).
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))
sys.path.insert(0, str(DOCS.parent))

import _api_pages  # noqa: E402  (needs the paths above)

import perceive_ir  # noqa: E402

project = "perceive-ir"
author = "perceive-ir developers"
copyright = "perceive-ir developers"
release = perceive_ir.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "build", "Thumbs.db", ".DS_Store"]

# Markdown: the pages link headings as `page.md#heading-text` (GitHub's anchors).
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]

# The API reference: Google-style docstrings, one description per object at the module defining it.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}

# A reference that does not resolve is an error; the names of other libraries (no intersphinx: the
# build is offline) are the only ones let through.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", pattern) for pattern in _api_pages.EXTERNAL_NAMES]

html_theme = "furo"
html_title = f"perceive-ir {release}"
html_static_path: list[str] = []


def setup(app):  # noqa: D103 - Sphinx's hook
    _api_pages.write_pages(DOCS / "api")
    _api_pages.napoleon_plain_attributes(app)
    app.connect("autodoc-process-docstring", _api_pages.drop_type_docstring, priority=400)
    app.connect("autodoc-process-signature", _api_pages.plain_factory_defaults)
    app.connect("autodoc-process-docstring", _api_pages.require_docstring)
    app.connect("autodoc-skip-member", _api_pages.require_member_docstring)
    app.connect("missing-reference", _api_pages.resolve_reexport)
    return {"parallel_read_safe": True}
