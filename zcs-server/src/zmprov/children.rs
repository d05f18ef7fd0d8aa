//! `zmprov` identity, signature and data source commands: `cid`/`did`/`gid`/`mid`,
//! `csig`/`dsig`/`gsig`/`msig`, `cds`/`dds`/`gds`/`mds`. Get commands print each entry
//! as `# name <its name>` (data sources add `# type <type>`) followed by its attributes
//! and a blank line.

use zcs_directory::Provisioning;
use zcs_directory::provisioning::Child;

use super::commands::{CmdError, attrs_from, edits, format_entry};

async fn get_all(p: &Provisioning, child: Child, a: &[String]) -> Result<String, CmdError> {
    let mut out = String::new();
    for e in p.get_children(child, &a[0]).await? {
        let name = e.attrs.get(child.name_attr()).unwrap_or_default();
        out.push_str(&format!("# name {name}\n"));
        if child == Child::DataSource {
            let t = e.attrs.get("zimbraDataSourceType").unwrap_or_default();
            out.push_str(&format!("# type {t}\n"));
        }
        out.push_str(&format_entry(None, &e.attrs, &a[1..]));
        out.push('\n');
    }
    Ok(out)
}

pub(super) async fn create_identity(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.create_child(Child::Identity, &a[0], &a[1], None, attrs_from(&a[2..])?)
        .await?;
    Ok(String::new())
}

pub(super) async fn delete_identity(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_child(Child::Identity, &a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn get_identities(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    get_all(p, Child::Identity, a).await
}

pub(super) async fn modify_identity(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_child(Child::Identity, &a[0], &a[1], &edits(&a[2..])?)
        .await?;
    Ok(String::new())
}

pub(super) async fn create_signature(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p
        .create_child(Child::Signature, &a[0], &a[1], None, attrs_from(&a[2..])?)
        .await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn delete_signature(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_child(Child::Signature, &a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn get_signatures(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    get_all(p, Child::Signature, a).await
}

pub(super) async fn modify_signature(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_child(Child::Signature, &a[0], &a[1], &edits(&a[2..])?)
        .await?;
    Ok(String::new())
}

pub(super) async fn create_data_source(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p
        .create_child(
            Child::DataSource,
            &a[0],
            &a[2],
            Some(&a[1]),
            attrs_from(&a[3..])?,
        )
        .await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn delete_data_source(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_child(Child::DataSource, &a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn get_data_sources(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    get_all(p, Child::DataSource, a).await
}

pub(super) async fn modify_data_source(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_child(Child::DataSource, &a[0], &a[1], &edits(&a[2..])?)
        .await?;
    Ok(String::new())
}
