//! `BlobStore` on `object_store`: the local filesystem (the embedded
//! default, under the data dir) or an S3-compatible bucket. Objects are
//! whole chunks (`domain::media::chunk_path`), written with one PUT each,
//! so neither store ever holds a partial object.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::domain::ports::{BlobStore, StoreError};

/// S3Settings locate a bucket of an S3-compatible server.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// `None`: AWS itself, by region.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Plain-HTTP endpoints (a server on a private network or loopback).
    pub allow_http: bool,
    /// Prepended to every key (deployments sharing a bucket); may be empty.
    pub prefix: String,
}

/// Blobs is the blob store behind the `BlobStore` port.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// local keeps objects as files under `dir` (created, owner-only).
    pub async fn local(dir: &std::path::Path) -> Result<Self, StoreError> {
        crate::files::create_private_dir(dir)
            .await
            .map_err(|err| StoreError::Unavailable(format!("creating {}: {err}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|err| StoreError::Other(format!("blob store at {}: {err}", dir.display())))?
            // An upload's directory goes with its last chunk.
            .with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(store),
        })
    }

    /// s3 keeps objects in a bucket. Requests are signed with ring, which
    /// is installed as the process's TLS crypto provider too (unless one
    /// already is).
    pub fn s3(settings: &S3Settings) -> Result<Self, StoreError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|err| StoreError::Other(format!("s3 bucket {}: {err}", settings.bucket)))?;
        let store: Arc<dyn ObjectStore> = match settings.prefix.trim_matches('/') {
            "" => Arc::new(store),
            prefix => Arc::new(PrefixStore::new(store, prefix)),
        };
        Ok(Self { store })
    }
}

/// blob_error classifies a blob store failure: everything but a missing
/// object is the store being unreachable or refusing; retryable.
fn blob_error(err: object_store::Error) -> StoreError {
    StoreError::Unavailable(format!("blob store: {err}"))
}

#[async_trait]
impl BlobStore for Blobs {
    async fn put(&self, path: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.store
            .put(&Path::from(path), PutPayload::from(bytes))
            .await
            .map_err(blob_error)?;
        Ok(())
    }

    async fn get(&self, path: &str) -> Result<Option<Bytes>, StoreError> {
        let got = match self.store.get(&Path::from(path)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(blob_error(err)),
        };
        got.bytes().await.map(Some).map_err(blob_error)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
        let prefix = Path::from(prefix);
        let locations = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.store.delete_stream(locations);
        let mut count = 0;
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) => count += 1,
                // Listed, then gone: deleted by someone else meanwhile.
                Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(blob_error(err)),
            }
        }
        Ok(count)
    }
}
