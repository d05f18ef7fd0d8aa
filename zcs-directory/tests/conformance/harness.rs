//! Runs one conformance case against every SQL engine at hand: SQLite always, MariaDB
//! when `ZCS_TEST_MYSQL_URL` is set, PostgreSQL when `ZCS_TEST_POSTGRES_URL` is set. Each
//! case gets a database of its own (`zcs_dir_<random>` on the servers, dropped at the end
//! even when the case panics), so cases run in parallel on shared servers. SQLite also
//! runs each case through a `CachedDirectory`, which must keep the same contract for
//! everything done through it.

use std::sync::Arc;

use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use tempfile::TempDir;
use zcs_directory::{
    AuthRegistry, CacheSettings, CachedDirectory, Directory, Provisioning, SqlDirectory,
};

/// The environment variable naming the MariaDB server for these tests.
pub const MYSQL_ENV: &str = "ZCS_TEST_MYSQL_URL";
/// The environment variable naming the PostgreSQL server for these tests.
pub const POSTGRES_ENV: &str = "ZCS_TEST_POSTGRES_URL";

/// One database a case runs against.
pub struct Ctx {
    /// `sqlite`, `sqlite+cache`, `mysql` or `postgres`, for assertion messages.
    pub label: &'static str,
    /// The URL of this case's own database.
    pub url: String,
    /// Whether `dir` is a `CachedDirectory` (which serves its copy of an entry changed
    /// through another handle until the copy expires).
    pub cached: bool,
    /// A handle on it.
    pub dir: Arc<dyn Directory>,
    /// The SQL handle under `dir`.
    sql: Arc<SqlDirectory>,
    /// `Provisioning` over `dir`, local server `mail.test`.
    pub prov: Provisioning,
}

impl Ctx {
    /// A second, independent handle (its own pool) on the same database, as another
    /// process would open it.
    /// On MariaDB the second handle is opened through the `mariadb:` scheme.
    pub async fn reopen(&self) -> Arc<dyn Directory> {
        let url = match self.url.strip_prefix("mysql:") {
            Some(rest) => format!("mariadb:{rest}"),
            None => self.url.clone(),
        };
        let sql: Arc<dyn Directory> = Arc::new(SqlDirectory::open(&url).await.expect("reopen"));
        if self.cached {
            Arc::new(CachedDirectory::new(sql, CacheSettings::new()))
        } else {
            sql
        }
    }
}

/// A database created on a shared server, dropped when this is dropped.
struct ServerDb {
    admin_url: String,
    name: String,
    postgres: bool,
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let stmt = if self.postgres {
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)
        } else {
            format!("DROP DATABASE IF EXISTS {}", self.name)
        };
        // Drop cannot await; a thread with its own runtime can, even inside a test's.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut conn = AnyConnection::connect(&admin_url).await?;
                sqlx::query(AssertSqlSafe(stmt)).execute(&mut conn).await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// `url` with its database (the path) replaced by `db`, query string kept.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..host_end], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Creates a fresh database on the server at `admin_url`.
async fn create_server_db(admin_url: &str, postgres: bool) -> ServerDb {
    sqlx::any::install_default_drivers();
    let name = format!("zcs_dir_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AnyConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {admin_url}: {e}"));
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.expect("close");
    ServerDb {
        admin_url: admin_url.to_string(),
        name,
        postgres,
    }
}

/// Builds the context for one database URL.
async fn context(label: &'static str, url: String, cached: bool) -> Ctx {
    let sql = Arc::new(
        SqlDirectory::open(&url)
            .await
            .unwrap_or_else(|e| panic!("open {label} directory: {e}")),
    );
    let dir: Arc<dyn Directory> = if cached {
        Arc::new(CachedDirectory::new(sql.clone(), CacheSettings::new()))
    } else {
        sql.clone()
    };
    let prov = Provisioning::new(dir.clone(), AuthRegistry::new()).with_local_server("mail.test");
    Ctx {
        label,
        url,
        cached,
        dir,
        sql,
        prov,
    }
}

/// Runs `case` on SQLite, then on MariaDB and PostgreSQL when their URLs are set,
/// printing a `SKIPPED:` line for each engine that is not.
pub async fn run(case_name: &str, case: impl AsyncFn(&Ctx)) {
    // SQLite: a file in a temporary directory, bare and behind the cache.
    for (label, cached) in [("sqlite", false), ("sqlite+cache", true)] {
        let tmp = TempDir::new().expect("tempdir");
        let path = tmp.path().join("directory.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let ctx = context(label, url, cached).await;
        case(&ctx).await;
        ctx.sql.close().await;
    }

    for (label, env, postgres) in [
        ("mysql", MYSQL_ENV, false),
        ("postgres", POSTGRES_ENV, true),
    ] {
        let Some(admin_url) = std::env::var(env).ok().filter(|u| !u.is_empty()) else {
            eprintln!("SKIPPED: {env} not set ({case_name} on {label})");
            continue;
        };
        let db = create_server_db(&admin_url, postgres).await;
        let ctx = context(label, with_database(&admin_url, &db.name), false).await;
        case(&ctx).await;
        ctx.sql.close().await;
        drop(db);
    }
}

#[test]
fn database_is_swapped_in_urls() {
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306/test", "x"),
        "mysql://root@127.0.0.1:3306/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
