"""The optional C extension of the audit log (everything else is in pyproject.toml).

``warden.record._native`` hashes the writer's batches without the GIL (docs/audit.md §9). It
is optional: without a C compiler or libcrypto's headers the build skips it, and warden uses
the pure-Python code it replaces (same results, slower batched appends).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "warden.record._native",
            ["src/warden/record/_native.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
