"""Driving the sales kanban in a browser test: dragging a card as a person does."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def drag(page: Page, card: Locator, target: Locator) -> None:
    """Drag with the mouse as a person does: SortableJS follows pointer moves, and Playwright's
    ``drag_to`` (HTML5 drag events) moves the card without the drop handler seeing a move."""
    card.scroll_into_view_if_needed()
    start = card.bounding_box()
    end = target.bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5, steps=3)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 30, steps=12)
    page.mouse.up()


def column(page: Page, stage_name: str) -> Locator:
    """The card list of the stage called ``stage_name``."""
    return page.locator(f'.kanban-cards[data-stage-name="{stage_name}"]')
