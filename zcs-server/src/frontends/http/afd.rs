//! `GET /service/afd/` (Zimbra's AdminFileDownload servlet) on the admin port: the
//! result files of a bulk import (`action=getBulkFile&fileID=&fileFormat=reportcsv|
//! errorscsv`, or the older `action=getBP`), for the admin who ran it, authenticated
//! by the `ZM_ADMIN_AUTH_TOKEN` cookie. The files themselves and the rules (the CSV of
//! passwords is given once) are `SoapService::bulk_file`'s. Answers: 200 with the file
//! as an attachment, 401 without a valid admin token, 403 for a non-admin, 404 when
//! there is no such file, 400 for a bad action or format.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zcs_core::FaultCode;

use super::{AppState, caller_of, text};

/// Serves one download; see the module documentation.
pub async fn afd(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let caller = caller_of(&state, peer, &headers).await;
    let action = query.get("action").map(String::as_str).unwrap_or("");
    let file = state
        .svc
        .bulk_file(
            &caller,
            action,
            query.get("fileID").map(String::as_str),
            query.get("fileFormat").map(String::as_str),
        )
        .await;
    let f = match file {
        Ok(f) => f,
        Err(e) => {
            tracing::debug!(ip = %peer.ip(), code = %e.code, "admin file download refused");
            let status = match e.code {
                FaultCode::AuthRequired | FaultCode::AuthExpired | FaultCode::AuthFailed => {
                    StatusCode::UNAUTHORIZED
                }
                FaultCode::PermDenied => StatusCode::FORBIDDEN,
                FaultCode::InvalidRequest => StatusCode::BAD_REQUEST,
                FaultCode::NoSuchItem => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return text(status, format!("{}\n", e.code));
        }
    };
    let mut resp = (StatusCode::OK, f.body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(f.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={}", f.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    resp
}
