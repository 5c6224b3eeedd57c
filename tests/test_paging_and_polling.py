"""Paging and polling the web way: a `Link: rel="next"` header beside `next_cursor`, and ETags
on job reads so that a poller asking "anything new?" gets a bodiless 304."""

from __future__ import annotations

import httpx

from tests.conftest import result_of, sampler_job, submit


def test_the_link_header_leads_through_every_page(client: httpx.Client) -> None:
    made = {submit(client, {**sampler_job(), "tags": ["paged"]})["id"] for _ in range(5)}
    seen: list[str] = []
    response = client.get("/v1/jobs", params={"tags": "paged", "limit": 2})
    while True:
        page = response.json()
        seen += [job["id"] for job in page["jobs"]]
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            break
        link = response.headers["link"]
        assert link.startswith("</v1/jobs?") and link.endswith('>; rel="next"')
        assert f"cursor={page['next_cursor']}" in link and "tags=paged" in link
        response = client.get(link[1:link.index(">")])
    assert len(seen) == 5 and set(seen) == made


def test_an_unchanged_job_answers_304_and_a_changed_one_its_new_state(
        client: httpx.Client) -> None:
    job = submit(client, sampler_job())
    result_of(client, job["id"])
    for path in (f"/v1/jobs/{job['id']}", f"/v1/jobs/{job['id']}/status",
                 f"/v1/jobs/{job['id']}/result"):
        first = client.get(path)
        etag = first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["etag"] == etag
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    before = client.get(f"/v1/jobs/{job['id']}").headers["etag"]
    client.put(f"/v1/jobs/{job['id']}/tags", json={"tags": ["changed"]})
    changed = client.get(f"/v1/jobs/{job['id']}", headers={"If-None-Match": before})
    assert changed.status_code == 200 and changed.json()["tags"] == ["changed"]
    assert changed.headers["etag"] != before
