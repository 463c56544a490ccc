"""Vectors on disk: the file layout, the sinks that write each format and the readers that
read it back, folders of parts with their manifest, appends, checksums, and the guard that
no output overwrites an input. :mod:`jsonvec.storage.parquet` alone imports pyarrow."""
