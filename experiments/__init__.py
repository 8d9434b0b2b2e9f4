"""Reproduction scripts and benchmarks; each runs as ``python -m experiments.<name>``.

Run from the repository root after ``make install`` (``pip install -e '.[dev]'``): ``-m`` puts the
root on ``sys.path``, so ``experiments`` (not installed with vqlab) and ``tests.fake_datasets``
import without ``PYTHONPATH``. Every script with a ``main`` takes ``--quick`` (tiny sizes, seconds)
and ``tests/test_experiments.py`` runs each that way. vqlab never imports this package.
"""
