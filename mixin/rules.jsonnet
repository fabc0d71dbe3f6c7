// jsonnet -S rules.jsonnet > aws-iam-exporter.rules.yml   (the recording rules)
std.manifestYamlDoc((import 'mixin.libsonnet').prometheusRules)
