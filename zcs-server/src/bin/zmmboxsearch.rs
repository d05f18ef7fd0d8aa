//! `zmmboxsearch -m <accounts> -q <query> [-o offset] [-l limit] [-d dir]`: cross-mailbox
//! search for discovery (admin guide "Cross Mailbox Search", CLI appendix). Runs one
//! query in Zimbra's grammar over the listed accounts' mailboxes and prints one line per
//! hit, newest first; with `-d`, also saves each hit's message as
//! `RESULTNUM_ACCOUNT-ID_MAILITEMID` in that directory.
//!
//! When the server runs, the search is asked of it over the admin port
//! (`SearchMultipleMailboxesRequest`, as Zimbra's tool does; see
//! `zcs_server::search::remote`); otherwise the tool takes the home lock and opens the
//! store and index itself. Output is the same either way. `-m *` searches every
//! account except system accounts and those flagged `zimbraExcludeFromCMBSearch`.
//!
//! LIMITATION: `/SERVER/MAILBOXID` forms are not accepted; `-s` names only this server.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use zcs_index::{IndexBackend, TantivyIndex, query};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;
use zcs_server::search::remote::Remote;
use zcs_server::search::{SearchParams, resolve_scopes, search_mailboxes};
use zcs_store::{Store, StoreConfig};

/// Search several mailboxes with one query.
#[derive(Parser)]
#[command(name = "zmmboxsearch")]
struct Args {
    /// Comma-separated accounts (names, aliases or zimbraIds).
    #[arg(short = 'm', long = "mbox")]
    mbox: String,
    /// The query, in Zimbra's search grammar.
    #[arg(short = 'q', long = "query")]
    query: String,
    /// Hits to skip.
    #[arg(short = 'o', long = "offset", default_value_t = 0)]
    offset: usize,
    /// Most hits to print.
    #[arg(short = 'l', long = "limit", default_value_t = 25)]
    limit: usize,
    /// Directory to save the messages in.
    #[arg(short = 'd', long = "dir")]
    dir: Option<std::path::PathBuf>,
    /// Server to search (only the local one is supported).
    #[arg(short = 's', long = "server")]
    server: Option<String>,
    /// Print more.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zmmboxsearch: {e}");
            ExitCode::from(1)
        }
    }
}

/// The accounts `-m` names.
fn keys(args: &Args) -> Vec<String> {
    args.mbox
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// One output line: number, account, item id, date, sender, subject.
fn line(num: usize, account: &str, id: i32, date_ms: i64, sender: &str, subject: &str) {
    let date = chrono::DateTime::from_timestamp_millis(date_ms)
        .map(|d| d.to_rfc2822())
        .unwrap_or_default();
    println!("{num}\t{account}\t{id}\t{date}\t{sender}\t{subject}");
}

async fn run(args: &Args) -> Result<(), String> {
    let q = query::parse(&args.query).map_err(|e| format!("mail.QUERY_PARSE_ERROR: {e}"))?;
    let home = Home::from_env().map_err(|e| e.to_string())?;
    if keys(args).is_empty() {
        return Err("no account given (-m)".into());
    }
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    if zcs_server::control::running_pid(&home).is_some() {
        return online(args, &home).await;
    }
    let _lock = home
        .lock()
        .map_err(|e| format!("{e} (the server holds it but does not answer; retry)"))?;
    let lc = LocalConfig::load(&home).map_err(|e| format!("load local config: {e}"))?;
    let path = |key: &str| std::path::PathBuf::from(lc.get(key).unwrap_or_default());
    let prov = zcs_server::bootstrap::open_provisioning(&home)
        .await
        .map_err(|e| e.to_string())?;
    let store = Store::open(StoreConfig {
        db_path: path("zcs_store_db"),
        blob_root: path("zcs_store_volume"),
        redo_dir: path("zcs_redolog_directory"),
    })
    .await
    .map_err(|e| format!("open store: {e}"))?;
    let index: Arc<dyn IndexBackend> = Arc::new(
        TantivyIndex::open(&path("zcs_index_volume")).map_err(|e| format!("open index: {e}"))?,
    );
    let scopes = resolve_scopes(&prov, &store, &keys(args))
        .await
        .map_err(|e| e.to_string())?;

    let params = SearchParams {
        offset: args.offset,
        limit: args.limit,
        include_trash: true,
        include_junk: true,
        ..SearchParams::default()
    };
    let (hits, total) = search_mailboxes(&scopes, &index, &q, &params)
        .await
        .map_err(|e| e.to_string())?;
    if args.verbose {
        println!("{total} hits in {} mailboxes", scopes.len());
    }
    for (n, hit) in hits.iter().enumerate() {
        let num = args.offset + n + 1;
        let scope = &scopes[hit.scope];
        let m = &hit.message;
        line(
            num,
            &scope.account,
            m.id.0,
            m.internal_date_ms,
            &m.sender,
            &m.subject,
        );
        if let Some(dir) = &args.dir {
            let raw = scope
                .mailbox
                .read_message(m.id)
                .await
                .map_err(|e| format!("read {} item {}: {e}", scope.account, m.id))?;
            let file = dir.join(format!("{num}_{}_{}", scope.account_id, m.id));
            std::fs::write(&file, raw).map_err(|e| format!("write {}: {e}", file.display()))?;
        }
    }
    store.close().await;
    Ok(())
}

/// The same search asked of the running server.
async fn online(args: &Args, home: &Home) -> Result<(), String> {
    let prov = zcs_server::bootstrap::open_provisioning(home)
        .await
        .map_err(|e| e.to_string())?;
    let remote = Remote::open(home, &prov).await?;
    let res = async {
        let (hits, total) = remote
            .search(&keys(args), &args.query, args.offset, args.limit)
            .await?;
        if args.verbose {
            println!("{total} hits (asked of the running server)");
        }
        for (n, h) in hits.iter().enumerate() {
            let num = args.offset + n + 1;
            line(num, &h.account, h.id, h.date_ms, &h.sender, &h.subject);
            if let Some(dir) = &args.dir {
                let raw = remote.message(&h.account_id, h.id).await?;
                let file = dir.join(format!("{num}_{}_{}", h.account_id, h.id));
                std::fs::write(&file, raw).map_err(|e| format!("write {}: {e}", file.display()))?;
            }
        }
        Ok(())
    }
    .await;
    remote.close(Some(&prov)).await;
    res
}
