"""The tiny profile's world, one folder per task: `classes` (procedural shapes), `people` (procedural bodies in
poses), `sounds` (procedural clips and their sound); shared: `train` (the DiT training loop) and `cached` (a network
trained once per configuration, cached and verified).

May import: `condition`, `nets`, `sampling`, `judge`, `cache`, `profiles`, `timing` (its training spans), `devices`
(the training threads).
"""
