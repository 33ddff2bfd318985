"""Nested blocks of every kind, for the per-statement position units (parsed, never run)."""
import tensorflow as tf


@tf.function
def f(x, n):
    # a comment before the first statement

    total = 0
    for i in range(n):
        if x > 0:
            total += i
        elif x < 0:  # elif
            total -= i

        elif x == 0: total = 0
        else:
            # comment
            @decorator
            def inner(y):
                return y
    else:
        pass
    while x:
      x -= 1  # two-space block
    else:
            x = 0  # eight-space block
    try:
        y = 1; z = 2
    except ValueError as e:
        raise
    except (TypeError, KeyError):
        pass
    else:
        with tf.device("cpu"), open(p) as h:
            h.write(\
                "x")
    finally:
        total = total + \
            1
    if x: return total
    class Local:
        def m(self):
            if self:
                return [
                    1,
                ]
    async def g():
        async with a:
            async for b in c:
                await b
    return total


def t(x):
	if x:
		for i in x:
			y = i
	else:
		y = 0
	return y
