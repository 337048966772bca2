"""Operator scripts: run them as modules (`python -m scripts.enqueue`) or through `make`."""
