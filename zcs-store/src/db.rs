//! The metadata seam: one handle ([`Db`]) over SQLite, MariaDB or PostgreSQL, and the
//! dialect layer that lets the store write each statement once.
//!
//! In charge of: choosing the engine from a URL ([`Backend::from_url`]), connecting with
//! each engine's session settings, and rewriting statements for the engine at the moment
//! they run. Every statement of the store is written in SQLite's dialect with `?`
//! placeholders; `crate::dialect` turns it into what MariaDB or PostgreSQL accepts:
//!
//! - `?`, `?N`: PostgreSQL `$1`, `$N`; MariaDB `?`.
//! - `INSERT OR IGNORE INTO t ...`: PostgreSQL `INSERT INTO t ... ON CONFLICT DO NOTHING`;
//!   MariaDB `INSERT IGNORE INTO t ...`.
//! - `MAX(a, b)`, `MIN(a, b)` (two arguments): `GREATEST`, `LEAST` on both.
//! - `SUM(x)`: PostgreSQL `CAST(SUM(x) AS BIGINT)`; MariaDB `CAST(SUM(x) AS SIGNED)`.
//! - `ON CONFLICT (k) DO UPDATE SET c = excluded.c`: PostgreSQL unchanged; MariaDB
//!   `ON DUPLICATE KEY UPDATE c = VALUES(c)`.
//! - the column `change`: PostgreSQL unchanged; MariaDB `` `change` `` (a reserved word).
//!
//! The rewriting happens in the [`sqlx::Executor`] implementations of [`DbConn`] and
//! [`Db`], so the store's query code is the same on every engine; translations of the
//! (static) statements are cached. SQLite statements run untouched.
//!
//! Statements are not parsed: the rewriter knows string literals (`'...'`) and leaves
//! them alone, and relies on the store never writing `?` or these keywords inside one.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use sqlx::any::{
    AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyQueryResult, AnyRow, AnyStatement,
    AnyTypeInfo,
};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{
    Any, AnyConnection, AnyPool, AssertSqlSafe, ConnectOptions, Either, Error, Execute, Executor,
    SqlSafeStr, SqlStr, Transaction,
};

use crate::error::{DbContext, StoreError};

/// The SQL engine behind a [`Db`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite through a file: the embedded default.
    Sqlite,
    /// MariaDB (or MySQL) over the network.
    MySql,
    /// PostgreSQL over the network.
    Postgres,
}

impl Backend {
    /// The engine a database URL names by its scheme: `sqlite:`, `mysql:` or `mariadb:`,
    /// `postgres:` or `postgresql:`. `None` for any other scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "mysql" | "mariadb" => Some(Backend::MySql),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    /// The engine of a connection, from sqlx's driver name.
    fn of(conn: &AnyConnection) -> Backend {
        match conn.backend_name() {
            "PostgreSQL" => Backend::Postgres,
            "MySQL" => Backend::MySql,
            _ => Backend::Sqlite,
        }
    }

    /// A short lower-case name for logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::MySql => "mysql",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connection that rewrites statements for its engine as they run. Obtained from a
/// [`Tx`] or [`Pooled`] by dereferencing; `&mut DbConn` is an [`sqlx::Executor`].
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct DbConn(AnyConnection);

impl DbConn {
    /// Views an sqlx connection as a `DbConn`.
    fn wrap(conn: &mut AnyConnection) -> &mut DbConn {
        // SAFETY: `DbConn` is `repr(transparent)` over `AnyConnection`, so the two have
        // the same layout and the reference keeps the borrow's lifetime.
        unsafe { &mut *(conn as *mut AnyConnection as *mut DbConn) }
    }

    /// The engine this connection talks to.
    pub(crate) fn backend(&self) -> Backend {
        Backend::of(&self.0)
    }
}

/// A write or read transaction; dereferences to [`DbConn`]. Rolled back when dropped
/// without [`Tx::commit`].
pub(crate) struct Tx(Transaction<'static, Any>);

impl Tx {
    /// Commits the transaction.
    pub(crate) async fn commit(self) -> Result<(), Error> {
        self.0.commit().await
    }
}

impl Deref for Tx {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        let conn: &AnyConnection = &self.0;
        // SAFETY: as in `DbConn::wrap`.
        unsafe { &*(conn as *const AnyConnection as *const DbConn) }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut DbConn {
        DbConn::wrap(&mut self.0)
    }
}

/// A connection borrowed from the pool; dereferences to [`DbConn`].
pub(crate) struct Pooled(PoolConnection<Any>);

impl Deref for Pooled {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        let conn: &AnyConnection = &self.0;
        // SAFETY: as in `DbConn::wrap`.
        unsafe { &*(conn as *const AnyConnection as *const DbConn) }
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        DbConn::wrap(&mut self.0)
    }
}

/// The metadata database: a pool of connections to one engine. Cheap to clone. `&Db` is
/// an [`sqlx::Executor`] that rewrites statements for the engine.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// Connections kept per SQLite pool (one writer at a time anyway).
const SQLITE_MAX_CONNECTIONS: u32 = 8;
/// Connections kept per MariaDB or PostgreSQL pool.
const SERVER_MAX_CONNECTIONS: u32 = 12;

impl Db {
    /// Opens the SQLite file at `path` (created when missing) in WAL mode with
    /// `synchronous=NORMAL` (the redo log, not the database, makes a change durable),
    /// a 30 s busy timeout and foreign keys off.
    ///
    /// # Errors
    /// [`StoreError::Db`] when the file cannot be opened.
    pub async fn open_sqlite(path: &Path) -> Result<Db, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::io("create database dir", parent, e))?;
        }
        let url = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .to_url_lossy();
        let opts = AnyConnectOptions::from_url(&url).db("parse sqlite options")?;
        Db::connect(Backend::Sqlite, opts).await
    }

    /// Opens the database a URL names: `sqlite:` (a file), `mysql:`/`mariadb:` or
    /// `postgres:`/`postgresql:`. The database must exist on MariaDB and PostgreSQL.
    ///
    /// # Errors
    /// [`StoreError::InvalidRequest`] for an unknown scheme; [`StoreError::Db`]
    /// when the server cannot be reached or refuses the credentials.
    pub async fn open_url(url: &str) -> Result<Db, StoreError> {
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::InvalidRequest(format!(
                "unsupported metadata store URL scheme in {:?}",
                redact_url(url)
            ))
        })?;
        let url = match backend {
            // sqlx's own scheme is `mysql`.
            Backend::MySql if url[..8].eq_ignore_ascii_case("mariadb:") => {
                format!("mysql:{}", &url[8..])
            }
            _ => url.to_string(),
        };
        let opts = AnyConnectOptions::from_url(
            &url.parse()
                .map_err(|e| StoreError::InvalidRequest(format!("bad store URL: {e}")))?,
        )
        .db("parse store URL")?;
        Db::connect(backend, opts).await
    }

    /// Opens the metadata database of a store exactly as [`crate::Store::open_url`]
    /// chooses it, without the redo log or its lock, so tools (`zmvolume`, `zmhsm`,
    /// `zmblobchk`) can run beside a server holding the store: an empty `url` (or
    /// `sqlite:` without a path) is the SQLite file `db_path`, `sqlite:///file` that file,
    /// `mysql:`/`mariadb:`/`postgres:` the server's database. The schema is created or
    /// migrated.
    ///
    /// # Errors
    /// As [`Db::open_url`]; schema errors.
    pub async fn open_metadata(url: &str, db_path: &Path) -> Result<Db, StoreError> {
        let url = url.trim();
        let backend = if url.is_empty() {
            Backend::Sqlite
        } else {
            Backend::from_url(url).ok_or_else(|| {
                StoreError::InvalidRequest(format!(
                    "unsupported metadata store URL {:?}",
                    redact_url(url)
                ))
            })?
        };
        let db = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(url).unwrap_or_else(|| db_path.to_path_buf());
                Db::open_sqlite(&path).await?
            }
            _ => Db::open_url(url).await?,
        };
        // Beside a running server, SQLite answers SQLITE_BUSY at once (no busy wait) when
        // the schema check's read snapshot must turn into a write after the server
        // committed; the check is idempotent, so it is tried again on BUSY/LOCKED only.
        let mut tries = 0u64;
        loop {
            match crate::schema::ensure(&db).await {
                Ok(()) => return Ok(db),
                Err(e) if tries < 20 && is_busy_or_locked(&e) => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn connect(backend: Backend, opts: AnyConnectOptions) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let max = match backend {
            Backend::Sqlite => SQLITE_MAX_CONNECTIONS,
            Backend::MySql | Backend::Postgres => SERVER_MAX_CONNECTIONS,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    for stmt in session_setup(backend) {
                        sqlx::Executor::execute(&mut *conn, *stmt).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .db("open database")?;
        tracing::debug!(backend = %backend, "metadata database open");
        Ok(Db { pool, backend })
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, Error> {
        Ok(Tx(self.pool.begin().await?))
    }

    /// Borrows a connection.
    pub(crate) async fn acquire(&self) -> Result<Pooled, Error> {
        Ok(Pooled(self.pool.acquire().await?))
    }

    /// Closes every connection; waits for running statements.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Statements run on every new connection.
fn session_setup(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Sqlite => &[
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA busy_timeout = 30000",
            "PRAGMA foreign_keys = OFF",
        ],
        // Strict mode refuses truncation instead of storing a shortened value; binary
        // collation and utf8mb4 keep names byte-exact, as on the other engines.
        Backend::MySql => &[
            "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'",
            "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        ],
        Backend::Postgres => &["SET client_min_messages = warning"],
    }
}

/// The file a `sqlite:` URL names (`sqlite:///abs/path`, `sqlite://rel/path`,
/// `sqlite:path`), without any `?options`; `None` for an empty path.
pub(crate) fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.split_once(':').map(|(_, r)| r).unwrap_or("");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or("");
    (!rest.is_empty()).then(|| std::path::PathBuf::from(rest))
}

/// `url` with any password replaced, for error messages.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A statement rewritten for its engine, with the caller's arguments.
struct Translated {
    sql: SqlStr,
    args: Option<AnyArguments>,
    persistent: bool,
}

impl Translated {
    /// Takes `query` apart and rewrites its text for `backend`.
    fn new<'q, E: Execute<'q, Any>>(backend: Backend, mut query: E) -> Result<Translated, Error> {
        let args = query.take_arguments().map_err(Error::Encode)?;
        let persistent = query.persistent();
        let sql = query.sql();
        let (sql, args) = match backend {
            Backend::Sqlite => (sql, args),
            _ => {
                let (sql, order) = cached_translation_with_order(backend, sql);
                (sql, reorder(args, order.as_deref()))
            }
        };
        Ok(Translated {
            sql,
            args,
            persistent,
        })
    }
}

impl Execute<'static, Any> for Translated {
    fn sql(self) -> SqlStr {
        self.sql
    }
    fn statement(&self) -> Option<&AnyStatement> {
        None
    }
    fn take_arguments(&mut self) -> Result<Option<AnyArguments>, sqlx::error::BoxDynError> {
        Ok(self.args.take())
    }
    fn persistent(&self) -> bool {
        self.persistent
    }
}

/// Translations are cached per engine and statement text: the store's statements are a
/// small fixed set, plus a few built at run time from fixed pieces.
type Cache = Mutex<HashMap<(Backend, String), (Arc<str>, Option<Arc<[usize]>>)>>;

fn cached_translation(backend: Backend, sql: SqlStr) -> SqlStr {
    cached_translation_with_order(backend, sql).0
}

fn cached_translation_with_order(backend: Backend, sql: SqlStr) -> (SqlStr, Option<Arc<[usize]>>) {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (backend, sql.as_str().to_string());
    if let Some((text, order)) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return (AssertSqlSafe(text).into_sql_str(), order);
    }
    let (text, order) = crate::dialect::translate_with_order(backend, sql.as_str());
    let text: Arc<str> = Arc::from(text);
    let order: Option<Arc<[usize]>> = order.map(Arc::from);
    if let Ok(mut c) = cache.lock() {
        // Bound the cache: statements with inlined lists could otherwise grow it.
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(key, (text.clone(), order.clone()));
    }
    (AssertSqlSafe(text).into_sql_str(), order)
}

/// `args` laid out for a statement whose placeholders were renumbered (MariaDB takes
/// positional `?` only): position `i` gets argument `order[i]`.
fn reorder(args: Option<AnyArguments>, order: Option<&[usize]>) -> Option<AnyArguments> {
    match (args, order) {
        (Some(mut args), Some(order)) => {
            let old = std::mem::take(&mut args.values.0);
            args.values.0 = order.iter().filter_map(|i| old.get(*i).cloned()).collect();
            Some(args)
        }
        (args, _) => args,
    }
}

fn translation_error<T>(backend: Backend, e: Error) -> Result<T, Error> {
    tracing::debug!(backend = %backend, error = %e, "statement arguments could not be encoded");
    Err(e)
}

impl<'c> Executor<'c> for &'c mut DbConn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let backend = self.backend();
        match Translated::new(backend, query) {
            Ok(q) => self.0.fetch_many(q),
            Err(e) => Box::pin(OnceStream(Some(translation_error(backend, e)))),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let backend = self.backend();
        match Translated::new(backend, query) {
            Ok(q) => self.0.fetch_optional(q),
            Err(e) => Box::pin(std::future::ready(translation_error(backend, e))),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, Error>>
    where
        'c: 'e,
    {
        let backend = self.backend();
        let sql = match backend {
            Backend::Sqlite => sql,
            _ => cached_translation(backend, sql),
        };
        self.0.prepare_with(sql, parameters)
    }
}

impl<'c> Executor<'c> for &'c Db {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match Translated::new(self.backend, query) {
            Ok(q) => (&self.pool).fetch_many(q),
            Err(e) => Box::pin(OnceStream(Some(translation_error(self.backend, e)))),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match Translated::new(self.backend, query) {
            Ok(q) => (&self.pool).fetch_optional(q),
            Err(e) => Box::pin(std::future::ready(translation_error(self.backend, e))),
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement, Error>>
    where
        'c: 'e,
    {
        let sql = match self.backend {
            Backend::Sqlite => sql,
            _ => cached_translation(self.backend, sql),
        };
        (&self.pool).prepare_with(sql, parameters)
    }
}

/// A stream of one item (the failure of a statement that could not be sent).
struct OnceStream<T>(Option<T>);

impl<T: Unpin> futures_core::Stream for OnceStream<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        std::task::Poll::Ready(self.0.take())
    }
}

/// Whether `e` is SQLite's "try again later" answer: result code SQLITE_BUSY (5) or
/// SQLITE_LOCKED (6), extended codes included (the primary code is the low byte). A
/// database error without a code falls back to SQLite's message for those two codes.
/// Every other error (schema, I/O, another engine's codes) is not retried.
fn is_busy_or_locked(e: &StoreError) -> bool {
    let StoreError::Db { source, .. } = e else {
        return false;
    };
    let Some(dbe) = source.as_database_error() else {
        return false;
    };
    match dbe.code() {
        Some(code) => code
            .parse::<i64>()
            .is_ok_and(|c| matches!(c & 0xff, SQLITE_BUSY | SQLITE_LOCKED)),
        None => {
            let msg = dbe.message();
            msg.contains("database is locked") || msg.contains("database table is locked")
        }
    }
}

/// SQLite's primary result code "the database file is locked" (another connection).
const SQLITE_BUSY: i64 = 5;
/// SQLite's primary result code "a table in the database is locked" (same connection).
const SQLITE_LOCKED: i64 = 6;

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::error::Error as StdError;

    /// A database error with a chosen code and message.
    #[derive(Debug)]
    struct FakeDbError {
        code: Option<&'static str>,
        message: &'static str,
    }

    impl std::fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.message)
        }
    }

    impl StdError for FakeDbError {}

    impl sqlx::error::DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            self.code.map(Cow::Borrowed)
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn db_err(code: Option<&'static str>, message: &'static str) -> StoreError {
        StoreError::Db {
            step: "test",
            source: sqlx::Error::Database(Box::new(FakeDbError { code, message })),
        }
    }

    #[test]
    fn busy_and_locked_codes_are_retried() {
        assert!(is_busy_or_locked(&db_err(Some("5"), "database is locked")));
        assert!(is_busy_or_locked(&db_err(
            Some("6"),
            "database table is locked"
        )));
        // SQLITE_BUSY_SNAPSHOT (517) and SQLITE_LOCKED_SHAREDCACHE (262) are extended codes.
        assert!(is_busy_or_locked(&db_err(
            Some("517"),
            "database is locked"
        )));
        assert!(is_busy_or_locked(&db_err(Some("262"), "whatever")));
        assert!(is_busy_or_locked(&db_err(None, "database is locked")));
    }

    #[test]
    fn other_errors_are_not_retried() {
        // The old text match retried these because their text mentions a lock.
        assert!(!is_busy_or_locked(&db_err(
            Some("1"),
            "database is locked (by a trigger)"
        )));
        assert!(!is_busy_or_locked(&db_err(
            Some("40001"),
            "deadlock detected"
        )));
        assert!(!is_busy_or_locked(&db_err(
            Some("HY000"),
            "database is locked"
        )));
        assert!(!is_busy_or_locked(&db_err(None, "no such table: item")));
        assert!(!is_busy_or_locked(&StoreError::Corrupt(
            "database is locked".to_string()
        )));
        let io = StoreError::Db {
            step: "test",
            source: sqlx::Error::PoolTimedOut,
        };
        assert!(!is_busy_or_locked(&io));
    }

    #[tokio::test]
    async fn real_sqlite_busy_is_recognised() {
        use sqlx::Connection;
        use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = SqliteConnectOptions::new()
            .filename(dir.path().join("busy.db"))
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO);
        let mut a = SqliteConnection::connect_with(&opts)
            .await
            .expect("connect a");
        let mut b = SqliteConnection::connect_with(&opts)
            .await
            .expect("connect b");
        sqlx::Executor::execute(&mut a, "BEGIN EXCLUSIVE")
            .await
            .expect("lock");
        let err = sqlx::Executor::execute(&mut b, "BEGIN EXCLUSIVE")
            .await
            .expect_err("second exclusive lock must fail");
        assert!(is_busy_or_locked(&StoreError::Db {
            step: "test",
            source: err
        }));
    }
}
