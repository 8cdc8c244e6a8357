"""Benchmarks: scripts that print figures (speed and quality targets live here, not in unit tests).

Run one with ``python -m genlearn.bench NAME`` (or ``genlearn bench NAME``); each
prints progress and then one JSON object on its last line.
"""

__all__ = ["BENCHMARKS"]

# name -> module with a ``main(argv: list[str] | None = None) -> int`` function
BENCHMARKS = {
    "vae-digits": "genlearn.bench.vae_digits",
    "vq-speed": "genlearn.bench.vq_speed",
    "vqvae-digits": "genlearn.bench.vqvae_digits",
    "vaegan-digits": "genlearn.bench.vaegan_digits",
    "fashion-vae": "genlearn.bench.fashion_vae",
    "grade": "genlearn.bench.grade_class",
}
