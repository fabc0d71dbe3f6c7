// Group aws-iam-exporter.credentials: service-specific credentials (Bedrock API keys, their
// rotation, the lifetime of every service's API keys), the SSL/TLS server certificates stored
// in IAM, and the organization's centralized root access.
// Each alert: utils.alert(config, name) { expr, and the hidden summary, description, runbook
// and comment }; its severity and `for:` are in config.libsonnet (docs/alerts.md, Add an alert).
local utils = import '../lib/utils.libsonnet';

function(config) {
  name: 'aws-iam-exporter.credentials',
  rules: [
    utils.alert(config, 'AwsIamBedrockLongTermApiKey') {
      comment:: |||
        ListServiceSpecificCredentials is live (not the 4h credential report): 30m is enough
        to ride out a key created and deleted by a test. Value = active, unexpired
        bedrock.amazonaws.com credentials.
      |||,
      expr: |||
        max by (account_id, account_name, control) (
            aws_iam_control_failing_resources{control="bedrock_long_term_api_key"}
          and
            aws_iam_control_failing{control="bedrock_long_term_api_key"} == 1
        )
      |||,
      summary:: '{{ $value | humanize }} long-term Amazon Bedrock API key(s) active in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}',
      description:: |||
        {{ $value | humanize }} active, unexpired Amazon Bedrock API key(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        are IAM service-specific credentials: long-term secrets that never appear in the credential
        report. AWS recommends short-term Bedrock API keys (generated from a session, valid at most
        12 hours). Find each with `aws iam list-service-specific-credentials --all-users --service-name bedrock.amazonaws.com`,
        move its user to short-term keys or IAM roles, then deactivate and delete it.
      |||,
      runbook:: |||
        1. Find the keys: aws iam list-service-specific-credentials --all-users --service-name bedrock.amazonaws.com, or aws_iam_service_specific_credential_created_timestamp_seconds{service="bedrock.amazonaws.com"} (PromQL, with --metrics.per-user).
        2. Ask each owner to switch to short-term Bedrock API keys (aws-bedrock-token-generator) or to IAM role credentials.
        3. Fix: aws iam update-service-specific-credential --user-name USER --service-specific-credential-id ACCA... --status Inactive, then aws iam delete-service-specific-credential once nothing breaks. Deny iam:CreateServiceSpecificCredential for bedrock.amazonaws.com (iam:ServiceSpecificCredentialServiceName) with an SCP.
        4. A key that must stay is a reviewed exception with an expiry (create it with --credential-age-days); silence it per account with the ticket.
      |||,
    },
    utils.alert(config, 'AwsIamServiceCredentialNotRotated') {
      comment:: |||
        Same age as access keys (--control.access-key-max-age, 90 days by default). Value =
        active service-specific credentials (CodeCommit, Keyspaces, Bedrock...) older than that.
      |||,
      expr: |||
        max by (account_id, account_name, control) (
            aws_iam_control_failing_resources{control="service_credential_rotation"}
          and
            aws_iam_control_failing{control="service_credential_rotation"} == 1
        )
      |||,
      summary:: '{{ $value | humanize }} service-specific credential(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} not rotated for 90+ days',
      description:: |||
        {{ $value | humanize }} active service-specific credential(s) (CodeCommit HTTPS Git, Amazon Keyspaces,
        Bedrock API keys) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        are older than the rotation threshold (90 days by default, --control.access-key-max-age).
        They are long-lived secrets like access keys. Rotate each: create a second credential with
        `aws iam create-service-specific-credential`, deploy it, deactivate and delete the old one.
      |||,
      runbook:: |||
        1. Find them: aws iam list-service-specific-credentials --all-users (CreateDate, Status), or (time() - aws_iam_service_specific_credential_created_timestamp_seconds) / 86400 > 90 (PromQL, with --metrics.per-user).
        2. Rotate: aws iam create-service-specific-credential --user-name USER --service-name SERVICE (at most two per user and service), deploy it, then aws iam update-service-specific-credential --service-specific-credential-id ACCA_OLD --status Inactive, and delete it after a grace period.
        3. Prefer credential-less access where the service has it (git-remote-codecommit with IAM roles, SigV4 plugins for Keyspaces).
        4. Silence per account for a ticketed rotation window only.
      |||,
    },
    utils.alert(config, 'AwsIamApiKeyLifetimeTooLong') {
      comment:: |||
        Every service's API keys (service-specific credentials but CodeCommit's and Keyspaces'
        passwords), live like Bedrock's: 30m. Value = active API keys that never expire or
        live longer than --control.api-key-max-lifetime (90 days by default). A Bedrock key
        that never expires also raises AwsIamBedrockLongTermApiKey; deleting it clears both.
      |||,
      expr: |||
        max by (account_id, account_name, control) (
            aws_iam_control_failing_resources{control="api_key_lifetime"}
          and
            aws_iam_control_failing{control="api_key_lifetime"} == 1
        )
      |||,
      summary:: '{{ $value | humanize }} API key(s) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }} never expire or live longer than the lifetime limit',
      description:: |||
        {{ $value | humanize }} active API key(s) (service-specific credentials of Bedrock, CloudWatch, CloudWatch Logs
        or another API-key service) in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        never expire, or expire longer after their creation than --control.api-key-max-lifetime (90 days by default).
        They are bearer secrets outside the credential report. Replace each with a key created with an
        expiry (`--credential-age-days`), or with short-term credentials, then deactivate and delete it.
      |||,
      runbook:: |||
        1. Find them: aws iam list-service-specific-credentials --all-users (ServiceName, CreateDate, ExpirationDate: none means never), or aws-iam-exporter audit --format json (the offenders of api_key_lifetime).
        2. Replace: aws iam create-service-specific-credential --user-name USER --service-name SERVICE --credential-age-days 90 (or short-term credentials where the service has them), deploy it.
        3. Then aws iam update-service-specific-credential --user-name USER --service-specific-credential-id ACCA_OLD --status Inactive, and delete it after a grace period. Require iam:ServiceSpecificCredentialAgeDays in an SCP so that no new key lives longer.
        4. A key that must stay is a reviewed exception; silence it per account with the ticket until it expires.
      |||,
    },
    utils.alert(config, 'AwsIamServerCertificateExpired') {
      comment:: |||
        CIS 1.19 (1.18 in 5.0, 2.18 in 6.0, 2.17 in 7.0), Security Hub IAM.26. ListServerCertificates
        is live; 1h rides out a certificate replaced and deleted in one change. Value = expired
        certificates.
      |||,
      expr: |||
        max by (account_id, account_name, control, cis, securityhub) (
            aws_iam_control_failing_resources{control="expired_server_certificate"}
          and
            aws_iam_control_failing{control="expired_server_certificate"} == 1
        )
      |||,
      summary:: '{{ $value | humanize }} expired SSL/TLS server certificate(s) stored in IAM in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}',
      description:: |||
        {{ $value | humanize }} SSL/TLS server certificate(s) stored in IAM in AWS account {{ $labels.account_id }}{{ with $labels.account_name }} ({{ . }}){{ end }}
        are past their expiration (CIS {{ $labels.cis }}, Security Hub {{ $labels.securityhub }}). An expired certificate can
        still be attached to a load balancer or a CloudFront distribution by mistake. Check that nothing uses it, then delete it
        with `aws iam delete-server-certificate`; issue new certificates with AWS Certificate Manager.
      |||,
      runbook:: |||
        1. Find them: aws iam list-server-certificates (Expiration), or aws_iam_server_certificate_expiration_timestamp_seconds < time() (PromQL).
        2. Check that no listener uses one: aws elbv2 describe-listener-certificates / aws elb describe-load-balancers (SSLCertificateId), aws cloudfront list-distributions (IAMCertificateId).
        3. Fix: aws iam delete-server-certificate --server-certificate-name NAME; move to AWS Certificate Manager, which renews.
        4. Silence per account only for a ticketed replacement window.
      |||,
    },
    utils.alert(config, 'AwsIamCentralizedRootAccessOff') {
      comment:: |||
        Organization-wide, asked once per interval with the exporter's own credentials (the
        management account or a delegated administrator); absent, so quiet, everywhere else.
        Not a page: CIS 7.0 2.1.1 is Level 2, and enabling it removes no credential by itself.
      |||,
      expr: |||
        max by (organization_id) (
          aws_iam_organization_feature_enabled{feature="RootCredentialsManagement"}
        ) == 0
      |||,
      summary:: 'Centralized root access is off in AWS organization {{ $labels.organization_id }}',
      description:: |||
        RootCredentialsManagement is not enabled in AWS organization {{ $labels.organization_id }}
        (CIS 7.0 2.1.1, control root_credentials_management). Every member account keeps a root user
        that can have a password, access keys and MFA of its own. Enabling it lets the management
        account remove member accounts' root credentials and take audited root sessions instead;
        it does not remove existing credentials by itself.
      |||,
      runbook:: |||
        1. Verify from the management account: aws iam list-organizations-features (EnabledFeatures lacks RootCredentialsManagement).
        2. Fix: aws organizations enable-aws-service-access --service-principal iam.amazonaws.com, then aws iam enable-organizations-root-credentials-management (and optionally enable-organizations-root-sessions).
        3. Then remove member accounts' root credentials (aws sts assume-root with the IAMDeleteRootUserCredentials task policy) and watch aws_iam_root_credentials_present fall to 0.
        4. Route severity=info to a ticket queue; an organization that decided against it silences this alert with the decision's reference.
      |||,
    },
  ],
}
