// Building blocks of the dashboards, as plain Grafana JSON (schemaVersion 39; no grafonnet):
// a dashboard is a list of rows, a row a list of panels. Each panel states its id, its size
// (w, h) and its queries; the layout places the panels of a row left to right, wrapping at 24
// columns, so a panel added to a row moves the ones below it by itself.
local utils = import 'utils.libsonnet';

// Every query, panel and variable reads the data source chosen in the `datasource` variable.
local ds = { type: 'prometheus', uid: '${datasource}' };
local green = [{ color: 'green', value: null }];

// The targets of a panel: refIds A, B, ...; `kind` is 'range' (time series), 'instant' or
// 'table' (an instant query in table format).
local targets(queries, kind) = [
  {
    datasource: ds,
    editorMode: 'code',
    expr: queries[i].expr,
    refId: std.char(std.codepoint('A') + i),
    legendFormat: queries[i].legendFormat,
    range: kind == 'range',
    instant: kind != 'range',
  } + (if kind == 'table' then { format: 'table' } else {})
  for i in std.range(0, std.length(queries) - 1)
];

// Fields present only when given.
local optional(fields) = { [k]: fields[k] for k in std.objectFields(fields) if fields[k] != null };

local panel(type, id, title, description, w, h, queries, kind) = {
  type: type,
  title: title,
  description: description,
  datasource: ds,
  id: id,
  targets: targets(queries, kind),
  gridPos: { w: w, h: h },
};

{
  datasource: ds,

  // Threshold steps: `base` below the first threshold, then [value, colour] from each value on.
  steps(base, thresholds=[]):: [{ color: base, value: null }] + [
    { color: s[1], value: s[0] }
    for s in thresholds
  ],
  green: green,

  // Value mappings: [value, text, colour] shown for each listed value, in that order.
  valueText(values):: [{
    type: 'value',
    options: {
      [std.toString(values[i][0])]: { text: values[i][1], color: values[i][2], index: i }
      for i in std.range(0, std.length(values) - 1)
    },
  }],

  // One PromQL query of a panel, with its legend.
  q(expr, legend='__auto'):: { expr: expr, legendFormat: legend },

  // A single value per series, coloured by `steps`.
  stat(id,
       title,
       description,
       w,
       h,
       queries,
       unit='none',
       steps=green,
       mappings=[],
       textMode='value',
       colorMode='background',
       decimals=null,
       noValue='no data')::
    panel('stat', id, title, description, w, h, queries, 'instant') {
      fieldConfig: {
        defaults: {
          mappings: mappings,
          thresholds: { mode: 'absolute', steps: steps },
          color: { mode: 'thresholds' },
          unit: unit,
        } + optional({ noValue: noValue, decimals: decimals }),
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: colorMode,
        graphMode: 'none',
        textMode: textMode,
        justifyMode: 'auto',
        orientation: 'auto',
        wideLayout: true,
        showPercentChange: false,
      },
    },

  // Series over time, with a legend table of the last and the highest value.
  timeseries(id,
             title,
             description,
             w,
             h,
             queries,
             unit='none',
             steps=green,
             decimals=0,
             thresholdsStyle='off',
             drawStyle='line',
             stacking='none')::
    panel('timeseries', id, title, description, w, h, queries, 'range') {
      fieldConfig: {
        defaults: {
          unit: unit,
          custom: {
            drawStyle: drawStyle,
            lineInterpolation: 'stepAfter',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            axisSoftMin: 0,
            stacking: { mode: stacking, group: 'A' },
            thresholdsStyle: { mode: thresholdsStyle },
          },
          color: { mode: 'palette-classic' },
          thresholds: { mode: 'absolute', steps: steps },
        } + optional({ decimals: decimals }),
        overrides: [],
      },
      options: {
        legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['lastNotNull', 'max'] },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },

  // Instant queries as a table: `transformations` join and rename their columns, `overrides`
  // style them.
  table(id,
        title,
        description,
        w,
        h,
        queries,
        transformations=[],
        overrides=[],
        sortBy=null,
        decimals=null,
        mappings=[],
        steps=green)::
    panel('table', id, title, description, w, h, queries, 'table') {
      transformations: transformations,
      fieldConfig: {
        defaults: {
          custom: { align: 'auto', cellOptions: { type: 'auto' }, filterable: true },
          mappings: mappings,
          thresholds: { mode: 'absolute', steps: steps },
          color: { mode: 'thresholds' },
        } + optional({ decimals: decimals }),
        overrides: overrides,
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: { show: false, reducer: ['sum'], fields: '' },
      } + optional({ sortBy: sortBy }),
    },

  // Horizontal bars, one per series.
  bargauge(id, title, description, w, h, queries)::
    panel('bargauge', id, title, description, w, h, queries, 'instant'),

  // A row: its title bar, then its panels.
  row(id, title, panels):: {
    panel: {
      type: 'row',
      title: title,
      collapsed: false,
      panels: [],
      datasource: ds,
      id: id,
      gridPos: { h: 1, w: 24 },
    },
    panels: panels,
  },

  // The `datasource` variable: which Prometheus the dashboard reads.
  datasourceVariable(config):: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: config.datasourceRegex,
    skipUrlSync: false,
  },

  // A variable whose values are a label's values (label_values(metric, label)); `all`: a
  // multi-select with "All" (allValue .+).
  labelVariable(name, label, query, all=true, sort=1, description=null):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    query: query,
    definition: query,
    multi: all,
    includeAll: all,
    current: {},
    hide: 0,
    options: [],
    refresh: 2,
    regex: '',
    sort: sort,
    skipUrlSync: false,
  } + (if all then { allValue: '.+' } else {}) + optional({ description: description }),

  // The `account_id` variable every dashboard has: every watched account, also those without a
  // credential report (a member read by a root audit has no aws_iam_users).
  accountVariable:: self.labelVariable('account_id', 'AWS account', 'label_values(aws_iam_exporter_refresh_success, account_id)'),

  // A dashboard of `rows` (from row()), its panels placed, with config's selector added to every
  // aws_iam_* series of its queries and variables.
  dashboard(config, uid, title, description, from, variables, rows)::
    local place(state, p) =
      local wrap = state.x + p.gridPos.w > 24;
      local y = if wrap then state.y + state.lineh else state.y;
      local x = if wrap then 0 else state.x;
      local lineh = if wrap then 0 else state.lineh;
      {
        x: x + p.gridPos.w,
        y: y,
        lineh: std.max(lineh, p.gridPos.h),
        out: state.out + [p { gridPos+: { x: x, y: y } }],
      };
    local placeRow(state, r) =
      local top = state.y + state.lineh;
      std.foldl(place, r.panels, {
        x: 0,
        y: top + 1,
        lineh: 0,
        out: state.out + [r.panel { gridPos+: { x: 0, y: top } }],
      });
    local panels = std.foldl(placeRow, rows, { x: 0, y: 0, lineh: 0, out: [] }).out;
    local select(expr) = utils.addSelector(expr, config.exporterSelector);
    {
      uid: uid,
      title: title,
      description: description,
      tags: config.dashboardTags,
      editable: true,
      graphTooltip: 1,
      schemaVersion: 39,
      version: 1,
      time: { from: from, to: 'now' },
      timepicker: {},
      timezone: '',
      refresh: config.dashboardRefresh[uid],
      fiscalYearStartMonth: 0,
      liveNow: false,
      weekStart: '',
      annotations: {
        list: [{
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        }],
      },
      links: [{
        title: 'AWS IAM dashboards',
        type: 'dashboards',
        tags: config.dashboardLinkTags,
        asDropdown: true,
        includeVars: true,
        keepTime: true,
        targetBlank: false,
        icon: 'external link',
        tooltip: '',
        url: '',
      }],
      templating: {
        list: [
          if v.type == 'query' then v { query: select(super.query), definition: select(super.definition) } else v
          for v in variables
        ],
      },
      panels: [
        if std.objectHas(p, 'targets') then p { targets: [t { expr: select(super.expr) } for t in super.targets] } else p
        for p in panels
      ],
    },
}
