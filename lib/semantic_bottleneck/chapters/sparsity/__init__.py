"""Chapter 02, sparsity: PR/nPR, counts below and above tau, variance head, head vs tail, training dynamics."""
