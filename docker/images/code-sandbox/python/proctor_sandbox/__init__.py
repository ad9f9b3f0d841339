"""Runs one candidate program and its tests inside the code sandbox (see runner.py)."""
