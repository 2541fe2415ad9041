"""access_reason: the header (percent-encoded UTF-8) or the body's reason, else 422."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from aiohttp.test_utils import make_mocked_request

from service.api.context import access_reason
from service.errors import InvalidRequest
from service.web.errors import STATUS


def _request(headers: dict[str, str] | None = None):
    return make_mocked_request("GET", "/api/v1/residents/R1", headers=headers or {})


def test_reason_from_header_percent_encoded():
    req = _request({"X-Access-Reason": quote("避難所での申請受付")})
    assert access_reason(req) == "避難所での申請受付"


def test_reason_from_body_when_no_header():
    assert access_reason(_request(), {"reason": " 代行発行 "}) == "代行発行"


@pytest.mark.parametrize("headers, body", [({}, None), ({}, {"reason": ""}),
                                           ({"X-Access-Reason": "  "}, {})])
def test_missing_reason_is_422(headers, body):
    with pytest.raises(InvalidRequest) as err:
        access_reason(_request(headers), body)
    assert STATUS[err.value.kind] == 422  # the status the middleware renders
    assert err.value.fields[0]["code"] == "audit.reason_required"


@pytest.mark.parametrize("headers, body", [({"X-Access-Reason": "%FF%FE"}, None),
                                           ({}, {"reason": 42}),
                                           ({}, {"reason": "x" * 501}),
                                           ({}, {"reason": "a\x00b"})])
def test_bad_reason_is_422(headers, body):
    with pytest.raises(InvalidRequest) as err:
        access_reason(_request(headers), body)
    assert err.value.fields[0]["code"] == "audit.reason_invalid"
