"""GET /certificates/{n}/pdf prints the competent town's seal image when the node has one
in printing.seal_dir (issue 15), and 公印省略 for a town without."""

from __future__ import annotations

import pytest

from service.counter.printing import SealImages
from service.web.appkeys import SEALS
from tests.support.counter import TOWN_A, build_pki, counter_node, seed_town
from tests.support.issuing import REASON, household_pairs, issue, judged_application
from tests.unit.test_certs_pdf import _pdf_text, _require_poppler
from tests.unit.test_certs_seal import _images, seal_png

pytestmark = pytest.mark.integration
DISASTER = {"name": "令和6年能登半島地震", "date": "2024-01-01"}


@pytest.fixture(scope="module")
def pki():
    return build_pki()


async def test_the_pdf_carries_the_competent_towns_seal(database, pki, tmp_path):
    _require_poppler()
    (tmp_path / f"{TOWN_A}.png").write_bytes(seal_png())
    folder = SealImages.load(tmp_path)

    def with_seals(app):
        app[SEALS] = folder

    async with counter_node(database, pki, configure=with_seals) as node:
        town = await seed_town(node.app)
        clerk = await node.login("clerk1", ("clerk",))
        boss = await node.login("boss1", ("supervisor", "surveyor"))
        (resident, dwelling), *_ = household_pairs(town)
        number = (await issue(clerk, await judged_application(clerk, boss, resident, dwelling, DISASTER)))[
            "certificate"]["number"]
        status, pdf = await clerk.get(f"/api/v1/certificates/{number}/pdf", headers=REASON)
        assert status == 200 and pdf.startswith(b"%PDF")
        assert "公印省略" not in _pdf_text(pdf) and len(_images(pdf)) >= 1

        folder.by_town.clear()  # the same certificate at a node without the image
        status, pdf = await clerk.get(f"/api/v1/certificates/{number}/pdf", headers=REASON)
        assert "公印省略" in _pdf_text(pdf) and _images(pdf) == []
