"""The one exception type bayesurv raises for bad input.

Every message is one sentence that names the input (file, row, column or key), says what is wrong
with it and how to fix it. The command-line interface prints the message alone and exits with
code 2; Python callers catch :class:`InputError`.
"""


class InputError(ValueError):
    """Bad input or an impossible request; the message names the input and the fix."""


def where(source: str | None, row: int | None = None) -> str:
    """Return a prefix such as ``"curve.csv, row 7: "`` for an error message.

    ``row`` is the 1-based data row as a spreadsheet user counts it (header excluded).
    """
    if source is None and row is None:
        return ""
    if row is None:
        return f"{source}: "
    if source is None:
        return f"row {row}: "
    return f"{source}, row {row}: "
