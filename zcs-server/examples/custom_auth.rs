//! A zcs server with an authentication mechanism of your own: copy this file into your
//! own crate (depending on `zcs-server`, `zcs-directory`, `zcs-core` and `async-trait`),
//! replace [`SampleAuth::authenticate`] with a call to your identity service, and run the
//! resulting program instead of `zcs-server`; it takes the same arguments
//! (`run`, `init`) and the same `ZCS_HOME`.
//!
//! Then point a domain at it:
//!
//! ```sh
//! zmprov md example.com zimbraAuthMech custom:sample
//! ```
//!
//! Every login of an account in that domain (SOAP, IMAP, POP3, SMTP AUTH) now asks
//! `SampleAuth`. With `zimbraAuthFallbackToLocal TRUE` (and always for admin accounts) a
//! login your mechanism refuses or cannot check is tried against the account's own
//! password. Build and run this sample as it is with
//! `SAMPLE_AUTH_PASSWORD=... cargo run --release -p zcs-server --example custom_auth`.

use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use zcs_core::{Entry, ServiceError, ServiceResult};
use zcs_directory::{AuthContext, AuthMechanism};

/// The sample mechanism: one shared password from the environment for every account of
/// the domains that name it. Yours would ask an HTTP service, a token server, ...
struct SampleAuth {
    password: Option<String>,
}

#[async_trait]
impl AuthMechanism for SampleAuth {
    fn name(&self) -> &str {
        "sample"
    }

    async fn authenticate(
        &self,
        account: &Entry,
        password: &str,
        ctx: &AuthContext,
    ) -> ServiceResult<()> {
        // Never log the password; the account name and the protocol are fine.
        tracing::debug!(account = %account.name, protocol = %ctx.protocol, "sample auth");
        let Some(expected) = self.password.as_deref() else {
            // Not configured: "cannot check" rather than "wrong password".
            return Err(ServiceError::new(
                zcs_core::FaultCode::Temporarily,
                "sample authentication is not configured",
            ));
        };
        // Compare without an early exit, so the time taken says nothing about the guess.
        let same = expected.len() == password.len()
            && expected
                .bytes()
                .zip(password.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            // Never say which part was wrong.
            Err(ServiceError::auth_failed())
        }
    }
}

fn main() -> ExitCode {
    let password = std::env::var("SAMPLE_AUTH_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    zcs_server::bootstrap::register_auth_mechanism("sample", Arc::new(SampleAuth { password }));
    zcs_server::server_main::main()
}
