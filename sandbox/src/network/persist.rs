//! The snapshot file: the whole state as JSON in `<data_dir>/sandbox.json`,
//! written atomically (temp file, fsync, rename, fsync of the directory) off
//! the async runtime, at most every [`COALESCE`] after a change, and once
//! more on shutdown.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use super::Inner;
use super::error::{Error, Result};
use super::state::State;

/// SNAPSHOT_FILE is the snapshot's name inside the data directory.
pub const SNAPSHOT_FILE: &str = "sandbox.json";
/// COALESCE is how long changes gather before one snapshot write.
pub const COALESCE: Duration = Duration::from_millis(200);

fn storage_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Storage {
        detail: format!("{what}: {err}"),
    }
}

/// Store is the persistence side of a `Network`.
pub(super) struct Store {
    pub(super) path: PathBuf,
    pub(super) signals: Arc<Signals>,
    /// write_lock orders snapshot writes: the later write always carries
    /// the newer state.
    pub(super) write_lock: tokio::sync::Mutex<()>,
    pub(super) task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Default)]
pub(super) struct Signals {
    pub(super) dirty: Notify,
    pub(super) stopping: AtomicBool,
}

/// load reads the snapshot, or returns `None` when there is none yet.
pub(super) async fn load(path: PathBuf) -> Result<Option<State>> {
    tokio::task::spawn_blocking(move || -> Result<Option<State>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| storage_error("create data dir", e))?;
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage_error("read snapshot", e)),
        };
        let state =
            serde_json::from_slice(&bytes).map_err(|e| storage_error("parse snapshot", e))?;
        Ok(Some(state))
    })
    .await
    .map_err(|e| storage_error("load task", e))?
}

/// write_atomic replaces `path` with `bytes` so that a crash leaves either
/// the old or the new file, never a torn one.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        // The snapshot holds auth keys and 2FA verifiers: owner-only.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable; not every platform allows it.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// flush writes the current state now.
pub(super) async fn flush(inner: &Inner) -> Result<()> {
    let Some(store) = &inner.store else {
        return Ok(());
    };
    let _order = store.write_lock.lock().await;
    let bytes = {
        let state = inner.lock();
        serde_json::to_vec(&*state).map_err(|e| storage_error("encode snapshot", e))?
    };
    let path = store.path.clone();
    tokio::task::spawn_blocking(move || write_atomic(&path, &bytes))
        .await
        .map_err(|e| storage_error("write task", e))?
        .map_err(|e| storage_error("write snapshot", e))
}

/// run writes a snapshot after each burst of changes until shutdown or
/// until the network is dropped.
pub(super) async fn run(inner: Weak<Inner>, signals: Arc<Signals>) {
    loop {
        signals.dirty.notified().await;
        if signals.stopping.load(Ordering::Acquire) {
            return;
        }
        tokio::time::sleep(COALESCE).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if let Err(error) = flush(&inner).await {
            tracing::warn!(%error, "sandbox snapshot write failed");
        }
    }
}
