"""Network architectures only, in the official module names so official checkpoints load strictly.

May import: `condition` (the timestep sinusoid). No file I/O here: loading lives in `checkpoints`.
"""
