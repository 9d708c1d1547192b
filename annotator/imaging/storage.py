"""The one place files are written and read: Django's storage API under content keys.

A key is derived from the bytes (`ab/abcdef….dcm`, the sha256), never from a UID or a name
a file brings with it, so no header can steer a write outside the store and two different
files can never share a key.
"""

import hashlib
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

STORE = "dicom"


def store() -> Storage:
    return storages[STORE]


def key_for(data: bytes, suffix: str) -> tuple[str, str]:
    """(key, sha256 hex) of these bytes."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}{suffix}", digest


def put(data: bytes, suffix: str = ".dcm") -> tuple[str, str]:
    """Store the bytes once under their content key; returns (key, sha256).

    Storing the same bytes again is a no-op: the key already holds exactly them.
    """
    key, digest = key_for(data, suffix)
    storage = store()
    if storage.exists(key) and storage.size(key) != len(data):
        storage.delete(key)  # a write torn by a crash or a full disk: write it again
    if not storage.exists(key):
        saved = storage.save(key, ContentFile(data))
        if saved != key:  # another process stored the same bytes a moment ago
            storage.delete(saved)
    return key, digest


def open_file(key: str) -> IO[bytes]:
    """The stored file; FileNotFoundError if it is missing."""
    return store().open(key, "rb")


def exists(key: str) -> bool:
    return store().exists(key)


def delete(key: str) -> None:
    store().delete(key)


def read(key: str) -> bytes:
    with open_file(key) as fh:
        return fh.read()
