"""The pages that list articles: the home page (recent edits, newest articles), one page per
publication day, the calendar of days, and the edits feeds (all sections, and one per section).
Each is rendered from the site's state, and only when something it shows changed."""

from __future__ import annotations

import re
from typing import Any

from handler.site.pages import ArticlePages, publication_day
from handler.site.render import SEARCH_CSP, render
from handler.site.search import SearchIndexError, index_month, record
from handler.site.state import MonthState, SiteState, StateFiles
from handler.site.target import SiteTarget

HOME_EDITS = 50  # of the state's newest edits, the home page shows these many
EPOCH = "1990-01-01T00:00:00+00:00"  # a feed with no entry yet is this old


def section_slug(section: str) -> str:
    """A section's feed name: lower-case letters, digits and dashes, from untrusted text."""
    return re.sub(r"[^a-z0-9]+", "-", section.casefold()).strip("-")[:60]


class Listings:
    """Collects what the articles rendered in one build change in the listings."""

    def __init__(self, files: StateFiles, state: SiteState, fresh: bool = False) -> None:
        self.files, self.state, self.fresh = files, state, fresh
        self.months: dict[str, MonthState] = {}
        self.days: set[str] = set()
        self.sections: set[str] = set()
        self.changed = False
        self.search_written = 0
        self.warnings: list[str] = []

    def take(self, versions: list[dict[str, Any]], rendered: ArticlePages) -> None:
        """Note one rendered article: its new edits, itself if new, its line on its day."""
        self.changed = True
        for edit in rendered.edits:
            self.state.add_edit(edit)
            self.sections.add(edit["section"])
        if rendered.first is not None:
            self.state.add_new(rendered.first)
        article_id = rendered.row["id"]
        day = publication_day(versions[-1]).isoformat()
        for older in {publication_day(v).isoformat() for v in versions[:-1]} - {day}:
            self._rows(older).pop(article_id, None)  # its date was corrected
            self._month(older).records.pop(article_id, None)
            self.days.add(older)
        self._rows(day)[article_id] = rendered.row
        self._month(day).records[article_id] = record(versions[-1])
        self.days.add(day)

    def _month(self, day: str) -> MonthState:
        month = day[:7]
        if month not in self.months:
            self.months[month] = MonthState() if self.fresh else self.files.month(month)
        return self.months[month]

    def _rows(self, day: str) -> dict[str, dict[str, Any]]:
        return self._month(day).days.setdefault(day, {})

    def write(self, target: SiteTarget, everything: bool) -> int:
        """Write the listing pages this build changed; how many were written."""
        if not self.changed and not everything:
            return 0
        calendar_before = dict(self.state.days)
        for day in sorted(self.days):
            rows = sorted(self._rows(day).values(), key=lambda r: str(r["published_at"] or ""))
            if rows:
                self.state.days[day] = len(rows)
            else:
                self.state.days.pop(day, None)
            target.put(f"days/{day}.html", render("day.html", root="../", day=day, rows=rows))
        written = len(self.days) + self._index_months(target)
        sections = {section_slug(name): name for name in self.state.sections}
        feeds = {slug: name for slug, name in sections.items() if slug and (
            everything or name in self.sections)}  # fmt: skip
        home = render("index.html", root="", edits=self.state.edits[:HOME_EDITS],
                      newest=self.state.newest, sections=sorted(sections.items()))  # fmt: skip
        target.put("index.html", home)
        if everything or self.state.days != calendar_before:  # a new day, or a day's count
            target.put("days/index.html", render("calendar.html", root="../",
                                                 months=_calendar(self.state.days)))  # fmt: skip
            written += 1
        if everything or _months(self.state.days) != _months(calendar_before):
            months = sorted(_months(self.state.days), reverse=True)
            target.put("search.html", render("search.html", root="", csp=SEARCH_CSP,
                                             months=months))  # fmt: skip
            written += 1
        target.put("edits.atom", _feed(self.state.edits, "Alle Ressorts", "edits", root=""))
        for slug, name in feeds.items():
            entries = self.state.sections[name]
            target.put(f"sections/{slug}.atom", _feed(entries, name, f"section:{slug}", "../"))
        return written + 2 + len(feeds)

    def _index_months(self, target: SiteTarget) -> int:
        """Re-index the search of each month this build touched and save the month's state;
        the search files written. Without the indexer the pages are still built, and said."""
        written = 0
        for month, state in sorted(self.months.items()):
            try:
                state.files, count = index_month(month, state.records, state.files, target)
                written += count
            except SearchIndexError as exc:
                self.warnings.append(f"search of {month} not updated: {exc}")
            self.files.save_month(month, state)
        self.search_written = written
        return written + len(self.months)


def _months(days: dict[str, int]) -> set[str]:
    return {day[:7] for day in days}


def _feed(edits: list[dict[str, Any]], title: str, name: str, root: str) -> str:
    updated = edits[0]["time"] if edits else EPOCH
    return render("edits.atom", root=root, edits=edits, updated=updated, title=title, name=name)


def _calendar(days: dict[str, int]) -> list[dict[str, Any]]:
    """Months, newest first, each with its days that have articles and how many."""
    months: dict[str, list[tuple[str, int]]] = {}
    for day in sorted(days):
        months.setdefault(day[:7], []).append((day, days[day]))
    return [{"month": month, "days": months[month], "total": sum(n for _, n in months[month])}
            for month in sorted(months, reverse=True)]  # fmt: skip
