"""Chapter 08: why does the bottleneck appear? The paper's four hypotheses and its U-Net claim, each tested."""
