"""tensorcore: a small, fast, readable deep-learning engine."""
