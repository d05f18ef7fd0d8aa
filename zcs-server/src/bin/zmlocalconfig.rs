//! `zmlocalconfig`: show and edit this host's local config.

use std::process::ExitCode;

use clap::Parser;
use zcs_server::home::Home;
use zcs_server::localconfig::{KEYS, LocalConfig, SECRET_MASK, is_secret};

/// Show or edit the local config of this zcs home.
#[derive(Parser)]
#[command(name = "zmlocalconfig", version)]
struct Args {
    /// Config file to use instead of the home's.
    #[arg(short = 'c', long = "config")]
    config: Option<std::path::PathBuf>,
    /// Show the default values of the keys named.
    #[arg(short = 'd', long = "default")]
    default: bool,
    /// Set keys: arguments are key=value.
    #[arg(short = 'e', long = "edit")]
    edit: bool,
    /// Allow editing keys flagged as dangerous (accepted; none are flagged yet).
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// List the supported keys with their descriptions.
    #[arg(short = 'i', long = "info")]
    info: bool,
    /// Output format: plain, xml, shell or nokey.
    #[arg(short = 'm', long = "format", default_value = "plain")]
    format: String,
    /// Only keys whose value differs from the default.
    #[arg(short = 'n', long = "changed")]
    changed: bool,
    /// Print the path of the config file in use.
    #[arg(short = 'p', long = "path")]
    path: bool,
    /// Quiet.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// With -e: set each key named to a random password string.
    #[arg(short = 'r', long = "random")]
    random: bool,
    /// Reveal secret values.
    #[arg(short = 's', long = "show")]
    show: bool,
    /// Remove keys from the file.
    #[arg(short = 'u', long = "unset")]
    unset: bool,
    /// Expand ${key} references.
    #[arg(short = 'x', long = "expand")]
    expand: bool,
    /// Keys (or key=value with -e).
    args: Vec<String>,
}

fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    zcs_server::private_umask();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zmlocalconfig: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let _ = args.force;
    if !matches!(args.format.as_str(), "plain" | "xml" | "shell" | "nokey") {
        return Err(format!(
            "unknown format {:?}: use plain, xml, shell or nokey",
            args.format
        ));
    }
    let mut lc = match &args.config {
        Some(p) if !p.exists() && !args.edit => {
            return Err(format!("{}: no such config file", p.display()));
        }
        Some(p) => LocalConfig::load_path(p),
        None => {
            let home = Home::from_env().map_err(|e| e.to_string())?;
            zcs_server::privdrop::drop_for_tool(&home).map_err(|e| e.to_string())?;
            LocalConfig::load(&home)
        }
    }
    .map_err(|e| e.to_string())?;

    if args.path {
        println!("{}", lc.path().display());
        return Ok(());
    }
    if args.info {
        for k in KEYS {
            println!("{} ({}): {}", k.name, k.default, k.desc);
        }
        return Ok(());
    }
    if args.edit || args.unset {
        for arg in &args.args {
            if args.unset {
                lc.unset(arg);
            } else if args.random {
                let key = arg.split('=').next().unwrap_or(arg);
                lc.set(key, &zcs_server::random_password(14));
            } else {
                let (k, v) = arg
                    .split_once('=')
                    .ok_or_else(|| format!("expected key=value, got {arg:?}"))?;
                let k = k.trim();
                if !args.quiet && !KEYS.iter().any(|d| d.name == k) {
                    // Zimbra keeps keys it does not know; so do we, but say so, since a
                    // typo would otherwise change nothing in silence.
                    eprintln!(
                        "zmlocalconfig: warning: {k} is not a key zcs reads (zmlocalconfig -i \
                         lists them); stored anyway"
                    );
                }
                lc.set(k, v.trim());
            }
        }
        return lc.save().map_err(|e| e.to_string());
    }

    let keys = if args.args.is_empty() {
        lc.keys()
    } else {
        args.args.clone()
    };
    let xml = args.format == "xml";
    if xml {
        println!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>");
    }
    for key in keys {
        let value = if args.default {
            KEYS.iter()
                .find(|k| k.name == key)
                .map(|k| k.default.to_string())
        } else if args.expand {
            lc.get(&key)
        } else {
            lc.raw(&key)
        };
        let Some(mut value) = value else {
            if !args.args.is_empty() {
                eprintln!("Warning: null valued key '{key}'");
            }
            continue;
        };
        if args.changed && !lc.is_set(&key) {
            continue;
        }
        if is_secret(&key) && !args.show {
            value = SECRET_MASK.to_string();
        }
        match args.format.as_str() {
            "nokey" => println!("{value}"),
            "shell" => println!("{key}='{}';", value.replace('\'', "'\\''")),
            // localconfig.xml's layout: one <key name=..> with its <value> per key.
            "xml" => println!(
                "  <key name=\"{}\">\n    <value>{}</value>\n  </key>",
                xml_escape(&key),
                xml_escape(&value)
            ),
            _ => println!("{key} = {value}"),
        }
    }
    if xml {
        println!("</localconfig>");
    }
    Ok(())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
