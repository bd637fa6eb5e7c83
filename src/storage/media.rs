//! `MediaStore` on the `uploads` and `media` tables.
//!
//! Who writes an upload row: CreateUpload inserts it (a racing retry with
//! the same request id hits the unique index and reads the winner's);
//! UploadChunk moves `received_bytes` by compare-and-set from the offset it
//! stored at, so of two racing writers of one chunk exactly one advances;
//! CompleteUpload and a failed checksum move the state by compare-and-set
//! from UPLOADING, so of two racing completions one makes the media and
//! the other reads it; the expiry sweep deletes only rows it listed as
//! expired and still unfinished.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::{media, uploads};
use super::{Store, StoreResultExt};
use crate::domain::TenantId;
use crate::domain::chat::MediaKind;
use crate::domain::media::{Media, Upload, UploadId, UploadState};
use crate::domain::ports::{MediaStore, StoreError};

const UPLOAD: &str = "upload";
const MEDIA: &str = "media";

/// UNSENT is the stored kind of media whose kind a send decides.
const UNSENT: &str = "unspecified";

fn sha256_of(value: Option<Vec<u8>>) -> Result<Option<[u8; 32]>, StoreError> {
    value
        .map(|bytes| {
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| StoreError::Corrupt("a sha256 of other than 32 bytes".into()))
        })
        .transpose()
}

fn upload_from_row(row: uploads::Model) -> Result<Upload, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("upload {}: {what}", row.upload_id));
    Ok(Upload {
        id: row.upload_id.parse().map_err(|_| corrupt("id"))?,
        tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
        account: row.account_id.parse().map_err(|_| corrupt("account"))?,
        state: UploadState::parse(&row.state).ok_or_else(|| corrupt("state"))?,
        sha256: sha256_of(row.sha256)?,
        file_name: row.file_name,
        mime_type: row.mime_type,
        size: row.size_bytes,
        request_id: row.request_id,
        chunk_size: i64::from(row.chunk_size),
        received: row.received_bytes,
        media_id: row.media_id,
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

fn media_from_row(row: media::Model) -> Result<Media, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("media {}: {what}", row.media_id));
    let kind = match row.kind.as_str() {
        UNSENT => None,
        kind => Some(
            serde_json::from_value::<MediaKind>(serde_json::Value::String(kind.to_owned()))
                .map_err(|_| corrupt("kind"))?,
        ),
    };
    Ok(Media {
        tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
        account: row.account_id.parse().map_err(|_| corrupt("account"))?,
        kind,
        file_name: row.file_name.unwrap_or_default(),
        mime_type: row.mime_type,
        size: row.size_bytes.unwrap_or_default(),
        sha256: sha256_of(row.sha256)?,
        blob_prefix: row.blob_path,
        created_at: row.created_at,
        id: row.media_id,
    })
}

fn kind_name(kind: Option<MediaKind>) -> String {
    match kind.map(serde_json::to_value) {
        Some(Ok(serde_json::Value::String(name))) => name,
        _ => UNSENT.to_owned(),
    }
}

fn media_row(made: &Media) -> media::ActiveModel {
    media::ActiveModel {
        media_id: Set(made.id.clone()),
        tenant_id: Set(made.tenant.as_str().to_owned()),
        account_id: Set(made.account.to_string()),
        kind: Set(kind_name(made.kind)),
        file_name: Set(Some(made.file_name.clone())),
        mime_type: Set(made.mime_type.clone()),
        size_bytes: Set(Some(made.size)),
        width: Set(None),
        height: Set(None),
        duration_secs: Set(None),
        sha256: Set(made.sha256.map(|h| h.to_vec())),
        blob_path: Set(made.blob_prefix.clone()),
        telegram_ref: Set(None),
        peer_id: Set(None),
        message_id: Set(None),
        created_at: Set(made.created_at),
        updated_at: Set(made.created_at),
    }
}

/// upload_in scopes an upload lookup to its tenant.
fn upload_in(tenant: &TenantId, id: UploadId) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(uploads::Column::UploadId.eq(id.to_string()))
        .add(uploads::Column::TenantId.eq(tenant.as_str()))
}

#[async_trait]
impl MediaStore for Store {
    async fn create_upload(&self, upload: &Upload) -> Result<Upload, StoreError> {
        let row = uploads::ActiveModel {
            upload_id: Set(upload.id.to_string()),
            tenant_id: Set(upload.tenant.as_str().to_owned()),
            account_id: Set(upload.account.to_string()),
            file_name: Set(upload.file_name.clone()),
            mime_type: Set(upload.mime_type.clone()),
            size_bytes: Set(upload.size),
            sha256: Set(upload.sha256.map(|h| h.to_vec())),
            received_bytes: Set(upload.received),
            chunk_size: Set(upload.chunk_size as i32),
            state: Set(upload.state.as_str().to_owned()),
            media_id: Set(upload.media_id.clone()),
            request_id: Set(upload.request_id.clone()),
            expires_at: Set(upload.expires_at),
            created_at: Set(upload.created_at),
            updated_at: Set(upload.created_at),
        };
        match uploads::Entity::insert(row)
            .exec_without_returning(self.connection())
            .await
            .store_err(UPLOAD)
        {
            Ok(_) => Ok(upload.clone()),
            // The same request made it first (or concurrently): its upload.
            Err(StoreError::AlreadyExists { .. }) => {
                let row = uploads::Entity::find()
                    .filter(uploads::Column::TenantId.eq(upload.tenant.as_str()))
                    .filter(uploads::Column::AccountId.eq(upload.account.to_string()))
                    .filter(uploads::Column::RequestId.eq(upload.request_id.clone()))
                    .one(self.connection())
                    .await
                    .store_err(UPLOAD)?
                    .ok_or(StoreError::Conflict { resource: UPLOAD })?;
                upload_from_row(row)
            }
            Err(err) => Err(err),
        }
    }

    async fn upload(&self, tenant: &TenantId, id: UploadId) -> Result<Option<Upload>, StoreError> {
        uploads::Entity::find()
            .filter(upload_in(tenant, id))
            .one(self.connection())
            .await
            .store_err(UPLOAD)?
            .map(upload_from_row)
            .transpose()
    }

    async fn advance_upload(
        &self,
        tenant: &TenantId,
        id: UploadId,
        from: i64,
        to: i64,
    ) -> Result<(), StoreError> {
        let updated = uploads::Entity::update_many()
            .col_expr(uploads::Column::ReceivedBytes, Expr::value(to))
            .col_expr(uploads::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(upload_in(tenant, id))
            .filter(uploads::Column::ReceivedBytes.eq(from))
            .filter(uploads::Column::State.eq(UploadState::Uploading.as_str()))
            .exec(self.connection())
            .await
            .store_err(UPLOAD)?;
        match updated.rows_affected {
            0 => Err(StoreError::Conflict { resource: UPLOAD }),
            _ => Ok(()),
        }
    }

    async fn fail_upload(&self, tenant: &TenantId, id: UploadId) -> Result<(), StoreError> {
        let updated = uploads::Entity::update_many()
            .col_expr(
                uploads::Column::State,
                Expr::value(UploadState::Failed.as_str()),
            )
            .col_expr(uploads::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(upload_in(tenant, id))
            .filter(uploads::Column::State.eq(UploadState::Uploading.as_str()))
            .exec(self.connection())
            .await
            .store_err(UPLOAD)?;
        match updated.rows_affected {
            0 => Err(StoreError::Conflict { resource: UPLOAD }),
            _ => Ok(()),
        }
    }

    async fn complete_upload(
        &self,
        tenant: &TenantId,
        id: UploadId,
        made: &Media,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        // The state moves first: of two racing completions, the loser
        // writes no media.
        let updated = uploads::Entity::update_many()
            .col_expr(
                uploads::Column::State,
                Expr::value(UploadState::Completed.as_str()),
            )
            .col_expr(uploads::Column::MediaId, Expr::value(made.id.clone()))
            .col_expr(uploads::Column::UpdatedAt, Expr::value(made.created_at))
            .filter(upload_in(tenant, id))
            .filter(uploads::Column::State.eq(UploadState::Uploading.as_str()))
            .exec(&txn)
            .await
            .store_err(UPLOAD)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::Conflict { resource: UPLOAD });
        }
        let row = media_row(made);
        media::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .store_err(MEDIA)?;
        txn.commit().await.store_err(UPLOAD)
    }

    async fn media(&self, tenant: &TenantId, id: &str) -> Result<Option<Media>, StoreError> {
        media::Entity::find_by_id(id.to_owned())
            .filter(media::Column::TenantId.eq(tenant.as_str()))
            .one(self.connection())
            .await
            .store_err(MEDIA)?
            .map(media_from_row)
            .transpose()
    }

    async fn expired_uploads(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Upload>, StoreError> {
        uploads::Entity::find()
            .filter(uploads::Column::ExpiresAt.lt(before))
            .filter(uploads::Column::State.ne(UploadState::Completed.as_str()))
            .order_by_asc(uploads::Column::ExpiresAt)
            .limit(limit)
            .all(self.connection())
            .await
            .store_err(UPLOAD)?
            .into_iter()
            .map(upload_from_row)
            .collect()
    }

    async fn add_media(&self, made: &Media) -> Result<Media, StoreError> {
        let row = media_row(made);
        match media::Entity::insert(row)
            .exec_without_returning(self.connection())
            .await
            .store_err(MEDIA)
        {
            Ok(_) => Ok(made.clone()),
            Err(StoreError::AlreadyExists { .. }) => self
                .media(&made.tenant, &made.id)
                .await?
                .ok_or(StoreError::Conflict { resource: MEDIA }),
            Err(err) => Err(err),
        }
    }

    async fn delete_upload(&self, upload: &Upload) -> Result<(), StoreError> {
        // Only while still unfinished: a completion that won a race keeps it.
        uploads::Entity::delete_many()
            .filter(upload_in(&upload.tenant, upload.id))
            .filter(uploads::Column::State.ne(UploadState::Completed.as_str()))
            .exec(self.connection())
            .await
            .store_err(UPLOAD)?;
        Ok(())
    }
}
