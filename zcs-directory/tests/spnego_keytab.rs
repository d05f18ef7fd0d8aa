//! The keytab parser on a file MIT's `kadmin.local ktadd` wrote for the CI KDC
//! (`.ci/setup.d/22-krb5-kdc.sh`, `ZCS_TEST_KRB5_KEYTAB`). Skips loudly without it.

use zcs_directory::auth::spnego::Keytab;

#[test]
fn reads_the_keytab_kadmin_wrote() {
    let Ok(path) = std::env::var("ZCS_TEST_KRB5_KEYTAB") else {
        eprintln!("SKIP spnego keytab: ZCS_TEST_KRB5_KEYTAB unset (no KDC)");
        return;
    };
    let bytes = std::fs::read(&path).expect("keytab readable");
    let kt = Keytab::parse(&bytes).expect("MIT keytab parses");
    assert_eq!(kt.principals(), vec!["HTTP/localhost@ZCS.TEST".to_string()]);
    let mut types: Vec<(u16, usize)> = kt
        .entries
        .iter()
        .map(|e| (e.enctype, e.key.len()))
        .collect();
    types.sort_unstable();
    // kdc.conf's supported_enctypes: aes128 and aes256, one key each.
    assert_eq!(types, vec![(17, 16), (18, 32)]);
    let spn = vec!["HTTP".to_string(), "localhost".to_string()];
    let newest = kt.find(&spn, "ZCS.TEST", 18, None).expect("aes256 key");
    assert!(newest.kvno >= 1);
    assert_eq!(
        kt.find(&spn, "ZCS.TEST", 18, Some(newest.kvno)),
        Some(newest)
    );
}
