//! The credential report: its generation states and its content.

use base64::Engine as _;

use super::super::super::serve::Resp;
use super::super::clock::{fmt_iso_z, now};
use super::super::state::{Fault, ScenarioState};
use super::super::wire::{IAM_XMLNS, fault_response, ok_xml, xml_escape};
use super::Call;

/// iam:GenerateCredentialReport: STARTED, INPROGRESS (as many as `generate_pending`), then COMPLETE.
pub(super) fn generate_credential_report(st: &mut ScenarioState, call: &Call) -> Resp {
    let a = call.account(st);
    let (state, desc) = if a.generate_pending > 0 {
        a.generate_pending -= 1;
        let first = !a.generating;
        a.generating = true;
        if first {
            (
                "STARTED",
                Some("No report exists. Starting a new report generation task"),
            )
        } else {
            ("INPROGRESS", Some("Report generation in progress"))
        }
    } else {
        if a.generating {
            a.generating = false;
            a.report_generated = now();
        }
        ("COMPLETE", None)
    };
    let mut x = format!("\n    <State>{state}</State>\n");
    if let Some(d) = desc {
        x.push_str(&format!("    <Description>{d}</Description>\n"));
    }
    x.push_str("  ");
    ok_xml(call.action, IAM_XMLNS, &x)
}

/// iam:GetCredentialReport: the CSV in base64, or ReportInProgress / ReportNotPresent.
pub(super) fn get_credential_report(st: &mut ScenarioState, call: &Call) -> Resp {
    let a = call.account(st);
    if a.generating && a.report_in_progress_while_generating {
        return fault_response(IAM_XMLNS, &Fault::report_in_progress());
    }
    match &a.report_csv {
        None => fault_response(IAM_XMLNS, &Fault::report_not_present()),
        Some(csv) => {
            let content = base64::engine::general_purpose::STANDARD.encode(csv.as_bytes());
            let x = format!(
                "\n    <Content>{content}</Content>\n    <ReportFormat>{}</ReportFormat>\n    \
                 <GeneratedTime>{}</GeneratedTime>\n  ",
                xml_escape(&a.report_format),
                fmt_iso_z(a.report_generated)
            );
            ok_xml(call.action, IAM_XMLNS, &x)
        }
    }
}
