// jsonnet -S alerts.jsonnet > aws-iam-exporter.alerts.yml
std.manifestYamlDoc((import 'mixin.libsonnet').prometheusAlerts)
