"""Chapter 03, pruning on ImageNet models: Table 2's rows as pruning specs, tables, figures and sentences."""
