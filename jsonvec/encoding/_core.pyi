"""Types of the compiled encoder core (jsonvec/encoding/_core.pyx)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook
from jsonvec.encoding.path_tree import PathTree

class CNode:
    gpath: str
    depth: int
    weight: float
    array_kind: int
    def __init__(
        self,
        gpath: str,
        table: tuple[Any, Any],
        boundary: CNode | None,
        identity: bool,
        weight: float,
        array_kind: int,
    ) -> None: ...

class CoreEncoder:
    codebook: Codebook
    dim: int
    tree: PathTree
    composed_left: int  # composed roles the budget still allows (tests set it)
    def __init__(self, codebook: Codebook) -> None: ...
    def encode_batch(self, values: Sequence[Any]) -> NDArray[np.float32]: ...
    def encode_into(self, values: Sequence[Any], out: NDArray[np.float32]) -> None: ...
