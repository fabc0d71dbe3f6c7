// Group aws-iam-exporter.exporter: the exporter itself (refreshes, credential report age, up).
// Each alert: utils.alert(config, name) { expr, and the hidden summary, description, runbook
// and comment }; its severity and `for:` are in config.libsonnet (docs/alerts.md, Add an alert).
local utils = import '../lib/utils.libsonnet';

function(config) {
  name: 'aws-iam-exporter.exporter',
  rules: [
    utils.alert(config, 'AwsIamExporterRefreshFailing') {
      expr: |||
        aws_iam_exporter_refresh_success == 0
      |||,
      summary:: 'aws-iam-exporter cannot refresh IAM data for AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}',
      description:: |||
        Every refresh of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} by exporter
        {{ $labels.instance }} has failed for 30 minutes, so its IAM metrics are stale and the
        security alerts for this account may be wrong or missing. Check which AWS calls fail with
        `sum by (operation, code) (increase(aws_iam_exporter_aws_errors_total{account_id="{{ $labels.account_id }}"}[1h]))`
        and the exporter logs: AccessDenied means the IAM policy or assumed role is missing a
        permission, Throttling means the refresh interval is too short, timeout/dispatch means
        the network path to AWS is broken.
      |||,
      runbook:: |||
        1. Which calls fail: sum by (operation, code) (increase(aws_iam_exporter_aws_errors_total[1h])) (PromQL), and the exporter's log.
        2. AccessDenied: grant deploy/iam-policy.json (check SCPs and permission boundaries). Throttling: raise --refresh.interval. Timeouts: check egress to the IAM endpoint. Expired or invalid credentials: fix their source (IRSA, instance profile, secret).
        3. Reproduce with the exporter's credentials: aws sts get-caller-identity; aws iam get-account-summary.
        4. Silence only while the fix is deployed: the account is not monitored meanwhile.
      |||,
    },
    utils.alert(config, 'AwsIamCredentialReportStale') {
      comment:: |||
        AWS regenerates the report when it is more than 4h old and the exporter asks for a new
        one on every refresh, so with the default 5m interval the age stays below ~4h10m.
        Raise 6h if you run --refresh.interval above ~1h.
      |||,
      expr: |||
        time() - aws_iam_credential_report_generated_timestamp_seconds > 6 * 3600
      |||,
      summary:: 'Credential report of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} is {{ $value | humanizeDuration }} old',
      description:: |||
        The credential report used for AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        by exporter {{ $labels.instance }} was generated {{ $value | humanizeDuration }} ago; AWS
        regenerates it every 4 hours when asked. Key, password and MFA findings for this account are
        out of date. Check AwsIamExporterRefreshFailing, the exporter logs and
        aws_iam_exporter_aws_errors_total{operation=~"GenerateCredentialReport|GetCredentialReport"};
        `aws iam generate-credential-report` by hand shows whether AWS itself is failing.
      |||,
      runbook:: |||
        1. If AwsIamExporterRefreshFailing fires too, follow its runbook.
        2. Check aws_iam_exporter_aws_errors_total{operation=~"GenerateCredentialReport|GetCredentialReport"}: ReportInProgress or LimitExceeded until the timeout means raising --credential-report.timeout and looking for another tool that generates reports in a loop.
        3. With --refresh.interval above 1h, raise the 6h threshold. Restart a stuck exporter and report it with its log.
      |||,
    },
    utils.alert(config, 'AwsIamExporterDown') {
      // The texts name the default matcher as a job name pattern, any other as its selector.
      local defaultJobs = config.upSelector == 'job=~".*aws-iam-exporter.*"',
      local missing =
        if defaultJobs then 'whose job matches ".*aws-iam-exporter.*"'
        else 'matching up{%s}' % config.upSelector,
      local noTarget =
        if defaultJobs then 'the scrape job name must contain aws-iam-exporter (or edit the regex in both selectors of this alert)'
        else 'no target matches up{%s}: fix the scrape job, or _config.upSelector of the mixin' % config.upSelector,
      comment:: |||
        Job matcher: set _config.upSelector in the mixin (in a copy of this file, edit
        ".*aws-iam-exporter.*" in both selectors) if your scrape job is named differently.
        absent() fires (without job/instance labels) when no such target exists.
      |||,
      expr: |||
        up{%(up)s} == 0
          or
        absent(up{%(up)s})
      ||| % { up: config.upSelector },
      summary:: '{{ if $labels.instance }}aws-iam-exporter target {{ $labels.instance }} (job {{ $labels.job }}) is down{{ else }}No aws-iam-exporter target is being scraped{{ end }}',
      description:: |||
        {{ if $labels.instance }}Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for 5 minutes.{{ else }}Prometheus has no scrape target %s (for 5 minutes).{{ end }}
        While the exporter is not scraped, every AWS IAM security alert is blind. Check the process
        or pod (crash loop, OOM), its /healthz and /metrics endpoints, and the Prometheus target
        page (Status > Targets) for the scrape error.
      ||| % missing,
      runbook:: |||
        1. Prometheus > Status > Targets shows the scrape error. No target at all: %s.
        2. On the exporter: /healthz (process alive), /readyz (a refresh succeeded), /metrics; kubectl logs --previous for a crash loop or OOM.
        3. Fix the process or the scrape config (address, metrics_path, TLS and basic auth). Silence only planned maintenance, with an expiry.
      ||| % noTarget,
    },
  ],
}
