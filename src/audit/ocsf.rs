//! `audit --format ocsf`: OCSF Detection Findings (class 2004), one JSON object per line.
//!
//! The schema is OCSF 1.5.0, the version of `py-ocsf-models` 0.10.0, the library Prowler builds
//! its OCSF output with; every record loads into its `DetectionFinding` (tests/it/
//! audit_formats.rs checks that, field by field). One record per control and failing credential
//! (the offenders of the table: a user with two stale keys gives two), and one per control that
//! passes or cannot be evaluated, whose resource is the account. See docs/configuration.md
//! ("audit --format ocsf") for the fields and docs/prowler-comparison.md for Prowler's record.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::fields::{UNKNOWN_REASON, per_finding};
use super::{AccountAudit, Audit, ControlResult, JsonOffender, Status, rfc3339};
use crate::posture::{Credential, Finding, Severity};
use crate::report::ROOT_USER;

/// The OCSF schema version of the records (`metadata.version`).
pub const OCSF_VERSION: &str = "1.5.0";

/// `metadata.product`: the name, vendor and uid of this exporter.
const PRODUCT: &str = "aws-iam-exporter";

/// One Detection Finding. Field names and ids are OCSF's; `unmapped` holds what the class has no
/// attribute for.
#[derive(Serialize)]
struct Record<'a> {
    class_uid: u32,
    class_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    /// Milliseconds since the epoch (OCSF's `timestamp_t`).
    time: i64,
    time_dt: &'a str,
    severity_id: u32,
    severity: &'static str,
    status_id: u32,
    status: &'static str,
    status_code: &'static str,
    status_detail: String,
    message: String,
    finding_info: FindingInfo,
    resources: [Resource<'a>; 1],
    cloud: Cloud<'a>,
    metadata: Metadata,
    unmapped: Unmapped,
}

#[derive(Serialize)]
struct FindingInfo {
    uid: String,
    title: &'static str,
    desc: String,
    analytic: Analytic,
}

/// The control that produced the finding, as an OCSF rule.
#[derive(Serialize)]
struct Analytic {
    uid: &'static str,
    name: &'static str,
    /// 1: Rule.
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Resource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
    name: &'a str,
    /// Security Hub's (ASFF) resource type, as Prowler names them.
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_partition: Option<&'a str>,
    group: Group,
    /// The failing credential, as the JSON lists it; `None` for a control-level record.
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<JsonOffender<'a>>,
}

#[derive(Serialize)]
struct Group {
    name: &'static str,
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    account: CloudAccount<'a>,
}

#[derive(Serialize)]
struct CloudAccount<'a> {
    uid: &'a str,
    /// The account's name (config file, Organizations), else "" (py-ocsf-models requires the
    /// key; Prowler writes "" too).
    name: &'a str,
    /// 10: AWS Account.
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Metadata {
    version: &'static str,
    product: Product,
    /// The control id.
    event_code: &'static str,
    profiles: [&'static str; 2],
}

#[derive(Serialize)]
struct Product {
    uid: &'static str,
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Unmapped {
    /// Prowler's form: framework-version -> requirement ids (`"CIS-1.4": ["1.4"]`), plus the
    /// Security Hub control id under `AWS-Security-Hub`. OCSF's `compliance` object belongs to
    /// the Compliance Finding class, not to this one.
    compliance: BTreeMap<String, [&'static str; 1]>,
    /// The credential report's `GeneratedTime`, when known: the data is as of then.
    #[serde(skip_serializing_if = "Option::is_none")]
    report_generated: Option<String>,
}

/// What every record of one account shares.
struct AccountContext<'a> {
    id: &'a str,
    name: &'a str,
    /// `aws`, `aws-cn`, `aws-us-gov`: from the report's ARNs, else `aws`.
    partition: &'a str,
    /// IAM user name -> ARN, from the report's `arn` column.
    arns: HashMap<&'a str, &'a str>,
    /// Server certificate name -> ARN (ListServerCertificates).
    certificates: HashMap<&'a str, &'a str>,
    /// `arn:PARTITION:iam::ID:root`: the account, and root when the report has no root row.
    account_arn: String,
    report_generated: Option<String>,
}

impl<'a> AccountContext<'a> {
    fn new(account: &'a AccountAudit<'a>) -> AccountContext<'a> {
        let input = account.input;
        let report = &input.data.report;
        let arns: HashMap<&str, &str> = report
            .root
            .iter()
            .chain(&report.users)
            .filter_map(|row| Some((report.name(row), report.arn(row)?)))
            .collect();
        let partition = arns
            .values()
            .next()
            .and_then(|arn| crate::arn::Arn::parse(arn))
            .map(|arn| arn.partition)
            .unwrap_or("aws");
        let certificates = input
            .data
            .facts
            .server_certificates
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.arn.as_str()))
            .collect();
        AccountContext {
            id: &input.account_id,
            name: input.name.as_deref().unwrap_or(""),
            partition,
            account_arn: format!("arn:{partition}:iam::{}:root", input.account_id),
            arns,
            certificates,
            report_generated: input.data.generated.map(rfc3339),
        }
    }

    /// The account as a resource: what a control-level record and the password policy are about.
    fn account_resource(&self) -> Resource<'a> {
        Resource {
            uid: Some(self.account_arn.clone()),
            name: self.id,
            kind: "AwsAccount",
            cloud_partition: Some(self.partition),
            group: Group { name: "iam" },
            data: None,
        }
    }

    /// The resource an offender is about: the account (password policy), a server certificate,
    /// the organization, a role (quarantine), or the IAM user or root that holds the credential,
    /// by its ARN when the report (or the certificate list) has it.
    fn resource(&self, f: &Finding<'a>, now: i64) -> Resource<'a> {
        let data = Some(JsonOffender::new(f, now));
        match f.credential {
            Credential::PasswordPolicy => Resource {
                data,
                ..self.account_resource()
            },
            // A role's path is not known (ListEntitiesForPolicy gives its name), so no ARN.
            Credential::RoleQuarantinePolicy => Resource {
                uid: None,
                name: f.user,
                kind: "AwsIamRole",
                cloud_partition: Some(self.partition),
                group: Group { name: "iam" },
                data,
            },
            Credential::ServerCertificate => {
                let name = f.credential_id.unwrap_or_default();
                Resource {
                    uid: self.certificates.get(name).map(|a| (*a).to_owned()),
                    name,
                    // ASFF has no type for it (AWS Config's is AWS::IAM::ServerCertificate).
                    kind: "Other",
                    cloud_partition: Some(self.partition),
                    group: Group { name: "iam" },
                    data,
                }
            }
            Credential::OrganizationFeature => Resource {
                uid: Some(f.user.to_owned()),
                name: f.user,
                kind: "Other",
                cloud_partition: Some(self.partition),
                group: Group {
                    name: "organizations",
                },
                data,
            },
            _ => {
                let arn = self.arns.get(f.user).map(|a| (*a).to_owned());
                let uid = match arn {
                    None if f.user == ROOT_USER => Some(self.account_arn.clone()),
                    arn => arn,
                };
                Resource {
                    uid,
                    name: f.user,
                    kind: "AwsIamUser",
                    cloud_partition: Some(self.partition),
                    group: Group { name: "iam" },
                    data,
                }
            }
        }
    }
}

/// `Critical` -> (5, "Critical"): OCSF's severity ids.
fn severity(s: Severity) -> (u32, &'static str) {
    match s {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// `aws-iam-exporter/ACCOUNT/CONTROL` for a control-level record, with
/// `/CREDENTIAL[:ID]/RESOURCE` for an offender: stable across runs, unique within one (a control
/// names each credential once). Only the last segment is free text, and IAM names, root's
/// `<root_account>` and organization ids hold no `/`.
fn finding_uid(account: &str, control: &str, offender: Option<&Finding<'_>>) -> String {
    let mut uid = format!("{PRODUCT}/{account}/{control}");
    if let Some(f) = offender {
        uid.push('/');
        uid.push_str(f.credential.as_str());
        if let Some(id) = f.credential_id {
            uid.push(':');
            uid.push_str(id);
        }
        if !f.user.is_empty() {
            uid.push('/');
            uid.push_str(f.user);
        }
    }
    uid
}

/// Prowler's compliance map for a control: every CIS version that numbers it
/// (`CIS-1.4` .. `CIS-7.0`, `CIS-4.0.1` as Prowler names that version), the FSBP standard, and
/// the Security Hub control id.
fn compliance(r: &ControlResult<'_>) -> BTreeMap<String, [&'static str; 1]> {
    let c = r.control.control();
    let mut map: BTreeMap<String, [&'static str; 1]> = c
        .benchmarks()
        .map(|(standard, version, id)| {
            let name = match standard {
                "cis-aws-foundations" => {
                    format!("CIS-{}", version.strip_suffix(".0").unwrap_or(version))
                }
                _ => "AWS-Foundational-Security-Best-Practices".to_owned(),
            };
            (name, [id])
        })
        .collect();
    if !c.securityhub.is_empty() {
        map.insert("AWS-Security-Hub".to_owned(), [c.securityhub]);
    }
    map
}

/// What one record is about.
enum Subject<'f, 'a> {
    /// A failing credential of a failing control.
    Offender(&'f Finding<'a>),
    Pass,
    Unknown,
}

fn record<'c, 'a: 'c>(
    ctx: &'c AccountContext<'a>,
    r: &ControlResult<'a>,
    now: i64,
    time_dt: &'c str,
    subject: Subject<'_, 'a>,
) -> Record<'c> {
    let c = r.control.control();
    let (severity_id, severity_name) = severity(c.severity);
    let (status_code, detail, offender, resource) = match subject {
        Subject::Offender(f) => ("FAIL", f.describe(now), Some(f), ctx.resource(f, now)),
        Subject::Pass => (
            "PASS",
            "no failing resource".to_owned(),
            None,
            ctx.account_resource(),
        ),
        Subject::Unknown => (
            "UNKNOWN",
            UNKNOWN_REASON.to_owned(),
            None,
            ctx.account_resource(),
        ),
    };
    Record {
        class_uid: 2004,
        class_name: "Detection Finding",
        category_uid: 2,
        category_name: "Findings",
        activity_id: 1,
        activity_name: "Create",
        type_uid: 200_401,
        type_name: "Detection Finding: Create",
        time: now.saturating_mul(1000),
        time_dt,
        severity_id,
        severity: severity_name,
        // The finding's workflow state, which its consumer sets: every finding is new.
        status_id: 1,
        status: "New",
        status_code,
        message: format!("{} {status_code}: {detail}", c.id),
        status_detail: detail,
        finding_info: FindingInfo {
            uid: finding_uid(ctx.id, c.id, offender),
            title: c.title,
            desc: format!(
                "{} (aws-iam-exporter control {}, severity {}: one finding per failing \
                 credential, else one for the account).",
                c.title,
                c.id,
                c.severity.as_str()
            ),
            analytic: Analytic {
                uid: c.id,
                name: c.title,
                type_id: 1,
                kind: "Rule",
            },
        },
        resources: [resource],
        cloud: Cloud {
            provider: "AWS",
            account: CloudAccount {
                uid: ctx.id,
                name: ctx.name,
                type_id: 10,
                kind: "AWS Account",
            },
        },
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                uid: PRODUCT,
                name: PRODUCT,
                vendor_name: PRODUCT,
                version: env!("CARGO_PKG_VERSION"),
            },
            event_code: c.id,
            profiles: ["cloud", "datetime"],
        },
        unmapped: Unmapped {
            compliance: compliance(r),
            report_generated: ctx.report_generated.clone(),
        },
    }
}

/// Every record of the audit, one JSON object per line (JSON Lines), in table order: per
/// account, per control in [`crate::posture::CONTROLS`] order, the offenders in report order.
pub fn ocsf(audit: &Audit<'_>) -> String {
    let now = audit.now;
    let time_dt = rfc3339(now);
    let mut out = String::new();
    for account in &audit.accounts {
        let ctx = AccountContext::new(account);
        for r in &account.controls {
            for offender in per_finding(r) {
                let subject = match (offender, r.status) {
                    (Some(f), _) => Subject::Offender(f),
                    (None, Status::Pass) => Subject::Pass,
                    (None, _) => Subject::Unknown,
                };
                let rec = record(&ctx, r, now, &time_dt, subject);
                // NB: serialising these structs cannot fail (string keys, no custom Serialize).
                out.push_str(&serde_json::to_string(&rec).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tests::{NOW, audit, sample};
    use crate::posture::ControlId;

    fn records(text: &str) -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn one_record_per_failing_credential_and_one_per_passing_or_unknown_control() {
        let input = sample();
        let a = audit(&input);
        let recs = records(&ocsf(&a));
        let want: usize = a.accounts[0]
            .controls
            .iter()
            .map(|r| per_finding(r).count())
            .sum();
        assert_eq!(recs.len(), want);
        assert!(
            want > a.accounts[0].controls.len(),
            "some control has several offenders"
        );
        let uids: std::collections::HashSet<&str> = recs
            .iter()
            .map(|r| r["finding_info"]["uid"].as_str().unwrap())
            .collect();
        assert_eq!(uids.len(), recs.len(), "finding_info.uid is unique");
        for r in &recs {
            assert_eq!(r["class_uid"], 2004);
            assert_eq!(r["category_uid"], 2);
            assert_eq!(r["type_uid"], 200_401);
            assert_eq!(r["time"], NOW * 1000);
            assert_eq!(r["time_dt"], "2026-12-01T00:00:00Z");
            assert_eq!(r["cloud"]["provider"], "AWS");
            assert_eq!(r["cloud"]["account"]["uid"], "123456789012");
            assert_eq!(r["metadata"]["version"], OCSF_VERSION);
            assert_eq!(r["metadata"]["product"]["name"], "aws-iam-exporter");
            assert_eq!(
                r["metadata"]["product"]["version"],
                env!("CARGO_PKG_VERSION")
            );
        }
    }

    #[test]
    fn the_root_access_key_record_names_root_by_its_arn_with_every_benchmark_number() {
        let input = sample();
        let recs = records(&ocsf(&audit(&input)));
        let r = recs
            .iter()
            .find(|r| r["metadata"]["event_code"] == "root_access_key")
            .unwrap();
        assert_eq!(r["status_code"], "FAIL");
        assert_eq!(
            (r["severity_id"].as_u64(), r["severity"].as_str()),
            (Some(5), Some("Critical"))
        );
        assert_eq!(
            r["finding_info"]["uid"],
            "aws-iam-exporter/123456789012/root_access_key/access_key_1/<root_account>"
        );
        let res = &r["resources"][0];
        assert_eq!(res["uid"], "arn:aws:iam::123456789012:root");
        assert_eq!(res["type"], "AwsIamUser");
        assert_eq!(res["data"]["credential"], "access_key_1");
        assert_eq!(res["data"]["days"], 33);
        let c = &r["unmapped"]["compliance"];
        for (k, v) in [
            ("CIS-1.4", "1.4"),
            ("CIS-2.0", "1.4"),
            ("CIS-4.0.1", "1.4"),
            ("CIS-5.0", "1.3"),
            ("CIS-6.0", "2.3"),
            ("CIS-7.0", "2.4"),
            ("AWS-Foundational-Security-Best-Practices", "IAM.4"),
            ("AWS-Security-Hub", "IAM.4"),
        ] {
            assert_eq!(c[k][0], v, "{k}: {c}");
        }
        assert_eq!(c.as_object().unwrap().len(), 10, "{c}");
    }

    #[test]
    fn a_user_is_named_by_the_arn_of_the_report_path_and_comma_included() {
        let input = sample();
        let recs = records(&ocsf(&audit(&input)));
        let arn = |control: &str, user: &str| {
            recs.iter()
                .find(|r| {
                    r["metadata"]["event_code"] == control && r["resources"][0]["name"] == user
                })
                .map(|r| r["resources"][0]["uid"].as_str().unwrap().to_owned())
        };
        assert_eq!(
            arn("access_key_rotation", "backup-svc").as_deref(),
            Some("arn:aws:iam::123456789012:user/service/backup-svc")
        );
        assert_eq!(
            arn("multiple_active_keys", "ci,runner").as_deref(),
            Some("arn:aws:iam::123456789012:user/ci/ci,runner")
        );
    }

    #[test]
    fn an_expired_server_certificate_is_its_own_resource_with_its_arn_and_expiry() {
        let mut input = sample();
        input.data.facts.server_certificates = Some(vec![crate::posture::ServerCertificate {
            name: "legacy-web".into(),
            arn: "arn:aws:iam::123456789012:server-certificate/cloudfront/legacy-web".into(),
            expiration: Some(NOW - 86_400),
        }]);
        let recs = records(&ocsf(&audit(&input)));
        let r = recs
            .iter()
            .find(|r| r["metadata"]["event_code"] == "expired_server_certificate")
            .unwrap();
        assert_eq!(r["status_code"], "FAIL");
        assert_eq!(
            r["finding_info"]["uid"],
            "aws-iam-exporter/123456789012/expired_server_certificate/server_certificate:legacy-web"
        );
        let res = &r["resources"][0];
        assert_eq!(
            res["uid"],
            "arn:aws:iam::123456789012:server-certificate/cloudfront/legacy-web"
        );
        assert_eq!(res["name"], "legacy-web");
        assert_eq!(res["type"], "Other");
        assert_eq!(res["data"]["expires"], "2026-11-30T00:00:00Z");
        assert_eq!(
            res["data"]["description"],
            "account (server_certificate legacy-web, expired 2026-11-30)"
        );
        assert_eq!(r["unmapped"]["compliance"]["CIS-7.0"][0], "2.17");
        assert_eq!(r["unmapped"]["compliance"]["AWS-Security-Hub"][0], "IAM.26");
    }

    #[test]
    fn passing_and_unknown_controls_give_one_record_about_the_account() {
        let input = sample();
        let recs = records(&ocsf(&audit(&input)));
        let of = |id: ControlId| -> Vec<&serde_json::Value> {
            recs.iter()
                .filter(|r| r["metadata"]["event_code"] == id.control().id)
                .collect()
        };
        let pass = of(ControlId::RootRecentUse);
        assert_eq!(pass.len(), 1);
        assert_eq!(pass[0]["status_code"], "PASS");
        assert_eq!(
            pass[0]["finding_info"]["uid"],
            "aws-iam-exporter/123456789012/root_recent_use"
        );
        assert_eq!(pass[0]["resources"][0]["type"], "AwsAccount");
        assert_eq!(
            pass[0]["resources"][0]["uid"],
            "arn:aws:iam::123456789012:root"
        );
        let unknown = of(ControlId::PasswordPolicyLength);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0]["status_code"], "UNKNOWN");
        assert_eq!(unknown[0]["status_detail"], UNKNOWN_REASON);
        assert_eq!(unknown[0]["severity_id"], 3);
    }

    #[test]
    fn the_same_audit_gives_the_same_ids_and_an_account_name_when_there_is_one() {
        let input = sample();
        let first = ocsf(&audit(&input));
        assert_eq!(first, ocsf(&audit(&input)));
        let mut named = sample();
        named.name = Some("prod".into());
        let recs = records(&ocsf(&audit(&named)));
        assert!(recs.iter().all(|r| r["cloud"]["account"]["name"] == "prod"));
        assert!(
            records(&first)
                .iter()
                .all(|r| r["cloud"]["account"]["name"] == "")
        );
    }
}
