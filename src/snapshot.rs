//! The snapshot shared by the refresh loop (writer) and the web edge (reader).
//!
//! Each account owns a slot of pre-rendered exposition parts. A publication assembles every
//! slot into one immutable [`Published`] and swaps it in; scrapes only clone its `Arc`, so they
//! never wait on a refresh and never reach AWS.
//!
//! Slots exist only while their account is registered: a refresh that finishes after its
//! account was removed finds no slot and writes nothing, so a departed account can never come
//! back as a ghost (issue: `abort()` does not stop a task that is running on another worker).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::sync::Notify;

use crate::exposition::{Published, Rendered, RootUse, render_global};
use crate::version::{REVISION, VERSION};

/// What one account contributes to the exposition. Parts are `Arc`s so that a publication can
/// take them under the lock in a few pointer copies and assemble outside it.
#[derive(Debug, Default, Clone)]
pub struct Slot {
    /// The account's data, from its last successful refresh.
    pub data: Option<Arc<Rendered>>,
    /// The account's refresh self-metrics (always present once it has refreshed).
    pub stats: Option<Arc<Rendered>>,
    /// When root was last used, for the scrape-time `aws_iam_root_last_used_seconds`.
    pub root_use: Option<RootUse>,
}

/// The exporter-level parts of the exposition (not accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExporterPart {
    /// `aws_iam_organization_feature_enabled`, the `root_credentials_management` control and
    /// the errors of ListOrganizationsFeatures.
    Organization,
    /// `aws_iam_control_info`: rendered once per process.
    ControlInfo,
}

/// Outcome of the last account discovery, for `aws_iam_exporter_account_discovery_success`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// Single-account modes discover nothing: the gauge is absent.
    None,
    Succeeded,
    Failed,
}

/// The state scrapes read and refreshes write.
#[derive(Debug)]
pub struct State {
    /// NB: std lock, held only to clone or swap the `Arc`; never across an `.await`.
    published: RwLock<Arc<Published>>,
    /// NB: std lock, held only to replace a slot or to clone the slots' `Arc`s for a
    /// publication; never across an `.await` and never while assembling.
    slots: Mutex<BTreeMap<String, Slot>>,
    /// Exporter-level parts by name (control metadata; the organization's centralized root
    /// access, asked once per interval): not accounts, so neither counted in
    /// `aws_iam_exporter_accounts` nor in readiness.
    /// NB: std lock, held only to swap or clone the `Arc`s.
    exporter_parts: RwLock<BTreeMap<ExporterPart, Arc<Rendered>>>,
    ready: AtomicBool,
    discovery: AtomicU8,
    /// Woken when a slot changed; the publisher coalesces wake-ups.
    changed: Notify,
}

impl Default for State {
    fn default() -> Self {
        State {
            published: RwLock::new(Arc::new(Published::build(std::iter::empty(), Vec::new()))),
            slots: Mutex::new(BTreeMap::new()),
            exporter_parts: RwLock::new(BTreeMap::new()),
            ready: AtomicBool::new(false),
            discovery: AtomicU8::new(Discovery::None as u8),
            changed: Notify::new(),
        }
    }
}

impl State {
    /// The current exposition. Cheap: an `Arc` clone.
    pub fn published(&self) -> Arc<Published> {
        match self.published.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// True once the data of a successful refresh is being served (`/readyz`).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    fn slots(&self) -> MutexGuard<'_, BTreeMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes room for an account. Until then (and after [`State::remove`]) its refreshes are
    /// not published.
    pub fn register(&self, key: &str) {
        self.slots().entry(key.to_owned()).or_default();
    }

    /// Changes a registered account's slot; returns false (and changes nothing) when the
    /// account is not registered, e.g. removed while its refresh was running.
    pub fn update(&self, key: &str, change: impl FnOnce(&mut Slot)) -> bool {
        let updated = match self.slots().get_mut(key) {
            Some(slot) => {
                change(slot);
                true
            }
            None => false,
        };
        if updated {
            self.changed.notify_one();
        }
        updated
    }

    /// Drops an account and its series.
    pub fn remove(&self, key: &str) {
        self.slots().remove(key);
        self.changed.notify_one();
    }

    /// The registered accounts' keys.
    #[cfg(test)]
    pub fn keys(&self) -> Vec<String> {
        self.slots().keys().cloned().collect()
    }

    /// Records the outcome of an account discovery.
    pub fn set_discovery(&self, outcome: Discovery) {
        self.discovery.store(outcome as u8, Ordering::Relaxed);
        self.changed.notify_one();
    }

    fn discovery(&self) -> Option<bool> {
        match self.discovery.load(Ordering::Relaxed) {
            d if d == Discovery::Succeeded as u8 => Some(true),
            d if d == Discovery::Failed as u8 => Some(false),
            _ => None,
        }
    }

    /// Sets (replaces) an exporter-level part, published with every account's.
    pub fn set_exporter_part(&self, which: ExporterPart, part: Rendered) {
        let part = Arc::new(part);
        match self.exporter_parts.write() {
            Ok(mut p) => p.insert(which, part),
            Err(poisoned) => poisoned.into_inner().insert(which, part),
        };
        self.changed.notify_one();
    }

    /// Waits until a slot changed since the last wait (wake-ups coalesce).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// Assembles every slot into a new exposition and swaps it in. The slot lock is held only
    /// to clone the parts' `Arc`s; assembling happens outside it.
    pub fn publish(&self) {
        let (parts, root_uses, accounts) = {
            let slots = self.slots();
            let parts: Vec<Arc<Rendered>> = slots
                .values()
                .flat_map(|s| s.data.iter().chain(s.stats.iter()).cloned())
                .collect();
            let root_uses: Vec<RootUse> =
                slots.values().filter_map(|s| s.root_use.clone()).collect();
            let has_data = slots.values().any(|s| s.data.is_some());
            (parts, root_uses, (slots.len(), has_data))
        };
        let (accounts, has_data) = accounts;
        let global = render_global(accounts, self.discovery(), VERSION, REVISION);
        let mut exporter_parts: Vec<Arc<Rendered>> = match self.exporter_parts.read() {
            Ok(p) => p.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
        };
        exporter_parts.push(Arc::new(global));
        // Groups of accounts that did not change are taken from the current publication.
        let previous = self.published();
        let next = Arc::new(Published::build_after(
            &parts,
            &exporter_parts,
            root_uses,
            Some(&previous),
        ));
        drop(previous);
        match self.published.write() {
            Ok(mut p) => *p = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        // Ready only once the data is actually served, so a scrape after /readyz sees it.
        if has_data {
            self.ready.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_after_removal_writes_nothing() {
        let state = State::default();
        state.register("a");
        assert!(state.update("a", |s| s.stats = Some(Arc::new(Rendered::default()))));
        state.remove("a");
        assert!(!state.update("a", |s| s.stats = Some(Arc::new(Rendered::default()))));
        assert!(
            state.keys().is_empty(),
            "a removed account never comes back"
        );
    }

    #[test]
    fn the_organization_part_is_published_but_is_no_account_and_does_not_make_ready() {
        let state = State::default();
        state.set_exporter_part(
            ExporterPart::Organization,
            crate::exposition::render_organization(&crate::exposition::OrganizationView {
                features: Some(crate::fetch::OrganizationFeatures {
                    organization_id: "o-a1b2c3d4e5".into(),
                    root_credentials_management: true,
                    root_sessions: false,
                }),
                ..Default::default()
            }),
        );
        state.publish();
        let text = state.published().classic_text(0.0);
        assert!(text.contains("aws_iam_exporter_accounts{} 0\n"), "{text}");
        assert!(text.contains(
            "aws_iam_organization_feature_enabled{organization_id=\"o-a1b2c3d4e5\",feature=\"RootCredentialsManagement\"} 1\n"
        ));
        assert!(!state.is_ready());
    }
}
