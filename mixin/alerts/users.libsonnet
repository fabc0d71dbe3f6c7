// Group aws-iam-exporter.users: IAM user hygiene (two active keys, key rotation, unused
// credentials, console users without MFA).
// Each alert: utils.alert(config, name) { expr, and the hidden summary, description, runbook
// and comment }; its severity and `for:` are in config.libsonnet (docs/alerts.md, Add an alert).
local utils = import '../lib/utils.libsonnet';

function(config) {
  name: 'aws-iam-exporter.users',
  rules: [
    utils.alert(config, 'AwsIamUsersWithMultipleActiveKeys') {
      comment:: |||
        6h: a rotation legitimately has two active keys for a while, and the credential
        report can show the old state for up to 4h after the old key is deactivated.
      |||,
      expr: |||
        max by (account_id, account_name) (aws_iam_users_with_multiple_active_keys) > 0
      |||,
      summary:: '{{ $value | humanize }} IAM user(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} have two active access keys',
      description:: |||
        {{ $value | humanize }} IAM user(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        have had two active access keys for more than 6 hours (CIS 1.13). A second key is only
        normal during a rotation. Find the users in the "AWS IAM / Account detail" dashboard or the
        credential report, keep the key that is in use and deactivate the other with
        `aws iam update-access-key --user-name USER --access-key-id KEY --status Inactive`.
      |||,
      runbook:: |||
        1. Find the users: aws_iam_user_active_access_keys == 2 (PromQL), or the AWS IAM / Account detail dashboard.
        2. For each, aws iam get-access-key-last-used on both keys; keep the key in use, then aws iam update-access-key --user-name USER --access-key-id AKIA_OLD --status Inactive, and delete it after a grace period.
        3. Silence only a ticketed rotation that takes longer than 6h.
      |||,
    },
    utils.alert(config, 'AwsIamAccessKeyNotRotated') {
      comment:: |||
        Works with --metrics.per-user=false: the control series are always exported.
        Value = number of failing keys (aws_iam_control_failing_resources); fires whenever
        the control fails.
      |||,
      expr: |||
        max by (account_id, account_name, control, cis, securityhub) (
            aws_iam_control_failing_resources{control="access_key_rotation"}
          and
            aws_iam_control_failing{control="access_key_rotation"} == 1
        )
      |||,
      summary:: '{{ $value | humanize }} active access key(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} not rotated for 90+ days',
      description:: |||
        {{ $value | humanize }} active access key(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        are older than the rotation threshold (90 days by default; CIS {{ $labels.cis }}, Security Hub {{ $labels.securityhub }}).
        For each key: create a second key, deploy it, confirm the old key's last use stops, then
        `aws iam update-access-key --user-name USER --access-key-id OLDKEY --status Inactive` and
        delete it after a grace period. Prefer IAM roles / IAM Identity Center over long-lived keys.
      |||,
      runbook:: |||
        1. Find the keys: (time() - aws_iam_access_key_last_rotated_timestamp_seconds) / 86400 > 90 (PromQL).
        2. Rotate: aws iam create-access-key --user-name USER, deploy the new key, confirm the old key is idle (aws iam get-access-key-last-used), deactivate it, delete it after a grace period.
        3. A key nobody uses: deactivate it instead. Long term, replace access keys with IAM roles.
        4. Silence per account for a ticketed rotation window; a key that cannot be rotated is a reviewed exception, not a silence.
      |||,
    },
    utils.alert(config, 'AwsIamCredentialsUnused') {
      expr: |||
        max by (account_id, account_name, control, cis, securityhub) (
            aws_iam_control_failing_resources{control="unused_credentials_45d"}
          and
            aws_iam_control_failing{control="unused_credentials_45d"} == 1
        )
      |||,
      summary:: '{{ $value | humanize }} IAM credential(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} unused for 45+ days',
      description:: |||
        {{ $value | humanize }} IAM console password(s) or active access key(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        have not been used for 45 days or more (CIS {{ $labels.cis }}, Security Hub {{ $labels.securityhub }}).
        Unused credentials are pure attack surface. Confirm with the owner, then deactivate keys with
        `aws iam update-access-key --user-name USER --access-key-id KEY --status Inactive` and remove
        unused console passwords with `aws iam delete-login-profile --user-name USER`.
      |||,
      runbook:: |||
        1. Find them (PromQL): (time() - aws_iam_access_key_last_used_timestamp_seconds) / 86400 > 45, aws_iam_access_key_never_used == 1, (time() - aws_iam_user_password_last_used_timestamp_seconds) / 86400 > 45.
        2. Confirm with the owner, then aws iam update-access-key --user-name USER --access-key-id AKIA... --status Inactive for a key, aws iam delete-login-profile --user-name USER for a password.
        3. Route severity=info to a ticket queue rather than silencing it.
      |||,
    },
    utils.alert(config, 'AwsIamConsoleUserWithoutMfa') {
      comment:: |||
        6h: a new console user needs time to enrol MFA, and the report lags up to 4h.
      |||,
      expr: |||
        max by (account_id, account_name) (aws_iam_console_users_without_mfa) > 0
      |||,
      summary:: '{{ $value | humanize }} console user(s) without MFA in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}',
      description:: |||
        {{ $value | humanize }} IAM user(s) with a console password in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        have no MFA device (CIS 1.10, Security Hub IAM.5). Ask each user to assign an MFA device
        (IAM > Users > USER > Security credentials > Assign MFA device); if the console password is
        not needed remove it with `aws iam delete-login-profile --user-name USER`. Consider an IAM
        policy that denies everything except MFA self-service when aws:MultiFactorAuthPresent is false.
      |||,
      runbook:: |||
        1. Find the users: aws_iam_user_password_enabled == 1 and on (account_id, user) aws_iam_user_mfa_active == 0 (PromQL).
        2. Ask each to assign MFA (IAM > Users > USER > Security credentials > Assign MFA device), or remove a password the user does not need: aws iam delete-login-profile --user-name USER.
        3. Enforce MFA with a policy that denies everything without aws:MultiFactorAuthPresent, or with IAM Identity Center. Silence only one user's onboarding window (a day or two), with a ticket.
      |||,
    },
  ],
}
