"""Parquet vectors files: the sink that streams row groups, the reader in bounded memory,
the vector column read straight from its pages, and Arrow arrays built from buffers."""
