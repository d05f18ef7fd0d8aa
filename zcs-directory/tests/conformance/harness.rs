//! Runs one conformance case against one backend: SQLite always, MariaDB when
//! `ZCS_TEST_MYSQL_URL` is set, PostgreSQL when `ZCS_TEST_POSTGRES_URL` is set, OpenLDAP
//! when `ZCS_TEST_LDAP_URL` (with `_BIND_DN` and `_BIND_PASSWORD`) is set; a backend
//! whose variable is unset prints a `SKIPPED:` line and the test passes. Each case gets
//! a store of its own (`zcs_dir_<random>` on the SQL servers, an `o=zcs-ek-<uuid>`
//! subtree on slapd, removed at the end even when the case panics), so cases run in
//! parallel on shared servers. SQLite and OpenLDAP also run each case through a
//! `CachedDirectory`, which must keep the same contract for everything done through it.

use std::sync::Arc;

use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use tempfile::TempDir;
use zcs_directory::{
    AuthRegistry, CacheSettings, CachedDirectory, Directory, LdapConfig, LdapDirectory,
    Provisioning, SqlDirectory,
};

use crate::ldap_env;

/// The environment variable naming the MariaDB server for these tests.
pub const MYSQL_ENV: &str = "ZCS_TEST_MYSQL_URL";
/// The environment variable naming the PostgreSQL server for these tests.
pub const POSTGRES_ENV: &str = "ZCS_TEST_POSTGRES_URL";

/// The backends a case runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// A SQLite file, bare and behind the cache.
    Sqlite,
    /// A MariaDB database (`ZCS_TEST_MYSQL_URL`).
    Mysql,
    /// A PostgreSQL database (`ZCS_TEST_POSTGRES_URL`).
    Postgres,
    /// An OpenLDAP subtree (`ZCS_TEST_LDAP_URL`), bare and behind the cache.
    Ldap,
}

/// The store under a context, to open more handles on it and close it.
enum Store {
    Sql(Arc<SqlDirectory>),
    Ldap(Arc<LdapDirectory>, LdapConfig),
}

/// One store a case runs against.
pub struct Ctx {
    /// `sqlite`, `sqlite+cache`, `mysql`, `postgres`, `ldap` or `ldap+cache`, for
    /// assertion messages.
    pub label: &'static str,
    /// The URL of this case's own database or server.
    pub url: String,
    /// Whether `dir` is a `CachedDirectory` (which serves its copy of an entry changed
    /// through another handle until the copy expires).
    pub cached: bool,
    /// A handle on it.
    pub dir: Arc<dyn Directory>,
    /// The backend handle under `dir`.
    store: Store,
    /// `Provisioning` over `dir`, local server `mail.test`.
    pub prov: Provisioning,
}

impl Ctx {
    /// A second, independent handle (its own pool) on the same store, as another
    /// process would open it.
    /// On MariaDB the second handle is opened through the `mariadb:` scheme.
    pub async fn reopen(&self) -> Arc<dyn Directory> {
        let raw: Arc<dyn Directory> = match &self.store {
            Store::Sql(_) => {
                let url = match self.url.strip_prefix("mysql:") {
                    Some(rest) => format!("mariadb:{rest}"),
                    None => self.url.clone(),
                };
                Arc::new(SqlDirectory::open(&url).await.expect("reopen"))
            }
            Store::Ldap(_, config) => Arc::new(
                LdapDirectory::connect(config.clone())
                    .await
                    .expect("reopen"),
            ),
        };
        if self.cached {
            Arc::new(CachedDirectory::new(raw, CacheSettings::new()))
        } else {
            raw
        }
    }

    /// Closes the backend handle.
    async fn close(&self) {
        match &self.store {
            Store::Sql(sql) => sql.close().await,
            Store::Ldap(ldap, _) => ldap.close().await,
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

/// Builds the context for one backend handle.
fn context(label: &'static str, url: String, cached: bool, store: Store) -> Ctx {
    let raw: Arc<dyn Directory> = match &store {
        Store::Sql(sql) => sql.clone(),
        Store::Ldap(ldap, _) => ldap.clone(),
    };
    let dir: Arc<dyn Directory> = if cached {
        Arc::new(CachedDirectory::new(raw, CacheSettings::new()))
    } else {
        raw
    };
    let prov = Provisioning::new(dir.clone(), AuthRegistry::new()).with_local_server("mail.test");
    Ctx {
        label,
        url,
        cached,
        dir,
        store,
        prov,
    }
}

/// Opens the SQL directory at `url` for a context.
async fn sql_store(label: &str, url: &str) -> Store {
    let sql = SqlDirectory::open(url)
        .await
        .unwrap_or_else(|e| panic!("open {label} directory: {e}"));
    Store::Sql(Arc::new(sql))
}

/// Runs `case` on every backend in turn (SQLite, MariaDB, PostgreSQL, OpenLDAP), each
/// one not configured printing a `SKIPPED:` line. (For the suites that include this
/// harness by path; the conformance suite itself has one test per backend.)
#[allow(dead_code)]
pub async fn run(case_name: &str, case: impl AsyncFn(&Ctx)) {
    for backend in [
        Backend::Sqlite,
        Backend::Mysql,
        Backend::Postgres,
        Backend::Ldap,
    ] {
        run_on(backend, case_name, &case).await;
    }
}

/// Runs `case` on `backend`, or prints a `SKIPPED:` line when the backend's server is
/// not configured.
pub async fn run_on(backend: Backend, case_name: &str, case: impl AsyncFn(&Ctx)) {
    match backend {
        Backend::Sqlite => {
            // A file in a temporary directory, bare and behind the cache.
            for (label, cached) in [("sqlite", false), ("sqlite+cache", true)] {
                let tmp = TempDir::new().expect("tempdir");
                let path = tmp.path().join("directory.db");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let store = sql_store(label, &url).await;
                let ctx = context(label, url, cached, store);
                case(&ctx).await;
                ctx.close().await;
            }
        }
        Backend::Mysql | Backend::Postgres => {
            let (label, env, postgres) = match backend {
                Backend::Mysql => ("mysql", MYSQL_ENV, false),
                _ => ("postgres", POSTGRES_ENV, true),
            };
            let Some(admin_url) = std::env::var(env).ok().filter(|u| !u.is_empty()) else {
                eprintln!("SKIPPED: {env} not set ({case_name} on {label})");
                return;
            };
            let db = create_server_db(&admin_url, postgres).await;
            let url = with_database(&admin_url, &db.name);
            let store = sql_store(label, &url).await;
            let ctx = context(label, url, false, store);
            case(&ctx).await;
            ctx.close().await;
            drop(db);
        }
        Backend::Ldap => {
            for (label, cached) in [("ldap", false), ("ldap+cache", true)] {
                // Prints its own SKIPPED line when slapd is not configured.
                let Some(env) = ldap_env::ldap_provisioning(case_name).await else {
                    return;
                };
                let store = Store::Ldap(env.dir.clone(), env.config());
                let ctx = context(label, env.url().to_string(), cached, store);
                case(&ctx).await;
                ctx.close().await;
                drop(ctx);
                drop(env);
            }
        }
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
