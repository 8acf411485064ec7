"""The core: form c = t_emb + y from checkpoint tensors, read and prune it in any live model with hooks, measure it.

May import: nothing else of this package (every other group builds on it).
"""
