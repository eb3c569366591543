"""The Anvil app's plain-Python client modules (anvil_app/client_code/*.py), loaded as CPython would:
on their own, no Anvil anywhere."""

import importlib.util
from pathlib import Path

CLIENT_CODE = Path(__file__).resolve().parent.parent / "anvil_app" / "client_code"


def load_client_module(name: str):
    """anvil_app/client_code/<name>.py as a module of its own."""
    spec = importlib.util.spec_from_file_location(name, CLIENT_CODE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
