// AWS IAM / Account detail: the users and credentials of the selected accounts (needs
// --metrics.per-user=true, the default, for the user and key panels).
// Each panel: g.<type>(id, title, description, w=, h=, queries=[g.q(expr, legend)], ...) in its
// row; ids are unique per dashboard and never reused (links name them); the layout places it.

local g = import '../lib/grafana.libsonnet';

function(config) g.dashboard(
  config,
  uid='aws-iam-account-detail',
  title='AWS IAM / Account detail',
  description='Per-user view of the selected AWS accounts: users, access key ages, unused credentials. Needs --metrics.per-user=true for the user and key panels.',
  from='now-24h',
  variables=[
    g.datasourceVariable(config),
    g.accountVariable,
  ],
  rows=[
    g.row(2, 'Summary (selected accounts)', [
      g.stat(
        3,
        'IAM users',
        'aws_iam_users summed over the selected accounts.',
        w=4,
        h=4,
        queries=[
          g.q('sum(max by (account_id) (aws_iam_users{account_id=~"$account_id"}))', 'users'),
        ],
        colorMode='none',
      ),
      g.stat(
        4,
        'Console users without MFA',
        'aws_iam_console_users_without_mfa (CIS 1.10).',
        w=4,
        h=4,
        queries=[
          g.q('sum(max by (account_id) (aws_iam_console_users_without_mfa{account_id=~"$account_id"}))'),
        ],
        steps=g.steps('green', [[1, 'red']]),
      ),
      g.stat(
        5,
        'Users with 2 active keys',
        'aws_iam_users_with_multiple_active_keys (CIS 1.13).',
        w=4,
        h=4,
        queries=[
          g.q('sum(max by (account_id) (aws_iam_users_with_multiple_active_keys{account_id=~"$account_id"}))'),
        ],
        steps=g.steps('green', [[1, 'orange']]),
      ),
      g.stat(
        6,
        'Keys not rotated (90d)',
        'aws_iam_control_failing_resources{control="access_key_rotation"} (CIS 1.14 / IAM.3). Works with per-user metrics off.',
        w=4,
        h=4,
        queries=[
          g.q('sum(max by (account_id) (aws_iam_control_failing_resources{control="access_key_rotation", account_id=~"$account_id"}))'),
        ],
        steps=g.steps('green', [[1, 'orange']]),
      ),
      g.stat(
        7,
        'Unused credentials (45d)',
        'aws_iam_control_failing_resources{control="unused_credentials_45d"} (CIS 1.12 / IAM.22).',
        w=4,
        h=4,
        queries=[
          g.q('sum(max by (account_id) (aws_iam_control_failing_resources{control="unused_credentials_45d", account_id=~"$account_id"}))'),
        ],
        steps=g.steps('green', [[1, 'orange']]),
      ),
      g.stat(
        8,
        'Active keys never used',
        'aws_iam_active_access_keys_never_used.',
        w=4,
        h=4,
        queries=[
          g.q('sum(max by (account_id) (aws_iam_active_access_keys_never_used{account_id=~"$account_id"}))'),
        ],
        steps=g.steps('green', [[1, 'orange']]),
      ),
      g.table(
        9,
        'Controls',
        'Every control of the selected accounts with its CIS / Security Hub id, PASS/FAIL and the number of failing users or keys.',
        w=14,
        h=10,
        queries=[
          g.q('max by (account_id, control, cis, securityhub) (aws_iam_control_failing{account_id=~"$account_id"})'),
          g.q('max by (account_id, control, cis, securityhub) (aws_iam_control_failing_resources{account_id=~"$account_id"})'),
        ],
        transformations=[
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                control: 'Control',
                cis: 'CIS',
                securityhub: 'Security Hub',
                'Value #A': 'Status',
                'Value #B': 'Failing resources',
              },
              indexByName: {
                account_id: 0,
                control: 1,
                cis: 2,
                securityhub: 3,
                'Value #A': 4,
                'Value #B': 5,
              },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'Status' },
            properties: [
              {
                id: 'mappings',
                value: [
                  {
                    type: 'value',
                    options: {
                      '0': { text: 'PASS', color: 'green', index: 0 },
                      '1': { text: 'FAIL', color: 'red', index: 1 },
                    },
                  },
                ],
              },
              { id: 'custom.cellOptions', value: { type: 'color-background' } },
            ],
          },
        ],
        sortBy=[{ displayName: 'Status', desc: true }],
      ),
      g.table(
        10,
        'Password policy',
        'Account password policy (CIS 1.8: minimum length >= 14, CIS 1.9: reuse prevention >= 24). Empty cells: no policy / not set.',
        w=10,
        h=10,
        queries=[
          g.q('max by (account_id) (aws_iam_password_policy_present{account_id=~"$account_id"})'),
          g.q('max by (account_id) (aws_iam_password_policy_minimum_length{account_id=~"$account_id"})'),
          g.q('max by (account_id) (aws_iam_password_policy_reuse_prevention{account_id=~"$account_id"})'),
          g.q('max by (account_id) (aws_iam_password_policy_max_age_seconds{account_id=~"$account_id"}) / 86400'),
        ],
        transformations=[
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                'Value #A': 'Policy',
                'Value #B': 'Min length',
                'Value #C': 'Reuse prevention',
                'Value #D': 'Max age (days)',
              },
              indexByName: {
                account_id: 0,
                'Value #A': 1,
                'Value #B': 2,
                'Value #C': 3,
                'Value #D': 4,
              },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'Policy' },
            properties: [
              {
                id: 'mappings',
                value: [
                  {
                    type: 'value',
                    options: {
                      '1': { text: 'present', color: 'green', index: 0 },
                      '0': { text: 'missing', color: 'red', index: 1 },
                    },
                  },
                ],
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'Min length' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'red', value: null },
                    { color: 'green', value: 14 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'Reuse prevention' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'red', value: null },
                    { color: 'green', value: 24 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ],
      ),
    ]),
    g.row(11, 'Users', [
      g.table(
        1,
        'IAM users',
        'One row per IAM user, joined from the per-user series. Ages in days. Oldest key age = time since the oldest ACTIVE key was created/rotated (red over 90 days, CIS 1.14). Key last used = most recent use of any active key (orange over 45, red over 90 days, CIS 1.12); empty = never used or no active key. Needs --metrics.per-user=true (the default); empty when per-user metrics are off.',
        w=24,
        h=14,
        queries=[
          g.q('max by (account_id, user) (aws_iam_user_password_enabled{account_id=~"$account_id"})'),
          g.q('max by (account_id, user) (aws_iam_user_mfa_active{account_id=~"$account_id"})'),
          g.q('max by (account_id, user) (aws_iam_user_active_access_keys{account_id=~"$account_id"})'),
          g.q('(time() - min by (account_id, user) (aws_iam_access_key_last_rotated_timestamp_seconds{account_id=~"$account_id"})) / 86400'),
          g.q('(time() - max by (account_id, user) (aws_iam_access_key_last_used_timestamp_seconds{account_id=~"$account_id"})) / 86400'),
          g.q('(time() - max by (account_id, user) (aws_iam_user_password_last_used_timestamp_seconds{account_id=~"$account_id"})) / 86400'),
          g.q('(time() - max by (account_id, user) (aws_iam_user_created_timestamp_seconds{account_id=~"$account_id"})) / 86400'),
        ],
        transformations=[
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                user: 'User',
                'Value #A': 'Console password',
                'Value #B': 'MFA',
                'Value #C': 'Active keys',
                'Value #D': 'Oldest key age (days)',
                'Value #E': 'Key last used (days ago)',
                'Value #F': 'Password last used (days ago)',
                'Value #G': 'User age (days)',
              },
              indexByName: {
                account_id: 0,
                user: 1,
                'Value #A': 2,
                'Value #B': 3,
                'Value #C': 4,
                'Value #D': 5,
                'Value #E': 6,
                'Value #F': 7,
                'Value #G': 8,
              },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'Console password' },
            properties: [
              {
                id: 'mappings',
                value: [
                  {
                    type: 'value',
                    options: {
                      '1': { text: 'yes', color: 'text', index: 0 },
                      '0': { text: 'no', color: 'text', index: 1 },
                    },
                  },
                ],
              },
            ],
          },
          {
            matcher: { id: 'byName', options: 'MFA' },
            properties: [
              {
                id: 'mappings',
                value: [
                  {
                    type: 'value',
                    options: {
                      '1': { text: 'yes', color: 'green', index: 0 },
                      '0': { text: 'no', color: 'red', index: 1 },
                    },
                  },
                ],
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'Active keys' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'orange', value: 2 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'Oldest key age (days)' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'red', value: 90 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'Key last used (days ago)' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'orange', value: 45 },
                    { color: 'red', value: 90 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'Password last used (days ago)' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'orange', value: 45 },
                    { color: 'red', value: 90 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ],
        sortBy=[{ displayName: 'Oldest key age (days)', desc: true }],
        decimals=0,
      ),
    ]),
    g.row(12, 'Access keys', [
      g.bargauge(
        13,
        'Oldest active access keys (days)',
        'Top 20 active access keys by age (time() - aws_iam_access_key_last_rotated_timestamp_seconds), in days. Red over 90 days (CIS 1.14). Needs --metrics.per-user=true (the default); empty when per-user metrics are off.',
        w=12,
        h=12,
        queries=[
          g.q('sort_desc(topk(20, (time() - max by (account_id, user, key) (aws_iam_access_key_last_rotated_timestamp_seconds{account_id=~"$account_id"})) / 86400))', '{{user}} key {{key}} ({{account_id}})'),
        ],
      ) + {
        fieldConfig: {
          defaults: {
            unit: 'none',
            decimals: 0,
            min: 0,
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: 45 },
                { color: 'red', value: 90 },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          displayMode: 'gradient',
          orientation: 'horizontal',
          showUnfilled: true,
          valueMode: 'color',
          namePlacement: 'left',
          sizing: 'auto',
          minVizHeight: 16,
          maxVizHeight: 300,
          minVizWidth: 8,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
      },
      g.table(
        14,
        'Access keys unused for 45+ days or never used',
        'Active keys whose last use is 45+ days ago, and active keys never used (with their age). Deactivate with aws iam update-access-key --status Inactive (runbook AwsIamCredentialsUnused). Needs --metrics.per-user=true (the default); empty when per-user metrics are off.',
        w=12,
        h=12,
        queries=[
          g.q('(time() - max by (account_id, user, key) (aws_iam_access_key_last_used_timestamp_seconds{account_id=~"$account_id"})) / 86400 > 45'),
          g.q('(time() - max by (account_id, user, key) (aws_iam_access_key_last_rotated_timestamp_seconds{account_id=~"$account_id"})) / 86400 and on (account_id, user, key) max by (account_id, user, key) (aws_iam_access_key_never_used{account_id=~"$account_id"}) == 1'),
        ],
        transformations=[
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                user: 'User',
                key: 'Key',
                'Value #A': 'Last used (days ago)',
                'Value #B': 'Never used, key age (days)',
              },
              indexByName: { account_id: 0, user: 1, key: 2, 'Value #A': 3, 'Value #B': 4 },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'Last used (days ago)' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'orange', value: 45 },
                    { color: 'red', value: 90 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ],
        sortBy=[{ displayName: 'Last used (days ago)', desc: true }],
        decimals=0,
      ),
    ]),
    g.row(15, 'Console passwords', [
      g.table(
        16,
        'Console passwords unused for 45+ days or never used',
        "Users with a console password whose last sign-in is 45+ days ago, and users with a password who never signed in (with the user's age). Remove with aws iam delete-login-profile (runbook AwsIamCredentialsUnused). Needs --metrics.per-user=true (the default); empty when per-user metrics are off.",
        w=12,
        h=10,
        queries=[
          g.q('(time() - max by (account_id, user) (aws_iam_user_password_last_used_timestamp_seconds{account_id=~"$account_id"})) / 86400 > 45 and on (account_id, user) max by (account_id, user) (aws_iam_user_password_enabled{account_id=~"$account_id"}) == 1'),
          g.q('(time() - max by (account_id, user) (aws_iam_user_created_timestamp_seconds{account_id=~"$account_id"})) / 86400 and on (account_id, user) (max by (account_id, user) (aws_iam_user_password_enabled{account_id=~"$account_id"}) == 1 unless on (account_id, user) aws_iam_user_password_last_used_timestamp_seconds{account_id=~"$account_id"})'),
        ],
        transformations=[
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                user: 'User',
                'Value #A': 'Last sign-in (days ago)',
                'Value #B': 'Never signed in, user age (days)',
              },
              indexByName: { account_id: 0, user: 1, 'Value #A': 2, 'Value #B': 3 },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'Last sign-in (days ago)' },
            properties: [
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'orange', value: 45 },
                    { color: 'red', value: 90 },
                  ],
                },
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ],
        sortBy=[{ displayName: 'Last sign-in (days ago)', desc: true }],
        decimals=0,
      ),
      g.table(
        17,
        'Console users without MFA',
        "Users with a console password and no MFA device (CIS 1.10), with the user's age in days. Needs --metrics.per-user=true (the default); empty when per-user metrics are off.",
        w=12,
        h=10,
        queries=[
          g.q('(time() - max by (account_id, user) (aws_iam_user_created_timestamp_seconds{account_id=~"$account_id"})) / 86400 and on (account_id, user) (max by (account_id, user) (aws_iam_user_password_enabled{account_id=~"$account_id"}) == 1) and on (account_id, user) (max by (account_id, user) (aws_iam_user_mfa_active{account_id=~"$account_id"}) == 0)'),
        ],
        transformations=[
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                user: 'User',
                Value: 'User age (days)',
              },
              indexByName: { account_id: 0, user: 1, Value: 2 },
            },
          },
        ],
        sortBy=[{ displayName: 'User age (days)', desc: true }],
        decimals=0,
      ),
    ]),
  ],
)
