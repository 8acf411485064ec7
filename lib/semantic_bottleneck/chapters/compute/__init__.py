"""Chapter 06, what the bottleneck buys: where the adaLN parameters and compute are, head-only conditioning as an
exactly equivalent smaller network, and whether the bottleneck is a few coordinates or a few directions."""
