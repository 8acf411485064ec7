"""Chapter 05, video to audio (MDSGen): statistics of c over clips, the pruning study the paper did not run, players,
and the closing verdicts."""
