"""Noise schedules, per-index noise, sampler presets and the epsilon and velocity sampling loops.

May import: `timing` (its sampling spans), nothing else of this package (models are called through
`generate.model_output`).
"""
