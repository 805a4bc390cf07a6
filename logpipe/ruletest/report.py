"""Failure messages worded and laid out exactly as promtool's `test rules` prints them."""
from logpipe.ruletest.gofmt import duration_str, go_duration_str, labels_str, quote, sample_value

Sample = tuple[dict[str, str], float]
LabeledAlert = tuple[dict[str, str], dict[str, str]]


def _indent(text: str, indent: str) -> str:
    """promtool's indentLines: prefix every line but the first."""
    return ("\n" + indent).join(text.split("\n"))


def _alerts(alerts: list[LabeledAlert]) -> str:
    if not alerts:
        return "[]"
    items = [f"{i}:" + _indent(f"\nLabels:{labels_str(labels)}\nAnnotations:{labels_str(annotations)}", "  ")
             for i, (labels, annotations) in enumerate(alerts)]
    return "[\n" + ",\n".join(items) + "\n]"


def _samples(samples: list[Sample]) -> str:
    if not samples:
        return "nil"
    return ", ".join(f"{labels_str(labels)} {sample_value(value)}" for labels, value in samples)


def alert_failure(group_name: str, alertname: str, eval_ns: int,
                  exp: list[LabeledAlert], got: list[LabeledAlert]) -> str:
    """An alert_rule_test whose firing alerts differ from the expected ones."""
    name = f"    name: {group_name},\n" if group_name else ""
    return (f"{name}    alertname: {alertname}, time: {duration_str(eval_ns)}, \n"
            f"        exp:{_indent(_alerts(exp), ' ' * 12)}, \n"
            f"        got:{_indent(_alerts(got), ' ' * 12)}")


def expr_failure(expr: str, eval_ns: int, exp: list[Sample], got: list[Sample]) -> str:
    """A logql_expr_test whose samples differ from the expected ones."""
    return (f"    expr: {quote(expr)}, time: {duration_str(eval_ns)},\n"
            f"        exp: {_samples(exp)}\n"
            f"        got: {_samples(got)}")


def expr_error(expr: str, eval_ns: int, error: str) -> str:
    """A logql_expr_test whose query failed."""
    return f"    expr: {quote(expr)}, time: {duration_str(eval_ns)}, err: {error}"


def eval_failure(rule_name: str, ts_ns: int, error: str) -> str:
    """A rule whose evaluation failed (promtool stops the test group there)."""
    return f"    rule: {rule_name}, time: {go_duration_str(ts_ns)}, err: {error}"
