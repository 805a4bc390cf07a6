"""A browser-like HTTP client: one cookie jar per user, forms parsed from the HTML, timed requests."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) logpipe-e2e/1.0"
TIMEOUT_S = 30.0


@dataclass
class Form:
    """One <form>: its method, absolute action URL and the values of its named inputs."""

    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """Collects the forms of a page, and the text of elements with an `id`."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.forms: list[Form] = []
        self.texts: dict[str, str] = {}
        self._open_ids: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("method", "get").lower(),
                                   urljoin(self.base_url, values.get("action", ""))))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms and values.get("name"):
            self.forms[-1].buttons.setdefault(values["name"], []).append(values.get("value", ""))
        if tag not in ("input", "meta", "link", "br", "img"):
            self._open_ids.append(values.get("id"))
            if values.get("id"):
                self.texts[values["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("input", "meta", "link", "br", "img") and self._open_ids:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open_ids:
            if element_id:
                self.texts[element_id] += data


@dataclass
class Page:
    """A response with its parsed forms, element texts and client-side duration."""

    response: requests.Response
    seconds: float
    forms: list[Form]
    texts: dict[str, str]

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def location(self) -> str:
        """The absolute redirect target ("" when not a redirect)."""
        target = self.response.headers.get("Location", "")
        return urljoin(self.response.url, target) if target else ""

    def text_of(self, element_id: str) -> str:
        return self.texts.get(element_id, "").strip()

    def form(self, action_suffix: str) -> Form:
        """The form whose action ends with `action_suffix`; AssertionError naming the page if none."""
        for form in self.forms:
            if form.action.split("?")[0].endswith(action_suffix):
                return form
        raise AssertionError(f"no form posting to …{action_suffix} on {self.response.url}")


class Browser:
    """One person's browser: a requests.Session that follows no redirect on its own."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def request(self, method: str, url: str, **kwargs: object) -> Page:
        """One HTTP request, timed from send to the full body read."""
        started = time.perf_counter()
        response = self.session.request(method, url, allow_redirects=False, timeout=TIMEOUT_S, **kwargs)
        seconds = time.perf_counter() - started
        forms: list[Form] = []
        texts: dict[str, str] = {}
        if "text/html" in response.headers.get("Content-Type", ""):
            parser = _FormParser(response.url)
            parser.feed(response.text)
            forms, texts = parser.forms, parser.texts
        return Page(response, seconds, forms, texts)

    def get(self, url: str) -> Page:
        return self.request("GET", url)

    def submit(self, form: Form, **values: str) -> Page:
        """Submit `form` with its hidden values plus `values` (a button is one of them)."""
        data = {**form.fields, **values}
        if form.method == "post":
            return self.request("POST", form.action, data=data)
        return self.request("GET", form.action, params=data)

    def follow(self, page: Page, limit: int = 5) -> Page:
        """Follow redirects from `page` (bounded), as a browser does after a form post."""
        for _ in range(limit):
            if not page.location:
                return page
            page = self.get(page.location)
        raise AssertionError(f"more than {limit} redirects from {page.response.url}")
