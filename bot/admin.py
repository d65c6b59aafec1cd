"""Admin work without Telegram: reload, upload, remove, statistics — every action audited.

Nothing here loses data: the corpus folder is changed by the library, which checks a new
file before it touches the folder and undoes a change whose reload fails.
"""

from __future__ import annotations

import logging
import sqlite3

from bot import messages as m
from bot.access import user_hash
from bot.config import Config
from bot.journal import Journal
from bot.stats import Stats, stats_of
from retrieval import (
    AddedFile,
    DiskFull,
    IndexReport,
    Library,
    NameTaken,
    SourceError,
    UnknownSpeech,
    UnsupportedFile,
)

log = logging.getLogger(__name__)


class AdminError(Exception):
    """A refused admin action; the message is for the admin (Chinese)."""


class AdminService:
    def __init__(self, library: Library, config: Config, journal: Journal) -> None:
        self.library = library
        self.config = config
        self.journal = journal

    def audit(self, user_id: int | None, action: str, target: str, outcome: str) -> None:
        """Best-effort, as the question log: a full disk must not stop an admin's work."""
        try:
            self.journal.log_admin_action(
                user_hash=user_hash(self.config.telegram, user_id),
                action=action,
                target=target[:200],
                outcome=outcome[:500],
            )
        except (sqlite3.Error, OSError) as exc:
            log.warning("audit: could not record %s (%s)", action, exc)

    def reload(self) -> IndexReport:
        """Blocking: run it off the event loop. The old corpus serves until the swap."""
        try:
            return self.library.reload()
        except DiskFull as exc:
            raise AdminError(m.DISK_FULL) from exc
        except SourceError as exc:
            raise AdminError(m.RELOAD_FAILED.format(reason=reason_in_chinese(str(exc)))) from exc

    def upload(self, file_name: str, data: bytes, replace: bool = False) -> AddedFile:
        """Check, write atomically, reload; on any failure the corpus is as it was."""
        self.check_size(len(data))
        try:
            return self.library.add_file(file_name, data, replace)
        except UnsupportedFile as exc:
            raise AdminError(m.UPLOAD_BAD_TYPE.format(suffix=exc.suffix or m.NONE)) from exc
        except NameTaken as exc:
            raise AdminError(m.UPLOAD_NAME_TAKEN) from exc
        except DiskFull as exc:
            raise AdminError(m.DISK_FULL) from exc
        except SourceError as exc:
            raise AdminError(m.UPLOAD_REJECTED.format(reason=reason_in_chinese(str(exc)))) from exc

    def check_size(self, size: int) -> None:
        limit = self.config.telegram.max_upload_bytes
        if size > limit:
            shown = f"{limit / 2**20:.3g} MB" if limit >= 2**20 else f"{limit / 1024:.0f} KB"
            raise AdminError(m.UPLOAD_TOO_BIG.format(limit=shown))

    def remove(self, speech_id: str) -> tuple[str, IndexReport]:
        """Move the speech's source file to the trash (every speech in that file goes)."""
        try:
            return self.library.remove_speech(speech_id)
        except UnknownSpeech as exc:
            raise AdminError(m.UNKNOWN_SPEECH.format(id=speech_id[:40])) from exc
        except DiskFull as exc:
            raise AdminError(m.DISK_FULL) from exc
        except SourceError as exc:
            raise AdminError(m.RELOAD_FAILED.format(reason=reason_in_chinese(str(exc)))) from exc

    def stats(self, now: float | None = None) -> Stats:
        return stats_of(self.journal, now)


def reason_in_chinese(reason: str) -> str:
    for english, chinese in m.SOURCE_REASONS.items():
        if reason.startswith(english):
            return chinese
    return reason
