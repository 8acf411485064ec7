"""Companion code for "A Hidden Semantic Bottleneck in Conditional Embeddings of Diffusion Transformers"
(an independent reimplementation, not the authors' code).

Groups, lowest first (a group imports only groups listed before it; `tests/test_architecture.py` checks it):
- `paper`, `profiles`, `cache`, `devices`: the paper's numbers, the profiles, the model cache, devices;
- `condition`: form c, read and prune it with hooks, measure it (the core);
- `nets`, `sampling`, `judge`: architectures; schedules, samplers and presets; metrics and seed statistics;
- `checkpoints`, `tiny`: released checkpoints (download, read, load); the tiny profile's data, training, judges;
- `registry`: every model name -> family, weights, network, sampler, condition, paper column (one entry each);
- `study`: a pruning study on shared noise with seeds, resumable;
- `chapters/<name>`: each notebook's tables, figures and generated sentences;
- `book`, `commands`: the book driver, provenance and status page; the `stats` command.
"""
import warnings

# Libraries we import use tqdm.auto, which warns in kernels without ipywidgets; our bars are plain text.
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
