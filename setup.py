"""The optional compiled parts of warden (everything else is in pyproject.toml).

* ``warden.record._native``, a C extension: hashes the audit writer's batches without the GIL
  (docs/audit.md §9);
* ``warden/contain/warden-launch``, a small static executable: the stage, init and program of
  ``warden run``, started with ``posix_spawn`` instead of forks of the Python supervisor
  (docs/containment.md, "The native launcher").

Both are optional: without a C compiler (or libcrypto's headers, for the extension) the build
goes on without them, and warden uses the pure-Python code they replace (same results,
slower). ``bench/bench_audit.py`` and ``warden doctor`` say which is in use.
"""

from __future__ import annotations

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

LAUNCHER_SOURCE = "src/warden/contain/_launch.c"
LAUNCHER = "warden-launch"


class build_ext_and_launcher(build_ext):
    """``build_ext``, then the launcher executable into the ``warden.contain`` package."""

    def run(self) -> None:
        super().run()
        try:
            self._build_launcher()
        except Exception as exc:  # optional, like the extension: warn and go on
            self.warn(f"warden-launch not built ({exc}); warden run will use its Python stage")

    def _launcher_dir(self) -> str:
        if self.inplace:
            return self.get_finalized_command("build_py").get_package_dir("warden.contain")
        return os.path.join(self.build_lib, "warden", "contain")

    def _build_launcher(self) -> None:
        from setuptools._distutils.ccompiler import new_compiler
        from setuptools._distutils.sysconfig import customize_compiler

        compiler = new_compiler()
        customize_compiler(compiler)
        objects = compiler.compile(
            [LAUNCHER_SOURCE], output_dir=self.build_temp,
            extra_postargs=["-O2", "-Wall", "-Wextra", "-fno-strict-aliasing"],
        )  # fmt: skip
        out = self._launcher_dir()
        os.makedirs(out, exist_ok=True)  # noqa: PTH103
        try:  # static: no dynamic loader runs at each start
            compiler.link_executable(objects, LAUNCHER, output_dir=out, extra_postargs=["-static"])
        except Exception:
            compiler.link_executable(objects, LAUNCHER, output_dir=out)

    def get_outputs(self) -> list[str]:
        return [*super().get_outputs(), os.path.join(self._launcher_dir(), LAUNCHER)]


setup(
    cmdclass={"build_ext": build_ext_and_launcher},
    ext_modules=[
        Extension(
            "warden.record._native",
            ["src/warden/record/_native.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ],
)
