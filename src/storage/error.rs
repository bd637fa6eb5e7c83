//! Classification of database errors into the domain's [`StoreError`], where
//! they are born: callers above `storage/` never see a `DbErr`.

use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

use crate::domain::ports::StoreError;

/// Error is the storage layer's error. It is the domain's [`StoreError`]
/// itself rather than a wrapper: the ports speak `StoreError`, and a second
/// enum would only be converted into it at every call.
pub type Error = StoreError;

/// classify turns a `DbErr` into a `StoreError`: unique violations become
/// `AlreadyExists { resource }`, anything that says "the database cannot be
/// reached right now" becomes `Unavailable`, the rest `Other`.
pub(crate) fn classify(err: DbErr, resource: &'static str) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
        return StoreError::AlreadyExists { resource };
    }
    if is_unavailable(&err) {
        return StoreError::Unavailable(err.to_string());
    }
    StoreError::Other(err.to_string())
}

/// StoreResultExt classifies the error of a database call in place:
/// `query.await.store_err("account")?`.
pub(crate) trait StoreResultExt<T> {
    fn store_err(self, resource: &'static str) -> Result<T, StoreError>;
}

impl<T> StoreResultExt<T> for Result<T, DbErr> {
    fn store_err(self, resource: &'static str) -> Result<T, StoreError> {
        self.map_err(|err| classify(err, resource))
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    match err {
        // The pool timed out or was closed, or a connection could not be made.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_unavailable(e)
        }
        _ => false,
    }
}

fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                // Class 08: connection exception; 57P01..57P03: the server is
                // shutting down or starting; 53300: too many connections;
                // 40001/40P01: serialization failure / deadlock, retryable.
                return code.starts_with("08")
                    || matches!(
                        code,
                        "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
                    );
            }
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended
                // codes (e.g. 517 BUSY_SNAPSHOT, 261 BUSY_RECOVERY): another
                // writer held the database past the busy timeout. Retryable.
                return code
                    .parse::<i32>()
                    .is_ok_and(|code| matches!(code & 0xff, 5 | 6));
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnAcquireErr;

    use super::*;

    #[test]
    fn pool_timeouts_are_unavailable() {
        let err = DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
        assert!(matches!(
            classify(err, "account"),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn io_errors_are_unavailable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = DbErr::Query(RuntimeErr::SqlxError(sqlx::Error::Io(io).into()));
        assert!(matches!(
            classify(err, "account"),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn other_errors_stay_other() {
        let err = DbErr::Custom("boom".into());
        assert!(matches!(classify(err, "account"), StoreError::Other(_)));
    }
}
