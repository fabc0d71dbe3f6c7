// Unit tests of lib/utils.libsonnet. `jsonnet tests/utils_test.jsonnet` prints the number of
// cases, or fails naming every case whose result differs (scripts/check_mixin.py runs it).
local utils = import '../lib/utils.libsonnet';
local sel = 'job="x"';

local cases = {
  'a bare series gets braces': [
    utils.addSelector('aws_iam_users', sel),
    'aws_iam_users{job="x"}',
  ],
  'matchers follow the selector': [
    utils.addSelector('max by (account_id) (aws_iam_users{account_id=~"$account_id"})', sel),
    'max by (account_id) (aws_iam_users{job="x", account_id=~"$account_id"})',
  ],
  'empty braces take the selector alone': [
    utils.addSelector('rate(aws_iam_exporter_aws_errors_total{}[5m])', sel),
    'rate(aws_iam_exporter_aws_errors_total{job="x"}[5m])',
  ],
  'a space before the brace is kept': [
    utils.addSelector('aws_iam_users {a="b"}', sel),
    'aws_iam_users {job="x", a="b"}',
  ],
  'every series of an expression, range selectors too': [
    utils.addSelector('time() - aws_iam_a[5m] or on (account_id) aws_iam_b == 1', sel),
    'time() - aws_iam_a{job="x"}[5m] or on (account_id) aws_iam_b{job="x"} == 1',
  ],
  'a recording rule name is not a series of ours': [
    utils.addSelector('account_id:aws_iam_control_failing:sum > 0', sel),
    'account_id:aws_iam_control_failing:sum > 0',
  ],
  'names inside string literals are left alone': [
    utils.addSelector('label_replace(aws_iam_users, "x", "aws_iam_in_a_string", "", "")', sel),
    'label_replace(aws_iam_users{job="x"}, "x", "aws_iam_in_a_string", "", "")',
  ],
  'an escaped quote does not end a string': [
    utils.addSelector('label_replace(aws_iam_users, "x", "a\\"aws_iam_y", "", "")', sel),
    'label_replace(aws_iam_users{job="x"}, "x", "a\\"aws_iam_y", "", "")',
  ],
  "a Grafana label_values() query's metric": [
    utils.addSelector('label_values(aws_iam_control_info{standard="$standard"}, version)', sel),
    'label_values(aws_iam_control_info{job="x", standard="$standard"}, version)',
  ],
  'other metrics are left alone': [
    utils.addSelector('up{job=~"$job"} * on (instance) group_left () aws_iam_exporter_build_info', sel),
    'up{job=~"$job"} * on (instance) group_left () aws_iam_exporter_build_info{job="x"}',
  ],
  'an empty selector changes nothing': [
    utils.addSelector('aws_iam_users{a="b"} + aws_iam_x', ''),
    'aws_iam_users{a="b"} + aws_iam_x',
  ],
  'fold joins the lines of a text block like YAML >-': [
    utils.fold('one\ntwo three\n'),
    'one two three',
  ],
};

local failed = [
  { case: name, got: cases[name][0], want: cases[name][1] }
  for name in std.objectFields(cases)
  if cases[name][0] != cases[name][1]
];
assert failed == [] : 'utils_test: ' + std.manifestJson(failed);
'%d cases passed' % std.length(cases)
