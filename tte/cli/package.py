"""`tte package`: a compiled model as a self-contained C library folder (tte.targets.cpackage)."""

from __future__ import annotations

import click

from tte.cli.frozen import refuse_inference_only
from tte.cli.util import user_errors


@click.command("package")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="The package folder to write (new or empty, or one tte wrote with --force).")
@click.option("--version", "lib_version", default="1.0.0", show_default=True,
              help="The library's version (library.properties, library.json).")
@click.option("--author", default="tte user", show_default=True, help="Author and maintainer in the metadata.")
@click.option("--url", default="https://example.invalid/tte-model", show_default=True,
              help="The library's web page (Arduino's library.properties requires one).")
@click.option("--force", is_flag=True, help="Replace tte's files in OUTPUT (files you added are kept).")
@user_errors
def package_command(out_dir: str, output: str, lib_version: str, author: str, url: str, force: bool) -> None:
    """The model compiled into OUT_DIR (`tte compile -o OUT_DIR`) as a C library folder that builds
    on its own: the generated model, exactly the kernels it calls, headers, Makefile, CMakeLists.txt,
    an Arduino library with an example sketch, a PlatformIO library.json and a Zephyr module."""
    from tte.targets.cpackage import write_package

    refuse_inference_only(out_dir, "no training step for the package's examples; compile with a training scheme "
                                   "to package it")
    files = write_package(out_dir, output, force=force, version=lib_version, author=author, url=url)
    kernels = sum(1 for f in files if f.startswith("src/tte_kernels/"))
    click.echo(f"wrote {output}: {len(files)} files, {kernels} kernel sources; build with `make -C {output}`")


COMMANDS = [package_command]
