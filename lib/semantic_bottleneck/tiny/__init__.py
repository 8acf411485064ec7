"""The tiny profile's world: procedural data, training (cached), the evaluation networks, the tiny models' loaders.

May import: `condition`, `nets`, `sampling`, `judge`, `cache`, `profiles`.
"""
