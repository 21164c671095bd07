"""Pure protocol logic: parameters, models, errors, messages, the stream core; no I/O, no clock."""

__all__: list[str] = []
