//! The IAM server certificates (SSL/TLS certificates stored in IAM, CIS 1.19 / IAM.26).

use super::super::super::serve::Resp;
use super::super::clock::fmt_iso_z;
use super::super::state::{ScenarioState, ServerCertificateRow};
use super::super::wire::{IAM_XMLNS, ok_xml, page_of, truncation_xml, xml_escape};
use super::Call;

/// iam:ListServerCertificates: the certificates whose path starts with `PathPrefix` (default
/// `/`: all), paged. The metadata only, as AWS lists it (no certificate body, never a key):
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListServerCertificates.html>.
pub(super) fn list_server_certificates(st: &mut ScenarioState, call: &Call) -> Resp {
    let account_id = call.account_id;
    let a = call.account(st);
    let prefix = call
        .params
        .get("PathPrefix")
        .map(String::as_str)
        .unwrap_or("/");
    let matching: Vec<&ServerCertificateRow> = a
        .server_certificates
        .iter()
        .filter(|c| c.path.starts_with(prefix))
        .collect();
    let (page, marker) = page_of(call.params, a.server_certificates_page_size, &matching);
    let mut x = String::from("\n    <ServerCertificateMetadataList>\n");
    for c in page {
        x.push_str("      <member>\n");
        x.push_str(&format!(
            "        <ServerCertificateName>{}</ServerCertificateName>\n",
            xml_escape(&c.name)
        ));
        x.push_str(&format!("        <Path>{}</Path>\n", xml_escape(&c.path)));
        x.push_str(&format!(
            "        <Arn>arn:aws:iam::{account_id}:server-certificate{}{}</Arn>\n",
            xml_escape(&c.path),
            xml_escape(&c.name)
        ));
        x.push_str(&format!(
            "        <UploadDate>{}</UploadDate>\n",
            fmt_iso_z(c.uploaded)
        ));
        x.push_str(&format!(
            "        <ServerCertificateId>{}</ServerCertificateId>\n",
            xml_escape(&c.id)
        ));
        if let Some(e) = c.expiration {
            x.push_str(&format!(
                "        <Expiration>{}</Expiration>\n",
                fmt_iso_z(e)
            ));
        }
        x.push_str("      </member>\n");
    }
    x.push_str("    </ServerCertificateMetadataList>\n");
    x.push_str(&truncation_xml(marker));
    ok_xml(call.action, IAM_XMLNS, &x)
}
