"""Released checkpoints: download (verified, atomic), read c's tensors, load whole networks and decoders.

May import: `condition`, `nets`, `sampling` (a loaded network's conditions), `judge` (the judges' files),
`cache`, `devices`.
"""
