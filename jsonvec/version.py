"""The jsonvec version, in one place."""

__version__ = "0.4.0.dev0"

#: The rules by which vectors are computed from a codebook and a record. Vectors files store
#: it (``"encoding"``, beside the codebook fingerprint) and readers refuse any other, so that
#: vectors of two rules never meet in one search or collection. Bumped by every change that
#: alters a vector for the same codebook file (see docs/method.md). 2: the rules of jsonvec
#: 0.2 and 0.3 (files without the key were written by them); 3: jsonvec 0.4 (numbers of ten
#: entries, the position trace of strings, roles by a Fisher-Yates shuffle, fixed-order sums,
#: integer symbols by their bits).
ENCODING = 3

#: The jsonvec release that introduced each encoding (for messages).
ENCODING_SINCE = {1: "0.1", 2: "0.2", 3: "0.4"}
