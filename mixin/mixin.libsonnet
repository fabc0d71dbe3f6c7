// The aws-iam-exporter monitoring mixin: Prometheus alerts (prometheusAlerts), recording rules
// (prometheusRules) and Grafana dashboards (grafanaDashboards), set up by _config
// (config.libsonnet). How to import it and override _config: docs/alerts.md.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
