"""The mechanisms chapter: the same task conditioned three ways, and the paper's other models (Tables 4, 5)."""
