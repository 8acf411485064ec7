"""Companion code for "A Hidden Semantic Bottleneck in Conditional Embeddings of Diffusion Transformers".

Read c (`conditioning`, `models`), measure it (`measure`), plot it (`plot`), and record where every
number came from (`provenance`). Tiny models live in `tiny_dit`, `train` and `classifier`.
"""
__version__ = "0.1.0"
