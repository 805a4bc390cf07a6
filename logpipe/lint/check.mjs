// Parses LogQL expressions with Grafana's own grammar (@grafana/lezer-logql).
// stdin: a JSON array of strings. stdout: a JSON array, one verdict per expression:
// {"ok": true} or {"ok": false, "offset": N, "line": L, "col": C, "near": "..."} for the first error node.
import { parser } from '@grafana/lezer-logql';

function position(text, offset) {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1].length + 1 };
}

function check(expr) {
  let first = null;
  parser.parse(expr).iterate({
    enter(node) {
      if (first === null && node.type.isError) first = node.from;
      return first === null;
    },
  });
  if (first === null) return { ok: true };
  return { ok: false, offset: first, ...position(expr, first), near: expr.slice(first, first + 20) };
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const exprs = JSON.parse(Buffer.concat(chunks).toString('utf8'));
if (!Array.isArray(exprs) || exprs.some((e) => typeof e !== 'string')) {
  process.stderr.write('check.mjs: stdin must be a JSON array of strings\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify(exprs.map(check)) + '\n');
