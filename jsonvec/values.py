"""Python values a record may hold besides JSON's own, and the JSON value each stands for."""

from jsonvec.records.values import as_json

__all__ = ["as_json"]
