"""Models of the course. Each is an ``nn.Module`` with ``encode``, ``decode`` and a
``forward`` that returns a small named result; losses are separate functions that
return named terms in nats per example (sum over pixels and latents, mean over the batch).
"""
