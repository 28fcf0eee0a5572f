"""Build of the optional native pattern matcher; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "eventbridge_sdk.patterns._speedups",
            ["eventbridge_sdk/patterns/_speedups.c"],
            # Without a C compiler the package installs anyway and matches in Python.
            optional=True,
        )
    ]
)
