"""Suppression cases, checked the same way by `tfgraphlint check` and by flake8.

Each `print` in a compiled body is a TFG101 finding; the comment on its line (or on its token
range) decides whether it is reported. `# expect: TFG101` marks the findings that must remain.
"""

import tensorflow as tf


@tf.function
def train_step(x, y):
    print("plain")  # expect: TFG101
    print("blanket")  # noqa
    print("blanket, upper case")  # NOQA
    print("exact code")  # noqa: TFG101
    print("no space after the colon")  # noqa:TFG101
    print("prefix")  # noqa: TFG1
    print("family prefix")  # noqa: TFG
    print("one of several")  # noqa: E501,TFG101
    print("separated by spaces")  # noqa: E501 TFG101
    print("another code")  # noqa: TFG2  # expect: TFG101
    print("lower-case code does not match")  # noqa: tfg101  # expect: TFG101
    print("a longer code is not a prefix")  # noqa: TFG1011  # expect: TFG101
    print("only the first noqa counts")  # noqa: E501 # noqa: TFG101  # expect: TFG101
    print(  # expect: TFG101
        "a comment on the closing line of brackets does not cover the first line"
    )  # noqa
    print("""a multi-line string
    forms one token range with its line""")  # noqa
    print("a backslash continuation", \
          "also joins the lines")  # noqa: TFG101
    print("flake8 searches the text, so this string silences the line: # noqa")
    return x + y
