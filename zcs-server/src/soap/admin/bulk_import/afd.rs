//! The result files of a bulk import as `/service/afd` (Zimbra's AdminFileDownload
//! servlet) serves them: `action=getBulkFile&fileID=<fileToken>&fileFormat=reportcsv`
//! gives the CSV of the new accounts and their passwords, `fileFormat=errorscsv` the
//! accounts that failed with their fault codes; the older `action=getBP` gives the
//! report CSV. Only the admin who ran the import gets its files, authenticated by the
//! admin auth token cookie (or a JWT).
//!
//! The report CSV is handed over once: the passwords are then forgotten, and neither
//! this download nor `getStatus` shows them again. Nothing here logs a password.

use zcs_core::{FaultCode, ServiceError, ServiceResult};

use super::super::super::context::{Caller, Ctx, SoapService};
use super::tasks;

/// One file to send.
#[derive(Clone, PartialEq, Eq)]
pub struct BulkFile {
    /// The file name for `Content-Disposition`.
    pub name: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    pub body: String,
}

impl std::fmt::Debug for BulkFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkFile")
            .field("name", &self.name)
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Which file `fileFormat` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Report,
    Errors,
}

impl SoapService {
    /// The result file of the caller's last bulk import for `/service/afd`: `action`
    /// `getBulkFile` (with `file_format` `reportcsv`, the default, or `errorscsv`) or
    /// `getBP`; `file_id`, when given, must be the run's `fileToken`. The report CSV
    /// is given once, then its passwords are forgotten.
    ///
    /// # Errors
    /// `service.AUTH_REQUIRED` (or the token's fault) without a valid admin token;
    /// `service.PERM_DENIED` for a non-admin; `service.INVALID_REQUEST` for another
    /// action or format; `mail.NO_SUCH_ITEM` when there is no finished import of this
    /// admin, the token does not match, or the report was already downloaded.
    pub async fn bulk_file(
        &self,
        caller: &Caller,
        action: &str,
        file_id: Option<&str>,
        file_format: Option<&str>,
    ) -> ServiceResult<BulkFile> {
        let mut ctx = Ctx::new(self, caller, None);
        // A download is a plain GET the browser sends with the cookie alone (no CSRF
        // header can ride on a link); it changes nothing but forgetting the file.
        if let Some(t) = ctx.token.clone() {
            ctx.use_token(t);
        }
        let admin = ctx.admin().await?.account.id;
        let format = match (action, file_format.map(str::trim)) {
            (a, None | Some("")) if a.eq_ignore_ascii_case("getBP") => Format::Report,
            (a, f) if a.eq_ignore_ascii_case("getBulkFile") => match f {
                None | Some("") | Some("reportcsv") | Some("csv") => Format::Report,
                Some("errorscsv") => Format::Errors,
                Some(other) => {
                    return Err(ServiceError::invalid_request(format!(
                        "unknown fileFormat: {other}"
                    )));
                }
            },
            (a, _) => {
                return Err(ServiceError::invalid_request(format!(
                    "unknown action: {a}"
                )));
            }
        };
        let gone = || ServiceError::new(FaultCode::NoSuchItem, "no such bulk import file");
        let mut t = tasks();
        let task = t.get_mut(&admin).ok_or_else(gone)?;
        if task.ended.is_none() {
            return Err(gone());
        }
        if let Some(id) = file_id.map(str::trim).filter(|i| !i.is_empty())
            && id != task.file_token
        {
            return Err(gone());
        }
        let mut report = task.report.lock().unwrap_or_else(|p| p.into_inner());
        match format {
            Format::Report => {
                if task.csv_taken {
                    return Err(gone());
                }
                let body = report.csv();
                for c in &mut report.created {
                    c.password = None;
                }
                task.csv_taken = true;
                tracing::info!(
                    accounts = report.created.len(),
                    "bulk import CSV downloaded"
                );
                Ok(BulkFile {
                    name: "bulk_provision_result.csv",
                    content_type: "text/csv; charset=utf-8",
                    body,
                })
            }
            Format::Errors => Ok(BulkFile {
                name: "bulk_provision_errors.csv",
                content_type: "text/csv; charset=utf-8",
                body: report.errors_csv(),
            }),
        }
    }
}
