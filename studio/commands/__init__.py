"""Subcommands of the ``atelier4d`` command line, one module each.

Every module exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a
function ``(args) -> int``. Failures raise :class:`studio.commands.common.CliError`.
"""
