//! Centralized root access: sts:AssumeRoot, and the root-task calls a root session makes (see
//! `scenario/root.rs` for the shapes and the sources).

use std::collections::BTreeMap;

use super::super::super::serve::Resp;
use super::super::clock::fmt_iso_z;
use super::super::root::{AUDIT_TASK_POLICY, MAX_ROOT_SESSION_SECONDS, RootState};
use super::super::state::{IssuedCredentials, ScenarioState};
use super::super::wire::{
    IAM_XMLNS, STS_XMLNS, error_response, ok_xml, page_of, truncation_xml, xml_escape,
};
use super::Call;

/// The member account a `TargetPrincipal` names: a 12-digit account id, or its root's ARN.
pub(super) fn target_account(principal: &str) -> Option<&str> {
    let id = principal
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(_, rest)| rest.strip_suffix(":root"))
        .unwrap_or(principal);
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

fn validation_error(message: &str) -> Resp {
    error_response(STS_XMLNS, 400, "Sender", "ValidationError", message)
}

fn access_denied(message: &str) -> Resp {
    error_response(STS_XMLNS, 403, "Sender", "AccessDenied", message)
}

/// sts:AssumeRoot: validates the request as STS does (`TargetPrincipal`, `TaskPolicyArn.arn`,
/// `DurationSeconds` 0-900), grants the audit task policy only, applies the refusals set on the
/// caller's and the target's account, refuses the management account as a target, then issues
/// root-session credentials bound to the target for `DurationSeconds` (default 900).
pub(super) fn assume_root(st: &mut ScenarioState, call: &Call) -> Resp {
    let params = call.params;
    let Some(principal) = params.get("TargetPrincipal").filter(|p| !p.is_empty()) else {
        return validation_error(
            "1 validation error detected: Value null at 'targetPrincipal' failed to satisfy constraint: Member must not be null",
        );
    };
    let Some(task) = params.get("TaskPolicyArn.arn").filter(|t| !t.is_empty()) else {
        return validation_error(
            "1 validation error detected: Value null at 'taskPolicyArn' failed to satisfy constraint: Member must not be null",
        );
    };
    let duration = match params.get("DurationSeconds").map(|d| d.parse::<i64>()) {
        None => MAX_ROOT_SESSION_SECONDS,
        Some(Ok(d)) if (0..=MAX_ROOT_SESSION_SECONDS).contains(&d) => d,
        Some(Ok(d)) => {
            return validation_error(&format!(
                "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {MAX_ROOT_SESSION_SECONDS}"
            ));
        }
        Some(Err(_)) => return validation_error("DurationSeconds is not an integer"),
    };
    let Some(target) = target_account(principal).map(str::to_owned) else {
        return validation_error(&format!("{principal} is not a valid TargetPrincipal"));
    };
    let (caller_account, caller) = match call.issued {
        Some(i) if i.is_root_session() => {
            return access_denied("You cannot use root user credentials to call AssumeRoot.");
        }
        Some(i) => (i.account_id.clone(), i.principal_arn()),
        None => (
            call.signer_account.to_owned(),
            st.account_mut(call.signer_account).caller_arn.clone(),
        ),
    };
    if task != AUDIT_TASK_POLICY {
        return access_denied(&format!(
            "User: {caller} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root (scenario: only {AUDIT_TASK_POLICY} is granted, as the sts:TaskPolicyArn condition of the exporter's policy grants)"
        ));
    }
    let refusal = st
        .accounts
        .get(&caller_account)
        .and_then(|a| a.assume_root_refusal)
        .or_else(|| st.accounts.get(&target).and_then(|a| a.assume_root_refusal));
    if let Some(r) = refusal {
        return access_denied(&r.message(&caller, &target));
    }
    // The management account is the organization's, else the server's default account.
    let management = st.organization.as_ref().map_or_else(
        || st.default_account.clone(),
        |o| o.management_account_id.clone(),
    );
    let member = match &st.organization {
        Some(o) => o.accounts.iter().any(|a| a.id == target),
        None => st.accounts.contains_key(&target),
    };
    if target == management || !member {
        return access_denied(&format!(
            "User: {caller} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root (scenario: the target is {} of the organization)",
            if member {
                "the management account"
            } else {
                "not a member account"
            }
        ));
    }
    st.account_mut(&target);
    let session = IssuedCredentials {
        account_id: target.clone(),
        role_arn: format!("arn:aws:iam::{target}:root"),
        session_name: "AssumeRoot".into(),
        issued_by: "AssumeRoot".into(),
    };
    let key = st.issue_for(session, time::Duration::seconds(duration));
    let x = format!(
        "\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      \
         <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      \
         <Expiration>{}</Expiration>\n    </Credentials>\n  ",
        key.access_key_id,
        key.secret_access_key,
        key.session_token,
        fmt_iso_z(key.expiration),
    );
    ok_xml(call.action, STS_XMLNS, &x)
}

/// The member root the call's root session acts on; `None` for any other caller (these calls
/// are answered for root sessions only: an IAM user's GetUser is not modelled).
fn root_of<'s>(st: &'s mut ScenarioState, call: &Call) -> Option<&'s RootState> {
    call.issued.filter(|i| i.is_root_session())?;
    Some(&call.account(st).root)
}

/// The answer to a root-task call from another caller than a root session.
fn not_a_root_session(call: &Call) -> Resp {
    error_response(
        IAM_XMLNS,
        400,
        "Sender",
        "InvalidAction",
        &format!(
            "scenario: {} is answered for root sessions (sts:AssumeRoot) only",
            call.action
        ),
    )
}

/// iam:GetUser of root: no `UserName` or `Path`; `PasswordLastUsed` when root ever used one.
pub(super) fn get_user(st: &mut ScenarioState, call: &Call) -> Resp {
    let id = call.account_id;
    let Some(root) = root_of(st, call) else {
        return not_a_root_session(call);
    };
    let mut x = format!(
        "\n    <User>\n      <UserId>{id}</UserId>\n      <Arn>arn:aws:iam::{id}:root</Arn>\n      \
         <CreateDate>{}</CreateDate>\n",
        fmt_iso_z(root.created)
    );
    if let Some(t) = root.password_last_used {
        x.push_str(&format!(
            "      <PasswordLastUsed>{}</PasswordLastUsed>\n",
            fmt_iso_z(t)
        ));
    }
    x.push_str("    </User>\n  ");
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:GetLoginProfile of root: its creation, or 404 `NoSuchEntity` when root has no password.
pub(super) fn get_login_profile(st: &mut ScenarioState, call: &Call) -> Resp {
    let Some(root) = root_of(st, call) else {
        return not_a_root_session(call);
    };
    match root.password_created {
        None => error_response(
            IAM_XMLNS,
            404,
            "Sender",
            "NoSuchEntity",
            "Login Profile for the root user cannot be found.",
        ),
        Some(t) => ok_xml(
            call.action,
            IAM_XMLNS,
            &format!(
                "\n    <LoginProfile>\n      <CreateDate>{}</CreateDate>\n      \
                 <PasswordResetRequired>false</PasswordResetRequired>\n    </LoginProfile>\n  ",
                fmt_iso_z(t)
            ),
        ),
    }
}

/// iam:ListAccessKeys of root, paged.
pub(super) fn list_access_keys(st: &mut ScenarioState, call: &Call) -> Resp {
    let Some(root) = root_of(st, call) else {
        return not_a_root_session(call);
    };
    let (page, marker) = page_of(call.params, None, &root.access_keys);
    let mut x = String::from("\n    <AccessKeyMetadata>\n");
    for k in page {
        x.push_str(&format!(
            "      <member>\n        <AccessKeyId>{}</AccessKeyId>\n        <Status>{}</Status>\n        \
             <CreateDate>{}</CreateDate>\n      </member>\n",
            xml_escape(&k.id),
            if k.active { "Active" } else { "Inactive" },
            fmt_iso_z(k.created)
        ));
    }
    x.push_str("    </AccessKeyMetadata>\n");
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:GetAccessKeyLastUsed of one of root's keys: `N/A` names and no date when never used.
pub(super) fn get_access_key_last_used(st: &mut ScenarioState, call: &Call) -> Resp {
    let id = call.params.get("AccessKeyId").cloned().unwrap_or_default();
    let Some(root) = root_of(st, call) else {
        return not_a_root_session(call);
    };
    let Some(key) = root.access_keys.iter().find(|k| k.id == id) else {
        return error_response(
            IAM_XMLNS,
            404,
            "Sender",
            "NoSuchEntity",
            &format!("The Access Key with id {id} cannot be found."),
        );
    };
    let used = match &key.last_used {
        Some((t, service, region)) => format!(
            "        <LastUsedDate>{}</LastUsedDate>\n        <ServiceName>{}</ServiceName>\n        \
             <Region>{}</Region>\n",
            fmt_iso_z(*t),
            xml_escape(service),
            xml_escape(region)
        ),
        None => "        <ServiceName>N/A</ServiceName>\n        <Region>N/A</Region>\n".into(),
    };
    ok_xml(
        call.action,
        IAM_XMLNS,
        &format!("\n    <AccessKeyLastUsed>\n{used}    </AccessKeyLastUsed>\n  "),
    )
}

/// iam:ListMFADevices of root, paged: serials as AWS gives each kind.
pub(super) fn list_mfa_devices(st: &mut ScenarioState, call: &Call) -> Resp {
    let Some(root) = root_of(st, call) else {
        return not_a_root_session(call);
    };
    let (page, marker) = page_of(call.params, None, &root.mfa_devices);
    let mut x = String::from("\n    <MFADevices>\n");
    for d in page {
        x.push_str(&format!(
            "      <member>\n        <SerialNumber>{}</SerialNumber>\n        \
             <EnableDate>{}</EnableDate>\n      </member>\n",
            xml_escape(&d.serial),
            fmt_iso_z(d.enabled)
        ));
    }
    x.push_str("    </MFADevices>\n");
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:ListSigningCertificates of root, paged.
pub(super) fn list_signing_certificates(st: &mut ScenarioState, call: &Call) -> Resp {
    let Some(root) = root_of(st, call) else {
        return not_a_root_session(call);
    };
    let (page, marker) = page_of(call.params, None, &root.signing_certificates);
    let mut x = String::from("\n    <Certificates>\n");
    for c in page {
        x.push_str(&format!(
            "      <member>\n        <CertificateId>{}</CertificateId>\n        \
             <CertificateBody>-----BEGIN CERTIFICATE-----\nMIIBscenario\n-----END CERTIFICATE-----</CertificateBody>\n        \
             <Status>{}</Status>\n        <UploadDate>{}</UploadDate>\n      </member>\n",
            xml_escape(&c.id),
            if c.active { "Active" } else { "Inactive" },
            fmt_iso_z(c.uploaded)
        ));
    }
    x.push_str("    </Certificates>\n");
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// Whether a root session may make this call: one of the task policy's actions, on root
/// itself (no `UserName`) where the action acts on a user.
pub(super) fn allowed_for_root_session(action: &str, params: &BTreeMap<String, String>) -> bool {
    super::super::root::AUDIT_TASK_ACTIONS
        .iter()
        .any(|(a, on_root)| *a == action && !(*on_root && params.contains_key("UserName")))
}
