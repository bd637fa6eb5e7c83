//! Files the gateway keeps secrets in: the data dir (owner-only, 0700) and
//! the secret files inside it (0600), written atomically so a crash never
//! leaves a half-written or empty secret behind. Modes looser than that on
//! existing files are reported at start, not silently accepted.

use std::io;
use std::path::{Path, PathBuf};

use rand::RngCore;

/// PRIVATE_DIR and PRIVATE_FILE are the modes of the data dir and of the
/// secrets in it: the owner only.
pub const PRIVATE_DIR: u32 = 0o700;
pub const PRIVATE_FILE: u32 = 0o600;

/// create_private_dir creates `dir` (and missing parents) with mode 0700 and
/// warns when it already existed with a looser mode.
pub async fn create_private_dir(dir: &Path) -> io::Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(PRIVATE_DIR);
        }
        builder.create(&dir)?;
        warn_if_loose(&dir, PRIVATE_DIR);
        Ok(())
    })
    .await
    .map_err(io::Error::other)?
}

/// warn_if_loose logs a warning when `path` grants more than `allowed` (for
/// example group- or world-readable secrets). Never fails: a missing file or
/// a platform without modes has nothing to report.
pub fn warn_if_loose(path: &Path, allowed: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & !allowed != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    expected = format!("{allowed:o}"),
                    "permissions are looser than owner-only; tighten them (chmod)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, allowed);
}

/// create_new_atomically writes `contents` to `path` only if nothing is
/// there yet, atomically: a temporary file beside it is written with mode
/// 0600 and fsynced, then hard-linked into place (which fails when `path`
/// exists, so two processes racing to create it agree on one winner), and
/// the directory is fsynced. Returns `Ok(false)` when `path` already existed.
pub async fn create_new_atomically(path: &Path, contents: Vec<u8>) -> io::Result<bool> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || create_new_blocking(&path, &contents))
        .await
        .map_err(io::Error::other)?
}

fn create_new_blocking(path: &Path, contents: &[u8]) -> io::Result<bool> {
    use std::io::Write as _;

    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temp_path(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_FILE);
    }
    let written = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()
    })();
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    // The temporary name goes whether or not the link was made.
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut suffix = [0u8; 8];
    rand::rng().fill_bytes(&mut suffix);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", hex::encode(suffix)))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// InstanceLock keeps this process's claim on its data dir's instance id
/// (an exclusive lock on `instance.lock`, held while it lives and released
/// by the kernel however the process ends).
pub struct InstanceLock {
    _file: std::fs::File,
}

/// instance_id is the id this gateway instance owns account leases under:
/// the one kept in `data_dir/instance-id` (created on first use), so a
/// restart on the same data dir — after a crash too — takes its own
/// leases over at once instead of waiting for them to run out. When
/// another live process holds the data dir's lock, it gets a fresh id (two
/// processes must never share one).
pub async fn instance_id(
    data_dir: &Path,
) -> io::Result<(crate::domain::lease::InstanceId, Option<InstanceLock>)> {
    use crate::domain::lease::InstanceId;
    let lock_path = data_dir.join("instance.lock");
    let lock = tokio::task::spawn_blocking(move || -> io::Result<Option<std::fs::File>> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(err)) => Err(err),
        }
    })
    .await
    .map_err(io::Error::other)??;
    let Some(file) = lock else {
        tracing::warn!(dir = %data_dir.display(), "another process holds this data dir's instance id; this one takes a fresh id");
        return Ok((InstanceId::new(), None));
    };
    let path = data_dir.join("instance-id");
    let fresh = InstanceId::new();
    create_new_atomically(&path, fresh.as_str().as_bytes().to_vec()).await?;
    let stored = tokio::fs::read_to_string(&path).await?;
    let id = match uuid::Uuid::parse_str(stored.trim()) {
        Ok(id) => InstanceId::from_stored(id.to_string()),
        Err(_) => {
            tracing::warn!(path = %path.display(), "the stored instance id is not a uuid; this instance takes a fresh id");
            fresh
        }
    };
    Ok((id, Some(InstanceLock { _file: file })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_is_created_once_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("secret");
        create_private_dir(path.parent().unwrap()).await.unwrap();
        assert!(
            create_new_atomically(&path, b"first".to_vec())
                .await
                .unwrap()
        );
        assert!(
            !create_new_atomically(&path, b"second".to_vec())
                .await
                .unwrap(),
            "an existing secret is never replaced"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), PRIVATE_FILE);
            assert_eq!(mode(path.parent().unwrap()), PRIVATE_DIR);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["secret"], "no temporary file is left behind");
    }
}
