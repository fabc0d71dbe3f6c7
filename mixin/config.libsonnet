// The settings of the aws-iam-exporter mixin. Override any of them after the import:
//   (import 'mixin.libsonnet') + { _config+:: { exporterSelector: 'job="aws-iam-exporter"' } }
// The defaults render the files shipped in the repository (alerts/aws-iam-exporter.rules.yml,
// dashboards/*.json).
{
  _config+:: {
    // Label matchers added to every aws_iam_* series that the rules, alerts and dashboards
    // read, e.g. 'job="aws-iam-exporter"' or 'cluster="prod", job="aws-iam-exporter"'. Empty:
    // the metric names are the exporter's own, so no matcher is needed.
    exporterSelector: '',
    // Matchers of the exporter's scrape targets for `up` (AwsIamExporterDown): the
    // exporterSelector when one is set, else every job whose name contains aws-iam-exporter
    // ("aws-iam-exporter", "monitoring/aws-iam-exporter" from a ServiceMonitor, ...).
    upSelector:
      if self.exporterSelector != '' then self.exporterSelector
      else 'job=~".*aws-iam-exporter.*"',

    // Where your on-call engineers read the runbooks (a copy of docs/runbooks.md), e.g.
    // 'https://wiki.example.com/aws-iam-exporter/runbooks.md'. When set, every alert gets a
    // runbook_url annotation: runbookUrlPattern with %s = the alert name in lower case, which
    // is the anchor of its section in docs/runbooks.md. Empty: no runbook_url (the steps are
    // in the `runbook` annotation anyway).
    runbookUrlBase: '',
    runbookUrlPattern: if self.runbookUrlBase == '' then '' else self.runbookUrlBase + '#%s',

    // Per alert: its severity label and how long its condition must hold (`for:`). Every alert
    // of alerts/*.libsonnet has an entry; a new alert without one fails to render, naming it.
    alerts: {
      AwsIamAccessKeyExposed: { severity: 'critical', 'for': '0m' },
      AwsIamRootAccessKeyPresent: { severity: 'critical', 'for': '0m' },
      AwsIamRootMfaDisabled: { severity: 'critical', 'for': '5m' },
      AwsIamRootAccountUsed: { severity: 'warning', 'for': '0m' },
      // 6h: AWS regenerates the credential report at most every 4h, so a key rotation or a
      // new user's MFA enrolment can show the old state for up to ~4h.
      AwsIamUsersWithMultipleActiveKeys: { severity: 'warning', 'for': '6h' },
      AwsIamAccessKeyNotRotated: { severity: 'warning', 'for': '1h' },
      AwsIamCredentialsUnused: { severity: 'info', 'for': '1h' },
      AwsIamConsoleUserWithoutMfa: { severity: 'warning', 'for': '6h' },
      AwsIamBedrockLongTermApiKey: { severity: 'warning', 'for': '30m' },
      AwsIamServiceCredentialNotRotated: { severity: 'warning', 'for': '1h' },
      AwsIamApiKeyLifetimeTooLong: { severity: 'warning', 'for': '30m' },
      AwsIamServerCertificateExpired: { severity: 'warning', 'for': '1h' },
      AwsIamCentralizedRootAccessOff: { severity: 'info', 'for': '1h' },
      AwsIamExporterRefreshFailing: { severity: 'warning', 'for': '30m' },
      AwsIamCredentialReportStale: { severity: 'warning', 'for': '30m' },
      AwsIamExporterDown: { severity: 'warning', 'for': '5m' },
    },

    // Grafana: the tags of every dashboard; the "AWS IAM dashboards" drop-down of each one
    // lists the dashboards carrying dashboardLinkTags (keep them among dashboardTags).
    dashboardTags: ['aws', 'iam', 'security', 'aws-iam-exporter'],
    dashboardLinkTags: ['aws-iam-exporter'],
    // Auto-refresh of each dashboard, by uid.
    dashboardRefresh: {
      'aws-iam-overview': '5m',
      'aws-iam-account-detail': '5m',
      'aws-iam-exporter-health': '1m',
    },
    // The `datasource` variable offers the Prometheus data sources whose name matches this
    // regex (Grafana's data source variable filter); empty offers them all.
    datasourceRegex: '',
  },
}
