"""Contract tests for the template, segment and campaign repositories."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eventcrm.campaigns.domain import (
    Campaign,
    CampaignKind,
    FilterAudience,
    RegistrantsAudience,
    SegmentAudience,
    StoredStatus,
    UserIdsAudience,
)
from eventcrm.campaigns.errors import CampaignIdTaken
from eventcrm.segments.domain import Segment
from eventcrm.segments.errors import SegmentIdTaken, SegmentNameTaken
from eventcrm.storage.ports import Storage
from eventcrm.templates.domain import EmailTemplate
from eventcrm.templates.errors import TemplateIdTaken, TemplateNameTaken

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _template(template_id: str, name: str) -> EmailTemplate:
    return EmailTemplate(template_id, name, "s", "<p>h</p>", None, NOW, NOW)


def _campaign(campaign_id: str, **overrides: object) -> Campaign:
    fields: dict[str, object] = {
        "id": campaign_id,
        "name": "C",
        "kind": CampaignKind.CAMPAIGN,
        "status": StoredStatus.DRAFT,
        "template_id": None,
        "subject": "s",
        "html": None,
        "text": "t",
        "audience": UserIdsAudience(("u1",)),
        "event_id": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return Campaign(**fields)  # type: ignore[arg-type]


async def test_templates_round_trip_and_keep_names_unique(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.templates.add(_template("t1", "Welcome"))
        assert await uow.templates.get("t1") == _template("t1", "Welcome")
        assert await uow.templates.get_by_name("Welcome") == _template("t1", "Welcome")
        with pytest.raises(TemplateNameTaken):
            await uow.templates.add(_template("t2", "Welcome"))
        await uow.templates.add(_template("t2", "Other"))
        with pytest.raises(TemplateNameTaken):
            await uow.templates.replace(replace(_template("t2", "Welcome")))
        assert await uow.templates.delete("t2") is True
        assert await uow.templates.delete("t2") is False


async def test_segments_round_trip_their_filter(storage: Storage) -> None:
    tree = {"and": [{"field": "city", "op": "eq", "value": "Austin"}]}
    segment = Segment("s1", "Austin", None, tree, NOW, NOW)
    async with storage.unit_of_work(write=True) as uow:
        await uow.segments.add(segment)
        await uow.segments.add(Segment("s2", "All", "everyone", None, NOW, NOW))
        assert await uow.segments.get("s1") == segment
        with pytest.raises(SegmentNameTaken):
            await uow.segments.add(Segment("s3", "Austin", None, None, NOW, NOW))
        page = await uow.segments.list(limit=1)
        assert [s.name for s in page.items] == ["All"]
        rest = await uow.segments.list(limit=1, after=page.next_key)
        assert [s.name for s in rest.items] == ["Austin"]


@pytest.mark.parametrize(
    "audience",
    [
        UserIdsAudience(("u1", "u2")),
        FilterAudience({"field": "city", "op": "eq", "value": "Austin"}),
        FilterAudience(None),
        SegmentAudience("s1"),
        RegistrantsAudience("e1", ("registered",), ("host", "attendee")),
    ],
)
async def test_campaigns_round_trip_every_audience(storage: Storage, audience: object) -> None:
    campaign = _campaign("c1", audience=audience, context={"event": {"title": "T"}})
    async with storage.unit_of_work(write=True) as uow:
        await uow.campaigns.add(campaign)
        assert await uow.campaigns.get("c1") == campaign


async def test_campaigns_list_newest_first_by_kind(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        for n in range(3):
            await uow.campaigns.add(_campaign(f"c{n}", created_at=NOW + timedelta(minutes=n)))
        await uow.campaigns.add(_campaign("t", kind=CampaignKind.TRANSACTIONAL))
        marketing = await uow.campaigns.list(kind=CampaignKind.CAMPAIGN, limit=2)
        assert [c.id for c in marketing.items] == ["c2", "c1"]
        rest = await uow.campaigns.list(
            kind=CampaignKind.CAMPAIGN, limit=2, after=marketing.next_key
        )
        assert [c.id for c in rest.items] == ["c0"]
        everything = await uow.campaigns.list(kind=None, limit=10)
        assert len(everything.items) == 4


async def test_only_unsent_campaigns_hold_on_to_a_template(storage: Storage) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.templates.add(_template("t1", "T"))
        await uow.campaigns.add(_campaign("c1", template_id="t1"))
        assert await uow.campaigns.uses_template_unsent("t1") is True
        sent = replace(_campaign("c1", template_id="t1"), status=StoredStatus.QUEUED)
        await uow.campaigns.replace(sent)
        assert await uow.campaigns.uses_template_unsent("t1") is False
        # Deleting the template leaves the sent campaign (with its own copy of the message).
        await uow.templates.delete("t1")
        kept = await uow.campaigns.get("c1")
        assert kept is not None
        assert kept.template_id is None
        assert kept.subject == "s"


async def test_a_taken_id_is_reported_as_such_and_leaves_the_transaction_usable(
    storage: Storage,
) -> None:
    async with storage.unit_of_work(write=True) as uow:
        await uow.templates.add(_template("t1", "Welcome"))
        with pytest.raises(TemplateIdTaken):
            await uow.templates.add(_template("t1", "Another name"))
        await uow.segments.add(Segment("s1", "Austin", None, None, NOW, NOW))
        with pytest.raises(SegmentIdTaken):
            await uow.segments.add(Segment("s1", "Boston", None, None, NOW, NOW))
        await uow.campaigns.add(_campaign("c1"))
        with pytest.raises(CampaignIdTaken):
            await uow.campaigns.add(_campaign("c1"))
        await uow.campaigns.add(_campaign("c2"))
        assert await uow.campaigns.get("c2") == _campaign("c2")
