//! The account-wide answers: the summary, the password policy, the organization's
//! centralized root access features.

use super::super::super::serve::Resp;
use super::super::state::ScenarioState;
use super::super::wire::{IAM_XMLNS, error_response, ok_xml, xml_escape};
use super::Call;

/// iam:GetAccountSummary: the account's `SummaryMap`, any key.
pub(super) fn get_account_summary(st: &mut ScenarioState, call: &Call) -> Resp {
    let a = call.account(st);
    let mut x = String::from("\n    <SummaryMap>\n");
    for (k, v) in &a.summary {
        x.push_str(&format!(
            "      <entry>\n        <key>{}</key>\n        <value>{v}</value>\n      </entry>\n",
            xml_escape(k)
        ));
    }
    x.push_str("    </SummaryMap>\n  ");
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:GetAccountPasswordPolicy: the policy, or 404 NoSuchEntity when there is none.
pub(super) fn get_account_password_policy(st: &mut ScenarioState, call: &Call) -> Resp {
    let a = call.account(st);
    match &a.password_policy {
        None => error_response(
            IAM_XMLNS,
            404,
            "Sender",
            "NoSuchEntity",
            &format!(
                "The Password Policy with domain name {} cannot be found.",
                call.account_id
            ),
        ),
        Some(p) => {
            let mut x = String::from("\n    <PasswordPolicy>\n");
            let mut f = |k: &str, v: String| {
                x.push_str(&format!("      <{k}>{v}</{k}>\n"));
            };
            f(
                "AllowUsersToChangePassword",
                p.allow_users_to_change_password.to_string(),
            );
            f(
                "RequireLowercaseCharacters",
                p.require_lowercase_characters.to_string(),
            );
            f(
                "RequireUppercaseCharacters",
                p.require_uppercase_characters.to_string(),
            );
            f(
                "MinimumPasswordLength",
                p.minimum_password_length.to_string(),
            );
            f("RequireNumbers", p.require_numbers.to_string());
            f("RequireSymbols", p.require_symbols.to_string());
            f("ExpirePasswords", p.expire_passwords.to_string());
            if let Some(v) = p.max_password_age {
                f("MaxPasswordAge", v.to_string());
            }
            if let Some(v) = p.password_reuse_prevention {
                f("PasswordReusePrevention", v.to_string());
            }
            if let Some(v) = p.hard_expiry {
                f("HardExpiry", v.to_string());
            }
            x.push_str("    </PasswordPolicy>\n  ");
            ok_xml(call.action, IAM_XMLNS, &x)
        }
    }
}

/// iam:ListOrganizationsFeatures: the enabled features, or the error a member account gets.
pub(super) fn list_organizations_features(st: &mut ScenarioState, call: &Call) -> Resp {
    let a = call.account(st);
    match &a.organization_features {
        None => error_response(
            IAM_XMLNS,
            400,
            "Sender",
            "AccountNotManagementOrDelegatedAdministratorException",
            "The account is not the management account or a delegated administrator.",
        ),
        Some(f) => {
            let mut x = format!(
                "\n    <OrganizationId>{}</OrganizationId>\n    <EnabledFeatures>\n",
                xml_escape(&f.organization_id)
            );
            for e in &f.enabled {
                x.push_str(&format!("      <member>{}</member>\n", xml_escape(e)));
            }
            x.push_str("    </EnabledFeatures>\n  ");
            ok_xml(call.action, IAM_XMLNS, &x)
        }
    }
}
