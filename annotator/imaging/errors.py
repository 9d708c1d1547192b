"""The error every pixel check raises; its message is for people."""


class PixelError(Exception):
    """The image cannot or may not be decoded; the message says why in plain words."""
