"""Chapter 01, similarity: cosine of c across classes and timesteps, Tables 1 and 4 beside the paper."""
