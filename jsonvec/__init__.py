"""jsonvec: JSON records to fixed-length vectors with MBAT and seeded orthogonal matrices."""

from jsonvec.codebook import Codebook, default_codebook
from jsonvec.codebook_file import load_codebook, save_codebook
from jsonvec.collection import Collection
from jsonvec.encoder import Encoder, encode, encode_batch
from jsonvec.errors import (
    CodebookError,
    EncodeError,
    InputError,
    InvalidLineError,
    JsonvecError,
    OutputError,
)
from jsonvec.roles import SignedPermutation
from jsonvec.search import Index
from jsonvec.settings import Settings
from jsonvec.version import __version__

__all__ = [
    "Codebook",
    "CodebookError",
    "Collection",
    "EncodeError",
    "Encoder",
    "Index",
    "InputError",
    "InvalidLineError",
    "JsonvecError",
    "OutputError",
    "Settings",
    "SignedPermutation",
    "__version__",
    "default_codebook",
    "encode",
    "encode_batch",
    "load_codebook",
    "save_codebook",
]
