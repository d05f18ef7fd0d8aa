//! An integrator's mechanism registered with `bootstrap::register_auth_mechanism` is what
//! a `custom:NAME` domain logs in through, in the directory the server opens.

use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{AttrEdit, Attrs, Entry, FaultCode, ServiceError, ServiceResult};
use zcs_directory::{AuthContext, AuthMechanism, EntryKey};
use zcs_server::bootstrap;
use zcs_server::home::Home;

struct Fixed;

#[async_trait]
impl AuthMechanism for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }

    async fn authenticate(&self, _: &Entry, password: &str, _: &AuthContext) -> ServiceResult<()> {
        if password == "from-the-integrator" {
            Ok(())
        } else {
            Err(ServiceError::auth_failed())
        }
    }
}

fn ctx() -> AuthContext {
    AuthContext {
        protocol: "soap".into(),
        remote_ip: None,
    }
}

#[tokio::test]
async fn a_registered_mechanism_serves_custom_domains() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = Home::at(tmp.path());
    bootstrap::init(&home).await.expect("init");
    bootstrap::register_auth_mechanism("fixed", Arc::new(Fixed));
    assert!(bootstrap::auth_registry().get("FIXED").is_some());

    let prov = bootstrap::open_provisioning(&home).await.expect("open");
    prov.create_domain("plug.test", Attrs::new())
        .await
        .expect("domain");
    prov.create_account("u@plug.test", Some("local-password"), Attrs::new())
        .await
        .expect("account");
    let mech = |v: &str| [AttrEdit::Replace("zimbraAuthMech".into(), vec![v.into()])];
    let dom = EntryKey::Name("plug.test".into());
    prov.modify_domain(&dom, &mech("custom:fixed"))
        .await
        .expect("custom:fixed");
    prov.authenticate("u@plug.test", "from-the-integrator", &ctx())
        .await
        .expect("the integrator's mechanism accepts");
    let refused = prov
        .authenticate("u@plug.test", "local-password", &ctx())
        .await;
    assert_eq!(refused.expect_err("refused").code, FaultCode::AuthFailed);

    // A name nobody registered refuses everyone.
    prov.modify_domain(&dom, &mech("custom:missing"))
        .await
        .expect("custom:missing");
    let refused = prov
        .authenticate("u@plug.test", "from-the-integrator", &ctx())
        .await;
    assert_eq!(refused.expect_err("refused").code, FaultCode::AuthFailed);
}
