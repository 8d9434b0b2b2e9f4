"""What ``python -m vqlab.train`` needs around training: console, preflight checks of the
overrides, one-line errors, run directories, the sweeper's metric."""
