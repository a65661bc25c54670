"""What the application runs with: ports and values only (built by ``eventcrm.bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from eventcrm.access.credentials import Authenticator
from eventcrm.events.cache import EventCache
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.rate_limits import DailyRecipientQuota, RequestBudgets
from eventcrm.mail.message import Mailbox
from eventcrm.mail.ports import MailSender
from eventcrm.registrations.batcher import RegistrationBatcher
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from eventcrm.templates.rendering import RenderLimits
from eventcrm.unsubscribe.tokens import UnsubscribeLinks


@dataclass
class Container:
    settings: Settings
    storage: Storage
    clock: Clock
    new_id: IdGenerator
    cursors: CursorCodec
    #: The email provider chosen by EVENTCRM_EMAIL_PROVIDER.
    mail: MailSender
    mail_from: Mailbox
    unsubscribe: UnsubscribeLinks
    #: Bearer credentials (API keys, and JWTs when an identity provider is configured).
    authenticator: Authenticator
    #: Request budgets per caller (EVENTCRM_RATE_LIMIT*), in memory or Redis.
    request_budgets: RequestBudgets
    #: Email recipients an organizer may queue per day.
    recipient_quota: DailyRecipientQuota
    #: Attendee registrations, taken in one transaction per event and batch (one per process).
    registrations: RegistrationBatcher
    #: Cached event reads (memory, or Redis with EVENTCRM_REDIS_URL).
    event_cache: EventCache
    #: What one template render may cost (preview and the worker).
    render_limits: RenderLimits = field(default_factory=RenderLimits)
