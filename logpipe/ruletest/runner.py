"""Runs one test group: evaluates rule groups over the input lines and checks the expectations."""
import bisect
import math
from dataclasses import dataclass, field

from logpipe.logql import Entry, LogQLError, LogStore, QueryResult, instant_query, parse, range_query
from logpipe.ruletest.alerting import AlertingRule, EvalError, Vector
from logpipe.ruletest.errors import ConfigError
from logpipe.ruletest.labels import RECORD_REF, parse_selector
from logpipe.ruletest.report import alert_failure, eval_failure, expr_error, expr_failure
from logpipe.ruletest.rulefile import Group, Rule
from logpipe.ruletest.testfile import AlertTest, ExprTest, UnitTestGroup

EPSILON = 1e-9
_MIN_NORMAL = 2.2250738585072014e-308


@dataclass
class GroupResult:
    """The failures (promtool-formatted) of one test group and how many cases passed."""

    passed: int = 0
    failures: list[str] = field(default_factory=list)


def almost_equal(a: float, b: float) -> bool:
    """Equal within a relative tolerance of 1e-9 (NaN equals NaN), as promtool compares values."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    diff, abs_sum = abs(a - b), abs(a) + abs(b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < EPSILON * _MIN_NORMAL
    return diff / abs_sum < EPSILON


def _to_vector(result: QueryResult) -> Vector:
    if result.result_type == "scalar":
        return [({}, float(result.scalar))]
    if result.result_type == "vector":
        return [(dict(s.labels), float(s.value)) for s in result.samples]
    raise EvalError("query result is a log stream, not a vector or scalar")


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _record(rule: Rule, vector: Vector, limit: int) -> Vector:
    """Apply a recording rule's name and labels to its result (Prometheus RecordingRule.Eval)."""
    out: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], float]] = {}
    for metric, value in vector:
        labels = {**metric, "__name__": rule.name}
        for name, val in rule.labels.items():
            if val:
                labels[name] = val
            else:
                labels.pop(name, None)
        if _key(labels) in out:
            raise EvalError("vector contains metrics with the same labelset after applying rule labels")
        out[_key(labels)] = (labels, value)
    if limit and len(out) > limit:
        raise EvalError(f"exceeded limit {limit} with {len(out)} series")
    return list(out.values())


class GroupRun:
    """Evaluation state of all rule groups for one test group."""

    def __init__(self, test: UnitTestGroup, groups: list[Group], evaluation_interval_ns: int, where: str) -> None:
        self.test = test
        self.groups = groups
        self.default_interval = evaluation_interval_ns
        self.store = LogStore([Entry(line.ts_ns, line.line, line.labels) for line in test.lines])
        self.parsed = {id(r): parse(r.expr) for g in groups for r in g.rules}
        self.alerting = {id(r): AlertingRule(r, test.external_labels, test.external_url)
                         for g in groups for r in g.rules if r.kind == "alert"}
        # name -> rule id -> evaluations; several rules may record under one name (e.g. quantile variants)
        self.recorded: dict[str, dict[int, list[tuple[int, Vector]]]] = {}
        self.precomputed: dict[int, dict[int, Vector]] = {}
        known = {r.name for g in groups for r in g.rules if r.kind == "alert"}
        for case in test.alert_tests:
            if case.alertname not in known:
                raise ConfigError(f"{where}: alert_rule_test: no alerting rule named {case.alertname!r} in rule_files")

    def _interval(self, group: Group) -> int:
        return group.interval_ns or self.default_interval

    def _times(self, end_ns: int) -> list[int]:
        times: set[int] = set()
        for group in self.groups:
            times.update(range(0, end_ns + 1, self._interval(group)))
        return sorted(times or {0})

    def _precompute(self, end_ns: int) -> None:
        """Each rule's results at all its evaluation times from one range query (the engine's range
        query is the instant query at each step); a rule whose range query fails is left to instant
        queries, so that its error is reported at the evaluation where it happens."""
        for group in self.groups:
            step = self._interval(group)
            for rule in group.rules:
                try:
                    result = range_query(self.store, self.parsed[id(rule)], 0, end_ns - end_ns % step, step)
                except LogQLError:
                    continue
                by_ts: dict[int, Vector] = {}
                for series in result.series:
                    for ts, value in series.points:
                        by_ts.setdefault(ts, []).append((dict(series.labels), float(value)))
                self.precomputed[id(rule)] = by_ts

    def _vector(self, rule: Rule, ts: int) -> Vector:
        if id(rule) in self.precomputed:
            return self.precomputed[id(rule)].get(ts, [])
        return _to_vector(instant_query(self.store, self.parsed[id(rule)], ts))

    def _eval_group(self, group: Group, ts: int) -> list[str]:
        errors = []
        for rule in group.rules:
            try:
                vector = self._vector(rule, ts)
                if rule.kind == "alert":
                    self.alerting[id(rule)].eval(ts, vector, group.limit)
                else:
                    self.recorded.setdefault(rule.name, {}).setdefault(id(rule), []).append(
                        (ts, _record(rule, vector, group.limit)))
            except (LogQLError, EvalError) as exc:
                errors.append(eval_failure(rule.name, ts, str(exc)))
        return errors

    def _check_alerts(self, case: AlertTest) -> str | None:
        got = [(a.labels, a.annotations) for g in self.groups for r in g.rules
               if r.kind == "alert" and r.name == case.alertname
               for a in self.alerting[id(r)].firing()]
        order = lambda la: (_key(la[0]), _key(la[1]))  # noqa: E731 - promtool's sort order
        exp, got = sorted(case.exp_alerts, key=order), sorted(got, key=order)
        if exp == got:
            return None
        return alert_failure(self.test.name, case.alertname, case.eval_ns, exp, got)

    def _lookup(self, expr: str, ts: int) -> Vector | None:
        """The series a recording rule named in expr recorded at its last evaluation ≤ ts."""
        if not RECORD_REF.fullmatch(expr):
            return None
        try:
            name, matchers = parse_selector(expr)
        except ValueError as exc:
            raise EvalError(str(exc)) from None
        if name not in self.recorded:
            raise EvalError(f"{name} is not a recording rule in rule_files")
        series: Vector = []
        for history in self.recorded[name].values():
            at = bisect.bisect_right([t for t, _ in history], ts) - 1
            series.extend(history[at][1] if at >= 0 else [])
        return [(labels, v) for labels, v in series if all(m.matches(labels) for m in matchers)]

    def _check_expr(self, case: ExprTest) -> str | None:
        try:
            got = self._lookup(case.expr, case.eval_ns)
            if got is None:
                got = _to_vector(instant_query(self.store, case.expr, case.eval_ns))
        except (LogQLError, EvalError) as exc:
            return expr_error(case.expr, case.eval_ns, str(exc))
        exp = sorted(case.exp_samples, key=lambda s: _key(s[0]))
        got = sorted(got, key=lambda s: _key(s[0]))
        same = len(exp) == len(got) and all(
            e[0] == g[0] and almost_equal(e[1], g[1]) for e, g in zip(exp, got))
        return None if same else expr_failure(case.expr, case.eval_ns, exp, got)

    def run(self) -> GroupResult:
        """Evaluate up to the last eval_time, checking alerts as promtool does, then the expressions."""
        result = GroupResult()
        cases = sorted(self.test.alert_tests, key=lambda c: c.eval_ns)
        end = max([c.eval_ns for c in cases] + [c.eval_ns for c in self.test.expr_tests] + [0])
        times = self._times(end)
        self._precompute(end)
        for i, ts in enumerate(times):
            errors = [e for g in self.groups if ts % self._interval(g) == 0 for e in self._eval_group(g, ts)]
            if errors:
                result.failures.extend(errors)
                return result
            next_ts = times[i + 1] if i + 1 < len(times) else math.inf
            while cases and ts <= cases[0].eval_ns < next_ts:
                failure = self._check_alerts(cases.pop(0))
                self._tally(result, failure)
        for case in self.test.expr_tests:
            self._tally(result, self._check_expr(case))
        return result

    @staticmethod
    def _tally(result: GroupResult, failure: str | None) -> None:
        if failure is None:
            result.passed += 1
        else:
            result.failures.append(failure)
