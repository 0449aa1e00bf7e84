# WARNING: generated from tests/level2/aio/__init__.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
