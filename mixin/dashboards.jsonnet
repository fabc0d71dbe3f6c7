// jsonnet -m OUT_DIR dashboards.jsonnet   (one JSON file per dashboard)
(import 'mixin.libsonnet').grafanaDashboards
