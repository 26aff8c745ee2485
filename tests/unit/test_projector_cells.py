"""The projector hides small cells: what the room sees of 3 voters is "fewer than 5", a group
of 7 is shown, and no percentage or total gives a hidden count back."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.services.projector import Projector
from bot.web.app import create_app
from storage.repo import Database
from tests.unit.test_web import seed

pytestmark = pytest.mark.storage


async def page(url: str, token: str, k: int = 5) -> str:
    db = Database(url)
    app = create_app(Projector(db, "de", "test_bot", max_age=0, min_cell_size=k), url, 0.05)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://projector"
        ) as client:
            response = await client.get(f"/p/{token}")
            assert response.status_code == 200
            return response.text
    finally:
        await db.dispose()


def cells(html: str) -> dict[str, str]:
    rows = re.findall(
        r'<th scope="row" class="label">(.*?)</th>\s*<td class="count">(.*?)</td>', html
    )
    return dict(rows)


async def test_three_voters_show_nothing_but_fewer_than_five(migrated_url: str) -> None:
    token, _, _ = await seed(migrated_url, "Which first? | Housing | Jobs", [["a"]] * 2 + [["b"]])
    html = await page(migrated_url, token)
    assert cells(html) == {"Housing": "fewer than 5", "Jobs": "fewer than 5"}
    assert "fewer than 5 votes" in html and "3 votes" not in html
    assert "%" not in re.sub(
        r"width: [0-9.]+%", "", html.split('id="bars"')[1].split("</table>")[0]
    )


async def test_seven_voters_are_shown_and_a_small_cell_hidden(migrated_url: str) -> None:
    votes = [["a"]] * 7 + [["b"]] * 2
    token, _, _ = await seed(migrated_url, "Which first? | Housing | Jobs", votes, people=9)
    html = await page(migrated_url, token)
    assert cells(html) == {"Housing": "7", "Jobs": "fewer than 5"}
    # The exact 9 would give Jobs back (9 - 7): only the lower bound is said.
    assert "at least 7 votes" in html and "9 votes" not in html


async def test_every_cell_large_enough_shows_counts_and_shares(migrated_url: str) -> None:
    votes = [["a"]] * 5 + [["b"]] * 5
    token, _, _ = await seed(migrated_url, "Which first? | Housing | Jobs", votes, people=10)
    html = await page(migrated_url, token)
    assert cells(html) == {"Housing": "5", "Jobs": "5"}
    assert "10 votes" in html and "50%" in html


async def test_a_scale_hides_its_average_when_a_cell_is_hidden(migrated_url: str) -> None:
    votes = ["1"] * 6 + ["5"]
    token, _, _ = await seed(migrated_url, "--scale 1-5 How useful?", votes, people=7)
    html = await page(migrated_url, token)
    assert 'id="mean"' not in html
    shown = await page(migrated_url, token, k=1)
    assert 'id="mean"' in shown
