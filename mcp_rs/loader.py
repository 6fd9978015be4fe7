"""`MODULE:ATTR` → an MCPServer, as uvicorn reads its app argument; errors a person can act on, not tracebacks."""

import importlib
import inspect
import os
import sys

from mcp.server.mcpserver import MCPServer

DEMO = "mcp_rs.demo:create_server"


class ServerImportError(Exception):
    """The import string does not lead to an MCPServer; the message says why and what to write instead."""


def load_server(import_string: str) -> MCPServer:
    """Import `ATTR` from `MODULE` (the current directory is importable) and return the MCPServer it is or makes.

    `ATTR` is an MCPServer instance or a zero-argument callable returning one; a dotted `ATTR` reaches into the
    module (`app:servers.files`).
    """
    module_name, sep, attribute = import_string.partition(":")
    if not sep or not module_name or not attribute:
        raise ServerImportError(f"{import_string!r} is not MODULE:ATTR (for example my_server:server)")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ServerImportError(
                f"could not import module {module_name!r} (run from the folder that holds it, or set PYTHONPATH)"
            ) from exc
        raise ServerImportError(f"importing {module_name!r} failed: {exc}") from exc
    except Exception as exc:
        raise ServerImportError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    target = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ServerImportError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(target, MCPServer) and callable(target) and not isinstance(target, type):
        try:
            inspect.signature(target).bind()
        except TypeError as exc:
            raise ServerImportError(f"{import_string} must take no arguments: {exc}") from exc
        except ValueError:
            pass  # no signature to read (a builtin): call it and see
        target = target()
    if not isinstance(target, MCPServer):
        raise ServerImportError(
            f"{import_string} is a {type(target).__name__}, not an MCPServer "
            "(or a zero-argument function returning one)"
        )
    return target
