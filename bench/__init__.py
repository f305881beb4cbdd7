"""puretls benchmark suite: puretls against Python's ssl and tlslite-ng.

Run from the repository root: ``python -m bench`` (``make bench``).  See
docs/performance.md for what each number means and how it is measured.
"""
