"""Ranker training, its own role: offline recall on a split, the ranker fit, and the queue of requested runs."""
