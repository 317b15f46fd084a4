"""Builds the optional compiled scorer (service/model/_speedups.c) when a C compiler is present; without one, the
package installs with its pure-Python scorer, the exact fallback (the pattern of MarkupSafe's _speedups)."""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

SPEEDUPS = Extension("service.model._speedups", ["service/model/_speedups.c"], extra_compile_args=["-O2"])


class BuildFailed(Exception):
    """The extension could not be built here."""


class OptionalBuildExt(build_ext):
    """build_ext that reports a missing or failing compiler as BuildFailed instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except PlatformError as error:
            raise BuildFailed() from error

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except (CCompilerError, ExecError, PlatformError, OSError) as error:
            raise BuildFailed() from error


def run_setup(with_speedups: bool) -> None:
    setup(cmdclass={"build_ext": OptionalBuildExt}, ext_modules=[SPEEDUPS] if with_speedups else [])


if os.environ.get("TAGGER_NO_SPEEDUPS"):
    run_setup(False)
else:
    try:
        run_setup(True)
    except BuildFailed:
        print("tagger: the compiled scorer could not be built; installing the pure-Python scorer", file=sys.stderr)
        run_setup(False)
