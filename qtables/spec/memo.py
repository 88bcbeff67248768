"""A function's result kept per object, for the spec's own objects (trees, tables, layouts, choice lists).

Those objects are neither hashable nor cheap to compare, and live as long as the process: the result is
keyed by the object's identity, and the object is kept with it, so its id is never reused for another.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def per_object(fn: Callable[[Any], T]) -> Callable[[Any], T]:
    kept: dict[int, tuple[Any, T]] = {}

    @functools.wraps(fn)
    def once(obj: Any) -> T:
        hit = kept.get(id(obj))
        if hit is None or hit[0] is not obj:
            hit = kept[id(obj)] = (obj, fn(obj))
        return hit[1]
    return once
