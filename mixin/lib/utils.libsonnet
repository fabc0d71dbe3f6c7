// Helpers shared by the alerts, the recording rules and the dashboards of the mixin.
//
// NB: jsonnet 0.18's std.split and std.strReplace are native, std.findSubstr is not (it takes
// seconds on a dashboard): the selector is inserted with the former and short scans only.

// Identifier characters of PromQL (metric, label and recording rule names).
local isIdent(c) =
  local cp = std.codepoint(c);
  (cp >= 97 && cp <= 122) || (cp >= 65 && cp <= 90) || (cp >= 48 && cp <= 57) || cp == 95 || cp == 58;
local isSpace(c) = c == ' ' || c == '\n' || c == '\t';

// The index of the first character of `s` from `i` on that does not satisfy `pred`.
local span(s, i, pred) = if i < std.length(s) && pred(s[i]) then span(s, i + 1, pred) else i;

// `text` (PromQL outside string literals) with `selector` added to every aws_iam_* series.
local selectOutsideStrings(text, selector) =
  local pieces = std.split(std.strReplace(text, 'aws_iam_', '\u0001aws_iam_'), '\u0001');
  std.join('', [pieces[0]] + [
    local prev = pieces[k - 1];
    local piece = pieces[k];
    local nameEnd = span(piece, 0, isIdent);
    local name = std.substr(piece, 0, nameEnd);
    local rest = std.substr(piece, nameEnd, std.length(piece) - nameEnd);
    local brace = span(rest, 0, isSpace);
    local inner = span(rest, brace + 1, isSpace);
    // Not ours: the tail of a longer name (account_id:aws_iam_control_failing:sum), or a
    // name with a colon (a recording rule).
    local series = (prev == '' || !isIdent(prev[std.length(prev) - 1])) && std.length(std.split(name, ':')) == 1;
    if !series then piece
    else if brace < std.length(rest) && rest[brace] == '{' then
      name + std.substr(rest, 0, brace + 1) + selector
      + (if inner < std.length(rest) && rest[inner] == '}' then '' else ', ')
      + std.substr(rest, brace + 1, std.length(rest) - brace - 1)
    else name + '{' + selector + '}' + rest
    for k in std.range(1, std.length(pieces) - 1)
  ]);

{
  // The lines of a text block joined by single spaces, without the final newline: what YAML's
  // folded style (`>-`) makes of the same lines. For descriptions written as ||| blocks.
  fold(text):: std.join(' ', std.split(std.rstripChars(text, '\n'), '\n')),

  // `expr` with the label matchers `selector` added to every aws_iam_* series selector:
  //   aws_iam_users{account_id="1"}  ->  aws_iam_users{job="x", account_id="1"}
  //   aws_iam_users                  ->  aws_iam_users{job="x"}
  // Left alone: a name inside a string literal, or inside a longer name such as the recording
  // rule account_id:aws_iam_control_failing:sum. An empty selector leaves `expr` unchanged.
  addSelector(expr, selector)::
    if selector == '' then expr
    else
      // Split at the quotes of "..." literals (an escaped \" set aside): the even pieces are
      // PromQL, the odd ones the strings' contents. '...' and `...` literals are not told
      // apart (no query of the mixin has one).
      local escaped = '\u0002';
      local parts = std.split(std.strReplace(expr, '\\"', escaped), '"');
      local selected = [
        if i % 2 == 0 then selectOutsideStrings(parts[i], selector) else parts[i]
        for i in std.range(0, std.length(parts) - 1)
      ];
      std.strReplace(std.join('"', selected), escaped, '\\"'),

  // A rule group with `selector` added to the expression of every rule (hidden fields kept).
  selectGroup(group, selector):: group {
    rules: [rule { expr: $.addSelector(super.expr, selector) } for rule in super.rules],
  },

  // An alert named `name`, its severity and `for:` taken from config.alerts[name]. The rule
  // extending it sets `expr` and three hidden fields that become its annotations: `summary`
  // (one line), `description` (a ||| block, folded into one line as YAML's >- does) and
  // `runbook` (the numbered steps; the line naming the long form in docs/runbooks.md is
  // added). A `comment` hidden field is printed above `expr` in the shipped rule file.
  alert(config, name)::
    local settings = std.get(
      config.alerts,
      name,
      error 'config.libsonnet: _config.alerts has no entry for %s: add its severity and for' % name
    );
    local anchor = std.asciiLower(name);
    {
      local rule = self,
      alert: name,
      'for': settings['for'],
      labels: { severity: settings.severity },
      annotations: {
        summary: rule.summary,
        description: $.fold(rule.description),
        runbook: std.rstripChars(rule.runbook, '\n')
                 + '\nLong form: docs/runbooks.md#%s in the aws-iam-exporter repository.' % anchor,
      } + (
        if config.runbookUrlPattern == '' then {}
        else { runbook_url: config.runbookUrlPattern % anchor }
      ),
    },
}
