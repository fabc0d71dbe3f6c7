//! The alerting side: the [`Webhook`] that receives Alertmanager's notifications, promtool's
//! lint of an exposition, and the input series of the promtool rule tests in `alerts/tests/`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Response;

use super::process::poll_until;
use super::repo_root;
use super::serve::InProcessServer;

/// One request received by the [`Webhook`].
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub path: String,
    pub received_at: Instant,
    pub body: String,
    /// The body parsed as JSON (`Null` if it is not JSON).
    pub json: serde_json::Value,
}

/// An in-process HTTP server on 127.0.0.1 that records every POST (answers
/// 200). Runs on its own thread and runtime; stopped on drop.
pub struct Webhook {
    received: Arc<Mutex<Vec<WebhookRequest>>>,
    server: InProcessServer,
}

impl Webhook {
    pub fn start() -> Webhook {
        let received: Arc<Mutex<Vec<WebhookRequest>>> = Arc::default();
        let rec = received.clone();
        let server = InProcessServer::start("webhook", 0, 1, move |req| {
            let rec = rec.clone();
            async move {
                let path = req.uri().path().to_string();
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&body).into_owned();
                let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                rec.lock().unwrap().push(WebhookRequest {
                    path,
                    received_at: Instant::now(),
                    body,
                    json,
                });
                Response::new(Full::new(Bytes::from_static(b"ok")))
            }
        });
        Webhook { received, server }
    }

    /// `http://127.0.0.1:PORT/` (put this in Alertmanager's webhook_configs).
    pub fn url(&self) -> String {
        format!("http://{}/", self.server.addr())
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<WebhookRequest> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for a request satisfying `pred` (also among those already
    /// received); returns the first match.
    pub fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&WebhookRequest) -> bool,
    ) -> Option<WebhookRequest> {
        poll_until(timeout, || {
            self.received
                .lock()
                .unwrap()
                .iter()
                .find(|r| pred(r))
                .cloned()
        })
    }
}

/// Convenience for Alertmanager payloads: the `alerts[].labels.alertname`
/// values with the given `status` ("firing" / "resolved") in a webhook body.
pub fn webhook_alertnames(req: &WebhookRequest, status: &str) -> Vec<String> {
    req.json["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["status"] == status)
                .filter_map(|x| x["labels"]["alertname"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The input series of the first promtool rule test in `file` (relative to the repository)
/// whose name starts with `name`, less the scrape's target labels, each with its first value:
/// `series{labels} value`, as the exporter writes its sample lines.
pub fn promtool_test_inputs(file: &str, name: &str) -> BTreeSet<String> {
    let path = repo_root().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let case = yaml["tests"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|t| t["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("no test named {name:?}... in {file}"));
    case["input_series"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            let series = s["series"]
                .as_str()
                .unwrap()
                .replace(",job=\"aws-iam-exporter\",instance=\"exporter-a:9741\"", "");
            let values = s["values"].as_str().unwrap();
            let first = values.split(['x', ' ']).next().unwrap_or_default();
            format!("{series} {first}")
        })
        .collect()
}

/// Asserts that `promtool check metrics` finds nothing in `text` (named `what` in the failure)
/// but the one accepted finding: `aws_iam_account_summary{key}` is a contract name (it mirrors
/// GetAccountSummary), and Debian's promtool 2.42 flags the word `summary` in any metric name,
/// whatever its type (here a gauge). Every other finding fails.
pub fn assert_promtool_check_metrics_clean(promtool: &Path, text: &str, what: &str) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    const ACCEPTED: &str = "aws_iam_account_summary metric name should not include type 'summary'";
    let findings: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&o.stderr).lines())
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != ACCEPTED)
        .map(str::to_owned)
        .collect();
    assert!(
        findings.is_empty() && (o.status.success() || o.status.code() == Some(3)),
        "promtool check metrics on {what}: {:?}\n{}",
        o.status,
        findings.join("\n")
    );
}
