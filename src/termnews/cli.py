"""Placeholder: replaced by the lead engineer."""


def main(argv: list[str] | None = None) -> int:
    return 0
