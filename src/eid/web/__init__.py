"""Pages for people: the campaign dashboard (officer console pages build on the same API)."""
