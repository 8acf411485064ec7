"""The tiny class task: procedural shapes, the tiny DiT and its other conditioning mechanisms, the evaluation classifier."""
