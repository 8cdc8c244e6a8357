"""genlearn: a small library for a course on generative autoencoders.

The lessons in ``lessons/`` import everything they compute from here, so the
library is the single source of code for the course.

Importing genlearn flushes float32 subnormals (< 1.2e-38) to zero on the CPU, which makes
training noticeably faster there; ``GENLEARN_FLUSH_DENORMAL=0`` turns that off (see
:func:`genlearn.runtime.flush_denormals_at_import`).
"""

from genlearn.runtime import device, flush_denormals_at_import, seed_everything

flush_denormals_at_import()

__version__ = "0.2.0"
__all__ = ["device", "seed_everything", "__version__"]
