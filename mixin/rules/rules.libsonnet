// The recording rules (group aws-iam-exporter.rules): per-account and per-control aggregates
// for federation, long-term storage and organisation-wide reports. The alerts and dashboards
// read the raw series, so they work without these rules.
local utils = import '../lib/utils.libsonnet';

local group = {
  name: 'aws-iam-exporter.rules',
  rules: [
    {
      comment:: |||
        Number of failing controls per account (0 when all pass). Inner max de-duplicates
        exporter replicas.
      |||,
      record: 'account_id:aws_iam_control_failing:sum',
      expr: |||
        sum by (account_id, account_name) (
          max by (account_id, account_name, control) (aws_iam_control_failing)
        )
      |||,
    },
    {
      comment:: |||
        Share of controls that pass per account, 0..1 (1 = fully compliant).
      |||,
      record: 'account_id:aws_iam_controls_passing:ratio',
      expr: |||
        1 - avg by (account_id, account_name) (
          max by (account_id, account_name, control) (aws_iam_control_failing)
        )
      |||,
    },
    {
      comment:: |||
        Number of accounts failing each control (organisation-wide view).
      |||,
      record: 'control:aws_iam_control_failing:sum',
      expr: |||
        sum by (control, cis, securityhub) (
          max by (account_id, control, cis, securityhub) (aws_iam_control_failing)
        )
      |||,
    },
    {
      comment:: |||
        Age in seconds of the oldest active access key per account (needs --metrics.per-user).
      |||,
      record: 'account_id:aws_iam_access_key_age_seconds:max',
      expr: |||
        max by (account_id, account_name) (
          time() - aws_iam_access_key_last_rotated_timestamp_seconds
        )
      |||,
    },
  ],
};

{
  prometheusRules+:: {
    groups+: [utils.selectGroup(group, $._config.exporterSelector)],
  },
}
