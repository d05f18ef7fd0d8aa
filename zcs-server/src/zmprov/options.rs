//! zmprov's command-line options and how they combine, decided before anything runs.
//!
//! In charge of reading `-f`, `-l`, `-a`, `-p`, `-P`, `-s`, `-z`, `-y`, `-Y` (and the
//! flags zmprov accepts without effect: `-v`, `-d`, `-m`, `-r`, `-L`) into [`Options`],
//! and of refusing combinations zcs cannot honour with a message saying why, rather than
//! ignoring them: an admin login (`-a`/`-p`), a named server (`-s`) or the local admin
//! (`-z`) go through the running server's admin port (see [`super::session`]), which
//! `-l` (directory only) contradicts; auth tokens (`-y`/`-Y`) are refused.

/// Options that take a value (`zmprov -s host ...`).
const VALUE_OPTS: &[&str] = &[
    "-s",
    "--server",
    "-a",
    "--account",
    "-p",
    "--password",
    "-P",
    "--passfile",
    "-y",
    "--authtoken",
    "-Y",
    "--authtokenfile",
    "-f",
    "--file",
    "-L",
    "--logpropertyfile",
];

/// Options that stand alone.
const FLAG_OPTS: &[&str] = &[
    "-l",
    "--ldap",
    "-z",
    "--zadmin",
    "-v",
    "--verbose",
    "-d",
    "--debug",
    "-m",
    "--master",
    "-r",
    "--replace",
];

/// What the command line asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-f FILE`: commands from a file.
    pub file: Option<String>,
    /// `-l`: the directory only, as Zimbra's LDAP mode.
    pub direct: bool,
    /// `-a NAME`: the admin to authenticate as.
    pub account: Option<String>,
    /// `-p PASSWORD`.
    pub password: Option<String>,
    /// `-P FILE`: the password is the file's first line.
    pub passfile: Option<String>,
    /// `-s HOST[:PORT]`: the server to talk to.
    pub server: Option<String>,
    /// `-z`: as the local admin of this home.
    pub zadmin: bool,
    /// `-y`/`-Y` was given.
    pub authtoken: bool,
    /// Where the command words start in the arguments.
    pub first_word: usize,
    /// `-h`/`--help` was given.
    pub help: bool,
}

impl Options {
    /// Whether the run must authenticate through the running server.
    pub fn through_server(&self) -> bool {
        self.account.is_some() || self.server.is_some() || self.zadmin
    }
}

/// Reads the options before the command words.
///
/// # Errors
/// A message for an unknown option, a missing value, or a combination zcs refuses.
pub fn parse(argv: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut i = 0;
    while i < argv.len() && argv[i].starts_with('-') {
        let opt = argv[i].as_str();
        if opt == "-h" || opt == "--help" {
            o.help = true;
            i += 1;
        } else if VALUE_OPTS.contains(&opt) {
            let Some(v) = argv.get(i + 1).cloned() else {
                return Err(format!("option {opt} needs a value"));
            };
            match opt {
                "-f" | "--file" => o.file = Some(v),
                "-a" | "--account" => o.account = Some(v),
                "-p" | "--password" => o.password = Some(v),
                "-P" | "--passfile" => o.passfile = Some(v),
                "-s" | "--server" => o.server = Some(v),
                "-y" | "--authtoken" | "-Y" | "--authtokenfile" => o.authtoken = true,
                _ => {}
            }
            i += 2;
        } else if FLAG_OPTS.contains(&opt) {
            match opt {
                "-l" | "--ldap" => o.direct = true,
                "-z" | "--zadmin" => o.zadmin = true,
                _ => {}
            }
            i += 1;
        } else {
            return Err(format!("unknown option {opt}"));
        }
    }
    o.first_word = i;
    check(&o)?;
    Ok(o)
}

/// Refuses what cannot be honoured, with the reason.
fn check(o: &Options) -> Result<(), String> {
    if o.authtoken {
        return Err(
            "-y/-Y (an auth token) is not supported; authenticate with -a and -p, \
                    or use -z or -l"
                .into(),
        );
    }
    if (o.password.is_some() || o.passfile.is_some()) && o.account.is_none() {
        return Err("-p/-P need -a (the admin account the password belongs to)".into());
    }
    if o.account.is_some() && o.password.is_none() && o.passfile.is_none() {
        return Err(format!(
            "-a {} needs -p or -P (the admin's password)",
            o.account.as_deref().unwrap_or_default()
        ));
    }
    if o.zadmin && o.account.is_some() {
        return Err("-z (the local admin) and -a (another admin) exclude each other".into());
    }
    if o.direct && o.through_server() {
        return Err(
            "-l changes the directory directly and cannot authenticate: \
                    drop -a/-p/-s/-z, or drop -l to go through the running server"
                .into(),
        );
    }
    Ok(())
}

/// The host of `-s HOST[:PORT]` (brackets of an IPv6 literal removed), lower-cased.
pub fn server_host(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.split('/').next().unwrap_or(s);
    let host = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if s.matches(':').count() == 1 {
        s.split(':').next().unwrap_or(s)
    } else {
        s
    };
    host.to_ascii_lowercase()
}

/// Whether `-s` names this home's server: loopback, `localhost`, or its host name.
pub fn names_this_server(server: &str, hostname: &str) -> bool {
    let h = server_host(server);
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || (!hostname.is_empty() && h.eq_ignore_ascii_case(hostname.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_are_read_up_to_the_command() {
        let o = parse(&args("-l -f batch.zmp")).unwrap();
        assert!(o.direct && !o.through_server());
        assert_eq!(o.file.as_deref(), Some("batch.zmp"));
        let o = parse(&args("-a admin@x.test -p secret gaa -v x.test")).unwrap();
        assert_eq!(o.account.as_deref(), Some("admin@x.test"));
        assert_eq!(o.password.as_deref(), Some("secret"));
        assert_eq!(o.first_word, 4);
        assert!(o.through_server());
        let o = parse(&args("-s mail.x.test -z gc x")).unwrap();
        assert!(o.zadmin && o.server.is_some());
        assert!(parse(&args("-h")).unwrap().help);
        assert_eq!(parse(&args("-v -d gs x")).unwrap().first_word, 2);
    }

    #[test]
    fn combinations_zcs_cannot_honour_are_refused() {
        for bad in [
            "-a admin@x.test gaa",
            "-p secret gaa",
            "-P /tmp/pw gaa",
            "-z -a admin@x.test -p s gaa",
            "-l -a admin@x.test -p s gaa",
            "-l -s localhost gaa",
            "-l -z gaa",
            "-y TOKEN gaa",
            "-Y /tmp/tok gaa",
            "-s",
            "--bogus gaa",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
        let e = parse(&args("-a admin@x.test gaa")).unwrap_err();
        assert!(e.contains("-p"), "{e}");
    }

    #[test]
    fn servers_are_recognised() {
        assert_eq!(server_host("Mail.X.test:7071"), "mail.x.test");
        assert_eq!(
            server_host("https://mail.x.test:7071/service/admin/soap"),
            "mail.x.test"
        );
        assert_eq!(server_host("[::1]:7071"), "::1");
        assert_eq!(server_host("::1"), "::1");
        assert!(names_this_server("localhost", "mail.x.test"));
        assert!(names_this_server("127.0.0.1:7071", ""));
        assert!(names_this_server("[::1]", ""));
        assert!(names_this_server("MAIL.x.test", "mail.x.test"));
        assert!(!names_this_server("other.x.test", "mail.x.test"));
        assert!(!names_this_server("mail.x.test", ""));
    }
}
