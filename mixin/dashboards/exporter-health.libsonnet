// AWS IAM / Exporter health: targets, refreshes, AWS API errors and scrapes of the exporter
// itself.
// Each panel: g.<type>(id, title, description, w=, h=, queries=[g.q(expr, legend)], ...) in its
// row; ids are unique per dashboard and never reused (links name them); the layout places it.

local g = import '../lib/grafana.libsonnet';

function(config) g.dashboard(
  config,
  uid='aws-iam-exporter-health',
  title='AWS IAM / Exporter health',
  description='Health of aws-iam-exporter itself: scrapes, refreshes, credential report age, AWS API errors, build info.',
  from='now-24h',
  variables=[
    g.datasourceVariable(config),
    g.accountVariable,
    g.labelVariable('job', 'Job', 'label_values(aws_iam_exporter_build_info, job)'),
  ],
  rows=[
    g.row(1, 'Status', [
      g.stat(
        2,
        'Targets up',
        'Prometheus scrape status of the exporter targets (up). Alert: AwsIamExporterDown.',
        w=6,
        h=5,
        queries=[
          g.q('up{job=~"$job"}', '{{instance}}'),
        ],
        steps=g.steps('red', [[1, 'green']]),
        mappings=g.valueText([[1, 'UP', 'green'], [0, 'DOWN', 'red']]),
        textMode='value_and_name',
      ),
      g.stat(
        3,
        'Accounts watched',
        'aws_iam_exporter_accounts summed over the selected jobs.',
        w=3,
        h=5,
        queries=[
          g.q('sum(aws_iam_exporter_accounts{job=~"$job"})', 'accounts'),
        ],
        colorMode='none',
      ),
      g.stat(
        4,
        'Accounts failing refresh',
        'Accounts whose last refresh failed (aws_iam_exporter_refresh_success == 0). Alert: AwsIamExporterRefreshFailing (after 30m).',
        w=3,
        h=5,
        queries=[
          g.q('count(aws_iam_exporter_refresh_success{account_id=~"$account_id", job=~"$job"} == 0) or vector(0)'),
        ],
        steps=g.steps('green', [[1, 'red']]),
      ),
      g.stat(
        5,
        'Oldest credential report',
        'Age of the oldest credential report in use. AWS regenerates the report every 4h; orange over 4.5h, red over 6h (alert AwsIamCredentialReportStale).',
        w=4,
        h=5,
        queries=[
          g.q('max(time() - aws_iam_credential_report_generated_timestamp_seconds{account_id=~"$account_id", job=~"$job"})'),
        ],
        unit='s',
        steps=g.steps('green', [[16200, 'orange'], [21600, 'red']]),
        decimals=0,
      ),
      g.table(
        6,
        'Build info',
        'aws_iam_exporter_build_info: version and revision of each exporter instance.',
        w=8,
        h=5,
        queries=[
          g.q('max by (job, instance, version, revision) (aws_iam_exporter_build_info{job=~"$job"})'),
        ],
        transformations=[
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, Value: true },
              renameByName: {
                job: 'Job',
                instance: 'Instance',
                version: 'Version',
                revision: 'Revision',
              },
              indexByName: { job: 0, instance: 1, version: 2, revision: 3 },
            },
          },
        ],
      ),
      g.stat(
        7,
        'Refresh success',
        'aws_iam_exporter_refresh_success per account and exporter instance: FAIL when the last refresh failed.',
        w=12,
        h=6,
        queries=[
          g.q('min by (account_id, instance) (aws_iam_exporter_refresh_success{account_id=~"$account_id", job=~"$job"})', '{{account_id}} {{instance}}'),
        ],
        steps=g.steps('red', [[1, 'green']]),
        mappings=g.valueText([[1, 'OK', 'green'], [0, 'FAIL', 'red']]),
        textMode='value_and_name',
      ),
      g.stat(
        8,
        'Time since last successful refresh',
        'time() - aws_iam_exporter_last_refresh_success_timestamp_seconds. Orange over 30m, red over 1h.',
        w=12,
        h=6,
        queries=[
          g.q('time() - max by (account_id, instance) (aws_iam_exporter_last_refresh_success_timestamp_seconds{account_id=~"$account_id", job=~"$job"})', '{{account_id}} {{instance}}'),
        ],
        unit='s',
        steps=g.steps('green', [[1800, 'orange'], [3600, 'red']]),
        textMode='value_and_name',
        decimals=0,
      ),
    ]),
    g.row(9, 'Refreshes', [
      g.timeseries(
        10,
        'Refresh duration',
        'aws_iam_exporter_refresh_duration_seconds: duration of the last refresh (includes waiting for the credential report).',
        w=12,
        h=8,
        queries=[
          g.q('aws_iam_exporter_refresh_duration_seconds{account_id=~"$account_id", job=~"$job"}', '{{account_id}} {{instance}}'),
        ],
        unit='s',
        decimals=null,
      ),
      g.timeseries(
        11,
        'Credential report age',
        'time() - aws_iam_credential_report_generated_timestamp_seconds. Normally a 0-4h saw-tooth; the red line is the 6h alert threshold.',
        w=12,
        h=8,
        queries=[
          g.q('time() - aws_iam_credential_report_generated_timestamp_seconds{account_id=~"$account_id", job=~"$job"}', '{{account_id}} {{instance}}'),
        ],
        unit='s',
        steps=g.steps('transparent', [[21600, 'red']]),
        decimals=null,
        thresholdsStyle='line',
      ),
      g.timeseries(
        12,
        'Refreshes by result (per hour)',
        'increase(aws_iam_exporter_refreshes_total[1h]) by result (success / failure).',
        w=12,
        h=8,
        queries=[
          g.q('sum by (account_id, result) (increase(aws_iam_exporter_refreshes_total{account_id=~"$account_id", job=~"$job"}[1h]))', '{{account_id}} {{result}}'),
        ],
      ),
      g.timeseries(
        13,
        'Time since last successful refresh',
        'time() - aws_iam_exporter_last_refresh_success_timestamp_seconds. Should stay below the refresh interval.',
        w=12,
        h=8,
        queries=[
          g.q('time() - aws_iam_exporter_last_refresh_success_timestamp_seconds{account_id=~"$account_id", job=~"$job"}', '{{account_id}} {{instance}}'),
        ],
        unit='s',
        decimals=null,
      ),
    ]),
    g.row(30, 'Fast checks', [
      g.stat(
        31,
        'Fast check success',
        'aws_iam_exporter_fast_check_success per account and exporter instance: FAIL when a call of the last fast check (GetAccountSummary, the quarantine lookup; every --refresh.fast-interval) failed. The last good values stay served, but a root key or a quarantine may then wait for the next full refresh. No data without fast checks (offline, --refresh.fast-interval=0).',
        w=12,
        h=6,
        queries=[
          g.q('min by (account_id, instance) (aws_iam_exporter_fast_check_success{account_id=~"$account_id", job=~"$job"})', '{{account_id}} {{instance}}'),
        ],
        steps=g.steps('red', [[1, 'green']]),
        mappings=g.valueText([[1, 'OK', 'green'], [0, 'FAIL', 'red']]),
        textMode='value_and_name',
      ),
      g.timeseries(
        32,
        'Signals changed by fast checks (per hour)',
        'increase(aws_iam_exporter_fast_check_updates_total[1h]): fast checks that found the summary or the quarantine changed and republished the account between its refreshes.',
        w=12,
        h=6,
        queries=[
          g.q('sum by (account_id) (increase(aws_iam_exporter_fast_check_updates_total{account_id=~"$account_id", job=~"$job"}[1h]))', '{{account_id}}'),
        ],
      ),
    ]),
    g.row(14, 'AWS API errors', [
      g.timeseries(
        15,
        'AWS errors by code',
        'rate(aws_iam_exporter_aws_errors_total) by account, AWS operation and error code (AccessDenied, Throttling, timeout, dispatch, ...). See runbook AwsIamExporterRefreshFailing.',
        w=14,
        h=9,
        queries=[
          g.q('sum by (account_id, operation, code) (rate(aws_iam_exporter_aws_errors_total{account_id=~"$account_id", job=~"$job"}[$__rate_interval]))', '{{account_id}} {{operation}} {{code}}'),
        ],
        unit='reqps',
        decimals=null,
        drawStyle='bars',
        stacking='normal',
      ),
      g.table(
        16,
        'AWS errors in the time range',
        'Errors per account, operation and code over the dashboard time range.',
        w=10,
        h=9,
        queries=[
          g.q('sort_desc(sum by (account_id, operation, code) (increase(aws_iam_exporter_aws_errors_total{account_id=~"$account_id", job=~"$job"}[$__range])) > 0)'),
        ],
        transformations=[
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                operation: 'Operation',
                code: 'Code',
                Value: 'Errors',
              },
              indexByName: { account_id: 0, operation: 1, code: 2, Value: 3 },
            },
          },
        ],
        sortBy=[{ displayName: 'Errors', desc: true }],
        decimals=0,
      ),
    ]),
    g.row(17, 'Scrapes', [
      g.timeseries(
        18,
        'Scrape duration',
        'How long Prometheus takes to scrape the exporter. The exporter serves cached data, so this should be well below scrape_timeout.',
        w=12,
        h=7,
        queries=[
          g.q('scrape_duration_seconds{job=~"$job"}', '{{instance}}'),
        ],
        unit='s',
        decimals=null,
      ),
      g.timeseries(
        19,
        'Samples per scrape',
        'Series exposed by the exporter (grows with users x accounts when --metrics.per-user=true).',
        w=12,
        h=7,
        queries=[
          g.q('scrape_samples_scraped{job=~"$job"}', '{{instance}}'),
        ],
      ),
    ]),
  ],
)
