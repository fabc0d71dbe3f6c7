// Group aws-iam-exporter.exposure: access keys AWS found in public (its exposed-key quarantine).
// Each alert: utils.alert(config, name) { expr, and the hidden summary, description, runbook
// and comment }; its severity and `for:` are in config.libsonnet (docs/alerts.md, Add an alert).
local utils = import '../lib/utils.libsonnet';

function(config) {
  name: 'aws-iam-exporter.exposure',
  rules: [
    utils.alert(config, 'AwsIamAccessKeyExposed') {
      comment:: |||
        One alert per quarantined user and quarantine policy (aws_iam_user_quarantined is kept
        without per-user series): AWS found the user's access key in public and attached
        AWSCompromisedKeyQuarantine* (any version). A quarantine on a role only (no user) pages
        once per account, without a user label, through the control. The exporter checks every
        --refresh.fast-interval (1m); max by() folds replicas.
      |||,
      expr: |||
        max by (account_id, account_name, user, policy) (aws_iam_user_quarantined == 1)
        or on (account_id, account_name)
          max by (account_id, account_name) (
            aws_iam_control_failing{control="exposed_key_quarantine"} == 1
          )
      |||,
      summary:: '{{ if $labels.user }}Access key of IAM user {{ $labels.user }} found in public by AWS ({{ $labels.policy }} attached){{ else }}AWS exposed-key quarantine policy attached to a role{{ end }} in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}',
      description:: |||
        {{ if $labels.user }}AWS found an access key of IAM user {{ $labels.user }} of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        in a public place and attached its quarantine policy {{ $labels.policy }}, opened a Support case and e-mailed the
        account's contacts. The key still works: the policy only denies some actions. Deactivate the key now with an
        administrator's credentials, find everything it did in CloudTrail since it leaked, and only then detach the
        policy.{{ else }}An AWS exposed-key quarantine policy is attached to a role of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        (aws_iam_quarantine_policy_attachments{entity="role"}). AWS quarantines users, so someone in your organization
        attached it: find out who and why (AttachRolePolicy in CloudTrail) before anything else.{{ end }}
      |||,
      runbook:: |||
        1. Verify: aws iam list-entities-for-policy --policy-arn arn:aws:iam::aws:policy/POLICY, then aws iam list-access-keys --user-name USER (the Support case names the exposed key id).
        2. Contain now, as an administrator (the quarantine denies the user UpdateAccessKey): aws iam update-access-key --user-name USER --access-key-id AKIA... --status Inactive; delete it (aws iam delete-access-key) once its callers have another credential; sessions it issued last up to 36h: deny them with an inline policy on aws:TokenIssueTime.
        3. Investigate since the leak, not since the alert: aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=AKIA... in every region (Athena over the trail for data events and older ones); remove users, keys and roles the attacker created.
        4. Only then detach the policy (aws iam detach-user-policy --user-name USER --policy-arn arn:aws:iam::aws:policy/POLICY). Detaching it first is the mistake: it lifts the denies while the key still works.
        5. Silence only after the key is deleted, until the planned detach, with the incident id.
      |||,
    },
  ],
}
