"""The traffic generator: people driving the app over HTTP, and what they did and saw (ground truth).

Phase 1, people (one after another, so a seed repeats a run): sign up, maybe sign out and in
again, check the status, connect (or abandon, deny, come back too late, approve a Launchpad
login that another user has connected), check the status, open the projects page, maybe
replay the old callback or disconnect. Phase 2: `flask basecamp refresh-due` passes against
the faulty simulator, each measured by the simulator's answer counts. Phase 3: everybody who
ever connected checks the status and opens the projects page; a last health snapshot.
"""
from __future__ import annotations

import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from app.events.catalogue import Event
from logpipe.e2e.browser import Browser, Page
from logpipe.e2e.scenarios import Behaviours, Scenario
from logpipe.e2e.servers import Services

SUCCESS = "success"
FLOW_TTL_S = 3.0  # the shortened OAuth flow lifetime the app runs with (logpipe.e2e.appserver)
REFRESH_MARGIN = "2h"  # > the simulator's 1-hour tokens: every connected token is due at every pass
STATUS_PATH = "/api/integrations/basecamp/status/"
PAGE_PATH = "/integrations/basecamp/"


@dataclass
class RefreshPass:
    """One refresh-due pass: what was due (generator) and what the simulator answered."""

    due: int
    answers: Counter[str]  # token-endpoint outcome -> n, during this pass
    summary: dict[str, int]  # what the command printed


@dataclass
class Truth:
    """Everything the generator did and saw, and what the simulator answered."""

    initiated: int = 0
    callbacks: Counter[str] = field(default_factory=Counter)  # "success" or the error type shown
    flow_seconds: list[tuple[int, float]] = field(default_factory=list)  # (user_id, s) per successful flow
    status_ms: list[tuple[int, float]] = field(default_factory=list)  # (user_id, ms) per status call
    status_states: Counter[str] = field(default_factory=Counter)  # phase 3: state per user
    consecutive_failures: dict[int, int] = field(default_factory=dict)  # user_id -> phase-3 status value
    disconnect_requests: int = 0
    disconnects: int = 0  # requests that dropped a live connection
    #: (event, user_id, "success" or error type) -> requests that must each have made that event.
    per_user: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    ever_connected: set[int] = field(default_factory=set)
    connected: set[int] = field(default_factory=set)  # live connections after phase 1
    refresh_passes: list[RefreshPass] = field(default_factory=list)
    snapshots: int = 0
    last_snapshot_at: float = 0.0  # Unix seconds, client clock, after the last snapshot command
    sim_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def refresh_ops(self) -> int:
        return sum(p.due for p in self.refresh_passes)

    @property
    def expired(self) -> int:
        """Connections expired by the refresh passes: one per invalid_grant the simulator answered."""
        return sum(p.answers["refresh_token 400 invalid_grant"] for p in self.refresh_passes)

    @property
    def live(self) -> int:
        """Connected accounts now."""
        return len(self.connected) - self.expired


@dataclass
class Person:
    user_id: int  # the app's id: users sign up one after another into a fresh database
    email: str
    launchpad_email: str
    browser: Browser = field(default_factory=Browser)
    callback_url: str = ""


class Generator:
    """Drives one scenario against running services and fills a Truth."""

    def __init__(self, scenario: Scenario, services: Services) -> None:
        self.scenario = scenario
        self.services = services
        self.app = services.app_url
        self.rng = random.Random(scenario.seed)  # nosec B311 - seeded traffic for repeatable runs, not security
        self.truth = Truth()
        self.people: list[Person] = []

    # ---- browser steps ------------------------------------------------------------
    def _expect(self, page: Page, status: int, what: str) -> Page:
        if page.status != status:
            raise AssertionError(f"{what}: HTTP {page.status} from {page.response.url}, expected {status}")
        return page

    def sign_up(self, person: Person, password: str) -> None:
        form = self._expect(person.browser.get(f"{self.app}/signup"), 200, "sign-up page").form("/signup")
        answer = person.browser.submit(form, email=person.email, password=password, confirm=password)
        self._expect(answer, 302, "sign up")

    def sign_out_and_in(self, person: Person, password: str) -> None:
        page = person.browser.get(f"{self.app}{PAGE_PATH}")
        self._expect(person.browser.submit(page.form("/signout")), 302, "sign out")
        form = person.browser.get(f"{self.app}/signin").form("/signin")
        self._expect(person.browser.submit(form, email=person.email, password=password), 302, "sign in")

    def status(self, person: Person) -> dict:
        page = self._expect(person.browser.get(f"{self.app}{STATUS_PATH}"), 200, "status")
        self.truth.status_ms.append((person.user_id, page.seconds * 1000))
        self.truth.per_user[(Event.STATUS_CHECK, person.user_id, SUCCESS)] += 1
        return page.response.json()

    def projects_page(self, person: Person) -> None:
        """The integration page, which lists the projects of a live connection (one bc3 API call)."""
        page = self._expect(person.browser.get(f"{self.app}{PAGE_PATH}"), 200, "projects page")
        if page.text_of("bc-state") not in ("Connected", "Expired", "Not connected"):
            raise AssertionError(f"the integration page shows no connection state: {page.text_of('bc-state')!r}")

    def start_flow(self, person: Person, decision: str | None) -> tuple[float, str]:
        """Connect up to the Launchpad page and answer it (None: abandon). (start time, callback URL)."""
        started = time.perf_counter()
        begin = self._expect(person.browser.get(f"{self.app}/integrations/basecamp/connect"), 302, "connect")
        if not begin.location.startswith(self.services.sim_url):
            raise AssertionError(f"connect redirected to {begin.location}, not to Launchpad")
        self.truth.initiated += 1
        self.truth.per_user[(Event.OAUTH_INITIATE, person.user_id, SUCCESS)] += 1
        authorize = self._expect(person.browser.get(begin.location), 200, "Launchpad authorize page")
        if decision is None:
            return started, ""
        answer = person.browser.submit(authorize.form("/authorization/new"), email=person.launchpad_email,
                                       decision=decision)
        callback = self._expect(answer, 302, "Launchpad decision").location
        if not callback.startswith(self.app):
            raise AssertionError(f"Launchpad redirected to {callback}, not to the app")
        return started, callback

    def callback(self, person: Person, url: str, started: float | None = None) -> str:
        """Load the callback URL; the outcome the person sees ("success" or the page's error type)."""
        page = person.browser.get(url)
        finished = time.perf_counter()
        if page.status == 302:
            landing = person.browser.follow(page)
            if landing.text_of("bc-state") != "Connected":
                raise AssertionError(f"callback redirected to {landing.response.url} without a connection")
            outcome = SUCCESS
            if started is not None:
                self.truth.flow_seconds.append((person.user_id, finished - started))
            self.truth.ever_connected.add(person.user_id)
            self.truth.connected.add(person.user_id)
        else:
            outcome = page.text_of("error-type")
            if not outcome:
                raise AssertionError(f"callback answered HTTP {page.status} without an error type")
        self.truth.callbacks[outcome] += 1
        self.truth.per_user[(Event.OAUTH_CONNECT, person.user_id, outcome)] += 1
        return outcome

    def disconnect(self, person: Person) -> None:
        """Disconnect through the page's form or the JSON API (alternately)."""
        page = person.browser.get(f"{self.app}{PAGE_PATH}")
        form = page.form("/integrations/basecamp/disconnect")
        self.truth.disconnect_requests += 1
        if self.truth.disconnect_requests % 2:
            landing = person.browser.follow(self._expect(person.browser.submit(form), 302, "disconnect form"))
            if landing.text_of("bc-state") != "Not connected":
                raise AssertionError("the page still shows a connection after Disconnect")
            dropped = person.user_id in self.truth.connected
        else:
            answer = person.browser.request("POST", f"{self.app}/api/integrations/basecamp/disconnect",
                                            headers={"X-CSRFToken": form.fields["csrf_token"]})
            dropped = self._expect(answer, 200, "disconnect API").response.json()["disconnected"]
        if dropped:
            self.truth.disconnects += 1
            self.truth.per_user[(Event.DISCONNECT, person.user_id, SUCCESS)] += 1
            self.truth.connected.discard(person.user_id)

    # ---- phases -------------------------------------------------------------------
    def _roles(self, b: Behaviours) -> list[str]:
        roles = ["abandon"] * b.abandon + ["deny"] * b.deny + ["expire"] * b.expire
        roles += ["connect"] * (b.users - len(roles) - b.duplicate)
        self.rng.shuffle(roles)
        # A duplicate approves with the login of someone connected before it: after the first connect.
        for _ in range(b.duplicate):
            roles.insert(self.rng.randint(roles.index("connect") + 1, len(roles)), "duplicate")
        return roles

    def people_phase(self, b: Behaviours | None = None) -> None:
        """`b.users` more people (default: the scenario's), each doing their part in turn."""
        b = b or self.scenario.behaviours
        roles = self._roles(b)
        returning = set(self.rng.sample(range(len(roles)), b.returning))
        replay_left, disconnect_left = b.replay, b.disconnect
        expired: list[tuple[Person, float, str]] = []
        tag = secrets.token_hex(3)
        for index, role in enumerate(roles):
            number = len(self.people) + 1
            person = Person(number, f"user{number}-{tag}@example.com", f"bc-{number}-{tag}@example.test")
            self.people.append(person)
            password = secrets.token_urlsafe(12)
            self.services.handed_out.add(password)
            self.sign_up(person, password)
            if index in returning:
                self.sign_out_and_in(person, password)
            if self.rng.random() < 0.5:
                self.status(person)
            taken = [p for p in self.people if p.user_id in self.truth.connected]
            if role == "duplicate" and taken:
                person.launchpad_email = self.rng.choice(taken).launchpad_email
            decision = {"abandon": None, "deny": "deny"}.get(role, "approve")
            started, url = self.start_flow(person, decision)
            if role == "expire":
                expired.append((person, started, url))
                continue
            if url:
                outcome = self.callback(person, url, started)
                person.callback_url = url if outcome == SUCCESS else ""
            for _ in range(self.rng.randint(1, 3)):
                self.status(person)
            self.projects_page(person)
            if person.callback_url and replay_left and role == "connect":
                replay_left -= 1
                self.callback(person, person.callback_url)
            elif person.callback_url and disconnect_left and role == "connect":
                disconnect_left -= 1
                self.disconnect(person)
                self.status(person)
        for person, started, url in expired:
            time.sleep(max(0.0, started + FLOW_TTL_S + 0.5 - time.perf_counter()))
            self.callback(person, url)

    def refresh_phase(self, passes: int | None = None) -> None:
        for _ in range(self.scenario.behaviours.refresh_passes if passes is None else passes):
            before = Counter(self.services.counts()["token"])
            due = self.truth.live  # an expired connection is never refreshed again
            summary = self.services.refresh_due(REFRESH_MARGIN)
            answers = Counter(self.services.counts()["token"])
            answers.subtract(before)
            self.truth.refresh_passes.append(RefreshPass(due, +answers, summary))
            self.truth.snapshots += 1

    def last_phase(self) -> None:
        for person in self.people:
            if person.user_id not in self.truth.ever_connected:
                continue
            payload = self.status(person)
            self.truth.status_states[payload["state"]] += 1
            self.truth.consecutive_failures[person.user_id] = payload["consecutive_failures"]
            self.projects_page(person)
        self.services.cli("health-snapshot")
        self.truth.snapshots += 1
        self.truth.last_snapshot_at = time.time()

    def run(self) -> Truth:
        self.people_phase()
        self.refresh_phase()
        self.last_phase()
        self.truth.sim_counts = self.services.counts()
        return self.truth
