//! `zmdkimkeyutil` (spec 02 §6 idea 31): adding a key prints the DNS record to publish,
//! mail signed with the stored key verifies against that record, `-u` rotates to a new
//! selector, `-q` shows the data, `-r` stops signing. Needs the `openssl` program (the
//! test says so and returns when it is absent).

use std::net::IpAddr;
use std::path::Path;

use zcs_mta::dkim_keyutil::{KeyUtilError, run, stored_key};
use zcs_mta::{AuthChecker, DkimKeys};

const MESSAGE: &str = "From: Ann <ann@example.test>\r\nTo: bob@remote.test\r\n\
Subject: signed\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <k1@example.test>\r\n\r\nHello Bob.\r\n";

fn zm(dir: &Path, line: &str) -> Result<String, KeyUtilError> {
    let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    run(&args, dir)
}

/// The TXT text of a printed record: its quoted strings joined.
fn txt_of(record: &str) -> String {
    record
        .split('"')
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>()
        .concat()
}

/// Signs MESSAGE with the stored key and checks it against `record`.
async fn signs_and_verifies(dir: &Path, record: &str) -> String {
    let key = stored_key(dir, "example.test").unwrap().expect("a key");
    let mut keys = DkimKeys::new();
    keys.add_pem("example.test", &key.selector, &key.pem)
        .unwrap();
    let (domain, header) = keys
        .sign(MESSAGE.as_bytes(), "ann@example.test")
        .expect("signed");
    assert_eq!(domain, "example.test");
    let header = String::from_utf8(header).unwrap();
    assert!(header.contains(&format!("s={}", key.selector)), "{header}");
    let checker = AuthChecker::offline("mx.remote.test").unwrap();
    checker
        .pin_dkim_key(&key.selector, "example.test", &txt_of(record))
        .unwrap();
    let signed = format!("{header}{MESSAGE}");
    let ip: IpAddr = [127, 0, 0, 1].into();
    checker
        .verify(
            signed.as_bytes(),
            ip,
            "mail.example.test",
            "ann@example.test",
        )
        .await
}

#[tokio::test]
async fn add_verify_rotate_query_remove() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: no openssl program to make keys");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dkim");

    let out = zm(&dir, "-a -d Example.TEST").unwrap();
    let record = out
        .lines()
        .find(|l| l.contains("._domainkey IN TXT"))
        .expect("record");
    assert!(record.contains("\"v=DKIM1; k=rsa; p="), "{record}");
    let first = stored_key(&dir, "example.test").unwrap().unwrap();
    assert!(record.starts_with(&format!("{}._domainkey IN TXT ", first.selector)));
    // A UUID in upper case, as Zimbra's selectors.
    assert_eq!(first.selector.len(), 36);
    assert_eq!(first.selector, first.selector.to_ascii_uppercase());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir
            .join("example.test")
            .join(format!("{}.private", first.selector));
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
    // 2048-bit key: its SubjectPublicKeyInfo is 294 octets, 392 base64 characters.
    assert_eq!(txt_of(record).len(), "v=DKIM1; k=rsa; p=".len() + 392);
    let results = signs_and_verifies(&dir, record).await;
    assert!(results.contains("dkim=pass"), "{results}");

    assert!(matches!(
        zm(&dir, "-a -d example.test"),
        Err(KeyUtilError::Exists(_))
    ));
    assert!(matches!(
        zm(&dir, "-a -d other.test -b 1024"),
        Err(KeyUtilError::Usage(_))
    ));

    // Rotation: a new selector; the old files are gone; the new key verifies.
    let out = zm(&dir, "-u -d example.test -s rot2").unwrap();
    let record2 = out
        .lines()
        .find(|l| l.contains("._domainkey IN TXT"))
        .unwrap();
    assert!(record2.starts_with("rot2._domainkey IN TXT "), "{record2}");
    assert!(
        !dir.join("example.test")
            .join(format!("{}.private", first.selector))
            .exists()
    );
    let results = signs_and_verifies(&dir, record2).await;
    assert!(results.contains("dkim=pass"), "{results}");
    // The old record no longer matches the new key.
    let stale = signs_and_verifies(&dir, &record.replace(&first.selector, "rot2")).await;
    assert!(!stale.contains("dkim=pass"), "{stale}");

    let shown = zm(&dir, "-q -d example.test").unwrap();
    for part in [
        "DKIM Selector:\nrot2",
        "BEGIN PRIVATE KEY",
        record2,
        "DKIM Identity:\nexample.test",
    ] {
        assert!(shown.contains(part), "{part} missing from\n{shown}");
    }

    zm(&dir, "-r -d example.test").unwrap();
    assert_eq!(stored_key(&dir, "example.test").unwrap(), None);
    assert!(matches!(
        zm(&dir, "-q -d example.test"),
        Err(KeyUtilError::Missing(_))
    ));
    assert!(matches!(
        zm(&dir, "-u -d example.test"),
        Err(KeyUtilError::Missing(_))
    ));
}
