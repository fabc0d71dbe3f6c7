//! The lists of credentials beside the report: virtual MFA devices and service-specific
//! credentials.

use super::super::super::serve::Resp;
use super::super::clock::{days_ago, fmt_iso_z};
use super::super::state::{MfaUser, ScenarioState, ServiceCredentialRow, VirtualMfa};
use super::super::wire::{IAM_XMLNS, ok_xml, page_of, truncation_xml, xml_escape};
use super::Call;

/// iam:ListVirtualMFADevices: filtered by `AssignmentStatus`, paged.
pub(super) fn list_virtual_mfa_devices(st: &mut ScenarioState, call: &Call) -> Resp {
    let account_id = call.account_id;
    let a = call.account(st);
    let status = call
        .params
        .get("AssignmentStatus")
        .map(String::as_str)
        .unwrap_or("Any");
    let matching: Vec<&VirtualMfa> = a
        .virtual_mfa
        .iter()
        .filter(|d| match status {
            "Assigned" => d.user.is_some(),
            "Unassigned" => d.user.is_none(),
            _ => true,
        })
        .collect();
    let (page, marker) = page_of(call.params, a.virtual_mfa_page_size, &matching);
    let mut x = String::from("\n    <VirtualMFADevices>\n");
    for d in page {
        x.push_str("      <member>\n");
        x.push_str(&format!(
            "        <SerialNumber>{}</SerialNumber>\n",
            xml_escape(&d.serial_number)
        ));
        match &d.user {
            Some(MfaUser::Root) => x.push_str(&format!(
                "        <User>\n          <UserId>{account_id}</UserId>\n          \
                 <Arn>arn:aws:iam::{account_id}:root</Arn>\n          \
                 <CreateDate>{}</CreateDate>\n        </User>\n",
                fmt_iso_z(days_ago(3 * 365))
            )),
            Some(MfaUser::User(name)) => x.push_str(&format!(
                "        <User>\n          <Path>/</Path>\n          <UserName>{n}</UserName>\n          \
                 <UserId>AIDA{id}</UserId>\n          <Arn>arn:aws:iam::{account_id}:user/{n}</Arn>\n          \
                 <CreateDate>{}</CreateDate>\n        </User>\n",
                fmt_iso_z(days_ago(365)),
                n = xml_escape(name),
                id = name.len()
            )),
            None => {}
        }
        if let Some(t) = d.enable_date {
            x.push_str(&format!(
                "        <EnableDate>{}</EnableDate>\n",
                fmt_iso_z(t)
            ));
        }
        x.push_str("      </member>\n");
    }
    x.push_str("    </VirtualMFADevices>\n");
    if a.virtual_mfa_empty_marker {
        x.push_str("    <IsTruncated>true</IsTruncated>\n    <Marker></Marker>\n  ");
        return ok_xml(call.action, IAM_XMLNS, &x);
    }
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:ListServiceSpecificCredentials: one user's, or every user's with `AllUsers`, paged.
pub(super) fn list_service_specific_credentials(st: &mut ScenarioState, call: &Call) -> Resp {
    let account_id = call.account_id;
    let a = call.account(st);
    let all = call.params.get("AllUsers").is_some_and(|v| v == "true");
    let user = call.params.get("UserName");
    let matching: Vec<&ServiceCredentialRow> = a
        .service_credentials
        .iter()
        .filter(|c| all || user.is_some_and(|u| *u == c.user))
        .collect();
    let (page, marker) = page_of(call.params, a.service_credentials_page_size, &matching);
    let mut x = String::from("\n    <ServiceSpecificCredentials>\n");
    for c in page {
        x.push_str("      <member>\n");
        x.push_str(&format!(
            "        <UserName>{}</UserName>\n",
            xml_escape(&c.user)
        ));
        x.push_str(&format!("        <Status>{}</Status>\n", c.status));
        x.push_str(&format!(
            "        <ServiceUserName>{}-at-{account_id}</ServiceUserName>\n",
            xml_escape(&c.user)
        ));
        // API keys (Bedrock, CloudWatch Logs, ...) carry a public alias; the older kinds
        // (CodeCommit, Keyspaces) a user name and a password only.
        if !matches!(
            c.service.as_str(),
            "codecommit.amazonaws.com" | "cassandra.amazonaws.com"
        ) {
            x.push_str(&format!(
                "        <ServiceCredentialAlias>{}+1-at-{account_id}</ServiceCredentialAlias>\n",
                xml_escape(&c.user)
            ));
        }
        x.push_str(&format!(
            "        <CreateDate>{}</CreateDate>\n",
            fmt_iso_z(c.created)
        ));
        if let Some(e) = c.expires {
            x.push_str(&format!(
                "        <ExpirationDate>{}</ExpirationDate>\n",
                fmt_iso_z(e)
            ));
        }
        x.push_str(&format!(
            "        <ServiceSpecificCredentialId>{}</ServiceSpecificCredentialId>\n",
            xml_escape(&c.id)
        ));
        x.push_str(&format!(
            "        <ServiceName>{}</ServiceName>\n",
            xml_escape(&c.service)
        ));
        x.push_str("      </member>\n");
    }
    x.push_str("    </ServiceSpecificCredentials>\n");
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}
