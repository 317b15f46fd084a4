"""Builds the optional compiled scorer (service/model/_speedups.c) when a C compiler is present; without one, the
package installs with its pure-Python scorer, the exact fallback (the pattern of MarkupSafe's _speedups).

A failed compile is reported and skipped inside the one setup() run (running setup() a second time without the
extension breaks setuptools' editable installs)."""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

SPEEDUPS = Extension(
    "service.model._speedups",
    ["service/model/_speedups.c", "service/model/_records.c"],
    depends=["service/model/_records.h"],
    extra_compile_args=["-O2"],
)
_BUILD_ERRORS = (CCompilerError, ExecError, PlatformError, OSError)


def _skipped(error: Exception) -> None:
    print(f"tagger: the compiled scorer could not be built ({error}); the pure-Python scorer serves", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that reports a missing or failing compiler instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except _BUILD_ERRORS as error:
            _skipped(error)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except _BUILD_ERRORS as error:
            _skipped(error)
            # not an output any more, so that the wheel (editable or not) does not look for its file
            self.extensions = [other for other in self.extensions if other is not ext]
            self.distribution.ext_modules = [other for other in self.distribution.ext_modules or [] if other is not ext]


setup(
    cmdclass={"build_ext": OptionalBuildExt},
    ext_modules=[] if os.environ.get("TAGGER_NO_SPEEDUPS") else [SPEEDUPS],
)
