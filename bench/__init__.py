"""Load and scale benchmarks of the masked numbers service (not part of the test run).

Each benchmark runs alone (`python -m bench.webhooks`) or all together (`python -m bench`);
see bench/README.md.
"""
