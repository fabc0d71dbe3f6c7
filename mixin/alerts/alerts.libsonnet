// The alerting rules, one file per group. A new alert goes into the rules of its group's file
// (with its severity and `for:` in config.libsonnet); a new group file goes into the list below.
local utils = import '../lib/utils.libsonnet';

{
  prometheusAlerts+:: {
    groups+: [
      utils.selectGroup(group($._config), $._config.exporterSelector)
      for group in [
        import 'exposure.libsonnet',
        import 'root.libsonnet',
        import 'users.libsonnet',
        import 'credentials.libsonnet',
        import 'exporter.libsonnet',
      ]
    ],
  },
}
