"""The error every reader raises for a file it cannot read as speeches."""


class SourceError(Exception):
    """A file that cannot be read as speeches; the message says why, in a few words."""
