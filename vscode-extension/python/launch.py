"""Runs the heaplens server bundled in the VS Code extension.

The extension starts ``<python> -I launch.py serve``. This script puts the bundled libraries
in front of ``sys.path`` -- ``libs/cpXY`` (the compiled wheels built for this CPython minor
version), ``libs/common`` (pure-Python and abi3 wheels) and ``server`` (heaplens itself) --
then runs heaplens's CLI with the remaining arguments. ``-I`` keeps the user's PYTHONPATH and
user site-packages out, so a different pygls installed there cannot shadow the bundled one.

``launch.py --probe`` imports the server and prints heaplens's version: the extension's
check that this interpreter can run the bundle. Written for any Python 3 so that an old
interpreter reaches the version message instead of a syntax error.
"""

import os
import sys

MINIMUM = (3, 10)


def _fail(message):
    sys.stderr.write("heaplens: " + message + "\n")
    sys.exit(3)


def _setup():
    here = os.path.dirname(os.path.abspath(__file__))
    version = sys.version_info[:2]
    if version < MINIMUM:
        _fail("Python %d.%d is too old: heaplens needs Python 3.10 or newer" % version)
    if sys.implementation.name != "cpython":
        _fail("heaplens's bundled libraries are built for CPython, not %s" % sys.implementation.name)
    tag = "cp%d%d" % version
    versioned = os.path.join(here, "libs", tag)
    if not os.path.isdir(versioned):
        built = sorted(n for n in os.listdir(os.path.join(here, "libs")) if n.startswith("cp"))
        _fail(
            "this build of the extension has libraries for %s, not for Python %d.%d"
            % (", ".join(built), version[0], version[1])
        )
    sys.path[0:0] = [versioned, os.path.join(here, "libs", "common"), os.path.join(here, "server")]


def main():
    _setup()
    if sys.argv[1:] == ["--probe"]:
        import heaplens
        import heaplens.lsp.server  # noqa: F401  (the server's dependencies load too)

        print(heaplens.__version__)
        return 0
    from heaplens.cli import main as cli_main

    sys.argv[0] = "heaplens"
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
