"""The tiny pose-guided task: procedural people (`bodies`), the tiny X-MDPT, its autoencoder, encoders and judge."""
