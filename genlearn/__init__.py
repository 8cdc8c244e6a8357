"""genlearn: a small library for a course on generative autoencoders.

The lessons in ``lessons/`` import everything they compute from here, so the
library is the single source of code for the course.
"""

from genlearn.runtime import device, seed_everything

__version__ = "0.1.0"
__all__ = ["device", "seed_everything", "__version__"]
