"""jsonvec on Dask: encode and search where the data is, with the bits of one machine.

Install with ``pip install 'jsonvec[dask]'`` (dask, distributed, and pandas for DataFrame
columns). Three ways in:

- :func:`encode_bag` and :func:`encode_column`: records already in a Dask bag or DataFrame
  column to vectors, inside a user's own pipeline;
- :func:`encode_files`: JSON Lines files to a folder of Parquet parts committed by a
  manifest (what ``jsonvec encode --engine dask`` runs), on the cluster of a client;
- :class:`ClusterSearch`: exact search of such a folder (or any collection), file by file on
  the workers (``jsonvec similar --engine dask``).

:func:`connect` gives a client of a running cluster or of a local one started for the block.
Vectors are bit-identical to :meth:`jsonvec.Encoder.encode_batch` for any partitioning and
any number of workers; docs/scale-out.md tells how a run works and what it costs.
"""

from jsonvec.dask.cluster import connect
from jsonvec.dask.files import encode_files
from jsonvec.dask.records import encode_bag, encode_column, encode_partition
from jsonvec.dask.search import ClusterSearch
from jsonvec.errors import ClusterError

__all__ = [
    "ClusterError",
    "ClusterSearch",
    "connect",
    "encode_bag",
    "encode_column",
    "encode_files",
    "encode_partition",
]
