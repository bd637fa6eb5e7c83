"""Every generated module of ``tez.telegram.v1`` (``account_pb2``,
``account_pb2_grpc``, ...), re-exported so that ``from tezgram_sdk.v1 import
account_pb2`` works. The modules themselves live in ``tez.telegram.v1``."""

import importlib as _importlib
import pkgutil as _pkgutil

import tez.telegram.v1 as _gen

__all__ = []
for _mod in sorted(_pkgutil.iter_modules(_gen.__path__), key=lambda m: m.name):
    if _mod.name.endswith(("_pb2", "_pb2_grpc")):
        globals()[_mod.name] = _importlib.import_module(f"{_gen.__name__}.{_mod.name}")
        __all__.append(_mod.name)
del _mod
