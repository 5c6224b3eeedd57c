"""The garbage collector, paused while a request's data is decoded.

Decoded JSON and unpickled messages hold no reference cycles, but a big body is tens of
thousands of new containers: left on, the collector walks them again and again while they
are made (decoding or unpickling then takes several times as long), and the process serves
nothing else meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    if not gc.isenabled():  # paused already, further up
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
