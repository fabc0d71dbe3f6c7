// AWS IAM / Overview: the posture of every watched account at a glance (keys AWS found
// exposed first, then root user, CIS controls, users and keys over time, one benchmark
// version's compliance, service-specific credentials and centralized root access).
// Each panel: g.<type>(id, title, description, w=, h=, queries=[g.q(expr, legend)], ...) in its
// row; ids are unique per dashboard and never reused (links name them); the layout places it.

local g = import '../lib/grafana.libsonnet';

function(config) g.dashboard(
  config,
  uid='aws-iam-overview',
  title='AWS IAM / Overview',
  description='Credential hygiene of the AWS accounts watched by aws-iam-exporter: root user, CIS controls, users and keys.',
  from='now-7d',
  variables=[
    g.datasourceVariable(config),
    g.accountVariable,
    g.labelVariable('standard', 'Standard', 'label_values(aws_iam_control_info, standard)', all=false, description='Benchmark (aws_iam_control_info standard): cis-aws-foundations or aws-fsbp.'),
    g.labelVariable('version', 'Version', 'label_values(aws_iam_control_info{standard="$standard"}, version)', all=false, sort=4, description='Version of the chosen standard that the auditor names.'),
  ],
  rows=[
    // First: the one finding that says a compromise may be under way.
    g.row(30, 'Keys AWS found exposed', [
      g.table(
        31,
        'Quarantined users',
        'aws_iam_user_quarantined: the IAM users to whom AWS attached an exposed-key quarantine policy (AWSCompromisedKeyQuarantine, V2, V3, V4 or later), directly or through a group: one of their access keys was found in public and still works. Checked every --refresh.fast-interval (1 minute). Empty is good. Alert: AwsIamAccessKeyExposed; runbook: docs/runbooks.md#awsiamaccesskeyexposed (aws-iam-exporter repository). Deactivate the key first, detach the policy last.',
        w=16,
        h=6,
        queries=[
          g.q('max by (account_id, account_name, user, policy) (aws_iam_user_quarantined{account_id=~"$account_id"}) == 1'),
        ],
        transformations=[
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, Value: true },
              renameByName: {
                account_id: 'Account',
                account_name: 'Name',
                user: 'User',
                policy: 'Quarantine policy',
              },
              indexByName: { account_id: 0, account_name: 1, user: 2, policy: 3 },
            },
          },
        ],
        sortBy=[{ displayName: 'Account', desc: false }],
      ),
      g.stat(
        32,
        'Quarantine policies on roles',
        'aws_iam_quarantine_policy_attachments{entity="role"}: roles with an exposed-key quarantine policy. AWS quarantines users, so someone in your organization attached it. Alert: AwsIamAccessKeyExposed (without a user label).',
        w=8,
        h=6,
        queries=[
          g.q('sum by (account_id, account_name) (max by (account_id, account_name, policy) (aws_iam_quarantine_policy_attachments{entity="role", account_id=~"$account_id"})) > 0', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('green', [[1, 'red']]),
        textMode='value_and_name',
        noValue='none',
      ),
    ]),
    g.row(1, 'Root user (per account)', [
      g.stat(
        2,
        'Root access key',
        'aws_iam_root_access_keys_present: 1 (FAIL) when the root user has an access key, active or inactive. CIS 1.4 / Security Hub IAM.4. Alert: AwsIamRootAccessKeyPresent.',
        w=5,
        h=7,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_root_access_keys_present{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('green', [[1, 'red']]),
        mappings=g.valueText([[0, 'OK', 'green'], [1, 'FAIL', 'red']]),
        textMode='value_and_name',
      ),
      g.stat(
        3,
        'Root MFA',
        'aws_iam_root_mfa_enabled: FAIL when the root user has no MFA. CIS 1.5 / Security Hub IAM.9. Alert: AwsIamRootMfaDisabled.',
        w=5,
        h=7,
        queries=[
          g.q('min by (account_id, account_name) (aws_iam_root_mfa_enabled{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('red', [[1, 'green']]),
        mappings=g.valueText([[1, 'OK', 'green'], [0, 'FAIL', 'red']]),
        textMode='value_and_name',
      ),
      g.stat(
        4,
        'Root hardware MFA',
        'aws_iam_root_hardware_mfa_enabled: OK when root MFA is on and it is not a virtual device. CIS 1.6 / Security Hub IAM.6.',
        w=5,
        h=7,
        queries=[
          g.q('min by (account_id, account_name) (aws_iam_root_hardware_mfa_enabled{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('orange', [[1, 'green']]),
        mappings=g.valueText([[1, 'OK', 'green'], [0, 'NO', 'orange']]),
        textMode='value_and_name',
      ),
      g.stat(
        5,
        'Root recent use',
        'Control root_recent_use (CIS 1.7): FAIL when the root user was used recently. Alert: AwsIamRootAccountUsed (last use < 24h).',
        w=4,
        h=7,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_control_failing{control="root_recent_use", account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('green', [[1, 'red']]),
        mappings=g.valueText([[0, 'OK', 'green'], [1, 'FAIL', 'red']]),
        textMode='value_and_name',
      ),
      g.stat(
        6,
        'Time since last root use',
        'aws_iam_root_last_used_seconds: time since the most recent use of the root password or keys. Absent (no value) when root was never used. Red under 24h, orange under 7 days.',
        w=5,
        h=7,
        queries=[
          g.q('min by (account_id, account_name) (aws_iam_root_last_used_seconds{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        unit='s',
        steps=g.steps('red', [[86400, 'orange'], [604800, 'green']]),
        textMode='value_and_name',
        decimals=0,
        noValue='never used / no data',
      ),
    ]),
    g.row(26, 'Member account roots', [
      g.table(
        27,
        'Root credentials by account',
        "Which accounts' root users still have a password, an access key or MFA: one row per account, from the same series for every account (the credential report, or a root audit through sts:AssumeRoot for the members of an organization without a role). Key: aws_iam_root_access_keys_present (active or not). Password: aws_iam_root_password_present. MFA: none, virtual, or hardware (a hardware TOTP token or a FIDO security key: aws_iam_root_mfa_enabled + aws_iam_root_hardware_mfa_enabled). Credential-less: aws_iam_root_credentials_present 0, no password, key or signing certificate (centralized root access removed them); such a root needs no MFA. Sorted with root passwords first.",
        w=24,
        h=10,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_root_password_present{account_id=~"$account_id"})'),
          g.q('max by (account_id, account_name) (aws_iam_root_access_keys_present{account_id=~"$account_id"})'),
          g.q('min by (account_id, account_name) (aws_iam_root_mfa_enabled{account_id=~"$account_id"}) + min by (account_id, account_name) (aws_iam_root_hardware_mfa_enabled{account_id=~"$account_id"})'),
          g.q('max by (account_id, account_name) (aws_iam_root_credentials_present{account_id=~"$account_id"})'),
        ],
        transformations=[
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                account_id: 'Account',
                account_name: 'Name',
                'Value #A': 'Root password',
                'Value #B': 'Root access key',
                'Value #C': 'Root MFA',
                'Value #D': 'Root credentials',
              },
              indexByName: {
                account_id: 0,
                account_name: 1,
                'Value #A': 2,
                'Value #B': 3,
                'Value #C': 4,
                'Value #D': 5,
              },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: name },
            properties: [
              { id: 'mappings', value: g.valueText([[0, 'no', 'green'], [1, 'PRESENT', 'red']]) },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          }
          for name in ['Root password', 'Root access key']
        ] + [
          {
            matcher: { id: 'byName', options: 'Root MFA' },
            properties: [
              { id: 'mappings', value: g.valueText([[0, 'none', 'red'], [1, 'virtual', 'orange'], [2, 'hardware', 'green']]) },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'Root credentials' },
            properties: [
              { id: 'mappings', value: g.valueText([[0, 'credential-less', 'green'], [1, 'present', 'orange']]) },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ],
        sortBy=[{ displayName: 'Root password', desc: true }],
      ),
    ]),
    g.row(7, 'CIS controls', [
      g.table(
        8,
        'Controls by account',
        "aws_iam_control_failing per control (rows) and account (columns): FAIL = the control fails. Each control is described in docs/controls.md, its alert's runbook in docs/runbooks.md (aws-iam-exporter repository).",
        w=14,
        h=14,
        queries=[
          g.q('max by (account_id, control) (aws_iam_control_failing{account_id=~"$account_id"})'),
        ],
        transformations=[
          {
            id: 'groupingToMatrix',
            options: {
              columnField: 'account_id',
              rowField: 'control',
              valueField: 'Value',
              emptyValue: 'null',
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'control\\account_id' },
            properties: [
              { id: 'displayName', value: 'control' },
              { id: 'custom.cellOptions', value: { type: 'auto' } },
              { id: 'custom.align', value: 'left' },
            ],
          },
        ],
        mappings=g.valueText([[0, 'PASS', 'green'], [1, 'FAIL', 'red']]),
        steps=g.steps('green', [[1, 'red']]),
      ) + {
        fieldConfig+: {
          defaults+: {
            custom+: {
              align: 'center',
              cellOptions+: {
                type: 'color-background',
                mode: 'basic',
              },
              filterable: false,
            },
          },
        },
      },
      g.table(
        9,
        'Failing controls (selected accounts)',
        'Per control: how many selected accounts fail it, and how many users/keys fail it in total (aws_iam_control_failing_resources).',
        w=10,
        h=14,
        queries=[
          g.q('sum by (control, cis, securityhub) (max by (account_id, control, cis, securityhub) (aws_iam_control_failing{account_id=~"$account_id"}))'),
          g.q('sum by (control, cis, securityhub) (max by (account_id, control, cis, securityhub) (aws_iam_control_failing_resources{account_id=~"$account_id"}))'),
        ],
        transformations=[
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                control: 'Control',
                cis: 'CIS',
                securityhub: 'Security Hub',
                'Value #A': 'Accounts failing',
                'Value #B': 'Failing resources',
              },
              indexByName: {
                control: 0,
                cis: 1,
                securityhub: 2,
                'Value #A': 3,
                'Value #B': 4,
              },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'Accounts failing' },
            properties: [
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'red', value: 1 },
                  ],
                },
              },
            ],
          },
        ],
        sortBy=[{ displayName: 'Accounts failing', desc: true }],
      ),
      g.timeseries(
        10,
        'Failing controls per account',
        'Number of failing controls per account over time (0 = fully compliant).',
        w=24,
        h=8,
        queries=[
          g.q('sum by (account_id, account_name) (max by (account_id, account_name, control) (aws_iam_control_failing{account_id=~"$account_id"}))', '{{account_id}} {{account_name}}'),
        ],
      ),
    ]),
    g.row(11, 'Users and keys over time', [
      g.timeseries(
        12,
        'IAM users',
        'aws_iam_users: IAM users in the credential report (root excluded).',
        w=8,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_users{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
      ),
      g.timeseries(
        13,
        'Console users',
        'aws_iam_console_users: users with a console password.',
        w=8,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_console_users{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
      ),
      g.timeseries(
        14,
        'Console users without MFA',
        'aws_iam_console_users_without_mfa (CIS 1.10 / IAM.5). Alert: AwsIamConsoleUserWithoutMfa.',
        w=8,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_console_users_without_mfa{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('transparent', [[1, 'red']]),
        thresholdsStyle='line',
      ),
      g.timeseries(
        15,
        'Active access keys',
        'aws_iam_active_access_keys: active access keys of IAM users.',
        w=8,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_active_access_keys{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
      ),
      g.timeseries(
        16,
        'Active access keys never used',
        'aws_iam_active_access_keys_never_used: active keys with no recorded use (candidates for deletion, CIS 1.11/1.12).',
        w=8,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_active_access_keys_never_used{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
      ),
      g.timeseries(
        17,
        'Users with multiple active keys',
        'aws_iam_users_with_multiple_active_keys (CIS 1.13). Alert: AwsIamUsersWithMultipleActiveKeys.',
        w=8,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_users_with_multiple_active_keys{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('transparent', [[1, 'red']]),
        thresholdsStyle='line',
      ),
    ]),
    g.row(18, 'Compliance with $standard $version', [
      g.stat(
        19,
        'Controls passing ($standard $version)',
        "Share of the chosen benchmark version's controls that pass, per account: aws_iam_control_failing joined on control with aws_iam_control_info{standard, version}. Controls whose input is unknown (absent) are left out; controls the version does not have are not counted.",
        w=8,
        h=8,
        queries=[
          g.q('1 - avg by (account_id, account_name) (max by (account_id, account_name, control) (aws_iam_control_failing{account_id=~"$account_id"}) * on (control) group_left () max by (control) (aws_iam_control_info{standard="$standard", version="$version"}))', '{{account_id}} {{account_name}}'),
        ],
        unit='percentunit',
        steps=g.steps('red', [[0.8, 'orange'], [1, 'green']]),
        textMode='value_and_name',
      ),
      g.table(
        20,
        'Failing controls ($standard $version)',
        'Controls of the chosen benchmark version that fail, with the number the version gives them (aws_iam_control_info id) and the failing resources.',
        w=16,
        h=8,
        queries=[
          g.q('max by (account_id, control, id) (max by (account_id, account_name, control) (aws_iam_control_failing{account_id=~"$account_id"}) * on (control) group_left (id) max by (control, id) (aws_iam_control_info{standard="$standard", version="$version"})) == 1'),
          g.q('max by (account_id, control, id) (max by (account_id, control) (aws_iam_control_failing_resources{account_id=~"$account_id"}) * on (control) group_left (id) max by (control, id) (aws_iam_control_info{standard="$standard", version="$version"})) > 0'),
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
                id: 'Number',
                'Value #A': 'Failing',
                'Value #B': 'Failing resources',
              },
              indexByName: {
                account_id: 0,
                id: 1,
                control: 2,
                'Value #A': 3,
                'Value #B': 4,
              },
            },
          },
        ],
        overrides=[
          {
            matcher: { id: 'byName', options: 'Failing' },
            properties: [
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    { color: 'green', value: null },
                    { color: 'red', value: 1 },
                  ],
                },
              },
            ],
          },
        ],
        sortBy=[{ displayName: 'Number', desc: false }],
      ),
    ]),
    g.row(21, 'Service-specific credentials, MFA strength, centralized root access', [
      g.timeseries(
        22,
        'Service-specific credentials',
        'aws_iam_service_specific_credentials by service (bedrock.amazonaws.com, codecommit.amazonaws.com, cassandra.amazonaws.com, ...) and status, summed over the selected accounts (ListServiceSpecificCredentials). Absent where the call is refused.',
        w=8,
        h=8,
        queries=[
          g.q('sum by (service, status) (max by (account_id, service, status) (aws_iam_service_specific_credentials{account_id=~"$account_id"}))', '{{service}} {{status}}'),
        ],
      ),
      g.stat(
        23,
        'Long-term Bedrock API keys',
        'Active, unexpired Amazon Bedrock API keys (control bedrock_long_term_api_key, failing resources). AWS recommends short-term keys. Alert: AwsIamBedrockLongTermApiKey.',
        w=5,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_control_failing_resources{control="bedrock_long_term_api_key", account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
        steps=g.steps('green', [[1, 'red']]),
        textMode='value_and_name',
      ),
      g.timeseries(
        24,
        'Console users with virtual MFA',
        'Console users whose MFA is a virtual (TOTP app) device, next to all console users: the way to phishing-resistant MFA (FIDO security keys) is this line going to 0.',
        w=6,
        h=8,
        queries=[
          g.q('max by (account_id, account_name) (aws_iam_console_users_with_virtual_mfa{account_id=~"$account_id"})', '{{account_id}} {{account_name}}'),
        ],
      ),
      g.stat(
        25,
        'Centralized root access',
        "aws_iam_organization_feature_enabled{feature=\"RootCredentialsManagement\"} per organization (CIS 7.0 2.1.1): asked once per interval by the exporter's own credentials; no data unless they are the management account or a delegated administrator. Alert: AwsIamCentralizedRootAccessOff.",
        w=5,
        h=8,
        queries=[
          g.q('max by (organization_id) (aws_iam_organization_feature_enabled{feature="RootCredentialsManagement"})', '{{organization_id}}'),
        ],
        steps=g.steps('orange', [[1, 'green']]),
        mappings=g.valueText([[0, 'OFF', 'orange'], [1, 'ON', 'green']]),
        textMode='value_and_name',
      ),
    ]),
  ],
)
