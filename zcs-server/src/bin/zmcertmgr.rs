//! `zmcertmgr`: the server's certificates, with Zimbra's verbs and single-dash options.
//!
//! ```text
//! zmcertmgr createca [-new]
//! zmcertmgr createcrt [-new] [-subjectAltNames "a,b"]
//! zmcertmgr createcsr comm -subject "/C=US/O=Org/CN=host" [-subjectAltNames "a,b"]
//! zmcertmgr deploycrt self
//! zmcertmgr deploycrt comm <certfile> <ca_chain_file> [-key <keyfile>]
//! zmcertmgr verifycrt self|comm [<keyfile> <certfile> [<ca_chain_file>]]
//! zmcertmgr viewdeployedcrt [all]
//! zmcertmgr viewcsr comm
//! zmcertmgr checkcrtexpiration [-days N]
//! ```
//! A running server picks a deployed certificate up within seconds, without a restart.

use std::path::PathBuf;
use std::process::ExitCode;

use zcs_server::certmgr::{self, CertError};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;
use zcs_server::tls::{self, CertPaths};

const USAGE: &str = "usage: zmcertmgr createca [-new] | createcrt [-new] [-subjectAltNames a,b] \
| createcsr comm -subject SUBJ [-subjectAltNames a,b] | deploycrt self | deploycrt comm CERT \
CHAIN [-key KEY] | verifycrt self|comm [KEY CERT [CHAIN]] | viewdeployedcrt [all] | viewcsr comm \
| checkcrtexpiration [-days N]";

fn main() -> ExitCode {
    zcs_server::private_umask();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zmcertmgr: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `-name` in `args`, removing both.
fn take_opt(args: &mut Vec<String>, name: &str) -> Option<String> {
    let at = args.iter().position(|a| a.eq_ignore_ascii_case(name))?;
    args.remove(at);
    (at < args.len()).then(|| args.remove(at))
}

fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    match args.iter().position(|a| a.eq_ignore_ascii_case(name)) {
        Some(at) => {
            args.remove(at);
            true
        }
        None => false,
    }
}

fn alt_names(args: &mut Vec<String>) -> Vec<String> {
    take_opt(args, "-subjectAltNames")
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn run(args: &[String]) -> Result<ExitCode, CertError> {
    let Some((verb, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::FAILURE);
    };
    let mut rest = rest.to_vec();
    let home = Home::from_env().map_err(|e| CertError::Invalid(e.to_string()))?;
    zcs_server::privdrop::drop_for_tool(&home).map_err(|e| CertError::Invalid(e.to_string()))?;
    let paths = CertPaths::new(home.root());
    let hostname = LocalConfig::load(&home)
        .ok()
        .and_then(|lc| lc.get("zimbra_server_hostname"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(zcs_server::bootstrap::system_hostname);
    match verb.to_ascii_lowercase().as_str() {
        "createca" => {
            let new = take_flag(&mut rest, "-new");
            if paths.ca_key().is_file() && !new {
                println!(
                    "** CA already exists at {}; use -new to replace it",
                    paths.ca_key().display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            for f in [paths.ca_key(), paths.ca_cert()] {
                let _ = std::fs::remove_file(f);
            }
            tls::create_self_signed(&paths, &hostname)?;
            println!(
                "** Creating CA private key {}...done.",
                paths.ca_key().display()
            );
            println!("** Creating CA cert {}...done.", paths.ca_cert().display());
        }
        "createcrt" => {
            let new = take_flag(&mut rest, "-new");
            let extra = alt_names(&mut rest);
            let _ = take_opt(&mut rest, "-days");
            if paths.server_cert().is_file() && !new {
                println!("** Certificate already exists; use -new to replace it");
                return Ok(ExitCode::SUCCESS);
            }
            if !extra.is_empty() {
                // LIMITATION: extra names on the self-signed certificate are not added yet;
                // it names this host, localhost and the loopback addresses.
                eprintln!("zmcertmgr: -subjectAltNames is ignored for the self-signed certificate");
            }
            tls::create_self_signed(&paths, &hostname)?;
            println!(
                "** Creating server cert {}...done.",
                paths.server_cert().display()
            );
        }
        "createcsr" => {
            let kind = rest.first().cloned().unwrap_or_default();
            if !kind.eq_ignore_ascii_case("comm") {
                return Err(CertError::Invalid("createcsr supports comm only".into()));
            }
            rest.remove(0);
            let extra = alt_names(&mut rest);
            let subject =
                take_opt(&mut rest, "-subject").unwrap_or_else(|| format!("/CN={hostname}"));
            let _ = take_flag(&mut rest, "-new");
            let _ = take_opt(&mut rest, "-keysize");
            let pem = certmgr::create_csr(&paths, &subject, &extra)?;
            println!(
                "** Creating CSR {}...done.",
                paths.commercial_key().with_extension("csr").display()
            );
            print!("{pem}");
        }
        "viewcsr" => {
            let csr = paths.commercial_key().with_extension("csr");
            let text = std::fs::read_to_string(&csr)
                .map_err(|source| CertError::Io { path: csr, source })?;
            print!("{text}");
        }
        "deploycrt" => match rest.first().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("self") => {
                let s = certmgr::deploy_self(&paths, &hostname)?;
                println!("** Installing self-signed certificate...done.");
                print!("{}", s.render());
            }
            Some("comm") => {
                rest.remove(0);
                let key = take_opt(&mut rest, "-key").map(PathBuf::from);
                let (Some(cert), Some(chain)) = (rest.first(), rest.get(1)) else {
                    return Err(CertError::Invalid(
                        "deploycrt comm needs <certfile> <ca_chain_file>".into(),
                    ));
                };
                let s = certmgr::deploy_commercial(
                    &paths,
                    &PathBuf::from(cert),
                    &PathBuf::from(chain),
                    key.as_deref(),
                    now(),
                )?;
                println!("** Verifying '{cert}' against '{chain}'...OK");
                println!("** Installing commercial certificate...done.");
                print!("{}", s.render());
            }
            _ => return Err(CertError::Invalid("deploycrt self|comm".into())),
        },
        "verifycrt" => {
            let kind = rest
                .first()
                .map(|s| s.to_ascii_lowercase())
                .unwrap_or_default();
            let (key, cert, chain) = match (rest.get(1), rest.get(2)) {
                (Some(k), Some(c)) => (
                    PathBuf::from(k),
                    PathBuf::from(c),
                    rest.get(3).map(PathBuf::from),
                ),
                _ if kind == "comm" => (paths.commercial_key(), paths.commercial_cert(), None),
                _ => (paths.server_key(), paths.server_cert(), None),
            };
            certmgr::verify(&key, &cert, chain.as_deref(), now())?;
            println!(
                "** Verifying '{}' against '{}'",
                cert.display(),
                key.display()
            );
            println!(
                "Certificate '{}' and private key '{}' match.",
                cert.display(),
                key.display()
            );
        }
        "viewdeployedcrt" => {
            let (cert, _) = paths.active();
            let s = certmgr::view(&cert)?;
            // Every zcs service shares one certificate; Zimbra lists it per service.
            for service in ["ldap", "mailboxd", "mta", "proxy"] {
                println!("- {service} {}", cert.display());
                print!("{}", s.render());
            }
        }
        "checkcrtexpiration" => {
            let days: i64 = take_opt(&mut rest, "-days")
                .and_then(|d| d.parse().ok())
                .unwrap_or(30);
            let (cert, _) = paths.active();
            let s = certmgr::view(&cert)?;
            let left = s.days_left(now());
            if left < days {
                println!(
                    "** {} will expire in {left} days (on notAfter); renew it",
                    cert.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            println!("** {} is valid for {left} more days", cert.display());
        }
        _ => {
            eprintln!("{USAGE}");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
