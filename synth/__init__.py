"""Synthetic watchlists and listings with ground truth, for the demo, tests and benchmarks."""
