"""Companion code for "A Hidden Semantic Bottleneck in Conditional Embeddings of Diffusion Transformers".

Read c (`conditioning`, `readers`, `weights`, `models`), measure it (`measure`, `similarity`, `sparsity`),
prune it while sampling (`prune`, `sample`, `pruning`), judge the samples (`metrics`), plot (`plot*`), and
record where every number came from (`provenance`). Tiny models live in `tiny_dit`, `train` and `classifier`.
"""
import warnings

# Libraries we import use tqdm.auto, which warns in kernels without ipywidgets; our bars are plain text.
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
