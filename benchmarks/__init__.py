"""Query-throughput benchmarks: matrx-orm (async and sync) beside raw psycopg on the same SQL.

Run ``python -m benchmarks --quick`` (about two minutes) or ``python -m benchmarks``.
See ``benchmarks/README.md`` for the schema, the method and the latest numbers.
"""
