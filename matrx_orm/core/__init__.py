"""Pure, I/O-free building blocks shared by ``matrx_orm`` and ``matrx_orm_sync``.

Nothing in this package touches a connection: fields, model metadata, the SQL
compiler, configuration, exceptions and the cache store live here exactly once.
"""
