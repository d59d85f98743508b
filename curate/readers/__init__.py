"""Step 1, the unifier: one datatrove reader per source family, all yielding the bitext record."""
