//! STS: who is calling, and the roles it may assume (with the caller's credentials, or with a
//! web identity token as IRSA does).

use super::super::super::serve::Resp;
use super::super::clock::fmt_iso_z;
use super::super::state::{IssuedCredentials, IssuedKey, ScenarioState};
use super::super::wire::{STS_XMLNS, error_response, ok_xml, xml_escape};
use super::Call;

/// sts:GetCallerIdentity: the account's own caller, the assumed role's session, or a root
/// session's root (whose `UserId` is the account id).
pub(super) fn get_caller_identity(st: &mut ScenarioState, call: &Call) -> Resp {
    let account_id = call.account_id;
    let a = call.account(st);
    let (arn, user_id) = match call.issued {
        Some(i) if i.is_root_session() => (i.principal_arn(), account_id.to_owned()),
        Some(i) => (
            i.assumed_role_arn(),
            format!("AROAEXAMPLEROLEID:{}", i.session_name),
        ),
        None => (a.caller_arn.clone(), a.caller_user_id.clone()),
    };
    let x = format!(
        "\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{account_id}</Account>\n  ",
        xml_escape(&arn),
        xml_escape(&user_id)
    );
    ok_xml(call.action, STS_XMLNS, &x)
}

/// sts:AssumeRole into `arn:aws:iam::<id>:role/<name>`: allowed when account `<id>` exists
/// and the role is not denied on it.
pub(super) fn assume_role(st: &mut ScenarioState, call: &Call) -> Resp {
    let caller = match call.issued {
        Some(i) => i.assumed_role_arn(),
        None => call.account(st).caller_arn.clone(),
    };
    assume(st, call, &caller, |_| None)
}

/// sts:AssumeRoleWithWebIdentity (IRSA, unsigned): like AssumeRole, given a non-empty
/// `WebIdentityToken` (the test reads the token sent among the recorded requests).
pub(super) fn assume_role_with_web_identity(st: &mut ScenarioState, call: &Call) -> Resp {
    assume(st, call, "a web identity", |params| {
        let empty = params.get("WebIdentityToken").is_none_or(String::is_empty);
        empty.then(|| {
            error_response(
                STS_XMLNS,
                400,
                "Sender",
                "InvalidIdentityToken",
                "The web identity token that was passed could not be validated by AWS.",
            )
        })
    })
}

/// The AssumeRole family: validates `RoleArn` (and the call's own parameters with `refuse`),
/// checks that the role may be entered, issues credentials for it, answers them.
fn assume(
    st: &mut ScenarioState,
    call: &Call,
    caller: &str,
    refuse: impl Fn(&std::collections::BTreeMap<String, String>) -> Option<Resp>,
) -> Resp {
    let &Call { action, params, .. } = call;
    let role_arn = params.get("RoleArn").cloned().unwrap_or_default();
    let session = params
        .get("RoleSessionName")
        .cloned()
        .unwrap_or_else(|| "session".into());
    // arn:aws:iam::<account>:role/<name>
    let parts: Vec<&str> = role_arn.split(':').collect();
    let target = (parts.len() == 6 && parts[2] == "iam" && parts[5].starts_with("role/"))
        .then(|| parts[4].to_string());
    let Some(target) = target else {
        return error_response(
            STS_XMLNS,
            400,
            "Sender",
            "ValidationError",
            &format!("{role_arn} is invalid"),
        );
    };
    if let Some(refusal) = refuse(params) {
        return refusal;
    }
    let allowed = st
        .accounts
        .get(&target)
        .is_some_and(|t| !t.deny_assume_role.contains(&role_arn));
    if !allowed {
        return error_response(
            STS_XMLNS,
            403,
            "Sender",
            "AccessDenied",
            &format!(
                "User: {caller} is not authorized to perform: sts:{action} on resource: {role_arn}"
            ),
        );
    }
    let session = IssuedCredentials {
        account_id: target,
        role_arn,
        session_name: session,
        issued_by: action.to_string(),
    };
    let key = st.issue(session.clone());
    ok_xml(action, STS_XMLNS, &credentials_xml(&key, &session))
}

/// The `<Credentials>` and `<AssumedRoleUser>` of an AssumeRole-family answer.
fn credentials_xml(key: &IssuedKey, session: &IssuedCredentials) -> String {
    format!(
        "\n    <Credentials>\n      <AccessKeyId>{akid}</AccessKeyId>\n      \
         <SecretAccessKey>{secret}</SecretAccessKey>\n      \
         <SessionToken>{token}</SessionToken>\n      <Expiration>{exp}</Expiration>\n    \
         </Credentials>\n    <AssumedRoleUser>\n      <AssumedRoleId>AROAEXAMPLEROLEID:{s}</AssumedRoleId>\n      \
         <Arn>{arn}</Arn>\n    </AssumedRoleUser>\n  ",
        akid = key.access_key_id,
        secret = key.secret_access_key,
        token = key.session_token,
        exp = fmt_iso_z(key.expiration),
        s = xml_escape(&session.session_name),
        arn = xml_escape(&session.assumed_role_arn()),
    )
}
