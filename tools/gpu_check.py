"""Check that CUDA is there and used before the GPU-scale notebooks run (``make test-gpu``).

Prints the device, trains a VAE of the full scale for a few steps on it and reports the memory it
took; exits non-zero when CUDA is missing or ``genlearn.scale.current().device`` is not CUDA.
"""

from __future__ import annotations

import os
import sys
import time

import torch


def main() -> int:
    os.environ.setdefault("GENLEARN_SCALE", "full")
    if not torch.cuda.is_available():
        print("gpu_check: CUDA is not available to torch (a CPU build of torch, or no NVIDIA driver)", file=sys.stderr)
        return 1
    from genlearn.models import VAE, vae_loss
    from genlearn.scale import current
    from genlearn.train import fit

    scale = current()
    dev = scale.device
    if dev.type != "cuda":
        print(f"gpu_check: the {scale.name} scale runs on {dev}, not CUDA", file=sys.stderr)
        return 1
    x = torch.rand(4096, 1, 28, 28).round()
    model = VAE((1, 28, 28), 16, arch="conv", channels=scale.channels)
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    fit(model, vae_loss, x, 2, batch_size=256, device=dev, progress=False, seed=0)
    torch.cuda.synchronize()
    print(f"gpu_check: {torch.cuda.get_device_name()} ({dev}), scale {scale.name}: 2 epochs of a conv VAE in "
          f"{time.perf_counter() - t0:.2f} s, peak memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    return 0 if next(model.parameters()).is_cuda else 1


if __name__ == "__main__":
    sys.exit(main())
