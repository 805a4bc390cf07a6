"""Recursive-descent parser for the LogQL subset this engine evaluates (see package docstring)."""
from __future__ import annotations

import re

from logpipe.logql import ast
from logpipe.logql.errors import LogQLSyntaxError, UnsupportedLogQL
from logpipe.logql.lexer import Token, tokenize
from logpipe.logql.template import parse_template

RANGE_OPS = {"count_over_time", "rate", "bytes_over_time", "bytes_rate", "sum_over_time", "avg_over_time",
             "min_over_time", "max_over_time", "first_over_time", "last_over_time", "stdvar_over_time",
             "stddev_over_time", "quantile_over_time", "absent_over_time"}
UNWRAP_OPS = {"sum_over_time", "avg_over_time", "min_over_time", "max_over_time", "first_over_time",
              "last_over_time", "stdvar_over_time", "stddev_over_time", "quantile_over_time", "rate",
              "absent_over_time"}
LINE_OPS = {"count_over_time", "rate", "bytes_over_time", "bytes_rate", "absent_over_time"}
GROUPABLE_RANGE_OPS = {"avg_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time",
                       "max_over_time", "min_over_time", "first_over_time", "last_over_time"}
VECTOR_OPS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc"}
UNSUPPORTED_FUNCS = {"rate_counter", "approx_topk", "count_values", "quantile", "group", "label_join",
                     "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "histogram_quantile",
                     "label_values", "scalar", "absent", "sqrt", "exp", "ln", "timestamp"}
UNSUPPORTED_STAGES = {"regexp", "pattern", "unpack", "decolorize", "distinct", "xml", "ip"}
PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, ">": 3, ">=": 3, "<": 3, "<=": 3,
              "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6}
COMPARISONS = {"==", "!=", ">", ">=", "<", "<="}
SET_OPS = {"and", "or", "unless"}
FILTER_OPS = {"=", "!=", "=~", "!~", "==", ">", ">=", "<", "<="}
KEYWORDS_AFTER_STAGE = ("and", "or", "unless", "offset", "by", "without")
_LOOKAROUND = re.compile(r"\(\?<?[=!]|\\[1-9]")


def compile_regex(pattern: str, pos: int, query: str, anchored: bool = True) -> re.Pattern:
    """Compile a RE2-style regex; label matchers are fully anchored and dot-all, as Prometheus does."""
    if _LOOKAROUND.search(pattern):
        raise LogQLSyntaxError(f"error parsing regexp: invalid or unsupported Perl syntax in {pattern!r}", pos, query)
    try:
        return re.compile(f"(?s:{pattern})" if anchored else pattern)
    except re.error as err:
        raise LogQLSyntaxError(f"error parsing regexp: {err}", pos, query) from None


class Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def error(self, message: str, tok: Token | None = None) -> LogQLSyntaxError:
        tok = tok or self.peek()
        return LogQLSyntaxError(message, tok.pos, self.query)

    def unexpected(self, expecting: str) -> LogQLSyntaxError:
        tok = self.peek()
        if tok.kind == "EOF":
            what = "end of input"
        elif tok.kind in ("IDENT", "STRING", "NUMBER", "DURATION", "BYTES"):
            what = f"{tok.kind} {tok.text}"
        else:
            what = repr(tok.text)
        return self.error(f"syntax error: unexpected {what}, expecting {expecting}")

    def expect(self, kind: str, expecting: str | None = None) -> Token:
        if self.peek().kind != kind:
            raise self.unexpected(expecting or repr(kind))
        return self.advance()

    def is_ident(self, *names: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "IDENT" and tok.value in names

    # -- expressions ---------------------------------------------------------------------------
    def parse(self) -> ast.Expr:
        if self.peek().kind == "EOF":
            raise self.error("syntax error: unexpected end of input")
        expr = self.parse_expr(1)
        if self.peek().kind != "EOF":
            raise self.unexpected("end of input")
        return expr

    def binop_at(self) -> str | None:
        tok = self.peek()
        if tok.kind in PRECEDENCE and tok.kind not in SET_OPS:
            return tok.kind
        if tok.kind == "IDENT" and tok.value in SET_OPS:
            return tok.value
        return None

    def parse_expr(self, min_prec: int) -> ast.Expr:
        lhs = self.parse_unary()
        while True:
            op = self.binop_at()
            if op is None or PRECEDENCE[op] < min_prec:
                return lhs
            op_tok = self.advance()
            return_bool, matching = self.parse_binop_modifiers(op)
            rhs = self.parse_expr(PRECEDENCE[op] + (0 if op == "^" else 1))
            lhs = self.make_binop(op, lhs, rhs, return_bool, matching, op_tok)

    def parse_binop_modifiers(self, op: str) -> tuple[bool, ast.VectorMatching]:
        return_bool = False
        if self.is_ident("bool"):
            if op not in COMPARISONS:
                raise self.error("bool modifier can only be used on comparison operators")
            self.advance()
            return_bool = True
        card = "many-to-many" if op in SET_OPS else "one-to-one"
        on, labels, include = False, (), ()
        if self.is_ident("on", "ignoring"):
            on = self.advance().value == "on"
            labels = self.parse_label_list()
            if self.is_ident("group_left", "group_right"):
                if op in SET_OPS:
                    raise self.error(f"no grouping allowed for \"{op}\" operation")
                card = "many-to-one" if self.advance().value == "group_left" else "one-to-many"
                if self.peek().kind == "(":
                    include = self.parse_label_list()
        elif self.is_ident("group_left", "group_right"):
            raise self.unexpected("on or ignoring before group_left/group_right")
        return return_bool, ast.VectorMatching(card, on, labels, include)

    def make_binop(self, op: str, lhs, rhs, return_bool: bool, matching, tok: Token):
        for side in (lhs, rhs):
            if isinstance(side, ast.LogExpr):
                raise self.error(f"unexpected log query in binary operation {op!r}: "
                                 "only metric queries can be combined", tok)
        scalars = isinstance(lhs, ast.Literal) and isinstance(rhs, ast.Literal)
        if op in SET_OPS and (isinstance(lhs, ast.Literal) or isinstance(rhs, ast.Literal)):
            raise self.error(f"set operator \"{op}\" not allowed in binary scalar expression", tok)
        if scalars:
            if op in COMPARISONS and not return_bool:
                raise self.error("comparisons between scalars must use BOOL modifier", tok)
            from logpipe.logql.vector_ops import scalar_binop
            return ast.Literal(scalar_binop(op, lhs.value, rhs.value))
        return ast.BinOp(op, lhs, rhs, return_bool, matching)

    def parse_unary(self) -> ast.Expr:
        tok = self.peek()
        if tok.kind in ("-", "+"):
            self.advance()
            num = self.expect("NUMBER", "NUMBER")
            return ast.Literal(-num.value if tok.kind == "-" else num.value)
        return self.parse_primary()

    def parse_primary(self) -> ast.Expr:
        tok = self.peek()
        if tok.kind == "NUMBER":
            self.advance()
            return ast.Literal(tok.value)
        if tok.kind == "(":
            self.advance()
            inner = self.parse_expr(1)
            self.expect(")", "')'")
            return inner
        if tok.kind == "{":
            return self.parse_log_expr()
        if tok.kind == "IDENT":
            name = tok.value
            if name in RANGE_OPS:
                return self.parse_range_agg()
            if name in VECTOR_OPS:
                return self.parse_vector_agg()
            if name == "vector":
                self.advance()
                self.expect("(", "'('")
                value = self.parse_unary()
                if not isinstance(value, ast.Literal):
                    raise self.error("vector() takes a number")
                self.expect(")", "')'")
                return ast.VectorLit(value.value)
            if name == "label_replace":
                return self.parse_label_replace()
            if name in UNSUPPORTED_FUNCS or self.peek(1).kind == "(":
                raise UnsupportedLogQL(f"function {name}()")
        raise self.unexpected("a stream selector, a metric query or a number")

    # -- metric functions ----------------------------------------------------------------------
    def parse_grouping(self) -> ast.Grouping | None:
        if not self.is_ident("by", "without"):
            return None
        without = self.advance().value == "without"
        return ast.Grouping(self.parse_label_list(), without)

    def parse_label_list(self) -> tuple[str, ...]:
        self.expect("(", "'('")
        labels: list[str] = []
        while self.peek().kind != ")":
            labels.append(self.expect("IDENT", "label name").value)
            if self.peek().kind == ",":
                self.advance()
            elif self.peek().kind != ")":
                raise self.unexpected("',' or ')'")
        self.advance()
        return tuple(labels)

    def parse_range_agg(self) -> ast.RangeAgg:
        op_tok = self.advance()
        op = op_tok.value
        self.expect("(", "'('")
        param = None
        if self.peek().kind == "NUMBER" or (self.peek().kind == "-" and self.peek(1).kind == "NUMBER"):
            param = self.parse_unary().value
            self.expect(",", "','")
            if op != "quantile_over_time":
                raise self.error(f"parameter {param:g} not supported for operation {op}", op_tok)
        elif op == "quantile_over_time":
            raise self.error(f"parameter required for operation {op}", op_tok)
        log_range = self.parse_log_range()
        self.expect(")", "')'")
        grouping = self.parse_grouping()
        if grouping is not None and op not in GROUPABLE_RANGE_OPS:
            raise self.error(f"grouping not allowed for {op} aggregation", op_tok)
        if log_range.unwrap is not None and op not in UNWRAP_OPS:
            raise self.error(f"invalid aggregation {op} with unwrap", op_tok)
        if log_range.unwrap is None and op not in LINE_OPS:
            raise self.error(f"invalid aggregation {op} without unwrap", op_tok)
        return ast.RangeAgg(op, log_range, param, grouping)

    def parse_vector_agg(self) -> ast.VectorAgg:
        op_tok = self.advance()
        op = op_tok.value
        grouping = self.parse_grouping()
        self.expect("(", "'('")
        param = None
        if op in ("topk", "bottomk"):
            k = self.parse_unary()
            if not isinstance(k, ast.Literal) or k.value != int(k.value) or k.value < 1:
                raise self.error(f"invalid parameter for {op}: must be a positive integer", op_tok)
            param = k.value
            self.expect(",", "','")
        inner = self.parse_expr(1)
        if isinstance(inner, (ast.LogExpr, ast.Literal)):
            what = "log query" if isinstance(inner, ast.LogExpr) else "number"
            raise self.error(f"syntax error: {op} needs a metric query, not a {what}", op_tok)
        self.expect(")", "')'")
        after = self.parse_grouping()
        if grouping and after:
            raise self.error("syntax error: grouping given twice", op_tok)
        grouping = grouping or after
        if op in ("sort", "sort_desc") and grouping is not None:
            raise self.error(f"grouping not allowed for {op} aggregation", op_tok)
        return ast.VectorAgg(op, inner, grouping, param)

    def parse_label_replace(self) -> ast.LabelReplace:
        self.advance()
        self.expect("(", "'('")
        inner = self.parse_expr(1)
        if isinstance(inner, (ast.LogExpr, ast.Literal)):
            raise self.error("label_replace needs a metric query")
        args = []
        for _ in range(4):
            self.expect(",", "','")
            args.append(self.expect("STRING", "STRING"))
        self.expect(")", "')'")
        dst, repl, src, regex = (a.value for a in args)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", dst):
            raise self.error(f"invalid destination label name in label_replace(): {dst}", args[0])
        return ast.LabelReplace(inner, dst, repl, src, compile_regex(regex, args[3].pos, self.query))

    # -- log queries ---------------------------------------------------------------------------
    def parse_log_range(self) -> ast.LogRange:
        if self.peek().kind == "(":
            self.advance()
            log, unwrap = self.parse_log_expr(allow_unwrap=True)
            self.expect(")", "')'")
            range_ns, offset_ns = self.parse_range()
            return ast.LogRange(log, range_ns, offset_ns, unwrap)
        matchers = self.parse_selector()
        early = None
        if self.peek().kind == "[":
            early = self.parse_range()
        stages, unwrap = self.parse_stages(allow_unwrap=True)
        range_ns, offset_ns = early if early else self.parse_range()
        return ast.LogRange(ast.LogExpr(matchers, stages), range_ns, offset_ns, unwrap)

    def parse_range(self) -> tuple[int, int]:
        self.expect("[", "range [duration]")
        dur = self.expect("DURATION", "a duration")
        if self.peek().kind == ":":
            raise UnsupportedLogQL("subqueries")
        self.expect("]", "']'")
        if dur.value <= 0:
            raise self.error("syntax error: range must be positive", dur)
        offset = 0
        if self.is_ident("offset"):
            self.advance()
            sign = -1 if self.peek().kind == "-" and self.advance() else 1
            offset = sign * self.expect("DURATION", "a duration").value
        return dur.value, offset

    def parse_log_expr(self, allow_unwrap: bool = False):
        matchers = self.parse_selector()
        stages, unwrap = self.parse_stages(allow_unwrap)
        log = ast.LogExpr(matchers, stages)
        return (log, unwrap) if allow_unwrap else log

    def parse_selector(self) -> tuple[ast.Matcher, ...]:
        open_tok = self.expect("{", "'{'")
        matchers = []
        while self.peek().kind != "}":
            matchers.append(self.parse_matcher())
            if self.peek().kind == ",":
                self.advance()
            elif self.peek().kind != "}":
                raise self.unexpected("',' or '}'")
        self.advance()
        if not any(not m.matches("") for m in matchers):
            raise self.error(
                'queries require at least one regexp or equality matcher that does not have an empty-compatible '
                'value. For instance, app=~".*" does not meet this requirement, but app=~".+" will', open_tok)
        return tuple(matchers)

    def parse_matcher(self) -> ast.Matcher:
        name = self.expect("IDENT", "label name")
        op = self.peek()
        if op.kind not in ("=", "!=", "=~", "!~"):
            raise self.unexpected("=, !=, =~ or !~")
        self.advance()
        value = self.expect("STRING", "STRING")
        regex = compile_regex(value.value, value.pos, self.query) if op.kind in ("=~", "!~") else None
        return ast.Matcher(name.value, op.kind, value.value, regex)

    def parse_stages(self, allow_unwrap: bool) -> tuple[tuple, ast.Unwrap | None]:
        stages: list = []
        while True:
            tok = self.peek()
            if tok.kind in ("|=", "!=", "|~", "!~"):
                stages.append(self.parse_line_filter())
            elif tok.kind in ("|>", "!>"):
                raise UnsupportedLogQL(f"pattern line filter {tok.kind}")
            elif tok.kind == "|":
                nxt = self.peek(1)
                if nxt.kind == "IDENT" and nxt.value == "unwrap":
                    if not allow_unwrap:
                        raise self.error("syntax error: unwrap is only allowed in a range aggregation", nxt)
                    return tuple(stages), self.parse_unwrap()
                stages.append(self.parse_stage())
            else:
                return tuple(stages), None

    def parse_line_filter(self) -> ast.LineFilter:
        op = self.advance()
        if self.is_ident("ip") and self.peek(1).kind == "(":
            raise UnsupportedLogQL("ip() line filter")
        value = self.expect("STRING", "STRING")
        if self.is_ident("or") and self.peek(1).kind == "STRING":
            raise UnsupportedLogQL("line filter alternatives with `or`")
        regex = compile_regex(value.value, value.pos, self.query, anchored=False) if op.kind in ("|~", "!~") else None
        return ast.LineFilter(op.kind, value.value, regex)

    def parse_stage(self):
        self.advance()  # |
        tok = self.peek()
        if tok.kind == "(":
            return ast.LabelFilterStage(self.parse_lf_or())
        if tok.kind != "IDENT":
            raise self.unexpected("a parser, a formatter or a label filter")
        name = tok.value
        nxt = self.peek(1)
        is_filter = nxt.kind in FILTER_OPS or (name == "ip" and nxt.kind == "(")
        if name == "json" and not is_filter:
            self.advance()
            return ast.JsonStage(self.parse_json_exprs())
        if name == "logfmt" and not is_filter:
            self.advance()
            if self.peek().kind == "-" or (self.peek().kind == "IDENT" and not self.is_ident(*KEYWORDS_AFTER_STAGE)):
                raise UnsupportedLogQL("logfmt flags or extraction expressions")
            return ast.LogfmtStage()
        if name in UNSUPPORTED_STAGES and not is_filter:
            raise UnsupportedLogQL(f"{name} stage")
        if name == "line_format" and not is_filter:
            self.advance()
            tmpl = self.expect("STRING", "STRING")
            return ast.LineFormat(parse_template(tmpl.value, tmpl.pos, self.query))
        if name == "label_format" and not is_filter:
            self.advance()
            return self.parse_label_format()
        if name in ("drop", "keep") and not is_filter:
            self.advance()
            return self.parse_drop_keep(name == "keep")
        if is_filter:
            return ast.LabelFilterStage(self.parse_lf_or())
        raise self.unexpected("a parser, a formatter or a label filter")

    def parse_json_exprs(self) -> tuple:
        exprs = []
        while self.peek().kind == "IDENT" and self.peek(1).kind in ("=", ",", "|", ")", "[", "EOF"):
            if self.is_ident("offset", "by", "without", "and", "or", "unless"):
                break
            label = self.advance()
            if self.peek().kind == "=":
                self.advance()
                path_tok = self.expect("STRING", "STRING")
                path = parse_json_path(path_tok.value, path_tok, self)
            else:
                path = (label.value,)
            exprs.append((label.value, path))
            if self.peek().kind != ",":
                break
            self.advance()
        return tuple(exprs)

    def parse_label_format(self) -> ast.LabelFormat:
        items, seen = [], set()
        while True:
            dst = self.expect("IDENT", "label name")
            self.expect("=", "'='")
            if dst.value in seen:
                raise self.error(f"multiple label name '{dst.value}' in format", dst)
            seen.add(dst.value)
            src = self.peek()
            if src.kind == "IDENT":
                self.advance()
                items.append((dst.value, src.value))
            else:
                tmpl = self.expect("STRING", "label name or template STRING")
                items.append((dst.value, parse_template(tmpl.value, tmpl.pos, self.query)))
            if self.peek().kind != ",":
                return ast.LabelFormat(tuple(items))
            self.advance()

    def parse_drop_keep(self, keep: bool) -> ast.DropKeep:
        items = []
        while True:
            name = self.expect("IDENT", "label name")
            matcher = None
            if self.peek().kind in ("=", "!=", "=~", "!~"):
                self.i -= 1
                matcher = self.parse_matcher()
            items.append((name.value, matcher))
            if self.peek().kind != ",":
                return ast.DropKeep(keep, tuple(items))
            self.advance()

    def parse_unwrap(self) -> ast.Unwrap:
        self.advance()  # |
        self.advance()  # unwrap
        conversion = ""
        if self.is_ident("duration", "duration_seconds", "bytes") and self.peek(1).kind == "(":
            conversion = self.advance().value
            self.advance()
            label = self.expect("IDENT", "label name").value
            self.expect(")", "')'")
        else:
            label = self.expect("IDENT", "label name").value
        post = []
        while self.peek().kind == "|":
            if self.peek(1).kind != "IDENT" and self.peek(1).kind != "(":
                break
            self.advance()
            post.append(ast.LabelFilterStage(self.parse_lf_or()))
        return ast.Unwrap(label, "duration" if conversion == "duration_seconds" else conversion, tuple(post))

    # -- label filters -------------------------------------------------------------------------
    def parse_lf_or(self):
        left = self.parse_lf_and()
        while self.is_ident("or") and self.starts_label_filter(1):
            self.advance()
            left = ast.LabelFilterBinary(left, self.parse_lf_and(), False)
        return left

    def parse_lf_and(self):
        left = self.parse_lf_atom()
        while (self.is_ident("and") or self.peek().kind == ",") and self.starts_label_filter(1):
            self.advance()
            left = ast.LabelFilterBinary(left, self.parse_lf_atom(), True)
        return left

    def starts_label_filter(self, ahead: int) -> bool:
        tok, nxt = self.peek(ahead), self.peek(ahead + 1)
        return tok.kind == "(" or (tok.kind == "IDENT" and (nxt.kind in FILTER_OPS or nxt.kind == "("))

    def parse_lf_atom(self):
        if self.peek().kind == "(":
            self.advance()
            inner = self.parse_lf_or()
            self.expect(")", "')'")
            return inner
        name = self.expect("IDENT", "label name")
        op = self.peek()
        if op.kind == "(" and name.value == "ip":
            raise UnsupportedLogQL("ip() label filter")
        if op.kind in ("=~", "!~") or (op.kind in ("=", "!=") and self.peek(1).kind == "STRING"):
            self.i -= 1
            return ast.LabelFilter("match", name.value, op.kind, None, self.parse_matcher())
        if op.kind not in ("=", "==", "!=", ">", ">=", "<", "<="):
            raise self.unexpected("a label filter operator")
        self.advance()
        sign = 1
        if self.peek().kind == "-":
            self.advance()
            sign = -1
        value = self.peek()
        kinds = {"NUMBER": "number", "DURATION": "duration", "BYTES": "bytes"}
        if value.kind not in kinds:
            raise self.unexpected("STRING, NUMBER, DURATION or BYTES")
        self.advance()
        return ast.LabelFilter(kinds[value.kind], name.value, "==" if op.kind == "=" else op.kind, sign * value.value)


def parse_json_path(path: str, tok: Token, parser: Parser) -> tuple:
    """Loki's json expression paths: a.b, a[0], a["b c"], ["x"]."""
    parts: list = []
    i = 0
    pattern = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
    while i < len(path):
        m = pattern.match(path, i)
        if not m or m.end() == i:
            raise parser.error(f"cannot parse expression [{path}]: syntax error", tok)
        ident, index, quoted = m.groups()
        parts.append(ident if ident is not None else (int(index) if index is not None else quoted))
        i = m.end()
    if not parts:
        raise parser.error(f"cannot parse expression [{path}]: empty path", tok)
    return tuple(parts)


def parse(query: str) -> ast.Expr:
    """Parse a LogQL query; raises LogQLSyntaxError or UnsupportedLogQL."""
    return Parser(query).parse()
