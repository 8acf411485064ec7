"""One pruning study, for every chapter that samples: rows on shared noise, scores per seed, resumable on disk.

May import: `registry`, `condition`, `sampling`, `judge`, `tiny` (the tiny models' judges), `cache`, `devices`.
"""
