"""What goes over the wire: compressed answers when the client accepts it, ``Vary``, long
caching for fingerprinted files, and the page's lighter script list (partial Plotly.js, no
``dash_table``)."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest
from flask.testing import FlaskClient

from tests.support import render_request, seed_history

PAGE = "/admin/metrics/"
STATIC = re.compile(r'(?:src|href)="(/admin/metrics/(?:assets|_dash-component-suites)/[^"]+)"')


def _static_urls(client: FlaskClient) -> list[str]:
    html = client.get(PAGE).get_data(as_text=True)
    return STATIC.findall(html)


def _decoded(response_data: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return brotli.decompress(response_data)
    if encoding == "gzip":
        return gzip.decompress(response_data)
    return response_data


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_bundles_and_assets_are_compressed_when_accepted(
    admin_client: FlaskClient, encoding: str
) -> None:
    urls = _static_urls(admin_client)
    assert urls
    for url in urls:
        plain = admin_client.get(url)
        packed = admin_client.get(url, headers={"Accept-Encoding": encoding})
        assert plain.status_code == packed.status_code == 200, url
        assert "Accept-Encoding" in packed.headers.get("Vary", ""), url
        assert plain.headers.get("Content-Encoding") is None, url
        if len(plain.data) >= 1024:
            assert packed.headers["Content-Encoding"] == encoding, url
            assert len(packed.data) < len(plain.data), url
        assert _decoded(packed.data, packed.headers.get("Content-Encoding")) == plain.data, url


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_compressed_file_revalidates_with_its_own_etag(
    admin_client: FlaskClient, encoding: str
) -> None:
    """Each encoding is its own entity (its own ETag), and asking again with it is a 304."""
    url = next(u for u in _static_urls(admin_client) if "plotly-basic" in u)
    plain = admin_client.get(url)
    packed = admin_client.get(url, headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding
    assert packed.headers["ETag"] not in (None, plain.headers["ETag"])
    again = admin_client.get(
        url, headers={"Accept-Encoding": encoding, "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.data == b""


def test_fingerprinted_files_are_cached_for_a_year(admin_client: FlaskClient) -> None:
    for url in _static_urls(admin_client):
        cache = admin_client.get(url).headers.get("Cache-Control", "")
        assert "max-age=31536000" in cache, (url, cache)
        assert "no-cache" not in cache, (url, cache)


def test_a_small_answer_is_sent_as_is(anon_client: FlaskClient) -> None:
    response = anon_client.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") is None
    assert "Accept-Encoding" in response.headers["Vary"]


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_callback_and_api_answers_are_compressed(
    app: object, admin_client: FlaskClient, store_url: str, encoding: str
) -> None:
    seed_history(store_url, hourly_days=8, daily_days=10)
    deps = admin_client.get(PAGE + "_dash-dependencies").get_json()
    body = render_request(deps, search="?range=7&granularity=hourly")
    plain = admin_client.post(PAGE + "_dash-update-component", json=body)
    packed = admin_client.post(
        PAGE + "_dash-update-component", json=body, headers={"Accept-Encoding": encoding}
    )
    assert plain.status_code == packed.status_code == 200
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.data) * 4 < len(plain.data)
    assert b"graph-active_users" in _decoded(packed.data, encoding)

    api = admin_client.get(
        "/api/v1/metrics/timeseries?metric_type=active_users&granularity=hourly",
        headers={"Accept-Encoding": encoding},
    )
    assert api.status_code == 200
    assert api.headers["Content-Encoding"] == encoding
    assert b"active_users" in _decoded(api.data, encoding)


def test_page_loads_the_partial_plotly_and_no_dash_table(admin_client: FlaskClient) -> None:
    urls = _static_urls(admin_client)
    names = [u.rsplit("/", 1)[-1] for u in urls]
    assert any(n.startswith("plotly-basic.min.js") for n in names), names
    assert not [u for u in urls if "dash_table" in u or "plotly.min.js" in u]
    bundle = admin_client.get(next(u for u in urls if "plotly-basic" in u)).data
    assert b"window.Plotly = Plotly" in bundle
