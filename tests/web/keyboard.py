"""Keyboard-only browser tests' harness: where the focus is, whether it can be seen, walking
with Tab (or Shift+Tab) to a control, and proving the Tab order has no trap.

Every step goes through `page.keyboard`; the only DOM reads are of where the focus is and how
the focused element is drawn (its computed outline or box-shadow: `outline: none` without a
replacement fails)."""

from __future__ import annotations

from typing import Any

from tests.web.axe import screenshot

# The focused element, described: a key stable for the page's life (to see a cycle), what it is
# (for messages) and whether its focus ring is drawn.
_FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) {
    return {key: null, what: "body", ring: false, shown: false};
  }
  if (!el.dataset.kbKey) {
    window.__kbNext = (window.__kbNext || 0) + 1;
    el.dataset.kbKey = String(window.__kbNext);
  }
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = Boolean(style.boxShadow) && style.boxShadow !== "none";
  const rect = el.getBoundingClientRect();
  const what = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : "")
    + (el.dataset.finger ? `[data-finger=${el.dataset.finger}]` : "")
    + (el.getAttribute("hreflang") ? `[hreflang=${el.getAttribute("hreflang")}]` : "")
    + " " + (el.getAttribute("aria-label") || el.textContent || "").trim().slice(0, 40);
  // A date input is one element with several stops (day, month, year, its calendar button).
  const parts = el.tagName === "INPUT" && ["date", "time", "datetime-local", "month", "week"]
    .includes(el.type) ? 4 : 1;
  // Its calendar button draws its own ring (the input itself is then not :focus).
  const picker = parts > 1 && !el.matches(":focus");
  return {key: el.dataset.kbKey, what, ring: outline || shadow || picker, parts,
          shown: rect.width > 0 && rect.height > 0};
}
"""


def focused(page: Any) -> dict[str, Any]:
    info: dict[str, Any] = page.evaluate(_FOCUSED)
    return info


def assert_focus_visible(page: Any) -> dict[str, Any]:
    """The focused element is on screen and draws a focus ring (outline or box-shadow)."""
    info = focused(page)
    assert info["key"] is not None, "the focus is lost (on the page's body)"
    assert info["shown"], f"the focused element is not drawn: {info['what']}"
    assert info["ring"], f"no visible focus on {info['what']} (outline none, no box-shadow)"
    return info


def is_focused(page: Any, selector: str) -> bool:
    return bool(
        page.evaluate(
            "(s) => { const el = document.activeElement; return !!el && el.matches(s); }",
            selector,
        )
    )


def tab_to(page: Any, selector: str, *, back: bool = False, limit: int = 120) -> int:
    """Presses Tab (Shift+Tab if `back`) until the focus is on `selector`, each stop checked for
    a visible focus ring. Returns the number of presses."""
    key = "Shift+Tab" if back else "Tab"
    passed: list[str] = []
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        info = focused(page)
        if info["key"] is not None:
            assert info["ring"], f"no visible focus on {info['what']}"
        passed.append(info["what"])
        if is_focused(page, selector):
            return presses
    raise AssertionError(f"{selector} not reached with {key} in {limit}: {passed[-30:]}")


def assert_no_trap(page: Any, *, back: bool = False, limit: int = 250) -> int:
    """From the focused element, Tab (or Shift+Tab) goes through every stop and comes back to
    it: the focus never sticks on one element, and leaving the page's last stop comes round to
    its first. Returns the number of stops in the cycle."""
    key = "Shift+Tab" if back else "Tab"
    if page.evaluate("() => document.activeElement.tabIndex < 0"):
        page.keyboard.press(key)  # from a heading focused after a step: into the Tab order
    start = assert_focus_visible(page)["key"]
    previous, again = start, 0
    seen: set[str] = set()
    trail: list[str] = []
    for _ in range(limit):
        page.keyboard.press(key)
        info = focused(page)
        trail.append(info["what"])
        if info["key"] is None:  # out of the page (to the browser), then round to the start
            previous, again = None, 0
            continue
        again = again + 1 if info["key"] == previous else 0
        assert again < info["parts"], f"{key} is stuck on {info['what']}"
        assert info["ring"], f"no visible focus on {info['what']}"
        if info["key"] == start and not again:
            return len(seen) + 1
        seen.add(info["key"])
        previous = info["key"]
    raise AssertionError(f"{key} did not come back round in {limit} presses: {trail[:40]}")


def shot(page: Any, name: str) -> None:
    """A screenshot of the page as it is (the focused state), into build/screenshots."""
    screenshot(page, f"keyboard-{name}")
