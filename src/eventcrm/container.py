"""What the application runs with: ports and values only (built by ``eventcrm.bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass

from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.ids import IdGenerator
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage


@dataclass
class Container:
    settings: Settings
    storage: Storage
    clock: Clock
    new_id: IdGenerator
    cursors: CursorCodec
