"""Applications built on the library: the demo and the evaluation harness.

* :mod:`perceive_ir.apps.demo` — both stages of Perceive-IR on bundled photographs, bare vs
  wrapped, with a report (``perceive-ir demo``).
* :mod:`perceive_ir.apps.protocol_evaluation` — the Perceive-IR authors' published evaluation,
  ``adair3`` / ``adair5`` (``perceive-ir evaluate --protocol``), reproduced exactly.
* :mod:`perceive_ir.apps.evaluation` — per-task PSNR/SSIM over file lists [ours], beside the
  published numbers of :mod:`perceive_ir.apps.published_results` (``perceive-ir evaluate --filelist``).

Nothing below this layer imports it; the CLI sits on top of it.
"""

__all__: list[str] = []
