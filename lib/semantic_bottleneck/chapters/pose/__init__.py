"""Chapter 04, pose-guided synthesis (X-MDPT): statistics of a continuous condition, pruning judged against answers."""
