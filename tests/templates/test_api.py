"""The email templates API: save-time syntax checks, preview, in-use protection."""

from __future__ import annotations

import httpx

from tests.support.factories import (
    create_mail_event,
    create_template,
    create_user,
    template_payload,
)

API = "/api/v1/email-templates"


async def test_a_template_round_trips(client: httpx.AsyncClient) -> None:
    created = await create_template(client, name="Welcome")
    got = await client.get(f"{API}/{created['id']}")
    assert got.status_code == 200
    assert got.json() == created
    assert created["name"] == "Welcome"


async def test_a_syntax_error_is_a_422_naming_the_part_and_line(client: httpx.AsyncClient) -> None:
    response = await client.post(
        API, json=template_payload(html="<p>ok</p>\n<p>{{ user.firstName </p>")
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("invalid_template")
    [error] = body["errors"]
    assert error["field"] == "html"
    assert "line 2" in error["message"]
    assert (await client.get(API)).json()["items"] == []


async def test_a_bad_subject_is_reported_as_the_subject(client: httpx.AsyncClient) -> None:
    response = await client.post(API, json=template_payload(subject="{% if %}"))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["subject"]


async def test_a_template_needs_a_body(client: httpx.AsyncClient) -> None:
    response = await client.post(API, json=template_payload(html=None, text=None))
    assert response.status_code == 422


async def test_names_are_unique(client: httpx.AsyncClient) -> None:
    await create_template(client, name="Same")
    response = await client.post(API, json=template_payload(name="Same"))
    assert response.status_code == 409
    assert response.json()["type"].endswith("template_name_taken")


async def test_put_replaces_and_revalidates(client: httpx.AsyncClient) -> None:
    created = await create_template(client)
    ok = await client.put(
        f"{API}/{created['id']}", json={"name": "New", "subject": "S", "text": "T {{ 1 + 1 }}"}
    )
    assert ok.status_code == 200
    assert ok.json()["html"] is None
    bad = await client.put(
        f"{API}/{created['id']}", json={"name": "New", "subject": "S", "text": "{{"}
    )
    assert bad.status_code == 422
    assert (await client.get(f"{API}/{created['id']}")).json()["text"] == "T {{ 1 + 1 }}"


async def test_preview_personalises_and_escapes_html_only(client: httpx.AsyncClient) -> None:
    user = await create_user(client, firstName="Ada", company="<Acme & Co>")
    template = await create_template(client)
    response = await client.post(f"{API}/{template['id']}/preview", json={"userId": user["id"]})
    assert response.status_code == 200
    rendered = response.json()
    assert rendered["subject"] == "Hello Ada"
    assert "from &lt;Acme &amp; Co&gt;" in rendered["html"]
    assert "from <Acme & Co>" in rendered["text"]
    assert "/api/v1/unsubscribe/" in rendered["text"]


async def test_missing_optional_fields_render_as_nothing(client: httpx.AsyncClient) -> None:
    user = await create_user(client, firstName="Ada")
    template = await create_template(client, text="[{{ user.company }}]", html=None)
    rendered = (
        await client.post(f"{API}/{template['id']}/preview", json={"userId": user["id"]})
    ).json()
    assert rendered["text"] == "[]"
    assert "<p>[]</p>" in rendered["html"]


async def test_the_sandbox_refuses_python_internals(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    template = await create_template(
        client, text="{{ ''.__class__.__mro__[1].__subclasses__() }}", html=None
    )
    response = await client.post(f"{API}/{template['id']}/preview", json={"userId": user["id"]})
    assert response.status_code == 422
    assert response.json()["type"].endswith("template_render_failed")


async def test_preview_for_an_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    template = await create_template(client)
    response = await client.post(f"{API}/{template['id']}/preview", json={"userId": "nobody"})
    assert response.status_code == 404


async def test_a_template_used_by_a_draft_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    template = await create_template(client)
    campaign = await client.post(
        "/api/v1/campaigns",
        json={"name": "C", "templateId": template["id"], "audience": {"userIds": [user["id"]]}},
    )
    assert campaign.status_code == 201
    assert (await client.delete(f"{API}/{template['id']}")).status_code == 409
    await client.delete(f"/api/v1/campaigns/{campaign.json()['id']}")
    assert (await client.delete(f"{API}/{template['id']}")).status_code == 204
    assert (await client.get(f"{API}/{template['id']}")).status_code == 404


async def test_templates_list_by_name_in_pages(client: httpx.AsyncClient) -> None:
    for name in ("c", "a", "b"):
        await create_template(client, name=name)
    first = (await client.get(API, params={"limit": 2})).json()
    assert [t["name"] for t in first["items"]] == ["a", "b"]
    rest = (await client.get(API, params={"limit": 2, "cursor": first["nextCursor"]})).json()
    assert [t["name"] for t in rest["items"]] == ["c"]
    assert rest["nextCursor"] is None


async def test_preview_with_an_event_renders_its_fields(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    event = await create_mail_event(client, title="Demo Day")
    template = await create_template(
        client, subject="{{ event.title }}", text="{{ event.startLocal }} at {{ event.venue }}"
    )
    response = await client.post(
        f"{API}/{template['id']}/preview", json={"userId": user["id"], "eventId": event["id"]}
    )
    assert response.status_code == 200, response.text
    rendered = response.json()
    assert rendered["subject"] == "Demo Day"
    assert rendered["text"] == "Saturday 1 June 2030, 13:00 (CDT) at Hall A"
    missing = await client.post(
        f"{API}/{template['id']}/preview", json={"userId": user["id"], "eventId": "nope"}
    )
    assert missing.status_code == 404
