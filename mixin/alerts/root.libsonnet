// Group aws-iam-exporter.root: the root user of each AWS account (access key, MFA, use).
// Each alert: utils.alert(config, name) { expr, and the hidden summary, description, runbook
// and comment }; its severity and `for:` are in config.libsonnet (docs/alerts.md, Add an alert).
local utils = import '../lib/utils.libsonnet';

function(config) {
  name: 'aws-iam-exporter.root',
  rules: [
    utils.alert(config, 'AwsIamRootAccessKeyPresent') {
      comment:: |||
        Either source is enough: the account summary (counts inactive keys too) or the
        credential report's per-key flags. max by() folds both (and all replicas) into a
        single alert per account.
      |||,
      expr: |||
        max by (account_id, account_name) (
            aws_iam_root_access_keys_present == 1
          or
            aws_iam_root_access_key_active == 1
        )
      |||,
      summary:: 'Root user access key exists in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}',
      description:: |||
        The root user of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        has an access key (CIS 1.4, Security Hub IAM.4). A root key gives unrestricted API access to
        the whole account and is not protected by MFA; an inactive key still counts.
        Treat it as a potential incident: verify with
        `aws iam get-account-summary --query SummaryMap.AccountAccessKeysPresent`, search CloudTrail
        for calls made with it, then sign in as root and DELETE the key
        (Security credentials > Access keys > Actions > Delete).
      |||,
      runbook:: |||
        1. Verify: aws iam get-account-summary --query SummaryMap.AccountAccessKeysPresent --output text (1 = a root key exists, active or not).
        2. If the key was used (access_key_N_last_used_date of the <root_account> row of the credential report), treat it as an incident: look up the CloudTrail events of root.
        3. Fix: sign in as root > Security credentials > Access keys > Actions > Delete, for every key (deactivating is not enough). In an Organizations member account, an aws sts assume-root session with the IAMDeleteRootUserCredentials task policy can delete it too.
        4. Silence only while the root credential holder is being reached, with the incident id; never permanently.
      |||,
    },
    utils.alert(config, 'AwsIamRootMfaDisabled') {
      comment:: |||
        min: any replica reporting 0 is enough. A root with no credential at all (no password,
        access key or signing certificate: an Organizations member account under centralized
        root access) needs no MFA (CIS 5.0 1.4); max: any replica seeing a credential pages.
      |||,
      expr: |||
        min by (account_id, account_name) (aws_iam_root_mfa_enabled) == 0
        unless on (account_id, account_name)
          max by (account_id, account_name) (aws_iam_root_credentials_present) == 0
      |||,
      summary:: 'Root user of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} has no MFA',
      description:: |||
        The root user of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        has no MFA device (CIS 1.5, Security Hub IAM.9). Whoever knows the root e-mail and password (or can reset it)
        owns the account. Sign in as root, open Security credentials > Multi-factor authentication
        and assign a device (hardware MFA preferred, CIS 1.6), then confirm
        `aws iam get-account-summary --query SummaryMap.AccountMFAEnabled` returns 1.
      |||,
      runbook:: |||
        1. Verify: aws iam get-account-summary --query SummaryMap.AccountMFAEnabled --output text (0 = no root MFA). If root had MFA before, look for DeactivateMFADevice by root in CloudTrail and treat it as an incident.
        2. Fix: sign in as root > Security credentials > Multi-factor authentication (MFA) > Assign MFA device; prefer a hardware key (CIS 1.6) and register a backup device.
        3. Silence only while the root credential holder is being reached (hours), with a ticket.
      |||,
    },
    utils.alert(config, 'AwsIamRootAccountUsed') {
      comment:: |||
        aws_iam_root_last_used_seconds is computed at scrape time and absent if root was never
        used. Fires for 24h after the most recent use seen in the credential report (which can
        lag up to ~4h behind reality). min: most recent use across replicas.
      |||,
      expr: |||
        min by (account_id, account_name) (aws_iam_root_last_used_seconds) < 86400
      |||,
      summary:: 'Root user of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} was used {{ $value | humanizeDuration }} ago',
      description:: |||
        The root user of AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        signed in or used an access key {{ $value | humanizeDuration }} ago (CIS 1.7: eliminate use of
        the root user).
        Confirm with the account owner that this was a planned break-glass action. If nobody
        can vouch for it, treat it as a compromise: review CloudTrail events with
        userIdentity.type=Root, reset the root password, check root MFA and delete any root
        access keys. The alert clears by itself 24h after the last use.
      |||,
      runbook:: |||
        1. Verify: aws cloudtrail lookup-events --region us-east-1 --lookup-attributes AttributeKey=Username,AttributeValue=root --max-results 50 (ConsoleLogin and API calls by root).
        2. Find who used root and why: planned break-glass work has a change ticket.
        3. If nobody vouches for it, treat it as a compromise: reset the root password, check root MFA, delete root access keys, review what root did in CloudTrail.
        4. Routine use: move that work to IAM roles or IAM Identity Center. The alert clears 24h after the use; silence only a ticketed change window.
      |||,
    },
  ],
}
