"""The embedded Celery broker: kombu's filesystem transport, with messages that appear whole.

kombu's own sender creates a message file under its final name and only then serialises and writes
the message into it, and its reader takes no lock: a worker polling the folder can pick up a file
that exists but is still empty or half written, fail to decode it and die. Here the sender writes
to a temporary name the readers skip and renames it into place, so a message file is complete from
the moment it can be seen. A reader claims a file by renaming it into the processed folder (same
filesystem), so exactly one reader gets each message; kombu's reader moves it to the system's
temporary folder, which is a copy when that is another filesystem, and two readers may then both
deliver it.

Selected by `CELERY_BROKER_TRANSPORT` for `filesystem://` (studio/settings/celery.py).
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

__all__ = ["PARTIAL_SUFFIX", "Channel", "Transport"]

# A message being written is `<final name>.partial`: kombu's readers take only names ending in
# `.<queue>.msg` after the first dot, so they never list it.
PARTIAL_SUFFIX = ".partial"


def _message_name(queue: str) -> str:
    # kombu's naming: the millisecond clock first, so sorting the names gives the sending order.
    return f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"


class Channel(filesystem.Channel):
    """kombu's filesystem channel whose messages are published by a rename and claimed by one."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        final = os.path.join(self.data_folder_out, _message_name(queue))
        partial = final + PARTIAL_SUFFIX
        data = str_to_bytes(dumps(payload))  # before any file exists: serialising a big body takes a while
        try:
            with open(partial, "wb") as handle:
                handle.write(data)
            os.replace(partial, final)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add the message file {final!r} to the queue folder: {error}") from error

    def _get(self, queue: str) -> Any:
        wanted = f"{queue}.msg"
        claimed_folder = Path(self.processed_folder)
        claimed_folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = claimed_folder / name
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another reader claimed it first
            except OSError as error:
                raise ChannelError(f"Cannot claim the message file {name!r}: {error}") from error
            try:
                payload = claimed.read_bytes()
                if not self.store_processed:
                    claimed.unlink()
            except OSError as error:
                raise ChannelError(f"Cannot read the message file {str(claimed)!r}: {error}") from error
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
