"""Syntax with unusual node shapes, for the parent and position tests (parsed, never run)."""
from __future__ import annotations
import a.b as c, d
from . import (e, f as g)
x: int = (y := 1)
print(*a, **b, sep="")
f"{x!r:>{width}} {y=}"
lambda a, /, b=1, *c, d, **e: (a, b)
[i for i in range(3) if i for j in i]
{k: v async for k, v in z}
@dec(1)
@other.attr
class C(Base, metaclass=M):
    a: int
    def m(self, *, k: "T" = None) -> list[int]:
        global q
        try:
            yield from g()
        except* ValueError as e:
            raise X from e
        else:
            pass
        finally:
            del a[1:2, ::3], b.c
async def h():
    async with a as (b, c), d:
        await e
    async for i in j:
        continue
match point:
    case Point(x=0, y=0) | [1, *rest] | {"k": v, **kw} if v > 0:
        pass
    case _:
        pass
assert x, "m"; y = not -x ** 2 if a else b
