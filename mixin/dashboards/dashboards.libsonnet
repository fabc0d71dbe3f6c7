// The Grafana dashboards, by file name (dashboards/<name> in the repository). A new panel goes
// into a row of its dashboard's file; a new dashboard into this list, with its refresh in
// config.libsonnet (dashboardRefresh).
{
  grafanaDashboards+:: {
    'aws-iam-overview.json': (import 'overview.libsonnet')($._config),
    'aws-iam-account-detail.json': (import 'account-detail.libsonnet')($._config),
    'aws-iam-exporter-health.json': (import 'exporter-health.libsonnet')($._config),
  },
}
