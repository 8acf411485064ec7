"""The tiny video-to-audio task: procedural clips and their sound, the tiny MDSGen, its frame encoder and judge."""
