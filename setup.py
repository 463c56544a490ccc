"""Build of the compiled encoder core (``jsonvec.encoding._core``), the JSON document scanner
(``jsonvec.records._scan``), the CRC-32 combine (``jsonvec.storage._checksum``), the unpacking
of stored float16 and int8 vectors (``jsonvec.storage._dtypes``) and the string distance of
field scores (``jsonvec.search._distance``), optional by design.

Everything else is in ``pyproject.toml``. Where the extension cannot be built (no C compiler),
the package installs without it and encodes with the pure-Python reference, bit for bit the
same vectors, only slower; ``jsonvec --version`` says which encoder it uses.

The core must compute every floating-point operation as the reference does, so it is
compiled without contraction into fused multiply-adds (``-ffp-contract=off``), which would
round differently on machines that have them.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

GCC_LIKE = ["-O3", "-ffp-contract=off", "-fno-fast-math"]
MSVC = ["/O2", "/fp:precise"]


class OptionalBuildExt(build_ext):
    """Compile the core when a compiler is there; otherwise say so and go on without it."""

    def build_extensions(self) -> None:
        flags = MSVC if self.compiler.compiler_type == "msvc" else GCC_LIKE
        for extension in self.extensions:
            extension.extra_compile_args = flags
        super().build_extensions()

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any failure to compile leaves the fallback
            self._skip(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._skip(exc)

    @staticmethod
    def _skip(exc: Exception) -> None:
        if os.environ.get("JSONVEC_REQUIRE_CORE"):
            raise exc
        print(
            f"jsonvec: the compiled core was not built ({exc}); "
            "the pure-Python encoder will be used (same vectors, slower)",
            file=sys.stderr,
        )


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize  # noqa: PLC0415
    except ImportError:
        print("jsonvec: Cython is not installed; building without the compiled core",
              file=sys.stderr)  # fmt: skip
        return []
    return cythonize(
        [
            Extension("jsonvec.encoding._core", ["jsonvec/encoding/_core.pyx"]),
            Extension("jsonvec.records._scan", ["jsonvec/records/_scan.pyx"]),
            Extension("jsonvec.storage._checksum", ["jsonvec/storage/_checksum.pyx"]),
            Extension("jsonvec.storage._dtypes", ["jsonvec/storage/_dtypes.pyx"]),
            Extension("jsonvec.search._distance", ["jsonvec/search/_distance.pyx"]),
        ],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
